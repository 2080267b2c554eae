"""Analytics tests run the real RFM batch: they start from the spec's default rules (a transactional test elsewhere
may have emptied the table its data migration filled)."""

from __future__ import annotations

import importlib

import pytest

DEFAULT_RULES = importlib.import_module("segments.migrations.0002_default_rules").DEFAULT_RULES


@pytest.fixture(autouse=True)
def _default_rules(request: pytest.FixtureRequest) -> None:
    if "django_db_setup" not in request.fixturenames:  # the test uses no database
        return
    from segments.models import SegmentRule

    if not SegmentRule.objects.exists():
        for fields in DEFAULT_RULES:
            SegmentRule.objects.create(**fields)
