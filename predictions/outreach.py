"""What the service does with the predictions, within player protection (issue 17 item 5; docs/decisions/0031).

``invitations_send``: the "special invitation" push to players at risk of churning (scored as of a date with a churn
probability of at least ``PREDICTIONS_INVITATION_THRESHOLD``, active in the 30 days before it), at most once in
``PREDICTIONS_INVITATION_EVERY_DAYS``. It is a marketing push created through ``notifications.services``, whose policy
decides, once, whether it goes: held back for a cool-off, a self-exclusion, a nightly or self-reported harm marker or a
live harm signal, or past the marketing cap; held to the end of quiet hours (and checked again when it falls due).
Its text states what Company A really pays: its quiz mission's reward, to players that mission has not paid this month.

``vip_awards_grant``: the likely whales (the top decile by predicted LTV, not already Whale) get a VIP badge (a
``VipAward`` row) and a one-time reward, never when protected: a harm marker or live harm signal, a cool-off or
self-exclusion, or not a verified adult (19+ from an identity provider's birth date). Each award is one transaction
through the wallet's one write path, keyed once per player ever: the rules are checked under the wallet's lock, so a
re-run, a retry or a race grants nothing twice.

Writes (keyword-only, typed); the nightly task the lead wires calls ``players_score``, then these two.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from activity.selectors import players_active
from activity.services import reward_record
from core.exceptions import DomainError
from core.timezones import business_day_start
from notifications.services import Kind, Status, notification_create
from players.age import business_today, is_adult
from players.selectors import harm_marker_names, live_harm_signals, pause_reason
from players.services import player_lock
from predictions.messages import CHURN_INVITATION, VIP_AWARD
from predictions.models import ChurnInvitation, PlayerPrediction, VipAward
from segments.selectors import WHALE, players_in_group
from texts.catalog import text_render
from wallet.errors import IdempotencyKeyReused
from wallet.missions import COMPLETE_CORPORATE_QUIZ, mission_key, mission_reward
from wallet.selectors import ledger_entry_by_key
from wallet.services import wallet_grant

if TYPE_CHECKING:
    from players.models import Player
    from wallet.models import Wallet
    from wallet.services import LedgerResult

ACTIVE_DAYS = 30  # the dashboard's population: app activity in the 30 days before the as-of date (docs/metrics.md)
VIP_REWARD_TYPE = "vip_award"  # user_rewards.reward_type of the one-time reward


# --- the special invitation ---------------------------------------------------------------------------------------


@dataclass
class InvitationReport:
    """What ``invitations_send`` did. ``candidates`` = at risk and active; each is counted once under ``sent``
    (pushed now), ``deferred`` (held by quiet hours, sent when they end), ``held_back`` (by the policy's reason:
    cooling_off, self_excluded, harm_marker, live_harm_signal, frequency_cap), ``already_invited`` (an invitation
    in the last PREDICTIONS_INVITATION_EVERY_DAYS days) or ``nothing_to_offer`` (Company A's quiz paid them this
    month: the text would promise nothing true)."""

    as_of: dt.date
    candidates: int = 0
    sent: int = 0
    deferred: int = 0
    held_back: dict[str, int] = field(default_factory=dict)
    already_invited: int = 0
    nothing_to_offer: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "candidates": self.candidates,
            "sent": self.sent,
            "deferred": self.deferred,
            "held_back": dict(sorted(self.held_back.items())),
            "already_invited": self.already_invited,
            "nothing_to_offer": self.nothing_to_offer,
        }


def invitation_dedupe_key(*, player_id: int, as_of: dt.date) -> str:
    """The push's one key: a re-run for the same date finds it and sends nothing new."""
    return f"churn-invitation:{player_id}:{as_of.isoformat()}"


