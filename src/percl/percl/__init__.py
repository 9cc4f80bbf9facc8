"""PerCL, FreeClimb's call-control language: one model per command, parse/validate, serialize.

    parse_script(body) -> Script            raises PerclScriptError (PerclJsonError for non-JSON)
    serialize_script(script) -> list[dict]  the wire form
    COMMANDS                                the registry, keyed by wire name ("Say", "GetDigits")

This package is pure: it imports only `percl.domain` and `percl.errors`.
"""

from __future__ import annotations

from percl.errors import PerclScriptError
from percl.percl.commands import (
    COMMANDS,
    AddToConference,
    AudioStream,
    Command,
    CreateConference,
    Dequeue,
    Enqueue,
    GetDigits,
    GetSpeech,
    Hangup,
    OutDial,
    Park,
    Pause,
    Play,
    PlayEarlyMedia,
    RecordUtterance,
    Redirect,
    Reject,
    RemoveFromConference,
    Say,
    SendDigits,
    SetDTMFPassThrough,
    SetListen,
    SetTalk,
    Sms,
    StartRecordCall,
    TerminateConference,
    TranscribeUtterance,
    TranscribeUtteranceRecord,
    Unpark,
)
from percl.percl.parse import PerclJsonError, Script, parse_script
from percl.percl.serialize import serialize_command, serialize_script

__all__ = [
    "COMMANDS",
    "AddToConference",
    "AudioStream",
    "Command",
    "CreateConference",
    "Dequeue",
    "Enqueue",
    "GetDigits",
    "GetSpeech",
    "Hangup",
    "OutDial",
    "Park",
    "Pause",
    "PerclJsonError",
    "PerclScriptError",
    "Play",
    "PlayEarlyMedia",
    "RecordUtterance",
    "Redirect",
    "Reject",
    "RemoveFromConference",
    "Say",
    "Script",
    "SendDigits",
    "SetDTMFPassThrough",
    "SetListen",
    "SetTalk",
    "Sms",
    "StartRecordCall",
    "TerminateConference",
    "TranscribeUtterance",
    "TranscribeUtteranceRecord",
    "Unpark",
    "parse_script",
    "serialize_command",
    "serialize_script",
]
