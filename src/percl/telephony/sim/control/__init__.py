"""The control surface of the simulated network: account-scoped operations and their JSON.

This is all percl.simapi (the ASGI app at /sim/v1) may import of telephony/: the operations
(`NetworkControl`) and the wire models and renderers (`wire`), never the network's internals.
"""

from percl.telephony.sim.control.operations import (
    MAX_LISTED_LEGS,
    MAX_PROGRAMS,
    LegAudio,
    NetworkControl,
)
from percl.telephony.sim.control.wire import (
    MAX_SAY,
    MAX_STEPS,
    AudioChannel,
    DigitsIn,
    PlaceCallIn,
    ProgramIn,
    SpeechIn,
    check_number,
    parse,
    render_leg,
    render_program,
    render_transcript,
)

__all__ = [
    "MAX_LISTED_LEGS",
    "MAX_PROGRAMS",
    "MAX_SAY",
    "MAX_STEPS",
    "AudioChannel",
    "DigitsIn",
    "LegAudio",
    "NetworkControl",
    "PlaceCallIn",
    "ProgramIn",
    "SpeechIn",
    "check_number",
    "parse",
    "render_leg",
    "render_program",
    "render_transcript",
]
