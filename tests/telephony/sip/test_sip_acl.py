"""The SIP front door: allow-lists per trunk, per-source rate limits, digest users, no open relay."""

from __future__ import annotations

import pytest

from percl.telephony.sip.acl import Admission, RateLimiter, Trunk, Verdict
from percl.telephony.sip.auth import Challenge, DigestVerifier, authorization
from percl.telephony.sip.message import Headers, Request, parse_uri

NUMBERS = {"+15550001111", "15550002222"}


def _admission(limiter: RateLimiter | None = None,
               verifier: DigestVerifier | None = None) -> Admission:
    trunks = [Trunk.from_cidrs("carrier", ["203.0.113.0/24", "2001:db8::/64"]),
              Trunk.from_cidrs("pbx", ["192.0.2.10"])]
    return Admission(trunks, local_domains=["percl.example", "198.51.100.5"],
                     is_our_number=NUMBERS.__contains__, limiter=limiter, verifier=verifier)


def _invite(uri: str = "sip:+15550001111@percl.example", *, to_tag: str | None = None,
            method: str = "INVITE", extra: tuple[tuple[str, str], ...] = ()) -> Request:
    to = "<sip:+15550001111@percl.example>" + (f";tag={to_tag}" if to_tag else "")
    return Request(method, parse_uri(uri), Headers((
        ("Via", "SIP/2.0/UDP 203.0.113.7;branch=z9hG4bKx"), ("Max-Forwards", "70"),
        ("From", "<sip:caller@carrier.example>;tag=1"), ("To", to), ("Call-ID", "c1"),
        ("CSeq", f"1 {method}"), *extra)))


def test_trunk_cidrs_admit_their_sources_and_refuse_others() -> None:
    admission = _admission()
    assert admission.check("203.0.113.7", 0.0) == Verdict(trunk="carrier")
    assert admission.check("2001:db8::42", 0.0).trunk == "carrier"
    assert admission.check("192.0.2.10", 0.0).trunk == "pbx"
    refused = admission.check("192.0.2.11", 0.0)
    assert (refused.status, refused.reason) == (403, "source not allowed")
    assert admission.check("not-an-ip", 0.0).silent
    with pytest.raises(ValueError, match=r"'10\.0\.0\.300'"):
        Trunk.from_cidrs("bad", ["10.0.0.300"])


def test_token_bucket_per_source_gives_503_with_retry_after_then_refills() -> None:
    admission = _admission(limiter=RateLimiter(rate=2, burst=3))
    verdicts = [admission.check("203.0.113.7", 10.0) for _ in range(4)]
    assert [v.status for v in verdicts] == [0, 0, 0, 503]
    assert verdicts[3].retry_after == 1 and not verdicts[3].silent
    assert admission.check("203.0.113.8", 10.0).admitted  # another source has its own bucket
    assert admission.check("203.0.113.7", 10.5).admitted  # 0.5 s at 2/s: one token back
    assert admission.check("203.0.113.7", 10.5).status == 503
    # an unknown source over its rate is dropped without an answer
    for _ in range(3):
        admission.check("192.0.2.99", 10.0)
    assert admission.check("192.0.2.99", 10.0).silent


def test_limiter_forgets_the_least_recently_seen_sources() -> None:
    limiter = RateLimiter(rate=1, burst=1, max_keys=2)
    assert limiter.take("a", 0.0) == 0.0
    assert limiter.take("a", 0.0) == pytest.approx(1.0)
    limiter.take("b", 0.0)
    limiter.take("c", 0.0)  # "a" is forgotten: a fresh bucket
    assert limiter.take("a", 0.0) == 0.0
    with pytest.raises(ValueError):
        RateLimiter(rate=0)


def test_no_open_relay_and_unknown_numbers() -> None:
    admission = _admission()
    assert admission.check_request(_invite(), "203.0.113.7", 0.0).admitted
    assert admission.check_request(_invite("sip:15550002222@198.51.100.5"), "203.0.113.7",
                                   0.0).admitted
    relay = admission.check_request(_invite("sip:+15550001111@elsewhere.example"),
                                    "203.0.113.7", 0.0)
    assert relay.status == 403 and "relaying denied" in relay.reason
    assert admission.check_request(_invite("tel:+15550001111"), "203.0.113.7", 0.0).status == 403
    unknown = admission.check_request(_invite("sip:+15559999999@percl.example"), "203.0.113.7",
                                      0.0)
    assert unknown.status == 404
    options = _invite("sip:anyone@percl.example", method="OPTIONS")
    assert admission.check_request(options, "203.0.113.7", 0.0).admitted
    # a stranger learns nothing about numbers: 403 before 404
    assert admission.check_request(_invite("sip:+15559999999@percl.example"), "192.0.2.99",
                                   0.0).status == 403


def test_in_dialog_requests_are_only_rate_limited() -> None:
    admission = _admission()
    bye = _invite(to_tag="abc", method="BYE")
    assert admission.check_request(bye, "192.0.2.99", 0.0).admitted


def test_registered_users_authenticate_with_digest_instead_of_an_address() -> None:
    now = [0.0]
    verifier = DigestVerifier("percl.example", {"desk": "pw"}, lambda: now[0], nonce_ttl=30)
    admission = _admission(verifier=verifier)
    first = admission.check_request(_invite(), "192.0.2.99", 0.0)
    assert first.status == 407 and first.challenge is not None
    challenge = Challenge.parse(first.challenge)
    uri = "sip:+15550001111@percl.example"
    good = authorization(challenge, method="INVITE", uri=uri, username="desk", password="pw")
    admitted = admission.check_request(
        _invite(extra=(("Proxy-Authorization", good),)), "192.0.2.99", 0.0)
    assert admitted.admitted and admitted.user == "desk"
    bad = authorization(challenge, method="INVITE", uri=uri, username="desk", password="no")
    refused = admission.check_request(
        _invite(extra=(("Proxy-Authorization", bad),)), "192.0.2.99", 0.0)
    assert refused.status == 403 and "authentication failed" in refused.reason
    now[0] = 31.0
    stale = admission.check_request(
        _invite(extra=(("Proxy-Authorization", good),)), "192.0.2.99", 31.0)
    assert stale.status == 407 and stale.challenge and "stale=true" in stale.challenge
    # an authenticated user is no relay either
    relay = authorization(challenge, method="INVITE", uri="sip:x@elsewhere.example",
                          username="desk", password="pw")
    now[0] = 0.0
    assert admission.check_request(
        _invite("sip:x@elsewhere.example", extra=(("Proxy-Authorization", relay),)),
        "192.0.2.99", 0.0).status == 403


def test_ipv6_sources_share_a_bucket_per_64() -> None:
    admission = _admission(limiter=RateLimiter(rate=1, burst=2))
    assert admission.check("2001:db8::1", 0.0).admitted
    assert admission.check("2001:db8::ffff:2", 0.0).admitted
    assert admission.check("2001:db8::3", 0.0).status == 503  # same /64: same bucket
    assert admission.check("192.0.2.10", 0.0).admitted
