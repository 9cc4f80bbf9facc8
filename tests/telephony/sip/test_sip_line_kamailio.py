"""percl's SIP line behind a real registrar/proxy: kamailio (tests/telephony/sip/kamailio) on
127.0.0.1 with digest auth and record-routing, this module's own instance stopped by its PID.

percl's line registers as `percl` through kamailio's 401; kamailio routes +1312555... to that
registration and +1555... to `alice`'s. A caller (our UAC, authenticating as alice through the 407)
calls percl's number through kamailio and hears the app's Say and its BYE, which comes back
through kamailio; percl's POST /Calls goes out through kamailio (407 answered with the trunk's
digest) to a sipp UAS registered as alice, and its ACK and BYE pass kamailio too. Every wait is
bounded.
"""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path

import pytest
from sip_platform import CALLER, FAR, LOOPBACK, NUMBER, SipPlatform, free_udp_port, sip_platform
from test_sip_kamailio import REALM, _account, _drive, _Inbox, kamailio  # noqa: F401
from test_sip_line_sipp import SCENARIOS, _finish, sipp  # noqa: F401

from percl.telephony.sip.auth import with_credentials
from percl.telephony.sip.config import HostPort, Trunk
from percl.telephony.sip.datagram import DatagramEndpoint
from percl.telephony.sip.dialog import Dialog
from percl.telephony.sip.message import (
    Headers,
    Request,
    Response,
    make_response,
    parse_uri,
)
from percl.telephony.sip.register import Registered, RegistrationFailed, Unregistered
from percl.telephony.sip.register_io import RegistrationClient
from percl.telephony.sip.sdp import LocalMedia, make_offer, serialize_sdp
from percl.telephony.sip.transaction import ClientInviteTransaction, new_branch

Address = tuple[str, int]


def _trunk(kam: Address, password: str = "percl-pw") -> Trunk:
    return Trunk(name="kam", proxy=HostPort(*kam), prefixes=("+1555",), username="percl",
                 password=password, register=True)


def _registration(sp: SipPlatform) -> RegistrationClient:
    assert sp.platform.sip_line is not None
    client = sp.platform.sip_line.registration("kam")
    assert client is not None
    return client


async def test_the_line_registers_through_the_401_and_unregisters_at_shutdown(
        kamailio: Address) -> None:  # noqa: F811
    async with sip_platform(trunk=_trunk(kamailio)) as sp:
        client = _registration(sp)
        assert isinstance(await client.wait_for(Registered, timeout=10), Registered)
        sent = list(client.sent)
        assert sent[0].headers.get("Authorization") is None
        assert sent[1].headers.get("Authorization") is not None  # kamailio's 401 answered
        assert str(sent[1].contacts[0].uri) == f"sip:percl@{LOOPBACK}:{sp.sip_port}"
        assert sp.platform.sip_line is not None
        banner = "\n".join(sp.platform.sip_line.describe())
        assert f"trunk kam: registered with {kamailio[0]}:{kamailio[1]}" in banner
        assert "percl-pw" not in banner
    assert [e for e in client.events if isinstance(e, Unregistered)]
    assert client.sent[-1].headers.get("Expires") == "0"


