"""The SIP trunk as an external line of the simulated network: real phones as legs of the engine.

`SipLine` is the asyncio shell around the sans-I/O `SipAgent`: one UDP socket for SIP, a timer
task for the transactions, and an `RtpEndpoint` per call that is that leg's `FarAudio`. It joins
the engine through the network's external-lines contract (telephony/sim/lines.py), so a SIP
caller runs the number's application as a simulated caller does, and an OutDial to a number a
trunk routes rings a real phone.

Inbound, in order (the first failing check answers the INVITE). Checks 0-1b are acl.Admission's,
made by the agent before a call exists (only for dialog-creating INVITEs: in-dialog requests
belong to a dialog that was admitted):
  0. the source address's token bucket (`rate`/s, `burst`) -> 503 with Retry-After, or silence
     for a source that is not a trunk's (answering a flood amplifies it);
  1. the source address belongs to a configured trunk (its `sources`, else its proxy) -> 403;
  1b. the Request-URI's host is percl (its addresses, `domains`): no relaying -> 403;
  2. the Request-URI's user (else the To user) is a number of an account -> 404 (here, not in
     Admission: the store is asynchronous);
  3. the SDP offer has a stream percl can do (PCMU/PCMA) -> 488 (400 when it is not SDP);
  4. an RTP port pair is free -> 503;
then 180 Ringing and the call goes to the engine (`line_call`). The engine's answer sends 200
with the SDP answer; audio the platform plays before that (PlayEarlyMedia) sends 183 with the
same SDP first. A CANCEL or BYE reaches the engine as the far end's hang-up; RFC 4733 events as
key presses.

Outbound (`dial`): the first trunk whose prefixes match `to` gets an INVITE through its proxy
with percl's offer; 180/183 ring (183 with SDP plays early audio), 200 answers, and failures map
to FreeClimb's outcomes: 486, 600 and 603 busy; 408 and 480 no answer; anything else failed.
The engine's ring timeout or hang-up ends the leg, and `ended` CANCELs or BYEs as the state needs.

Why the engine's call id is learnt late: `line_call` makes it, and the engine may answer (and
so call `answered`) before `line_call` returns. Answers and ends for ids not yet known are kept
until it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import secrets
import socket
import ssl
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from percl.domain.phone import is_e164, is_sip_uri
from percl.domain.records import IncomingNumber
from percl.engine.ports import DialResult
from percl.errors import ConfigError
from percl.runtime.tasks import OwnedTaskGroup, TaskOwner
from percl.telephony.sim.lines import ExternalLine, FarAudio, LineCall
from percl.telephony.sip.acl import Admission, RateLimiter, Verdict
from percl.telephony.sip.acl import Trunk as AclTrunk
from percl.telephony.sip.agent import (
    Answered,
    Ended,
    Event,
    Failed,
    Incoming,
    Phase,
    Progress,
    Reoffer,
    SipAgent,
)
from percl.telephony.sip.auth import (
    Challenge,
    DigestVerifier,
    challenge_header,
    credentials_header,
    parse_digest_params,
    with_credentials,
)
from percl.telephony.sip.config import HostPort, SipConfig, SipUser, Trunk
from percl.telephony.sip.media import PortPool, RtpEndpoint
from percl.telephony.sip.message import (
    NameAddr,
    ParseError,
    Request,
    Response,
    Uri,
    parse_uri,
)
from percl.telephony.sip.register import RegisterAccount, Registered, RegistrationFailed
from percl.telephony.sip.register_io import RegEvent, RegistrationClient
from percl.telephony.sip.registrar import Binding, Registrar
from percl.telephony.sip.sdp import (
    LocalMedia,
    SdpError,
    SdpRefused,
    SessionDescription,
    answer_offer,
    make_offer,
    parse_sdp,
    read_answer,
    serialize_sdp,
)
from percl.telephony.sip.tcp import Connection, StreamServer, connect
from percl.telephony.sip.uas import Outgoing

log = logging.getLogger(__name__)

USER_REALM = "percl"
"""The digest realm percl challenges its registered users in."""
REGISTER_WAIT = 2.0
"""Seconds start-up waits for each trunk's first REGISTER outcome, so the banner can show it."""

Address = tuple[str, int]
#: The store's record of an account's number, or None (app.py: Store.find_number).
FindNumber = Callable[[str], Awaitable[IncomingNumber | None]]
#: Digest credentials for a challenged request: (trunk, request, 401/407) -> the request again
#: with Authorization / Proxy-Authorization, or None. The digest module provides it.
Digest = Callable[[Trunk, Request, Response], Request | None]



