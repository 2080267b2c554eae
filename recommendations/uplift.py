"""Uplift against the standing holdout (spec 2.5.2; issue 18 item 4; docs/metrics.md "Uplift"), measurement only.

The unit is the player-day of a proposal type: a player who had the type served (shown arm) or withheld (holdout arm)
on a business day, converted when any of those impressions converted. Counting impressions instead would weigh a
player served the same proposal ten times in a day ten times, and those serves are not independent trials. The
conversion rates of the two arms, their difference (the uplift, in points of conversion rate) and its 95% confidence
interval (Wald, for the difference of two independent proportions) per type and overall (every type's player-days
pooled). Read from ``recommendation_uplift_days`` (the nightly job's rollup), never from the impressions.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.db.models import Sum

from recommendations.models import ProposalUpliftDay

Z95 = 1.959963984540054  # the standard normal's 97.5th percentile
OVERALL = "all types"


@dataclass(frozen=True)
class Uplift:
    """One type's (or every type's) two arms and the difference of their conversion rates, shown minus holdout."""

    proposal_type: str
    shown: int
    shown_converted: int
    holdout: int
    holdout_converted: int

    @property
    def shown_rate(self) -> float | None:
        return self.shown_converted / self.shown if self.shown else None

    @property
    def holdout_rate(self) -> float | None:
        return self.holdout_converted / self.holdout if self.holdout else None

    @property
    def uplift(self) -> float | None:
        """Shown rate minus holdout rate; None when an arm is empty."""
        if self.shown_rate is None or self.holdout_rate is None:
            return None
        return self.shown_rate - self.holdout_rate

    @property
    def interval(self) -> tuple[float, float] | None:
        """The 95% confidence interval of the uplift; None when an arm is empty."""
        p1, p0, uplift = self.shown_rate, self.holdout_rate, self.uplift
        if p1 is None or p0 is None or uplift is None:
            return None
        half = Z95 * math.sqrt(p1 * (1 - p1) / self.shown + p0 * (1 - p0) / self.holdout)
        return uplift - half, uplift + half


def uplift_figures(*, d0: dt.date, d1: dt.date) -> list[Uplift]:
    """Per proposal type with player-days in business days [d0, d1] (sorted), then ``OVERALL``."""
    rows = (
        ProposalUpliftDay.objects.filter(day__gte=d0, day__lte=d1)
        .values("proposal_type", "holdout")
        .annotate(n=Sum("player_days"), c=Sum("converted"))
    )
    arms: dict[str, dict[bool, tuple[int, int]]] = {}
    for r in rows:
        arms.setdefault(r["proposal_type"], {})[r["holdout"]] = (int(r["n"]), int(r["c"]))

    def make(name: str, shown: tuple[int, int], holdout: tuple[int, int]) -> Uplift:
        return Uplift(name, shown[0], shown[1], holdout[0], holdout[1])

    out = [make(t, a.get(False, (0, 0)), a.get(True, (0, 0))) for t, a in sorted(arms.items())]
    out.append(
        Uplift(
            OVERALL,
            sum(u.shown for u in out),
            sum(u.shown_converted for u in out),
            sum(u.holdout for u in out),
            sum(u.holdout_converted for u in out),
        )
    )
    return out
