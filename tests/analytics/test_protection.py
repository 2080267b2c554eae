"""Protection figures (issue 12 item 5; docs/metrics.md "Protection"): each equals an independent count over the raw
tables (``reference`` below: the ORM and Python's zoneinfo, not ``analytics.sql``) on data built to hit the edges:
23:59:59 and 00:00:00 business time, a player on New York's clock, a suppression flushed after the refresh that
counted its day, a push held and suppressed when sent days later, limits whose raise is due or waiting, a cool-off
ending at the very moment of the refresh. The state and the nightly markers are snapshots: the refresh takes today's,
and nothing recounts a past day's."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from analytics import selectors, services
from analytics.models import ProtectionDay
from notifications.models import Notification
from notifications.services import notification_send
from players.models import PlayerHarmMarker, PlayerProtection
from recommendations.impressions import SuppressionRow
from recommendations.models import RecommendationSuppression
from recommendations.services import impressions_record
from tests import factories
from tests.analytics.population import KST, kst

pytestmark = pytest.mark.django_db

NOW = kst(11, 20, 10)
TODAY = NOW.date()
FROM = dt.date(2026, 11, 1)

Figures = dict[tuple[str, str, str], tuple[int, int]]  # (date, figure, key) -> (players, events)


# --- building the raw rows -------------------------------------------------------------------------------------


def suppress(player: int, proposal_type: str, rule: str, signals: tuple[str, ...], at: dt.datetime) -> None:
    """A suppression as the impressions' buffer writes it (its flush, ``impressions_record``)."""
    impressions_record(rows=[SuppressionRow(player, proposal_type, rule, signals, at)])


def push(player: int, kind: str, status: str, reason: str, at: dt.datetime, **fields: Any) -> Notification:
    return Notification.objects.create(
        user_id=player,
        type="TEST",
        kind=kind,
        message="m",
        status=status,
        status_reason=reason,
        created_at=at,
        **fields,
    )


def build() -> dict[str, int]:
    ids = {name: factories.make_player(timezone=tz).id for name, tz in PLAYERS.items()}
    a, b, c, d = ids["a"], ids["new_york"], ids["excluded"], ids["d"]
    factories.make_actions(user_id=a, at=[kst(11, 1)], action_type="SESSION_START")  # the rollups start 11-01
    # Proposals held back either side of midnight, by a live signal with a nightly marker beside it.
    suppress(a, "HIGH_STAKE", "live_harm_signals", ("LIVE_LOSS_CHASING", "LOSS_CHASING"), kst(11, 19, 23, 59, 59))
    suppress(a, "RISKY_PLAY", "live_harm_signals", ("LIVE_LOSS_CHASING", "LOSS_CHASING"), kst(11, 19, 23, 59, 59))
    suppress(a, "HIGH_STAKE", "live_harm_signals", ("LIVE_LATE_NIGHT", "LIVE_LOSS_CHASING"), kst(11, 20, 0, 0, 0))
    # A player on New York's clock: 11-19 10:00 in Seoul is 11-18 20:00 in New York; the business day counts.
    suppress(b, "HIGH_STAKE", "harm_markers", ("SPEND_SPIKE",), kst(11, 19, 10))
    suppress(b, "MID_STAKE", "spend_limit_reached", (), kst(11, 20, 9))
    # One player held back twice on one day (one player, two proposals).
    suppress(c, "CORPORATE_ENGAGE", "self_exclusion", (), kst(11, 20, 8))
    suppress(c, "CORPORATE_ENGAGE", "self_exclusion", (), kst(11, 20, 8, 5))
    suppress(d, "HIGH_STAKE", "live_harm_signals", ("LIVE_SPEND_VELOCITY",), kst(11, 18, 12))
    # Pushes suppressed either side of midnight, each kind; and pushes that do not count.
    push(a, "marketing", "suppressed", "harm_marker", kst(11, 19, 23, 59, 59))
    push(a, "marketing", "suppressed", "live_harm_signal", kst(11, 20, 0, 0, 0))
    push(c, "marketing", "suppressed", "self_excluded", kst(11, 20, 8))
    push(c, "transactional", "suppressed", "self_excluded", kst(11, 20, 8, 1))
    push(b, "marketing", "suppressed", "frequency_cap", kst(11, 20, 9))
    push(b, "marketing", "sent", "", kst(11, 20, 9, 30))
    push(d, "marketing", "failed", "", kst(11, 19, 9))
    # A marketing push held by quiet hours from 11-19 23:00, and one a lost task left pending since 11-16: both are
    # suppressed when sent, after the first refresh (``add_late``).
    ids["held"] = push(c, "marketing", "pending", "quiet_hours", kst(11, 19, 23), send_after=kst(11, 20, 8)).id
    ids["lost"] = push(c, "marketing", "pending", "", kst(11, 16, 9)).id
    # The protection state at NOW.
    hour = dt.timedelta(hours=1)
    PlayerProtection.objects.create(player_id=a, daily_spend_limit=100)
    # A weekly limit whose removal fell due a second ago: no limit (as the next read of it would apply).
    PlayerProtection.objects.create(
        player_id=b, weekly_spend_limit=500, pending_weekly_effective_at=NOW - dt.timedelta(seconds=1)
    )
    # A daily limit whose raise waits an hour: a limit, and a raise pending.
    PlayerProtection.objects.create(
        player_id=d, daily_spend_limit=100, pending_daily_spend_limit=200, pending_daily_effective_at=NOW + hour
    )
    # A cool-off ending at the very moment of the refresh (over), an exclusion that ended (over).
    PlayerProtection.objects.create(
        player_id=ids["ended"], cool_off_until=NOW, self_excluded_until=NOW - dt.timedelta(days=1)
    )
    # A cool-off ending a second after it (in force), and a daily limit set by a tightening due exactly now.
    PlayerProtection.objects.create(
        player_id=ids["cooling"],
        cool_off_until=NOW + dt.timedelta(seconds=1),
        pending_daily_spend_limit=50,
        pending_daily_effective_at=NOW,
        weekly_spend_limit=700,
    )
    PlayerProtection.objects.create(player_id=c, self_excluded_until=NOW + dt.timedelta(days=200))
    # Nightly markers in force: the batch's (two for one player) and a self-reported one.
    for player, marker in ((a, "LOSS_CHASING"), (b, "SPEND_SPIKE"), (b, "LATE_NIGHT_SESSIONS")):
        PlayerHarmMarker.objects.create(user_id=player, marker=marker, detected_at=kst(11, 18, 3, 30), as_of=NOW)
    PlayerHarmMarker.objects.create(user_id=d, marker="SELF_REPORTED_CHASING", detected_at=kst(11, 2), as_of=kst(11, 2))
    return ids