def trunk_credentials(trunk: Trunk, request: Request, challenge: Response) -> Request | None:
    """The `Digest` percl uses (auth.py): `request` again with the trunk's credentials for the
    challenge, or None when the trunk has none, the challenge cannot be answered, or it is a
    second challenge to credentials already sent for the same nonce (a wrong password: no loop)."""
    if not trunk.username or trunk.password is None:
        return None
    try:
        offered = Challenge.best(challenge.headers.get_all(challenge_header(challenge.status)))
    except ValueError:
        log.warning("SIP trunk %s: cannot answer the %d challenge to %s", trunk.name,
                    challenge.status, request.method)
        return None
    for sent in request.headers.get_all(credentials_header(challenge.status)):
        params = parse_digest_params(sent)
        if params.get("realm") == offered.realm and params.get("nonce") == offered.nonce:
            log.warning("SIP trunk %s: %s refused again with the same challenge: check the "
                        "trunk's username and password", trunk.name, request.method)
            return None
    return with_credentials(request, challenge, trunk.username, trunk.password)


_BUSY = frozenset({486, 600, 603})
_NO_ANSWER = frozenset({408, 480})


class LineHost(Protocol):
    """The network a line brings its inbound calls to (SimNetwork)."""

    async def line_call(self, line: ExternalLine, from_: str, to: str, far: FarAudio, *,
                        number: IncomingNumber | None = None) -> LineCall: ...


def dial_result(status: int) -> DialResult:
    """A final SIP status of an outbound INVITE as a FreeClimb dial outcome."""
    if status in _BUSY:
        return DialResult.BUSY
    if status in _NO_ANSWER:
        return DialResult.NO_ANSWER
    return DialResult.FAILED


def phone_number(user: str | None) -> str | None:
    """A URI's user part as an E.164 number ("+15551234567", "15551234567"), else None."""
    if not user:
        return None
    text = user.split(";")[0].replace("-", "").replace(".", "")
    number = text if text.startswith("+") else "+" + text
    return number if is_e164(number) else None


@dataclass
class _Leg:
    sip_id: str
    rtp: RtpEndpoint
    trunk: Trunk
    outbound: bool
    call: LineCall | None = None
    answer: bytes = b""  # inbound: our SDP answer, for the 183 and the 200
    offer: SessionDescription | None = None  # outbound: our offer
    rang: bool = False
    early: bool = False


class _Socket(asyncio.DatagramProtocol):
    def __init__(self, line: SipLine) -> None:
        self._line = line

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self._line.datagram(data, (str(addr[0]), int(addr[1])))

    def error_received(self, exc: Exception) -> None:
        log.debug("SIP socket error: %s", exc)


