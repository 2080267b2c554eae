// Each screen checked by axe-core (WAI-ARIA and WCAG A/AA rules that jsdom can evaluate: names, roles, labels,
// groups, landmarks; not colour contrast, which needs a real layout).
import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import axe from "axe-core";
import { describe, expect, it, vi } from "vitest";
import { ProfileFacts } from "./components/ProfileFacts";
import { QuizForm } from "./components/QuizForm";
import { TodayCard } from "./components/TodayCard";
import { quizResult, recommendation, STEPS } from "./test/fixtures";
import { renderIn } from "./test/render";

async function violations(container: HTMLElement): Promise<string[]> {
  const result = await axe.run(container, {
    runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
    rules: { "color-contrast": { enabled: false }, region: { enabled: false } },
  });
  return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

describe("accessibility (axe-core)", () => {
  it.each(["ko", "en"] as const)("today's proposal card, %s", async (locale) => {
    const card = <TodayCard recommendation={recommendation()} onFollow={vi.fn()} canOpen={() => true} />;
    const { container } = renderIn(locale, card);
    expect(await violations(container)).toEqual([]);
  });

  it.each(["ko", "en"] as const)("quiz form with its errors shown, %s", async (locale) => {
    const { container } = renderIn(locale, <QuizForm steps={STEPS} onSubmit={vi.fn()} onCancel={vi.fn()} />);
    expect(await violations(container)).toEqual([]);
    await userEvent.click(screen.getByRole("button", { name: locale === "ko" ? "다음" : "Next" }));
    expect(await violations(container)).toEqual([]);
  });

  it("the profile", async () => {
    const { container } = renderIn("en", <ProfileFacts profile={quizResult()} rewardTokens={200} />);
    expect(await violations(container)).toEqual([]);
  });
});
