"""Proposal ids: UUIDs that say when, and prove to whom, a proposal was served.

Layout (RFC 9562 version 8, "custom"), 128 bits:

    unix_ms (48) | version 8 (4) | random (12) | variant 0b10 (2) | random (30) | tag (32)

``tag`` is the first 4 bytes of a keyed BLAKE2b (key derived from ``SECRET_KEY``) over the first 12 bytes and the
player's id. So the click endpoint can tell, without a database read, that an id was served to the calling player
(and when), even before the impression buffer has written its row in whatever process served it: a forged id, or
another player's, fails the tag and is answered 404. Time first keeps the ids ordered like UUID v7 (the
impressions' primary key index grows at its end). Changing ``SECRET_KEY`` makes older proposals unclickable.

The random bits only keep ids apart (with the milliseconds, they make the primary key); the tag, not the
randomness, is what makes an id unforgeable, so they come from the ``random`` module (seeded from the OS, and
reseeded in a forked server worker) rather than ``os.urandom``: a ``getrandom`` system call per id costs more than
the rest of the id, and hands the interpreter lock to another serving thread each time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import time
import uuid
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=4)
def _key(secret: str) -> bytes:
    return hashlib.blake2b(b"tokenloop.recommendations.proposal_id" + secret.encode(), digest_size=32).digest()


def _tag(head: bytes, player_id: int, key: bytes) -> bytes:
    return hashlib.blake2b(head + player_id.to_bytes(8, "big", signed=True), key=key, digest_size=4).digest()


def proposal_ids_new(player_id: int, count: int, *, served_ms: int | None = None) -> tuple[str, ...]:
    """``count`` fresh ids for proposals served to ``user_id`` together (now, or at ``served_ms`` Unix
    milliseconds)."""
    ms = (time.time_ns() // 1_000_000 if served_ms is None else served_ms).to_bytes(6, "big")
    key = _key(settings.SECRET_KEY)
    ids = []
    for _ in range(count):
        raw = bytearray(ms + random.getrandbits(48).to_bytes(6, "big"))
        raw[6] = (raw[6] & 0x0F) | 0x80  # version 8
        raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 9562 variant
        head = bytes(raw)
        h = (head + _tag(head, player_id, key)).hex()
        ids.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return tuple(ids)


def proposal_id_new(player_id: int, *, served_ms: int | None = None) -> str:
    """A fresh id for a proposal served to ``user_id`` (now, or at ``served_ms`` Unix milliseconds)."""
    return proposal_ids_new(player_id, 1, served_ms=served_ms)[0]


def proposal_id_verify(value: str, player_id: int) -> tuple[uuid.UUID, dt.datetime] | None:
    """``(id, served_at)`` when ``value`` is an id served to ``user_id``; None for anything else."""
    try:
        parsed = uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return None
    raw = parsed.bytes
    if parsed.version != 8 or raw[12:] != _tag(raw[:12], player_id, _key(settings.SECRET_KEY)):
        return None
    served_at = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=int.from_bytes(raw[:6], "big"))
    return parsed, served_at
