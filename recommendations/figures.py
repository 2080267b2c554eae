"""The adaptive loop's figures for staff (the KPI dashboard's loop panels; issue 18 item 5): the bandit's posteriors and
each variant's share of the impressions, CTR and CVR per day, and the uplift against the holdout. Reads only, from the
nightly job's tables (``recommendation_daily_stats``, ``recommendation_variant_posteriors``,
``recommendation_uplift_days``), a fixed number of statements whatever the range.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet, Sum

from recommendations.models import ProposalDailyStat, VariantPosterior
from recommendations.uplift import Uplift, uplift_figures

DEFAULT_VARIANT = "default"  # how the message's own text (variant "") is shown


def _narrowed(rows: QuerySet[Any], group: str | None, locale: str | None) -> QuerySet[Any]:
    if group:
        rows = rows.filter(rfm_group=group)
    if locale:
        rows = rows.filter(locale=locale)
    return rows


def variant_posteriors(*, group: str | None = None, locale: str | None = None) -> list[dict[str, Any]]:
    """Every posterior (of the group and locale, when given): its counts over the learning window, the posterior mean
    alpha / (alpha + beta), and its share of the impressions of its message, group and locale (the allocation)."""
    rows = list(
        _narrowed(VariantPosterior.objects.all(), group, locale).order_by(
            "proposal_type", "message_key", "rfm_group", "locale", "variant"
        )
    )
    totals: dict[tuple[str, str, str], int] = {}
    for p in rows:
        key = (p.message_key, p.rfm_group, p.locale)
        totals[key] = totals.get(key, 0) + p.impressions
    out = []
    for p in rows:
        total = totals[(p.message_key, p.rfm_group, p.locale)]
        out.append(
            {
                "proposal_type": p.proposal_type,
                "message_key": p.message_key,
                "variant": p.variant or DEFAULT_VARIANT,
                "rfm_group": p.rfm_group,
                "locale": p.locale,
                "impressions": p.impressions,
                "clicks": p.clicks,
                "conversions": p.conversions,
                "alpha": p.alpha,
                "beta": p.beta,
                "mean": p.alpha / (p.alpha + p.beta),
                "allocation": p.impressions / total if total else None,
                "computed_at": p.computed_at,
            }
        )
    return out


def _shown(d0: dt.date, d1: dt.date, group: str | None, locale: str | None) -> QuerySet[ProposalDailyStat]:
    return _narrowed(ProposalDailyStat.objects.filter(day__gte=d0, day__lte=d1, holdout=False), group, locale)


def loop_days(*, d0: dt.date, d1: dt.date, group: str | None = None, locale: str | None = None) -> list[dict[str, Any]]:
    """Per business day of [d0, d1] with shown impressions: impressions, clicks, converted impressions (click-through
    and view-through), CTR = clicks / impressions and CVR = converted / impressions."""
    rows = (
        _shown(d0, d1, group, locale)
        .values("day")
        .annotate(n=Sum("impressions"), k=Sum("clicks"), c=Sum("conversions"), ct=Sum("click_conversions"))
        .order_by("day")
    )
    return [
        {
            "date": r["day"].isoformat(),
            "impressions": r["n"],
            "clicks": r["k"],
            "conversions": r["c"],
            "click_through": r["ct"],
            "view_through": r["c"] - r["ct"],
            "ctr": r["k"] / r["n"] if r["n"] else None,
            "cvr": r["c"] / r["n"] if r["n"] else None,
        }
        for r in rows
    ]


def variant_allocation(
    *, d0: dt.date, d1: dt.date, group: str | None = None, locale: str | None = None
) -> dict[str, dict[str, int]]:
    """Per variant name (the message's own text: ``DEFAULT_VARIANT``), its shown impressions per day of [d0, d1]
    among the messages that have variants (the others have nothing to allocate)."""
    with_variants = _shown(d0, d1, group, locale).exclude(variant="").values("message_key")
    rows = (
        _shown(d0, d1, group, locale)
        .filter(Q(message_key__in=with_variants))
        .values("day", "variant")
        .annotate(n=Sum("impressions"))
        .order_by("day", "variant")
    )
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        out.setdefault(r["variant"] or DEFAULT_VARIANT, {})[r["day"].isoformat()] = r["n"]
    return out


def uplift(*, d0: dt.date, d1: dt.date) -> list[Uplift]:
    """The uplift against the holdout of business days [d0, d1], per type and overall (``recommendations.uplift``)."""
    return uplift_figures(d0=d0, d1=d1)