def invitations_send(*, as_of: dt.date, now: dt.datetime | None = None) -> InvitationReport:
    """The special invitation to every player scored as of ``as_of`` at or over the churn threshold and active in the
    30 days before it (business timezone), unless invited in the last PREDICTIONS_INVITATION_EVERY_DAYS days. One
    transaction per player, under the player's lock (the marketing cap's lock), so concurrent runs invite once."""
    now = now or timezone.now()
    report = InvitationReport(as_of=as_of)
    at_risk = dict(
        PlayerPrediction.objects.filter(
            as_of=as_of, churn_probability__gte=settings.PREDICTIONS_INVITATION_THRESHOLD
        ).values_list("user_id", "churn_probability")
    )
    until = business_day_start(as_of)
    active = players_active(
        player_ids=at_risk, since=business_day_start(as_of - dt.timedelta(days=ACTIVE_DAYS)), until=until
    )
    report.candidates = len(active)
    reward = mission_reward(COMPLETE_CORPORATE_QUIZ)
    month = business_today(now).strftime("%Y-%m")  # the quiz mission's period (corporate: the business month)
    held: Counter[str] = Counter()
    for player_id in sorted(active):
        outcome = _invite(
            player_id=player_id, as_of=as_of, churn_probability=at_risk[player_id], now=now, reward=reward, month=month
        )
        if outcome == "sent":
            report.sent += 1
        elif outcome == "deferred":
            report.deferred += 1
        elif outcome == "already_invited":
            report.already_invited += 1
        elif outcome == "nothing_to_offer":
            report.nothing_to_offer += 1
        else:
            held[outcome] += 1
    report.held_back = dict(held)
    return report


def _invite(
    *, player_id: int, as_of: dt.date, churn_probability: float, now: dt.datetime, reward: int, month: str
) -> str:
    """One player's invitation: its outcome (sent, deferred, already_invited, nothing_to_offer or the policy's
    reason for holding it back)."""
    with transaction.atomic():
        player = player_lock(player_id=player_id)  # a concurrent run for this player waits here, then finds the row
        every = dt.timedelta(days=settings.PREDICTIONS_INVITATION_EVERY_DAYS)
        if ChurnInvitation.objects.filter(user_id=player_id, as_of__gt=as_of - every).exists():
            return "already_invited"
        quiz_paid = mission_key(mission=COMPLETE_CORPORATE_QUIZ, player_id=player_id, period=month)
        if ledger_entry_by_key(idempotency_key=quiz_paid) is not None:
            return "nothing_to_offer"
        message = text_render(CHURN_INVITATION.key, player.locale, reward_tokens=reward)
        notification = notification_create(
            player_id=player_id,
            type=CHURN_INVITATION.key,
            kind=Kind.MARKETING,
            message=message,
            payload={
                "type": CHURN_INVITATION.key,
                "user_id": player_id,
                "mission": COMPLETE_CORPORATE_QUIZ,
                "reward_tokens": reward,
                "message": message,
            },
            dedupe_key=invitation_dedupe_key(player_id=player_id, as_of=as_of),
            now=now,
        )
        if notification.status == Status.SUPPRESSED:
            # Held back by protection or the cap: no invitation recorded, so it does not use up the fortnight.
            return notification.status_reason
        ChurnInvitation.objects.create(
            user_id=player_id,
            as_of=as_of,
            churn_probability=churn_probability,
            notification_id=notification.id,
            created_at=now,
        )
        held_until = notification.send_after
        return "deferred" if held_until is not None and held_until > now else "sent"


# --- the VIP award ------------------------------------------------------------------------------------------------


@dataclass
class VipReport:
    """What ``vip_awards_grant`` did. ``scored``: players scored as of the date with a predicted LTV above 0;
    ``top_decile``: the tenth of them (rounded up) with the highest; each of those is counted once under ``whales``
    (already Whale), ``already_awarded``, ``held_back`` (by reason: self_excluded, cooling_off, age_unverified,
    under_age, harm_marker, live_harm_signal) or ``awarded``."""

    as_of: dt.date
    scored: int = 0
    top_decile: int = 0
    whales: int = 0
    already_awarded: int = 0
    held_back: dict[str, int] = field(default_factory=dict)
    awarded: int = 0
    tokens_granted: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "scored": self.scored,
            "top_decile": self.top_decile,
            "whales": self.whales,
            "already_awarded": self.already_awarded,
            "held_back": dict(sorted(self.held_back.items())),
            "awarded": self.awarded,
            "tokens_granted": self.tokens_granted,
        }


class VipNotEligible(DomainError):
    """The player may not have the VIP award now (``reason``): refused under the wallet's lock, nothing written."""

    code = "vip_not_eligible"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Not eligible for the VIP award: {reason}.")
        self.reason = reason


def vip_award_key(*, player_id: int) -> str:
    """The reward's one ledger key: once per player, ever."""
    return f"vip-award:{player_id}"


