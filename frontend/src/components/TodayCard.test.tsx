import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { CONFIG, recommendation } from "../test/fixtures";
import { renderIn } from "../test/render";
import { urlOf, type Target } from "../links";
import { TodayCard } from "./TodayCard";

const canOpen = (target: Target) => target.kind === "quiz" || urlOf(CONFIG, target) !== null;

describe("TodayCard", () => {
  it("shows the recommended game, every proposal's message, the missions' rewards and the usage window", () => {
    // given a recommendation with a play proposal and two missions
    // when the card is shown in English
    renderIn("en", <TodayCard recommendation={recommendation()} onFollow={vi.fn()} canOpen={canOpen} />);
    // then everything the server said is there, as it said it
    const card = screen.getByRole("region", { name: "Today's proposal" });
    expect(within(card).getByTestId("recommended-game")).toHaveTextContent("Slot machine");
    expect(within(card).getByText(/You have 250 tokens!/)).toBeInTheDocument();
    expect(within(card).getByText(/You have acquired 150 tokens this month/)).toBeInTheDocument();
    expect(within(card).getAllByText("Reward: 200 tokens")).toHaveLength(2);
    expect(within(card).getByTestId("usage-window")).toHaveTextContent("20:00–21:00 (Asia/Seoul)");
    expect(within(card).getByRole("button", { name: "Go to game" })).toBeEnabled();
    expect(within(card).getByRole("button", { name: "Go to Company A" })).toBeEnabled();
  });

  it("speaks Korean for a Korean player", () => {
    renderIn("ko", <TodayCard recommendation={recommendation()} onFollow={vi.fn()} canOpen={canOpen} />);
    expect(screen.getByRole("region", { name: "오늘의 제안" })).toBeInTheDocument();
    expect(screen.getByTestId("recommended-game")).toHaveTextContent("슬롯머신");
    expect(screen.getByRole("button", { name: "게임으로 이동" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "A사로 이동" })).toBeInTheDocument();
    expect(screen.getAllByText("보상 200 토큰")).toHaveLength(2);
  });

  it("'Go to game' follows the recommended game with the proposal for that game", async () => {
    // given the card
    const onFollow = vi.fn();
    renderIn("en", <TodayCard recommendation={recommendation()} onFollow={onFollow} canOpen={canOpen} />);
    // when the player taps "Go to game"
    await userEvent.click(screen.getByRole("button", { name: "Go to game" }));
    // then the game is the target and the click is on the slot machine proposal
    expect(onFollow).toHaveBeenCalledTimes(1);
    expect(onFollow.mock.calls[0][0]).toEqual({ kind: "game", game: "SlotMachine" });
    expect(onFollow.mock.calls[0][1].id).toBe("p-mid");
  });

  it("'Go to Company A' follows Company A with the Company A mission", async () => {
    const onFollow = vi.fn();
    renderIn("en", <TodayCard recommendation={recommendation()} onFollow={onFollow} canOpen={canOpen} />);
    await userEvent.click(screen.getByRole("button", { name: "Go to Company A" }));
    expect(onFollow.mock.calls[0][0]).toEqual({ kind: "corporate" });
    expect(onFollow.mock.calls[0][1].id).toBe("p-corp");
  });

  it("each proposal's own button follows it with that proposal", async () => {
    const onFollow = vi.fn();
    renderIn("en", <TodayCard recommendation={recommendation()} onFollow={onFollow} canOpen={canOpen} />);
    const quizItem = screen.getByText(/Take the quiz: 200 tokens/).closest("li")!;
    await userEvent.click(within(quizItem).getByRole("button", { name: "Take the quiz" }));
    expect(onFollow).toHaveBeenLastCalledWith({ kind: "quiz" }, expect.objectContaining({ id: "p-quiz" }));
    const playItem = screen.getByText(/You have 250 tokens!/).closest("li")!;
    await userEvent.click(within(playItem).getByRole("button", { name: "Play Slot machine" }));
    expect(onFollow).toHaveBeenLastCalledWith(
      { kind: "game", game: "SlotMachine" },
      expect.objectContaining({ id: "p-mid" }),
    );
  });

  it("without a recommended game (a pause) says so and offers no game button", () => {
    // given a player in a cool-off: no game, no usage window, no play proposal
    const paused = recommendation({ recommended_game: null, usage_window: null, proposals: [] });
    renderIn("en", <TodayCard recommendation={paused} onFollow={vi.fn()} canOpen={canOpen} />);
    expect(screen.getByTestId("recommended-game")).toHaveTextContent("No game is recommended right now.");
    expect(screen.queryByRole("button", { name: "Go to game" })).not.toBeInTheDocument();
    expect(screen.queryByTestId("usage-window")).not.toBeInTheDocument();
    expect(screen.getByText("No proposals right now.")).toBeInTheDocument();
  });

  it("'Go to Company A' with no proposal for Company A still leads there, with no click to record", async () => {
    const onFollow = vi.fn();
    const rec = recommendation();
    rec.proposals = rec.proposals.filter((p) => p.type === "MID_STAKE");
    renderIn("en", <TodayCard recommendation={rec} onFollow={onFollow} canOpen={canOpen} />);
    await userEvent.click(screen.getByRole("button", { name: "Go to Company A" }));
    expect(onFollow).toHaveBeenCalledWith({ kind: "corporate" }, null);
  });

  it("a proposal with nowhere to go in this client has no button (a limit suggestion without a protection URL)", () => {
    const rec = recommendation({
      proposals: [
        { id: "p-limit", type: "LIMIT_SUGGESTION", message: "Set a limit", action: "SET_SPEND_LIMIT", reason: {} },
      ],
    });
    renderIn("en", <TodayCard recommendation={rec} onFollow={vi.fn()} canOpen={canOpen} />);
    const item = screen.getByText("Set a limit").closest("li")!;
    expect(within(item).queryByRole("button")).not.toBeInTheDocument();
  });

  it("'Go to game' for the Quiz game opens the profile quiz with the quiz mission, or is not offered", async () => {
    // given a Low player: the recommended game is Quiz, which no game server runs
    const onFollow = vi.fn();
    const low = recommendation({ recommended_game: "Quiz" });
    const { unmount } = renderIn("en", <TodayCard recommendation={low} onFollow={onFollow} canOpen={canOpen} />);
    await userEvent.click(screen.getByRole("button", { name: "Go to game" }));
    expect(onFollow).toHaveBeenCalledWith({ kind: "quiz" }, expect.objectContaining({ id: "p-quiz" }));
    unmount();
    // and once the quiz cannot be taken, there is no "Go to game"
    renderIn("en", <TodayCard recommendation={low} onFollow={onFollow} canOpen={(t) => t.kind !== "quiz"} />);
    expect(screen.getByTestId("recommended-game")).toHaveTextContent("Quiz");
    expect(screen.queryByRole("button", { name: "Go to game" })).not.toBeInTheDocument();
  });

  it("a proposal's button is described by its message", () => {
    renderIn("en", <TodayCard recommendation={recommendation()} onFollow={vi.fn()} canOpen={canOpen} />);
    expect(screen.getByRole("button", { name: "Play Slot machine" })).toHaveAccessibleDescription(
      "You have 250 tokens! Aim for stable rewards on the slot machine",
    );
  });
});
