"""JSON values: what the ports carry where the wire format is JSON (webhook fields, log metadata)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

#: A value that serialises to JSON as it is.
JsonValue = str | int | float | bool | None | Sequence["JsonValue"] | Mapping[str, "JsonValue"]
