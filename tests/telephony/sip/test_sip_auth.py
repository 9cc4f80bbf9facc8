"""Digest authentication: RFC test vectors, challenge parsing, the verifier, re-sent requests."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from percl.telephony.sip.auth import (
    Challenge,
    DigestVerifier,
    authorization,
    credentials_header,
    digest_response,
    parse_digest_params,
    with_credentials,
)
from percl.telephony.sip.message import Headers, Request, Response, parse_message, parse_uri, serialize


def test_rfc2617_md5_vector() -> None:
    assert digest_response(
        algorithm="MD5", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
        username="Mufasa", password="Circle Of Life", method="GET", uri="/dir/index.html",
        qop="auth", nc="00000001", cnonce="0a4f113b") == "6629fae49393a05397450978507c4ef1"


@pytest.mark.parametrize(("algorithm", "expected"), [
    ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
    ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
])
def test_rfc7616_vectors_through_authorization(algorithm: str, expected: str) -> None:
    challenge = Challenge.parse(
        'Digest realm="http-auth@example.org", qop="auth, auth-int", '
        f'algorithm={algorithm}, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
        'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"')
    assert challenge.qop == ("auth", "auth-int") and challenge.algorithm == algorithm
    value = authorization(challenge, method="GET", uri="/dir/index.html", username="Mufasa",
                          password="Circle of Life",
                          cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")
    params = parse_digest_params(value)
    assert params["response"] == expected
    assert params["nc"] == "00000001" and params["qop"] == "auth"
    assert params["opaque"] == "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
    assert "Circle" not in value


def test_rfc2069_form_without_qop() -> None:
    challenge = Challenge.parse('Digest realm="r", nonce="n"')
    params = parse_digest_params(authorization(challenge, method="REGISTER", uri="sip:r",
                                               username="u", password="p"))
    assert "qop" not in params and "cnonce" not in params
    assert params["response"] == digest_response(algorithm="MD5", realm="r", nonce="n",
                                                 username="u", password="p",
                                                 method="REGISTER", uri="sip:r")


@pytest.mark.parametrize("value", [
    "", "Basic realm=x", "Digest", 'Digest realm="x"', 'Digest nonce="n"',
    'Digest realm="x", nonce="n", algorithm=SHA-512-256', 'Digest realm="x", nonce="n", qop="auth-int"',
    'Digest realm="x" nonce="n"', 'Digest realm="x, nonce="n"', 'Digest realm="x", realm="y", nonce=n',
])
def test_garbage_challenges_are_value_errors(value: str) -> None:
    with pytest.raises(ValueError):
        Challenge.parse(value)


def test_stale_and_strongest_of_several() -> None:
    assert Challenge.parse('Digest realm="a", nonce="n", stale=TRUE').stale
    best = Challenge.best(['Digest realm="a", nonce="1", algorithm=MD5',
                           'Digest realm="a", nonce="2", algorithm=SHA-256',
                           'Digest realm="a", nonce="3", algorithm=UNKNOWN'])
    assert best.nonce == "2"
    with pytest.raises(ValueError, match="no usable"):
        Challenge.best(["Basic realm=x"])


@given(st.text(max_size=200))
def test_challenge_parse_only_raises_value_error(text: str) -> None:
    with contextlib.suppress(ValueError):
        Challenge.parse(text)


def test_credentials_header() -> None:
    assert credentials_header(401) == "Authorization"
    assert credentials_header(407) == "Proxy-Authorization"
    with pytest.raises(ValueError):
        credentials_header(403)


def _register() -> Request:
    return Request("REGISTER", parse_uri("sip:example.com"), Headers((
        ("Via", "SIP/2.0/UDP 127.0.0.1:5070;rport;branch=z9hG4bKfirst"),
        ("Max-Forwards", "70"),
        ("From", "<sip:alice@example.com>;tag=abc"),
        ("To", "<sip:alice@example.com>"),
        ("Call-ID", "call-1"),
        ("CSeq", "7 REGISTER"),
        ("Contact", "<sip:alice@127.0.0.1:5070>"),
    )))


def _challenge_response(request: Request, status: int, value: str) -> Response:
    header = "WWW-Authenticate" if status == 401 else "Proxy-Authenticate"
    return Response(status, "Unauthorized", Headers((
        *((n, v) for n, v in request.headers if n in ("Via", "From", "To", "Call-ID", "CSeq")),
        (header, value))))


@pytest.mark.parametrize("status", [401, 407])
def test_with_credentials_builds_the_resent_request_the_verifier_accepts(status: int) -> None:
    verifier = DigestVerifier("example.com", {"alice": "s3cret"}, lambda: 1000.0)
    request = _register()
    response = _challenge_response(request, status, verifier.challenge())
    again = with_credentials(request, response, "alice", "s3cret")
    again = parse_message(serialize(again))  # and it survives the wire
    assert isinstance(again, Request)
    assert again.cseq.number == 8 and again.cseq.method == "REGISTER"
    assert again.call_id == "call-1" and again.from_.tag == "abc"
    assert again.vias[0].branch != "z9hG4bKfirst" and again.vias[0].branch.startswith("z9hG4bK")
    assert again.vias[0].rport == "" and len(again.vias) == 1
    header = again.headers.get(credentials_header(status))
    assert header is not None and "s3cret" not in serialize(again).decode()
    assert verifier.check(header, method="REGISTER", uri="sip:example.com") == "alice"
    assert verifier.check(header, method="INVITE", uri="sip:example.com") is None
    assert verifier.check(header, method="REGISTER", uri="sip:other.com") is None


def test_second_realm_adds_a_header_and_same_realm_replaces_it() -> None:
    request = _register()
    first = with_credentials(request, _challenge_response(
        request, 407, 'Digest realm="proxy", nonce="a"'), "u", "p")
    second = with_credentials(first, _challenge_response(
        first, 407, 'Digest realm="proxy2", nonce="b"'), "u", "p")
    assert len(second.headers.get_all("Proxy-Authorization")) == 2
    third = with_credentials(second, _challenge_response(
        second, 407, 'Digest realm="proxy", nonce="c"'), "u", "p")
    realms = sorted(parse_digest_params(v)["nonce"]
                    for v in third.headers.get_all("Proxy-Authorization"))
    assert realms == ["b", "c"] and third.cseq.number == 10


def test_with_credentials_refuses_responses_without_a_challenge() -> None:
    request = _register()
    with pytest.raises(ValueError):
        with_credentials(request, Response(403, "Forbidden", request.headers), "u", "p")
    with pytest.raises(ValueError):
        with_credentials(request, _challenge_response(request, 401, "Basic realm=x"), "u", "p")


def test_verifier_refuses_wrong_password_foreign_and_tampered_nonces_and_marks_stale() -> None:
    now = [1000.0]
    verifier = DigestVerifier("r", {"bob": "pw"}, lambda: now[0], nonce_ttl=60)
    other = DigestVerifier("r", {"bob": "pw"}, lambda: now[0])
    good = Challenge.parse(verifier.challenge())
    assert verifier.check(authorization(good, method="INVITE", uri="sip:x", username="bob",
                                        password="pw"), method="INVITE") == "bob"
    wrong = authorization(good, method="INVITE", uri="sip:x", username="bob", password="no")
    assert verifier.verify(wrong, method="INVITE").reason == "wrong response"
    unknown = authorization(good, method="INVITE", uri="sip:x", username="eve", password="pw")
    assert verifier.check(unknown, method="INVITE") is None
    foreign = Challenge.parse(other.challenge())
    assert verifier.verify(authorization(foreign, method="INVITE", uri="sip:x", username="bob",
                                         password="pw"), method="INVITE").user is None
    stamp, salt, mac = good.nonce.split(".")
    tampered = Challenge(realm="r", nonce=f"{int(stamp, 16) + 99999:x}.{salt}.{mac}",
                         qop=("auth",))
    assert verifier.check(authorization(tampered, method="INVITE", uri="sip:x",
                                        username="bob", password="pw"),
                          method="INVITE") is None
    now[0] += 61
    late = verifier.verify(authorization(good, method="INVITE", uri="sip:x", username="bob",
                                         password="pw"), method="INVITE")
    assert late.user is None and late.stale
    assert Challenge.parse(verifier.challenge(stale=True)).stale
    assert verifier.verify("garbage", method="INVITE").user is None


_PRINTABLE = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF, exclude_characters="\x7f"),
                     min_size=1, max_size=20)


@given(_PRINTABLE, _PRINTABLE, _PRINTABLE, st.sampled_from(["MD5", "SHA-256"]))
def test_any_printable_credentials_round_trip_through_the_verifier(
        username: str, password: str, realm: str, algorithm: str) -> None:
    verifier = DigestVerifier(realm, {username: password}, lambda: 50.0, algorithm=algorithm)
    challenge = Challenge.parse(verifier.challenge())
    assert challenge.realm == realm and challenge.algorithm == algorithm
    value = authorization(challenge, method="INVITE", uri="sip:x@y", username=username,
                          password=password)
    assert verifier.check(value, method="INVITE", uri="sip:x@y") == username
    wrong = authorization(challenge, method="INVITE", uri="sip:x@y", username=username,
                          password=password + "x")
    assert verifier.check(wrong, method="INVITE") is None
