"""The simulated network's Mixer, symbolic: bridged legs hear each other's words and keys as
transcript entries (bridge.py), instead of sums of audio frames.

A mix is a conference's set of legs with their paths. When the far end of a leg in a mix says
something (talk) or presses a key (dtmf_pass), every other leg of the mix that listens hears it,
at that moment, in the order the legs joined the mix.
"""

from __future__ import annotations

from collections.abc import Callable

from percl.engine.ports import Audio, DtmfTone, MixPath, RecordingSink, SpokenText
from percl.telephony.sim import bridge
from percl.telephony.sim.phones import Leg, LegState

#: The leg of a call id, if the network still knows it.
FindLeg = Callable[[str], "Leg | None"]


class SymbolicMixer:
    #: Whether recordings get symbolic audio from here: what a leg hears, what a mix carries (in
    #: the audio fidelity its frames do: plane.py, audio/mixer.py).
    SYMBOLIC_RECORDING = True

    def __init__(self, find_leg: FindLeg) -> None:
        self._find = find_leg
        self._mixes: dict[str, dict[str, MixPath]] = {}  # mix id -> call id -> path
        self._mixes_of: dict[str, set[str]] = {}  # call id -> the mixes it is in
        self._recorders: dict[str, RecordingSink] = {}  # mix id -> its recording

    def add(self, mix_id: str, call_id: str, path: MixPath) -> None:
        self._mixes.setdefault(mix_id, {})[call_id] = path
        self._mixes_of.setdefault(call_id, set()).add(mix_id)

    def update(self, mix_id: str, call_id: str, path: MixPath) -> None:
        mix = self._mixes.get(mix_id)
        if mix is not None and call_id in mix:
            mix[call_id] = path

    def remove(self, mix_id: str, call_id: str) -> None:
        mix = self._mixes.get(mix_id)
        if mix is not None and mix.pop(call_id, None) is not None and not mix:
            del self._mixes[mix_id]
        mixes = self._mixes_of.get(call_id)
        if mixes is not None:
            mixes.discard(mix_id)
            if not mixes:
                del self._mixes_of[call_id]

    def forget(self, call_id: str) -> None:
        """The leg ended: out of every mix it was in."""
        for mix_id in list(self._mixes_of.get(call_id, ())):
            self.remove(mix_id, call_id)

    def pass_dtmf(self, mix_id: str, call_id: str, digits: str) -> None:
        if call_id in self._mixes.get(mix_id, {}):
            self._deliver(mix_id, call_id, DtmfTone(digits))

    def paths(self, mix_id: str) -> dict[str, MixPath]:
        """The legs of a mix and their paths (a copy; empty for an unknown mix)."""
        return dict(self._mixes.get(mix_id, {}))

    def record(self, mix_id: str, sink: RecordingSink | None) -> None:
        if sink is None:
            self._recorders.pop(mix_id, None)
        else:
            self._recorders[mix_id] = sink

    def recorder(self, mix_id: str) -> RecordingSink | None:
        return self._recorders.get(mix_id)

    def carry(self, speaker: Leg, audio: Audio) -> None:
        """The far end of `speaker` sent `audio`: the mixes it talks into hear it."""
        for mix_id in sorted(self._mixes_of.get(speaker.call_id, ())):
            path = self._mixes[mix_id][speaker.call_id]
            if (path.talk if isinstance(audio, SpokenText) else path.dtmf_pass):
                self._deliver(mix_id, speaker.call_id, audio)

    def _deliver(self, mix_id: str, speaker_id: str, audio: Audio) -> None:
        speaker = self._find(speaker_id)
        recorder = self._recorders.get(mix_id)
        if recorder is not None and self.SYMBOLIC_RECORDING:
            recorder.write(audio)
        for call_id, path in list(self._mixes[mix_id].items()):
            if call_id == speaker_id or not path.listen:
                continue
            listener = self._find(call_id)
            if (self.SYMBOLIC_RECORDING and listener is not None and speaker is not None
                    and listener.state is LegState.ANSWERED):
                listener.record_heard(audio)
            if isinstance(audio, SpokenText):
                bridge.relay(listener, speaker, text=audio.text)
            elif isinstance(audio, DtmfTone):
                bridge.relay(listener, speaker, digits=audio.digits)
