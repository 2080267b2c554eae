from __future__ import annotations

from notifications.models import Notification


def notifications_for_player(*, player_id: int, limit: int = 50) -> list[Notification]:
    """The player's notifications, newest first (suppressed ones included: the app may show them in-app)."""
    return list(Notification.objects.filter(user_id=player_id).order_by("-created_at", "-id")[:limit])
