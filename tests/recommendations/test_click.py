"""POST /api/recommendations/{proposal_id}/click (design brief section 5): a player clicks their own proposals
only, once; and the proposal ids that make that checkable without the impression row."""

from __future__ import annotations

import datetime as dt
import os
import uuid

import pytest
from django.utils import timezone

from recommendations.models import RecommendationImpression
from recommendations.proposal_ids import proposal_id_new, proposal_id_verify, proposal_ids_new
from tests.recommendations import helpers as h

pytestmark = pytest.mark.django_db

PID = 5300
OTHER = 5301


def served_ids(client) -> list[str]:
    response = client.get("/api/me/recommendations")
    assert response.status_code == 200
    return [p["id"] for p in response.json()["proposals"]]


def test_a_player_clicks_their_own_proposal(player_client_factory):
    # given a player who was served proposals
    h.player(PID)
    client = player_client_factory(PID)
    first = served_ids(client)[0]
    # when they click the first one
    response = client.post(f"/api/recommendations/{first}/click")
    # then the click is recorded on its impression
    assert response.status_code == 200, response.content
    answer = response.json()
    assert (answer["id"], answer["first_click"]) == (first, True)
    row = RecommendationImpression.objects.get(proposal_id=first)
    assert row.clicked_at is not None
    assert row.clicked_at == dt.datetime.fromisoformat(answer["clicked_at"].replace("Z", "+00:00"))
    assert RecommendationImpression.objects.filter(user_id=PID, clicked_at__isnull=False).count() == 1


def test_a_repeated_click_changes_nothing(player_client_factory):
    # given a player who clicked a proposal once
    h.player(PID)
    client = player_client_factory(PID)
    pid = served_ids(client)[0]
    first = client.post(f"/api/recommendations/{pid}/click").json()
    # when they click it again
    again = client.post(f"/api/recommendations/{pid}/click")
    # then the answer is the first click's, marked as a repeat, and the row keeps the first time
    assert again.status_code == 200
    assert again.json() == {**first, "first_click": False}
    assert RecommendationImpression.objects.get(proposal_id=pid).clicked_at == dt.datetime.fromisoformat(
        first["clicked_at"].replace("Z", "+00:00")
    )


def test_another_players_proposal_is_not_found(player_client_factory):
    # given a proposal served to one player
    h.player(PID)
    h.player(OTHER)
    pid = served_ids(player_client_factory(PID))[0]
    # when another player clicks it
    response = player_client_factory(OTHER).post(f"/api/recommendations/{pid}/click")
    # then 404 in the error envelope, and the proposal stays unclicked
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert RecommendationImpression.objects.get(proposal_id=pid).clicked_at is None


@pytest.mark.parametrize("proposal_id", ["not-a-uuid", str(uuid.uuid4()), "00000000-0000-8000-8000-000000000000"])
def test_unknown_ids_are_not_found(player_client_factory, proposal_id):
    # given a player and an id never served (malformed, a random v4, a v8 with a wrong tag)
    h.player(PID)
    # when they click it
    response = player_client_factory(PID).post(f"/api/recommendations/{proposal_id}/click")
    # then 404 in the error envelope, and nothing is written
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert not RecommendationImpression.objects.exists()


def test_only_players_click(service_client, api_client):
    # given a proposal id served to a player
    pid = proposal_id_new(PID)
    # when a service and an anonymous caller click it
    # then 403 and 401
    assert service_client.post(f"/api/recommendations/{pid}/click").status_code == 403
    assert api_client.post(f"/api/recommendations/{pid}/click").status_code == 401


def test_a_click_before_its_impression_is_written_is_kept(player_client_factory, production_impression_buffer):
    # given a player served proposals whose impressions still wait in a buffer (as in another process)
    h.player(PID)
    buffer = production_impression_buffer
    client = player_client_factory(PID)
    ids = served_ids(client)
    assert not RecommendationImpression.objects.exists()
    # when the player clicks the second proposal, and only then the buffer is written
    click = client.post(f"/api/recommendations/{ids[1]}/click")
    buffer.stop()
    # then the click was accepted, and after the write the impression has its details and still the click
    assert click.status_code == 200 and click.json()["first_click"] is True
    row = RecommendationImpression.objects.get(proposal_id=ids[1])
    assert row.clicked_at is not None
    assert (row.user_id, row.position) == (PID, 1)
    assert row.proposal_type != ""
    assert RecommendationImpression.objects.filter(user_id=PID).count() == len(ids)
    assert RecommendationImpression.objects.filter(clicked_at__isnull=False).count() == 1


def test_a_proposal_id_proves_its_player_and_time():
    # given an id made for a player at a known millisecond
    served_at = dt.datetime(2026, 11, 20, 3, 0, 0, 123000, tzinfo=dt.UTC)
    pid = proposal_id_new(PID, served_ms=int(served_at.timestamp() * 1000))
    # when it is checked for that player, another player, and with one character changed
    mine = proposal_id_verify(pid, PID)
    other = proposal_id_verify(pid, OTHER)
    flipped = pid[:-1] + ("0" if pid[-1] != "0" else "1")
    # then only the first holds, with the time it was served
    assert mine is not None and mine[1] == served_at and str(mine[0]) == pid
    assert uuid.UUID(pid).version == 8
    assert other is None
    assert proposal_id_verify(flipped, PID) is None


def test_proposal_ids_are_unique_and_time_ordered():
    # given ids made a millisecond apart and many in the same millisecond
    now_ms = int(timezone.now().timestamp() * 1000)
    same = {proposal_id_new(PID, served_ms=now_ms) for _ in range(10_000)}
    # when they are compared
    later = proposal_id_new(PID, served_ms=now_ms + 1)
    # then none repeats and a later one sorts after every earlier one
    assert len(same) == 10_000
    assert all(later > pid for pid in same)


def test_the_ids_of_one_answer_each_prove_their_player():
    # given the ids made together for one answer
    ids = proposal_ids_new(PID, 4)
    # when each is checked for the player and for another one
    # then they differ, and each holds for the player only
    assert len(set(ids)) == 4
    assert all(proposal_id_verify(pid, PID) is not None and proposal_id_verify(pid, OTHER) is None for pid in ids)


def test_a_forked_worker_draws_other_ids_than_its_parent():
    # given a parent process and a child forked from it (a server's workers are forked)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: its ids for a fixed millisecond, to the pipe
        os.write(write, ",".join(proposal_ids_new(PID, 5, served_ms=1)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        theirs = set(pipe.read().split(","))
    os.waitpid(child, 0)
    # when the parent makes ids for the same millisecond
    mine = set(proposal_ids_new(PID, 5, served_ms=1))
    # then none is shared: the random bits are reseeded in the child
    assert len(theirs) == 5 and not mine & theirs