PLAYERS = {
    "a": "Asia/Seoul",
    "new_york": "America/New_York",
    "excluded": "Asia/Seoul",
    "d": "Europe/London",
    "ended": "Asia/Seoul",
    "cooling": "Asia/Seoul",
    "late": "Asia/Seoul",
}


def add_late(ids: dict[str, int]) -> None:
    """After the first refresh: a suppression served at 23:59:59 the day before, flushed only now; the held push and
    the lost one, suppressed when sent (the player is self-excluded)."""
    suppress(ids["late"], "RISKY_PLAY", "live_harm_signals", ("LIVE_LONG_SESSION",), kst(11, 19, 23, 59, 59))
    for name in ("held", "lost"):
        assert notification_send(notification_id=ids[name], now=NOW + dt.timedelta(minutes=1)) == "suppressed"


# --- the reference: the ORM and Python, apart from analytics.sql --------------------------------------------------


def reference(now: dt.datetime) -> tuple[Figures, Figures]:
    """(what protection removed, per day; the snapshot at ``now``) straight from the raw tables."""
    players: dict[tuple[str, str, str], set[int]] = defaultdict(set)
    events: dict[tuple[str, str, str], int] = defaultdict(int)

    def add(day: dt.date, figure: str, key: str, player: int) -> None:
        players[(day.isoformat(), figure, key)].add(player)
        events[(day.isoformat(), figure, key)] += 1

    for s in RecommendationSuppression.objects.all():
        day = s.served_at.astimezone(KST).date()
        add(day, "proposals", "", s.user_id)
        add(day, "proposals_by_type", s.proposal_type, s.user_id)
        add(day, "proposals_by_rule", s.rule, s.user_id)
        if s.rule == "live_harm_signals":
            for signal in s.signals:
                if signal.startswith("LIVE_"):
                    add(day, "live_signal", signal, s.user_id)
    for n in Notification.objects.filter(status="suppressed"):
        day = n.created_at.astimezone(KST).date()
        add(day, "pushes", "", n.user_id)
        add(day, "pushes_by_reason", f"{n.kind}:{n.status_reason}", n.user_id)
    counted = {k: (len(players[k]), events[k]) for k in players}

    state = dict.fromkeys(ProtectionDay.STATE_KEYS, 0)
    for p in PlayerProtection.objects.all():
        p.apply_due(now)  # the model's own rule for a raise or removal that fell due (not saved)
        state["daily_spend_limit"] += p.daily_spend_limit is not None
        state["weekly_spend_limit"] += p.weekly_spend_limit is not None
        state["cool_off"] += p.is_cooling_off(now)
        state["self_exclusion"] += p.is_self_excluded(now)
    state["limit_raise_pending"] = sum(
        1
        for p in PlayerProtection.objects.all()
        if any(at is not None and at > now for at in (p.pending_daily_effective_at, p.pending_weekly_effective_at))
    )
    today = now.astimezone(KST).date().isoformat()
    snapshot: Figures = {(today, "state", key): (n, n) for key, n in state.items()}
    markers: dict[str, set[int]] = defaultdict(set)
    for m in PlayerHarmMarker.objects.all():
        markers[m.marker].add(m.user_id)
    snapshot.update({(today, "nightly_marker", key): (len(v), len(v)) for key, v in markers.items()})
    return counted, snapshot


