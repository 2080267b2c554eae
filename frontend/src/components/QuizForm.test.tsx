import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { ApiError } from "../api";
import { STEPS } from "../test/fixtures";
import { renderIn } from "../test/render";
import { fieldErrors, QuizForm } from "./QuizForm";

function group(name: RegExp | string) {
  return screen.getByRole("group", { name });
}

async function answerStep(user: ReturnType<typeof userEvent.setup>, choices: Record<string, string>) {
  for (const [question, label] of Object.entries(choices)) {
    await user.click(within(group(question)).getByLabelText(label));
  }
}

describe("QuizForm", () => {
  it("shows the first step as labelled radio groups, with its progress", () => {
    renderIn("en", <QuizForm steps={STEPS} onSubmit={vi.fn()} />);
    expect(screen.getByTestId("quiz-progress")).toHaveTextContent("Step 1 of 2");
    expect(screen.getByRole("progressbar", { name: "Step 1 of 2" })).toHaveAttribute("value", "1");
    const first = group("Do you tend to bet large amounts for high payouts?");
    expect(within(first).getAllByRole("radio")).toHaveLength(5);
    const second = group("Do you try again when you lose?");
    expect(within(second).getByRole("radio", { name: "Yes" })).toBeInTheDocument();
    expect(within(second).getByRole("radio", { name: "No" })).toBeInTheDocument();
    expect(screen.queryByText("Do you enjoy surprises?")).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Back" })).not.toBeInTheDocument();
  });

  it("refuses Next until every question of the step is answered, and says which", async () => {
    const user = userEvent.setup();
    renderIn("en", <QuizForm steps={STEPS} onSubmit={vi.fn()} />);
    // given one of the two questions answered
    await answerStep(user, { "Do you tend to bet large amounts for high payouts?": "4" });
    // when Next is pressed
    await user.click(screen.getByRole("button", { name: "Next" }));
    // then the step stays, the alert says one is missing, the missing group describes its error and has focus
    expect(screen.getByTestId("quiz-progress")).toHaveTextContent("Step 1 of 2");
    expect(screen.getByRole("alert")).toHaveTextContent("1 question is not answered.");
    const missing = group("Do you try again when you lose?");
    expect(missing).toHaveAccessibleDescription("Please answer this question.");
    expect(within(missing).getByRole("radio", { name: "Yes" })).toHaveFocus();
    // and answering it clears its error
    await user.click(within(missing).getByLabelText("Yes"));
    expect(missing).not.toHaveAccessibleDescription();
  });

  it("moves forward and back keeping the answers, then submits every answer once", async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn().mockResolvedValue(undefined);
    renderIn("en", <QuizForm steps={STEPS} onSubmit={onSubmit} />);
    await answerStep(user, { "Do you tend to bet large amounts for high payouts?": "4", "Do you try again when you lose?": "Yes" });
    await user.click(screen.getByRole("button", { name: "Next" }));
    // step 2, focus on its heading (a screen reader hears where it is)
    expect(screen.getByTestId("quiz-progress")).toHaveTextContent("Step 2 of 2");
    expect(screen.getByTestId("quiz-progress")).toHaveFocus();
    await user.click(screen.getByRole("button", { name: "Back" }));
    expect(within(group("Do you try again when you lose?")).getByRole("radio", { name: "Yes" })).toBeChecked();
    await user.click(screen.getByRole("button", { name: "Next" }));
    await answerStep(user, { "Do you enjoy surprises?": "5", "Do you prefer steady rewards?": "1", "Do you save tokens?": "No" });
    await user.click(screen.getByRole("button", { name: "Submit" }));
    expect(onSubmit).toHaveBeenCalledTimes(1);
    expect(onSubmit).toHaveBeenCalledWith({ q1: 4, q2: 1, q3: 5, q4: 1, q5: 0 });
  });

  it("works from the keyboard alone: Tab into a group, arrows choose, Enter goes on", async () => {
    const user = userEvent.setup();
    renderIn("en", <QuizForm steps={STEPS} onSubmit={vi.fn()} />);
    await user.tab();
    const first = within(group("Do you tend to bet large amounts for high payouts?"));
    expect(first.getByRole("radio", { name: "1" })).toHaveFocus();
    await user.keyboard(" ");
    expect(first.getByRole("radio", { name: "1" })).toBeChecked();
    await user.keyboard("{ArrowRight}");
    expect(first.getByRole("radio", { name: "2" })).toBeChecked();
    await user.tab();
    const second = within(group("Do you try again when you lose?"));
    expect(second.getByRole("radio", { name: "Yes" })).toHaveFocus();
    await user.keyboard(" ");
    await user.keyboard("{Enter}");
    expect(screen.getByTestId("quiz-progress")).toHaveTextContent("Step 2 of 2");
  });

  it("takes the server's field errors back to the question's step", async () => {
    const user = userEvent.setup();
    const onSubmit = vi
      .fn()
      .mockRejectedValue(new ApiError(400, "validation_error", "Invalid input.", { "answers.q1": ["Not on the scale."] }));
    renderIn("en", <QuizForm steps={STEPS} onSubmit={onSubmit} />);
    await answerStep(user, { "Do you tend to bet large amounts for high payouts?": "3", "Do you try again when you lose?": "No" });
    await user.click(screen.getByRole("button", { name: "Next" }));
    await answerStep(user, { "Do you enjoy surprises?": "2", "Do you prefer steady rewards?": "2", "Do you save tokens?": "Yes" });
    await user.click(screen.getByRole("button", { name: "Submit" }));
    await waitFor(() => expect(screen.getByTestId("quiz-progress")).toHaveTextContent("Step 1 of 2"));
    expect(group("Do you tend to bet large amounts for high payouts?")).toHaveAccessibleDescription("Not on the scale.");
    expect(screen.getByRole("alert")).toHaveTextContent("Could not submit.");
  });

  it("speaks Korean for a Korean player", async () => {
    const user = userEvent.setup();
    renderIn("ko", <QuizForm steps={STEPS} onSubmit={vi.fn()} />);
    expect(screen.getByTestId("quiz-progress")).toHaveTextContent("2단계 중 1단계");
    await user.click(screen.getByRole("button", { name: "다음" }));
    expect(screen.getByRole("alert")).toHaveTextContent("답하지 않은 질문이 2개 있습니다.");
    expect(screen.getAllByText("이 질문에 답해 주세요.")).toHaveLength(2);
  });

  it("reads question ids out of error paths", () => {
    const error = new ApiError(400, "validation_error", "Invalid input.", {
      "answers.q2": ["Required."],
      "answers[q10]": ["Unknown."],
      user_id: ["Not yours."],
    });
    expect(fieldErrors(error, ["q1", "q2", "q10"])).toEqual({ q2: "Required.", q10: "Unknown." });
  });
});
