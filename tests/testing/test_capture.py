"""The webhook log: filtering, rendering, signature checks independent of percl's signer."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from freeclimb.utils.request_verifier import RequestVerifier

from percl.testing.capture import CapturedWebhook, RecordingTransport, WebhookLog, url_path
from percl.testing.clock import FakeClock
from percl.webhooks.transport import TransportError, TransportResponse

SECRET = "sigsec_ead6d3b6904196c60835d039e91b3341c77a7793"
T = 1_767_225_600


def _signed(body: dict[str, object], *, t: int = T, secret: str = SECRET,
            sent_at: float = T) -> CapturedWebhook:
    raw = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    sig = hmac.new(secret.encode(), f"{t}.".encode() + raw, hashlib.sha256).hexdigest()
    return CapturedWebhook("http://app.test/menu?x=1", body, raw,
                           {"FreeClimb-Signature": f"t={t},v1={sig}", "Request-Id": "RQ1"},
                           200, b'[{"Hangup":{}}]', sent_at=sent_at, signing_secret=SECRET)


BODY = {"requestType": "getDigits", "callId": "CA1", "accountId": "AC1", "digits": "1"}


def test_url_path_drops_host_query_and_fragment() -> None:
    assert url_path("http://app.test/menu?x=1#f") == "/menu"
    assert url_path("https://app.test") == "/"
    assert url_path("http://app.test/a/b/") == "/a/b/"


def test_captured_fields_read_like_the_wire() -> None:
    w = _signed(BODY)
    assert (w.request_type, w.path, w.call_id, w.request_id) == ("getDigits", "/menu", "CA1", "RQ1")
    assert w.answer_json == [{"Hangup": {}}]
    assert w.header("freeclimb-signature") == w.headers["FreeClimb-Signature"]
    assert "POST /menu (getDigits, CA1) -> 200" in w.describe()


def test_verify_signature_accepts_the_right_secret_and_agrees_with_the_sdk() -> None:
    assert _signed(BODY).verify_signature()
    now = int(time.time())  # the SDK's verifier reads the real clock
    w = _signed(BODY, t=now, sent_at=now)
    assert w.verify_signature()
    # The SDK's verifier (buggy as a negative oracle, FREECLIMB.md §4.2) accepts it too.
    RequestVerifier.verify_request_signature(w.raw.decode(), w.headers["FreeClimb-Signature"],
                                             SECRET, 5 * 60 * 1000)


@pytest.mark.parametrize("tamper", ["body", "secret", "stale", "future", "no-v1", "two-t", "garbled"])
def test_verify_signature_rejects(tamper: str) -> None:
    w = _signed(BODY)
    header = w.headers["FreeClimb-Signature"]
    if tamper == "body":
        w = CapturedWebhook(w.url, w.body, w.raw.replace(b'"1"', b'"2"'), w.headers, 200, b"",
                            sent_at=T, signing_secret=SECRET)
    elif tamper == "secret":
        assert not w.verify_signature("sigsec_other")
        return
    elif tamper in ("stale", "future"):
        w = _signed(BODY, sent_at=T + 301 if tamper == "stale" else T - 301)
    else:
        bad = {"no-v1": f"t={T}", "two-t": f"t={T},t={T}," + header.split(",")[1],
               "garbled": "v1"}[tamper]
        w = CapturedWebhook(w.url, w.body, w.raw, {"FreeClimb-Signature": bad}, 200, b"",
                            sent_at=T, signing_secret=SECRET)
    assert not w.verify_signature()


def test_verify_signature_without_a_secret_says_so() -> None:
    w = CapturedWebhook("http://a/b", BODY, b"{}", {}, 200, b"")
    with pytest.raises(ValueError, match="no signing secret"):
        w.verify_signature()
    assert not w.verify_signature("s")  # no header at all


def test_as_sdk_parses_with_the_official_models() -> None:
    body = {**BODY, "reason": "maxDigits", "callStatus": "inProgress", "direction": "inbound",
            "from": "+15550100001", "to": "+13125550100", "conferenceId": None, "queueId": None,
            "parentCallId": None}
    assert type(_signed(body).as_sdk()).__name__ == "GetDigitsWebhook"


def test_log_filters_and_compares_like_a_list() -> None:
    log = WebhookLog()
    assert log == [] and "no webhooks" in log.describe()
    a, b = _signed(BODY), _signed({**BODY, "requestType": "callStatus", "callId": "CA2"})
    log.append(a)
    log.append(b)
    assert log == [a, b] and log[-1] is b and len(log) == 2 and list(log[0:1]) == [a]
    assert log(request_type="callStatus") == [b]
    assert log(call_id="CA1", path="/menu") == [a]
    assert log(url="http://app.test/menu") == []  # exact URL: the query string counts
    assert log(path="/other") == []
    log.clear()
    assert len(log) == 0


class _Inner:
    def __init__(self, outcome: object) -> None:
        self.outcome = outcome

    async def post(
        self, url: str, body: bytes, headers: object, *, limit: int | None = None
    ) -> TransportResponse:
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        assert isinstance(self.outcome, TransportResponse)
        return self.outcome


async def test_recording_transport_logs_answers_and_failures() -> None:
    clock = FakeClock()
    raw = json.dumps(BODY).encode()
    ok = RecordingTransport(_Inner(TransportResponse(200, {"x-percl-fault": "slow"}, b"[]")),
                            clock, lambda account: "sec" if account == "AC1" else None)
    await ok.post("http://app.test/menu", raw, {"H": "1"})
    (w,) = ok.log
    assert (w.status, w.answer, w.fault, w.signing_secret, w.sent_at) == (200, b"[]", "slow", "sec",
                                                                          clock.now())
    refused = RecordingTransport(_Inner(TransportError("connection refused")), clock)
    with pytest.raises(TransportError):
        await refused.post("http://app.test/menu", raw, {})
    assert refused.log[0].status is None and refused.log[0].error == "connection refused"
    broken = RecordingTransport(_Inner(RuntimeError("bug")), clock)
    with pytest.raises(RuntimeError):
        await broken.post("http://app.test/menu", b"not json", {})
    assert broken.log[0].body == {} and broken.log[0].error == "RuntimeError: bug"
