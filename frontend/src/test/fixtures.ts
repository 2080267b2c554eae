// API answers shaped as the contract states them (design brief section 5; the quiz contract of issue 14).
import type { Question, Quiz, QuizResult, Recommendation } from "../types";

const scale = (id: string, text: string): Question => ({
  id,
  text,
  scale: "scale_1_5",
  choices: [1, 2, 3, 4, 5].map((value) => ({ value, label: String(value) })),
});

const yesNo = (id: string, text: string): Question => ({
  id,
  text,
  scale: "yes_no",
  choices: [
    { value: 1, label: "Yes" },
    { value: 0, label: "No" },
  ],
});

export const STEPS: Question[][] = [
  [scale("q1", "Do you tend to bet large amounts for high payouts?"), yesNo("q2", "Do you try again when you lose?")],
  [scale("q3", "Do you enjoy surprises?"), scale("q4", "Do you prefer steady rewards?"), yesNo("q5", "Do you save tokens?")],
];

export function quiz(overrides: Partial<Quiz> = {}): Quiz {
  return {
    user_id: 42,
    version: 3,
    locale: "en",
    steps: STEPS,
    can_submit: true,
    next_allowed_at: null,
    current_profile: null,
    ...overrides,
  };
}

export function quizResult(overrides: Partial<QuizResult> = {}): QuizResult {
  return {
    status: "ok",
    user_id: 42,
    risk_profile: "High-Risk",
    risk_score: 3,
    reward_sensitivity: 75,
    token_preference: "small_frequent",
    version: 3,
    submitted_at: "2026-12-04T12:00:00Z",
    next_allowed_at: "2026-12-11T12:00:00Z",
    reward: { mission: "COMPLETE_PROFILE_QUIZ", tokens: 200 },
    ...overrides,
  };
}

export function recommendation(overrides: Partial<Recommendation> = {}): Recommendation {
  return {
    user_id: 42,
    recommended_game: "SlotMachine",
    proposals: [
      {
        id: "p-mid",
        type: "MID_STAKE",
        message: "You have 250 tokens! Aim for stable rewards on the slot machine",
        game: "SlotMachine",
        reason: { rule: "token_balance", token_balance: 250 },
      },
      {
        id: "p-corp",
        type: "CORPORATE_MISSION",
        message: "You have acquired 150 tokens this month. Answer the quiz at Company A and receive 200 tokens!",
        action: "COMPLETE_CORPORATE_QUIZ",
        reward_tokens: 200,
        reason: { rule: "corporate_tokens_month", corporate_tokens_month: 150 },
      },
      {
        id: "p-quiz",
        type: "QUIZ_MISSION",
        message: "Take the quiz: 200 tokens and an in-depth profile update",
        action: "COMPLETE_PROFILE_QUIZ",
        reward_tokens: 200,
        reason: { rule: "risk_profile_missing" },
      },
    ],
    usage_window: { start: "20:00", end: "21:00", timezone: "Asia/Seoul", source: "player" },
    ...overrides,
  };
}

export const CONFIG = {
  apiBase: "/api",
  gameUrl: "https://games.example.test/play/{game}",
  corporateUrl: "https://company-a.example.test/",
  protectionUrl: "",
  devPlayersUrl: "",
};
