"""What a leg's MediaSession plays for the interpreter's PlayMedia action. Pure.

The action is the one description of a prompt; the port's typed `Source` is how a phone network
is told to play it (privacyMode masks logs only, so it does not reach the network).
"""

from __future__ import annotations

from percl.engine.ports import File, Silence, Source, Tone, Tts
from percl.percl import actions as a


def media_source(action: a.PlayMedia) -> Source:
    """What the leg's MediaSession plays for one iteration of `action`."""
    match action.kind:
        case "say":
            return Tts(action.text or "", action.language)
        case "play":
            return File(action.url or "")
        case "pause":
            return Silence(action.length_ms or 0)
        case "beep":
            return Tone()
