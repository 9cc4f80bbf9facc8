"""What every part of the engine is handed: the ports, the clock, ids and the engine settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from percl.domain.clock import Clock
from percl.domain.ids import IdGenerator
from percl.engine.ports import LogSink, Store, Telephony, WebhookSender
from percl.engine.runners import Runners
from percl.percl.interpreter import InterpreterSettings


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Engine behaviour FreeClimb leaves open; every value is documented in docs/DECISIONS.md."""

    default_ring_timeout_s: int = 30
    max_ring_timeout_s: int = 120
    hangup_children_with_parent: bool = False
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
