"""A population built to hit every edge of the analytics figures (docs/metrics.md), and the same written late.

Business timezone Asia/Seoul (KST, UTC+9); "today" is ``TODAY``. Each player is one edge: actions at 23:59 and 00:00
business time, players on other clocks (New York across its clock change, London, Kolkata's half hour), a player
active only at Company A, the Company A loop's edges (a spend 7 days after the earn, a spend before the earn, a spend
8 days after, a spend a second after), a cohort whose day 30 is not reached, a purchaser (and a refund), a Whale, a
player in the gap between the RFM groups, proposals served either side of midnight, ledger rows either side of midnight.
"""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo
from dataclasses import dataclass, field

from django.utils import timezone

from segments import services as segment_services
from tests import factories

KST = zoneinfo.ZoneInfo("Asia/Seoul")
TODAY = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=KST)
FIRST = dt.date(2026, 10, 2)
_seq = itertools.count(1)


def kst(month: int, day: int, hour: int = 12, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, second, tzinfo=KST)


@dataclass
class Population:
    ids: dict[str, int] = field(default_factory=dict)


def _acts(user_id: int, at: list[dt.datetime], action_type: str = "SESSION_START", **metadata: object) -> None:
    factories.make_actions(user_id=user_id, at=at, action_type=action_type, **metadata)


def _play(user_id: int, at: list[dt.datetime], game: str = "SlotMachine") -> None:
    _acts(user_id, at, "GAME_PLAY", game=game, bet=10, payout=0, result="loss")


def _spend(user_id: int, at: dt.datetime, tokens: int, game: str = "SlotMachine") -> None:
    _acts(user_id, [at], "SPEND_CYBER_TOKENS", spent_tokens=tokens, game=game)


def _earn(user_id: int, at: dt.datetime, tokens: int, source: str = "corporate") -> None:
    _acts(user_id, [at], "EARN_CYBER_TOKENS", earned_tokens=tokens, source=source)


def _ledger(user_id: int, at: dt.datetime, amount: int, balance_after: int, kind: str = "EARN") -> None:
    from wallet.models import LedgerEntry

    LedgerEntry.objects.create(
        player_id=user_id,
        idempotency_key=f"analytics-test:{next(_seq)}",
        request_hash="x",
        kind=kind,
        source="in_app",
        amount=amount,
        balance_after=balance_after,
        created_at=at,
    )


def _impression(user_id: int, at: dt.datetime, proposal_type: str, clicked: bool, holdout: bool = False) -> None:
    import uuid

    from recommendations.models import RecommendationImpression

    RecommendationImpression.objects.create(
        proposal_id=uuid.uuid4(),
        user_id=user_id,
        proposal_type=proposal_type,
        rule="test",
        position=0,
        served_at=at,
        clicked_at=at + dt.timedelta(minutes=5) if clicked else None,
        holdout=holdout,
    )


