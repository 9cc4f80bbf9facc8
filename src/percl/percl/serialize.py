"""Turn command models back into PerCL's wire form (a list of single-key objects).

Call `serialize_script` to log a script, to answer a webhook in the test kit, or to store it.
Only attributes that were given (by the document or the constructor) are written, and `None` is
dropped, so ``serialize_script(parse_script(doc)) == doc`` for any valid document written in
canonical spelling (up to attribute order). Defaults the engine fills in are not invented here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from percl.percl.commands import Command
from percl.percl.parse import Script


def serialize_script(script: Script | Sequence[Command]) -> list[dict[str, Any]]:
    """Return the wire form of a script: ``[{"Say": {"text": "Hi"}}, ...]``."""
    commands = script.commands if isinstance(script, Script) else script
    return [serialize_command(command) for command in commands]


def serialize_command(command: Command) -> dict[str, Any]:
    """Return one element: ``{NAME: {camelCase attributes}}``."""
    return {command.NAME: _attributes(command)}


def _attributes(model: BaseModel) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    given = model.model_fields_set
    for name, wire in _wire_order(type(model)):
        if name not in given:
            continue
        value = getattr(model, name)
        if value is not None:
            attributes[wire] = _wire(value)
    return attributes


#: Model class -> (field, wire name) in declaration order, filled on first use (a script is
#: serialized for its "PerCL received" log line, every time one arrives).
_WIRE_ORDER: dict[type[BaseModel], tuple[tuple[str, str], ...]] = {}


def _wire_order(kind: type[BaseModel]) -> tuple[tuple[str, str], ...]:
    order = _WIRE_ORDER.get(kind)
    if order is None:
        order = _WIRE_ORDER[kind] = tuple(
            (name, info.alias or name) for name, info in kind.model_fields.items())
    return order


def _wire(value: Any) -> Any:
    if isinstance(value, Command):
        return serialize_command(value)
    if isinstance(value, BaseModel):
        return _attributes(value)
    if isinstance(value, list | tuple):
        return [_wire(item) for item in value]
    if isinstance(value, dict):
        return {key: _wire(item) for key, item in value.items()}
    return value
