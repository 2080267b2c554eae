// The client's screens: home (today's proposal and the quiz's state), the quiz form, the quiz's result.
import { useCallback, useEffect, useState } from "react";
import { ApiError, type Api } from "./api";
import { ProfileFacts } from "./components/ProfileFacts";
import { QuizForm } from "./components/QuizForm";
import { TodayCard } from "./components/TodayCard";
import { dictionaries, formatTime, LocaleContext, localeOf, useLocale, useT } from "./i18n";
import { urlOf, type Target } from "./links";
import type { Answers, ClientConfig, Locale, Proposal, Quiz, QuizResult, Recommendation } from "./types";

export interface AppProps {
  api: Api;
  config: ClientConfig;
  /** Leaves the client for a game or Company A (window.location.assign in the page). */
  navigate: (url: string) => void;
  fallbackLocale?: string;
}

type Status = "loading" | "ready" | "expired" | "failed";
type View = "home" | "quiz" | "result";

export function App({ api, config, navigate, fallbackLocale }: AppProps) {
  const [locale, setLocale] = useState<Locale>(localeOf(null, fallbackLocale));
  const [status, setStatus] = useState<Status>("loading");
  const [quiz, setQuiz] = useState<Quiz | null>(null);
  const [recommendation, setRecommendation] = useState<Recommendation | null>(null);
  const [view, setView] = useState<View>("home");
  const [result, setResult] = useState<QuizResult | null>(null);

  const load = useCallback(async () => {
    setStatus("loading");
    const [quizAnswer, recAnswer] = await Promise.allSettled([api.quiz(), api.recommendations()]);
    const failures = [quizAnswer, recAnswer].flatMap((a) => (a.status === "rejected" ? [a.reason] : []));
    if (failures.some((f) => f instanceof ApiError && f.status === 401)) {
      setStatus("expired");
      return;
    }
    if (quizAnswer.status === "fulfilled") {
      setQuiz(quizAnswer.value);
      setLocale(localeOf(quizAnswer.value.locale, fallbackLocale));
    } else {
      setQuiz(null);
    }
    if (recAnswer.status === "rejected") {
      setStatus("failed");
      return;
    }
    setRecommendation(recAnswer.value);
    setStatus("ready");
  }, [api, fallbackLocale]);

  useEffect(() => {
    void load();
  }, [load]);

  useEffect(() => {
    document.documentElement.lang = locale;
    document.title = `${dictionaries[locale].appTitle} · ${dictionaries[locale].todayTitle}`;
  }, [locale]);

  async function follow(target: Target, proposal: Proposal | null) {
    if (proposal) {
      // Best effort: the click is feedback, and the player goes on whether or not it was recorded.
      await api.click(proposal.id).catch(() => undefined);
    }
    if (target.kind === "quiz") {
      setView("quiz");
      return;
    }
    const url = urlOf(config, target);
    if (url) navigate(url);
  }

  async function submit(answers: Answers) {
    const answer = await api.submitQuiz(answers);
    setResult(answer);
    setView("result");
  }

  async function home() {
    setView("home");
    setResult(null);
    await load();
  }

  return (
    <LocaleContext.Provider value={locale}>
      <Shell>
        {status === "loading" && <Loading />}
        {status === "expired" && <Message text="sessionExpired" devPlayersUrl={config.devPlayersUrl} />}
        {status === "failed" && <Failed onRetry={load} />}
        {status === "ready" && view === "home" && recommendation && (
          <>
            <TodayCard
              recommendation={recommendation}
              onFollow={follow}
              canOpen={(target) => (target.kind === "quiz" ? quizOpen(quiz) : urlOf(config, target) !== null)}
            />
            <QuizPanel quiz={quiz} onStart={() => setView("quiz")} />
          </>
        )}
        {status === "ready" && view === "quiz" && quiz && quizOpen(quiz) && (
          <QuizForm steps={quiz.steps} onSubmit={submit} onCancel={() => setView("home")} />
        )}
        {status === "ready" && view === "result" && result && (
          <ProfileFacts profile={result} rewardTokens={result.reward?.tokens ?? null} focusOnMount>
            <div className="actions">
              <button type="button" className="primary" onClick={home}>
                {dictionaries[locale].seeToday}
              </button>
            </div>
          </ProfileFacts>
        )}
      </Shell>
    </LocaleContext.Provider>
  );
}

function Shell({ children }: { children: React.ReactNode }) {
  const t = useT();
  return (
    <>
      <header className="app-header">
        <h1>{t.appTitle}</h1>
      </header>
      <main className="app-main">{children}</main>
    </>
  );
}

function Loading() {
  const t = useT();
  return (
    <p role="status" className="status">
      {t.loading}
    </p>
  );
}

export function Message({ text, devPlayersUrl }: { text: "sessionExpired" | "noToken"; devPlayersUrl: string }) {
  const t = useT();
  return (
    <section className="card" role="alert">
      <p>{t[text]}</p>
      {devPlayersUrl && (
        <p>
          <a href={devPlayersUrl}>{t.devPlayers}</a>
        </p>
      )}
    </section>
  );
}

function Failed({ onRetry }: { onRetry: () => void }) {
  const t = useT();
  return (
    <section className="card" role="alert">
      <p>{t.loadFailed}</p>
      <button type="button" className="primary" onClick={onRetry}>
        {t.retry}
      </button>
    </section>
  );
}

/** The form can be opened: a published version (steps) that the player may take now. */
function quizOpen(quiz: Quiz | null): quiz is Quiz {
  return quiz !== null && quiz.can_submit && quiz.steps.length > 0;
}

function QuizPanel({ quiz, onStart }: { quiz: Quiz | null; onStart: () => void }) {
  const t = useT();
  const locale = useLocale();
  if (!quiz || (quiz.steps.length === 0 && !quiz.current_profile)) {
    return (
      <section className="card" aria-label={t.quizTitle}>
        <p>{t.quizUnavailable}</p>
      </section>
    );
  }
  const later = !quiz.can_submit && quiz.next_allowed_at ? t.retakeFrom(formatTime(locale, quiz.next_allowed_at)) : null;
  if (quiz.current_profile) {
    return (
      <ProfileFacts profile={quiz.current_profile}>
        {quizOpen(quiz) ? (
          <div className="actions">
            <button type="button" className="secondary" onClick={onStart}>
              {t.retakeQuiz}
            </button>
          </div>
        ) : (
          later && <p>{later}</p>
        )}
      </ProfileFacts>
    );
  }
  return (
    <section className="card" aria-labelledby="quiz-panel-title">
      <h2 id="quiz-panel-title">{t.quizTitle}</h2>
      <p>{t.quizIntro}</p>
      {quizOpen(quiz) ? (
        <div className="actions">
          <button type="button" className="primary" onClick={onStart}>
            {t.takeQuiz}
          </button>
        </div>
      ) : (
        later && <p>{later}</p>
      )}
    </section>
  );
}
