"""A small synthetic population with a real signal, for training and scoring tests (seconds, not minutes).

Each player has a session rate (sessions a day, lognormal); a third stop for good at a random day; payers (a rate-
weighted share) buy now and then, more often the more they play. So frequency, recency and past purchases predict
the labels, as they do in a real log.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from tests.predictions.helpers import KST

DAYS = 70
END = dt.date(2026, 11, 20)  # the day after the last day of history: the training's as-of
START = END - dt.timedelta(days=DAYS)


def build(players: int = 300, seed: int = 7) -> list[int]:
    from activity.models import UserAction
    from players.models import Player

    rng = np.random.default_rng(seed)
    first_id = 5_000_000
    ids = list(range(first_id, first_id + players))
    Player.objects.bulk_create([Player(id=i) for i in ids])
    rate = rng.lognormal(np.log(0.5), 0.9, players)
    stops = np.where(rng.random(players) < 0.35, rng.integers(5, DAYS, players), DAYS)
    payer = rng.random(players) < np.clip(rate / 2, 0.05, 0.8)
    rows = []
    n = 0
    for k, user_id in enumerate(ids):
        for day in range(int(stops[k])):
            sessions = rng.poisson(rate[k])
            for _ in range(sessions):
                when = dt.datetime.combine(START + dt.timedelta(days=day), dt.time(int(rng.integers(8, 24))), KST)
                n += 1
                rows.append(
                    UserAction(
                        event_id=f"pop-{n}",
                        user_id=user_id,
                        action_type="SESSION_START",
                        metadata={},
                        action_timestamp=when,
                    )
                )
                if payer[k] and rng.random() < 0.15:
                    n += 1
                    rows.append(
                        UserAction(
                            event_id=f"pop-{n}",
                            user_id=user_id,
                            action_type="PURCHASE_CYBER_TOKENS",
                            metadata={
                                "tokens": 100,
                                "amount_paid": 1100 * int(rng.integers(1, 5)),
                                "currency": "KRW",
                                "payment_id": f"p{n}",
                            },
                            action_timestamp=when + dt.timedelta(minutes=1),
                        )
                    )
    UserAction.objects.bulk_create(rows, batch_size=5000)
    return ids
