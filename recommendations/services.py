"""Writes for recommendations: serving a recommendation (proposal ids and impressions), clicks, and the nightly
batches (harm markers, play-hour rollup)."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.exceptions import NotFound
from core.metrics import IMPRESSIONS_OVER_CAP, PROPOSALS_SUPPRESSED
from core.timezones import zone
from corporate.services import visit_mission_offers_record
from players.selectors import player_id_ranges, player_timezones
from players.services import HarmMarkerFound, harm_markers_store, spend_norms_store
from recommendations.engine import HOURS, VISIT_CORPORATE_SITE, Context, Proposal, Reason, Recommendation, recommend
from recommendations.harm import HarmThresholds, detect_harm_markers, spend_norm
from recommendations.holdout import HOLDOUT_SHOWN, holdout_member
from recommendations.impressions import ImpressionRow, ServedRow, SuppressionRow, impression_buffer
from recommendations.models import (
    PlayerPlayHours,
    PopulationPlayHours,
    RecommendationImpression,
    RecommendationSuppression,
)
from recommendations.proposal_ids import proposal_id_verify, proposal_ids_new
from recommendations.selectors import (
    DEFAULT_PEAK_HOUR,
    harm_events_by_player,
    play_hour_counts,
    recommendation_context,
    served_row_counts,
)
from recommendations.templates import templates_build
from recommendations.variants import DEFAULT, Worded, posteriors, serving_protected, variant_choose
from texts.catalog import variants

logger = logging.getLogger(__name__)


@dataclass
class HarmReport:
    as_of: dt.datetime
    players: int = 0  # players looked at
    markers: Counter[str] = field(default_factory=Counter)  # markers found, by name
    cleared: int = 0  # rows deleted: behaviour no longer found
    norms: int = 0  # players given a spend norm (for the live spend-velocity signal)

    def as_dict(self) -> dict[str, object]:
        return {
            "as_of": self.as_of.isoformat(),
            "players": self.players,
            "markers": dict(self.markers),
            "cleared": self.cleared,
            "spend_norms": self.norms,
        }


def harm_markers_compute(
    *,
    as_of: dt.datetime | None = None,
    chunk_size: int = 1000,
    thresholds: HarmThresholds | None = None,
    on_progress: Callable[[int], object] | None = None,
) -> HarmReport:
    """Find every player's harm markers as of ``as_of`` (default now) and store them in ``player_harm_markers``.

    Player-id range by range (``chunk_size`` players): one streamed query over the range's recent actions,
    grouped by player and passed to ``detect_harm_markers``; then the range's findings are stored by the players
    app (``players.services.harm_markers_store``: a marker still present keeps its ``detected_at``, the range's
    rows the run did not confirm are deleted), and each player's spend norm goes to the hot store
    (``players.services.spend_norms_store``, for the live spend-velocity signal). Re-running for the same
    ``as_of`` gives the same rows.
    ``on_progress(n)`` is called with the number of players of each range done.
    """
    as_of = as_of or timezone.now()
    thresholds = thresholds or HarmThresholds.from_settings()
    report = HarmReport(as_of=as_of)
    for first_id, last_id in player_id_ranges(size=chunk_size):
        zones = player_timezones(first_id=first_id, last_id=last_id)
        found_in_range: list[HarmMarkerFound] = []
        norms: dict[int, float] = {}
        for user_id, events in harm_events_by_player(
            first_id=first_id, last_id=last_id, as_of=as_of, thresholds=thresholds
        ):
            if user_id not in zones:  # an action of an id without a players row (no FK on user_actions)
                continue
            tz = zone(zones[user_id])
            found = detect_harm_markers(events, now=as_of, tz=tz, thresholds=thresholds)
            norm = spend_norm(events, now=as_of, tz=tz, thresholds=thresholds)
            if norm is not None:
                norms[user_id] = norm
            for marker, details in found.items():
                found_in_range.append(HarmMarkerFound(user_id, marker, details))
                report.markers[marker] += 1
        cleared = harm_markers_store(found=found_in_range, as_of=as_of, first_id=first_id, last_id=last_id)
        spend_norms_store(norms=norms)
        report.norms += len(norms)
        report.cleared += cleared
        report.players += len(zones)
        if on_progress is not None:
            on_progress(len(zones))
    logger.info("harm markers as of %s: %s", as_of.isoformat(), report.as_dict())
    return report


# --- serving a recommendation ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Served:
    """A recommendation as served: what the player is shown (the engine's answer, each proposal in the wording chosen
    for it, and without the optional proposals for a holdout player) and each shown proposal's id (same order).
    ``holdout``: the player is in the standing holdout."""

    player_id: int
    recommendation: Recommendation
    proposal_ids: tuple[str, ...]
    holdout: bool = False


def recommendation_serve(*, player_id: int, now: dt.datetime | None = None) -> Served:
    """The recommendation for the player now: context (one SQL statement and one hot-store round trip), the engine,
    then what the adaptive loop may change (docs/decisions/0034): a player in the standing holdout
    (``recommendations.holdout``) is shown only the limit suggestion of the proposals; everyone else not protected
    gets each proposal in the wording Thompson sampling picks (``recommendations.variants``; the variants and
    posteriors are kept per process, no query). An id per proposal, and the impressions (the withheld ones with
    ``holdout``, their ids never answered) and the proposals protection removed (suppressions) handed to this
    process's buffer (written in bulk later, not here, with the offers of the visit mission: ``impressions_record``)."""
    now = now or timezone.now()
    ctx: Context = recommendation_context(player_id=player_id, now=now)
    rec = recommend(ctx, templates_build())
    rows: list[ServedRow] = []
    for removed in rec.suppressed:
        rule = str(removed.reason.get("rule", ""))
        PROPOSALS_SUPPRESSED.labels(removed.type, rule).inc()
        rows.append(SuppressionRow(player_id, removed.type, rule, suppression_signals(removed.reason), now))
    in_holdout = holdout_member(player_id)
    learning = not in_holdout and not serving_protected(ctx)
    group, locale = ctx.segment or "", ctx.locale
    shown: list[Worded] = []
    withheld: list[tuple[int, Proposal]] = []  # (place in the engine's list, proposal)
    in_play, beliefs = variants(), posteriors()  # per-process copies: no query
    day = now.astimezone(zone(settings.BUSINESS_TIMEZONE)).date()
    for place, p in enumerate(rec.proposals):
        if in_holdout and p.type not in HOLDOUT_SHOWN:
            withheld.append((place, p))
        elif learning:
            found = in_play.get((p.message_key, locale), ())
            shown.append(
                variant_choose(
                    proposal=p,
                    player_id=player_id,
                    day=day,
                    locale=locale,
                    rfm_group=group,
                    in_play=found,
                    beliefs=beliefs,
                )
            )
        else:
            shown.append(Worded(p, DEFAULT))
    served_ms = int(now.timestamp() * 1000)
    ids = proposal_ids_new(player_id, len(rec.proposals), served_ms=served_ms)
    shown_ids, withheld_ids = ids[: len(shown)], ids[len(shown) :]
    rows += [
        ImpressionRow(
            pid,
            player_id,
            w.proposal.type,
            str(w.proposal.reason.get("rule", "")),
            position,
            w.proposal.game,
            w.proposal.action,
            w.proposal.reason,
            now,
            message_key=w.proposal.message_key,
            variant=w.variant,
            rfm_group=group,
            locale=locale,
            holdout=False,
            learning=learning,
        )
        for position, (pid, w) in enumerate(zip(shown_ids, shown, strict=True))
    ]
    rows += [  # withheld from a holdout player: recorded where it would have been, never shown, never learnt from
        ImpressionRow(
            pid,
            player_id,
            p.type,
            str(p.reason.get("rule", "")),
            place,
            p.game,
            p.action,
            p.reason,
            now,
            message_key=p.message_key,
            variant=DEFAULT,
            rfm_group=group,
            locale=locale,
            holdout=True,
            learning=False,
        )
        for pid, (place, p) in zip(withheld_ids, withheld, strict=True)
    ]
    if rows:
        impression_buffer().add(rows)
    answer = replace(rec, proposals=tuple(w.proposal for w in shown)) if in_holdout or learning else rec
    return Served(player_id=player_id, recommendation=answer, proposal_ids=shown_ids, holdout=in_holdout)


