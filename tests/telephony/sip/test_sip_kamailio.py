"""percl's SIP pieces against a real registrar/proxy: kamailio with digest auth, on 127.0.0.1.

kamailio is installed by tests/setup/ensure_kamailio.sh (`make test` runs it; this module runs it
too when kamailio is missing); the tests skip, saying why, only where it cannot be installed. One
kamailio per module, on a free port, stopped by its PID. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from percl.telephony.sip import tcp
from percl.telephony.sip.auth import with_credentials
from percl.telephony.sip.datagram import DatagramEndpoint
from percl.telephony.sip.dialog import Dialog
from percl.telephony.sip.message import Headers, Request, Response, parse_uri, serialize
from percl.telephony.sip.register import RegisterAccount, Registered, RegistrationFailed
from percl.telephony.sip.register_io import RegistrationClient
from percl.telephony.sip.sdp import LocalMedia, make_offer, serialize_sdp
from percl.telephony.sip.transaction import (
    ClientInviteTransaction,
    ClientTransaction,
    Deliver,
    Send,
    TimedOut,
    new_branch,
)
from percl.telephony.sip.uas import AnsweringUas, CallAnswered, CallEnded
from percl.telephony.sip.udp import UdpUas

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "kamailio" / "kamailio.cfg"
ENSURE = HERE.parents[1] / "setup" / "ensure_kamailio.sh"
REALM = "percl.test"


def _kamailio_binary() -> str:
    path = shutil.which("kamailio") or shutil.which("kamailio", path="/usr/sbin:/usr/local/sbin")
    if path is None:
        done = subprocess.run(["sh", str(ENSURE)], capture_output=True, text=True, timeout=900,
                              check=False)
        path = shutil.which("kamailio", path="/usr/sbin:/usr/local/sbin:/usr/bin")
        if path is None:
            pytest.skip(done.stdout.strip() or "kamailio is not installed")
    return path


def _free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp_sock:
                try:
                    tcp_sock.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port")


class _Inbox:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[Request | Response] = asyncio.Queue()

    def __call__(self, message: Request | Response, source: tuple[str, int]) -> None:
        self.queue.put_nowait(message)


async def _drive(txn: ClientInviteTransaction | ClientTransaction, inbox: _Inbox,
                 send: Callable[[Request | Response], None]) -> Response:
    """Run a client transaction until its final response (bounded), sending with `send`."""
    loop = asyncio.get_running_loop()
    actions = txn.start(loop.time())
    async with asyncio.timeout(15):
        while True:
            for action in actions:
                if isinstance(action, Send):
                    send(action.message)
                elif isinstance(action, Deliver) and isinstance(action.message, Response):
                    if action.message.status >= 200:
                        return action.message
                elif isinstance(action, TimedOut):
                    raise AssertionError(f"timer {action.timer} fired: no answer from kamailio")
            deadline = txn.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - loop.time())
            try:
                message = await asyncio.wait_for(inbox.queue.get(), timeout)
            except TimeoutError:
                actions = txn.on_time(loop.time())
                continue
            actions = txn.receive(message, loop.time()) if isinstance(message, Response) else []


@pytest.fixture(scope="module")
def kamailio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    binary = _kamailio_binary()
    port = _free_port()
    run_dir = tmp_path_factory.mktemp("kamailio")
    log_path = run_dir / "kamailio.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [binary, "-f", str(CONFIG), "-DD", "-E", "-Y", str(run_dir),
             "-l", f"udp:127.0.0.1:{port}", "-l", f"tcp:127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    address = ("127.0.0.1", port)
    try:
        _wait_ready(address, proc, log_path)
        yield address
    finally:
        proc.terminate()  # this module's own kamailio, by its PID
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        # and its forked workers, by the process group it leads (one was left behind once)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def _wait_ready(address: tuple[str, int], proc: subprocess.Popen[bytes], log: Path) -> None:
    """kamailio answers an unauthenticated OPTIONS (with 407) once it listens; 10 s at most."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.25)
        local = sock.getsockname()
        for _ in range(40):
            if proc.poll() is not None:
                raise AssertionError("kamailio exited: " + log.read_text(errors="replace")[-2000:])
            sock.sendto(serialize(_options("nobody", local, address)), address)
            try:
                sock.recvfrom(65535)
                return
            except TimeoutError:
                continue
    raise AssertionError("kamailio did not answer within 10 s")


