"""The adaptive loop's records in the admin (issue 18 item 5): staff read them; nothing is added or changed there."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from recommendations.weights import weights_recalculate
from tests import factories
from tests.recommendations.loop_helpers import T0, play, player, serve

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "model", ["proposalconversion", "proposaldailystat", "proposalupliftday", "variantposterior", "attributionstate"]
)
def test_staff_read_the_loops_records_and_cannot_add_one(model):
    # given a night's job over one converted proposal, and staff signed in
    player(1)
    serve(1, "MID_STAKE", T0, game="SlotMachine")
    play(1, T0 + dt.timedelta(hours=1))
    weights_recalculate(now=T0 + dt.timedelta(days=1))
    staff = Client()
    staff.force_login(factories.make_staff_user())
    # when they open the list and the add form
    listing = staff.get(f"/admin/recommendations/{model}/")
    adding = staff.get(f"/admin/recommendations/{model}/add/")
    # then the list shows, and adding is refused
    assert listing.status_code == 200
    assert adding.status_code == 403