def suppression_signals(reason: Reason) -> tuple[str, ...]:
    """What made a harm rule fire, by name: the live signals (``live_harm_signals``), then the nightly markers (both
    rules); nothing for the other protection rules (a pause, a spend limit)."""
    live = reason.get("live_signals") or {}
    markers = reason.get("harm_markers") or ()
    return (*sorted(str(name) for name in live), *(str(name) for name in markers))


_IMPRESSION_FIELDS = [
    "proposal_id",
    "user_id",
    "proposal_type",
    "rule",
    "position",
    "game",
    "action",
    "reason",
    "served_at",
    "message_key",
    "variant",
    "rfm_group",
    "locale",
    "holdout",
    "learning",
]
_IMPRESSION_COLUMNS = ", ".join(_IMPRESSION_FIELDS)
# Every column but the key and clicked_at: a row a click wrote first gets its details and keeps its click.
_IMPRESSION_UPDATES = ", ".join(f"{c} = EXCLUDED.{c}" for c in _IMPRESSION_FIELDS[1:])
# PostgreSQL: the batch travels as one JSON document (orjson, no model instances), one statement.
_IMPRESSIONS_INSERT_PG = f"""
INSERT INTO recommendation_impressions ({_IMPRESSION_COLUMNS})
SELECT {_IMPRESSION_COLUMNS} FROM jsonb_to_recordset(%s::jsonb) AS r(
  proposal_id uuid, user_id bigint, proposal_type text, rule text, position smallint, game text, action text,
  reason jsonb, served_at timestamptz, message_key text, variant text, rfm_group text, locale text, holdout boolean,
  learning boolean)
ON CONFLICT (proposal_id) DO UPDATE SET {_IMPRESSION_UPDATES}
"""  # noqa: S608 (names from code, values bound)
# SQLite: one prepared statement run for every row (executemany). Not Django's bulk_create: with 16 columns it splits a
# batch at SQLite's 999 bound parameters (62 rows), several INSERTs for one buffer.
_IMPRESSIONS_INSERT_SQLITE = f"""
INSERT INTO recommendation_impressions ({_IMPRESSION_COLUMNS}) VALUES ({", ".join(["%s"] * len(_IMPRESSION_FIELDS))})
ON CONFLICT (proposal_id) DO UPDATE SET {_IMPRESSION_UPDATES}
"""  # noqa: S608 (names from code, values bound)