# --- what the API's selector answers, in the same shape ----------------------------------------------------------


def answered(d0: dt.date = FROM, d1: dt.date = TODAY) -> tuple[Figures, Figures]:
    counted: Figures = {}
    snapshots: Figures = {}
    for row in selectors.protection_figures(d0=d0, d1=d1):
        day = row["date"]
        held = row["proposals_suppressed"]
        pushes = row["pushes_suppressed"]
        if held["proposals"]:
            counted[(day, "proposals", "")] = (held["players"], held["proposals"])
        for figure in ("by_type", "by_rule"):
            for key, v in held[figure].items():
                counted[(day, f"proposals_{figure}", key)] = (v["players"], v["proposals"])
        for key, v in row["live_signals"].items():
            counted[(day, "live_signal", key)] = (v["players"], v["proposals"])
        if pushes["pushes"]:
            counted[(day, "pushes", "")] = (pushes["players"], pushes["pushes"])
        for v in pushes["by_reason"]:
            counted[(day, "pushes_by_reason", f"{v['kind']}:{v['reason']}")] = (v["players"], v["pushes"])
        for key, n in (row["players"] or {}).items():
            snapshots[(day, "state", key)] = (n, n)
        for key, n in (row["nightly_markers"] or {}).items():
            snapshots[(day, "nightly_marker", key)] = (n, n)
    return counted, snapshots


# --- the tests -------------------------------------------------------------------------------------------------


def test_every_protection_figure_equals_the_raw_tables_before_and_after_late_rows_and_a_rebuild():
    # given the edges, rolled up at NOW
    ids = build()
    services.analytics_refresh(now=NOW)
    # then what protection removed, per day, and today's snapshot equal the reference
    counted, snapshot = answered()
    assert (counted, snapshot) == reference(NOW)
    # and the edges came out as built: 23:59:59 and 00:00:00 are two days; New York's 20:00 is Seoul's next day
    assert counted[("2026-11-19", "live_signal", "LIVE_LOSS_CHASING")] == (1, 2)
    assert counted[("2026-11-20", "live_signal", "LIVE_LOSS_CHASING")] == (1, 1)
    assert counted[("2026-11-20", "live_signal", "LIVE_LATE_NIGHT")] == (1, 1)
    assert ("2026-11-19", "live_signal", "LOSS_CHASING") not in counted  # a nightly marker is not a live signal
    assert counted[("2026-11-19", "proposals_by_rule", "harm_markers")] == (1, 1)
    assert counted[("2026-11-20", "proposals_by_type", "CORPORATE_ENGAGE")] == (1, 2)
    assert counted[("2026-11-19", "pushes_by_reason", "marketing:harm_marker")] == (1, 1)
    assert counted[("2026-11-20", "pushes", "")] == (3, 4)
    assert snapshot[("2026-11-20", "state", "daily_spend_limit")] == (3, 3)  # a, d, and the tightening due now
    assert snapshot[("2026-11-20", "state", "weekly_spend_limit")] == (1, 1)  # not the one whose removal is due
    assert snapshot[("2026-11-20", "state", "cool_off")] == (1, 1)  # not the one ending at NOW
    assert snapshot[("2026-11-20", "state", "limit_raise_pending")] == (1, 1)
    assert snapshot[("2026-11-20", "nightly_marker", "SELF_REPORTED_CHASING")] == (1, 1)

    # when a suppression of 23:59:59 yesterday is flushed late, the held and the lost pushes are suppressed when sent,
    # and the refresh runs again five minutes later
    add_late(ids)
    services.analytics_refresh(now=NOW + dt.timedelta(minutes=5))
    # then every figure still equals the reference: yesterday's late suppression, yesterday's held push, and the
    # push created on 11-16 (four days back: the day of the oldest push pending at the last refresh) are counted
    counted, snapshot = answered()
    assert (counted, snapshot) == reference(NOW + dt.timedelta(minutes=5))
    assert counted[("2026-11-19", "live_signal", "LIVE_LONG_SESSION")] == (1, 1)
    assert counted[("2026-11-19", "pushes_by_reason", "marketing:self_excluded")] == (1, 1)
    assert counted[("2026-11-16", "pushes", "")] == (1, 1)
    incremental = rows()

    # when the range is rebuilt by the command
    call_command("rollup_analytics", "--from", FROM.isoformat(), "--to", TODAY.isoformat(), stdout=StringIO())
    # then the rows are the same (today's snapshot was left as the refresh took it)
    assert rows() == incremental


