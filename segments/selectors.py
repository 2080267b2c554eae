"""Reads for segments (admin, dashboards). API code goes through ``segments.services.UserService`` (spec 2.8)."""

from __future__ import annotations

from collections.abc import Collection

from django.db.models import Count

from segments.models import GROUP_RANK, Group, SegmentHistory, SegmentRun, UserSegment

WHALE: str = Group.WHALE.value  # the top group (spec 2.2): the VIP award leaves its players out

# A group's level (spec 2.3.4's base reward level): Low 0, Medium 1, High Engaged 2, Whale 3. A player without a
# segment row is Low.
SEGMENT_LEVELS: dict[str, int] = {str(group): rank for group, rank in GROUP_RANK.items()}


def segment_level(rfm_group: str | None) -> int:
    """The level of ``rfm_group`` (0 for none or an unknown name)."""
    return SEGMENT_LEVELS.get(rfm_group or "", 0)


def segment_level_of(*, player_id: int) -> int:
    """The player's segment level now (0 without a segment row)."""
    return segment_level(UserSegment.objects.filter(user_id=player_id).values_list("rfm_group", flat=True).first())


def players_in_group(*, player_ids: Collection[int], group: str) -> set[int]:
    """Those of ``player_ids`` whose current RFM group is ``group`` (one query per 1,000 ids)."""
    ids = sorted(set(player_ids))
    found: set[int] = set()
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        found.update(UserSegment.objects.filter(user_id__in=chunk, rfm_group=group).values_list("user_id", flat=True))
    return found


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
