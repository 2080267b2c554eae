"""Reality checks: after every stretch of a session the player chose (default ``REALITY_CHECK_MINUTES``), a
facts-only message with the session's time and the net tokens of its game rounds, in the player's locale.

The hot store's script reports each session passing a ``REALITY_CHECK_STEP_MINUTES`` step once (atomically, across
concurrent batches); here a step that crosses a multiple of the player's own interval becomes a notification. The
notification's dedupe key (player, session start, check number) makes it at most one per interval, whatever
retries happen.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.conf import settings

from activity.messages import REALITY_CHECK
from core.hotstore import SessionStep
from core.metrics import REALITY_CHECKS
from notifications.services import notification_create
from players.selectors import reality_check_preferences
from texts.catalog import text_render

TYPE = "REALITY_CHECK"


def check_number(step: int, interval_minutes: int) -> int:
    """How many reality checks a session ``step`` steps long has earned at ``interval_minutes``."""
    return step * settings.REALITY_CHECK_STEP_MINUTES // interval_minutes


def reality_checks_send(steps: Sequence[SessionStep]) -> int:
    """Record (and after commit send) the reality checks the steps make due; returns how many were due."""
    preferences = reality_check_preferences(player_ids=[s.player_id for s in steps])
    due = 0
    for s in steps:
        locale, interval = preferences.get(s.player_id, ("ko", settings.REALITY_CHECK_MINUTES))
        number = check_number(s.step, interval)
        if number <= check_number(s.prev_step, interval):
            continue
        minutes = (s.session_last_ms - s.session_start_ms) // 60_000
        started = dt.datetime.fromtimestamp(s.session_start_ms / 1000, dt.UTC)
        notification_create(
            player_id=s.player_id,
            type=TYPE,
            kind="transactional",
            message=text_render(REALITY_CHECK.key, locale, minutes=minutes, net_tokens=s.session_net),
            payload={
                "type": TYPE,
                "user_id": s.player_id,
                "session_minutes": minutes,
                "net_tokens": s.session_net,
                "session_started_at": started.isoformat(),
            },
            dedupe_key=f"reality_check:{s.player_id}:{s.session_start_ms}:{number}",
        )
        REALITY_CHECKS.inc()
        due += 1
    return due