class SipLine(TaskOwner):
    """The SIP trunk line. Use as `async with SipLine(config, network, find_number) as line:`
    and `network.add_line(line)`; it binds `config.listen` on entering."""

    name = "sip"

    def __init__(self, config: SipConfig, host: LineHost, find_number: FindNumber, *,
                 digest: Digest | None = None) -> None:
        """`digest`: answers 401/407 challenges with a trunk's username and password; without
        it a challenged outbound call fails with the challenge's status."""
        self.config = config
        self._digest = digest
        self._host = host
        self._find_number = find_number
        self._group = OwnedTaskGroup("SipLine")
        self._ports = PortPool(*config.rtp_ports)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._transport: asyncio.DatagramTransport | None = None
        self._agent = SipAgent(config.advertised, config.listen.port, authorize=self._authorize,
                               admit=self._admit)
        self._verifier: DigestVerifier | None = None
        self._registrar: Registrar | None = None
        if config.users:
            self._verifier = DigestVerifier(USER_REALM, {u.name: u.password for u in config.users},
                                            lambda: self._now())
            self._registrar = Registrar(self._verifier, (u.name for u in config.users))
            self._agent.register = self._register
        self._user_calls: dict[str, str] = {}  # SIP Call-ID -> user, for INVITEs admitted by digest
        self._domains: frozenset[str] = frozenset()
        self._admission: Admission | None = None  # made in _start, once the proxies resolve
        self._wake = asyncio.Event()
        self._legs: dict[str, _Leg] = {}  # by SIP Call-ID
        self._by_engine: dict[str, _Leg] = {}  # by the engine's call id
        self._early_answers: set[str] = set()
        self._early_ends: set[str] = set()
        self._arriving = 0  # line_call()s in progress
        self._proxy_ips: dict[str, frozenset[str]] = {}
        self._proxy_hops: dict[str, Address] = {}
        self._registrations: dict[str, RegistrationClient] = {}  # by trunk name
        self._reg_state: dict[str, str] = {}  # by trunk name: the banner's words
        self._reg_outcome = asyncio.Event()  # every registering trunk had a first outcome
        self._stream_servers: dict[str, StreamServer] = {}  # "TCP" / "TLS" listeners
        self._streams: dict[tuple[str, Address], Connection] = {}  # by transport, far address
        self._client_tls: ssl.SSLContext | None = None

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> SipLine:
        await super().__aenter__()
        try:
            await self._start()
        except BaseException:
            await self._stop_registrations()
            await self._group.close()
            raise
        return self

    async def _start(self) -> None:
        self._loop = asyncio.get_running_loop()
        for trunk in self.config.trunks:
            if trunk.proxy is not None:
                infos = await self._loop.getaddrinfo(trunk.proxy.host, trunk.proxy.port,
                                                     type=socket.SOCK_DGRAM)
                self._proxy_ips[trunk.name] = frozenset(str(i[4][0]) for i in infos)
                self._proxy_hops[trunk.name] = (str(infos[0][4][0]), int(infos[0][4][1]))
        listen = self.config.listen
        transport, _ = await self._loop.create_datagram_endpoint(
            lambda: _Socket(self), local_addr=(listen.host, listen.port))
        self._transport = transport
        self._agent.port = self.address[1]  # the real port when the config said 0
        self._domains = frozenset(await self._local_domains())
        self._admission = Admission(
            [AclTrunk.from_cidrs(t.name, [str(n) for n in t.sources] or
                                 sorted(self._proxy_ips.get(t.name, ()))) for t in self.config.trunks],
            local_domains=self._domains,
            is_our_number=lambda user: True,  # the 404 comes after, from the store (_inbound)
            limiter=RateLimiter(self.config.rate, self.config.burst), verifier=self._verifier)
        self._group.spawn(self._run_timers())
        log.info("SIP line on udp %s:%d", *self.address)
        await self._start_streams()
        await self._register_trunks()

    async def _start_streams(self) -> None:
        """The TCP and TLS listeners, when configured, and the context outbound TLS trusts."""
        config = self.config
        if config.tls is not None or any(t.transport == "tls" for t in config.trunks):
            self._client_tls = _tls_context(config)
        listeners: list[tuple[str, HostPort | None, ssl.SSLContext | None]] = [
            ("TCP", config.tcp, None),
            ("TLS", config.tls, _tls_server_context(config) if config.tls else None)]
        for name, where, context in listeners:
            if where is None:
                continue
            server = await StreamServer.start(self._stream_message, where.host, where.port,
                                              ssl=context)
            self._stream_servers[name] = server
            self._agent.stream_ports[name] = server.address[1]
            log.info("SIP line on %s %s:%d", name.lower(), *server.address)

    def stream_address(self, transport: str) -> Address:
        """Where the TCP or TLS listener is bound (the real port when the config said 0)."""
        return self._stream_servers[transport.upper()].address

    async def _register_trunks(self) -> None:
        """REGISTER the line's Contact with each `register = true` trunk's proxy, and wait
        (at most REGISTER_WAIT s) for the first outcomes. The REGISTERs go from a socket of
        their own (register_io), the Contact is the line's address, where calls arrive."""
        for trunk in self.config.trunks:
            if not trunk.register or trunk.proxy is None or not trunk.username:
                continue
            hop = self._proxy_hops[trunk.name]
            account = RegisterAccount(
                registrar=Uri("sip", host=trunk.proxy.host, port=trunk.proxy.port),
                aor=Uri("sip", host=trunk.proxy.host, user=trunk.username),
                username=trunk.username, password=trunk.password or "")
            transport = trunk.transport.upper()
            port = self._agent.stream_ports.get(transport, self.address[1])
            params = () if transport == "UDP" else (("transport", trunk.transport),)
            contact = Uri("sip", host=self.config.advertised, port=port, user=trunk.username,
                          params=params)
            self._reg_state[trunk.name] = f"registering with {trunk.proxy}"
            self._registrations[trunk.name] = await RegistrationClient.start(
                account, hop, local_host=_local_address_toward(hop, self.config.listen.host),
                contact=contact, on_event=self._on_registration(trunk), transport=transport,
                ssl=self._client_tls if transport == "TLS" else None)
        if not self._registrations:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(REGISTER_WAIT):
                await self._reg_outcome.wait()

    def _on_registration(self, trunk: Trunk) -> Callable[[RegEvent], None]:
        def on_event(event: RegEvent) -> None:
            self._registration(trunk, event)
            if all(not state.startswith("registering") for state in self._reg_state.values()):
                self._reg_outcome.set()
        return on_event

    def _registration(self, trunk: Trunk, event: RegEvent) -> None:
        if isinstance(event, Registered):
            self._reg_state[trunk.name] = f"registered with {trunk.proxy} for {event.expires} s"
        elif isinstance(event, RegistrationFailed):
            self._reg_state[trunk.name] = f"NOT registered with {trunk.proxy}: {event.reason}"
        else:
            self._reg_state[trunk.name] = "unregistered"

    def describe(self) -> list[str]:
        """The banner's lines: the configuration's, and each registering trunk's state."""
        return [*self.config.describe(),
                *(f"trunk {name}: {state}" for name, state in self._reg_state.items())]

    def user_binding(self, name: str) -> Binding | None:
        """Where user `name`'s phone is registered now, or None (not registered, no users)."""
        if self._registrar is None:
            return None
        return self._registrar.binding(name, self._now())

    def registration(self, trunk: str) -> RegistrationClient | None:
        """The trunk's REGISTER client (its events and state), when it registers."""
        return self._registrations.get(trunk)

    async def _close(self, exc: BaseException | None) -> None:
        for leg in list(self._legs.values()):
            self._send(self._agent.hang_up(leg.sip_id, self._now()))
            leg.rtp.close()
        self._legs.clear()
        self._by_engine.clear()
        await self._stop_registrations()
        await self._group.close()
        for connection in list(self._streams.values()):
            connection.close()
        self._streams.clear()
        for server in self._stream_servers.values():
            await server.close()
        self._stream_servers.clear()
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    async def _stop_registrations(self) -> None:
        """Remove the bindings (each bounded by REGISTER_WAIT) and close their sockets."""
        for client in self._registrations.values():
            await client.stop(timeout=REGISTER_WAIT)
        self._registrations.clear()

    async def _local_domains(self) -> set[str]:
        """The Request-URI hosts that are percl: its listen, bound and advertised addresses, the
        configured `domains`, and when listening on all interfaces this host's names and
        addresses (a softphone on the LAN dials percl's LAN address)."""
        assert self._loop is not None
        domains = {self.config.advertised, self.address[0], "localhost", *self.config.domains}
        if self.config.listen.host in ("0.0.0.0", "::"):
            name = socket.gethostname()
            domains |= {name, "127.0.0.1", "::1"}  # (no getfqdn: a blocking reverse lookup)
            with contextlib.suppress(OSError):
                infos = await self._loop.getaddrinfo(name, None, type=socket.SOCK_DGRAM)
                domains |= {str(info[4][0]) for info in infos}
        return {domain.lower() for domain in domains}

    def _admit(self, invite: Request, source: Address, now: float) -> Verdict:
        if self._admission is None:
            return Verdict(503, "starting", retry_after=1)
        verdict = self._admission.check_request(invite, source[0], now)
        if verdict.admitted and verdict.user is not None:
            # forget users of INVITEs the agent refused after admitting them (422): no call
            for sip_id in [c for c in self._user_calls if self._agent.phase(c) is None]:
                del self._user_calls[sip_id]
            self._user_calls[invite.call_id] = verdict.user
        if verdict.status == 503:
            log.debug("SIP INVITE from %s: rate limited", source[0])
        elif not verdict.admitted:
            log.warning("SIP INVITE from %s refused (%d): %s", source[0], verdict.status,
                        verdict.reason)
        return verdict

    @property
    def address(self) -> Address:
        assert self._transport is not None, "the SIP line is not running"
        host, port = self._transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    @property
    def live_legs(self) -> int:
        return len(self._legs)

    def jitter_ms(self) -> list[float]:
        """The RFC 3550 interarrival jitter of each live leg's incoming stream (for the bench)."""
        return [leg.rtp.jitter_ms() for leg in self._legs.values()]

    def _now(self) -> float:
        assert self._loop is not None
        return self._loop.time()

    def _send(self, outgoing: list[Outgoing]) -> None:
        if self._transport is None:
            return
        for item in outgoing:
            if item.transport != "UDP":
                self._send_stream(item)
                continue
            with contextlib.suppress(OSError):  # one unreachable peer must not stop the rest
                self._transport.sendto(item.data, item.address)
        if outgoing:
            self._wake.set()  # a new transaction may have an earlier deadline

    def _send_stream(self, item: Outgoing) -> None:
        """On the open connection to the address (the one a request came on, or the one percl
        opened to a trunk), else on a new connection (a BYE to a Contact elsewhere)."""
        connection = self._streams.get((item.transport, item.address))
        if connection is not None and connection.is_open:
            connection.send_bytes(item.data)
        else:
            self._spawn(self._connect_and_send(item))

    async def _connect_and_send(self, item: Outgoing) -> None:
        try:
            connection = await self._connection(item.transport, item.address, item.address[0])
        except (OSError, ssl.SSLError) as error:
            log.warning("SIP %s to %s:%d: cannot connect (%s)", item.transport, *item.address,
                        error)
            return
        connection.send_bytes(item.data)

    async def _connection(self, transport: str, address: Address, name: str) -> Connection:
        """The open connection to `address` over `transport`, or a new one (TLS checks the
        certificate against `name`)."""
        key = (transport, address)
        found = self._streams.get(key)
        if found is not None and found.is_open:
            return found
        context = self._client_tls if transport == "TLS" else None
        if transport == "TLS" and context is None:
            context = self._client_tls = _tls_context(self.config)
        async with asyncio.timeout(REGISTER_WAIT * 5):
            connection = await connect(address[0], address[1], self._stream_message,
                                       ssl=context, server_hostname=name)
        self._keep(key, connection)
        return connection

    def _keep(self, key: tuple[str, Address], connection: Connection) -> None:
        self._streams[key] = connection

        def forget(_: object) -> None:
            if self._streams.get(key) is connection:
                del self._streams[key]
        connection.closed.add_done_callback(forget)

    def _stream_message(self, message: Request | Response, connection: Connection) -> None:
        """A message from a TCP or TLS connection (accepted, or opened by percl)."""
        key = (connection.transport_name, connection.peer)
        if key not in self._streams:
            self._keep(key, connection)
        self._send(self._agent.receive_message(message, connection.peer, self._now(),
                                               transport=connection.transport_name))
        self._events()

    async def _run_timers(self) -> None:
        while True:
            deadline = self._agent.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - self._now())
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._send(self._agent.on_time(self._now()))
            self._events()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self._group.spawn(_guarded(coro))

    # ------------------------------------------------------------------ the wire

    def datagram(self, data: bytes, source: Address) -> None:
        self._send(self._agent.receive(data, source, self._now()))
        self._events()

    def _events(self) -> None:
        for event in self._agent.take_events():
            self._event(event)

    def _event(self, event: Event) -> None:
        if isinstance(event, Incoming):
            self._spawn(self._inbound(event))
            return
        leg = self._legs.get(event.call_id)
        if leg is None:
            return
        if isinstance(event, Progress):
            self._progress(leg, event)
        elif isinstance(event, Answered):
            self._answered(leg, event)
        elif isinstance(event, Failed):
            self._failed(leg, event.status)
        elif isinstance(event, Ended):
            self._far_end_hung_up(leg)
        elif isinstance(event, Reoffer):
            self._reoffer(leg, event)

    # ------------------------------------------------------------------ inbound

    async def _inbound(self, event: Incoming) -> None:
        sip_id, invite = event.call_id, event.request
        user = self._user_calls.pop(sip_id, None)
        trunk = _USERS if user is not None else self._trunk_of(event.source[0])
        if trunk is None:  # admitted by the agent's hook, so only if the config lost the trunk
            self._refuse(sip_id, 403)
            return
        to = phone_number(invite.uri.user) or phone_number(invite.to.uri.user)
        number = await self._find_number(to) if to else None
        if number is None and phone_number(invite.to.uri.user) not in (None, to):
            to = phone_number(invite.to.uri.user)
            number = await self._find_number(to) if to else None
        if number is None or to is None:
            self._refuse(sip_id, 404)
            return
        leg = await self._inbound_leg(sip_id, invite, trunk)
        if leg is None or self._agent.phase(sip_id) is Phase.ENDED:
            if leg is not None:
                self._forget(leg)
            return
        self._send(self._agent.respond(sip_id, 180, self._now()))
        await self._hand_to_engine(leg, _caller(invite.from_), to, number)

    async def _inbound_leg(self, sip_id: str, invite: Request, trunk: Trunk) -> _Leg | None:
        try:
            offer = parse_sdp(invite.body)
        except SdpError:
            self._refuse(sip_id, 400)
            return None
        try:
            rtp = await RtpEndpoint.open(self.config.listen.host, self._ports)
        except OSError:
            self._refuse(sip_id, 503)
            return None
        local = LocalMedia(self.config.advertised, rtp.port, str(secrets.randbits(31)))
        try:
            answer, params = answer_offer(offer, local)
        except SdpRefused:
            rtp.close()
            self._refuse(sip_id, 488)
            return None
        leg = _Leg(sip_id, rtp, trunk, outbound=False, answer=serialize_sdp(answer))
        rtp.start(params)
        rtp.held = True
        rtp.on_early_audio = lambda: self._early_media(leg)
        rtp.on_digits = lambda digits: leg.call.press(digits) if leg.call else None
        self._legs[sip_id] = leg
        return leg

    async def _hand_to_engine(self, leg: _Leg, from_: str, to: str,
                              number: IncomingNumber) -> None:
        self._arriving += 1
        try:
            call = await self._host.line_call(self, from_, to, leg.rtp, number=number)
        except Exception:
            log.exception("SIP call %s: the engine did not take it", leg.sip_id)
            self._send(self._agent.respond(leg.sip_id, 500, self._now()))
            self._forget(leg)
            return
        finally:
            self._arriving -= 1
        leg.call = call
        self._by_engine[call.call_id] = leg
        if self._agent.phase(leg.sip_id) is Phase.ENDED:
            call.hang_up()  # cancelled while the engine was taking it
        if call.call_id in self._early_answers:
            self.answered(call.call_id)
        if call.call_id in self._early_ends:
            self.ended(call.call_id)
        if self._arriving == 0:
            self._early_answers.clear()
            self._early_ends.clear()

    def _refuse(self, sip_id: str, status: int) -> None:
        self._send(self._agent.respond(sip_id, status, self._now()))

    def _trunk_of(self, ip: str) -> Trunk | None:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return None
        for trunk in self.config.trunks:
            if trunk.sources:
                if any(address in network for network in trunk.sources):
                    return trunk
            elif ip in self._proxy_ips.get(trunk.name, ()):
                return trunk
        return None

    def _early_media(self, leg: _Leg) -> None:
        if not leg.early and self._agent.phase(leg.sip_id) is Phase.RINGING:
            leg.early = True
            self._send(self._agent.respond(leg.sip_id, 183, self._now(), body=leg.answer))

    def answered(self, call_id: str) -> None:
        """The platform answered: 200 OK with the SDP answer."""
        leg = self._by_engine.get(call_id)
        if leg is None:
            if self._arriving:  # a call line_call has not returned yet (module docstring)
                self._early_answers.add(call_id)
            return
        leg.rtp.held = False
        self._send(self._agent.respond(leg.sip_id, 200, self._now(), body=leg.answer))

    def _reoffer(self, leg: _Leg, event: Reoffer) -> None:
        """A re-INVITE (hold, resume, a new address): answer it and follow it."""
        local = LocalMedia(self.config.advertised, leg.rtp.port, str(secrets.randbits(31)))
        try:
            answer, params = answer_offer(parse_sdp(event.body), local)
        except (SdpError, SdpRefused):
            self._send(self._agent.respond(leg.sip_id, 488, self._now()))
            return
        leg.rtp.start(params)
        self._send(self._agent.respond(leg.sip_id, 200, self._now(), body=serialize_sdp(answer)))

    # ------------------------------------------------------------------ outbound

    def handles(self, to: str) -> bool:
        return self._user_for(to) is not None or self.config.trunk_for(to) is not None or (
            self.config.direct_uris and is_sip_uri(to))

    def _user_for(self, to: str) -> SipUser | None:
        """The registered user a call to `to` rings: `to` is its number, or sip:NAME@percl."""
        for user in self.config.users:
            if user.number is not None and to == user.number:
                return user
        if not is_sip_uri(to):
            return None
        try:
            uri = parse_uri(to)
        except ParseError:
            return None
        if uri.host.lower() not in self._domains:
            return None
        return next((u for u in self.config.users if u.name == uri.user), None)

    def _register(self, request: Request, source: Address,
                  now: float) -> tuple[int, tuple[tuple[str, str], ...]]:
        """A REGISTER from one of the users' phones (registrar.py), rate-limited per source."""
        assert self._registrar is not None
        if self._admission is None:
            return 503, (("Retry-After", "1"),)
        wait = self._admission.limiter.take(source[0], now)
        if wait > 0:
            return 503, (("Retry-After", str(max(1, int(wait + 0.999)))),)
        status, extra = self._registrar.register(request, source, now,
                                                 transport=request.vias[0].transport.upper())
        if status == 403:
            log.warning("SIP REGISTER from %s refused (403): unknown user or wrong password",
                        source[0])
        return status, extra

    async def dial(self, call: LineCall) -> None:
        """INVITE `call.to` through its trunk's proxy (or, for a sip: URI no trunk routes and
        `direct_uris`, to the URI's host); the answer or failure comes later."""
        user = self._user_for(call.to)
        route = self._user_route(user, call) if user is not None else await self._route(call.to)
        if route is None:
            if user is None:
                call.fail(DialResult.FAILED)
            return
        trunk, transport, hop, name, target = route
        if transport != "UDP":
            try:
                await self._connection(transport, hop, name)
            except (OSError, ssl.SSLError, TimeoutError) as error:
                log.warning("SIP call to %s failed: no %s connection to %s:%d (%s)", call.to,
                            transport, *hop, error)
                call.fail(DialResult.FAILED)
                return
        try:
            rtp = await RtpEndpoint.open(self.config.listen.host, self._ports)
        except OSError:
            log.warning("SIP call to %s failed: no free RTP port", call.to)
            call.fail(DialResult.FAILED)
            return
        if not call.live:
            rtp.close()
            return
        offer = make_offer(LocalMedia(self.config.advertised, rtp.port,
                                      str(secrets.randbits(31))))
        caller = parse_uri(f"sip:{call.from_}@{self.config.advertised}")
        sip_id, out = self._agent.invite(
            request_uri=target, from_=NameAddr(caller), to=NameAddr(target),
            hop=hop, body=serialize_sdp(offer), now=self._now(),
            extra=(("P-Asserted-Identity", f"<{caller}>"),), transport=transport)
        leg = _Leg(sip_id, rtp, trunk, outbound=True, call=call, offer=offer)
        rtp.on_digits = lambda digits: call.press(digits)
        self._legs[sip_id] = leg
        self._by_engine[call.call_id] = leg
        self._send(out)

    def _user_route(self, user: SipUser,
                    call: LineCall) -> tuple[Trunk, str, Address, str, Uri] | None:
        """A call to a registered user goes to its binding's Contact, sent where its REGISTER
        came from (NAT); not registered, it fails as a 480 would: no answer."""
        assert self._registrar is not None
        binding = self._registrar.binding(user.name, self._now())
        if binding is None:
            log.info("SIP call to %s: user %s is not registered (480)", call.to, user.name)
            call.fail(dial_result(480))
            return None
        return _USERS, binding.transport, binding.source, binding.source[0], binding.contact.uri

    async def _route(self, to: str) -> tuple[Trunk, str, Address, str, Uri] | None:
        """How a call to `to` goes out: (the trunk whose credentials answer challenges, the
        transport, the next hop, the name TLS checks, the Request-URI); None when it cannot.
        A number goes to `sip:NUMBER@proxy`; a sip: URI is the Request-URI itself, sent to the
        trunk's proxy, or straight to its host when `direct_uris` and no trunk routes it."""
        trunk = self.config.trunk_for(to)
        if trunk is not None and trunk.proxy is not None:
            hop = self._proxy_hops[trunk.name]
            target = f"sip:{to}@{trunk.proxy}" if is_e164(to) else to
            try:
                uri = parse_uri(target)
            except ParseError:
                log.warning("SIP call to %r failed: not a SIP URI percl can send", to)
                return None
            return trunk, trunk.transport.upper(), hop, trunk.proxy.host, uri
        if not (self.config.direct_uris and is_sip_uri(to)):
            return None
        try:
            uri = parse_uri(to)
        except ParseError:
            log.warning("SIP call to %r failed: not a SIP URI percl can send", to)
            return None
        transport = (uri.param("transport") or ("tls" if uri.scheme.lower() == "sips"
                                                 else "udp")).upper()
        if transport not in ("UDP", "TCP", "TLS") or not uri.host:
            log.warning("SIP call to %s failed: transport %s is not one percl speaks", to,
                        transport.lower())
            return None
        host = uri.host.strip("[]")
        port = uri.port or (5061 if transport == "TLS" else 5060)
        assert self._loop is not None
        try:
            infos = await self._loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        except OSError as error:
            log.warning("SIP call to %s failed: cannot resolve %s (%s)", to, host, error)
            return None
        hop = (str(infos[0][4][0]), int(infos[0][4][1]))
        return _DIRECT, transport, hop, host, uri

    def _authorize(self, request: Request, challenge: Response) -> Request | None:
        leg = self._legs.get(request.call_id)
        if leg is None or self._digest is None or not leg.trunk.username:
            return None
        return self._digest(leg.trunk, request, challenge)

    def _progress(self, leg: _Leg, event: Progress) -> None:
        assert leg.call is not None
        if not leg.rang:
            leg.rang = True
            leg.call.ringing()
        if event.body and not leg.early and leg.offer is not None:
            with contextlib.suppress(SdpError, SdpRefused):
                leg.rtp.start(read_answer(leg.offer, parse_sdp(event.body)))
                leg.early = True
                leg.call.early_audio(leg.rtp)

    def _answered(self, leg: _Leg, event: Answered) -> None:
        assert leg.call is not None and leg.offer is not None
        if not leg.rang:  # a 200 with no 180 before it: the leg rings first, as the engine needs
            leg.rang = True
            leg.call.ringing()
        try:
            leg.rtp.start(read_answer(leg.offer, parse_sdp(event.body)))
        except (SdpError, SdpRefused) as error:
            if not leg.early:  # no usable answer, and none came before: nothing to hear
                log.warning("SIP call %s: unusable SDP answer (%s)", leg.sip_id, error)
                self._send(self._agent.hang_up(leg.sip_id, self._now()))
                leg.call.fail(DialResult.FAILED)
                return
        leg.call.answer(leg.rtp)

    def _failed(self, leg: _Leg, status: int) -> None:
        assert leg.call is not None
        log.info("SIP call %s to %s: %d", leg.sip_id, leg.call.to, status)
        leg.call.fail(dial_result(status))
        self._forget(leg)

    # ------------------------------------------------------------------ ending

    def _far_end_hung_up(self, leg: _Leg) -> None:
        if leg.call is not None:
            leg.call.hang_up()  # the network calls ended(), which forgets the leg
        # else: the engine has not taken the call yet; _hand_to_engine sees the phase

    def ended(self, call_id: str) -> None:
        """The leg ended on the platform's side or the far end's: CANCEL, 480 or BYE as the
        SIP state needs (nothing when the far end ended it), and free its RTP ports."""
        leg = self._by_engine.get(call_id)
        if leg is None:
            if self._arriving:
                self._early_ends.add(call_id)
            return
        self._send(self._agent.hang_up(leg.sip_id, self._now()))
        self._forget(leg)

    def _forget(self, leg: _Leg) -> None:
        leg.rtp.close()
        self._legs.pop(leg.sip_id, None)
        if leg.call is not None:
            self._by_engine.pop(leg.call.call_id, None)


