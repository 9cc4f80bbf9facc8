"""The simulated network's Mixer in audio fidelity: conferences as sums of frames.

It keeps the symbolic mixer's bookkeeping (mixes, paths) and its `heard` transcript entries (the
network knows what each phone says or presses, so the entries read the same in both fidelities),
and adds the audio: every tick, each mix sums the frames its talking legs sent and adds to each
listening leg's phone-bound frame the sum of the *others* (mix-minus). A path change applies from
the next frame. A leg whose path has dtmf_pass False keeps its keys to itself: its frames in which
its ear hears a DTMF tone are left out of the mix. `pass_dtmf` plays the held-back keys as tones
into the other listeners' phone-bound audio.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

import numpy as np

from percl.engine.ports import AudioFrame, MixPath
from percl.telephony.sim.audio.dsp import Pcm, dtmf_digits, mix_minus
from percl.telephony.sim.symbolic_mixer import FindLeg, SymbolicMixer


class MixedLeg(Protocol):
    """What the mixer reads and writes of one leg's audio in a tick."""

    sent: Pcm | None  # what the phone sent this tick (None: silence)
    in_tone: bool  # the leg's ear hears a DTMF tone in `sent`

    def add_bound(self, frame: Pcm) -> None:
        """Add `frame` to what the phone hears this tick."""
        ...

    def inject(self, pcm: Pcm) -> None:
        """Add `pcm` to what the phone hears from the next tick on (beside its plays)."""
        ...


class AudioMixer(SymbolicMixer):
    """`find_audio(call_id)` is the leg's audio state (None: not an audio leg yet)."""

    SYMBOLIC_RECORDING = False  # frames go to recordings: heard ones in plane.py, mixes here

    def __init__(self, find_leg: FindLeg,
                 find_audio: Callable[[str], MixedLeg | None]) -> None:
        super().__init__(find_leg)
        self._audio = find_audio

    def pass_dtmf(self, mix_id: str, call_id: str, digits: str) -> None:
        paths = self._mixes.get(mix_id, {})
        if call_id not in paths:
            return
        super().pass_dtmf(mix_id, call_id, digits)
        tones = dtmf_digits(digits)
        for other, path in paths.items():
            audio = self._audio(other) if other != call_id and path.listen else None
            if audio is not None:
                audio.inject(tones)

    def mix(self, legs: Mapping[str, MixedLeg]) -> None:
        """One tick: add to each listening leg of each mix what the others sent."""
        for mix_id, paths in self._mixes.items():
            recorder = self._recorders.get(mix_id)
            if len(paths) < 2 and recorder is None:
                continue
            talkers: list[tuple[str, Pcm]] = []
            for call_id, path in paths.items():
                leg = legs.get(call_id)
                if (leg is not None and leg.sent is not None and path.talk
                        and (path.dtmf_pass or not leg.in_tone)):
                    talkers.append((call_id, leg.sent))
            if talkers and recorder is not None:  # the conference's recording: every talker
                recorder.write(AudioFrame(_total([frame for _, frame in talkers]).tobytes()))
            if talkers and len(paths) >= 2:
                _deliver(paths, legs, talkers)


def _deliver(paths: Mapping[str, MixPath], legs: Mapping[str, MixedLeg],
             talkers: list[tuple[str, Pcm]]) -> None:
    listening = [(cid, leg) for cid, path in paths.items()
                 if path.listen and (leg := legs.get(cid)) is not None]
    if len(talkers) == 1:  # the common case: one voice, heard as it is by the others
        speaker, frame = talkers[0]
        for call_id, leg in listening:
            if call_id != speaker:
                leg.add_bound(frame)
        return
    ids = [call_id for call_id, _ in talkers]
    stack = np.stack([frame for _, frame in talkers])
    minus = mix_minus(stack, np.ones(len(talkers), dtype=np.bool_))
    total: Pcm | None = None
    for call_id, leg in listening:
        if call_id in ids:
            leg.add_bound(minus[ids.index(call_id)])
            continue
        if total is None:
            total = np.clip(stack.astype(np.int32).sum(axis=0), -32768, 32767).astype(np.int16)
        leg.add_bound(total)


def _total(frames: list[Pcm]) -> Pcm:
    """The frames summed, clipped to 16 bits."""
    if len(frames) == 1:
        return frames[0]
    total: Pcm = np.clip(np.stack(frames).astype(np.int32).sum(axis=0), -32768,
                         32767).astype(np.int16)
    return total
