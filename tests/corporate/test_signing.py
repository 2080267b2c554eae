"""corporate.signing: Standard Webhooks signatures (design brief section 5), checked against the reference
implementation, the ``standardwebhooks`` package (test-only dependency)."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks import Webhook

from corporate.signing import SignatureError, sign, verify

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
TS = int(NOW.timestamp())
TOLERANCE = 300
SECRET_OLD = "whsec_" + base64.b64encode(b"old-secret-of-company-a-32-bytes").decode()
SECRET_NEW = "whsec_" + base64.b64encode(b"new-secret-of-company-a-32-bytes").decode()
BODY = b'{"type":"token.earned","timestamp":"2026-11-20T12:00:00Z","data":{"user_id":123,"earned_tokens":500}}'

secrets_st = st.binary(min_size=1, max_size=64).map(lambda key: "whsec_" + base64.b64encode(key).decode())
msg_ids = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=80)
bodies = st.text(max_size=400)
timestamps = st.integers(min_value=0, max_value=4_102_444_800)  # 1970 .. 2100


def headers(msg_id: str, timestamp: int | str, signature: str) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature}


def check(hdrs: dict[str, str], *, body: bytes = BODY, secrets: list[str] | None = None, now: dt.datetime = NOW) -> str:
    return verify(body=body, headers=hdrs, secrets=secrets or [SECRET_OLD], now=now, tolerance_seconds=TOLERANCE)


# --- agreement with the reference package ------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(secret=secrets_st, msg_id=msg_ids, timestamp=timestamps, body=bodies)
def test_our_signature_is_the_reference_packages_signature(secret, msg_id, timestamp, body):
    # given any secret, message id, timestamp and body
    when = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    # when both implementations sign it
    ours = sign(secret, msg_id, timestamp, body.encode())
    theirs = Webhook(secret).sign(msg_id, when, body)
    # then the signatures are the same string
    assert ours == theirs


@settings(max_examples=100, deadline=None)
@given(secret=secrets_st, msg_id=msg_ids, body=bodies)
def test_reference_signature_verifies_with_ours(secret, msg_id, body):
    # given a message signed by the reference package
    signature = Webhook(secret).sign(msg_id, NOW, body)
    # when we verify it
    verified = verify(
        body=body.encode(),
        headers=headers(msg_id, TS, signature),
        secrets=[secret],
        now=NOW,
        tolerance_seconds=TOLERANCE,
    )
    # then it passes and the webhook id comes back
    assert verified == msg_id


@settings(max_examples=100, deadline=None)
@given(secret=secrets_st, msg_id=msg_ids, body=bodies)
def test_our_signature_verifies_with_the_reference(secret, msg_id, body):
    # given a message we signed, timestamped now (the reference checks against its own clock)
    now = int(dt.datetime.now(dt.UTC).timestamp())
    signature = sign(secret, msg_id, now, body.encode())
    # when the reference package verifies it
    parsed = Webhook(secret).verify(body.encode(), headers(msg_id, now, signature), json_parse=False)
    # then it passes (verify returns None when not parsing)
    assert parsed is None


def test_unpadded_and_unprefixed_secrets_sign_like_the_reference():
    # given one key written three ways: whsec_ with padding, whsec_ without padding, bare base64
    key = base64.b64encode(b"seventeen-bytes!!").decode()
    assert key.endswith("=")
    forms = ["whsec_" + key, "whsec_" + key.rstrip("="), key]
    # when each form signs the same message
    ours = {sign(form, "msg_1", TS, BODY) for form in forms}
    # then all agree with each other and with the reference
    assert ours == {Webhook("whsec_" + key).sign("msg_1", NOW, BODY.decode())}


# --- raw bytes -----------------------------------------------------------------------------------------


def test_the_body_is_checked_as_raw_bytes():
    # given a body that is not UTF-8 (the reference package cannot even decode it) and its signature
    body = b'{"note": "\xff\xfe"}'
    signature = sign(SECRET_OLD, "msg_raw", TS, body)
    # when it is verified as received
    # then it passes
    assert check(headers("msg_raw", TS, signature), body=body) == "msg_raw"
    # and the same JSON re-serialized with other whitespace does not
    with pytest.raises(SignatureError):
        check(headers("msg_raw", TS, signature), body=b'{"note":"\xff\xfe"}')


def test_a_changed_body_id_or_timestamp_fails():
    # given a valid signature
    signature = sign(SECRET_OLD, "msg_1", TS, BODY)
    assert check(headers("msg_1", TS, signature)) == "msg_1"
    # when the body, the id or the timestamp is changed
    # then each fails
    with pytest.raises(SignatureError):
        check(headers("msg_1", TS, signature), body=BODY.replace(b"500", b"5000"))
    with pytest.raises(SignatureError):
        check(headers("msg_2", TS, signature))
    with pytest.raises(SignatureError):
        check(headers("msg_1", TS + 1, signature))


# --- several signatures in the header ----------------------------------------------------------------


def test_any_valid_signature_in_a_space_separated_list_verifies():
    # given a header listing a wrong v1 signature, a future v2 one and then the right v1 one
    good = sign(SECRET_OLD, "msg_1", TS, BODY)
    wrong = sign(SECRET_NEW, "msg_1", TS, BODY)
    header = f"{wrong} v2,{good.split(',', 1)[1]} {good}"
    # when we and the reference verify it
    # then both accept it
    assert check(headers("msg_1", TS, header)) == "msg_1"
    now = int(dt.datetime.now(dt.UTC).timestamp())
    live = f"{sign(SECRET_NEW, 'msg_1', now, BODY)} {sign(SECRET_OLD, 'msg_1', now, BODY)}"
    assert Webhook(SECRET_OLD).verify(BODY, headers("msg_1", now, live), json_parse=False) is None
    assert (
        verify(
            body=BODY,
            headers=headers("msg_1", now, live),
            secrets=[SECRET_OLD],
            now=dt.datetime.now(dt.UTC),
            tolerance_seconds=TOLERANCE,
        )
        == "msg_1"
    )


def test_only_v1_signatures_count():
    # given the right MAC but under another version label
    mac = sign(SECRET_OLD, "msg_1", TS, BODY).split(",", 1)[1]
    for label in ("v2", "V1", "v1a", "", "v1 "):
        # when it is verified
        # then it fails
        with pytest.raises(SignatureError):
            check(headers("msg_1", TS, f"{label},{mac}"))


def test_a_list_of_only_wrong_signatures_fails():
    # given several signatures, none by a configured secret
    header = " ".join(sign(s, "msg_1", TS, BODY) for s in (SECRET_NEW, "whsec_" + base64.b64encode(b"x").decode()))
    # when it is verified with the old secret only
    # then it fails
    with pytest.raises(SignatureError, match="No valid signature"):
        check(headers("msg_1", TS, header))


# --- rotation -------------------------------------------------------------------------------------------


def test_during_a_rotation_both_secrets_verify():
    # given both the new and the old secret configured
    secrets = [SECRET_NEW, SECRET_OLD]
    # when messages signed with either arrive
    # then both verify
    for secret in secrets:
        assert check(headers("msg_1", TS, sign(secret, "msg_1", TS, BODY)), secrets=secrets) == "msg_1"


def test_after_the_old_secret_is_removed_its_signature_fails():
    # given only the new secret configured
    secrets = [SECRET_NEW]
    # when a message signed with the old secret arrives
    # then it fails, while one signed with the new secret passes
    with pytest.raises(SignatureError):
        check(headers("msg_1", TS, sign(SECRET_OLD, "msg_1", TS, BODY)), secrets=secrets)
    assert check(headers("msg_1", TS, sign(SECRET_NEW, "msg_1", TS, BODY)), secrets=secrets) == "msg_1"


# --- timestamp tolerance ------------------------------------------------------------------------------


@pytest.mark.parametrize(("offset", "ok"), [(-301, False), (-300, True), (0, True), (300, True), (301, False)])
def test_timestamp_must_be_within_five_minutes(offset, ok):
    # given a message correctly signed at now + offset seconds
    timestamp = TS + offset
    hdrs = headers("msg_1", timestamp, sign(SECRET_OLD, "msg_1", timestamp, BODY))
    # when it is verified at now
    # then it passes only within 300 seconds either way
    if ok:
        assert check(hdrs) == "msg_1"
    else:
        with pytest.raises(SignatureError, match="300 seconds"):
            check(hdrs)


# --- malformed headers ----------------------------------------------------------------------------------

GOOD = sign(SECRET_OLD, "msg_1", TS, BODY)


@pytest.mark.parametrize(
    "hdrs",
    [
        {},
        {"webhook-timestamp": str(TS), "webhook-signature": GOOD},
        {"webhook-id": "msg_1", "webhook-signature": GOOD},
        {"webhook-id": "msg_1", "webhook-timestamp": str(TS)},
        headers("", TS, GOOD),
        headers("msg_1", "", GOOD),
        headers("msg_1", TS, ""),
        headers("msg_1", TS, "   "),
        headers("msg_1", "abc", GOOD),
        headers("msg_1", f"-{TS}", GOOD),
        headers("msg_1", f"{TS}.0", GOOD),
        headers("msg_1", "1.7e9", GOOD),
        headers("msg_1", f" {TS}", GOOD),
        headers("msg_1", "١٧٦٣٦٤٠٠٠٠", GOOD),  # Arabic-Indic digits: str.isdigit() is true for them
        headers("msg_1", "9" * 5000, GOOD),  # past Python's int-from-string digit limit
        headers("msg_1", "1" + "0" * 400, GOOD),  # too large for a float
        headers("msg_1", TS, "v1"),
        headers("msg_1", TS, "v1,"),
        headers("msg_1", TS, ","),
        headers("msg_1", TS, "v1,***"),
        headers("msg_1", TS, "v1,abc"),  # bad padding
        headers("msg_1", TS, "v1,é"),  # not ASCII (WSGI hands headers over as latin-1 text)
        headers("msg_1", TS, "v1,\x00"),
        headers("msg_1", TS, GOOD[:-4]),
        headers("msg_\ud800", TS, GOOD),  # lone surrogate: cannot be encoded
        headers("msg_1", TS, "v1,\ud800"),
    ],
    ids=lambda h: repr(h)[:60],
)
def test_malformed_headers_raise_only_signature_error(hdrs):
    # given headers that are missing or malformed
    # when they are verified
    # then the only error is SignatureError (the API turns it into a 401)
    with pytest.raises(SignatureError):
        check(hdrs)


@settings(max_examples=300, deadline=None)
@given(
    msg_id=st.text(max_size=30),
    timestamp=st.one_of(st.text(max_size=30), st.integers().map(str)),
    signature=st.one_of(
        st.text(max_size=120),
        st.lists(st.text(max_size=60), max_size=4).map(" ".join),
        st.binary(max_size=40).map(lambda b: "v1," + base64.b64encode(b).decode()),
    ),
)
def test_any_header_values_raise_only_signature_error(msg_id, timestamp, signature):
    # given arbitrary header values
    # when they are verified
    # then the result is a SignatureError, never another exception
    with pytest.raises(SignatureError):
        check(headers(msg_id, timestamp, signature))
