"""What the sim control API needs: the Store (auth, number ownership) and the network's controls.

`SimControl` lists the few SimNetwork methods the API drives; simapi may not import telephony/,
so app.py hands the network in through this Protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from percl.domain.records import Message
from percl.domain.simphone import LegSummary, PhoneProgram, PhoneStep, Transcript
from percl.engine.ports import Store


class SimControl(Protocol):
    """Programs are the account's own: `account_id` scopes each to the caller's calls."""

    def program(self, number: str, program: PhoneProgram, *, account_id: str | None = None) -> None:
        """Raises ValueError for a number that is not E.164."""
        ...

    def get_program(self, number: str, *, account_id: str | None = None) -> PhoneProgram: ...
    def reset(self, number: str, *, account_id: str | None = None) -> None: ...

    def programmed_by(self, account_id: str) -> Sequence[str]:
        """The numbers the account has programmed."""
        ...

    async def place_call(self, from_: str, to: str, script: Sequence[PhoneStep] = ()) -> str:
        """Returns the new inbound leg's call id. Raises ValueError for bad numbers."""
        ...

    def press(self, call_id: str, digits: str) -> None:
        """Raises KeyError for unknown or ended legs, ValueError for bad keys or a ringing leg."""
        ...

    def say(self, call_id: str, text: str) -> None:
        """Raises KeyError for unknown or ended legs, ValueError for blank text or a ringing leg."""
        ...

    def far_end_hangup(self, call_id: str) -> None:
        """Raises KeyError for unknown or ended legs."""
        ...

    def pick_up(self, call_id: str) -> None:
        """Raises KeyError for unknown or ended legs, ValueError unless a ringing outbound leg."""
        ...

    def decline(self, call_id: str) -> None:
        """Raises like `pick_up`."""
        ...

    def legs_of(self, number: str) -> Sequence[LegSummary]:
        """Legs from or to `number`, newest first."""
        ...

    def transcript(self, call_id: str) -> Transcript | None: ...
    def is_live(self, call_id: str) -> bool: ...


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


@dataclass(frozen=True, slots=True)
class SimApiDeps:
    store: Store
    sim: SimControl
    faults: FaultControl | None = None  # None: the /faults routes answer 404
    messages: SimMessaging | None = None  # None: POST /messages answers 503
