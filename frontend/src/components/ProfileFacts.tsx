// The quiz's result as facts: the risk profile and score, the reward sensitivity (0-100), the token preference, and
// the reward paid if any. Nothing is inferred beyond what the server scored.
import { useEffect, useRef } from "react";
import { formatTime, useLocale, useT } from "../i18n";
import type { Profile } from "../types";

export interface ProfileFactsProps {
  profile: Profile;
  rewardTokens?: number | null;
  /** Moves focus to the heading when shown (the result right after a submission). */
  focusOnMount?: boolean;
  children?: React.ReactNode;
}

export function ProfileFacts({ profile, rewardTokens, focusOnMount = false, children }: ProfileFactsProps) {
  const t = useT();
  const locale = useLocale();
  const headingRef = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (focusOnMount) headingRef.current?.focus();
  }, [focusOnMount]);
  return (
    <section className="card" aria-labelledby="profile-title" data-testid="profile">
      <h2 id="profile-title" ref={headingRef} tabIndex={-1}>
        {t.resultTitle}
      </h2>
      {rewardTokens != null && (
        <p className="notice" role="status">
          {t.rewardPaid(rewardTokens)}
        </p>
      )}
      <dl className="facts">
        <div>
          <dt>{t.riskProfile}</dt>
          <dd data-testid="risk-profile">{t.riskProfiles[profile.risk_profile] ?? profile.risk_profile}</dd>
        </div>
        <div>
          <dt>{t.riskScore}</dt>
          <dd>{profile.risk_score}</dd>
        </div>
        <div>
          <dt>{t.rewardSensitivity}</dt>
          <dd>{t.outOf100(profile.reward_sensitivity)}</dd>
        </div>
        <div>
          <dt>{t.tokenPreference}</dt>
          <dd>{t.preferences[profile.token_preference] ?? profile.token_preference}</dd>
        </div>
        <div>
          <dt>{t.submittedAt}</dt>
          <dd>{formatTime(locale, profile.submitted_at)}</dd>
        </div>
      </dl>
      {children}
    </section>
  );
}
