// The API, with the player's bearer token. Errors arrive in the project's envelope
// {"error": code, "message": text, "fields": {"path": ["problem"]}} (core/exceptions.py).
import type { Answers, Quiz, QuizResult, Recommendation } from "./types";

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: Record<string, string[]>;

  constructor(status: number, code: string, message: string, fields: Record<string, string[]> = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.fields = fields;
  }
}

export interface Api {
  quiz(): Promise<Quiz>;
  submitQuiz(answers: Answers): Promise<QuizResult>;
  recommendations(): Promise<Recommendation>;
  click(proposalId: string): Promise<void>;
}

export function makeApi(base: string, token: string, fetchImpl: typeof fetch = (...args) => fetch(...args)): Api {
  async function call<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response: Response;
    try {
      response = await fetchImpl(`${base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        keepalive: method === "POST",
      });
    } catch (exc) {
      throw new ApiError(0, "network", exc instanceof Error ? exc.message : String(exc));
    }
    const data: unknown = await response.json().catch(() => null);
    if (!response.ok) {
      const envelope = (data ?? {}) as { error?: string; message?: string; fields?: Record<string, string[]> };
      throw new ApiError(
        response.status,
        envelope.error ?? "http_error",
        envelope.message ?? `HTTP ${response.status}`,
        envelope.fields ?? {},
      );
    }
    return data as T;
  }

  return {
    quiz: () => call<Quiz>("GET", "/quiz"),
    submitQuiz: (answers) => call<QuizResult>("POST", "/quiz/submit", { answers }),
    recommendations: () => call<Recommendation>("GET", "/me/recommendations"),
    click: async (proposalId) => {
      await call<unknown>("POST", `/recommendations/${encodeURIComponent(proposalId)}/click`);
    },
  };
}
