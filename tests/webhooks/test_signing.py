"""FreeClimb-Signature: the SDK test vectors, an independent HMAC, the SDK verifier, and ours."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest
from freeclimb.utils.request_verifier import RequestVerifier

from percl.webhooks.signing import parse_header, signature_header, verify

SECRET = "sigsec_ead6d3b6904196c60835d039e91b3341c77a7793"
OTHER = "sigsec_ead6d3b6904196c60835d039e91b3341c77a7794"
BODY = (
    b'{"accountId":"AC1334ffb694cd8d969f51cddf5f7c9b478546d50c",'
    b'"callId":"CAccb0b00506553cda09b51c5477f672a49e0b2213","callStatus":"ringing",'
    b'"conferenceId":null,"direction":"inbound","from":"+13121000109","parentCallId":null,'
    b'"queueId":null,"requestType":"inboundCall","to":"+13121000096"}'
)


@pytest.mark.parametrize(
    ("t", "hex_"),
    [
        (1679944186, "c3957749baf61df4b1506802579cc69a74c77a1ae21447b930e5a704f9ec4120"),
        (2130000000, "6835006e70c9b9f610e8fb3a8b36b52b3f28c12d0a2dab75091c46ca7ec11b20"),
    ],
)
def test_sdk_test_vectors(t: int, hex_: str) -> None:
    assert signature_header(SECRET, BODY, t) == f"t={t},v1={hex_}"


def test_matches_an_independent_hmac() -> None:
    body = '{"x":"ünïcode"}'.encode()
    expected = hmac.new(OTHER.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature_header(OTHER, body, 1700000000) == f"t=1700000000,v1={expected}"


def test_sdk_request_verifier_accepts_our_header() -> None:
    t = int(time.time())
    header = signature_header(SECRET, BODY, t)
    # Raises on any mismatch; returns None when the request verifies.
    assert RequestVerifier.verify_request_signature(BODY.decode(), header, SECRET) is None


def test_verify_accepts_own_header_within_tolerance() -> None:
    header = signature_header(SECRET, BODY, 1_000_000)
    assert verify(header, BODY, [SECRET], now=1_000_000)
    assert verify(header, BODY, [SECRET], now=1_000_300)
    assert verify(header, BODY, [SECRET], now=999_700)


def test_verify_rejects_stale_and_future_timestamps() -> None:
    header = signature_header(SECRET, BODY, 1_000_000)
    assert not verify(header, BODY, [SECRET], now=1_000_301)
    assert not verify(header, BODY, [SECRET], now=999_699)
    assert verify(header, BODY, [SECRET], now=1_000_301, tolerance_s=400)


def test_verify_rejects_other_secret_and_tampered_body() -> None:
    header = signature_header(SECRET, BODY, 1_000_000)
    assert not verify(header, BODY, [OTHER], now=1_000_000)
    assert not verify(header, BODY + b" ", [SECRET], now=1_000_000)
    assert not verify(header, BODY, [], now=1_000_000)


def test_verify_any_secret_any_signature_for_rotation() -> None:
    old = signature_header(OTHER, BODY, 1_000_000)
    new = signature_header(SECRET, BODY, 1_000_000)
    both = f"{new},{old.split(',')[1]}"  # t=...,v1=<new>,v1=<old>
    assert verify(both, BODY, [OTHER], now=1_000_000)
    assert verify(both, BODY, [SECRET], now=1_000_000)
    assert verify(old, BODY, ["nope", OTHER], now=1_000_000)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "garbage",
        "t=1000000",
        "v1=" + "a" * 64,
        "t=abc,v1=" + "a" * 64,
        "t=1000000,v1=xyz",
        "t=1000000,t=1000000,v1=" + "a" * 64,
        "t=1000000,v1=" + "a" * 64 + "=",
        "t=-5,v1=" + "a" * 64,
        "t=1000000;v1=" + "a" * 64,
    ],
)
def test_malformed_headers_are_false(header: str) -> None:
    assert parse_header(header) is None
    assert verify(header, BODY, [SECRET], now=1_000_000) is False


def test_non_ascii_signature_does_not_raise() -> None:
    assert verify("t=1000000,v1=" + "é" * 64, BODY, [SECRET], now=1_000_000) is False


def test_unknown_schemes_are_ignored() -> None:
    header = signature_header(SECRET, BODY, 1_000_000) + ",v0=legacy"
    assert parse_header(header) is not None
    assert verify(header, BODY, [SECRET], now=1_000_000)
