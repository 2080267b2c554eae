from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.writebehind import WriteBehind
from recommendations.impressions import ServedRow, impression_buffer_new, impression_buffer_set


@pytest.fixture
def production_impression_buffer() -> Iterator[WriteBehind[ServedRow]]:
    """This process's impressions go to a buffer that writes only when flushed (as in production, where a thread
    writes it every second), for the test's duration."""
    buffer = impression_buffer_new(max_rows=10_000, max_age=3600)
    previous = impression_buffer_set(buffer)
    yield buffer
    buffer.stop()
    impression_buffer_set(previous)
