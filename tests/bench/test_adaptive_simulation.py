"""bench/adaptive_simulation.py: the hidden truth and its scores, the population the engine serves MID_STAKE, and one
seed at a tiny size through the real serve, ingest and nightly job."""

from __future__ import annotations

import datetime as dt

import pytest

from bench.adaptive_simulation import (
    BALANCE,
    CANDIDATES,
    DEFAULT,
    HIDDEN,
    MAJORITY_DAY,
    MID_STAKE,
    VARIANT_TEXTS,
    Config,
    SeedResult,
    best_variant,
    first_day_of,
    group_of,
    population_create,
    regret,
    seed_run,
    summarize,
    uniform_regret,
    variant_by_text,
)

TODAY = dt.date(2026, 12, 6)


def test_the_best_variant_differs_by_group_and_serving_it_has_no_regret():
    # given the hidden probabilities of the three candidates in each RFM group
    bests = {group: best_variant(hidden) for group, hidden in HIDDEN.items()}
    # then each group has all three candidates, the best is not the same everywhere (each candidate wins somewhere)
    assert all(set(hidden) == set(CANDIDATES) for hidden in HIDDEN.values())
    assert set(bests.values()) == set(CANDIDATES)
    # and serving the best loses nothing while serving another loses the difference
    for group, hidden in HIDDEN.items():
        assert regret(hidden, bests[group]) == 0
        assert all(regret(hidden, c) == hidden[bests[group]] - hidden[c] > 0 for c in hidden if c != bests[group])


def test_uniform_regret_is_the_mean_regret_of_the_candidates():
    # given a group whose candidates convert at 0.2, 0.1 and 0.05
    hidden = {DEFAULT: 0.2, "sim-a": 0.1, "sim-b": 0.05}
    # then a uniform draw loses (0 + 0.1 + 0.15) / 3 per impression
    assert uniform_regret(hidden) == pytest.approx(0.25 / 3)


def test_groups_follow_their_shares_in_order_of_id():
    # given 1,000 players
    groups = [group_of(pid, 1000) for pid in range(1, 1001)]
    # then 10% are Whale, 20% High Engaged, 30% Medium, 40% Low, in that order of id
    assert [groups.count(g) for g in ("Whale", "High Engaged", "Medium", "Low")] == [100, 200, 300, 400]
    assert groups[0] == "Whale" and groups[-1] == "Low"


def test_each_seed_has_its_own_days_all_before_today():
    # given 30 simulated days
    firsts = [first_day_of(seed, 30, TODAY) for seed in range(10)]
    # then no two seeds share a day, and the last day of each is before today
    days = [first + dt.timedelta(days=i) for first in firsts for i in range(30)]
    assert len(set(days)) == len(days)
    assert max(days) < TODAY


def test_a_seed_holds_the_majority_when_the_best_has_more_than_half_of_day_14_or_of_its_last_day():
    # given a seed of 20 days whose best variant has half of day 14's traffic, and one of 10 days with 60% on day 10
    long = SeedResult(seed=0, first_day="2026-01-01", best_share_by_day=[0.9] * 13 + [0.5] + [0.9] * 6)
    short = SeedResult(seed=1, first_day="2026-01-01", best_share_by_day=[0.3] * 9 + [0.6])
    # then the first does not hold the majority on day 14 (exactly half is not most), the second does on its last day
    assert long.majority_day == MAJORITY_DAY and not long.best_holds_majority
    assert short.majority_day == 10 and short.best_holds_majority


def test_the_interval_covers_the_true_uplift_only_when_it_holds_it():
    # given 100 shown impressions whose served probabilities sum to 10 more than the organic ones
    seed = SeedResult(seed=0, first_day="2026-01-01", shown=100, true_uplift_sum=10.0)
    # then an interval around 0.1 covers it, one above it does not, and none measured does not
    seed.measured = {"interval": [0.05, 0.15]}
    assert seed.true_uplift == pytest.approx(0.1) and seed.interval_covers
    seed.measured = {"interval": [0.11, 0.2]}
    assert not seed.interval_covers
    seed.measured = {"interval": None}
    assert not seed.interval_covers