def build() -> Population:
    pop = Population()

    def player(name: str, tz: str = "Asia/Seoul", locale: str = "ko") -> int:
        pop.ids[name] = factories.make_player(timezone=tz, locale=locale).id
        return pop.ids[name]

    # Midnight: 23:59 and 00:00 business time are two days; cohort 10-02 is active on day 30 (11-01) and after.
    a = player("midnight")
    _acts(a, [kst(10, 2)])
    _play(a, [kst(11, 1, 23, 59), kst(11, 2, 0, 0)])
    # New York across its clock change (2026-11-01 02:00 EDT -> 01:00 EST), in business time 10-31 and 11-01.
    b = player("new_york", "America/New_York", "en")
    _acts(b, [kst(10, 31, 23, 30), kst(11, 1, 14, 30), kst(11, 1, 15, 30), kst(11, 1, 20, 0)])
    # Company A only: visits and earns, never the app.
    c = player("company_a_only")
    _acts(c, [kst(11, 5, 9)], "CORPORATE_VISIT", dwell_seconds=60, actions=2)
    _earn(c, kst(11, 5, 9, 5), 500)
    # The loop: earn 11-10 10:00, spend 11-17 09:00 (day 7: in).
    d = player("loop_day7", "Asia/Kolkata")
    _acts(d, [kst(11, 9)])
    _earn(d, kst(11, 10, 10), 300)
    _spend(d, kst(11, 17, 9), 40)
    # The loop: a spend before the earn on its day and one on day 8 (out).
    e = player("loop_day8", "Europe/London")
    _spend(e, kst(11, 10, 9), 20)
    _earn(e, kst(11, 10, 10), 300)
    _spend(e, kst(11, 18, 9), 20, game="Roulette")
    # The loop: a spend one second after the earn (in); the earn at 23:59:59, the spend at 00:00:00 the next day.
    f = player("loop_same_day")
    _earn(f, kst(11, 12, 10), 200)
    _spend(f, kst(11, 12, 10, 0, 1), 10, game="RPSGame")
    _earn(f, kst(11, 13, 23, 59, 59), 100)
    _spend(f, kst(11, 14, 0, 0, 0), 10)
    # A cohort whose day 30 is not reached: first active 11-05, back on days 1, 7 and 14.
    g = player("cohort_open")
    _acts(g, [kst(11, 5), kst(11, 6, 23, 59), kst(11, 12, 0, 0), kst(11, 19)])
    # A purchaser, and an unlock and rewards.
    h = player("purchaser", locale="en")
    _acts(h, [kst(10, 25)], "PURCHASE_CYBER_TOKENS", tokens=1000, amount_paid=9.9, currency="KRW", payment_id="p-1")
    _acts(h, [kst(10, 26)], "UNLOCK_CONTENT", content_id=7, stage=1, spent_tokens=50)
    _earn(h, kst(10, 26, 13), 25, source="reward")
    _earn(h, kst(10, 27, 13), 15, source="in_app")
    _acts(h, [kst(10, 27, 14)], "QUIZ_ANSWER", question="q1", answer="a")
    # In the gap between the groups: F = 20 in the window, M = 0, R = 1 as of 11-20.
    i = player("gap", "Asia/Seoul")
    _play(i, [kst(11, 10 + k % 10, 8 + k % 12) for k in range(20)])
    # A Whale as of 11-20 (R = 1, F = 31, M = 10,000); Low as of 11-19 (its spend is on 11-19).
    w = player("whale")
    _play(w, [kst(11, 1 + k % 18, 21) for k in range(30)], game="Roulette")
    _spend(w, kst(11, 19, 22), 10_000, game="Roulette")
    # Ledger rows either side of midnight (the outstanding balance and net issuance by the ledger's time).
    _ledger(h, kst(10, 25, 23, 59, 59), 1000, 1000, "PURCHASE")
    _ledger(h, kst(10, 26, 0, 0, 0), -50, 950, "SPEND")
    _ledger(w, kst(11, 19, 22), 12_000, 12_000)
    _ledger(w, kst(11, 19, 22, 1), -10_000, 2_000, "SPEND")
    # A refund at the last second of a day (the tokens it took back count for that day, apart from the purchase).
    _ledger(h, kst(10, 28, 23, 59, 59), -600, 350, "REFUND")
    # Proposals either side of midnight, to a player whose group changes at it.
    _impression(w, kst(11, 19, 23, 59), "MID_STAKE", clicked=True)
    _impression(w, kst(11, 20, 0, 0), "HIGH_STAKE", clicked=False)
    _impression(w, kst(11, 20, 0, 1), "HIGH_STAKE", clicked=True)
    _impression(i, kst(11, 20, 1), "EARN_MORE", clicked=False)
    _impression(h, kst(11, 19, 8), "EARN_MORE", clicked=True)
    _impression(h, kst(11, 19, 9), "EARN_MORE", clicked=False, holdout=True)  # withheld, never shown: not counted
    # The nightly RFM runs of 11-19 and 11-20 (history, user_segments, the rules' coverage).
    for as_of in (dt.date(2026, 11, 19), TODAY):
        segment_services.segment_batch_run(as_of=as_of, pay_rewards=False, trigger="test")
    return pop


def add_late(pop: Population) -> None:
    """Actions logged after the days were rolled up, stamped with those days: a new player's first day in the past,
    an earlier first day for the open cohort, the day-8 loop player spending on day 7, a ledger correction, a chargeback
    of the Whale's tokens."""
    late = factories.make_player(timezone="Asia/Seoul").id
    pop.ids["late"] = late
    _acts(late, [kst(10, 15, 0, 0), kst(10, 16, 23, 59)])
    _play(pop.ids["cohort_open"], [kst(11, 4, 23, 59)])
    _spend(pop.ids["loop_day8"], kst(11, 17, 23, 59), 5)
    _acts(pop.ids["midnight"], [kst(11, 20, 9)], "VIEW_CONTENT", content_id=3)
    _ledger(pop.ids["purchaser"], kst(10, 20, 0, 0), 7, 7, "ADJUST")
    _ledger(pop.ids["whale"], kst(11, 20, 0, 0), -2_000, 0, "REFUND")


def now() -> dt.datetime:
    return NOW.astimezone(timezone.get_current_timezone())
