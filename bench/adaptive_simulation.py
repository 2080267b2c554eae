"""The adaptive loop's simulation (issue 18; bench/adaptive.py's ``simulate`` phase): the bandit, the attribution and
the nightly job run for real over simulated days, against simulated players whose conversion probability is hidden.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/adaptive_simulation.py [--quick]
        [--seeds N] [--players N] [--days N] [--visit-share X] [--keep-db]

Nothing of the loop is re-implemented here: each serve is ``recommendations.services.recommendation_serve(player_id,
now=<simulated time>)`` (the engine, the standing holdout, Thompson sampling over ``texts.MessageVariant``, the
impression buffer); each conversion is a game round stored by ``activity.services.actions_ingest`` (the ingest API's
path); each night is the nightly job (``recommendations.weights.weights_recalculate``: attribution, the daily
figures, the posteriors) and the uplift figures (``recommendations.uplift.uplift_figures``), both in ``loop_night``.
The bench only plays the players and keeps the score.

1. A dedicated database ``<dbname>_bench`` (dropped, recreated, migrated) and Redis DB 15 or ``BENCH_REDIS_DB``
   (flushed). The population, once: N players (locale ``ko``, Asia/Seoul), each in an RFM group (a ``user_segments``
   row: 10% Whale, 20% High Engaged, 30% Medium, 40% Low, by id), each granted 300 tokens (``wallet_grant``), so that
   the engine's balance rule serves every one of them MID_STAKE (200..499 tokens; its game SlotMachine). Two active
   variants of MID_STAKE's message in ``ko`` (``sim-a``, ``sim-b``) beside the default text: three candidates.
   No quiz, no Company A visit, no spend: the other proposals served (CORPORATE_ENGAGE, QUIZ_MISSION) have no variant
   and nothing converts them; nothing a player does moves the balance, the group or a protection rule.
2. Each seed, in a child process of its own on a copy of that database (``CREATE DATABASE ... TEMPLATE``: every seed
   starts from the same population with no impression, conversion or posterior; Redis flushed), with its own holdout
   salt (``RECOMMENDATION_HOLDOUT_SALT=sim-<seed>``, the default 5% share) and its own calendar (the seed's days end
   ``(seed + 1) x (days + 5)`` days before today, so the draws, keyed by player and business date, differ between
   seeds): for each simulated business day, each player visits with probability ``--visit-share`` (0.2) at a uniform
   time between 10:00 and 20:00; the visits are served in time order. A player shown MID_STAKE converts with the
   hidden probability of the text it saw (``HIDDEN``, by RFM group and variant; the variant is known from the text,
   which is what the player reads); a holdout player (the serve withheld MID_STAKE) converts with the organic
   probability (``ORGANIC``, 4%, every group). A conversion is a SlotMachine round (``GAME_PLAY``) 1 to 60 minutes
   after the serve, inside MID_STAKE's 24-hour window. After the day's serves the impression buffer is flushed and the
   day's rounds ingested; then the nightly job runs as of the next day 03:20 (after the RFM run), and the process's
   posteriors are dropped (``posteriors_invalidate``) so the next day serves from the new ones.
3. Scored per seed, over the shown MID_STAKE impressions that learn (not holdout, not protected: none is protected
   here):
   - regret against the oracle that always serves the best variant of the player's group: the sum of
     p(best) - p(served); against uniform random allocation: the sum, over the same impressions, of the mean of
     p(best) - p(c) over the three candidates c, the expected regret had each been equally likely (exact, from the
     same players and visits: no second run); the ratio of the two;
   - the best variant's share of each day's impressions (the best of each player's group), and whether it holds most
     (> 50%) of them on day 14 (the last day when fewer are simulated);
   - the true uplift: the mean over the shown impressions of p(served) - p(organic); the measured one: the nightly
     job's uplift of MID_STAKE against the holdout over all the days, per player-day (a player is served at most once
     a day here, so a player-day is an impression), with its 95% (Wald) interval; whether the interval holds the
     true uplift;
   - checks: the measured arms equal what the simulation did (player-days served and converted, shown and holdout:
     every round written was attributed to the impression it followed, none lost); no buffered impression was
     dropped; the impressions recorded each shown variant as often as the simulation read it from the text; none of
     them was served to a protected player (``learning`` everywhere: the regret is over the bandit's choices).

Targets (the issue's bar): the bandit's cumulative regret over all seeds <= 30% of uniform's; the best variant holding
most of the traffic by day 14 in >= 90% of the seeds; the uplift interval holding the true uplift in >= 90% of the
seeds; met only when every seed's checks hold. The last stdout line is the JSON result (design brief section 7), with
every seed's figures. ``--quick``: 500 players, 10 days, 2 seeds. The bench database and Redis DB are emptied at the
end (``--keep-db`` keeps them). The simulated time of a full run (10,000 players, 30 days, 10 seeds, visit share 0.2:
about 60,000 serves and 30 nights a seed) is in docs/performance.md, "Adaptive loop (issue 18)".
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import random
import subprocess
import sys
import time
import zoneinfo
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PYTHON, BenchEnv, finish, load_average, log, target, url_shown
from core.timezones import business_day_start

if TYPE_CHECKING:
    from recommendations.uplift import Uplift

WHALE, HIGH_ENGAGED, MEDIUM, LOW = "Whale", "High Engaged", "Medium", "Low"  # recommendations.engine.SEGMENTS
MID_STAKE, SLOT_MACHINE = "MID_STAKE", "SlotMachine"  # the proposal simulated, and its game (engine rule 2)
DEFAULT = ""  # recommendations.variants.DEFAULT: the message's own text
BALANCE = 300  # 200..499 tokens: MID_STAKE
LOCALE = "ko"
# The variants of MID_STAKE's message the operator added (facts only: the balance, the game).
VARIANT_TEXTS = {
    "sim-a": "보유 토큰 {token_balance}개. 슬롯머신 한 판 어때요?",
    "sim-b": "지금 {token_balance}토큰으로 슬롯머신을 할 수 있어요",
}
CANDIDATES = (DEFAULT, *VARIANT_TEXTS)
# Hidden conversion probabilities by RFM group and candidate: the best differs by group.
HIDDEN: dict[str, dict[str, float]] = {
    WHALE: {DEFAULT: 0.10, "sim-a": 0.20, "sim-b": 0.12},
    HIGH_ENGAGED: {DEFAULT: 0.12, "sim-a": 0.10, "sim-b": 0.22},
    MEDIUM: {DEFAULT: 0.18, "sim-a": 0.10, "sim-b": 0.10},
    LOW: {DEFAULT: 0.05, "sim-a": 0.12, "sim-b": 0.08},
}
ORGANIC = 0.04  # a holdout player's probability of the same round, MID_STAKE withheld
GROUP_SHARES = ((WHALE, 10), (HIGH_ENGAGED, 20), (MEDIUM, 30), (LOW, 40))  # percent of the players
VISIT_SHARE = 0.2
MAJORITY_DAY = 14
NIGHTLY_AT = dt.timedelta(hours=3, minutes=20)  # the nightly job's beat, after the RFM run
FIRST_VISIT, VISIT_SPAN = dt.timedelta(hours=10), dt.timedelta(hours=10)  # visits between 10:00 and 20:00
TARGET_REGRET_RATIO = 0.30
TARGET_SEED_SHARE = 0.9  # of the seeds, for the traffic and the uplift bars
BUSINESS_TIMEZONE = "Asia/Seoul"


@dataclass(frozen=True)
class Config:
    """One simulation: the population, the simulated days and how often a player visits."""

    players: int
    days: int
    visit_share: float = VISIT_SHARE
    hidden: Mapping[str, Mapping[str, float]] = field(default_factory=lambda: HIDDEN)
    organic: float = ORGANIC


# --- the hidden truth ----------------------------------------------------------------------------------------------


def group_of(player_id: int, players: int) -> str:
    """The RFM group of player ``player_id`` (1..players): ``GROUP_SHARES`` in order of id."""
    percentile = (player_id - 1) * 100 // players  # integers: the shares are exact
    bound = 0
    for group, share in GROUP_SHARES:
        bound += share
        if percentile < bound:
            return group
    return GROUP_SHARES[-1][0]


def best_variant(hidden: Mapping[str, float]) -> str:
    """The candidate with the highest hidden probability (the oracle's choice)."""
    return max(hidden, key=lambda name: hidden[name])


def regret(hidden: Mapping[str, float], served: str) -> float:
    """The expected conversions lost by serving ``served`` instead of the best candidate."""
    return hidden[best_variant(hidden)] - hidden[served]


def uniform_regret(hidden: Mapping[str, float]) -> float:
    """The expected regret of a candidate drawn uniformly: the mean of ``regret`` over the candidates."""
    return sum(regret(hidden, name) for name in hidden) / len(hidden)


def first_day_of(seed: int, days: int, today: dt.date) -> dt.date:
    """The seed's first simulated business day: its days end ``(seed + 1) x (days + 5)`` days before ``today``."""
    return today - dt.timedelta(days=(seed + 1) * (days + 5) + days)


# --- the population ------------------------------------------------------------------------------------------------


def population_create(cfg: Config) -> None:
    """Players 1..N in their RFM groups, each holding ``BALANCE`` tokens, and MID_STAKE's variants (see the module
    docstring, step 1), through the apps' own writes (``wallet_grant``; a variant's save runs its text check)."""
    from django.db import transaction

    from players.models import Player
    from segments.models import UserSegment
    from texts.models import MessageVariant
    from wallet.services import wallet_grant

    signup = business_day_start(dt.date(2000, 1, 3))
    with transaction.atomic():
        Player.objects.bulk_create(
            [
                Player(id=pid, signup_at=signup, locale=LOCALE, timezone=BUSINESS_TIMEZONE, age_verified=True)
                for pid in range(1, cfg.players + 1)
            ],
            batch_size=2000,
        )
        UserSegment.objects.bulk_create(
            [UserSegment(user_id=pid, rfm_group=group_of(pid, cfg.players)) for pid in range(1, cfg.players + 1)],
            batch_size=2000,
        )
        for name, text in VARIANT_TEXTS.items():
            MessageVariant.objects.create(key=MID_STAKE, locale=LOCALE, name=name, text=text)
    for pid in range(1, cfg.players + 1):
        wallet_grant(player_id=pid, amount=BALANCE, idempotency_key=f"sim-fund:{pid}", reason="simulation funds")


# --- the nightly job and the uplift, as the loop runs them -----------------------------------------------------------


def loop_night(*, now: dt.datetime, first_day: dt.date, last_day: dt.date) -> Uplift:
    """The nightly "recalculate recommendation weights" job as of ``now`` (``weights_recalculate``: attribution from
    its watermark, the daily figures and uplift player-days, the Beta posteriors), then MID_STAKE's uplift against the
    holdout over business days [first_day, last_day] (``uplift_figures``)."""
    from recommendations.uplift import Uplift, uplift_figures
    from recommendations.weights import weights_recalculate

    weights_recalculate(now=now)
    found = (f for f in uplift_figures(d0=first_day, d1=last_day) if f.proposal_type == MID_STAKE)
    return next(found, Uplift(MID_STAKE, 0, 0, 0, 0))


# --- one seed ------------------------------------------------------------------------------------------------------


@dataclass
class SeedResult:
    seed: int
    first_day: str
    serves: int = 0
    shown: int = 0  # MID_STAKE shown (learning)
    shown_converted: int = 0
    holdout: int = 0  # MID_STAKE withheld from a holdout player
    holdout_converted: int = 0
    regret: float = 0.0  # against the oracle
    uniform_regret: float = 0.0
    true_uplift_sum: float = 0.0  # sum of p(served) - p(organic) over the shown
    best_share_by_day: list[float] = field(default_factory=list)
    measured: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def regret_ratio(self) -> float:
        return self.regret / self.uniform_regret if self.uniform_regret else math.nan

    @property
    def true_uplift(self) -> float:
        return self.true_uplift_sum / self.shown if self.shown else math.nan

    @property
    def majority_day(self) -> int:
        return min(MAJORITY_DAY, len(self.best_share_by_day))

    @property
    def best_holds_majority(self) -> bool:
        return bool(self.best_share_by_day) and self.best_share_by_day[self.majority_day - 1] > 0.5

    @property
    def interval_covers(self) -> bool:
        interval = self.measured.get("interval")
        return interval is not None and interval[0] <= self.true_uplift <= interval[1]

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["best_share_by_day"] = [round(x, 3) for x in self.best_share_by_day]
        out["regret"] = round(self.regret, 2)
        out["uniform_regret"] = round(self.uniform_regret, 2)
        out.pop("true_uplift_sum")
        out.update(
            regret_ratio=round(self.regret_ratio, 4),
            true_uplift=round(self.true_uplift, 5),
            majority_day=self.majority_day,
            best_holds_majority=self.best_holds_majority,
            interval_covers=self.interval_covers,
        )
        return out


def variant_by_text(balance: int) -> dict[str, str]:
    """The variant shown, from MID_STAKE's text as the player read it (anything else is the default text)."""
    from texts.catalog import variants

    return {v.render(token_balance=balance) or "": v.name for v in variants().get((MID_STAKE, LOCALE), ())}


def seed_run(cfg: Config, *, seed: int, today: dt.date) -> SeedResult:
    """One seed's simulated days on this process's database (the population made): see the module docstring."""
    from django.utils import timezone

    from activity.services import actions_ingest
    from activity.validation import parse_action
    from recommendations.impressions import impression_buffer
    from recommendations.services import recommendation_serve
    from recommendations.uplift import Uplift
    from recommendations.variants import posteriors_invalidate

    rng = random.Random(seed)
    first_day = first_day_of(seed, cfg.days, today)
    result = SeedResult(seed=seed, first_day=first_day.isoformat())
    served_variants: Counter[str] = Counter()
    texts = variant_by_text(BALANCE)
    groups = {pid: group_of(pid, cfg.players) for pid in range(1, cfg.players + 1)}
    buffer = impression_buffer()
    dropped_before = buffer.dropped
    posteriors_invalidate()
    seconds = {"serve": 0.0, "ingest": 0.0, "nightly": 0.0}
    measured = Uplift(MID_STAKE, 0, 0, 0, 0)
    last_day = first_day + dt.timedelta(days=cfg.days - 1)
    for offset in range(cfg.days):
        day = first_day + dt.timedelta(days=offset)
        start = business_day_start(day)
        visits = sorted(
            (start + FIRST_VISIT + VISIT_SPAN * rng.random(), pid)
            for pid in range(1, cfg.players + 1)
            if rng.random() < cfg.visit_share
        )
        rounds: list[dict[str, Any]] = []
        shown = best = 0
        t0 = time.monotonic()
        for at, pid in visits:
            served = recommendation_serve(player_id=pid, now=at)
            result.serves += 1
            hidden = cfg.hidden[groups[pid]]
            proposal = next((p for p in served.recommendation.proposals if p.type == MID_STAKE), None)
            if proposal is not None:
                variant = texts.get(proposal.message, DEFAULT)
                p = hidden[variant]
                result.shown += 1
                served_variants[variant] += 1
                result.regret += regret(hidden, variant)
                result.uniform_regret += uniform_regret(hidden)
                result.true_uplift_sum += p - cfg.organic
                shown += 1
                best += variant == best_variant(hidden)
                converted = rng.random() < p
                result.shown_converted += converted
            elif served.holdout:
                result.holdout += 1
                converted = rng.random() < cfg.organic
                result.holdout_converted += converted
            else:
                raise RuntimeError(f"player {pid} was served no MID_STAKE outside the holdout: {served}")
            if converted:
                rounds.append(
                    {
                        "event_id": f"sim-{seed}-{day.isoformat()}-{pid}",
                        "user_id": pid,
                        "action_type": "GAME_PLAY",
                        "action_timestamp": (at + dt.timedelta(minutes=rng.uniform(1, 60))).isoformat(),
                        "metadata": {"game": SLOT_MACHINE, "bet": 10, "payout": 0, "result": "loss"},
                    }
                )
        buffer.flush()
        seconds["serve"] += time.monotonic() - t0
        result.best_share_by_day.append(best / shown if shown else math.nan)
        t0 = time.monotonic()
        parsed = []
        for item in rounds:
            action, errors = parse_action(
                item, now=timezone.now(), max_future=dt.timedelta(0), allow_token_moving=False
            )
            if action is None:
                raise RuntimeError(f"a simulated round was refused: {errors}")
            parsed.append(action)
        if parsed:
            actions_ingest(actions=parsed, players_known=True)
        seconds["ingest"] += time.monotonic() - t0
        t0 = time.monotonic()
        measured = loop_night(
            now=business_day_start(day + dt.timedelta(days=1)) + NIGHTLY_AT, first_day=first_day, last_day=last_day
        )
        # This process wrote new posteriors (the nightly job may drop its copy itself): the next day serves from them.
        posteriors_invalidate()
        seconds["nightly"] += time.monotonic() - t0
    result.measured = {**asdict(measured), "uplift": measured.uplift, "interval": measured.interval}
    result.checks = {
        "shown_counted": (measured.shown, measured.shown_converted) == (result.shown, result.shown_converted),
        "holdout_counted": (measured.holdout, measured.holdout_converted) == (result.holdout, result.holdout_converted),
        "no_impression_dropped": buffer.dropped == dropped_before,
        **impressions_check(served_variants),
    }
    result.seconds = {k: round(v, 1) for k, v in seconds.items()}
    return result


def impressions_check(served_variants: Mapping[str, int]) -> dict[str, bool]:
    """The impressions as written against what the simulation scored: each shown MID_STAKE recorded with the variant
    read from its text (``variants_as_recorded``), and every one of them learning (``none_protected``: no protection
    rule fired, so the regret is over what the bandit chose)."""
    from django.db.models import Count

    from recommendations.models import RecommendationImpression

    shown = RecommendationImpression.objects.filter(proposal_type=MID_STAKE, holdout=False)
    recorded = {row["variant"]: row["n"] for row in shown.values("variant").annotate(n=Count("proposal_id"))}
    return {
        "variants_as_recorded": recorded == {name: n for name, n in served_variants.items() if n},
        "none_protected": not shown.filter(learning=False).exists(),
    }


# --- the whole run -------------------------------------------------------------------------------------------------


def summarize(seeds: Sequence[SeedResult]) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """The results, the targets (the issue's bar) and whether every seed's checks held."""
    need = math.ceil(TARGET_SEED_SHARE * len(seeds))
    regret_all = sum(s.regret for s in seeds)
    uniform_all = sum(s.uniform_regret for s in seeds)
    ratio = regret_all / uniform_all if uniform_all else math.nan
    majority = sum(s.best_holds_majority for s in seeds)
    covers = sum(s.interval_covers for s in seeds)
    complete = bool(seeds) and all(all(s.checks.values()) for s in seeds)
    results = {
        "regret": round(regret_all, 2),
        "uniform_regret": round(uniform_all, 2),
        "regret_ratio": round(ratio, 4),
        "regret_ratio_worst_seed": round(max(s.regret_ratio for s in seeds), 4),
        "seeds_best_holds_majority": majority,
        "seeds_interval_covers_true_uplift": covers,
        "seeds_needed": need,
        "complete": complete,
        "seeds": [s.as_dict() for s in seeds],
    }
    targets = {
        "regret_ratio_to_uniform": target(round(ratio, 4), TARGET_REGRET_RATIO, "<="),
        "seeds_best_holds_majority_by_day_14": target(majority, need, ">="),
        "seeds_uplift_interval_covers_true_uplift": target(covers, need, ">="),
    }
    return results, targets, complete


def seed_in_child(env: BenchEnv, cfg: Config, *, seed: int, today: dt.date) -> SeedResult:
    """Run one seed in a fresh process on a copy of the bench database (its population), Redis flushed."""
    copy = env.copy_database(f"s{seed}")
    env.flush_redis()
    child_env = {
        **copy.env,
        "RECOMMENDATION_HOLDOUT_SALT": f"sim-{seed}",
        # The buffer is written by its thread every 2,000 rows, and flushed by the bench at each day's end.
        "RECOMMENDATION_IMPRESSIONS_FLUSH_SECONDS": "3600",
        "RECOMMENDATION_IMPRESSIONS_BUFFER_SIZE": "2000",
    }
    args = [
        PYTHON,
        str(Path(__file__).resolve()),
        "--seed-run",
        str(seed),
        "--players",
        str(cfg.players),
        "--days",
        str(cfg.days),
        "--visit-share",
        str(cfg.visit_share),
        "--today",
        today.isoformat(),
    ]
    proc = subprocess.run(args, env=child_env, stdout=subprocess.PIPE, text=True, check=False)
    copy.drop_database()
    if proc.returncode != 0:
        raise SystemExit(f"seed {seed} failed with exit code {proc.returncode}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    result = SeedResult(seed=seed, first_day=data["first_day"])
    for name in ("serves", "shown", "shown_converted", "holdout", "holdout_converted", "regret", "uniform_regret"):
        setattr(result, name, data[name])
    result.true_uplift_sum = data["true_uplift_sum"]
    result.best_share_by_day = data["best_share_by_day"]
    result.measured, result.checks, result.seconds = data["measured"], data["checks"], data["seconds"]
    return result


def run(*, players: int, days: int, seeds: int, visit_share: float, quick: bool, keep_db: bool) -> int:
    """The bench (what ``bench/adaptive.py``'s ``simulate`` phase calls): the population, every seed in turn, the
    JSON line."""
    cfg = Config(players=players, days=days, visit_share=visit_share)
    env = BenchEnv()
    log(f"bench database {env.dbname}, redis {url_shown(env.redis_url)}")
    env.prepare()
    os.environ.update(env.env)
    import django

    django.setup()
    from django.db import connections

    params = {
        "phase": "simulate",
        "quick": quick,
        "players": players,
        "days": days,
        "seeds": seeds,
        "visit_share": visit_share,
        "hidden": HIDDEN,
        "organic": ORGANIC,
        "group_shares": dict(GROUP_SHARES),
        "cores": os.cpu_count(),
    }
    load_at_start = load_average()
    t0 = time.monotonic()
    population_create(cfg)
    connections.close_all()
    population_seconds = time.monotonic() - t0
    log(f"population of {players:,} players in {population_seconds:.0f}s")
    today = dt.datetime.now(zoneinfo.ZoneInfo(BUSINESS_TIMEZONE)).date()
    done: list[SeedResult] = []
    for seed in range(seeds):
        started = time.monotonic()
        done.append(seed_in_child(env, cfg, seed=seed, today=today))
        s = done[-1]
        log(
            f"seed {seed}: {s.serves:,} serves in {time.monotonic() - started:.0f}s {s.seconds}; regret ratio "
            f"{s.regret_ratio:.3f}, best share on day {s.majority_day} {s.best_share_by_day[s.majority_day - 1]:.2f}, "
            f"true uplift {s.true_uplift:.4f} in {s.measured['interval']}: {s.interval_covers}; checks {s.checks}"
        )
    results, targets, complete = summarize(done)
    wall = time.monotonic() - t0
    player_days = players * days * seeds
    results.update(
        population_seconds=round(population_seconds, 1),
        wall_seconds=round(wall, 1),
        ms_per_simulated_player_day=round(1000 * (wall - population_seconds) / player_days, 3),
        load_average_at_start=load_at_start,
        load_average_at_end=load_average(),
    )
    if not complete:
        log("a seed's checks did not hold: targets are reported as not met")
    finish(env, bench="adaptive", params=params, results=results, targets=targets, complete=complete, keep_db=keep_db)
    return 0


def seed_main(args: argparse.Namespace) -> int:
    """A child: one seed on the database its environment names; its result as one JSON line."""
    import django

    django.setup()
    cfg = Config(players=args.players, days=args.days, visit_share=args.visit_share)
    result = seed_run(cfg, seed=args.seed_run, today=args.today)
    data = asdict(result)
    print(json.dumps(data), flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small run (500 players, 10 days, 2 seeds)")
    parser.add_argument("--players", type=int, help="players (default 10,000; quick 500)")
    parser.add_argument("--days", type=int, help="simulated days (default 30; quick 10)")
    parser.add_argument("--seeds", type=int, help="seeds (default 10; quick 2)")
    parser.add_argument(
        "--visit-share", type=float, default=VISIT_SHARE, help=f"a player's chance to visit each day ({VISIT_SHARE})"
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the bench database and Redis DB afterwards")
    parser.add_argument("--seed-run", type=int, help=argparse.SUPPRESS)  # internal: one seed in this process
    parser.add_argument("--today", type=dt.date.fromisoformat, help=argparse.SUPPRESS)
    args = parser.parse_args()
    players = args.players or (500 if args.quick else 10_000)
    days = args.days or (10 if args.quick else 30)
    if args.seed_run is not None:
        args.players, args.days = players, days
        return seed_main(args)
    seeds = args.seeds or (2 if args.quick else 10)
    return run(
        players=players, days=days, seeds=seeds, visit_share=args.visit_share, quick=args.quick, keep_db=args.keep_db
    )


if __name__ == "__main__":
    sys.exit(main())
