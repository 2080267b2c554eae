"""RFM's M counts unlock spending (issue 15), through the nightly batch: an unlock made through the unlock path
yesterday is in the player's M tonight, beside their game buy-ins."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from content.services import content_unlock
from segments.models import UserSegment
from tests.content import helpers as h
from tests.wallet.helpers import spend_at

pytestmark = pytest.mark.django_db

PID = 8600


def test_the_nightly_batch_counts_an_unlock_in_m():
    # given a verified adult who yesterday spent 1,500 on a game and 2,000 on a content unlock, through the wallet
    h.player(PID)
    h.give(PID, 5_000)
    item = h.stage(1, 2_000)
    yesterday = timezone.now() - dt.timedelta(days=1)
    spend_at(PID, 1_500, yesterday)
    content_unlock(player_id=PID, content_id=item.id, idempotency_key="rfm", now=yesterday + dt.timedelta(minutes=1))
    # when tonight's batch runs (every nightly job, as beat would run them)
    call_command("run_nightly", stdout=StringIO())
    # then M is both spends: 3,500
    row = UserSegment.objects.get(user_id=PID)
    assert row.monetary == 3_500