def rows() -> list[tuple[Any, ...]]:
    return sorted(ProtectionDay.objects.values_list("day", "figure", "key", "players", "events"))


def test_a_refresh_recounts_from_the_last_refresh_day_and_a_suppression_more_days_late_waits_for_the_nightly_run():
    # given a rolled-up day with nothing held back
    uid = factories.make_player().id
    factories.make_actions(user_id=uid, at=[kst(11, 1)], action_type="SESSION_START")
    services.analytics_refresh(now=NOW)
    # when a suppression of 11-15 (five days back) is written and the 5-minute refresh runs
    suppress(uid, "HIGH_STAKE", "cool_off", (), kst(11, 15, 12))
    services.analytics_refresh(now=NOW + dt.timedelta(minutes=5))
    # then it is not counted yet (the 5-minute refresh recounts today and yesterday)
    assert not ProtectionDay.objects.filter(day=dt.date(2026, 11, 15)).exists()
    # when the nightly refresh runs (the last week)
    services.analytics_refresh(now=NOW + dt.timedelta(minutes=10), nightly=True)
    # then it is
    assert ProtectionDay.objects.get(day=dt.date(2026, 11, 15), figure="proposals").events == 1


def test_a_refresh_after_days_without_one_counts_every_day_since_the_last():
    # given a refresh on 11-16, and suppressions on 11-16 (after it), 11-17 and 11-18
    uid = factories.make_player().id
    factories.make_actions(user_id=uid, at=[kst(11, 1)], action_type="SESSION_START")
    services.analytics_refresh(now=kst(11, 16, 10))
    for day in (16, 17, 18):
        suppress(uid, "HIGH_STAKE", "cool_off", (), kst(11, day, 11 if day == 16 else 12))
    # when the next refresh runs only on 11-20
    services.analytics_refresh(now=NOW)
    # then each of those days is counted
    counted = ProtectionDay.objects.filter(figure="proposals").values_list("day", "events")
    assert sorted(counted) == [(dt.date(2026, 11, d), 1) for d in (16, 17, 18)]


def test_a_past_days_snapshot_keeps_what_its_last_refresh_took_and_a_rebuild_leaves_it():
    # given a player in a cool-off until 11-21 12:00, and refreshes at 10:00 and 23:55 on 11-20
    uid = factories.make_player().id
    factories.make_actions(user_id=uid, at=[kst(11, 1)], action_type="SESSION_START")
    services.analytics_refresh(now=NOW)
    PlayerProtection.objects.create(player_id=uid, cool_off_until=kst(11, 21, 12))
    services.analytics_refresh(now=kst(11, 20, 23, 55))
    # when the refresh runs on 11-22, after the cool-off ended, and then 11-20 is rebuilt
    services.analytics_refresh(now=kst(11, 22, 10))
    call_command("rollup_analytics", "--from", "2026-11-20", "--to", "2026-11-20", stdout=StringIO())
    # then 11-20 shows the cool-off as the day's last refresh saw it, 11-22 none, and 11-21 (no refresh) is null
    days = {d["date"]: d for d in selectors.protection_figures(d0=TODAY, d1=dt.date(2026, 11, 22))}
    assert days["2026-11-20"]["players"]["cool_off"] == 1
    assert dt.datetime.fromisoformat(days["2026-11-20"]["snapshot_at"]) == kst(11, 20, 23, 55)
    assert days["2026-11-22"]["players"]["cool_off"] == 0
    assert days["2026-11-21"]["players"] is None and days["2026-11-21"]["nightly_markers"] is None
    assert days["2026-11-21"]["proposals_suppressed"] == {"players": 0, "proposals": 0, "by_type": {}, "by_rule": {}}