def _options(user: str, local: tuple[str, int], proxy: tuple[str, int],
             call_id: str = "ready") -> Request:
    return Request("OPTIONS", parse_uri(f"sip:{user}@{proxy[0]}:{proxy[1]}"), Headers((
        ("Via", f"SIP/2.0/UDP {local[0]}:{local[1]};rport;branch={new_branch()}"),
        ("Max-Forwards", "70"),
        ("From", f"<sip:alice@{REALM}>;tag=opt1"),
        ("To", f"<sip:{user}@{REALM}>"),
        ("Call-ID", call_id),
        ("CSeq", "1 OPTIONS"),
    )))


def _account(user: str, password: str, expires: int = 3600) -> RegisterAccount:
    return RegisterAccount(registrar=parse_uri(f"sip:{REALM}"),
                           aor=parse_uri(f"sip:{user}@{REALM}"), username=user,
                           password=password, expires=expires, retry_base=30)


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_register_through_401_and_refresh(kamailio: tuple[str, int],
                                                transport: str) -> None:
    client = await RegistrationClient.start(_account("alice", "alice-pw", expires=2), kamailio,
                                            transport=transport)
    try:
        first = await client.wait_for(Registered, timeout=10)
        assert isinstance(first, Registered) and first.expires == 2
        second = await client.wait_for(Registered, count=2, timeout=10)  # refreshed at ~1 s
        assert isinstance(second, Registered) and second.refresh_at > first.refresh_at
        sent = list(client.sent)
        assert sent[0].headers.get("Authorization") is None
        assert sent[1].headers.get("Authorization") is not None  # answered kamailio's 401
        assert sent[1].vias[0].transport == transport
        assert len({r.call_id for r in sent}) == 1
        assert not [e for e in client.events if isinstance(e, RegistrationFailed)]
    finally:
        await client.stop()


async def test_wrong_password_fails_once_without_a_loop(kamailio: tuple[str, int]) -> None:
    client = await RegistrationClient.start(_account("alice", "not-the-password"), kamailio)
    try:
        failed = await client.wait_for(RegistrationFailed, timeout=10)
        assert isinstance(failed, RegistrationFailed) and failed.status == 401
        assert "authentication failed" in failed.reason
        await asyncio.sleep(0.3)  # real time: kamailio would answer a looping client at once
        assert len(client.sent) == 2
    finally:
        await client.stop()


