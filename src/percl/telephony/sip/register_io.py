"""The asyncio owner of a `Registration`: one socket or connection, one timer task.

It binds (UDP) or connects (TCP, TLS) first, so the Contact and Via carry the real local address,
then moves messages between the wire and the sans-I/O machine and wakes it at its deadlines. A
dropped TCP/TLS connection is reopened and the new address registered at once (`_StreamLink`). Its
events (`Registered`, `RegistrationFailed`, `Unregistered`) are kept in `events`, logged (never
with the password), and handed to `on_event` when given.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl as ssl_module
from collections import deque
from collections.abc import Callable

from percl.telephony.sip import tcp
from percl.telephony.sip.datagram import DatagramEndpoint
from percl.telephony.sip.message import Request, Response, Uri
from percl.telephony.sip.register import (
    RegAction,
    RegisterAccount,
    Registered,
    Registration,
    RegistrationFailed,
    Unregistered,
)
from percl.telephony.sip.transaction import Send

log = logging.getLogger(__name__)

Address = tuple[str, int]
RegEvent = Registered | RegistrationFailed | Unregistered


class RegistrationClient:
    """Keep `account` registered at `registrar`. `await RegistrationClient.start(...)`, `stop()`.

    The Contact registered is `contact` when given (say, the UAS that takes the calls), else this
    client's own address.
    """

    def __init__(self, clock: Callable[[], float],
                 on_event: Callable[[RegEvent], None] | None) -> None:
        self._clock = clock
        self._on_event = on_event
        self.registration: Registration | None = None
        self.events: list[RegEvent] = []
        self.sent: deque[Request] = deque(maxlen=16)  # the last requests sent, for diagnosis
        self._send: Callable[[Request], None] = lambda request: None
        self._close: Callable[[], None] = lambda: None
        self._wake = asyncio.Event()
        self._changed = asyncio.Event()
        self._timer: asyncio.Task[None] | None = None
        self._stopping = False
        self._own_contact: str | None = None  # our user part when the Contact is our own address
        self._last_failure: str | None = None  # the last failure logged, not to repeat it
        self._registered_once = False  # refreshes are logged at debug

    @classmethod
    async def start(cls, account: RegisterAccount, registrar: Address, *,
                    transport: str = "UDP", ssl: ssl_module.SSLContext | None = None,
                    local_host: str = "127.0.0.1", contact_user: str | None = None,
                    contact: Uri | None = None,
                    on_event: Callable[[RegEvent], None] | None = None) -> RegistrationClient:
        client = cls(asyncio.get_running_loop().time, on_event)
        transport = "TLS" if ssl is not None else transport.upper()
        if transport == "UDP":
            endpoint = await DatagramEndpoint.start(
                lambda message, source: client._received(message), local_host, 0)
            local = endpoint.address
            client._send = lambda request: endpoint.send(request, registrar)
            client._close = endpoint.close
        else:
            link = _StreamLink(client, registrar, ssl, local_host)
            local = await link.open()
            client._send = link.send
            client._close = link.close
        params = () if transport == "UDP" else (("transport", transport.lower()),)
        # sip: with transport=tls rather than sips: (which would demand TLS on every hop)
        own = None if contact else Uri("sip", host=local[0], port=local[1],
                                       user=contact_user or account.username, params=params)
        contact = contact or own
        assert contact is not None
        client.registration = Registration(account, contact, via=f"{local[0]}:{local[1]}",
                                           transport=transport)
        client._own_contact = None if own is None else own.user
        client._timer = asyncio.create_task(client._run_timers())
        client._apply(client.registration.start(client._clock()))
        return client

    def reconnected(self, local: Address, transport: str) -> None:
        """A stream link came back on a new local port: register the new address at once."""
        if self.registration is None or self._stopping:
            return
        registration = self.registration
        contact = registration.contact
        if self._own_contact is not None:
            contact = Uri("sip", host=local[0], port=local[1], user=self._own_contact,
                          params=(("transport", transport.lower()),))
        registration.rebind(contact, via=f"{local[0]}:{local[1]}")
        self._apply(registration.start(self._clock()))

    def _received(self, message: Request | Response) -> None:
        if isinstance(message, Response) and self.registration is not None:
            self._apply(self.registration.receive(message, self._clock()))

    def _apply(self, actions: list[RegAction]) -> None:
        for action in actions:
            if isinstance(action, Send):
                if isinstance(action.message, Request):
                    self.sent.append(action.message)
                    self._send(action.message)
                continue
            self._event(action)
        self._wake.set()  # the machine may have a new, earlier deadline

    def _event(self, event: RegEvent) -> None:
        account = self.registration.account if self.registration else None
        who = f"{account.username}@{account.registrar}" if account else "?"
        if isinstance(event, RegistrationFailed):
            # The same failure again (a registrar down for hours) goes to debug: said once.
            level = logging.DEBUG if event.reason == self._last_failure else logging.WARNING
            self._last_failure = event.reason
            log.log(level, "SIP registration of %s failed: %s (retry in %.0f s)", who,
                    event.reason, max(0.0, event.retry_at - self._clock()))
        elif isinstance(event, Registered):
            level = logging.DEBUG if self._registered_once and not self._last_failure else logging.INFO
            self._registered_once, self._last_failure = True, None
            log.log(level, "SIP registration of %s: registered for %d s", who, event.expires)
        self.events.append(event)
        self._changed.set()
        if self._on_event is not None:
            self._on_event(event)

    async def _run_timers(self) -> None:
        # asyncio.timeout, not wait_for: Python 3.11's wait_for swallows a cancel that lands as
        # the wake event fires, and this loop would then run on after stop().
        while self.registration is not None and not self._stopping:
            deadline = self.registration.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - self._clock())
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            self._apply(self.registration.on_time(self._clock()))

    async def wait_for(self, kind: type[RegEvent], *, count: int = 1,
                       timeout: float = 10.0) -> RegEvent:
        """The `count`-th event of type `kind` (waiting up to `timeout` seconds for it)."""
        async with asyncio.timeout(timeout):
            while True:
                found = [e for e in self.events if isinstance(e, kind)]
                if len(found) >= count:
                    return found[count - 1]
                self._changed.clear()
                await self._changed.wait()

    async def stop(self, timeout: float = 5.0) -> None:
        """Unregister (bounded by `timeout`), then close the socket or connection."""
        if self.registration is not None:
            self._apply(self.registration.stop(self._clock()))
            with contextlib.suppress(TimeoutError):
                await self.wait_for(Unregistered, timeout=timeout)
        self._stopping = True
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
        self._close()


class _StreamLink:
    """The TCP/TLS connection to the registrar, opened again when it drops.

    A lost connection is reopened at once (and again whenever a request is to be sent while it is
    down); once it is back, the registration is renewed from the new local address. A connection
    that cannot be opened leaves the request unsent: its transaction times out and the
    registration's backoff paces the next try.
    """

    def __init__(self, client: RegistrationClient, registrar: Address,
                 ssl: ssl_module.SSLContext | None, local_host: str) -> None:
        self._client = client
        self._registrar = registrar
        self._ssl = ssl
        self._local_host = local_host
        self._connection: tcp.Connection | None = None
        self._reconnecting: asyncio.Task[None] | None = None
        self._closing = False

    async def open(self) -> Address:
        connection = await tcp.connect(
            self._registrar[0], self._registrar[1],
            lambda message, conn: self._client._received(message),
            ssl=self._ssl, local_addr=(self._local_host, 0))
        connection.closed.add_done_callback(lambda _: self._lost(connection))
        self._connection = connection
        return connection.local

    def _lost(self, connection: tcp.Connection) -> None:
        if connection is self._connection and not self._closing:
            log.info("SIP registration: connection to %s:%d lost, reconnecting",
                     *self._registrar)
            self._reconnect()

    def _reconnect(self) -> None:
        if self._reconnecting is None or self._reconnecting.done():
            self._reconnecting = asyncio.create_task(self._run_reconnect())

    async def _run_reconnect(self) -> None:
        try:
            local = await self.open()
        except OSError as exc:
            log.warning("SIP registration: cannot connect to %s:%d: %s", *self._registrar, exc)
            return
        self._client.reconnected(local, "TLS" if self._ssl is not None else "TCP")

    def send(self, request: Request) -> None:
        if self._connection is not None and self._connection.is_open:
            self._connection.send(request)
        elif not self._closing:
            self._reconnect()

    def close(self) -> None:
        self._closing = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        if self._connection is not None:
            self._connection.close()
