"""The digest function percl's SIP line answers a trunk's 401/407 with (line.trunk_credentials, over
auth.py): the credentials a registrar accepts, none without a username, and no second try with the
same nonce (a wrong password must not loop)."""

from __future__ import annotations

from percl.telephony.sip.auth import DigestVerifier
from percl.telephony.sip.config import Trunk
from percl.telephony.sip.line import trunk_credentials
from percl.telephony.sip.message import Request, Response, parse_message

INVITE = (b"INVITE sip:+15550100001@127.0.0.1:5070 SIP/2.0\r\n"
          b"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-1;rport\r\n"
          b"From: <sip:+13125550100@127.0.0.1>;tag=a1\r\n"
          b"To: <sip:+15550100001@127.0.0.1:5070>\r\n"
          b"Call-ID: digest-test-1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
          b"Contact: <sip:percl@127.0.0.1:5060>\r\nContent-Length: 0\r\n\r\n")
TRUNK = Trunk("carrier", username="percl", password="s3cret")


def _request() -> Request:
    request = parse_message(INVITE)
    assert isinstance(request, Request)
    return request


def _challenge(verifier: DigestVerifier, status: int = 407) -> Response:
    header = "Proxy-Authenticate" if status == 407 else "WWW-Authenticate"
    raw = (f"SIP/2.0 {status} Auth\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-1\r\n"
           "From: <sip:+13125550100@127.0.0.1>;tag=a1\r\nTo: <sip:+15550100001@127.0.0.1>;tag=b2\r\n"
           f"Call-ID: digest-test-1\r\nCSeq: 1 INVITE\r\n{header}: {verifier.challenge()}\r\n"
           "Content-Length: 0\r\n\r\n").encode()
    response = parse_message(raw)
    assert isinstance(response, Response)
    return response


def test_a_challenge_is_answered_with_credentials_the_proxy_accepts() -> None:
    verifier = DigestVerifier("carrier.test", {"percl": "s3cret"}, lambda: 1000.0)
    for status, header in ((407, "Proxy-Authorization"), (401, "Authorization")):
        again = trunk_credentials(TRUNK, _request(), _challenge(verifier, status))
        assert again is not None and again.cseq.number == 2
        sent = again.headers.get_all(header)
        assert len(sent) == 1
        assert verifier.check(sent[0], method="INVITE", uri=str(again.uri)) == "percl"


def test_a_wrong_password_is_not_sent_twice_for_one_nonce() -> None:
    verifier = DigestVerifier("carrier.test", {"percl": "other"}, lambda: 1000.0)
    challenge = _challenge(verifier)
    again = trunk_credentials(TRUNK, _request(), challenge)
    assert again is not None
    assert verifier.check(again.headers.get_all("Proxy-Authorization")[0], method="INVITE",
                          uri=str(again.uri)) is None
    assert trunk_credentials(TRUNK, again, challenge) is None


def test_no_credentials_without_a_username_or_for_a_garbled_challenge() -> None:
    verifier = DigestVerifier("carrier.test", {"percl": "s3cret"}, lambda: 1000.0)
    assert trunk_credentials(Trunk("open"), _request(), _challenge(verifier)) is None
    bad = parse_message(b"SIP/2.0 407 Auth\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-1\r\n"
                        b"From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n"
                        b"Proxy-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\n")
    assert isinstance(bad, Response)
    assert trunk_credentials(TRUNK, _request(), bad) is None