async def test_request_challenged_with_407_is_authorized_with_with_credentials(
        kamailio: tuple[str, int]) -> None:
    inbox = _Inbox()
    endpoint = await DatagramEndpoint.start(inbox)

    def send(message: Request | Response) -> None:
        endpoint.send(message, kamailio)

    try:
        request = _options("nobody-registered", endpoint.address, kamailio, call_id="opt-407")
        challenged = await _drive(ClientTransaction(request), inbox, send)
        assert challenged.status == 407
        assert challenged.headers.get("Proxy-Authenticate") is not None
        wrong = with_credentials(request, challenged, "alice", "nope")
        assert (await _drive(ClientTransaction(wrong), inbox, send)).status == 407
        good = with_credentials(request, challenged, "alice", "alice-pw")
        answered = await _drive(ClientTransaction(good), inbox, send)
        assert answered.status == 404  # past auth: kamailio looked the user up
    finally:
        endpoint.close()


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_call_through_kamailio_ack_and_bye_follow_the_route_set(
        kamailio: tuple[str, int], transport: str) -> None:
    """alice (a percl UAC, over UDP or TCP) calls bob (percl's answering UAS, registered)."""
    core = AnsweringUas(contact="sip:bob@127.0.0.1",
                        media=lambda call_id: LocalMedia("127.0.0.1", 40010, "7"))
    uas = await UdpUas.start(core, "127.0.0.1", 0)
    core.contact = f"sip:bob@127.0.0.1:{uas.address[1]}"
    bob = await RegistrationClient.start(_account("bob", "bob-pw"), kamailio,
                                         contact=parse_uri(core.contact))
    inbox = _Inbox()
    close: Callable[[], None]
    if transport == "UDP":
        endpoint = await DatagramEndpoint.start(inbox)
        local, close = endpoint.address, endpoint.close

        def send(message: Request | Response) -> None:
            endpoint.send(message, kamailio)
    else:
        connection = await tcp.connect(*kamailio, lambda message, conn: inbox(message, kamailio))
        local, close, send = connection.local, connection.close, connection.send
    reliable = transport == "TCP"
    host, port = local
    suffix = ";transport=tcp" if reliable else ""
    try:
        await bob.wait_for(Registered, timeout=10)
        call_id = f"kamailio-call-{transport}"
        invite = Request("INVITE", parse_uri(f"sip:bob@{kamailio[0]}:{kamailio[1]}"), Headers((
            ("Via", f"SIP/2.0/{transport} {host}:{port};rport;branch={new_branch()}"),
            ("Max-Forwards", "70"),
            ("From", f"<sip:alice@{REALM}>;tag=alice1"),
            ("To", f"<sip:bob@{REALM}>"),
            ("Call-ID", call_id),
            ("CSeq", "1 INVITE"),
            ("Contact", f"<sip:alice@{host}:{port}{suffix}>"),
            ("Content-Type", "application/sdp"),
        )), body=serialize_sdp(make_offer(LocalMedia("127.0.0.1", 40012, "8"))))
        challenged = await _drive(ClientInviteTransaction(invite, reliable=reliable), inbox, send)
        assert challenged.status == 407
        invite = with_credentials(invite, challenged, "alice", "alice-pw")
        ok = await _drive(ClientInviteTransaction(invite, reliable=reliable), inbox, send)
        assert ok.status == 200, f"{ok.status} {ok.reason}"
        dialog = Dialog.as_uac(invite, ok)
        # kamailio record-routed (twice when it changed transport: TCP towards alice, UDP towards
        # bob): in-dialog requests go to it, addressed to bob's Contact.
        assert {(r.uri.host, r.uri.port) for r in dialog.route_set} == {kamailio}
        assert len(dialog.route_set) == (2 if reliable else 1)
        assert (dialog.route_set[0].uri.param("transport") or "udp").upper() == transport
        assert str(dialog.remote_target) == core.contact
        hop = dialog.next_hop()
        assert (hop.host, hop.port) == kamailio
        via = f"SIP/2.0/{transport} {host}:{port};branch={{}}"
        ack = dialog.ack(invite.cseq.number, via.format(new_branch()))
        assert ack.headers.get("Route") is not None and ack.uri == dialog.remote_target
        send(ack)
        async with asyncio.timeout(10):
            while not [e for e in core.events if isinstance(e, CallAnswered)]:
                await asyncio.sleep(0.02)
        dialog, bye = dialog.request("BYE", via.format(new_branch()))
        done = await _drive(ClientTransaction(bye, reliable=reliable), inbox, send)
        assert done.status == 200
        async with asyncio.timeout(10):
            while not [e for e in core.events if isinstance(e, CallEnded)]:
                await asyncio.sleep(0.02)
        [ended] = [e for e in core.events if isinstance(e, CallEnded)]
        assert ended.reason == "bye" and ended.call_id == call_id
    finally:
        close()
        await bob.stop()
        await uas.close()
