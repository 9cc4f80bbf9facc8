"""Every dependency of the engine on the outside world, as small Protocols, one module a concern.

Adapters implement these (store/, webhooks/, telephony/) and depend only on this package and on
domain/. The engine never imports an adapter; app.py wires them together. Modules here import
nothing from the engine outside this package (tests/test_architecture.py). Every name is
re-exported here, so `from percl.engine.ports import X` works for all of them.

A phone network is four ports: Signalling (signalling.py), a MediaSession per leg (media.py), a
Mixer (mixer.py) and a SpeechRecognizer (recognizer.py); `Telephony` (telephony.py) is the
network the engine is handed, which gives the first three.
"""

from percl.engine.ports.bus import Bus, BusHandler, BusUnavailable, MessageTooLarge
from percl.engine.ports.exports import ExportFiles, ExportSink
from percl.engine.ports.fetching import Fetched, Fetcher
from percl.engine.ports.grammar import Heard, Recognizer, SpeechGrammar
from percl.engine.ports.json import JsonValue
from percl.engine.ports.knowledge import KnowledgeSource
from percl.engine.ports.leases import Lease, LeaseKind, Leases
from percl.engine.ports.limits import Rate, SharedLimits
from percl.engine.ports.logs import LogObserver, LogSink, LogWatch
from percl.engine.ports.media import (
    Audio,
    AudioFrame,
    DtmfTone,
    File,
    MediaListener,
    MediaSession,
    Played,
    PlayEnd,
    RecordingSink,
    Silence,
    Source,
    SpokenText,
    StreamTap,
    Tone,
    ToneKind,
    Tts,
)
from percl.engine.ports.mixer import Mixer, MixPath
from percl.engine.ports.numbers import AvailableNumber, NumberInventory
from percl.engine.ports.recognizer import SpeechRecognizer, Transcription
from percl.engine.ports.signalling import DialResult, LegListener, Signalling, SignallingListener
from percl.engine.ports.store import (
    CallFilter,
    ConferenceFilter,
    LogFilter,
    LogPosition,
    MessageFilter,
    ParticipantFilter,
    RecordingQuery,
    Store,
)
from percl.engine.ports.telephony import (
    InboundHandler,
    LegMover,
    Telephony,
)
from percl.engine.ports.webhooks import (
    WebhookOutcome,
    WebhookRequest,
    WebhookResult,
    WebhookSender,
)

__all__ = [
    "Audio", "AudioFrame", "AvailableNumber", "CallFilter", "ConferenceFilter", "DialResult",
    "DtmfTone", "ExportFiles", "ExportSink", "Fetched", "Fetcher", "File", "Heard",
    "InboundHandler", "JsonValue", "KnowledgeSource", "LegListener", "LogFilter", "LogObserver",
    "LogPosition", "LogSink", "LogWatch", "MediaListener", "MediaSession",
    "MessageFilter", "MixPath", "Mixer", "NumberInventory", "ParticipantFilter", "PlayEnd",
    "Played", "Recognizer", "RecordingSink", "Signalling", "SignallingListener", "Silence",
    "Source", "SpeechGrammar", "SpeechRecognizer", "SpokenText", "Store", "Telephony", "Tone",
    "ToneKind", "Transcription", "Tts", "WebhookOutcome", "WebhookRequest", "WebhookResult",
    "WebhookSender",
]
# Several workers on one database (issue 19): leases.py, bus.py.
__all__ += ["Bus", "BusHandler", "BusUnavailable", "Lease", "LeaseKind", "Leases", "MessageTooLarge"]
__all__ += ["LegMover"]  # a leg handed over to another worker (telephony.py)
# Recordings (issue 13): recordings.py.
from percl.engine.ports.recordings import AudioRecorder, RecordingFiles, RecordingTake  # noqa: E402

__all__ += ["AudioRecorder", "RecordingFiles", "RecordingQuery", "RecordingTake"]
# Limits that hold across workers (issue 19): limits.py.
__all__ += ["Rate", "SharedLimits"]
# Transcription (issue 13): transcriber.py.
from percl.engine.ports.transcriber import Transcriber, TranscriptionFailed  # noqa: E402

__all__ += ["Transcriber", "TranscriptionFailed"]

# AudioStream (issue 14): media.py's StreamTap, streaming.py.
from percl.engine.ports.streaming import (  # noqa: E402
    CONTENT_TYPES,
    DEFAULT_CONTENT_TYPE,
    AgentConnector,
    AgentStream,
    StreamEnd,
    StreamEndKind,
    StreamStart,
)

__all__ += ["CONTENT_TYPES", "DEFAULT_CONTENT_TYPE", "AgentConnector", "AgentStream", "StreamEnd",
            "StreamEndKind", "StreamStart", "StreamTap"]
