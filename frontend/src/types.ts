// The API's shapes the client reads (design brief section 5; recommendations/serializers.py; the quiz contract).

export type Locale = "ko" | "en";

export interface Choice {
  value: number;
  label: string;
}

export interface Question {
  id: string;
  text: string;
  scale: "scale_1_5" | "yes_no";
  choices: Choice[];
}

export type TokenPreference = "small_frequent" | "rare_large" | "balanced";

export interface Profile {
  risk_profile: string;
  risk_score: number;
  reward_sensitivity: number;
  token_preference: TokenPreference;
  version: number;
  submitted_at: string;
}

export interface Quiz {
  user_id: number;
  version: number | null; // null: no quiz published
  locale: string;
  steps: Question[][];
  can_submit: boolean;
  next_allowed_at: string | null;
  current_profile: Profile | null;
}

export interface QuizResult extends Profile {
  status: "ok";
  user_id: number;
  next_allowed_at: string | null;
  reward: { mission: string; tokens: number } | null;
}

export type Answers = Record<string, number>;

export interface Proposal {
  id: string;
  type: string;
  message: string;
  game?: string;
  action?: string;
  reward_tokens?: number;
  content_id?: number;
  reason: Record<string, unknown>;
}

export interface UsageWindow {
  start: string;
  end: string;
  timezone: string;
  source: string;
}

export interface Recommendation {
  user_id: number;
  recommended_game: string | null;
  proposals: Proposal[];
  usage_window: UsageWindow | null;
}

/** What Django hands the page (webclient.views.app_page, the #tl-config JSON). */
export interface ClientConfig {
  apiBase: string;
  gameUrl: string;
  corporateUrl: string;
  protectionUrl: string;
  devPlayersUrl: string;
}
