// Spec 2.4's multi-step form: the steps the API groups (2 to 3 questions each), progress, back and next, every
// question of a step required before the next, then one POST /api/quiz/submit. Each question is a fieldset whose
// legend is the question and whose choices are a native radio group (arrow keys move within it, Tab between
// questions); a step change moves focus to the step's heading, errors are announced (role="alert") and a
// question's error is tied to its group (aria-describedby).
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { ApiError } from "../api";
import { useT } from "../i18n";
import type { Answers, Question } from "../types";

export interface QuizFormProps {
  steps: Question[][];
  onSubmit: (answers: Answers) => Promise<void>;
  onCancel?: () => void;
}

/** The question ids an error envelope's field paths name (e.g. "answers.q3"), and their messages. */
export function fieldErrors(error: ApiError, ids: string[]): Record<string, string> {
  const found: Record<string, string> = {};
  for (const [path, problems] of Object.entries(error.fields)) {
    const parts = path.split(/[.[\]]+/).filter(Boolean);
    const id = ids.find((candidate) => parts.includes(candidate));
    if (id) found[id] = problems.join(" ");
  }
  return found;
}

export function QuizForm({ steps, onSubmit, onCancel }: QuizFormProps) {
  const t = useT();
  const formId = useId();
  const [step, setStep] = useState(0);
  const [answers, setAnswers] = useState<Answers>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [alert, setAlert] = useState("");
  const [submitting, setSubmitting] = useState(false);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const formRef = useRef<HTMLFormElement>(null);
  const shownStep = useRef(step);

  const questions = steps[step] ?? [];
  const last = step === steps.length - 1;

  useEffect(() => {
    if (shownStep.current === step) return; // not on the first render: focus moves only when the step changes
    shownStep.current = step;
    headingRef.current?.focus();
  }, [step]);

  function focusQuestion(id: string) {
    const input = formRef.current?.querySelector<HTMLInputElement>(`input[name="${CSS.escape(id)}"]`);
    input?.focus();
  }

  function choose(id: string, value: number) {
    setAnswers((current) => ({ ...current, [id]: value }));
    setErrors((current) => {
      if (!(id in current)) return current;
      const rest = { ...current };
      delete rest[id];
      return rest;
    });
  }

  /** True when every question of the step is answered; otherwise marks the missing ones and says so. */
  function stepComplete(): boolean {
    const missing = questions.filter((q) => answers[q.id] === undefined).map((q) => q.id);
    if (missing.length === 0) return true;
    setErrors(Object.fromEntries(missing.map((id) => [id, t.required])));
    setAlert(t.missing(missing.length));
    focusQuestion(missing[0]);
    return false;
  }

  async function handleSubmit(event: FormEvent) {
    event.preventDefault();
    if (submitting || !stepComplete()) return;
    setAlert("");
    if (!last) {
      setStep(step + 1);
      return;
    }
    setSubmitting(true);
    try {
      await onSubmit(answers);
    } catch (exc) {
      const error = exc instanceof ApiError ? exc : new ApiError(0, "error", String(exc));
      const allIds = steps.flat().map((q) => q.id);
      const byQuestion = fieldErrors(error, allIds);
      const ids = Object.keys(byQuestion);
      if (ids.length > 0) {
        const target = steps.findIndex((qs) => qs.some((q) => q.id in byQuestion));
        setErrors(byQuestion);
        setStep(target);
        setAlert(`${t.submitFailed} ${t.missing(ids.length)}`);
      } else {
        setAlert(`${t.submitFailed} ${error.message}`);
      }
    } finally {
      setSubmitting(false);
    }
  }

  function back() {
    setErrors({});
    setAlert("");
    setStep(Math.max(0, step - 1));
  }

  return (
    <section className="card" aria-labelledby={`${formId}-title`}>
      <h2 id={`${formId}-title`}>{t.quizTitle}</h2>
      <form ref={formRef} onSubmit={handleSubmit} noValidate data-testid="quiz-form">
        <h3 ref={headingRef} tabIndex={-1} className="step-heading" id={`${formId}-step`} data-testid="quiz-progress">
          {t.stepOf(step + 1, steps.length)}
        </h3>
        <progress max={steps.length} value={step + 1} aria-labelledby={`${formId}-step`} />
        <div role="alert" className="form-alert" data-testid="quiz-alert">
          {alert}
        </div>
        {questions.map((question) => (
          <QuestionField
            key={question.id}
            question={question}
            value={answers[question.id]}
            error={errors[question.id]}
            onChoose={(value) => choose(question.id, value)}
          />
        ))}
        <div className="actions">
          {step > 0 ? (
            <button type="button" className="secondary" onClick={back} disabled={submitting}>
              {t.back}
            </button>
          ) : (
            onCancel && (
              <button type="button" className="secondary" onClick={onCancel} disabled={submitting}>
                {t.cancel}
              </button>
            )
          )}
          <button type="submit" className="primary" disabled={submitting} aria-disabled={submitting}>
            {last ? (submitting ? t.submitting : t.submit) : t.next}
          </button>
        </div>
      </form>
    </section>
  );
}

function QuestionField({
  question,
  value,
  error,
  onChoose,
}: {
  question: Question;
  value: number | undefined;
  error: string | undefined;
  onChoose: (value: number) => void;
}) {
  const errorId = `${question.id}-error`;
  return (
    <fieldset
      className={`question ${question.scale}${error ? " invalid" : ""}`}
      aria-describedby={error ? errorId : undefined}
      data-question={question.id}
    >
      <legend>{question.text}</legend>
      <div className="choices">
        {question.choices.map((choice) => {
          const id = `${question.id}-${choice.value}`;
          return (
            <div className="choice" key={choice.value}>
              <input
                type="radio"
                id={id}
                name={question.id}
                value={choice.value}
                checked={value === choice.value}
                onChange={() => onChoose(choice.value)}
                required
                aria-invalid={error ? true : undefined}
              />
              <label htmlFor={id}>{choice.label}</label>
            </div>
          );
        })}
      </div>
      {error && (
        <p className="field-error" id={errorId}>
          {error}
        </p>
      )}
    </fieldset>
  );
}
