import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { makeApi } from "./api";
import { App } from "./App";
import { CONFIG, quiz, quizResult, recommendation } from "./test/fixtures";

type Route = (init: RequestInit) => { status: number; body: unknown };

/** A fetch that answers by "METHOD path" and records what was sent. */
function fakeFetch(routes: Record<string, Route>) {
  const calls: { key: string; init: RequestInit }[] = [];
  const impl = vi.fn(async (url: RequestInfo | URL, init: RequestInit = {}) => {
    const key = `${init.method ?? "GET"} ${String(url)}`;
    calls.push({ key, init });
    const route = routes[key];
    const { status, body } = route ? route(init) : { status: 404, body: { error: "not_found", message: key } };
    return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  });
  return { impl: impl as unknown as typeof fetch, calls };
}

describe("App", () => {
  it("follows the player's locale from the API, sends the bearer token, records a click before leaving", async () => {
    const user = userEvent.setup();
    const navigate = vi.fn();
    const { impl, calls } = fakeFetch({
      "GET /api/quiz": () => ({ status: 200, body: quiz({ locale: "ko" }) }),
      "GET /api/me/recommendations": () => ({ status: 200, body: recommendation() }),
      "POST /api/recommendations/p-mid/click": () => ({ status: 200, body: { id: "p-mid", first_click: true } }),
    });
    render(<App api={makeApi("/api", "tok-42", impl)} config={CONFIG} navigate={navigate} fallbackLocale="en-US" />);
    await user.click(await screen.findByRole("button", { name: "게임으로 이동" }));
    expect(document.documentElement.lang).toBe("ko");
    expect(calls.map((c) => c.key)).toContain("POST /api/recommendations/p-mid/click");
    expect((calls[0].init.headers as Record<string, string>).Authorization).toBe("Bearer tok-42");
    expect(navigate).toHaveBeenCalledWith("https://games.example.test/play/SlotMachine");
  });

  it("walks the quiz to its result, and the card afterwards has no quiz mission", async () => {
    const user = userEvent.setup();
    let submitted: unknown = null;
    const { impl } = fakeFetch({
      "GET /api/quiz": () =>
        submitted
          ? { status: 200, body: quiz({ can_submit: false, current_profile: quizResult(), next_allowed_at: "2026-12-11T12:00:00Z" }) }
          : { status: 200, body: quiz() },
      "GET /api/me/recommendations": () => {
        const rec = recommendation();
        if (submitted) rec.proposals = rec.proposals.filter((p) => p.type !== "QUIZ_MISSION");
        return { status: 200, body: rec };
      },
      "POST /api/recommendations/p-quiz/click": () => ({ status: 200, body: {} }),
      "POST /api/quiz/submit": (init) => {
        submitted = JSON.parse(String(init.body));
        return { status: 200, body: quizResult() };
      },
    });
    render(<App api={makeApi("/api", "t", impl)} config={CONFIG} navigate={vi.fn()} />);
    // the quiz mission's own button opens the form
    const item = (await screen.findByText(/Take the quiz: 200 tokens/)).closest("li")!;
    await user.click(within(item).getByRole("button", { name: "Take the quiz" }));
    for (const label of ["4", "Yes"]) {
      for (const radio of screen.getAllByLabelText(label)) await user.click(radio);
    }
    await user.click(screen.getByRole("button", { name: "Next" }));
    for (const label of ["5", "No"]) {
      for (const radio of screen.getAllByLabelText(label)) await user.click(radio);
    }
    await user.click(screen.getByRole("button", { name: "Submit" }));
    expect(await screen.findByRole("heading", { name: "Your profile" })).toHaveFocus();
    expect(submitted).toEqual({ answers: { q1: 4, q2: 1, q3: 5, q4: 5, q5: 0 } });
    await user.click(screen.getByRole("button", { name: "See today's proposal" }));
    const card = await screen.findByRole("region", { name: "Today's proposal" });
    await waitFor(() => expect(within(card).queryByText(/Take the quiz: 200 tokens/)).not.toBeInTheDocument());
    expect(screen.getByTestId("risk-profile")).toHaveTextContent("High-Risk");
    expect(screen.queryByRole("button", { name: "Take the quiz" })).not.toBeInTheDocument();
  });

  it("an expired token says so", async () => {
    const { impl } = fakeFetch({
      "GET /api/quiz": () => ({ status: 401, body: { error: "not_authenticated", message: "Token has expired." } }),
      "GET /api/me/recommendations": () => ({ status: 401, body: { error: "not_authenticated", message: "x" } }),
    });
    render(<App api={makeApi("/api", "t", impl)} config={CONFIG} navigate={vi.fn()} fallbackLocale="en" />);
    expect(await screen.findByRole("alert")).toHaveTextContent("Your session has expired.");
  });

  it("with no quiz published, offers no way into the form (the card's quiz mission has no button)", async () => {
    const { impl } = fakeFetch({
      "GET /api/quiz": () => ({ status: 200, body: quiz({ version: null, steps: [] }) }),
      "GET /api/me/recommendations": () => ({ status: 200, body: recommendation() }),
    });
    render(<App api={makeApi("/api", "t", impl)} config={CONFIG} navigate={vi.fn()} />);
    expect(await screen.findByText("The quiz cannot be loaded right now.")).toBeInTheDocument();
    const item = screen.getByText(/Take the quiz: 200 tokens/).closest("li")!;
    expect(within(item).queryByRole("button")).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Take the quiz" })).not.toBeInTheDocument();
  });
});
