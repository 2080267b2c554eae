import { describe, expect, it } from "vitest";
import { gameUrl, targetOf, urlOf } from "./links";
import { CONFIG } from "./test/fixtures";

describe("links", () => {
  it("puts the game into the game URL setting", () => {
    expect(gameUrl(CONFIG, "SlotMachine")).toBe("https://games.example.test/play/SlotMachine");
    expect(gameUrl({ ...CONFIG, gameUrl: "tokenloop://game/{game}?from={game}" }, "RPS Game")).toBe(
      "tokenloop://game/RPS%20Game?from=RPS%20Game",
    );
  });

  it("maps each proposal kind to its target", () => {
    const base = { id: "x", type: "T", message: "m", reason: {} };
    expect(targetOf({ ...base, game: "Roulette" })).toEqual({ kind: "game", game: "Roulette" });
    expect(targetOf({ ...base, action: "VISIT_CORPORATE_SITE" })).toEqual({ kind: "corporate" });
    expect(targetOf({ ...base, action: "COMPLETE_CORPORATE_QUIZ" })).toEqual({ kind: "corporate" });
    expect(targetOf({ ...base, action: "COMPLETE_PROFILE_QUIZ" })).toEqual({ kind: "quiz" });
    expect(targetOf({ ...base, action: "SET_SPEND_LIMIT" })).toEqual({ kind: "protection" });
    expect(targetOf({ ...base, action: "OPEN_CONTENT" })).toEqual({ kind: "none" });
    expect(urlOf(CONFIG, { kind: "corporate" })).toBe("https://company-a.example.test/");
    expect(urlOf(CONFIG, { kind: "protection" })).toBeNull();
    expect(urlOf(CONFIG, { kind: "quiz" })).toBeNull();
  });
});
