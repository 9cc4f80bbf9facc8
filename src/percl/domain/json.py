"""JSON values: what log metadata and other JSON-bound values hold, typed without Any."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

#: A value that serialises to JSON as it is.
JsonValue = str | int | float | bool | None | Sequence["JsonValue"] | Mapping[str, "JsonValue"]
