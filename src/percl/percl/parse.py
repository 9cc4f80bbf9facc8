"""Parse and validate a PerCL document into command models, with the path of the first fault.

Call `parse_script` on the body of every webhook response whose PerCL will run. It returns a
`Script` (commands + warnings) or raises `PerclScriptError` naming *where* the document is wrong
(``[0].GetDigits.prompts[2].Say.text``) and *what* is wrong (``expected string, got 5``).

Why the parser, not pydantic, walks the document: element shape, command lookup (one registry,
`COMMANDS`), nesting, unknown and legacy attributes are decided here so each fails in one place
with one wording; the models only validate attribute values. When several attributes of one
command are wrong, the one earliest in the document is reported, so a user fixing errors top to
bottom sees them in order. Unknown attributes are ignored with a warning (a typo stays visible in
the logs without breaking a call), and JSON ``null`` is treated as an omitted attribute, because
some JSON serializers emit nulls for unset fields.

Why the limits: one webhook answer must not stall every call on the event loop. A script has at
most MAX_COMMANDS commands (prompts included) and a command (or a nested object such as `engine`)
at most MAX_ATTRIBUTES attributes, else it is invalid PerCL naming the limit; at most MAX_WARNINGS
warnings are kept per script (then one line counts the rest), because each becomes a log entry.
Together with the dispatcher's byte cap on answers, parsing one answer stays a few milliseconds.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from percl.errors import PerclScriptError
from percl.percl.commands import COMMANDS, Command, Sms, WireModel
from percl.percl.commands.base import ERROR_TYPE, describe
from percl.percl.commands.messaging import SMS_TEXT_LIMIT

_BOM = "\ufeff"
MAX_COMMANDS = 1000
"""Commands in one script, nested prompts included (FreeClimb documents no limit)."""
MAX_ATTRIBUTES = 64
"""Attributes of one command or nested object (the largest command has about 15)."""
MAX_WARNINGS = 20
"""Warnings kept (and logged) per script; the rest are counted in one last line."""


class PerclJsonError(PerclScriptError):
    """The body is not JSON at all (or not UTF-8). Its path is always ""."""

    def __init__(self, problem: str) -> None:
        super().__init__("", problem)


@dataclass(frozen=True)
class Script:
    """A validated PerCL document: its commands in order, and warnings worth logging."""

    commands: tuple[Command, ...]
    warnings: tuple[str, ...] = ()


def parse_script(raw: bytes | str | list[Any] | Any) -> Script:
    """Validate a PerCL document.

    `raw` is the webhook response body (bytes or str, decoded as UTF-8 JSON whatever the
    Content-Type said; a BOM and surrounding whitespace are tolerated) or an already decoded
    JSON value. Raises `PerclJsonError` when the body is not JSON, and `PerclScriptError` with
    the path of the first fault in document order otherwise.
    """
    document = decode_json(raw) if isinstance(raw, bytes | bytearray | str) else raw
    if not isinstance(document, list):
        raise PerclScriptError("", f"expected a JSON array of commands, got {describe(document)}")
    notes = Notes()
    notes.count(len(document), f"[{MAX_COMMANDS}]")
    commands = tuple(
        parse_element(element, f"[{index}]", notes, nested=False)
        for index, element in enumerate(document)
    )
    return Script(commands=commands, warnings=notes.warnings())


class Notes:
    """What one parse accumulates: its warnings (at most MAX_WARNINGS kept) and the number of
    commands seen (at most MAX_COMMANDS)."""

    def __init__(self) -> None:
        self._kept: list[str] = []
        self._dropped = 0
        self._commands = 0

    def append(self, warning: str) -> None:
        if len(self._kept) < MAX_WARNINGS:
            self._kept.append(warning)
        else:
            self._dropped += 1

    def extend(self, warnings: Iterable[str]) -> None:
        for warning in warnings:
            self.append(warning)

    def count(self, commands: int, path: str) -> None:
        """Add `commands` to the script's count; PerclScriptError at `path` past MAX_COMMANDS."""
        self._commands += commands
        if self._commands > MAX_COMMANDS:
            raise PerclScriptError(
                path, f"the script has more than {MAX_COMMANDS} commands (prompts included); "
                f"at most {MAX_COMMANDS} are allowed per script")

    def warnings(self) -> tuple[str, ...]:
        if not self._dropped:
            return tuple(self._kept)
        more = (f"{self._dropped} more warnings not shown (at most {MAX_WARNINGS} are logged "
                "per script)")
        return (*self._kept, more)


def decode_json(raw: bytes | bytearray | str) -> Any:
    """Decode a body as strict JSON (no NaN/Infinity). Raises `PerclJsonError`."""
    if isinstance(raw, bytes | bytearray):
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PerclJsonError(f"body is not valid UTF-8 (byte {exc.start})") from exc
    else:
        text = raw
    text = text.removeprefix(_BOM).strip()
    if not text:
        raise PerclJsonError("body is empty; expected a JSON array of commands")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise PerclJsonError(f"body is not JSON: {exc.msg} at {where}") from exc
    except (RecursionError, ValueError) as exc:
        raise PerclJsonError(f"body is not JSON: {exc}") from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def parse_element(element: Any, path: str, warnings: Notes, *, nested: bool) -> Command:
    """Validate one `{"Name": {attributes}}` element found at `path`."""
    if not isinstance(element, dict) or len(element) != 1:
        raise PerclScriptError(
            path,
            f"expected an object with exactly one key (the command name), got {_shape(element)}",
        )
    ((name, attributes),) = element.items()
    command_path = f"{path}.{name}"
    cls = COMMANDS.get(name)
    if cls is None:
        raise PerclScriptError(command_path, _unknown_command(name))
    if nested and not cls.NESTABLE:
        raise PerclScriptError(
            command_path, f"{name} cannot be nested in prompts; only Say, Play and Pause can"
        )
    if not isinstance(attributes, dict):
        raise PerclScriptError(command_path, f"expected object, got {describe(attributes)}")
    _check_size(attributes, command_path)
    command = _build(cls, attributes, command_path, warnings)
    _advise(command, command_path, warnings)
    return command