def _seed(seed: int, *, regret: float, uniform: float, majority: bool, covers: bool, checks: bool) -> SeedResult:
    s = SeedResult(seed=seed, first_day="2026-01-01", shown=100, true_uplift_sum=10.0)
    s.regret, s.uniform_regret = regret, uniform
    s.best_share_by_day = [0.9 if majority else 0.4] * 14
    s.measured = {"interval": [0.05, 0.15] if covers else [0.2, 0.3]}
    s.checks = {"shown_counted": checks}
    return s


def test_the_targets_need_nine_seeds_in_ten_and_the_regret_of_all_seeds_within_30_percent_of_uniform():
    # given ten seeds: one missing the majority, one whose interval misses, regret 25% of uniform overall
    seeds = [_seed(i, regret=25.0, uniform=100.0, majority=i != 3, covers=i != 7, checks=True) for i in range(10)]
    # when summarized
    results, targets, complete = summarize(seeds)
    # then every bar is met, with nine seeds each
    assert complete and all(t["ok"] for t in targets.values())
    assert results["seeds_best_holds_majority"] == 9 and results["seeds_interval_covers_true_uplift"] == 9
    assert results["regret_ratio"] == 0.25
    # and two seeds missing the majority, or regret at 31% of uniform, miss their bars
    seeds[4] = _seed(4, regret=25.0, uniform=100.0, majority=False, covers=True, checks=True)
    _, targets, _ = summarize(seeds)
    assert not targets["seeds_best_holds_majority_by_day_14"]["ok"]
    _, targets, _ = summarize([_seed(0, regret=31.0, uniform=100.0, majority=True, covers=True, checks=True)])
    assert not targets["regret_ratio_to_uniform"]["ok"]


def test_a_seed_whose_checks_failed_makes_the_run_incomplete():
    # given two seeds, the second counted differently by the nightly figures
    seeds = [_seed(i, regret=1.0, uniform=100.0, majority=True, covers=True, checks=i == 0) for i in range(2)]
    # then the run is not complete (the bench then reports every target as not met)
    _, _, complete = summarize(seeds)
    assert not complete


@pytest.mark.django_db
def test_the_population_is_served_mid_stake_and_the_variant_shown_is_read_from_its_text():
    from recommendations.services import recommendation_serve

    # given the bench's population of 20 players
    population_create(Config(players=20, days=1))
    texts = variant_by_text(BALANCE)
    # then every player is served MID_STAKE on their balance, in the default text or one of the two variants
    assert set(texts.values()) == set(VARIANT_TEXTS)
    seen = set()
    for pid in range(1, 21):
        served = recommendation_serve(player_id=pid, now=dt.datetime(2026, 11, 2, 3, tzinfo=dt.UTC))
        proposal = next(p for p in served.recommendation.proposals if p.type == MID_STAKE)
        assert proposal.reason == {"rule": "token_balance", "token_balance": BALANCE}
        seen.add(texts.get(proposal.message, DEFAULT))
    # and with every candidate at a fair start, more than one of them is shown to the 20
    assert len(seen) > 1


@pytest.mark.django_db
def test_a_seed_through_the_real_loop_learns_the_best_variant_and_the_nightly_figures_count_what_it_did(settings):
    # given 300 players, a fifth of them in the holdout, and a best variant far ahead in every group
    settings.RECOMMENDATION_HOLDOUT_SHARE = 0.2
    hidden = {group: {DEFAULT: 0.05, "sim-a": 0.6, "sim-b": 0.05} for group in HIDDEN}
    cfg = Config(players=300, days=4, visit_share=0.5, hidden=hidden, organic=0.02)
    population_create(cfg)
    # when one seed is simulated for 4 days
    result = seed_run(cfg, seed=0, today=TODAY)
    # then the nightly figures counted exactly the serves and rounds it made, shown and held out, none dropped
    assert result.shown > 0 and result.holdout > 0
    assert all(result.checks.values()), result.checks
    assert (result.measured["shown"], result.measured["shown_converted"]) == (result.shown, result.shown_converted)
    # and the bandit, uniform on the first day, serves the best variant to most on the last, below uniform's regret
    assert result.best_share_by_day[0] < 0.6 and result.best_share_by_day[-1] > 0.5
    assert result.regret < result.uniform_regret
    # and the measured uplift's interval is there, around a positive difference
    low, high = result.measured["interval"]
    assert low < result.measured["uplift"] < high and result.measured["uplift"] > 0
