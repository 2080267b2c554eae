"""Recommendation engine speed (issue 5): ``recommend()`` on its own, in this process.

    .venv/bin/python bench/recommend.py [--quick] [--calls N] [--contexts K] [--repeats R] [--seed S]

1. K varied contexts are built before any timing (every segment, risk profile and protection state, balances
   around the 200/500 edges, visits from never to weeks ago, harm markers, play-hour histograms, both locales,
   several timezones), with the compiled default templates and the configured mission rewards.
2. Engine phase: N calls of ``recommend(ctx, templates)`` cycling through the contexts, timed as a whole; R
   repeats, the median repeat is the result (the fastest is shown too). The answers are checked: every
   proposal has a message and a reason naming its rule.

The HTTP phase (GET /api/me/recommendations through a real server against a bare Django JSON view, 100,000
players, 16 clients) is added beside ``engine_phase`` with the context gathering and the API views.

The last stdout line is the JSON result (design brief section 7); progress goes to stderr.
Exits 0 when the run completed, whether or not the targets were met.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import emit, log, target

TARGET_ENGINE_US_PER_CALL = 50.0
TIMEZONES = ("Asia/Seoul", "Asia/Seoul", "Asia/Seoul", "America/New_York", "Europe/London", "UTC")


def _setup_django() -> None:
    """Settings only (the mission rewards); the engine phase opens no database or Redis connection."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    import django

    django.setup()


def engine_contexts(count: int, seed: int) -> list[Any]:
    from recommendations import engine
    from recommendations.harm import MARKERS

    rng = random.Random(seed)
    now = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
    segments = [*engine.SEGMENTS, None]
    risks = [*engine.RISK_PROFILES, None]
    contexts = []
    for _ in range(count):
        hours = [0] * 24
        for _ in range(rng.choice((0, 0, 3, 20, 80))):
            hours[min(23, int(rng.gauss(20, 3)) % 24)] += 1
        roll = rng.random()
        paused = engine.SELF_EXCLUSION if roll < 0.02 else engine.COOL_OFF if roll < 0.05 else None
        visit = None if rng.random() < 0.2 else now - dt.timedelta(seconds=rng.randrange(0, 30 * 86400))
        markers = frozenset(rng.sample(MARKERS, rng.choice((1, 2)))) if rng.random() < 0.1 else frozenset()
        contexts.append(engine.Context(
            now=now,
            segment=rng.choice(segments),
            risk_profile=rng.choice(risks),
            balance=rng.choice((0, 50, 199, 200, 250, 499, 500, 1200, 25_000)),
            win_streak=rng.randrange(0, 6),
            last_corporate_visit_at=visit,
            corporate_tokens_month=rng.choice((0, 150, 499, 500, 2000)),
            quiz_taken=rng.random() < 0.5,
            paused=paused,
            paused_until=now + dt.timedelta(days=3) if paused else None,
            spend_limit_reached=rng.random() < 0.05,
            harm_markers=markers,
            play_hours=tuple(hours),
            locale=rng.choice(("ko", "ko", "en")),
            timezone=rng.choice(TIMEZONES),
            population_peak_hour=20,
        ))
    return contexts


def engine_phase(calls: int, contexts: list[Any], repeats: int) -> dict[str, Any]:
    from recommendations.engine import recommend
    from recommendations.messages import compile_templates
    from recommendations.missions import mission_rewards

    templates = compile_templates([], mission_rewards())
    # The answers, checked once (outside the timing).
    kinds: Counter[str] = Counter()
    for ctx in contexts:
        rec = recommend(ctx, templates)
        if any(not p.message or not p.reason.get("rule") for p in rec.proposals):
            raise SystemExit(f"bad recommendation for {ctx}: {rec}")
        kinds.update(rec.types)
    n = len(contexts)
    batch = (contexts * (calls // n + 1))[:calls]
    per_call = []
    for i in range(repeats):
        started = time.perf_counter()
        for ctx in batch:
            recommend(ctx, templates)
        elapsed = time.perf_counter() - started
        per_call.append(elapsed / calls * 1e6)
        log(f"engine repeat {i + 1}/{repeats}: {per_call[-1]:.2f} us per call")
    return {
        "engine_us_per_call": round(statistics.median(per_call), 3),
        "engine_us_per_call_best": round(min(per_call), 3),
        "engine_calls_per_s": round(1e6 / statistics.median(per_call)),
        "proposal_types": dict(sorted(kinds.items())),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small run that ends within a minute")
    parser.add_argument("--calls", type=int, default=None,
                        help="engine calls per repeat (default 100,000; quick 20,000)")
    parser.add_argument("--contexts", type=int, default=1000, help="distinct contexts cycled through")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats (default 5; quick 3)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    calls = args.calls or (20_000 if args.quick else 100_000)
    repeats = args.repeats or (3 if args.quick else 5)

    _setup_django()
    contexts = engine_contexts(args.contexts, args.seed)
    log(f"{len(contexts)} contexts built; timing {calls} engine calls x {repeats}")
    results = engine_phase(calls, contexts, repeats)
    params = {"calls": calls, "contexts": len(contexts), "repeats": repeats, "seed": args.seed,
              "python": sys.version.split()[0], "quick": args.quick}
    targets = {"engine_us_per_call": target(results["engine_us_per_call"], TARGET_ENGINE_US_PER_CALL, "<=")}
    emit("recommend", params, results, targets)
    return 0


if __name__ == "__main__":
    sys.exit(main())