def _check_size(attributes: dict[str, Any], path: str) -> None:
    if len(attributes) > MAX_ATTRIBUTES:
        raise PerclScriptError(
            path, f"{len(attributes)} attributes; at most {MAX_ATTRIBUTES} are allowed per object")


def _shape(element: Any) -> str:
    if isinstance(element, dict):
        return f"an object with {len(element)} keys"
    return describe(element)


def _unknown_command(name: str) -> str:
    close = difflib.get_close_matches(name, COMMANDS, n=1)
    hint = f' (did you mean "{close[0]}"?)' if close else ""
    return f"unknown command {json.dumps(name, ensure_ascii=False)}{hint}"


@dataclass(frozen=True, order=True)
class _Fault:
    position: int  # index of the offending attribute in the document; missing ones sort last
    path: str
    problem: str


def _build(
    cls: type[Command], attributes: dict[str, Any], path: str, warnings: Notes
) -> Command:
    names = cls.wire_names()
    data: dict[str, Any] = {}
    positions: dict[str, int] = {}
    faults: list[_Fault] = []
    for position, (key, value) in enumerate(attributes.items()):
        field = names.get(key)
        if field is None:
            warnings.append(f"{path}.{key}: unknown attribute ignored")
            continue
        if value is None:
            continue
        if field in data:
            warnings.append(f"{path}.{key}: duplicate of another spelling, ignored")
            continue
        _note_legacy(cls, key, value, f"{path}.{key}", warnings)
        if field == "prompts":
            try:
                value = _parse_prompts(value, f"{path}.{key}", warnings)
            except PerclScriptError as exc:
                faults.append(_Fault(position, exc.path, exc.problem))
                continue
        data[field] = value
        positions[field] = position
    try:
        command = cls.model_validate(data)
    except ValidationError as exc:
        faults.extend(_fault(cls, err, path, positions, len(attributes)) for err in exc.errors())
    if faults:
        first = min(faults)
        raise PerclScriptError(first.path, first.problem)
    return command


def _note_legacy(cls: type[Command], key: str, value: Any, path: str, warnings: Notes) -> None:
    if key in cls.LEGACY:
        warnings.append(f"{path}: legacy attribute")
    elif key in cls.LEGACY_STRING_INTS and isinstance(value, str):
        warnings.append(f"{path}: legacy string number accepted, send an integer")
    elif isinstance(value, dict):
        _check_size(value, path)
        nested = _nested_model(cls, key)
        if nested is not None:
            known = {info.alias or name for name, info in nested.model_fields.items()}
            unknown = [k for k in value if k not in known]
            warnings.extend(f"{path}.{k}: unknown attribute ignored" for k in unknown)


def _nested_model(cls: type[Command], key: str) -> type[BaseModel] | None:
    field = cls.wire_names()[key]
    annotation = cls.model_fields[field].annotation
    for candidate in getattr(annotation, "__args__", (annotation,)):
        if isinstance(candidate, type) and issubclass(candidate, WireModel):
            return candidate
    return None


def _parse_prompts(value: Any, path: str, warnings: Notes) -> tuple[Command, ...]:
    if not isinstance(value, list):
        raise PerclScriptError(path, f"expected array, got {describe(value)}")
    warnings.count(len(value), path)
    return tuple(
        parse_element(item, f"{path}[{index}]", warnings, nested=True)
        for index, item in enumerate(value)
    )


def _fault(
    cls: type[Command], err: ErrorDetails, path: str, positions: Mapping[str, int], count: int
) -> _Fault:
    loc = list(err["loc"])
    ctx = err.get("ctx") or {}
    if not loc and "field" in ctx:  # a cross-field rule pinned to one attribute
        wire = str(ctx["field"])
        field = cls.wire_names().get(wire, wire)
        return _Fault(positions.get(field, count), f"{path}.{wire}", _problem(err))
    field = str(loc[0]) if loc else ""
    info = cls.model_fields.get(field)
    wire = (info.alias or field) if info is not None else field
    where = f"{path}.{wire}" if wire else path
    for part in loc[1:]:
        where += f"[{part}]" if isinstance(part, int) else f".{part}"
    order = list(cls.model_fields)
    fallback = count + (order.index(field) if field in order else 0)
    return _Fault(positions.get(field, fallback), where, _problem(err))


def _problem(err: ErrorDetails) -> str:
    kind = err["type"]
    if kind == ERROR_TYPE:
        return str((err.get("ctx") or {})["problem"])
    if kind == "missing":
        return "required attribute missing"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected object, got {describe(err['input'])}"
    return err["msg"]


def _advise(command: Command, path: str, warnings: Notes) -> None:
    """Warnings for documents that run but probably do not do what their author meant."""
    if isinstance(command, Sms) and len(command.text) > SMS_TEXT_LIMIT:
        warnings.append(f"{path}.text: longer than {SMS_TEXT_LIMIT} characters")
    if getattr(command, "engine", None) is not None and getattr(command, "language", None):
        warnings.append(f"{path}.language: not allowed with engine; set the engine's language")
