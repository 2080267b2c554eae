"""The nightly play-hour rollup (``recommendations.services.play_hours_rollup``): rounds by the player's local hour,
set-based, rerunnable, and the population's peak hour the usage window falls back to."""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from activity.models import UserAction
from config.schedule import BEAT_SCHEDULE
from recommendations.models import PlayerPlayHours, PopulationPlayHours
from recommendations.selectors import recommendation_context
from recommendations.services import play_hours_rollup
from recommendations.tasks import rollup_play_hours
from tests.recommendations import helpers as h

pytestmark = pytest.mark.django_db

SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
AS_OF = dt.datetime(2026, 11, 20, 3, 45, tzinfo=SEOUL)
DAY = dt.timedelta(days=1)
_seq = itertools.count(1)


def actions(user_id: int, times: list[dt.datetime], action_type: str = "GAME_PLAY") -> None:
    meta = {"game": "SlotMachine", "bet": 10, "payout": 0, "result": "loss"} if action_type == "GAME_PLAY" else {}
    UserAction.objects.bulk_create(
        [
            UserAction(
                event_id=f"ph-{next(_seq)}",
                user_id=user_id,
                action_type=action_type,
                metadata=meta,
                action_timestamp=at,
            )
            for at in times
        ]
    )


def hours_of(user_id: int) -> list[int]:
    return PlayerPlayHours.objects.get(user_id=user_id).hours


def test_rounds_are_counted_by_the_players_own_hour():
    # given a Seoul player with 3 rounds at 21:xx Seoul and a failed game at 08:xx, and a New York player whose
    # 2 rounds happen at the same instants as two of the first player's (21:xx Seoul = 07:xx New York)
    h.player(1, timezone="Asia/Seoul")
    h.player(2, timezone="America/New_York")
    evening = dt.datetime(2026, 11, 18, 21, 5, tzinfo=SEOUL)
    actions(1, [evening, evening + dt.timedelta(minutes=20), evening - DAY])
    actions(1, [dt.datetime(2026, 11, 19, 8, 30, tzinfo=SEOUL)], action_type="FAIL_GAME")
    actions(2, [evening, evening - DAY])
    # when the rollup runs
    report = play_hours_rollup(as_of=AS_OF)
    # then each player's rounds sit at their own local hour
    assert hours_of(1)[21] == 3 and hours_of(1)[8] == 1 and sum(hours_of(1)) == 4
    assert hours_of(2)[7] == 2 and sum(hours_of(2)) == 2
    assert PlayerPlayHours.objects.get(user_id=1).rounds == 4
    assert (report.players, report.with_rounds, report.rounds) == (2, 2, 6)


def test_only_rounds_of_the_30_days_before_count():
    # given rounds just inside and just outside the window, one after the run's time, and a non-round action
    h.player(1)
    actions(1, [AS_OF - 30 * DAY, AS_OF - 30 * DAY - dt.timedelta(seconds=1), AS_OF, AS_OF - dt.timedelta(hours=1)])
    actions(1, [AS_OF - DAY], action_type="SESSION_START")
    # when the rollup runs
    play_hours_rollup(as_of=AS_OF)
    # then the first (start of the window) and the one an hour before count; the others do not
    assert PlayerPlayHours.objects.get(user_id=1).rounds == 2


def test_the_population_peak_is_the_hour_most_players_play_at():
    # given one heavy player at 23:00 and three light players at 20:00 (Seoul)
    for pid in (1, 2, 3, 4):
        h.player(pid)
    actions(1, [dt.datetime(2026, 11, 18, 23, m, tzinfo=SEOUL) for m in range(40)])
    for pid in (2, 3, 4):
        actions(pid, [dt.datetime(2026, 11, 18, 20, 10, tzinfo=SEOUL)])
    # when the rollup runs
    report = play_hours_rollup(as_of=AS_OF)
    # then the peak is 20:00 (three players), not 23:00 (one player, more rounds)
    population = PopulationPlayHours.objects.get()
    assert population.peak_hour == report.peak_hour == 20
    assert (population.hours[20], population.hours[23], population.players, population.rounds) == (3, 1, 4, 43)


def test_with_no_rounds_at_all_the_peak_is_20():
    # given players without rounds
    h.player(1)
    # when the rollup runs
    play_hours_rollup(as_of=AS_OF)
    # then there is no player row and the population's peak is the default 20:00
    assert not PlayerPlayHours.objects.exists()
    assert PopulationPlayHours.objects.get().peak_hour == 20


def test_a_rerun_gives_the_same_rows_and_stale_rows_go():
    # given a rollup run, and a player whose rounds are older than the next run's window
    h.player(1)
    h.player(2)
    actions(1, [AS_OF - DAY])
    actions(2, [AS_OF - 29 * DAY])
    play_hours_rollup(as_of=AS_OF)
    first = sorted(PlayerPlayHours.objects.values_list("user_id", "hours", "rounds", "as_of"))
    # when it runs again for the same time, then two days later
    play_hours_rollup(as_of=AS_OF)
    again = sorted(PlayerPlayHours.objects.values_list("user_id", "hours", "rounds", "as_of"))
    later = play_hours_rollup(as_of=AS_OF + 2 * DAY)
    # then the rerun wrote the same rows, and the later run dropped the player with no round left
    assert again == first
    assert set(PlayerPlayHours.objects.values_list("user_id", flat=True)) == {1}
    assert later.cleared == 1


def test_the_rollup_is_set_based():
    # given 3 players with rounds, rolled up once while counting statements
    def run() -> int:
        with CaptureQueriesContext(connection) as queries:
            play_hours_rollup(as_of=AS_OF, chunk_size=1000)
        return len(queries.captured_queries)

    for pid in range(1, 4):
        h.player(pid)
        actions(pid, [AS_OF - DAY])
    few = run()
    # when 27 more players with rounds join and it runs again
    for pid in range(4, 31):
        h.player(pid)
        actions(pid, [AS_OF - DAY - dt.timedelta(minutes=pid)])
    many = run()
    # then it took the same number of statements (none per player) and rolled up all 30
    assert many == few
    assert PlayerPlayHours.objects.count() == 30


def test_the_context_reads_the_rollup():
    # given a player who plays at 22:00 Seoul, rolled up
    h.player(1)
    actions(1, [dt.datetime(2026, 11, 18, 22, 15, tzinfo=SEOUL), dt.datetime(2026, 11, 17, 22, 40, tzinfo=SEOUL)])
    play_hours_rollup(as_of=AS_OF)
    # when their context is gathered
    ctx = recommendation_context(player_id=1, now=AS_OF)
    # then the histogram is the rollup's
    assert ctx.play_hours[22] == 2 and sum(ctx.play_hours) == 2


def test_the_nightly_entry_task_and_command():
    # given the schedule, a player with a round
    h.player(1)
    actions(1, [dt.datetime.now(dt.UTC) - DAY])
    entry = BEAT_SCHEDULE["recommendations-play-hours"]
    # when the task runs, and the command with a time
    result = rollup_play_hours.run()
    out = StringIO()
    call_command("rollup_play_hours", "--as-of", (dt.datetime.now(SEOUL)).isoformat(), stdout=out, stderr=StringIO())
    # then it is a nightly entry of that task, and both filled the rollup
    assert entry["task"] == "recommendations.tasks.rollup_play_hours" and entry["nightly"] is True
    assert result["with_rounds"] == 1
    assert "with rounds 1" in out.getvalue()
    assert PlayerPlayHours.objects.get(user_id=1).rounds == 1
