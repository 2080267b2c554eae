"""What the variants' admin shows beside each variant, from the apps that serve and learn from them.

``texts`` imports only ``core``: the figures (the bandit's posterior, the share of recent impressions) live in the
recommender's tables, so the recommender registers the function that reads them (``variant_figures_register``, in its
``AppConfig.ready``), as apps register scrape hooks with ``core.metrics``. Without one, the admin shows no figures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class VariantFigures:
    """One variant's figures: its posterior mean conversion rate over every RFM group (None before the nightly job
    counted it), and its share of its message's impressions in that locale over the last 7 days (None: none served)."""

    posterior_mean: float | None
    share_7d: float | None


VariantRef = tuple[str, str, str]  # (key, locale, name); name "" is the message's default text
FiguresReader = Callable[[Iterable[VariantRef]], Mapping[VariantRef, VariantFigures]]

_reader: FiguresReader | None = None


def variant_figures_register(reader: FiguresReader) -> None:
    """Set the function that reads the figures of a page of variants (one call per page)."""
    global _reader
    _reader = reader


def variant_figures(refs: Iterable[VariantRef]) -> Mapping[VariantRef, VariantFigures]:
    """The figures of ``refs`` (those the registered reader has), or none when no app registered one."""
    return {} if _reader is None else _reader(refs)