def served_rows_within_daily_cap(rows: Sequence[ServedRow]) -> list[ServedRow]:
    """The rows that fit each player's ``RECOMMENDATION_IMPRESSIONS_PER_PLAYER_DAY`` (business-timezone days; 0: no
    bound), impressions and suppressions each bounded on their own, in serving order; the others are not recorded.
    Impressions left out are counted in ``tokenloop_impressions_over_cap_total``; suppressions left out are the
    difference between ``tokenloop_proposals_suppressed_total`` (counted in the request) and the rows.

    One grouped, indexed count per day the rows span (one, except around midnight; both kinds in one statement:
    ``selectors.served_row_counts``). Processes write their buffers independently, so a player served by several at
    once can pass the bound by up to one buffer per process: a bound on what one player can make us store, not an
    exact count. A click on a proposal whose impression was not recorded still records the click
    (``proposal_click`` writes the row).
    """
    cap = settings.RECOMMENDATION_IMPRESSIONS_PER_PLAYER_DAY
    if cap <= 0 or not rows:
        return list(rows)
    tz = zone(settings.BUSINESS_TIMEZONE)
    by_day: dict[dt.date, list[ServedRow]] = {}
    for row in rows:
        by_day.setdefault(row.served_at.astimezone(tz).date(), []).append(row)
    kept: list[ServedRow] = []
    over = 0
    for day, day_rows in sorted(by_day.items()):
        start = dt.datetime.combine(day, dt.time(), tzinfo=tz)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz)
        counts = served_row_counts(
            impressions_of=sorted({r.player_id for r in day_rows if isinstance(r, ImpressionRow)}),
            suppressions_of=sorted({r.player_id for r in day_rows if isinstance(r, SuppressionRow)}),
            since=start,
            until=end,
        )
        for row in sorted(day_rows, key=lambda r: r.served_at):  # stable: a request's rows keep their order
            key = ("impression" if isinstance(row, ImpressionRow) else "suppression", row.player_id)
            if counts.get(key, 0) < cap:
                counts[key] = counts.get(key, 0) + 1
                kept.append(row)
            elif isinstance(row, ImpressionRow):
                over += 1
    if over:
        IMPRESSIONS_OVER_CAP.inc(over)
    return kept


