"""Attribution (spec 2.5.2; docs/metrics.md "Conversions"): each action that fulfils a proposal
(``recommendations.conversions``) becomes one ``recommendation_conversions`` row pointing at one impression, the latest
one served to the same player at or before the action, within its type's window (both ends included), of a type the
action fulfils and, for a play or content proposal, of the same game or stage. Holdout impressions are eligible like
the others: that is how the holdout's "would have converted" is counted.

Incremental from a watermark on ``user_actions.id`` (insert order), so an action that arrives late (stamped earlier)
is attributed on the next run to the impression whose window held its time. The run reads up to activity's
``actions_watermark`` (every id below it committed: PostgreSQL hands ids out before commit). Impressions are written
behind the request (``recommendations.impressions``: up to a buffer's age after the serve), so a run takes only actions
stamped at least ``RECOMMENDATION_ATTRIBUTION_LAG_SECONDS`` before it: an impression such an action can follow was
served before then and is written. The watermark stops before the first action it left for later, and the actions after
that one it did take are taken again next run, adding nothing: a conversion is unique on its action (``ON CONFLICT
DO NOTHING``), which also makes a re-run, or a replayed action (one ``user_actions`` row: ingest dedupes on
``event_id``), add nothing.

Limit sets are not actions (``conversions.SPEND_LIMIT_SET``): they are read from ``player_protection``'s change time,
from a time watermark with the same lag.

One statement per range of action ids, set-based, on SQLite and PostgreSQL; on PostgreSQL two at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from activity.selectors import actions_watermark
from core.sql import Dialect
from recommendations import conversions as cv
from recommendations.models import AttributionState
from recommendations.parallel import jobs_run

WATERMARK_WAIT_SECONDS = 60.0  # how long to wait for the actions being written to commit (activity's watermark)
# The action types any event is made of (the rest are never read).
_ACTION_TYPES = ("GAME_PLAY", "FAIL_GAME", "CORPORATE_VISIT", "EARN_CYBER_TOKENS", "QUIZ_ANSWER", "UNLOCK_CONTENT")
# The ledger key of Company A's quiz mission (wallet.missions.mission_key; the grant's action is the ledger row's).
_CORPORATE_QUIZ_KEY = "mission:COMPLETE_CORPORATE_QUIZ:%%"  # %% : a LIKE's % in a statement with parameters


def _event_sql(d: Dialect) -> tuple[str, str]:
    """SQL for a ``user_actions`` row ``ua``: the event it is (NULL: none) and what it must match (game, stage)."""
    event = (
        "CASE WHEN ua.action_type IN ('GAME_PLAY', 'FAIL_GAME') THEN 'GAME_ROUND' "  # noqa: S608 (SQL from code)
        "WHEN ua.action_type = 'CORPORATE_VISIT' THEN 'CORPORATE_VISIT' "
        "WHEN ua.action_type = 'UNLOCK_CONTENT' THEN 'UNLOCK' "
        f"WHEN ua.action_type = 'QUIZ_ANSWER' THEN CASE WHEN {d.json_text('ua.metadata', 'submission_id')} IS NOT NULL "
        "THEN 'PROFILE_QUIZ' END "
        f"WHEN {d.json_text('ua.metadata', 'source')} = 'corporate' THEN 'CORPORATE_EARN' "
        "WHEN EXISTS (SELECT 1 FROM token_ledger l WHERE l.player_id = ua.user_id "
        "AND l.created_at = ua.action_timestamp AND l.action_id = ua.id "
        f"AND l.idempotency_key LIKE '{_CORPORATE_QUIZ_KEY}') THEN 'CORPORATE_QUIZ' END"
    )
    ref = (
        f"CASE WHEN ua.action_type = 'UNLOCK_CONTENT' THEN {d.json_text('ua.metadata', 'content_id')} "
        f"WHEN ua.action_type IN ('GAME_PLAY', 'FAIL_GAME') THEN {d.json_text('ua.metadata', 'game')} END"
    )
    return event, ref


def _fulfils_cte() -> str:
    """``f(event, proposal_type, match, seconds)``: which event converts which proposal type, within how long."""
    rows = [
        f"('{event}', '{c.proposal_type}', '{c.match}', {int(c.window.total_seconds())})"
        for c in cv.REGISTRY.values()
        for event in c.events
    ]
    return f"f(event, proposal_type, match, seconds) AS (VALUES {', '.join(rows)})"


def _since(d: Dialect, at: str, seconds: str) -> str:
    """``at`` minus ``seconds`` (the earliest serve an action at ``at`` can convert), exact to the microsecond."""
    if d.pg:
        return f"({at} - {seconds} * INTERVAL '1 second')"
    return f"django_format_dtdelta('-', {at}, {seconds} * 1000000)"


_ACTION_UNIQUE = "(action_id) WHERE action_id IS NOT NULL"
_LIMIT_SET_UNIQUE = "(user_id, acted_at) WHERE action_id IS NULL"


def _attribute_sql(d: Dialect, candidates: str, unique: str) -> str:
    """The INSERT of the conversions of ``candidates`` (a CTE ``a(id, user_id, at, event, ref)``), adding nothing
    where the conversion is there already (``unique``: the constraint it would break)."""
    match = "(f.match = '' OR (f.match = 'game' AND i.game = i.ref) OR (f.match = 'content' AND i.content_id = i.ref))"
    return (
        # INSERT first (its query starting WITH): SQLite counts the rows only of a statement that starts INSERT.
        "INSERT INTO recommendation_conversions (action_id, user_id, impression_id, proposal_type, event, acted_at, "  # noqa: S608 (SQL from code, values bound)
        "served_at, click_through, attributed_at) "
        f"WITH {candidates}, {_fulfils_cte()}, "
        "w(event, seconds) AS (SELECT event, MAX(seconds) FROM f GROUP BY event), "
        # Each action with the earliest serve its event's longest window reaches (materialized: the events computed
        # once), so that both ends of the look-up below come from one row: then both are the index's range (with the
        # start from another table, PostgreSQL read every impression of the player up to the action and filtered the
        # old ones out afterwards).
        f"aw AS MATERIALIZED (SELECT a.id, a.user_id, a.at, a.event, a.ref, {_since(d, 'a.at', 'w.seconds')} AS since "
        "FROM a JOIN w ON w.event = a.event), "
        # One look-up of the player's impressions per action (materialized, so the planner cannot multiply the
        # actions by their proposal types first), then the types each may convert.
        "ai AS MATERIALIZED (SELECT a.id, a.user_id, a.at, a.event, a.ref, i.proposal_id, i.proposal_type, "
        "i.served_at, i.clicked_at, i.game, "
        # only the stage of a content proposal, for an unlock (the whole reason would widen every row)
        f"CASE WHEN a.event = '{cv.UNLOCK}' THEN {d.json_text('i.reason', 'content_id')} END AS content_id FROM aw a "
        "JOIN recommendation_impressions i ON i.user_id = a.user_id "
        "AND i.served_at <= a.at AND i.served_at >= a.since), "
        "c AS (SELECT i.id, i.user_id, i.at, i.event, i.proposal_id, i.proposal_type, i.served_at, "
        "(i.clicked_at IS NOT NULL AND i.clicked_at <= i.at) AS click_through, "
        "ROW_NUMBER() OVER (PARTITION BY i.user_id, i.at, i.id ORDER BY i.served_at DESC, i.proposal_id DESC) AS n "
        "FROM ai i JOIN f ON f.event = i.event AND f.proposal_type = i.proposal_type "
        f"AND i.served_at >= {_since(d, 'i.at', 'f.seconds')} AND {match}) "
        "SELECT id, user_id, proposal_id, proposal_type, event, at, served_at, click_through, %(now)s FROM c "
        f"WHERE n = 1 ON CONFLICT {unique} DO NOTHING"
    )


def _actions_cte(d: Dialect) -> str:
    event, ref = _event_sql(d)
    types = ", ".join(f"'{t}'" for t in _ACTION_TYPES)
    return (
        # Read once, by the materialized ``aw`` of the statement (the events computed once).
        "a AS (SELECT id, user_id, at, event, ref FROM ("  # noqa: S608 (SQL from code, values bound)
        f"SELECT ua.id, ua.user_id, ua.action_timestamp AS at, {event} AS event, {ref} AS ref "
        "FROM user_actions ua WHERE ua.id > %(lo)s AND ua.id <= %(hi)s AND ua.action_timestamp <= %(cutoff)s "
        f"AND ua.action_type IN ({types})) e WHERE event IS NOT NULL)"
    )


# A limit set: the protection row changed while it holds a daily or weekly spend limit; its "id" is NULL.
_LIMIT_SETS_CTE = (
    "a AS (SELECT CAST(NULL AS bigint) AS id, player_id AS user_id, updated_at AS at, "  # noqa: S608 (SQL from code)
    f"'{cv.SPEND_LIMIT_SET}' AS event, NULL AS ref FROM player_protection "
    "WHERE updated_at > %(since)s AND updated_at <= %(cutoff)s "
    "AND (daily_spend_limit IS NOT NULL OR weekly_spend_limit IS NOT NULL))"
)


@dataclass
class AttributionReport:
    """What a run did: the actions it read (by id), the conversions it added, where the watermark is now, and the
    earliest action time it took (None: none), from which the days' figures can have changed."""

    from_action_id: int
    to_action_id: int
    conversions: int
    limit_sets: int
    watermark: int
    earliest_acted_at: dt.datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "from_action_id": self.from_action_id,
            "to_action_id": self.to_action_id,
            "conversions": self.conversions,
            "limit_sets": self.limit_sets,
            "watermark": self.watermark,
            "earliest_acted_at": self.earliest_acted_at.isoformat() if self.earliest_acted_at else None,
        }


