"""Which wording of a proposal a player sees: Thompson sampling over the message's variants (spec 2.5.2, issue 18;
docs/decisions/0034).

The engine decides first, and its rules and every protection rule stay hard: this module only chooses the text of a
proposal the engine made, from the message the engine rendered (``Proposal.message_key``) and with the same values
(``Proposal.params``). It never adds, removes or reorders a proposal and never changes a stake, a game or a type.

Candidates for a proposal: the message's default text (variant "", the engine's own text, an operator's override
included) and its active variants in the player's locale (``texts.catalog.variants``). A pinned variant is served to
everyone (no draw); a stopped one never is. Otherwise each candidate gets a draw from its Beta(alpha, beta) for the
player's RFM group and locale (``VariantPosterior``, written by the nightly job; a candidate without a row has
Beta(1, 1), a fair start, and before the first nightly run every candidate has) and the highest draw is served.

Stable for a player within a business day: each candidate's draw comes from its own stream of uniforms, BLAKE2b of
(player id, business date, message key, locale, variant name) and a counter (not Python's ``hash``, which changes per
process), so every process draws the same for the same player that day, a new day draws again, and adding a variant
leaves the other candidates' draws as they were. A variant that cannot be rendered with the player's values gives way
to the default text (recorded as the default: that is what was shown).

Protected players (a cool-off or self-exclusion, a spend limit used up, a nightly harm marker or a live harm signal:
``serving_protected``) and holdout players are served the default text and their impressions are not counted
(``learning = False``): the loop neither experiments on them nor learns from them.

No database round trip per request: the variants are kept per process as the texts are (``TEXTS_CACHE_SECONDS``; a
save or delete of a variant drops this process's copy at once), the posteriors for
``RECOMMENDATION_POSTERIORS_CACHE_SECONDS`` (5 minutes: they change once a night, so a process serves yesterday's
beliefs for at most that long after the nightly job; no writer has to announce anything).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.conf import settings

from core.caches import LocalCache
from recommendations.engine import Context, Proposal, harm_reason
from recommendations.selectors import PosteriorKey, variant_posteriors
from texts.catalog import Variant

DEFAULT = ""  # the variant name of the message's own text
FAIR_START = (1.0, 1.0)  # Beta(1, 1): a candidate without a posterior yet

Posteriors = Mapping[PosteriorKey, tuple[float, float]]

_posteriors: LocalCache[str, Posteriors] = LocalCache("recommendation-posteriors", max_entries=1)


def posteriors() -> Posteriors:
    """The bandit's posteriors: one query per process per ``RECOMMENDATION_POSTERIORS_CACHE_SECONDS``."""
    return _posteriors.get_or_set(
        "posteriors", variant_posteriors, ttl=settings.RECOMMENDATION_POSTERIORS_CACHE_SECONDS
    )


def posteriors_invalidate() -> None:
    """Drop this process's posteriors (the next serve reads them again): for the process that wrote new ones."""
    _posteriors.clear()


def serving_protected(ctx: Context) -> bool:
    """Whether the player is protected from experiments: paused (cool-off, self-exclusion), a spend limit used up, or
    any nightly harm marker or live harm signal (``engine.harm_reason``)."""
    return ctx.paused is not None or ctx.spend_limit_reached or harm_reason(ctx) is not None


@dataclass(frozen=True, slots=True)
class Worded:
    """A proposal with the text chosen for it, and the variant's name (``DEFAULT``: the message's own text)."""

    proposal: Proposal
    variant: str


def draw(*, player_id: int, day: dt.date, key: str, locale: str, variant: str, belief: tuple[float, float]) -> float:
    """The candidate's Thompson draw for this player and business day: a sample of Beta(alpha, beta) from a stream of
    uniforms keyed by the player, the day, the message, the locale and the variant's name (``_DrawStream``: the same
    in every process)."""
    alpha, beta = belief
    return _DrawStream(f"{player_id}|{day.isoformat()}|{key}|{locale}|{variant}".encode()).betavariate(alpha, beta)


class _DrawStream(random.Random):
    """Uniforms in [0, 1) from BLAKE2b of a key and a counter (counter mode), for ``random.Random``'s own
    ``betavariate``: deterministic for a key in every process. Not ``random.Random(seed)``: seeding the Mersenne
    Twister costs about 10 us, several times the draw, once per candidate per proposal on the request path."""

    def __init__(self, key: bytes) -> None:  # no super().__init__: it would seed the Twister this replaces
        self._key = key
        self._count = 0

    def random(self) -> float:
        self._count += 1
        digest = hashlib.blake2b(self._key + self._count.to_bytes(4, "big"), digest_size=7).digest()
        return (int.from_bytes(digest, "big") >> 3) * _TWO_TO_MINUS_53  # 53 random bits, as random.random() has


_TWO_TO_MINUS_53 = 1.0 / (1 << 53)


def variant_choose(
    *,
    proposal: Proposal,
    player_id: int,
    day: dt.date,
    locale: str,
    rfm_group: str,
    in_play: Sequence[Variant],
    beliefs: Posteriors,
) -> Worded:
    """The wording of ``proposal`` for the player (see the module docstring): a pinned variant, else the highest
    Thompson draw among the default and the active variants ``in_play`` (its message's, in the player's locale)."""
    if not in_play:
        return Worded(proposal, DEFAULT)
    key = proposal.message_key
    chosen = next((v for v in in_play if v.pinned), None)
    if chosen is None:

        def drawn(name: str) -> float:
            belief = beliefs.get((key, name, rfm_group, locale), FAIR_START)
            return draw(player_id=player_id, day=day, key=key, locale=locale, variant=name, belief=belief)

        best = drawn(DEFAULT)
        for variant in in_play:
            value = drawn(variant.name)
            if value > best:
                chosen, best = variant, value
    if chosen is None:
        return Worded(proposal, DEFAULT)
    text = chosen.render(**proposal.params)
    if text is None:
        return Worded(proposal, DEFAULT)
    return Worded(dataclasses.replace(proposal, message=text), chosen.name)