def vip_bar(*, player: Player, now: dt.datetime) -> str | None:
    """Why ``player`` may not have the VIP award at ``now``, or None. A cool-off or self-exclusion; not a verified
    adult on the business calendar (``age_verified`` with a birth date, from an identity provider: the content rule,
    docs/decisions/0014); a nightly or self-reported harm marker; a live harm signal."""
    paused = pause_reason(player, now)
    if paused:
        return paused
    if not player.age_verified or player.birth_date is None:
        return "age_unverified"
    if not is_adult(player.birth_date, business_today(now)):
        return "under_age"
    if harm_marker_names(player_id=player.id):
        return "harm_marker"
    if live_harm_signals(player_id=player.id, now=now, tz=player.tzinfo):
        return "live_harm_signal"
    return None


def vip_awards_grant(*, as_of: dt.date, now: dt.datetime | None = None) -> VipReport:
    """The VIP badge and one-time reward of PREDICTIONS_VIP_REWARD_TOKENS to each whale candidate scored as of
    ``as_of`` (see the module docstring). The decile is cut before anyone is left out, so a protected player's place is
    not passed down to the next."""
    now = now or timezone.now()
    report = VipReport(as_of=as_of)
    scored = PlayerPrediction.objects.filter(as_of=as_of, ltv__gt=0)
    report.scored = scored.count()
    top = list(scored.order_by("-ltv", "user_id").values_list("user_id", "ltv")[: math.ceil(report.scored / 10)])
    report.top_decile = len(top)
    ids = [player_id for player_id, _ in top]
    whales = players_in_group(player_ids=ids, group=WHALE)
    awarded = _awarded_among(ids)
    held: Counter[str] = Counter()
    for player_id, ltv in top:
        if player_id in whales:
            report.whales += 1
            continue
        if player_id in awarded:
            report.already_awarded += 1
            continue
        outcome = _award(player_id=player_id, as_of=as_of, predicted_ltv=ltv, now=now)
        if outcome == "awarded":
            report.awarded += 1
            report.tokens_granted += settings.PREDICTIONS_VIP_REWARD_TOKENS
        elif outcome == "already_awarded":
            report.already_awarded += 1
        else:
            held[outcome] += 1
    report.held_back = dict(held)
    return report


def _awarded_among(player_ids: list[int]) -> set[int]:
    found: set[int] = set()
    for start in range(0, len(player_ids), 1000):
        chunk = player_ids[start : start + 1000]
        found.update(VipAward.objects.filter(user_id__in=chunk).values_list("user_id", flat=True))
    return found


def _award(*, player_id: int, as_of: dt.date, predicted_ltv: float, now: dt.datetime) -> str:
    """One award: awarded, already_awarded or the reason it was refused. The grant's transaction holds the wallet's
    lock: the rules are checked there on the player as read under it, and the badge, the ``user_rewards`` row and the
    push are written there; a second grant with the key (a re-run, a retry, a twin) is a replay and writes nothing."""
    tokens = settings.PREDICTIONS_VIP_REWARD_TOKENS

    def check(wallet: Wallet, _when: dt.datetime) -> None:
        reason = vip_bar(player=wallet.player, now=now)
        if reason is not None:
            raise VipNotEligible(reason)

    def record(result: LedgerResult) -> None:
        entry = result.entry
        VipAward.objects.create(
            user_id=player_id,
            as_of=as_of,
            predicted_ltv=predicted_ltv,
            reward_tokens=tokens,
            ledger_entry_id=entry.id,
            awarded_at=entry.created_at,
        )
        reward_record(
            player_id=player_id,
            reward_type=VIP_REWARD_TYPE,
            reward_value=tokens,
            awarded_at=entry.created_at,
            trigger_action_id=entry.action_id,
        )
        assert result.player is not None  # a new row: the player as read under the lock
        message = text_render(VIP_AWARD.key, result.player.locale, reward_tokens=tokens)
        notification_create(
            player_id=player_id,
            type=VIP_AWARD.key,
            kind=Kind.MARKETING,
            message=message,
            payload={"type": VIP_AWARD.key, "user_id": player_id, "reward_tokens": tokens, "message": message},
            dedupe_key=vip_award_key(player_id=player_id),
            now=now,
        )

    try:
        result = wallet_grant(
            player_id=player_id,
            amount=tokens,
            idempotency_key=vip_award_key(player_id=player_id),
            reason="VIP award",
            actor="predictions",
            check=check,
            on_recorded=record,
        )
    except VipNotEligible as refused:
        return refused.reason
    except IdempotencyKeyReused:  # granted before with another amount (the setting changed since)
        return "already_awarded"
    return "already_awarded" if result.replayed else "awarded"