def conversions_attribute(
    *,
    now: dt.datetime | None = None,
    chunk_size: int = 1_000_000,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[int], object] | None = None,
) -> AttributionReport:
    """Attribute every action (and limit set) not attributed yet and stamped at least the lag before ``now``; move the
    watermarks. ``on_start`` is told how many action ids the run reads, ``on_progress`` each range's. Each range of
    ``chunk_size`` action ids is one statement in a transaction of its own, several at once
    (``recommendations.parallel``); the watermark moves once they all committed, so a run stopped half way does it
    again (adding nothing for the ranges that were done)."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.RECOMMENDATION_ATTRIBUTION_LAG_SECONDS)
    d = Dialect(connection.vendor)
    state, _ = AttributionState.objects.get_or_create(id=AttributionState.SINGLETON_ID)
    lo = state.last_action_id
    types = ", ".join(f"'{t}'" for t in _ACTION_TYPES)
    hi = actions_watermark(wait_seconds=WATERMARK_WAIT_SECONDS)  # every id up to it committed (PostgreSQL's gaps)
    with connection.cursor() as cur:
        # The first action after the watermark (the ranges start there: none over ids no action has); the first
        # action left for later (stamped after the cutoff), which stops the watermark; the earliest time taken.
        cur.execute(
            "SELECT MIN(id), MIN(CASE WHEN action_timestamp > %(cutoff)s THEN id END), "  # noqa: S608 (SQL from code)
            f"MIN(CASE WHEN action_timestamp <= %(cutoff)s AND action_type IN ({types}) THEN action_timestamp END) "
            "FROM user_actions WHERE id > %(lo)s AND id <= %(hi)s",
            {"cutoff": cutoff, "lo": lo, "hi": hi},
        )
        first_id, first_later, earliest = cur.fetchone()
    earliest = timestamp_read(earliest)
    watermark = hi if first_later is None else first_later - 1
    statement = _attribute_sql(d, _actions_cte(d), _ACTION_UNIQUE)
    start = hi if first_id is None else int(first_id) - 1
    ranges = [(a, min(a + chunk_size, hi)) for a in range(start, hi, chunk_size)]
    if on_start is not None:
        on_start(max(hi - start, 0))

    def attribute(lo_id: int, hi_id: int) -> Callable[[], int]:
        def job() -> int:
            with connection.cursor() as cur:
                cur.execute(statement, {"lo": lo_id, "hi": hi_id, "cutoff": cutoff, "now": now})
                return max(cur.rowcount, 0)

        return job

    def done(i: int) -> None:
        if on_progress is not None:
            on_progress(ranges[i][1] - ranges[i][0])

    added = sum(jobs_run([attribute(a, b) for a, b in ranges], on_done=done))

    since = state.limit_sets_through or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "SELECT MIN(updated_at) FROM player_protection WHERE updated_at > %(since)s AND updated_at <= %(cutoff)s",
            {"since": since, "cutoff": cutoff},
        )
        first_set = timestamp_read(cur.fetchone()[0])
        cur.execute(
            _attribute_sql(d, _LIMIT_SETS_CTE, _LIMIT_SET_UNIQUE), {"since": since, "cutoff": cutoff, "now": now}
        )
        limit_sets = max(cur.rowcount, 0)
        AttributionState.objects.filter(id=state.id).update(
            last_action_id=watermark, limit_sets_through=cutoff, ran_at=now
        )
    if first_set is not None and (earliest is None or first_set < earliest):
        earliest = first_set
    return AttributionReport(lo, hi, added, limit_sets, watermark, earliest)


def timestamp_read(value: Any) -> dt.datetime | None:
    """A timestamp read back by a raw query: SQLite answers text, PostgreSQL an aware datetime."""
    if value is None or isinstance(value, dt.datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=dt.UTC)
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
