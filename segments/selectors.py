"""Reads for segments (admin, dashboards). API code goes through ``segments.services.UserService`` (spec 2.8)."""

from __future__ import annotations

from django.db.models import Count

from segments.models import Group, SegmentHistory, SegmentRun, UserSegment


def segment_distribution() -> dict[str, int]:
    """Players per group, every group named (0 when empty), lowest tier first."""
    counts = dict(
        UserSegment.objects.values_list("rfm_group").annotate(n=Count("user_id")).values_list("rfm_group", "n")
    )
    return {str(group): int(counts.get(group, 0)) for group in Group.values}


def segment_last_run() -> SegmentRun | None:
    """The latest finished run (its ``distribution`` is the rollup the admin shows)."""
    return SegmentRun.objects.filter(status=SegmentRun.Status.DONE).order_by("-finished_at", "-id").first()


def segment_history_of(*, player_id: int, limit: int = 100) -> list[SegmentHistory]:
    return list(SegmentHistory.objects.filter(user_id=player_id).order_by("-as_of", "-id")[:limit])
