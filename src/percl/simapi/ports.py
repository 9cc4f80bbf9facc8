"""What the sim control API needs: the Store (auth, application URLs, messages), the network's
control operations (telephony.sim.control.NetworkControl), and two services of other layers.

`FaultControl` is a port because simapi may not import webhooks/ (where the fault injector is);
`SimMessaging` names the one method of the messaging service the message routes use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from percl.domain.json import JsonValue
from percl.domain.records import Message
from percl.engine.ports import LeaseKind, Store
from percl.engine.workers.forwarding import Arguments, Operation
from percl.telephony.sim.control import NetworkControl


class FaultView(Protocol):
    """One fault rule as the injector reports it (percl.webhooks.faults.Fault fits)."""

    @property
    def kind(self) -> str: ...
    @property
    def delay_ms(self) -> int: ...
    @property
    def status(self) -> int: ...
    @property
    def body(self) -> bytes: ...
    @property
    def times(self) -> int | None: ...


class FaultControl(Protocol):
    """The webhook fault injector as simapi/faults.py drives it (app.py hands in the
    FaultInjector; simapi may not import webhooks/). The sim API always passes the caller's
    `account_id`: its rules apply to that account's webhooks only (prefix "" = all of them)."""

    def inject_values(
        self,
        url_prefix: str,
        kind: str,
        *,
        delay_ms: int = 0,
        status: int = 500,
        body: bytes | None = None,
        times: int | None = None,
        account_id: str | None = None,
    ) -> None:
        """Add or replace the rule for `url_prefix`. Raises ValueError for bad values."""
        ...

    def clear(self, url_prefix: str | None = None, *, account_id: str | None = None) -> None: ...
    def rules(self, account_id: str | None = None) -> Sequence[tuple[str, FaultView]]: ...


class SimMessaging(Protocol):
    """The messaging service as simapi/messages.py drives it (engine.messaging.MessagingService)."""

    async def receive_from_phone(
        self, from_: str, to: str, text: str, media_urls: Sequence[str] = ()
    ) -> Message:
        """A virtual phone texts the owned number `to`; returns the stored `received` message.
        Raises BadRequest (codes 9, 3, 10) or NotFound when no account owns `to`."""
        ...


class LegOwners(Protocol):
    """Which worker runs a leg, and asking it (engine.workers.Cluster fits): with several
    workers a leg may run on another worker's phone network (simapi/legs.py)."""

    @property
    def worker_id(self) -> str: ...

    def serve(self, name: str, operation: Operation) -> None:
        """Answer other workers' requests named `name` with `operation`."""
        ...

    async def holder(self, kind: LeaseKind, key: str) -> str | None:
        """The worker holding a live lease on (kind, key), if any."""
        ...

    async def ask_owner(self, kind: LeaseKind, key: str, name: str,
                        arguments: Arguments) -> JsonValue:
        """Run `name` on the worker owning (kind, key). Raises OwnerGone when no other worker
        owns it or it does not answer in time, and the ApiError the owner raised."""
        ...


@dataclass(frozen=True, slots=True)
class SimApiDeps:
    store: Store
    sim: NetworkControl
    faults: FaultControl | None = None  # None: the /faults routes answer 404
    messages: SimMessaging | None = None  # None: POST /messages answers 503
    owners: LegOwners | None = None  # None: one worker, every leg runs on its network