def test_the_protection_answer_has_the_documented_shape(service_client):
    # given the edges rolled up at NOW
    build()
    services.analytics_refresh(now=NOW)
    # when a service reads 11-19 and 11-20
    response = service_client.get("/api/analytics/protection", {"from": "2026-11-19", "to": "2026-11-20"})
    # then each day carries the snapshot (null where no refresh ran), the live signals, proposals and pushes
    assert response.status_code == 200
    days = response.json()["days"]
    assert [d["date"] for d in days] == ["2026-11-19", "2026-11-20"]
    yesterday, today = days
    assert yesterday["players"] is None and yesterday["nightly_markers"] is None and yesterday["snapshot_at"] is None
    assert today["players"] == {
        "daily_spend_limit": 3,
        "weekly_spend_limit": 1,
        "cool_off": 1,
        "self_exclusion": 1,
        "limit_raise_pending": 1,
    }
    assert today["nightly_markers"] == {
        "LOSS_CHASING": 1,
        "SPEND_SPIKE": 1,
        "LATE_NIGHT_SESSIONS": 1,
        "SELF_REPORTED_CHASING": 1,
    }
    assert yesterday["live_signals"] == {"LIVE_LOSS_CHASING": {"players": 1, "proposals": 2}}
    assert yesterday["proposals_suppressed"]["by_rule"] == {
        "live_harm_signals": {"players": 1, "proposals": 2},
        "harm_markers": {"players": 1, "proposals": 1},
    }
    assert (yesterday["proposals_suppressed"]["players"], yesterday["proposals_suppressed"]["proposals"]) == (2, 3)
    assert {"kind": "transactional", "reason": "self_excluded", "players": 1, "pushes": 1} in today[
        "pushes_suppressed"
    ]["by_reason"]


def test_the_dashboards_protection_panel_and_its_csv_hold_the_apis_figures(service_client):
    # given the edges rolled up at NOW, and a staff session
    build()
    services.analytics_refresh(now=NOW)
    staff = Client()
    staff.force_login(factories.make_staff_user())
    query = {"from": "2026-11-19", "to": "2026-11-20"}
    days = service_client.get("/api/analytics/protection", query).json()["days"]
    # when staff open the dashboard for those days, and download the protection panel
    page = staff.get("/admin/dashboard/", query).content.decode()
    response = staff.get("/admin/dashboard/protection.csv", query)
    # then the page has the panel, and each CSV row is the API's day, value for value (empty where no snapshot)
    assert 'id="panel-protection"' in page
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["date"] for r in rows] == [d["date"] for d in days]
    for row, day in zip(rows, days, strict=True):
        state, markers = day["players"], day["nightly_markers"]
        for key in ("daily_spend_limit", "weekly_spend_limit", "cool_off", "self_exclusion", "limit_raise_pending"):
            assert row[key] == ("" if state is None else str(state[key])), (day["date"], key)
        for marker in PlayerHarmMarker.Marker.values:
            assert row[f"marker:{marker}"] == ("" if markers is None else str(markers.get(marker, 0)))
        for signal, figures in day["live_signals"].items():
            assert row[f"live:{signal}"] == str(figures["players"])
        assert int(row["proposals_held_back"]) == day["proposals_suppressed"]["proposals"]
        assert int(row["players_held_back"]) == day["proposals_suppressed"]["players"]
        assert int(row["pushes_suppressed"]) == day["pushes_suppressed"]["pushes"]
        assert int(row["players_not_pushed"]) == day["pushes_suppressed"]["players"]
    # and the days hold figures of each kind (the test shows something)
    assert rows[0]["live:LIVE_LOSS_CHASING"] == "1" and rows[1]["cool_off"] == "1"