async def test_a_wrong_password_is_said_once_in_the_banner_and_the_log(
        kamailio: Address, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    async with sip_platform(trunk=_trunk(kamailio, password="wrong")) as sp:
        client = _registration(sp)
        failed = await client.wait_for(RegistrationFailed, timeout=10)
        assert isinstance(failed, RegistrationFailed) and failed.status == 401
        assert sp.platform.sip_line is not None
        banner = "\n".join(sp.platform.sip_line.describe())
        assert "trunk kam: NOT registered" in banner and "authentication failed" in banner
        assert "wrong" not in banner.replace("wrong username", "")
        assert len(client.sent) == 2  # no loop: the next try waits for the backoff
    warnings = [r for r in caplog.records if "registration of percl" in r.getMessage()
                and r.levelname == "WARNING"]
    assert len(warnings) == 1


async def _next_request(inbox: _Inbox, method: str, within: float) -> Request:
    async with asyncio.timeout(within):
        while True:
            message = await inbox.queue.get()
            if isinstance(message, Request) and message.method == method:
                return message


async def test_a_call_through_kamailio_reaches_the_app_and_its_bye_comes_back_through_it(
        kamailio: Address) -> None:  # noqa: F811
    async with sip_platform(trunk=_trunk(kamailio)) as sp:
        sp.app.on("/voice", [{"Say": {"text": "Hello through kamailio"}}, {"Hangup": {}}])
        await _registration(sp).wait_for(Registered, timeout=10)
        inbox = _Inbox()
        caller = await DatagramEndpoint.start(inbox)
        host, port = caller.address

        def send(message: Request | Response) -> None:
            caller.send(message, kamailio)

        try:
            invite = Request("INVITE", parse_uri(f"sip:{NUMBER}@{kamailio[0]}:{kamailio[1]}"),
                             Headers((
                ("Via", f"SIP/2.0/UDP {host}:{port};rport;branch={new_branch()}"),
                ("Max-Forwards", "70"),
                ("From", f"<sip:{CALLER}@{REALM}>;tag=caller1"),
                ("To", f"<sip:{NUMBER}@{REALM}>"),
                ("Call-ID", "through-kamailio-1"),
                ("CSeq", "1 INVITE"),
                ("Contact", f"<sip:caller@{host}:{port}>"),
                ("Content-Type", "application/sdp"),
            )), body=serialize_sdp(make_offer(LocalMedia(LOOPBACK, free_udp_port(), "9"))))
            challenged = await _drive(ClientInviteTransaction(invite), inbox, send)
            assert challenged.status == 407
            invite = with_credentials(invite, challenged, "alice", "alice-pw")
            ok = await _drive(ClientInviteTransaction(invite), inbox, send)
            assert ok.status == 200, f"{ok.status} {ok.reason}"
            dialog = Dialog.as_uac(invite, ok)
            assert [(r.uri.host, r.uri.port) for r in dialog.route_set] == [kamailio]
            assert dialog.remote_target.port == sp.sip_port  # percl's Contact, behind kamailio
            send(dialog.ack(invite.cseq.number,
                            f"SIP/2.0/UDP {host}:{port};branch={new_branch()}"))
            bye = await _next_request(inbox, "BYE", 20)  # the app's Hangup
            # percl sent it to its route set (kamailio), which relayed it: two Vias, kamailio's top
            assert [(v.host, v.port) for v in bye.vias] == [kamailio, (LOOPBACK, sp.sip_port)]
            send(make_response(bye, 200, "OK"))
        finally:
            caller.close()
        (call,) = await sp.calls()
        call = await sp.ended(call.call_id, 10)
        assert (call.from_, call.to, call.direction.value) == (CALLER, NUMBER, "inbound")
        assert call.status.value == "completed"


async def test_an_outbound_call_goes_through_kamailio_to_a_registered_sipp(
        kamailio: Address, sipp: str, tmp_path: Path) -> None:  # noqa: F811
    port = free_udp_port()
    trace = tmp_path / "sipp-messages.log"
    far = await asyncio.create_subprocess_exec(
        sipp, "-sf", str(SCENARIOS / "uas_answer_rr.xml"), "-i", LOOPBACK, "-p", str(port),
        "-mp", str(free_udp_port()), "-m", "1", "-nostdin", "-timeout", "30s", "-timeout_error",
        "-trace_msg", "-message_file", str(trace),
        cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    alice = await RegistrationClient.start(_account("alice", "alice-pw"), kamailio,
                                           contact=parse_uri(f"sip:alice@{LOOPBACK}:{port}"))
    try:
        await alice.wait_for(Registered, timeout=10)
        async with sip_platform(trunk=_trunk(kamailio)) as sp:
            sp.app.on("/connect", [{"Say": {"text": "percl calling through kamailio"}},
                                   {"Hangup": {}}])
            made = await sp.make_call(FAR)
            call = await sp.ended(made["callId"], 25)
            code, output = await _finish(far, 20)
    finally:
        if far.returncode is None:
            far.kill()  # our own sipp, by its PID
            await far.wait()
        await alice.stop()
    assert call.status.value == "completed", call.status
    assert code == 0, output[-3000:]
    messages = trace.read_text(errors="replace")
    kam_via = f"SIP/2.0/UDP {kamailio[0]}:{kamailio[1]};branch="
    for method in ("INVITE", "ACK", "BYE"):  # each one reached sipp through kamailio
        received = [m for m in messages.split("message received")
                    if m.split("\n", 2)[1:2] and f"\n{method} sip:" in m[:400]]
        assert received, f"sipp got no {method}:\n{messages[-3000:]}"
        assert all(kam_via in m for m in received), received[0][:1500]
    # kamailio consumed the credentials; CSeq 2 is the INVITE percl sent again after its 407
    assert "CSeq: 2 INVITE" in messages and "CSeq: 1 INVITE" not in messages


def test_the_trunk_sources_default_to_the_proxy() -> None:
    trunk = _trunk((LOOPBACK, 5070))
    assert trunk.sources == () and trunk.proxy is not None
    assert ipaddress.ip_address(trunk.proxy.host).is_loopback
