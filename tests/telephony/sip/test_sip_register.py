"""The REGISTER client, sans-I/O, against an in-memory registrar that challenges like kamailio."""

from __future__ import annotations

from percl.telephony.sip.auth import DigestVerifier
from percl.telephony.sip.message import Request, Response, make_response, parse_uri
from percl.telephony.sip.register import (
    RegAction,
    RegisterAccount,
    Registered,
    Registration,
    RegistrationFailed,
    RegState,
    Unregistered,
)
from percl.telephony.sip.transaction import Send

CONTACT = parse_uri("sip:alice@127.0.0.1:5070")


def _account(password: str = "s3cret", expires: int = 600) -> RegisterAccount:
    return RegisterAccount(registrar=parse_uri("sip:example.com"),
                           aor=parse_uri("sip:alice@example.com"), username="alice",
                           password=password, expires=expires, retry_base=10, retry_max=40)


class Registrar:
    """Challenges every REGISTER without good credentials; grants at most `max_expires`."""

    def __init__(self, now: list[float], *, max_expires: int = 300, status: int = 401) -> None:
        self.verifier = DigestVerifier("example.com", {"alice": "s3cret"}, lambda: now[0])
        self.max_expires = max_expires
        self.status = status
        self.seen: list[Request] = []

    def answer(self, request: Request) -> Response:
        self.seen.append(request)
        header = "Authorization" if self.status == 401 else "Proxy-Authorization"
        creds = request.headers.get(header)
        user = creds and self.verifier.check(creds, method="REGISTER", uri=str(request.uri))
        if not user:
            name = "WWW-Authenticate" if self.status == 401 else "Proxy-Authenticate"
            return make_response(request, self.status, "Unauthorized", to_tag="reg",
                                 extra=((name, self.verifier.challenge()),))
        expires = min(self.max_expires, request.expires or 0)
        contact = f"<{request.contacts[0].uri}>;expires={expires}"
        return make_response(request, 200, "OK", to_tag="reg", extra=(("Contact", contact),))


def _sent(actions: list[RegAction]) -> list[Request]:
    return [a.message for a in actions if isinstance(a, Send) and isinstance(a.message, Request)]


def _exchange(reg: Registration, registrar: Registrar, actions: list[RegAction],
              now: float) -> list[RegAction]:
    """Answer every request the machine sends until it sends nothing more."""
    events: list[RegAction] = [a for a in actions if not isinstance(a, Send)]
    pending = _sent(actions)
    while pending:
        out = reg.receive(registrar.answer(pending.pop(0)), now)
        events += [a for a in out if not isinstance(a, Send)]
        pending += _sent(out)
    return events


def test_registers_through_401_and_refreshes_at_half_the_granted_interval() -> None:
    now = [100.0]
    registrar = Registrar(now)
    reg = Registration(_account(), CONTACT, via="127.0.0.1:5070")
    events = _exchange(reg, registrar, reg.start(now[0]), now[0])
    assert events == [Registered(300, 250.0)] and reg.state is RegState.REGISTERED
    first, second = registrar.seen
    assert second.cseq.number == first.cseq.number + 1 and second.call_id == first.call_id
    assert second.from_.tag == first.from_.tag and second.headers.get("Authorization")
    assert first.expires == 600 and reg.next_deadline() == 250.0
    assert reg.on_time(249.0) == []
    now[0] = 250.0
    events = _exchange(reg, registrar, reg.on_time(250.0), 250.0)
    assert events == [Registered(300, 400.0)]
    assert [r.cseq.number for r in registrar.seen] == [1, 2, 3, 4]
    assert len({r.call_id for r in registrar.seen}) == 1


def test_407_is_answered_with_proxy_authorization() -> None:
    now = [0.0]
    registrar = Registrar(now, status=407)
    reg = Registration(_account(), CONTACT, via="127.0.0.1:5070")
    assert _exchange(reg, registrar, reg.start(0.0), 0.0) == [Registered(300, 150.0)]
    assert registrar.seen[1].headers.get("Proxy-Authorization") is not None


