"""The SIP line's signalling over TCP (sipp `-t t1`) and TLS (percl's own stream client as the
peer: Debian's sipp is built without TLS), inbound and outbound, on 127.0.0.1, bounded in time."""

from __future__ import annotations

import asyncio
import re
import ssl
from pathlib import Path

import pytest
from sip_platform import CALLER, FAR, LOOPBACK, NUMBER, free_udp_port, need, run, sip_platform
from test_sip_line_sipp import SCENARIOS, _finish, _scenario

from percl.telephony.sip import tcp
from percl.telephony.sip.config import HostPort
from percl.telephony.sip.message import Request, Response, make_response, parse_message
from percl.testing.agents import self_signed as kit_self_signed

OFFER = (b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
         b"m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
         b"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n")


@pytest.fixture(scope="module")
def sipp() -> str:
    return need("sipp", "ensure_sipp.sh")


def free_tcp_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (and its key), made here: the test's own CA."""
    cert, key = kit_self_signed(LOOPBACK)
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert)
    key_path.write_bytes(key)
    return cert_path, key_path


async def test_sipp_calls_in_over_tcp_and_percls_bye_comes_back_on_the_connection(
        sipp: str, tmp_path: Path) -> None:
    async with sip_platform(tcp=HostPort(LOOPBACK, 0)) as sp:
        sp.app.on("/voice", [{"Say": {"text": "Hello over TCP"}}, {"Hangup": {}}])
        assert sp.platform.sip_line is not None
        port = sp.platform.sip_line.stream_address("TCP")[1]
        assert any(line.startswith("SIP on tcp") for line in sp.platform.sip_line.describe())
        code, output = await run(
            [sipp, "-sf", str(_scenario(tmp_path, "uac_call.xml")), f"{LOOPBACK}:{port}",
             "-t", "t1", "-i", LOOPBACK, "-p", str(free_tcp_port()),
             "-mp", str(free_udp_port()), "-key", "dest", NUMBER, "-key", "caller", CALLER,
             "-key", "rtp_port", str(free_udp_port()), "-m", "1", "-nostdin",
             "-timeout", "60s", "-timeout_error", "-recv_timeout", "30000"], tmp_path, 60)
        assert code == 0, output[-3000:]  # sipp got 200 over TCP and the BYE on its connection
        (call,) = await sp.calls()
        assert (call.from_, call.to, call.status.value) == (CALLER, NUMBER, "completed")


