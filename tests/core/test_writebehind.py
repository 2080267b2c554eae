"""The per-process write-behind buffer: rows written in bulk by size, by age, at stop; at once without a delay."""

from __future__ import annotations

from collections.abc import Callable

from core.writebehind import WriteBehind
from tests.waiting import wait_for


def test_without_a_delay_each_add_is_written_at_once():
    # given a buffer with no delay
    batches: list[list[int]] = []
    buffer = WriteBehind(batches.append, name="test", max_age=0)
    # when rows are added twice
    buffer.add([1, 2])
    buffer.add([3])
    # then each add was one write, on the caller's thread, and nothing waits
    assert batches == [[1, 2], [3]]
    assert buffer.pending() == 0 and buffer._thread is None


def test_rows_added_within_the_delay_are_written_together():
    # given a buffer that writes every 0.2 s
    batches: list[list[int]] = []
    buffer = WriteBehind(batches.append, name="test", max_age=0.2)
    # when three rows are added one by one, quickly
    for row in (1, 2, 3):
        buffer.add([row])
    # then nothing is written yet, and after the delay they are written in one batch
    assert batches == []
    assert wait_for(lambda: batches == [[1, 2, 3]])
    buffer.stop()


def test_a_full_buffer_is_written_without_waiting_for_the_delay():
    # given a buffer of 10 rows with a delay far longer than the test
    batches: list[list[int]] = []
    buffer = WriteBehind(batches.append, name="test", max_rows=10, max_age=60)
    # when 10 rows arrive
    buffer.add(range(10))
    # then they are written now
    assert wait_for(lambda: sum(len(b) for b in batches) == 10)
    buffer.stop()


def test_stop_writes_what_is_left():
    # given rows waiting in a buffer with a long delay
    batches: list[list[int]] = []
    buffer = WriteBehind(batches.append, name="test", max_age=60)
    buffer.add([7, 8])
    # when it is stopped (a shutdown)
    buffer.stop()
    # then the rows were written and the thread is gone
    assert batches == [[7, 8]]
    assert buffer._thread is not None and not buffer._thread.is_alive()


def failing_once(batches: list[list[int]]) -> Callable[[list[int]], None]:
    """A writer whose first call fails (a database or Redis down) and whose next calls append to ``batches``."""
    failures = [RuntimeError("store down")]

    def write(rows: list[int]) -> None:
        if failures:
            raise failures.pop()
        batches.append(rows)

    return write


def test_a_failed_write_drops_that_batch_counts_it_and_the_next_one_goes_through(caplog):
    # given a writer that fails once
    batches: list[list[int]] = []
    buffer = WriteBehind(failing_once(batches), name="test", max_age=0)
    # when two adds run, the first failing
    buffer.add([1])
    buffer.add([2])
    # then the first batch is dropped and logged, the second written
    assert (buffer.dropped, buffer.written, batches) == (1, 1, [[2]])
    assert "could not be written" in caplog.text


def test_the_thread_goes_on_when_its_connection_check_fails(monkeypatch, caplog):
    # given a database whose connection check fails (down, or refusing this thread)
    def refuse() -> None:
        raise RuntimeError("database unavailable")

    monkeypatch.setattr("core.writebehind.close_old_connections", refuse)
    batches: list[list[int]] = []
    buffer = WriteBehind(batches.append, name="test", max_age=0.05)
    # when rows arrive over two of the thread's rounds
    buffer.add([1])
    assert wait_for(lambda: batches == [[1]])
    buffer.add([2])
    # then the thread logged the failed check, kept running and wrote both
    assert wait_for(lambda: batches == [[1], [2]])
    assert buffer._thread is not None and buffer._thread.is_alive()
    assert "could not check this thread's database connection" in caplog.text
    buffer.stop()
