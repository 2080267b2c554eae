"""Quiz submissions through a real server on PostgreSQL and Redis (issue 14), against wallet grants in the same run.

A submission (``POST /api/quiz/submit``, a player's Bearer token; every player a different one, taking the default quiz
for the first time) is the current version (kept per process), the answers checked and scored, then one transaction:
the player's ``quiz_profiles`` row locked, the ``quiz_submissions`` row, nine ``QUIZ_ANSWER`` actions (one statement),
the risk profile through ``UserService``, the self-reported harm marker set or cleared, and the
``COMPLETE_PROFILE_QUIZ`` mission through ``wallet.missions.mission_pay`` (the wallet's lock and GRANT with its action,
the ``user_rewards`` row, the push), COMMIT; after it Redis' balance and the hot metrics. The baseline is the wallet
grant of ``bench/wallet.py``: a signed Company A ``token.earned`` delivery (its ledger row, action, ``site_rewards``
row and push). A submission is a grant plus a handful of rows.

Phases on one server (granian 2 x 4 by default), after a warm-up of both:

1. saturation: grants and submissions in ``--rounds`` alternating rounds (4: grants, submissions; submissions,
   grants; ...), 16 clients in a closed loop each: requests/s of each and their ratio (target: submissions at least
   0.5 of grants);
2. open loop: submissions sent on a schedule at an offered 300 a second (Poisson arrivals, seeded), whatever the
   answers; each latency from the request's scheduled send time (target: p99 under 100 ms, every one answered).

Each answer is checked: 200, the risk profile and scores that ``quiz.scoring`` gives the answers sent, the mission's
200 tokens. Afterwards (the server stopped): each submitted player has one submission, nine QUIZ_ANSWER actions, the
risk profile on their segment, one mission GRANT with its user_rewards row (``trigger_action_id`` its action) and its
push; every wallet equals the sum of its ledger rows; Redis holds each sampled player's balance.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/quiz.py [--quick]
        [--requests N] [--rounds 4] [--open-rate 300] [--open-seconds 30] [--arrivals poisson|constant]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BenchEnv, Server, emit, load_average, log, server_label, target
from bench.load import Phase, Request, add_comparison_arguments, against_baseline
from bench.wallet import check_grant, create_players
from bench.wallet import make_requests as grant_requests

TARGET_RATIO_TO_GRANT = 0.5
TARGET_OPEN_LOOP_P99_MS = 100.0
OPEN_LOOP_RATE = 300.0
MISSION_TOKENS = 200  # settings.MISSION_REWARDS["COMPLETE_PROFILE_QUIZ"], the default the bench runs with
QUESTIONS_PER_SUBMISSION = 9  # the default quiz (quiz migration 0002)
WARM_UP = 300  # requests of each kind before timing
HIGH_SENSITIVITY = 67  # settings.QUIZ_HIGH_REWARD_SENSITIVITY's default


def _setup_django(env: BenchEnv) -> None:
    """Django in this process, on the bench's settings (to issue the players' tokens and read the quiz)."""
    os.environ.update(env.env)
    import django

    django.setup()


def quiz_questions() -> list[Any]:
    """The current version's questions (``quiz.scoring.Question``), as the server reads them."""
    from quiz.selectors import quiz_current_version

    version = quiz_current_version()
    if version is None:
        raise SystemExit("no quiz version is published (quiz migration 0002 makes the default)")
    return list(version.scoring_questions)


def random_answers(questions: list[Any], rng: random.Random) -> dict[str, int]:
    from quiz.scoring import SCALE_VALUES

    return {q.key: rng.choice(SCALE_VALUES[q.scale]) for q in questions}


def submit_requests(players: list[int], questions: list[Any], seed: int) -> list[Request]:
    """One submission per player (the player's first), each with the player's Bearer token and random valid answers."""
    from core.auth import player_token_issue

    rng = random.Random(seed)
    return [
        Request(
            "POST",
            "/api/quiz/submit",
            orjson.dumps({"user_id": pid, "answers": random_answers(questions, rng)}),
            {
                "Content-Type": "application/json",
                "Authorization": f"Bearer {player_token_issue(player_id=pid, ttl_seconds=3 * 3600)}",
            },
        )
        for pid in players
    ]


_QUESTIONS: list[Any] = []  # the version's questions, set before the client processes fork (for check_submit)


