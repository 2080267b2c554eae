import { screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { quizResult } from "../test/fixtures";
import { renderIn } from "../test/render";
import { ProfileFacts } from "./ProfileFacts";

describe("ProfileFacts", () => {
  it("states the scored profile and the reward paid, as facts", () => {
    renderIn("en", <ProfileFacts profile={quizResult()} rewardTokens={200} focusOnMount />);
    const region = screen.getByRole("region", { name: "Your profile" });
    expect(region).toHaveTextContent("Risk profileHigh-Risk");
    expect(region).toHaveTextContent("Risk score3");
    expect(region).toHaveTextContent("Reward sensitivity75 / 100");
    expect(region).toHaveTextContent("Token preferenceSmall, frequent rewards");
    expect(screen.getByRole("status")).toHaveTextContent("200 tokens were credited for completing the quiz.");
    expect(screen.getByRole("heading", { name: "Your profile" })).toHaveFocus();
    expect(region.textContent).not.toMatch(/%|probab|chance/i);
  });

  it("in Korean, without a reward line when none was paid", () => {
    renderIn("ko", <ProfileFacts profile={quizResult({ risk_profile: "Low-Risk", token_preference: "rare_large" })} />);
    const region = screen.getByRole("region", { name: "나의 성향 프로필" });
    expect(region).toHaveTextContent("위험 회피형 (Low-Risk)");
    expect(region).toHaveTextContent("드물지만 큰 보상");
    expect(screen.queryByRole("status")).not.toBeInTheDocument();
  });
});
