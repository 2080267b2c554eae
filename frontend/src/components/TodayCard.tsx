// Spec 2.3's note: the "Today's proposal" card. The recommended game, each proposal's message (the server words it,
// in the player's locale, facts only), the usage window, "Go to game" and "Go to Company A". Tapping a proposal's
// button records the click (POST /api/recommendations/{id}/click) before it leads on; the card's two buttons record
// a click on the proposal they act on, when there is one.
import { useState } from "react";
import { gameName, useT } from "../i18n";
import { targetOf, type Target } from "../links";
import type { Proposal, Recommendation } from "../types";

const QUIZ_GAME = "Quiz";

export interface TodayCardProps {
  recommendation: Recommendation;
  /** Records the click (best effort) and leads to the target. */
  onFollow: (target: Target, proposal: Proposal | null) => Promise<void> | void;
  canOpen: (target: Target) => boolean;
}

export function TodayCard({ recommendation, onFollow, canOpen }: TodayCardProps) {
  const t = useT();
  const [busy, setBusy] = useState(false);
  const { recommended_game: game, proposals, usage_window: window } = recommendation;

  async function follow(target: Target, proposal: Proposal | null) {
    if (busy) return;
    setBusy(true);
    try {
      await onFollow(target, proposal);
    } finally {
      setBusy(false);
    }
  }

  // "Quiz" (spec 2.3.4's game for the Low segment) is no game the game server runs: its "Go to game" is the profile
  // quiz here, when the player may take it, with the quiz mission's click.
  const gameTarget: Target | null =
    game === null ? null : game === QUIZ_GAME ? { kind: "quiz" } : { kind: "game", game };
  const gameProposal =
    gameTarget === null
      ? null
      : (proposals.find((p) => (gameTarget.kind === "quiz" ? targetOf(p).kind === "quiz" : p.game === game)) ?? null);
  const corporateProposal = proposals.find((p) => targetOf(p).kind === "corporate") ?? null;

  return (
    <section className="card" aria-labelledby="today-title" data-testid="today-card">
      <h2 id="today-title">{t.todayTitle}</h2>
      <dl className="facts">
        <div>
          <dt>{t.recommendedGame}</dt>
          <dd data-testid="recommended-game">{game ? gameName(t, game) : t.noGame}</dd>
        </div>
        {window && (
          <div>
            <dt>{t.usageWindow}</dt>
            <dd data-testid="usage-window">{t.usageWindowValue(window.start, window.end, window.timezone)}</dd>
          </div>
        )}
      </dl>
      <h3 className="visually-hidden">{t.proposalsTitle}</h3>
      {proposals.length === 0 ? (
        <p>{t.noProposals}</p>
      ) : (
        <ul className="proposals">
          {proposals.map((proposal) => (
            <ProposalItem
              key={proposal.id}
              proposal={proposal}
              busy={busy}
              canOpen={canOpen}
              onFollow={(target) => follow(target, proposal)}
            />
          ))}
        </ul>
      )}
      <div className="actions">
        {gameTarget && canOpen(gameTarget) && (
          <button
            type="button"
            className="primary"
            disabled={busy}
            onClick={() => follow(gameTarget, gameProposal)}
          >
            {t.goToGame}
          </button>
        )}
        <button
          type="button"
          className="secondary"
          disabled={busy || !canOpen({ kind: "corporate" })}
          onClick={() => follow({ kind: "corporate" }, corporateProposal)}
        >
          {t.goToCorporate}
        </button>
      </div>
    </section>
  );
}

function ProposalItem({
  proposal,
  busy,
  canOpen,
  onFollow,
}: {
  proposal: Proposal;
  busy: boolean;
  canOpen: (target: Target) => boolean;
  onFollow: (target: Target) => void;
}) {
  const t = useT();
  const target = targetOf(proposal);
  const label = buttonLabel(t, target, proposal);
  return (
    <li className="proposal" data-type={proposal.type}>
      <p className="message" id={`proposal-${proposal.id}`}>
        {proposal.message}
      </p>
      {proposal.reward_tokens != null && <p className="reward">{t.reward(proposal.reward_tokens)}</p>}
      {label && canOpen(target) && (
        <button
          type="button"
          className="link"
          disabled={busy}
          aria-describedby={`proposal-${proposal.id}`}
          onClick={() => onFollow(target)}
        >
          {label}
        </button>
      )}
    </li>
  );
}

function buttonLabel(t: ReturnType<typeof useT>, target: Target, proposal: Proposal): string | null {
  switch (target.kind) {
    case "game":
      return t.playGame(gameName(t, target.game));
    case "corporate":
      return proposal.action === "COMPLETE_CORPORATE_QUIZ" ? t.corporateQuiz : t.visitCorporate;
    case "quiz":
      return t.takeQuiz;
    case "protection":
      return t.setLimit;
    default:
      return null;
  }
}
