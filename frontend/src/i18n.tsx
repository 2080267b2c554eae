// Every text the client shows, in ko and en, in one place. The locale is the player's, from the API (GET /api/quiz);
// the texts the server writes (proposals' messages, questions, choices) come in it already.
import { createContext, useContext } from "react";
import type { Locale, TokenPreference } from "./types";

const ko = {
  appTitle: "TokenLoop",
  loading: "불러오는 중…",
  todayTitle: "오늘의 제안",
  recommendedGame: "추천 게임",
  noGame: "지금은 추천 게임이 없습니다.",
  usageWindow: "추천 이용 시간",
  usageWindowValue: (start: string, end: string, tz: string) => `${start}–${end} (${tz})`,
  proposalsTitle: "제안",
  noProposals: "지금은 제안이 없습니다.",
  reward: (tokens: number) => `보상 ${tokens} 토큰`,
  goToGame: "게임으로 이동",
  goToCorporate: "A사로 이동",
  playGame: (game: string) => `${game} 하러 가기`,
  takeQuiz: "퀴즈 참여하기",
  visitCorporate: "A사 방문하기",
  corporateQuiz: "A사 퀴즈 풀기",
  setLimit: "이용 한도 설정",
  quizTitle: "성향 퀴즈",
  quizIntro: "몇 가지 질문에 답하면 나의 성향 프로필이 만들어집니다.",
  retakeQuiz: "퀴즈 다시 하기",
  retakeFrom: (when: string) => `${when}부터 다시 참여할 수 있습니다.`,
  stepOf: (n: number, total: number) => `${total}단계 중 ${n}단계`,
  back: "이전",
  next: "다음",
  submit: "제출",
  submitting: "제출 중…",
  cancel: "취소",
  required: "이 질문에 답해 주세요.",
  missing: (count: number) => `답하지 않은 질문이 ${count}개 있습니다.`,
  resultTitle: "나의 성향 프로필",
  riskProfile: "위험 성향",
  riskScore: "위험 점수",
  rewardSensitivity: "보상 민감도",
  outOf100: (value: number) => `${value} / 100`,
  tokenPreference: "토큰 사용 선호",
  riskProfiles: {
    "High-Risk": "위험 감수형 (High-Risk)",
    "Moderate-Risk": "중간형 (Moderate-Risk)",
    "Low-Risk": "위험 회피형 (Low-Risk)",
  } as Record<string, string>,
  preferences: {
    small_frequent: "작고 잦은 보상",
    rare_large: "드물지만 큰 보상",
    balanced: "균형",
  } as Record<TokenPreference, string>,
  rewardPaid: (tokens: number) => `퀴즈 완료 보상으로 ${tokens} 토큰이 지급되었습니다.`,
  submittedAt: "응답 시각",
  seeToday: "오늘의 제안 보기",
  games: { SlotMachine: "슬롯머신", Roulette: "룰렛", RPSGame: "가위바위보", Quiz: "퀴즈" } as Record<string, string>,
  noToken: "이 화면은 앱에서 열어 주세요.",
  devPlayers: "개발용: 데모 플레이어 선택",
  sessionExpired: "세션이 만료되었습니다. 앱에서 다시 열어 주세요.",
  loadFailed: "불러오지 못했습니다. 잠시 후 다시 시도해 주세요.",
  retry: "다시 시도",
  submitFailed: "제출하지 못했습니다.",
  quizUnavailable: "지금은 퀴즈를 불러올 수 없습니다.",
};

type Dictionary = typeof ko;

const en: Dictionary = {
  appTitle: "TokenLoop",
  loading: "Loading…",
  todayTitle: "Today's proposal",
  recommendedGame: "Recommended game",
  noGame: "No game is recommended right now.",
  usageWindow: "Suggested time to play",
  usageWindowValue: (start, end, tz) => `${start}–${end} (${tz})`,
  proposalsTitle: "Proposals",
  noProposals: "No proposals right now.",
  reward: (tokens) => `Reward: ${tokens} tokens`,
  goToGame: "Go to game",
  goToCorporate: "Go to Company A",
  playGame: (game) => `Play ${game}`,
  takeQuiz: "Take the quiz",
  visitCorporate: "Visit Company A",
  corporateQuiz: "Answer the quiz at Company A",
  setLimit: "Set a spend limit",
  quizTitle: "Profile quiz",
  quizIntro: "Answer a few questions to build your profile.",
  retakeQuiz: "Retake the quiz",
  retakeFrom: (when) => `You can retake it from ${when}.`,
  stepOf: (n, total) => `Step ${n} of ${total}`,
  back: "Back",
  next: "Next",
  submit: "Submit",
  submitting: "Submitting…",
  cancel: "Cancel",
  required: "Please answer this question.",
  missing: (count) => (count === 1 ? "1 question is not answered." : `${count} questions are not answered.`),
  resultTitle: "Your profile",
  riskProfile: "Risk profile",
  riskScore: "Risk score",
  rewardSensitivity: "Reward sensitivity",
  outOf100: (value) => `${value} / 100`,
  tokenPreference: "Token preference",
  riskProfiles: { "High-Risk": "High-Risk", "Moderate-Risk": "Moderate-Risk", "Low-Risk": "Low-Risk" },
  preferences: {
    small_frequent: "Small, frequent rewards",
    rare_large: "Rare, large rewards",
    balanced: "Balanced",
  },
  rewardPaid: (tokens) => `${tokens} tokens were credited for completing the quiz.`,
  submittedAt: "Answered at",
  seeToday: "See today's proposal",
  games: { SlotMachine: "Slot machine", Roulette: "Roulette", RPSGame: "Rock-paper-scissors", Quiz: "Quiz" },
  noToken: "Open this screen from the app.",
  devPlayers: "Development: pick a demo player",
  sessionExpired: "Your session has expired. Open this screen from the app again.",
  loadFailed: "Could not load. Please try again in a moment.",
  retry: "Try again",
  submitFailed: "Could not submit.",
  quizUnavailable: "The quiz cannot be loaded right now.",
};

export const dictionaries: Record<Locale, Dictionary> = { ko, en };
export type { Dictionary };

/** The player's locale as the API states it; anything else falls back to the browser's, then Korean (the default). */
export function localeOf(value: string | null | undefined, fallback: string = navigator.language): Locale {
  for (const candidate of [value, fallback]) {
    const lang = (candidate ?? "").toLowerCase().slice(0, 2);
    if (lang === "ko" || lang === "en") return lang;
  }
  return "ko";
}

export function gameName(t: Dictionary, game: string): string {
  return t.games[game] ?? game;
}

export function formatTime(locale: Locale, iso: string): string {
  return new Intl.DateTimeFormat(locale === "ko" ? "ko-KR" : "en-GB", {
    dateStyle: "medium",
    timeStyle: "short",
  }).format(new Date(iso));
}

export const LocaleContext = createContext<Locale>("ko");

export function useLocale(): Locale {
  return useContext(LocaleContext);
}

export function useT(): Dictionary {
  return dictionaries[useLocale()];
}
