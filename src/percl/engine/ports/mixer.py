"""The mixer port: who hears whom. Conferences configure it; nothing relays audio by hand.

A mix (one conference) joins legs; each leg's path says whether the others hear it (`talk`),
whether it hears them (`listen`) and whether its keys reach them (`dtmf_pass`). The network
carries the audio: sums of frames on a real one, utterances as text on the symbolic one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from percl.engine.ports.media import RecordingSink


@dataclass(frozen=True, slots=True)
class MixPath:
    talk: bool = True
    listen: bool = True
    dtmf_pass: bool = True


class Mixer(Protocol):
    def add(self, mix_id: str, call_id: str, path: MixPath) -> None:
        """Put a leg into the mix (or change its path if it is in already)."""
        ...

    def update(self, mix_id: str, call_id: str, path: MixPath) -> None:
        """Change the path of a leg in the mix; a leg not in it is ignored."""
        ...

    def remove(self, mix_id: str, call_id: str) -> None:
        """Take a leg out of the mix; absent is fine. The last leg out ends the mix."""
        ...

    def pass_dtmf(self, mix_id: str, call_id: str, digits: str) -> None:
        """The others of the mix who listen hear keys of `call_id` that the engine held back
        first (the prefix of a call-control sequence, let go when it did not complete); keys
        of a leg whose path has `dtmf_pass` reach them without this."""
        ...

    def record(self, mix_id: str, sink: RecordingSink | None) -> None:
        """From now, write what the mix carries (what its talking legs send, summed; the keys
        that pass) to `sink`, until called again (None: stop). The mixer never closes the sink:
        whoever started the recording ends it (a conference's `record`)."""
        ...
