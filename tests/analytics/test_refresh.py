"""The refresh (every few minutes, and nightly after the RFM run) and the rebuild command: what each recomputes."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from analytics import selectors, services
from analytics.models import Day, PlayerDay, RollupState
from analytics.tasks import rollup_nightly, rollup_refresh
from tests import factories
from tests.analytics.population import kst

pytestmark = pytest.mark.django_db

NOW = kst(11, 20, 10)


def test_a_refresh_with_nothing_new_recomputes_no_day_of_the_log():
    # given a rolled-up log
    uid = factories.make_player().id
    factories.make_actions(user_id=uid, at=[kst(11, 18), kst(11, 19)], action_type="SESSION_START")
    first = services.analytics_refresh(now=NOW)
    assert first.days_rolled == 2
    # when the refresh runs again with nothing logged since
    again = services.analytics_refresh(now=NOW + dt.timedelta(minutes=5))
    # then no day of the log was recomputed, and only today's figures were
    assert again.days_rolled == 0 and again.dirty == []
    assert again.figures_to == dt.date(2026, 11, 20)


def test_the_next_day_gets_its_figures_without_a_new_action():
    # given a refresh on 11-20
    uid = factories.make_player().id
    factories.make_actions(user_id=uid, at=[kst(11, 20, 9)], action_type="SESSION_START")
    services.analytics_refresh(now=NOW)
    # when the refresh runs on 11-22 with nothing new
    services.analytics_refresh(now=NOW + dt.timedelta(days=2))
    # then 11-21 and 11-22 have figures: the player is still in WAU and MAU, not in DAU
    days = {d["date"]: d for d in selectors.daily_figures(d0=dt.date(2026, 11, 20), d1=dt.date(2026, 11, 22))}
    assert sorted(days) == ["2026-11-20", "2026-11-21", "2026-11-22"]
    assert (days["2026-11-22"]["dau"], days["2026-11-22"]["wau"], days["2026-11-22"]["mau"]) == (0, 1, 1)


def test_the_refresh_is_set_based_its_statements_do_not_grow_with_players():
    # given two logs, one with ten times the players of the other, rolled up in turn
    def statements(players: int) -> int:
        RollupState.objects.all().delete()
        for _ in range(players):
            uid = factories.make_player().id
            factories.make_actions(user_id=uid, at=[kst(11, 19), kst(11, 20, 8)], action_type="SESSION_START")
        with CaptureQueriesContext(connection) as queries:
            services.analytics_refresh(now=NOW)
        return len(queries)

    # when each is refreshed
    few, many = statements(3), statements(30)
    # then the second took no more statements than the first
    assert many <= few


@override_settings(BUSINESS_TIMEZONE="UTC")
def test_a_change_of_business_timezone_starts_afresh():
    # given figures rolled up on Seoul's calendar
    uid = factories.make_player().id
    factories.make_actions(user_id=uid, at=[kst(11, 20, 8)], action_type="SESSION_START")  # 11-19 23:00 UTC
    with override_settings(BUSINESS_TIMEZONE="Asia/Seoul"):
        services.analytics_refresh(now=NOW)
        assert PlayerDay.objects.get().day == dt.date(2026, 11, 20)
    # when the refresh runs with the business timezone set to UTC
    services.analytics_refresh(now=NOW)
    # then the days are UTC days, every one recomputed
    assert PlayerDay.objects.get().day == dt.date(2026, 11, 19)
    assert RollupState.objects.get().business_timezone == "UTC"


def test_the_tasks_run_the_refresh():
    # given one action today
    uid = factories.make_player().id
    factories.make_actions(user_id=uid, at=[dt.datetime.now(dt.UTC)], action_type="SESSION_START")
    # when the periodic and the nightly task run
    refresh, nightly = rollup_refresh.run(), rollup_nightly.run()
    # then the first folded the action in, the second found nothing new
    assert refresh["days_rolled"] == 1 and nightly["days_rolled"] == 0
    assert Day.objects.filter(dau=1).count() == 1


def test_the_command_rebuilds_a_range_with_a_progress_bar():
    # given actions on two days and no rollup yet
    uid = factories.make_player().id
    factories.make_actions(user_id=uid, at=[kst(11, 2), kst(11, 9)], action_type="SESSION_START")
    out, err = StringIO(), StringIO()
    # when the command rebuilds 11-01..11-10 in chunks of 3 days
    call_command(
        "rollup_analytics", "--from", "2026-11-01", "--to", "2026-11-10", "--chunk-days", "3", stdout=out, stderr=err
    )
    # then it reports the ten days, and the figures of the range are there
    assert "days rolled up 10 (2026-11-01..2026-11-10)" in out.getvalue()
    assert PlayerDay.objects.count() == 2
    assert Day.objects.get(day=dt.date(2026, 11, 9)).wau == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-11-10", "--to", "2026-11-01"], "--to must be on or after --from"),
        (["--from", "11/01/2026"], "--from"),
        (["--from", "2026-11-01", "--to", "soon"], "--to"),
        (["--from", "2026-11-01", "--chunk-days", "0"], "--chunk-days"),
    ],
)
def test_the_command_refuses_bad_arguments(args, message):
    # given bad arguments
    # when the command runs
    # then it stops with an error naming the argument, having written nothing
    with pytest.raises(CommandError, match=message):
        call_command("rollup_analytics", *args, stdout=StringIO(), stderr=StringIO())
    assert not Day.objects.exists()


def test_a_finished_rfm_run_is_folded_in_even_when_the_history_ids_passed_it():
    # given a rolled-up log, whose history watermark has passed ids a run's ranges (on workers) had not committed yet
    from segments import services as segment_services

    uid = factories.make_player().id
    factories.make_actions(user_id=uid, at=[kst(11, 18)], action_type="SESSION_START")
    services.analytics_refresh(now=NOW)
    RollupState.objects.filter(id=1).update(history_watermark=10**12)
    # when the RFM run for 11-20 finishes and the refresh runs
    segment_services.segment_batch_run(as_of=dt.date(2026, 11, 20), pay_rewards=False, trigger="test")
    services.analytics_refresh(now=NOW + dt.timedelta(minutes=5))
    # then the run's groups are in the mix and the transitions of its date, and its coverage was taken
    today = selectors.rfm_figures(d0=dt.date(2026, 11, 20), d1=dt.date(2026, 11, 20))[0]
    assert today["mix"]["Low"] >= 1
    assert {"from": None, "to": "Low", "players": today["mix"]["Low"]} in today["transitions"]
    assert today["coverage"]["low_at_risk"] >= 1


def test_a_late_spend_moves_the_loop_of_the_week_before_and_nothing_else():
    # given a Company A earn on 11-10 with no spend yet, rolled up on 11-20
    uid = factories.make_player().id
    factories.make_actions(user_id=uid, at=[kst(11, 9)], action_type="SESSION_START")
    factories.make_actions(
        user_id=uid, at=[kst(11, 10, 10)], action_type="EARN_CYBER_TOKENS", earned_tokens=300, source="corporate"
    )
    services.analytics_refresh(now=NOW)
    assert Day.objects.get(day=dt.date(2026, 11, 10)).corporate_earners_spent_7d == 0
    # when a spend of 11-17 (day 7) is logged late
    factories.make_actions(
        user_id=uid, at=[kst(11, 17, 9)], action_type="SPEND_CYBER_TOKENS", spent_tokens=10, game="SlotMachine"
    )
    report = services.analytics_refresh(now=NOW + dt.timedelta(minutes=5))
    # then only 11-17 was recomputed from the log, the loop of 11-10 counts the spend, and every figure is what a
    # refresh from nothing finds
    assert report.dirty == ["2026-11-17..2026-11-17"]
    assert Day.objects.get(day=dt.date(2026, 11, 10)).corporate_earners_spent_7d == 1
    incremental = sorted(Day.objects.values_list(*[f.name for f in Day._meta.fields if f.name != "computed_at"]))
    RollupState.objects.all().delete()
    Day.objects.all().delete()
    services.analytics_refresh(now=NOW + dt.timedelta(minutes=5))
    full = sorted(Day.objects.values_list(*[f.name for f in Day._meta.fields if f.name != "computed_at"]))
    assert incremental == full


def test_a_player_back_after_a_month_moves_the_retention_of_their_cohort_and_the_month_churn():
    # given a player active on 10-01 only, rolled up on 10-05
    uid = factories.make_player().id
    factories.make_actions(user_id=uid, at=[kst(10, 1, 9)], action_type="SESSION_START")
    services.analytics_refresh(now=kst(10, 5, 10))
    october = selectors.retention_cohorts(d0=dt.date(2026, 10, 1), d1=dt.date(2026, 10, 1))[0]
    assert (october["size"], october["retained_on_or_after"]["1"]) == (1, 0)
    # and on 11-02 with nothing new: November has begun without them
    services.analytics_refresh(now=kst(11, 2, 10))
    november = selectors.churn_figures(d0=dt.date(2026, 11, 1), d1=dt.date(2026, 11, 2))["months"][0]
    assert (november["active_previous_month"], november["churned"]) == (1, 1)
    # when they come back on 11-20, forty-nine days later, and the refresh runs
    factories.make_actions(user_id=uid, at=[kst(11, 20, 9)], action_type="SESSION_START")
    report = services.analytics_refresh(now=NOW)
    # then the October cohort, whose days saw nothing new, counts them as still around after day 30 (not on day 30),
    # and November's churn no longer counts them as churned from October
    october = selectors.retention_cohorts(d0=dt.date(2026, 10, 1), d1=dt.date(2026, 10, 1))[0]
    assert october["retained_on_or_after"] == {"1": 1, "7": 1, "14": 1, "30": 1}
    assert october["retained"] == {"1": 0, "7": 0, "14": 0, "30": 0}
    assert report.cohorts == 1 and report.months == ["2026-11"]
    november = selectors.churn_figures(d0=dt.date(2026, 11, 1), d1=dt.date(2026, 11, 20))["months"][0]
    assert (november["active_previous_month"], november["churned"]) == (1, 0)


def test_the_first_refresh_after_the_cohorts_were_added_counts_every_cohort_and_month():
    # given a log rolled up before migration 0005: spans without their day flags, no cohort and no month
    from analytics.models import Cohort, MonthChurn, PlayerSpan

    for k in range(3):
        uid = factories.make_player().id
        factories.make_actions(user_id=uid, at=[kst(10, 1 + k, 9), kst(10, 2 + k, 9), kst(11, 1 + k, 9)])
    services.analytics_refresh(now=kst(11, 5, 10))
    expected = selectors.retention_cohorts(d0=dt.date(2026, 10, 1), d1=dt.date(2026, 10, 3))
    expected_months = selectors.churn_figures(d0=dt.date(2026, 10, 1), d1=dt.date(2026, 11, 5))["months"]
    Cohort.objects.all().delete()
    MonthChurn.objects.all().delete()
    PlayerSpan.objects.update(active_day_1=0, active_day_7=0, active_day_14=0, active_day_30=0)
    # when the refresh runs with nothing new
    report = services.analytics_refresh(now=kst(11, 5, 10, 5))
    # then every cohort and month has its figures again
    assert report.cohorts == 3 and report.months == ["2026-10", "2026-11"]
    assert selectors.retention_cohorts(d0=dt.date(2026, 10, 1), d1=dt.date(2026, 10, 3)) == expected
    assert [c["retained"]["1"] for c in expected] == [1, 1, 1]
    assert selectors.churn_figures(d0=dt.date(2026, 10, 1), d1=dt.date(2026, 11, 5))["months"] == expected_months


def _rows() -> dict[str, list[tuple]]:
    from analytics.models import HourCell, PlayerSpan, TokenFlow

    out = {}
    for model in (PlayerDay, PlayerSpan, Day, TokenFlow, HourCell):
        fields = [f.name for f in model._meta.fields if f.name not in ("id", "computed_at")]
        out[model._meta.db_table] = sorted(model.objects.values_list(*fields))
    return out


def test_a_rebuild_between_refreshes_neither_loses_nor_doubles_an_action():
    # given a rolled-up log
    uid = factories.make_player().id
    factories.make_actions(user_id=uid, at=[kst(11, 2), kst(11, 9)], action_type="SESSION_START")
    factories.make_actions(
        user_id=uid, at=[kst(11, 2, 13)], action_type="SPEND_CYBER_TOKENS", spent_tokens=30, game="SlotMachine"
    )
    services.analytics_refresh(now=NOW)
    # and actions logged since, inside and outside the range about to be rebuilt
    factories.make_actions(user_id=uid, at=[kst(11, 3), kst(11, 15)], action_type="SESSION_START")
    factories.make_actions(
        user_id=uid, at=[kst(11, 15, 13)], action_type="SPEND_CYBER_TOKENS", spent_tokens=5, game="SlotMachine"
    )
    # when 11-01..11-05 is rebuilt, and then the refresh runs
    call_command("rollup_analytics", "--from", "2026-11-01", "--to", "2026-11-05", stdout=StringIO(), stderr=StringIO())
    assert PlayerDay.objects.filter(day=dt.date(2026, 11, 15)).exists()  # merged by the rebuild's catch-up
    report = services.analytics_refresh(now=NOW + dt.timedelta(minutes=5))
    # then the refresh found nothing new, and the rows are what a refresh from nothing computes
    assert report.days_rolled == 0
    rebuilt = _rows()
    RollupState.objects.all().delete()
    services.analytics_refresh(now=NOW + dt.timedelta(minutes=5))
    assert _rows() == rebuilt
    assert Day.objects.get(day=dt.date(2026, 11, 15)).spent_games == 5


def test_the_windows_counted_over_a_range_equal_those_counted_a_day_at_a_time():
    # given players active on scattered days over seven weeks, some paying, rolled up
    import random

    rng = random.Random(5)
    for _ in range(12):
        uid = factories.make_player().id
        days = sorted(rng.sample(range(50), rng.randint(1, 12)))
        factories.make_actions(user_id=uid, at=[kst(10, 1) + dt.timedelta(days=n) for n in days])
        if rng.random() < 0.4:
            factories.make_actions(
                user_id=uid,
                at=[kst(10, 1, 15) + dt.timedelta(days=days[-1])],
                action_type="PURCHASE_CYBER_TOKENS",
                tokens=100,
                amount_paid=1.0,
                currency="KRW",
                payment_id=f"p-{uid}",
            )
    services.analytics_refresh(now=NOW)
    fields = ["day", "dau", "wau", "active_14d", "mau", "paying_players_30d"]
    # when the figures are computed over the whole range at once and a day at a time (each range its own edges)
    services.rollup_figures_range(d0=dt.date(2026, 10, 1), d1=dt.date(2026, 11, 20))
    at_once = list(Day.objects.order_by("day").values_list(*fields))
    day = dt.date(2026, 10, 1)
    while day <= dt.date(2026, 11, 20):
        services.rollup_figures_range(d0=day, d1=day)
        day += dt.timedelta(days=1)
    one_by_one = list(Day.objects.order_by("day").values_list(*fields))
    # then both give the same counts, and they are not all zero
    assert at_once == one_by_one
    assert max(row[4] for row in at_once) > 1 and max(row[5] for row in at_once) >= 1
