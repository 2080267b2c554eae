// Where a proposal's button leads. The targets are Django settings handed to the page (ClientConfig).
import type { ClientConfig, Proposal } from "./types";

export type Target =
  | { kind: "game"; game: string }
  | { kind: "corporate" }
  | { kind: "quiz" }
  | { kind: "protection" }
  | { kind: "none" };

const CORPORATE_ACTIONS = new Set(["VISIT_CORPORATE_SITE", "COMPLETE_CORPORATE_QUIZ"]);

export function targetOf(proposal: Proposal): Target {
  if (proposal.game) return { kind: "game", game: proposal.game };
  if (proposal.action && CORPORATE_ACTIONS.has(proposal.action)) return { kind: "corporate" };
  if (proposal.action === "COMPLETE_PROFILE_QUIZ") return { kind: "quiz" };
  if (proposal.action === "SET_SPEND_LIMIT") return { kind: "protection" };
  return { kind: "none" };
}

export function gameUrl(config: ClientConfig, game: string): string {
  return config.gameUrl.split("{game}").join(encodeURIComponent(game));
}

/** The URL a target opens, or null when it stays inside the client (the quiz) or has nowhere to go. */
export function urlOf(config: ClientConfig, target: Target): string | null {
  switch (target.kind) {
    case "game":
      return gameUrl(config, target.game);
    case "corporate":
      return config.corporateUrl || null;
    case "protection":
      return config.protectionUrl || null;
    default:
      return null;
  }
}
