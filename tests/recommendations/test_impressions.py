"""The impression buffer (``recommendations.impressions``): rows written in bulk, by size or by age from its thread,
never inside the request that served them."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from recommendations.impressions import ImpressionRow, impression_buffer_new
from recommendations.models import RecommendationImpression
from recommendations.proposal_ids import proposal_id_new
from recommendations.services import impressions_record
from tests.recommendations.helpers import written_by
from tests.waiting import wait_for

PID = 5400


@pytest.fixture
def new_buffer():
    """``impression_buffer_new``, with every buffer it made stopped at teardown, even when the test failed: a
    thread left running would write into later tests."""
    made = []

    def make(**options):
        buffer = impression_buffer_new(**options)
        made.append(buffer)
        return buffer

    yield make
    for buffer in made:
        buffer.stop()


def rows(n: int, user_id: int = PID) -> list[ImpressionRow]:
    now = timezone.now()
    return [
        ImpressionRow(
            proposal_id_new(user_id),
            user_id,
            "MID_STAKE",
            "token_balance",
            i % 3,
            "SlotMachine",
            None,
            {"rule": "token_balance", "token_balance": 250, "at": now},
            now,
        )
        for i in range(n)
    ]


@pytest.mark.django_db
def test_many_impressions_are_written_by_one_insert(new_buffer):
    # given 60 impressions waiting in a buffer that would write only in an hour
    buffer = new_buffer(max_rows=10_000, max_age=3600)
    buffer.add(rows(60))
    assert RecommendationImpression.objects.count() == 0
    # when it is flushed
    with CaptureQueriesContext(connection) as queries:
        written = buffer.flush()
    buffer.stop()
    # then one INSERT wrote all 60, details and all (after one SELECT: the count against the daily bound)
    assert written == 60
    assert written_by(queries) == ["SELECT", "INSERT"]
    assert RecommendationImpression.objects.count() == 60
    row = RecommendationImpression.objects.first()
    assert row is not None
    assert (row.proposal_type, row.rule, row.game, row.action, row.clicked_at) == (
        "MID_STAKE",
        "token_balance",
        "SlotMachine",
        "",
        None,
    )
    assert row.reason["token_balance"] == 250


@pytest.mark.django_db
def test_writing_the_same_impressions_twice_keeps_one_row_each():
    # given 10 impressions written once
    batch = rows(10)
    impressions_record(rows=batch)
    # when they are written again (a retried flush)
    impressions_record(rows=batch)
    # then there are still 10 rows
    assert RecommendationImpression.objects.count() == 10


@pytest.mark.django_db
def test_synchronous_mode_writes_at_once(new_buffer):
    # given a buffer configured with no delay (the embedded default and the tests)
    buffer = new_buffer(max_rows=500, max_age=0)
    # when rows are added
    buffer.add(rows(3))
    # then they are in the table already, and no thread was started
    assert RecommendationImpression.objects.count() == 3
    assert buffer._thread is None


@pytest.mark.django_db(transaction=True)
def test_the_thread_writes_a_full_buffer_without_waiting_for_its_age(new_buffer):
    # given a buffer of 50 rows that would otherwise write every hour
    buffer = new_buffer(max_rows=50, max_age=3600)
    # when 49 rows are added, then 2 more
    buffer.add(rows(49))
    time.sleep(0.2)
    before = RecommendationImpression.objects.count()
    buffer.add(rows(2))
    # then nothing was written before the buffer was full, and all 51 soon after, by the thread
    # (waiting on the buffer's own count: a read polling the table could hold SQLite's shared-cache test database
    # just when the thread writes, and make that write fail)
    assert before == 0
    assert wait_for(lambda: buffer.written == 51)
    assert RecommendationImpression.objects.count() == 51
    assert buffer.pending() == 0


@pytest.mark.django_db(transaction=True)
def test_the_thread_writes_a_buffer_once_it_is_old_enough(new_buffer):
    # given a buffer that writes every 0.3 s or at 10,000 rows
    buffer = new_buffer(max_rows=10_000, max_age=0.3)
    # when 5 rows are added
    started = time.monotonic()
    buffer.add(rows(5))
    # then the thread writes them within about its age
    assert wait_for(lambda: buffer.written == 5, seconds=3)
    assert time.monotonic() - started < 2
    assert RecommendationImpression.objects.count() == 5


@pytest.mark.django_db(transaction=True)
def test_a_failed_write_drops_the_batch_and_the_next_one_is_written(new_buffer):
    # given a buffer holding a row no table can take (a proposal id that is not a UUID)
    buffer = new_buffer(max_rows=10_000, max_age=3600)
    buffer.add([rows(1)[0]._replace(proposal_id="not-a-uuid")])
    # when it is flushed, and then good rows are added and flushed
    first = buffer.flush()
    buffer.add(rows(2))
    second = buffer.flush()
    buffer.stop()
    # then the bad batch is dropped and counted, and the good one written
    assert (first, second, buffer.dropped, buffer.written) == (0, 2, 1, 2)
    assert RecommendationImpression.objects.count() == 2


def test_rows_carry_aware_times():
    # given a row
    row = rows(1)[0]
    # then its serving time is aware (stored as UTC)
    assert row.served_at.tzinfo is not None
    assert row.served_at - timezone.now() < dt.timedelta(seconds=5)
