"""What the sim control API needs: the Store (auth, number ownership) and the network's controls.

`SimControl` lists the few SimNetwork methods the API drives; simapi may not import telephony/,
so app.py hands the network in through this Protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from percl.domain.simphone import PhoneProgram, PhoneStep, Transcript
from percl.engine.ports import Store


class SimControl(Protocol):
    def program(self, number: str, program: PhoneProgram) -> None:
        """Raises ValueError for a number that is not E.164."""
        ...

    def get_program(self, number: str) -> PhoneProgram: ...
    def reset(self, number: str) -> None: ...

    async def place_call(self, from_: str, to: str, script: Sequence[PhoneStep] = ()) -> str:
        """Returns the new inbound leg's call id. Raises ValueError for bad numbers."""
        ...

    def press(self, call_id: str, digits: str) -> None:
        """Raises KeyError for unknown or ended legs, ValueError for bad keys or a ringing leg."""
        ...

    def far_end_hangup(self, call_id: str) -> None:
        """Raises KeyError for unknown or ended legs."""
        ...

    def transcript(self, call_id: str) -> Transcript | None: ...
    def is_live(self, call_id: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class SimApiDeps:
    store: Store
    sim: SimControl
