"""Writes for recommendations: the nightly harm-marker batch."""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from activity.selectors import player_id_ranges
from recommendations.harm import HarmThresholds, detect_harm_markers
from recommendations.models import PlayerHarmMarker
from recommendations.selectors import harm_events_by_player, player_timezones

logger = logging.getLogger(__name__)


@dataclass
class HarmReport:
    as_of: dt.datetime
    players: int = 0  # players looked at
    markers: Counter[str] = field(default_factory=Counter)  # markers found, by name
    cleared: int = 0  # rows deleted: behaviour no longer found

    def as_dict(self) -> dict[str, object]:
        return {"as_of": self.as_of.isoformat(), "players": self.players, "markers": dict(self.markers),
                "cleared": self.cleared}


def _zone(name: str) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def harm_markers_compute(*, as_of: dt.datetime | None = None, chunk_size: int = 1000,
                         thresholds: HarmThresholds | None = None,
                         on_progress: Callable[[int], object] | None = None) -> HarmReport:
    """Find every player's harm markers as of ``as_of`` (default now) and store them in ``player_harm_markers``.

    Player-id range by range (``chunk_size`` players): one streamed query over the range's recent actions,
    grouped by player and passed to ``detect_harm_markers``; then, in one transaction per range, the markers
    found are upserted (a marker still present keeps its ``detected_at``) and the range's rows the run did not
    confirm are deleted. Re-running for the same ``as_of`` gives the same rows. ``on_progress(n)`` is called
    with the number of players of each range done.
    """
    as_of = as_of or timezone.now()
    thresholds = thresholds or HarmThresholds.from_settings()
    report = HarmReport(as_of=as_of)
    for first_id, last_id in player_id_ranges(size=chunk_size):
        zones = player_timezones(first_id=first_id, last_id=last_id)
        rows: list[PlayerHarmMarker] = []
        for user_id, events in harm_events_by_player(first_id=first_id, last_id=last_id, as_of=as_of,
                                                     thresholds=thresholds):
            if user_id not in zones:  # an action of an id without a players row (no FK on user_actions)
                continue
            found = detect_harm_markers(events, now=as_of, tz=_zone(zones[user_id]), thresholds=thresholds)
            for marker, details in found.items():
                rows.append(PlayerHarmMarker(user_id=user_id, marker=marker, detected_at=as_of, as_of=as_of,
                                             details=details))
                report.markers[marker] += 1
        with transaction.atomic():
            if rows:
                PlayerHarmMarker.objects.bulk_create(
                    rows, update_conflicts=True, unique_fields=["user", "marker"], update_fields=["as_of", "details"])
            cleared, _ = PlayerHarmMarker.objects.filter(
                user_id__gte=first_id, user_id__lte=last_id).exclude(as_of=as_of).delete()
        report.cleared += cleared
        report.players += len(zones)
        if on_progress is not None:
            on_progress(len(zones))
    logger.info("harm markers as of %s: %s", as_of.isoformat(), report.as_dict())
    return report
