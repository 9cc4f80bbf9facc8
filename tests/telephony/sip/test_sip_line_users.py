"""Registered users (PERCL_SIP_USERS) on a running SIP line, driven by a hand-written phone on
127.0.0.1 from a source no trunk allows: REGISTER is challenged (401) then bound, a wrong password
gets 403; an INVITE is challenged (407) and with the user's credentials becomes an inbound call to
the account's number, with a wrong password 403, to a number no account has 404 (no relay); a call
to the user's number rings the registered Contact, and fails as a 480 would when unregistered."""

from __future__ import annotations

from sip_platform import LOOPBACK, NUMBER, sip_platform
from test_sip_line import Rig, request, wait

from percl.telephony.sip.auth import with_credentials
from percl.telephony.sip.config import SipUser
from percl.telephony.sip.message import Request, Response, parse_message, serialize

USER_NUMBER = "+15550002222"
USERS = (SipUser("alice", "pw-alice", USER_NUMBER),)


def _register(rig: Rig, *, expires: int = 120, cseq: int = 1) -> Request:
    lines = [f"REGISTER sip:{LOOPBACK}:{rig.sp.sip_port} SIP/2.0",
             f"Via: SIP/2.0/UDP {LOOPBACK}:{rig.port};branch=z9hG4bKr{cseq};rport",
             "Max-Forwards: 70", f"From: <sip:alice@{LOOPBACK}>;tag=rg1",
             f"To: <sip:alice@{LOOPBACK}>", "Call-ID: reg-alice", f"CSeq: {cseq} REGISTER",
             f"Contact: <sip:alice@{LOOPBACK}:{rig.port}>", f"Expires: {expires}"]
    message = parse_message(("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode())
    assert isinstance(message, Request)
    return message


async def _final(rig: Rig, count: int) -> Response:
    assert await wait(lambda: len([r for r in rig.phone.responses if r.status >= 200]) >= count)
    return [r for r in rig.phone.responses if r.status >= 200][count - 1]


async def _signed(rig: Rig, first: Request, password: str, count: int) -> tuple[Response, int]:
    """Send `first`, answer its challenge with `password`; the final answer and finals so far."""
    rig.send(serialize(first))
    challenge = await _final(rig, count + 1)
    assert challenge.status in (401, 407), challenge.status
    rig.send(serialize(with_credentials(first, challenge, "alice", password)))
    return await _final(rig, count + 2), count + 2


async def test_a_user_registers_with_digest_and_a_wrong_password_gets_403() -> None:
    async with sip_platform(sources=("10.9.0.0/16",), users=USERS) as sp, Rig(sp) as rig:
        wrong, seen = await _signed(rig, _register(rig), "guess", 0)
        assert wrong.status == 403
        ok, seen = await _signed(rig, _register(rig, cseq=5), "pw-alice", seen)
        assert ok.status == 200
        assert ok.headers.get("Contact") == f"<sip:alice@{LOOPBACK}:{rig.port}>;expires=120"
        gone, _ = await _signed(rig, _register(rig, expires=0, cseq=9), "pw-alice", seen)
        assert gone.status == 200 and gone.headers.get("Contact") is None


async def test_a_user_calls_in_with_digest_and_reaches_the_accounts_number() -> None:
    async with sip_platform(sources=("10.9.0.0/16",), users=USERS) as sp, Rig(sp) as rig:
        invite = parse_message(request("INVITE", sp.sip_port, rig.port, body=rig.offer(),
                                       call_id="user-in-1"))
        assert isinstance(invite, Request)
        wrong, seen = await _signed(rig, invite, "guess", 0)
        assert [r.status for r in rig.phone.responses][0] == 407 and wrong.status == 403
        assert await sp.calls() == []
        stranger = parse_message(request("INVITE", sp.sip_port, rig.port, body=rig.offer(),
                                          call_id="user-in-2", to="+13125550111"))
        assert isinstance(stranger, Request)
        refused, seen = await _signed(rig, stranger, "pw-alice", seen)
        assert refused.status == 404  # a number no account has: no relay
        good = parse_message(request("INVITE", sp.sip_port, rig.port, body=rig.offer(),
                                     call_id="user-in-3"))
        assert isinstance(good, Request)
        rig.send(serialize(good))
        challenge = await _final(rig, seen + 1)
        rig.send(serialize(with_credentials(good, challenge, "alice", "pw-alice")))
        assert await wait(lambda: 180 in rig.phone.statuses())
        calls = await sp.calls()
        assert len(calls) == 1 and calls[0].to == NUMBER


async def test_without_users_a_stranger_still_gets_403_not_a_challenge() -> None:
    async with sip_platform(sources=("10.9.0.0/16",)) as sp, Rig(sp) as rig:
        rig.invite(body=rig.offer())
        assert (await _final(rig, 1)).status == 403
        rig.send(serialize(_register(rig)))
        assert (await _final(rig, 2)).status == 501


async def test_a_call_to_a_users_number_rings_its_contact_or_fails_unregistered() -> None:
    async with sip_platform(sources=("10.9.0.0/16",), users=USERS) as sp, Rig(sp) as rig:
        early = await sp.make_call(USER_NUMBER)
        ended = await sp.ended(early["callId"], within=10)
        # DialResult.NO_ANSWER as a 480 maps; a leg that never rang ends failed in the engine
        # (queued -> failed), as a 480 from a peer with no 180 before it does
        assert ended.status.value == "failed"
        assert rig.phone.requests == []
        ok, _ = await _signed(rig, _register(rig), "pw-alice", 0)
        assert ok.status == 200
        await sp.make_call(USER_NUMBER)
        assert await wait(lambda: any(r.startswith(b"INVITE ") for r in rig.phone.requests))
        invite = parse_message(next(r for r in rig.phone.requests if r.startswith(b"INVITE ")))
        assert isinstance(invite, Request)
        assert str(invite.uri) == f"sip:alice@{LOOPBACK}:{rig.port}"
        rig.phone.requests.clear()
        await sp.make_call(f"sip:alice@{LOOPBACK}")
        assert await wait(lambda: any(r.startswith(b"INVITE ") for r in rig.phone.requests))
