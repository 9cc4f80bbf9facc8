"""JSON values: what the ports carry where the wire format is JSON (webhook fields, log metadata).

The one alias lives in `domain/json.py` (payloads and records use it too); the ports re-export it."""

from __future__ import annotations

from percl.domain.json import JsonValue

__all__ = ["JsonValue"]