def check_submit(status: int, body: bytes, request: Request) -> str | None:
    """200, scored as ``quiz.scoring`` scores the answers sent (the version's questions in ``_QUESTIONS``), and
    rewarded with the mission's tokens."""
    from quiz.scoring import score

    if status != 200:
        return f"HTTP {status}: {body[:200]!r}"
    answer, sent = orjson.loads(body), orjson.loads(request.body or b"{}")
    expected = score(_QUESTIONS, sent["answers"], high_sensitivity=HIGH_SENSITIVITY)
    scored = {
        "status": "ok",
        "user_id": sent["user_id"],
        "risk_profile": expected.risk_profile,
        "risk_score": expected.risk_score,
        "reward_sensitivity": expected.reward_sensitivity,
        "token_preference": expected.token_preference,
    }
    if any(answer.get(k) != v for k, v in scored.items()):
        return f"not scored as sent: {body[:300]!r}"
    if answer.get("reward") != {"mission": "COMPLETE_PROFILE_QUIZ", "tokens": MISSION_TOKENS}:
        return f"not rewarded: {body[:300]!r}"
    return None


def verify(env: BenchEnv, sample: int = 500) -> dict[str, Any]:
    """Each submission's rows, linked, and once a player; the ledger against the wallets; Redis against a sample."""
    with env.connect() as conn:
        one = conn.execute  # each query answers one number

        def count(sql: str) -> int:
            return int(one(sql).fetchone()[0])

        counts = {
            "submissions": count("SELECT count(*) FROM quiz_submissions"),
            "players_submitted": count("SELECT count(DISTINCT user_id) FROM quiz_submissions"),
            "profiles": count("SELECT count(*) FROM quiz_profiles WHERE submission_id IS NOT NULL"),
            "quiz_answers": count("SELECT count(*) FROM user_actions WHERE action_type = 'QUIZ_ANSWER'"),
            "segments_with_the_submitted_profile": count(
                "SELECT count(*) FROM quiz_profiles p JOIN quiz_submissions s ON s.id = p.submission_id "
                "JOIN user_segments g ON g.user_id = p.user_id WHERE g.risk_profile = s.risk_profile"
            ),
            "mission_grants": count(
                "SELECT count(*) FROM token_ledger WHERE kind = 'GRANT' "
                "AND idempotency_key LIKE 'mission:COMPLETE_PROFILE_QUIZ:%%'"
            ),
            "mission_rewards_linked": count(
                "SELECT count(*) FROM token_ledger l JOIN user_rewards r ON r.trigger_action_id = l.action_id "
                "AND r.reward_type = 'mission' WHERE l.idempotency_key LIKE 'mission:COMPLETE_PROFILE_QUIZ:%%' "
                f"AND l.amount = {MISSION_TOKENS} AND r.reward_value = {MISSION_TOKENS}"
            ),
            "submissions_linked_to_their_grant": count(
                "SELECT count(*) FROM quiz_submissions s JOIN token_ledger l ON l.id = s.reward_entry_id "
                "WHERE l.player_id = s.user_id"
            ),
            "mission_pushes": count(
                "SELECT count(*) FROM notifications WHERE type = 'MISSION_REWARD_COMPLETE_PROFILE_QUIZ'"
            ),
            "players_paid_twice": count(
                "SELECT count(*) FROM (SELECT player_id FROM token_ledger WHERE idempotency_key LIKE "
                "'mission:COMPLETE_PROFILE_QUIZ:%%' GROUP BY player_id HAVING count(*) > 1) x"
            ),
            "site_rewards": count("SELECT count(*) FROM site_rewards"),
        }
        wallets_off = count(
            "SELECT count(*) FROM wallets w LEFT JOIN (SELECT player_id, sum(amount) AS s, max(id) AS last "
            "FROM token_ledger GROUP BY player_id) l ON l.player_id = w.player_id "
            "WHERE w.balance <> coalesce(l.s, 0) OR w.last_entry_id <> coalesce(l.last, 0)"
        )
        balances = dict(
            one(
                "SELECT player_id, balance FROM wallets WHERE last_entry_id > 0 ORDER BY random() LIMIT %s", [sample]
            ).fetchall()
        )
    redis = env.redis()
    cached = redis.mget([f"user:{pid}:cyber_token_balance" for pid in balances])
    redis.close()
    mismatch = sum(1 for (pid, bal), c in zip(balances.items(), cached, strict=True) if c is None or int(c) != bal)
    return {
        "counts": counts,
        "wallets_not_equal_to_their_ledger": wallets_off,
        "redis_sampled": len(balances),
        "redis_mismatch": mismatch,
    }


