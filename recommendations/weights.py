"""The nightly "recalculate recommendation weights" job (spec 2.5.2; issue 18 item 2), after the RFM run:

1. attribution (``recommendations.attribution``): the conversions of the actions that arrived since the last run;
2. the daily figures (``recommendation_daily_stats``): per business day of the serve, proposal type, message, variant,
   RFM group, locale, holdout and learning flag, the impressions, clicks and converted impressions (click-through and
   view-through apart), and the uplift's unit (``recommendation_uplift_days``: per day, type and arm, the player-days
   and those that converted). Re-computed, never added to, for the days whose figures can have changed: from the
   longest conversion window before the earliest action attributed in this run (a late action changes its
   impression's day), and at least the longest window back from today (new impressions, late clicks);
3. the Beta posteriors (``recommendation_variant_posteriors``, read at serve time by the bandit): per message, variant,
   RFM group and locale, over the shown (not holdout), learning impressions of the last
   ``RECOMMENDATION_LEARNING_WINDOW_DAYS`` business days: alpha = 1 + converted impressions, beta = 1 + impressions -
   converted impressions; every active or pinned variant (``texts``' ``message_variants``) has a row for every group,
   and so has the message's default text, Beta(1, 1) when nothing was served yet (a fair start). Replaced whole in one
   transaction: a reader sees the night's rows or the last night's, never a mix.

Set-based: a fixed number of statements whatever the population (attribution: one per range of action ids).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from core.sql import Dialect
from core.timezones import business_day_start, zone
from recommendations.attribution import AttributionReport, conversions_attribute
from recommendations.conversions import MESSAGE_PROPOSAL_TYPES, longest_window
from recommendations.engine import SEGMENTS
from recommendations.models import ProposalDailyStat, ProposalUpliftDay, RecommendationImpression, VariantPosterior
from recommendations.parallel import jobs_run
from recommendations.variants import posteriors_invalidate

# The RFM groups a posterior is kept for: the four groups, and "" (a player without a segment row yet).
POSTERIOR_GROUPS = (*SEGMENTS, "")
ACTIVE_VARIANT_STATES = ("active", "pinned")
RESTATE_CHUNK_DAYS = 7  # the days' figures are restated a week per statement


def _stats_sql(d: Dialect) -> str:
    day = d.bdate("i.served_at")
    return (
        "INSERT INTO recommendation_daily_stats (day, proposal_type, message_key, variant, rfm_group, locale, "  # noqa: S608 (SQL from code, values bound)
        "holdout, learning, impressions, clicks, conversions, click_conversions) "
        f"SELECT {day}, i.proposal_type, i.message_key, i.variant, i.rfm_group, i.locale, i.holdout, i.learning, "
        "COUNT(*), SUM(CASE WHEN i.clicked_at IS NOT NULL THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN c.impression_id IS NOT NULL THEN 1 ELSE 0 END), SUM(COALESCE(c.click_through, 0)) "
        "FROM recommendation_impressions i LEFT JOIN ("
        "SELECT impression_id, MAX(CASE WHEN click_through THEN 1 ELSE 0 END) AS click_through "
        "FROM recommendation_conversions WHERE served_at >= %(t0)s AND served_at < %(t1)s GROUP BY impression_id"
        ") c ON c.impression_id = i.proposal_id "
        "WHERE i.served_at >= %(t0)s AND i.served_at < %(t1)s AND i.proposal_type <> '' "
        "GROUP BY 1, i.proposal_type, i.message_key, i.variant, i.rfm_group, i.locale, i.holdout, i.learning"
    )


def _uplift_sql(d: Dialect) -> str:
    day = d.bdate("i.served_at")
    return (
        "INSERT INTO recommendation_uplift_days (day, proposal_type, holdout, player_days, converted) "  # noqa: S608 (SQL from code, values bound)
        # a player-day of a type: a player served it that day; converted: one of those impressions converted
        f"SELECT {day}, i.proposal_type, i.holdout, COUNT(DISTINCT i.user_id), "
        "COUNT(DISTINCT i.user_id) FILTER (WHERE c.impression_id IS NOT NULL) "
        "FROM recommendation_impressions i LEFT JOIN ("
        "SELECT DISTINCT impression_id FROM recommendation_conversions WHERE served_at >= %(t0)s AND served_at < %(t1)s"
        ") c ON c.impression_id = i.proposal_id "
        "WHERE i.served_at >= %(t0)s AND i.served_at < %(t1)s AND i.proposal_type <> '' "
        "GROUP BY 1, i.proposal_type, i.holdout"
    )


_POSTERIOR_COUNTS = (
    "SELECT proposal_type, message_key, variant, rfm_group, locale, SUM(impressions), SUM(clicks), SUM(conversions) "
    "FROM recommendation_daily_stats WHERE day >= %s AND NOT holdout AND learning AND message_key <> '' "
    "GROUP BY proposal_type, message_key, variant, rfm_group, locale"
)
# texts' variants, read in SQL (reads only): the message, locale and name of each one in the running.
_ACTIVE_VARIANTS = "SELECT key, locale, name FROM message_variants WHERE state IN (%s, %s)"


def business_date(at: dt.datetime) -> dt.date:
    return timezone.localdate(at, timezone=zone(settings.BUSINESS_TIMEZONE))


def stats_restate(*, d0: dt.date, d1: dt.date) -> int:
    """Compute the daily figures and the uplift's player-days of business days [d0, d1] again, a week at a time
    (``RESTATE_CHUNK_DAYS``): each table's rows of a week replaced in one transaction, two such at once
    (``recommendations.parallel``; a week's impressions hash in memory where the whole range spilled to disk); the
    number of daily-figure rows written."""
    d = Dialect(connection.vendor)

    def restate(
        model: type[ProposalDailyStat] | type[ProposalUpliftDay], sql: str, c0: dt.date, c1: dt.date
    ) -> Callable[[], int]:
        params = {
            "t0": business_day_start(c0),
            "t1": business_day_start(c1 + dt.timedelta(days=1)),
            "btz": settings.BUSINESS_TIMEZONE,
        }

        def job() -> int:
            model.objects.filter(day__gte=c0, day__lte=c1).delete()
            with connection.cursor() as cur:
                cur.execute(sql, params)
                return max(cur.rowcount, 0)

        return job

    tables = ((ProposalDailyStat, _stats_sql(d)), (ProposalUpliftDay, _uplift_sql(d)))
    jobs = [restate(model, sql, c0, c1) for c0, c1 in day_chunks(d0, d1, RESTATE_CHUNK_DAYS) for model, sql in tables]
    rows = jobs_run(jobs)
    return sum(rows[0::2])  # the daily figures' (each week's first job)


def day_chunks(d0: dt.date, d1: dt.date, days: int) -> list[tuple[dt.date, dt.date]]:
    """[d0, d1] in consecutive ranges of at most ``days`` days, both ends included."""
    chunks = []
    while d0 <= d1:
        end = min(d0 + dt.timedelta(days=days - 1), d1)
        chunks.append((d0, end))
        d0 = end + dt.timedelta(days=1)
    return chunks


def posteriors_compute(*, today: dt.date, now: dt.datetime) -> int:
    """Replace every posterior with the counts of the learning window ending ``today``; the number of rows."""
    since = today - dt.timedelta(days=settings.RECOMMENDATION_LEARNING_WINDOW_DAYS - 1)
    rows: dict[tuple[str, str, str, str], VariantPosterior] = {}
    with connection.cursor() as cur:
        cur.execute(_POSTERIOR_COUNTS, [connection.ops.adapt_datefield_value(since)])
        for ptype, key, variant, group, locale, impressions, clicks, converted in cur.fetchall():
            rows[(key, variant, group, locale)] = VariantPosterior(
                proposal_type=ptype,
                message_key=key,
                variant=variant,
                rfm_group=group,
                locale=locale,
                impressions=int(impressions),
                clicks=int(clicks),
                conversions=int(converted),
                alpha=1.0 + int(converted),
                beta=1.0 + int(impressions) - int(converted),
                computed_at=now,
            )
        cur.execute(_ACTIVE_VARIANTS, ACTIVE_VARIANT_STATES)
        variants = cur.fetchall()
    for key, locale, name in variants:
        ptype = MESSAGE_PROPOSAL_TYPES.get(key)
        if ptype is None:  # a variant of a push, not of a proposal: nothing to learn here
            continue
        for group in POSTERIOR_GROUPS:
            for variant in (name, ""):  # the variant, and the message's own text it competes with
                rows.setdefault(
                    (key, variant, group, locale),
                    VariantPosterior(
                        proposal_type=ptype,
                        message_key=key,
                        variant=variant,
                        rfm_group=group,
                        locale=locale,
                        computed_at=now,
                    ),
                )
    with transaction.atomic():
        VariantPosterior.objects.all().delete()
        VariantPosterior.objects.bulk_create(rows.values(), batch_size=2000)
    posteriors_invalidate()  # this process serves with the new ones at once; the others within their cache's age
    return len(rows)


@dataclass
class WeightsReport:
    attribution: AttributionReport
    days_from: dt.date
    days_to: dt.date
    stats_rows: int
    posteriors: int
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "attribution": self.attribution.as_dict(),
            "days_from": self.days_from.isoformat(),
            "days_to": self.days_to.isoformat(),
            "stats_rows": self.stats_rows,
            "posteriors": self.posteriors,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }


def weights_recalculate(
    *,
    now: dt.datetime | None = None,
    chunk_size: int = 1_000_000,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[int], object] | None = None,
) -> WeightsReport:
    """The nightly job (see the module docstring): attribution, the days' figures, the posteriors."""
    now = now or timezone.now()
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    report = conversions_attribute(now=now, chunk_size=chunk_size, on_start=on_start, on_progress=on_progress)
    seconds["attribution"] = time.perf_counter() - started

    today = business_date(now)
    back = longest_window()
    d0 = business_date(now - back)
    if report.earliest_acted_at is not None:
        d0 = min(d0, business_date(report.earliest_acted_at - back))
    if not ProposalDailyStat.objects.exists():  # the first run: every day served so far
        first = _first_served()
        if first is not None:
            d0 = min(d0, business_date(first))
    started = time.perf_counter()
    stats_rows = stats_restate(d0=d0, d1=today)
    seconds["stats"] = time.perf_counter() - started

    started = time.perf_counter()
    posteriors = posteriors_compute(today=today, now=now)
    seconds["posteriors"] = time.perf_counter() - started
    return WeightsReport(report, d0, today, stats_rows, posteriors, seconds)


def _first_served() -> dt.datetime | None:
    first: dt.datetime | None = RecommendationImpression.objects.aggregate(first=Min("served_at"))["first"]
    return first
