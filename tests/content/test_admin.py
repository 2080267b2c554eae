"""The catalog is edited by staff in the admin; unlocks are only looked at there."""

from __future__ import annotations

import pytest

from content.models import AdultContent, ContentUnlock
from tests.content import helpers as h

pytestmark = pytest.mark.django_db


def test_staff_add_and_edit_a_stage(staff):
    # when staff add a stage, then raise its price and withdraw it
    response = staff.post(
        "/admin/content/adultcontent/add/",
        {
            "stage": 1,
            "name": "First",
            "description": "",
            "thumbnail_url": "",
            "media_url": "https://cdn.example.com/first.mp4",
            "required_segment_level": 0,
            "token_price": 100,
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content[:500]
    item = AdultContent.objects.get(stage=1)
    staff.post(
        f"/admin/content/adultcontent/{item.pk}/change/",
        {
            "stage": 1,
            "name": "First",
            "description": "",
            "thumbnail_url": "",
            "media_url": "https://cdn.example.com/first.mp4",
            "required_segment_level": 1,
            "token_price": 150,
        },
    )
    # then the stage is there as last saved
    item.refresh_from_db()
    assert (item.token_price, item.required_segment_level, item.is_active) == (150, 1, False)


def test_a_second_stage_under_a_taken_number_or_a_free_price_is_refused(staff):
    # given stage 1
    h.stage(1, 100)
    # when staff add another stage 1, and a stage priced 0
    taken = staff.post(
        "/admin/content/adultcontent/add/",
        {
            "stage": 1,
            "name": "Again",
            "media_url": "https://cdn.example.com/a.mp4",
            "token_price": 50,
            "required_segment_level": 0,
        },
    )
    free = staff.post(
        "/admin/content/adultcontent/add/",
        {
            "stage": 2,
            "name": "Free",
            "media_url": "https://cdn.example.com/f.mp4",
            "token_price": 0,
            "required_segment_level": 0,
        },
    )
    # then both forms come back with errors and nothing is added
    assert taken.status_code == free.status_code == 200
    assert AdultContent.objects.count() == 1


def test_staff_see_unlocks_but_cannot_add_change_or_delete_them(staff):
    # given an unlock
    h.player(9100)
    h.give(9100, 500)
    item = h.stage(1, 100)
    from content.services import content_unlock

    content_unlock(player_id=9100, content_id=item.id, idempotency_key="admin")
    unlock = ContentUnlock.objects.get()
    # when staff open the list, the row, and try to add or delete
    # then they can look, and nothing else
    assert staff.get("/admin/content/contentunlock/").status_code == 200
    assert staff.get(f"/admin/content/contentunlock/{unlock.pk}/change/").status_code == 200
    assert staff.get("/admin/content/contentunlock/add/").status_code == 403
    assert staff.post(f"/admin/content/contentunlock/{unlock.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ContentUnlock.objects.count() == 1
