from __future__ import annotations

import pytest

from activity.models import UserAction
from tests.factories import action, game_play

pytestmark = pytest.mark.django_db


def test_batch_is_stored_and_replays_count_as_duplicates(service_client):
    # given a batch of three actions
    batch = [action(user_id=7), game_play(user_id=7), action(user_id=8, action_type="VIEW_CONTENT", content_id=3)]
    # when it is posted twice
    first = service_client.post("/api/actions", {"actions": batch}, format="json")
    second = service_client.post("/api/actions", {"actions": batch}, format="json")
    # then the first stores all three and the replay stores none
    assert first.status_code == 200, first.content
    assert first.json() == {"stored": 3, "duplicates": 0}
    assert second.json() == {"stored": 0, "duplicates": 3}
    assert UserAction.objects.count() == 3