_DIRECT = Trunk(name="direct")
"""The trunk of calls sent straight to a sip: URI's host: no credentials, no proxy."""
_USERS = Trunk(name="users")
"""The trunk of calls from and to registered users (PERCL_SIP_USERS): no credentials to send."""


def _tls_context(config: SipConfig) -> ssl.SSLContext:
    """What outbound TLS trusts: `tls_ca`, else the system's CAs (hostnames are checked)."""
    try:
        return ssl.create_default_context(cafile=config.tls_ca)
    except (OSError, ssl.SSLError) as error:
        raise ConfigError(f"PERCL_SIP_TLS_CA={config.tls_ca!r}: cannot load it ({error})") from None


def _tls_server_context(config: SipConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(str(config.tls_cert), str(config.tls_key))
    except (OSError, ssl.SSLError) as error:
        raise ConfigError(f"PERCL_SIP_TLS_CERT={config.tls_cert!r} / PERCL_SIP_TLS_KEY="
                          f"{config.tls_key!r}: cannot load them ({error})") from None
    return context


def _caller(from_: NameAddr) -> str:
    """The From of an inbound call as percl records it: an E.164 number when the user part is
    one, else the SIP URI without parameters."""
    number = phone_number(from_.uri.user)
    if number is not None:
        return number
    uri = from_.uri
    user = f"{uri.user}@" if uri.user else ""
    return f"sip:{user}{uri.host}" if uri.is_sip else str(uri)


def _local_address_toward(hop: Address, listen_host: str) -> str:
    """The address to send REGISTERs from: the listen address, or when listening on all
    interfaces the one the system routes toward the registrar (a UDP connect sends nothing)."""
    if listen_host not in ("0.0.0.0", "::"):
        return listen_host
    family = socket.AF_INET6 if ":" in hop[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(hop)
        except OSError:
            return "127.0.0.1" if family == socket.AF_INET else "::1"
        return str(probe.getsockname()[0])


async def _guarded(coro: Coroutine[Any, Any, None]) -> None:
    try:
        await coro
    except Exception:
        log.exception("SIP line task failed")
