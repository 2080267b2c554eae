"""Standard Webhooks verification (https://www.standardwebhooks.com/), on the raw body bytes.

``webhook-signature`` holds one or more ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` separated
by spaces; the secret is ``whsec_<base64>``. Several secrets may be configured during a rotation; a
signature made with a secret that has been rotated away no longer verifies. Written here rather than
taken from the ``standardwebhooks`` package, whose verify() decodes the body as text first and
answers malformed headers with ValueError; tests check our output against that package's ``sign``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping, Sequence


class SignatureError(Exception):
    pass


_MAX_TIMESTAMP_DIGITS = 12  # Unix seconds stay below 10**12 for the next 30,000 years


def secret_bytes(secret: str) -> bytes:
    raw = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError("A webhook secret must be whsec_ followed by base64.") from exc
    if not key:
        raise ValueError("A webhook secret must not be empty.")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret_bytes(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def verify(
    *, body: bytes, headers: Mapping[str, str], secrets: Sequence[str], now: dt.datetime, tolerance_seconds: int
) -> str:
    """Check the signature and timestamp; returns the webhook id. Raises SignatureError."""
    msg_id = headers.get("webhook-id", "")
    ts_header = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not (msg_id and ts_header and signatures):
        raise SignatureError("Missing webhook-id, webhook-timestamp or webhook-signature header.")
    # Unix seconds: ASCII digits only, and few enough that int() and float arithmetic cannot fail.
    if not (ts_header.isascii() and ts_header.isdigit() and len(ts_header) <= _MAX_TIMESTAMP_DIGITS):
        raise SignatureError("webhook-timestamp must be Unix seconds.")
    timestamp = int(ts_header)
    if abs(now.timestamp() - timestamp) > tolerance_seconds:
        raise SignatureError(f"webhook-timestamp is more than {tolerance_seconds} seconds away from now.")
    try:
        signed = f"{msg_id}.{timestamp}.".encode() + body
    except UnicodeEncodeError as exc:  # a lone surrogate in the id: nothing could have signed it
        raise SignatureError("webhook-id cannot be encoded as UTF-8.") from exc
    expected = [hmac.new(secret_bytes(s), signed, hashlib.sha256).digest() for s in secrets]
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version != "v1" or not value.isascii():
            continue
        try:
            given = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            continue
        if any(hmac.compare_digest(given, e) for e in expected):
            return msg_id
    raise SignatureError("No valid signature.")