def counts_exact(checks: dict[str, Any], *, submitted: int, granted: int) -> bool:
    """Every submission logged, scored and rewarded exactly once; every grant once; Redis as the ledger."""
    c = checks["counts"]
    per_submission = (
        c["submissions"],
        c["players_submitted"],
        c["profiles"],
        c["segments_with_the_submitted_profile"],
        c["mission_grants"],
        c["mission_rewards_linked"],
        c["submissions_linked_to_their_grant"],
        c["mission_pushes"],
    )
    return (
        all(n == submitted for n in per_submission)
        and c["quiz_answers"] == QUESTIONS_PER_SUBMISSION * submitted
        and c["players_paid_twice"] == 0
        and c["site_rewards"] == granted
        and checks["wallets_not_equal_to_their_ledger"] == 0
        and checks["redis_mismatch"] == 0
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_comparison_arguments(parser, baseline="grants", subject="submissions", open_rate=OPEN_LOOP_RATE)
    args = parser.parse_args()
    count = args.requests or (3_000 if args.quick else 20_000)
    open_seconds = args.open_seconds or (8.0 if args.quick else 30.0)
    open_count = round(args.open_rate * open_seconds)
    players = count + open_count + WARM_UP

    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    log(f"uptime: {uptime}")
    load_at_start = load_average()
    env = BenchEnv()
    env.env["NOTIFICATIONS_TRANSPORT"] = "log"
    env.prepare()
    _setup_django(env)
    create_players(env, players)
    questions = quiz_questions()
    _QUESTIONS[:] = questions
    ids = list(range(1, players + 1))
    random.Random(args.seed).shuffle(ids)
    warm_submits = submit_requests(ids[:WARM_UP], questions, args.seed)
    submits = submit_requests(ids[WARM_UP : WARM_UP + count], questions, args.seed + 1)
    scheduled = submit_requests(ids[WARM_UP + count :], questions, args.seed + 2)
    grants = grant_requests(count, players, args.seed)
    warm_grants = grant_requests(WARM_UP, players, args.seed + 1000)
    from django.db import connections

    connections.close_all()  # no connection crosses the fork into the client processes
    log(f"{len(submits) + len(scheduled) + len(grants)} requests built; load average {load_average()}")

    with Server(env, workers=args.workers, worker_class=args.worker_class, threads=args.threads) as server:
        groups = server.cpu_groups()
        compared = against_baseline(
            server,
            groups,
            Phase("grants", grants, check_grant, warm_grants),
            Phase("submissions", submits, check_submit, warm_submits),
            scheduled=scheduled,
            rounds=args.rounds,
            concurrency=args.concurrency,
            max_seconds=args.max_seconds,
            open_rate=args.open_rate,
            arrivals=args.arrivals,
            seed=args.seed,
        )
    grant_run, submit_run, opened, open_loop = compared.baseline, compared.subject, compared.opened, compared.open_loop
    load_before = compared.load_before
    checks = verify(env)
    env.drop_database()
    env.flush_redis()  # as the other benches do: nothing of the run is left behind

    submitted = WARM_UP + submit_run["ok"] + opened["ok_units"]
    granted = WARM_UP + grant_run["ok"]
    exact = counts_exact(checks, submitted=submitted, granted=granted)
    complete = grant_run["errors"] == 0 and submit_run["errors"] == 0
    ratio = submit_run["requests_per_s"] / grant_run["requests_per_s"] if grant_run["requests_per_s"] else 0.0
    open_target = target(open_loop["p99_ms"], TARGET_OPEN_LOOP_P99_MS, "<=")
    open_target["ok"] = open_target["ok"] and open_loop["errors"] == 0  # every scheduled submission answered rightly
    results = {
        "load_average_at_start": load_at_start,
        "load_average_before_saturation": load_before,
        "cores": os.cpu_count(),
        "grants": grant_run,
        "submissions": submit_run,
        "rounds": compared.round_rates(),
        "ratio_to_grant": round(ratio, 3),
        "open_loop": open_loop,
        "load_average_at_end": load_average(),
        "checks": checks,
        "counts_exact": exact,
    }
    emit(
        "quiz",
        {
            "quick": args.quick,
            "requests_per_kind": count,
            "rounds": max(1, args.rounds),
            "concurrency": args.concurrency,
            "players": players,
            "questions": len(questions),
            "mission_tokens": MISSION_TOKENS,
            "open_loop": {
                "offered_per_s": args.open_rate,
                "arrivals": args.arrivals,
                "seconds": open_seconds,
                "submissions": open_count,
                "latency_from": "each submission's scheduled send time",
            },
            "server": server_label(args.worker_class, args.workers, args.threads),
            "database": "postgresql",
            "cache": "redis",
            "seed": args.seed,
            "uptime_at_start": uptime,
        },
        results,
        {
            "submission_ratio_to_grant": target(round(ratio, 3) if complete else 0.0, TARGET_RATIO_TO_GRANT, ">="),
            "open_loop_p99_ms": open_target,
            "counts_exact": target(1.0 if exact else 0.0, 1.0, ">="),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
