"""What every part of the engine is handed: the ports, the clock, ids and the engine settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from percl.domain.clock import Clock
from percl.domain.ids import IdGenerator
from percl.engine.grammar_cache import GrammarCache
from percl.engine.ports import Fetcher, LogSink, Recognizer, Store, Telephony, WebhookSender
from percl.engine.runners import Runners
from percl.percl.interpreter import InterpreterSettings


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Engine behaviour FreeClimb leaves open; every value is documented in docs/DECISIONS.md."""

    default_ring_timeout_s: int = 30
    max_ring_timeout_s: int = 120
    hangup_children_with_parent: bool = False
    # Call admission (engine/admission.py); 0 turns a limit off.
    max_live_calls_per_account: int = 10_000  # queued + ringing + inProgress legs
    calls_per_second: float = 0.0  # REST-originated dials per account per second
    # No leg lives longer than this from its creation; it then ends with maxDuration. 0 = no limit.
    max_call_duration_s: float = 4 * 3600
    # GetSpeech grammars (engine/grammars.py): compiled ones kept per URL this long, at most this many.
    grammar_cache_ttl_s: float = 5.0
    grammar_cache_size: int = 256
    interpreter: InterpreterSettings = field(default_factory=InterpreterSettings)


@dataclass(frozen=True, slots=True)
class EngineContext:
    store: Store
    clock: Clock
    ids: IdGenerator
    telephony: Telephony
    webhooks: WebhookSender
    logs: LogSink
    settings: EngineSettings = field(default_factory=EngineSettings)
    runners: Runners = field(default_factory=Runners)
    fetcher: Fetcher | None = None  # GETs grammar and media files; None: nothing can be fetched
    recognizer: Recognizer | None = None  # compiles GetSpeech grammars; None: GetSpeech gives error
    grammars: GrammarCache = field(default_factory=GrammarCache)  # shared by every leg
