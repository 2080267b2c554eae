"""An unlock is spending for protection in the moment too: a burst of unlocks sets off the live spend-velocity signal,
and with it the content proposal goes and the limit suggestion comes first."""

from __future__ import annotations

from typing import Any

import pytest

from tests.content import helpers as h

pytestmark = pytest.mark.django_db(transaction=True)  # the live state is written after commit

PID = 8700


def unlock(client: Any, content_id: int, key: str) -> Any:
    return client.post(f"/api/me/content/{content_id}/unlock", {"idempotency_key": key}, format="json")


def test_a_burst_of_unlocks_sets_off_the_spend_velocity_signal(player_client_factory):
    # given a verified adult with 5,000 tokens and no spending norm yet, and stages of 1,200, 1,000 and 1,000
    h.player(PID)
    h.give(PID, 5_000)
    one, two = h.stage(1, 1_200), h.stage(2, 1_000)
    h.stage(3, 1_000)
    me = player_client_factory(PID)
    # when they unlock stages 1 and 2 within minutes (2,200 tokens)
    assert unlock(me, one.id, "a").status_code == 201
    assert unlock(me, two.id, "b").status_code == 201
    # then the spend-velocity signal holds on those unlocks: the limit suggestion leads, and stage 3 is not proposed
    answer = me.get("/api/me/recommendations").json()
    kinds = [p["type"] for p in answer["proposals"]]
    assert kinds[0] == "LIMIT_SUGGESTION"
    assert answer["proposals"][0]["reason"]["live_signals"]["LIVE_SPEND_VELOCITY"]["spent"] == 2_200
    assert "CONTENT_STAGE" not in kinds
    # and it was kept back by the signal (stage 3 is next and the 2,800 left hold its price)
    assert {"type": "CONTENT_STAGE", "reason": answer["proposals"][0]["reason"]} in answer["suppressed"]
