"""Every PerCL command model, and COMMANDS: the one registry keyed by wire name."""

from __future__ import annotations

from percl.percl.commands.base import Command, WireModel
from percl.percl.commands.callcontrol import Hangup, OutDial, Redirect, Reject, SendDigits
from percl.percl.commands.conference import (
    AddToConference,
    CreateConference,
    RemoveFromConference,
    SetDTMFPassThrough,
    SetListen,
    SetTalk,
    TerminateConference,
)
from percl.percl.commands.input import (
    GetDigits,
    GetSpeech,
    RecordUtterance,
    TranscribeUtterance,
    TranscribeUtteranceRecord,
)
from percl.percl.commands.media import AudioStream, StartRecordCall
from percl.percl.commands.messaging import Sms
from percl.percl.commands.prompts import Pause, Play, PlayEarlyMedia, Say
from percl.percl.commands.queue import Dequeue, Enqueue, Park, Unpark

_ALL: tuple[type[Command], ...] = (
    Say, Play, PlayEarlyMedia, Pause, Hangup, Reject, Redirect, SendDigits, GetDigits, GetSpeech,
    RecordUtterance, TranscribeUtterance, StartRecordCall, Sms, OutDial, CreateConference,
    AddToConference, RemoveFromConference, TerminateConference, SetListen, SetTalk,
    SetDTMFPassThrough, Enqueue, Dequeue, Park, Unpark, AudioStream,
)  # fmt: skip

COMMANDS: dict[str, type[Command]] = {cls.NAME: cls for cls in _ALL}

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
    "Play",
    "PlayEarlyMedia",
    "RecordUtterance",
    "Redirect",
    "Reject",
    "RemoveFromConference",
    "Say",
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
    "WireModel",
]