async def test_an_outdial_over_a_tcp_trunk_reaches_a_sipp_uas(sipp: str, tmp_path: Path) -> None:
    port = free_tcp_port()
    far = await asyncio.create_subprocess_exec(
        sipp, "-sf", str(SCENARIOS / "uas_answer.xml"), "-t", "t1", "-i", LOOPBACK,
        "-p", str(port), "-mp", str(free_udp_port()), "-m", "1", "-nostdin",
        "-timeout", "30s", "-timeout_error", cwd=tmp_path, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    await asyncio.sleep(0.3)  # let it bind its port
    try:
        async with sip_platform(trunk_port=port, transport="tcp") as sp:
            sp.app.on("/connect", [{"Say": {"text": "percl calling over TCP"}}, {"Hangup": {}}])
            made = await sp.make_call(FAR)
            call = await sp.ended(made["callId"], 20)
            code, output = await _finish(far, 20)
    finally:
        if far.returncode is None:
            far.kill()  # our own sipp, by its PID
            await far.wait()
    assert call.status.value == "completed"
    assert code == 0, output[-3000:]  # sipp got the INVITE, the ACK and the BYE over TCP


class _Peer:
    """A far SIP user agent on a stream connection: it keeps what arrives, answers BYE."""

    def __init__(self) -> None:
        self.got: list[Request | Response] = []
        self.arrived = asyncio.Event()

    def __call__(self, message: Request | Response, connection: tcp.Connection) -> None:
        self.got.append(message)
        self.arrived.set()
        if isinstance(message, Request) and message.method in ("BYE", "OPTIONS"):
            connection.send(make_response(message, 200, "OK"))

    async def next(self, match: str, within: float = 10.0) -> Request | Response:
        async with asyncio.timeout(within):
            while True:
                for message in self.got:
                    text = message.method if isinstance(message, Request) else str(message.status)
                    if text == match:
                        self.got.remove(message)
                        return message
                self.arrived.clear()
                await self.arrived.wait()


def _invite(port: int, local: tuple[str, int], rtp: int) -> Request:
    body = OFFER.replace(b"{port}", str(rtp).encode())
    text = (f"INVITE sip:{NUMBER}@{LOOPBACK}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/TLS {local[0]}:{local[1]};branch=z9hG4bKtls1;rport\r\n"
            f"From: <sip:{CALLER}@{LOOPBACK}>;tag=peer1\r\nTo: <sip:{NUMBER}@{LOOPBACK}>\r\n"
            f"Call-ID: tls-call-1\r\nCSeq: 1 INVITE\r\n"
            f"Contact: <sip:peer@{local[0]}:{local[1]};transport=tls>\r\nMax-Forwards: 70\r\n"
            f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    message = parse_message(text + body)
    assert isinstance(message, Request)
    return message


async def test_a_tls_caller_is_answered_and_hung_up_on_its_connection(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    async with sip_platform(tls=HostPort(LOOPBACK, 0), tls_cert=str(cert),
                            tls_key=str(key)) as sp:
        sp.app.on("/voice", [{"Say": {"text": "Hello over TLS"}}, {"Hangup": {}}])
        assert sp.platform.sip_line is not None
        port = sp.platform.sip_line.stream_address("TLS")[1]
        peer = _Peer()
        trusting = ssl.create_default_context(cafile=str(cert))
        connection = await tcp.connect(LOOPBACK, port, peer, ssl=trusting)
        try:
            connection.send(_invite(port, connection.local, free_udp_port()))
            ok = await peer.next("200")
            assert isinstance(ok, Response)
            assert ok.headers.get("Contact") == f"<sip:percl@{LOOPBACK}:{port};transport=tls>"
            assert ok.vias[0].transport == "TLS"
            ack = (f"ACK sip:percl@{LOOPBACK}:{port};transport=tls SIP/2.0\r\n"
                   f"Via: SIP/2.0/TLS {connection.local[0]}:{connection.local[1]}"
                   f";branch=z9hG4bKtls2;rport\r\n{_dialog_headers(ok)}CSeq: 1 ACK\r\n"
                   f"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode()
            ack_message = parse_message(ack)
            assert isinstance(ack_message, Request)
            connection.send(ack_message)
            bye = await peer.next("BYE", 20)  # the app hung up: BYE on the caller's connection
            assert isinstance(bye, Request) and bye.vias[0].transport == "TLS"
            (call,) = await sp.calls()
            assert await sp.wait(lambda: sp.platform.sip_line is not None
                                 and sp.platform.sip_line.live_legs == 0, 5)
            assert (await sp.ended(call.call_id, 5)).status.value == "completed"
            untrusting = ssl.create_default_context()  # the system's CAs do not know the cert
            with pytest.raises(ssl.SSLError):
                await tcp.connect(LOOPBACK, port, peer, ssl=untrusting)
        finally:
            connection.close()


def _dialog_headers(response: Response) -> str:
    return (f"From: {response.headers.get('From')}\r\nTo: {response.headers.get('To')}\r\n"
            f"Call-ID: {response.call_id}\r\n")


async def test_an_outdial_over_a_tls_trunk_checks_the_certificate_and_completes(
        tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    peer = _Peer()
    answered: list[tcp.Connection] = []

    def far_phone(message: Request | Response, connection: tcp.Connection) -> None:
        peer(message, connection)
        if isinstance(message, Request) and message.method == "INVITE":
            answered.append(connection)
            connection.send(make_response(message, 180, "Ringing", to_tag="far1"))
            rtp = free_udp_port()
            ok = make_response(message, 200, "OK", to_tag="far1", extra=(
                ("Contact", f"<sip:far@{LOOPBACK}:{server.address[1]};transport=tls>"),
                ("Content-Type", "application/sdp")),
                body=OFFER.replace(b"{port}", str(rtp).encode()).replace(b" 0 101", b" 0"))
            connection.send(ok)

    server = await tcp.StreamServer.start(far_phone, LOOPBACK, 0, ssl=server_ctx)
    try:
        async with sip_platform(trunk_port=server.address[1], transport="tls",
                                tls_ca=str(cert)) as sp:
            sp.app.on("/connect", [{"Say": {"text": "percl calling over TLS"}}, {"Hangup": {}}])
            made = await sp.make_call(FAR)
            invite = await peer.next("INVITE")
            assert isinstance(invite, Request)
            assert invite.vias[0].transport == "TLS"
            assert re.search(r";transport=tls>", invite.headers.get("Contact") or "")
            assert await peer.next("ACK")
            bye = await peer.next("BYE", 20)
            assert isinstance(bye, Request)
            call = await sp.ended(made["callId"], 10)
            assert call.status.value == "completed"
        async with sip_platform(trunk_port=server.address[1], transport="tls") as sp:
            made = await sp.make_call(FAR)  # the system's CAs: the test certificate is refused
            call = await sp.ended(made["callId"], 10)
            assert call.status.value == "failed"
    finally:
        await server.close()