def test_wrong_password_fails_clearly_without_a_loop_and_retries_with_backoff() -> None:
    now = [0.0]
    registrar = Registrar(now)
    reg = Registration(_account(password="badpass9"), CONTACT, via="127.0.0.1:5070")
    events = _exchange(reg, registrar, reg.start(0.0), 0.0)
    assert len(registrar.seen) == 2  # one challenge answered, then stop
    [failed] = events
    assert isinstance(failed, RegistrationFailed) and failed.status == 401
    assert "authentication failed" in failed.reason and "'alice'" in failed.reason
    assert "badpass9" not in failed.reason and "badpass9" not in repr(reg.account)
    assert failed.retry_at == 10.0 and reg.state is RegState.WAITING
    retries = []
    for _ in range(4):
        deadline = reg.next_deadline()
        assert deadline is not None
        now[0] = deadline
        events = _exchange(reg, registrar, reg.on_time(deadline), deadline)
        retries.append(next(e for e in events if isinstance(e, RegistrationFailed)).retry_at
                       - deadline)
    assert retries == [20.0, 40.0, 40.0, 40.0]
    assert len(registrar.seen) == 10


def test_stale_nonce_is_answered_again() -> None:
    now = [0.0]
    registrar = Registrar(now)
    reg = Registration(_account(), CONTACT, via="127.0.0.1:5070")
    [first] = _sent(reg.start(0.0))
    challenge = registrar.answer(first)
    [second] = _sent(reg.receive(challenge, 0.0))
    stale = make_response(second, 401, "Unauthorized", to_tag="reg", extra=(
        ("WWW-Authenticate", registrar.verifier.challenge(stale=True)),))
    [third] = _sent(reg.receive(stale, 0.0))
    assert third.cseq.number == 3
    events = reg.receive(registrar.answer(third), 0.0)
    assert events == [Registered(300, 150.0)]


def test_no_response_is_a_failure_after_timer_f_and_retransmits_before() -> None:
    reg = Registration(_account(), CONTACT, via="127.0.0.1:5070")
    [request] = _sent(reg.start(0.0))
    resent = _sent(reg.on_time(0.5))
    assert resent == [request]
    events = reg.on_time(32.0)
    failed = [e for e in events if isinstance(e, RegistrationFailed)]
    assert failed and failed[0].status is None and failed[0].retry_at == 42.0


def test_423_raises_expires_to_min_expires_and_503_retry_after_is_honoured() -> None:
    reg = Registration(_account(expires=30), CONTACT, via="127.0.0.1:5070")
    [request] = _sent(reg.start(0.0))
    brief = make_response(request, 423, "Interval Too Brief", to_tag="x",
                          extra=(("Min-Expires", "120"),))
    [again] = _sent(reg.receive(brief, 0.0))
    assert again.expires == 120
    busy = make_response(again, 503, "Service Unavailable", to_tag="x",
                         extra=(("Retry-After", "77"),))
    [failed] = reg.receive(busy, 0.0)
    assert isinstance(failed, RegistrationFailed) and failed.retry_at == 77.0


def test_plain_expires_header_and_unregister() -> None:
    reg = Registration(_account(), CONTACT, via="127.0.0.1:5070", transport="TCP")
    [request] = _sent(reg.start(0.0))
    assert request.vias[0].transport == "TCP"
    assert reg.next_deadline() == 32.0  # timer F only: no retransmissions on TCP
    ok = make_response(request, 200, "OK", to_tag="x", extra=(("Expires", "90"),))
    assert reg.receive(ok, 0.0) == [Registered(90, 45.0)]
    [bye] = _sent(reg.stop(1.0))
    assert bye.expires == 0 and reg.state is RegState.UNREGISTERING
    assert reg.receive(make_response(bye, 200, "OK", to_tag="x"), 1.0) == [Unregistered()]
    assert reg.state is RegState.STOPPED and reg.next_deadline() is None


def test_responses_for_other_transactions_are_ignored() -> None:
    reg = Registration(_account(), CONTACT, via="127.0.0.1:5070")
    [request] = _sent(reg.start(0.0))
    other = make_response(request, 200, "OK", to_tag="x")
    other = Response(other.status, other.reason, other.headers.set(
        "Via", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKother"))
    assert reg.receive(other, 0.0) == []
    assert reg.state is RegState.REGISTERING