def impressions_record(*, rows: Sequence[ServedRow]) -> int:
    """Write a buffer's rows: the impressions in one statement (``INSERT ... ON CONFLICT (proposal_id) DO UPDATE``:
    a row a click wrote first gets its details and keeps its ``clicked_at``) and the suppressions, when there are
    any, in one more (a plain bulk INSERT: they are append-only and a buffer writes each row once). Rows past a
    player's daily bound are left out (``served_rows_within_daily_cap``). The served proposals with the
    ``VISIT_CORPORATE_SITE`` mission go to corporate with them, bound or not, but not a holdout row (never shown)
    (``visit_mission_offers_record``: the
    day's offer, and the mission paid at once for a visit that came before this write; docs/decisions/0015).
    Returns the rows written."""
    if not rows:
        return 0
    offers = [
        (r.player_id, r.served_at)
        for r in rows
        if isinstance(r, ImpressionRow) and r.action == VISIT_CORPORATE_SITE and not r.holdout
    ]
    kept = served_rows_within_daily_cap(rows)
    impressions = [r for r in kept if isinstance(r, ImpressionRow)]
    suppressions = [r for r in kept if isinstance(r, SuppressionRow)]
    written = _impressions_write(impressions) if impressions else 0
    if suppressions:
        written += _suppressions_write(suppressions)
    if offers:
        visit_mission_offers_record(offers=offers)
    return written


