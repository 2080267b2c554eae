"""Builders for the predictions' tests: a player's history straight into the tables (as an import stores it).

Business timezone Asia/Seoul; ``AS_OF`` is the as-of day, its instant ``T`` = 00:00 KST of that day.
"""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo

from tests import factories

KST = zoneinfo.ZoneInfo("Asia/Seoul")
AS_OF = dt.date(2026, 11, 20)
T = dt.datetime(2026, 11, 20, tzinfo=KST)
_seq = itertools.count(1)


def at(days_before: float, *, hour: int = 12) -> dt.datetime:
    """``days_before`` whole days before the as-of day, at ``hour`` KST (0: the as-of day itself)."""
    return dt.datetime.combine(AS_OF - dt.timedelta(days=days_before), dt.time(hour), tzinfo=KST)


def sessions(user_id: int, when: list[dt.datetime]) -> None:
    factories.make_actions(user_id=user_id, at=when, action_type="SESSION_START")


def visits(user_id: int, when: list[dt.datetime]) -> None:
    factories.make_actions(user_id=user_id, at=when, action_type="CORPORATE_VISIT", dwell_seconds=60, actions=2)


def corporate_earn(user_id: int, when: dt.datetime, tokens: int) -> None:
    factories.make_actions(
        user_id=user_id, at=[when], action_type="EARN_CYBER_TOKENS", earned_tokens=tokens, source="corporate"
    )


def purchase(user_id: int, when: dt.datetime, amount_paid: float, tokens: int = 100) -> None:
    factories.make_actions(
        user_id=user_id,
        at=[when],
        action_type="PURCHASE_CYBER_TOKENS",
        tokens=tokens,
        amount_paid=amount_paid,
        currency="KRW",
        payment_id=f"pay-{next(_seq)}",
    )


def ledger(user_id: int, when: dt.datetime, amount: int, kind: str = "EARN") -> int:
    from wallet.models import LedgerEntry

    return LedgerEntry.objects.create(
        player_id=user_id,
        idempotency_key=f"predictions-test:{next(_seq)}",
        request_hash="x",
        kind=kind,
        source="in_app",
        amount=amount,
        balance_after=max(amount, 0),
        created_at=when,
    ).id


def segment_change(user_id: int, when: dt.datetime, to_group: str, from_group: str | None = None) -> None:
    from segments.models import SegmentHistory

    SegmentHistory.objects.create(
        user_id=user_id,
        as_of=when.astimezone(KST).date(),
        from_group=from_group,
        to_group=to_group,
        frequency=0,
        monetary=0,
        corporate_tokens_30d=0,
        corporate_visits_30d=0,
        balance=0,
        created_at=when,
    )


def quiz_submission(user_id: int, when: dt.datetime, risk_profile: str) -> None:
    from quiz.models import QuizSubmission, QuizVersion

    QuizSubmission.objects.create(
        user_id=user_id,
        version=QuizVersion.objects.order_by("number")[0],
        answers={},
        risk_score=0,
        risk_profile=risk_profile,
        reward_sensitivity=0,
        token_preference="x",
        chasing=False,
        self_reported_harm=False,
        submitted_at=when,
    )


def unlock(user_id: int, when: dt.datetime, stage: int) -> None:
    from content.models import AdultContent, ContentUnlock

    content, _ = AdultContent.objects.get_or_create(
        stage=stage, defaults={"name": f"stage {stage}", "media_url": "https://example.com/m", "token_price": 10}
    )
    entry = ledger(user_id, when, -10, kind="SPEND")
    (act,) = factories.make_actions(user_id=user_id, at=[when], action_type="UNLOCK_CONTENT", spent_tokens=10)
    ContentUnlock.objects.create(
        user_id=user_id,
        content=content,
        stage=stage,
        spent_tokens=10,
        unlocked_at=when,
        ledger_entry_id=entry,
        action=act,
    )
