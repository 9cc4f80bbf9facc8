"""Audio paths between simulated legs: what a conference makes one phone hear of another.

The engine mixes nothing itself: it configures the network's Mixer (who talks, listens and passes
keys in each conference), and plays beeps as media (`Tone`). The symbolic mixer (symbolic_mixer.py) delivers
what one phone says or presses to the others here. On the simulated network, hearing is a
transcript entry on the listening leg, so a test can prove that two legs were bridged and that a
muted leg was not heard:

    heard  text="Hello agent"   speaker=+15550100001  speakerCallId=CA...
    heard  digits="12"          speaker=+15550100001  speakerCallId=CA...
    beep

Keys relayed one by one (a phone presses them 100 ms apart) are gathered into one `heard` entry
while they keep coming from the same speaker with nothing else in between, the way `digitsPressed`
entries gather a phone's own keys.
"""

from __future__ import annotations

from percl.telephony.sim.model import TranscriptEvent
from percl.telephony.sim.phones import Leg, LegState

BEEP_MS = 300  # one conference beep, before media_time_scale


def far_end_number(leg: Leg) -> str:
    """The number of the phone at the far end of `leg` (the called phone on an outbound leg)."""
    t = leg.transcript
    return t.to if leg.outbound else t.from_


def relay(listener: Leg | None, speaker: Leg | None, *, text: str | None = None,
          digits: str | None = None) -> None:
    """The far end of `listener` hears `text` or `digits` from the far end of `speaker`.

    Nothing happens unless both legs exist, the listener is answered and live, and there is
    something to hear. Raises ValueError when both or neither of text and digits are given.
    """
    if (text is None) == (digits is None):
        raise ValueError("relay needs exactly one of text or digits")
    if listener is None or speaker is None or listener.state is not LegState.ANSWERED:
        return
    if not (text or digits):
        return
    log = listener.transcript
    entries = log.snapshot(live=True).entries
    last = entries[-1] if entries else None
    if (digits is not None and last is not None and last.type is TranscriptEvent.HEARD
            and last.digits is not None and last.speaker_call_id == speaker.call_id):
        log.amend(len(entries) - 1, digits=last.digits + digits)
        return
    log.add(TranscriptEvent.HEARD, text=text, digits=digits, speaker=far_end_number(speaker),
            speaker_call_id=speaker.call_id)


def beep_entry(leg: Leg) -> int:
    """Write the `beep` entry of a beep starting now; returns its index (for cut-short amends)."""
    return leg.transcript.add(TranscriptEvent.BEEP)