def _impressions_write(rows: Sequence[ImpressionRow]) -> int:
    """One statement for the batch: ``INSERT ... ON CONFLICT (proposal_id) DO UPDATE`` (PostgreSQL: the rows as one
    JSON document; SQLite: one prepared statement run for each row, its values adapted by the model's fields)."""
    if connection.vendor == "postgresql":
        document = orjson.dumps(
            [dict(zip(_IMPRESSION_FIELDS, _impression_values(r), strict=True)) for r in rows],
            option=orjson.OPT_UTC_Z,
        ).decode()
        # Inside a caller's transaction (a request on a synchronous setup), a savepoint keeps a failed write from
        # breaking it; on the flusher thread (autocommit) the statement is its own transaction.
        with transaction.atomic() if connection.in_atomic_block else nullcontext(), connection.cursor() as cursor:
            cursor.execute(_IMPRESSIONS_INSERT_PG, [document])
        return len(rows)
    fields = [RecommendationImpression._meta.get_field(name) for name in _IMPRESSION_FIELDS]
    params = [
        [
            field.get_db_prep_save(value, connection)  # type: ignore[union-attr]
            for field, value in zip(fields, _impression_values(r), strict=True)
        ]
        for r in rows
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(_IMPRESSIONS_INSERT_SQLITE, params)
    return len(rows)


def _impression_values(r: ImpressionRow) -> tuple[object, ...]:
    """A row's values in ``_IMPRESSION_FIELDS``' order."""
    return (
        r.proposal_id,
        r.player_id,
        r.proposal_type,
        r.rule,
        r.position,
        r.game or "",
        r.action or "",
        r.reason,
        r.served_at,
        r.message_key,
        r.variant,
        r.rfm_group,
        r.locale,
        r.holdout,
        r.learning,
    )


def _suppressions_write(rows: Sequence[SuppressionRow]) -> int:
    objs = [
        RecommendationSuppression(
            user_id=r.player_id,
            proposal_type=r.proposal_type,
            rule=r.rule,
            signals=list(r.signals),
            served_at=r.served_at,
        )
        for r in rows
    ]
    # As for the impressions: inside a caller's transaction on PostgreSQL, a savepoint keeps a failed write from
    # breaking it.
    savepoint = connection.vendor == "postgresql" and connection.in_atomic_block
    with transaction.atomic() if savepoint else nullcontext():
        RecommendationSuppression.objects.bulk_create(objs, batch_size=len(objs))
    return len(objs)


@dataclass(frozen=True, slots=True)
class Click:
    proposal_id: uuid.UUID
    clicked_at: dt.datetime
    first_click: bool


def proposal_click(*, player_id: int, proposal_id: str, now: dt.datetime | None = None) -> Click:
    """Record the player's click on a proposal served to them; a repeated click changes nothing and answers the
    first click's time.

    The id itself proves it was served to this player (``recommendations.proposal_ids``): anything else, another
    player's proposal included, is NotFound. The impression may not be written yet (it waits in the buffer of the
    process that served it): the click then writes the row, and the buffer's upsert fills in the rest.
    """
    verified = proposal_id_verify(proposal_id, player_id)
    if verified is None:
        raise NotFound("No proposal with this id was served to this player.")
    pid, served_at = verified
    now = now or timezone.now()
    for _ in range(2):
        if RecommendationImpression.objects.filter(proposal_id=pid, clicked_at__isnull=True).update(clicked_at=now):
            return Click(pid, now, first_click=True)
        row, created = RecommendationImpression.objects.get_or_create(
            proposal_id=pid, defaults={"user_id": player_id, "served_at": served_at, "clicked_at": now}
        )
        if created:
            return Click(pid, now, first_click=True)
        if row.clicked_at is not None:
            return Click(pid, row.clicked_at, first_click=False)
        # The buffer wrote the impression between the two statements: the update now finds it.
    raise RuntimeError(f"click on {pid} could not be recorded")  # pragma: no cover - needs two writers racing twice


# --- the nightly play-hour rollup ------------------------------------------------------------------------------

PLAY_HOURS_WINDOW = dt.timedelta(days=30)


@dataclass
class PlayHoursReport:
    as_of: dt.datetime
    players: int = 0  # players looked at
    with_rounds: int = 0  # players with a round in the window (a row each)
    rounds: int = 0
    cleared: int = 0  # rows deleted: no round in the window any more
    peak_hour: int = 0
    population_hours: list[int] = field(default_factory=lambda: [0] * HOURS)

    def as_dict(self) -> dict[str, object]:
        return {
            "as_of": self.as_of.isoformat(),
            "players": self.players,
            "with_rounds": self.with_rounds,
            "rounds": self.rounds,
            "cleared": self.cleared,
            "peak_hour": self.peak_hour,
        }


def play_hours_rollup(
    *, as_of: dt.datetime | None = None, chunk_size: int = 5000, on_progress: Callable[[int], object] | None = None
) -> PlayHoursReport:
    """Fill ``player_play_hours`` and ``play_hours_population`` as of ``as_of`` (default now).

    Set-based, player-id range by range (``chunk_size`` players): per range and timezone one grouped query of
    the game rounds in the 30 days before ``as_of`` by local hour (``selectors.play_hour_counts``); then, in one
    transaction per range, one upsert of the range's rows and one delete of the range's rows this run did not
    write. Last, the population row: per local hour the number of players who played at that hour, and its peak
    (ties to the earlier hour; no round at all: 20:00). Re-running for the same ``as_of`` gives the same rows.
    """
    as_of = as_of or timezone.now()
    since = as_of - PLAY_HOURS_WINDOW
    report = PlayHoursReport(as_of=as_of)
    for first_id, last_id in player_id_ranges(size=chunk_size):
        zones = player_timezones(first_id=first_id, last_id=last_id)
        hours: dict[int, list[int]] = {}
        for tz_name in sorted(set(zones.values())):
            for user_id, hour, rounds in play_hour_counts(
                first_id=first_id, last_id=last_id, timezone=tz_name, since=since, until=as_of
            ):
                hours.setdefault(user_id, [0] * HOURS)[hour] += rounds
        rows = [
            PlayerPlayHours(user_id=user_id, hours=counts, rounds=sum(counts), as_of=as_of)
            for user_id, counts in sorted(hours.items())
        ]
        with transaction.atomic():
            if rows:
                PlayerPlayHours.objects.bulk_create(
                    rows, update_conflicts=True, unique_fields=["user"], update_fields=["hours", "rounds", "as_of"]
                )
            cleared, _ = (
                PlayerPlayHours.objects.filter(user_id__gte=first_id, user_id__lte=last_id)
                .exclude(as_of=as_of)
                .delete()
            )
        for counts in hours.values():
            report.rounds += sum(counts)
            for hour, rounds in enumerate(counts):
                report.population_hours[hour] += rounds > 0
        report.with_rounds += len(rows)
        report.cleared += cleared
        report.players += len(zones)
        if on_progress is not None:
            on_progress(len(zones))
    population = report.population_hours
    top = max(population)
    report.peak_hour = population.index(top) if top > 0 else DEFAULT_PEAK_HOUR
    PopulationPlayHours.objects.bulk_create(
        [
            PopulationPlayHours(
                id=PopulationPlayHours.SINGLETON_ID,
                hours=population,
                peak_hour=report.peak_hour,
                players=report.with_rounds,
                rounds=report.rounds,
                as_of=as_of,
            )
        ],
        update_conflicts=True,
        unique_fields=["id"],
        update_fields=["hours", "peak_hour", "players", "rounds", "as_of"],
    )
    logger.info("play hours as of %s: %s", as_of.isoformat(), report.as_dict())
    return report
