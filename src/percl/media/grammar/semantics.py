"""Running the tags of a parse: the semantic result of a recognition, and how it becomes a string.

Each rule match has a rule variable (``out``, ``$``). Events are replayed in input order: a rule
reference is evaluated first (its value becomes ``rules.NAME`` and ``rules.latest()``), a tag runs
its statements, a word extends ``meta.current().text``. When a rule ends without any statement
having touched its variable, SISR's default applies: the value of the latest rule reference, or
else the words the rule matched (GARBAGE words excluded).

Values are ECMAScript-like: str, int, float, bool, None (null and undefined alike) and dict (an
object). Evaluation never raises: reading a missing property gives None, as in ECMAScript, and the
compiler already refused every construct it cannot run. Semantics-ms objects holding only
``_value`` collapse to that value when their rule ends (``$._value = "GREEN"`` makes the rule's
value ``"GREEN"``), and ``x._value`` of a plain value is the value itself.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from percl.media.grammar.expansion import Event, RuleEvent, TagEvent, TagFormat, TokEvent
from percl.media.grammar.script import Assign, Base, Binary, Evaluate, Expr, Literal, Negate, NewObject, Path

Value = Any  # str | int | float | bool | None | dict[str, Value]
_UNTOUCHED = object()


@dataclass
class _RuleScope:
    """The state of one rule match while its events are replayed."""

    out: Value = field(default_factory=dict)
    touched: bool = False
    rules: dict[str, Value] = field(default_factory=dict)
    rule_texts: dict[str, str] = field(default_factory=dict)
    latest: Value = _UNTOUCHED
    latest_text: str = ""
    words: list[str] = field(default_factory=list)
    local: dict[str, Value] = field(default_factory=dict)
    separator: str = " "

    def text(self) -> str:
        return self.separator.join(self.words)


def event_text(events: tuple[Event, ...], separator: str = " ") -> str:
    """The words a parse matched, GARBAGE excluded, joined by `separator` (DTMF input uses "")."""
    words: list[str] = []
    stack = list(reversed(events))
    while stack:
        ev = stack.pop()
        if isinstance(ev, TokEvent) and not ev.garbage:
            words.append(ev.display)
        elif isinstance(ev, RuleEvent):
            stack.extend(reversed(ev.events))
    return separator.join(words)


def evaluate(root: RuleEvent, tag_format: TagFormat, separator: str = " ") -> Value:
    """The semantic value of a matched root rule (None when it produced none).

    `separator` joins words in rule texts: " " for speech, "" for DTMF.
    """
    return _rule_value(root, tag_format, separator)


def _rule_value(rule: RuleEvent, tag_format: TagFormat, separator: str) -> Value:
    scope = _RuleScope(separator=separator)
    for ev in rule.events:
        if isinstance(ev, TokEvent):
            if not ev.garbage:
                scope.words.append(ev.display)
        elif isinstance(ev, RuleEvent):
            value = _rule_value(ev, tag_format, separator)
            text = event_text(ev.events, separator)
            scope.rules[ev.name], scope.rule_texts[ev.name] = value, text
            scope.latest, scope.latest_text = value, text
            if text:
                scope.words.append(text)
        elif tag_format is TagFormat.LITERALS or ev.tag.program is None:
            scope.out, scope.touched = ev.tag.literal, True
        else:
            _run(ev, scope)
    if not scope.touched:
        return scope.text() if scope.latest is _UNTOUCHED else scope.latest
    out = scope.out
    if isinstance(out, dict) and set(out) == {"_value"}:
        return out["_value"]
    return out


def _run(ev: TagEvent, scope: _RuleScope) -> None:
    assert ev.tag.program is not None
    for statement in ev.tag.program:
        if isinstance(statement, Evaluate):
            _eval(statement.value, scope)
            continue
        _assign(statement, scope)


def _assign(statement: Assign, scope: _RuleScope) -> None:
    target = statement.target
    value = _eval(statement.value, scope)
    if statement.op == "+=":
        value = _add(_read(target, scope), value)
    if target.base is Base.LOCAL and not target.members:
        scope.local[target.name] = value
        return
    if target.base is Base.OUT:
        scope.touched = True
        if not target.members:
            scope.out = value
            return
        holder = scope.out
    else:
        holder = scope.local.get(target.name)
    for name in target.members[:-1]:
        if not isinstance(holder, dict):
            return  # a property of a plain value: ignored, as ECMAScript does
        holder = holder.setdefault(name, {})
    if isinstance(holder, dict):
        holder[target.members[-1]] = value


def _read(path: Path, scope: _RuleScope) -> Value:
    value: Value
    if path.base is Base.OUT:
        value = scope.out
    elif path.base is Base.RULE:
        value = scope.rules.get(path.name)
    elif path.base is Base.LATEST:
        value = None if scope.latest is _UNTOUCHED else scope.latest
    elif path.base is Base.META_CURRENT:
        return scope.text()
    elif path.base is Base.META_LATEST:
        return scope.latest_text
    elif path.base is Base.META_RULE:
        return scope.rule_texts.get(path.name, "")
    else:
        value = scope.local.get(path.name)
    for name in path.members:
        value = _member(value, name)
    return value


def _member(value: Value, name: str) -> Value:
    if isinstance(value, dict):
        return value.get(name)
    if name == "_value":
        return value
    if name == "length" and isinstance(value, str):
        return len(value)
    return None


def _eval(expr: Expr, scope: _RuleScope) -> Value:
    if isinstance(expr, Literal):
        return expr.value
    if isinstance(expr, NewObject):
        return {}
    if isinstance(expr, Path):
        return _read(expr, scope)
    if isinstance(expr, Negate):
        return -_number(_eval(expr.operand, scope))
    assert isinstance(expr, Binary)
    left, right = _eval(expr.left, scope), _eval(expr.right, scope)
    if expr.op == "+":
        return _add(left, right)
    a, b = _number(left), _number(right)
    if expr.op == "-":
        return _tidy(a - b)
    if expr.op == "*":
        return _tidy(a * b)
    if b == 0:
        return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)
    return _tidy(a / b)


def _add(left: Value, right: Value) -> Value:
    if isinstance(left, str | dict) or isinstance(right, str | dict):
        return to_js_string(left) + to_js_string(right)
    return _tidy(_number(left) + _number(right))


def _tidy(number: float) -> int | float:
    """Whole numbers stay ints, so ``1 + 2`` renders as ``3`` like ECMAScript, not ``3.0``."""
    if isinstance(number, float) and number.is_integer() and abs(number) < 2**53:
        return int(number)
    return number


def _number(value: Value) -> float:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return 0.0
        try:
            return float(text)
        except ValueError:
            return math.nan
    return math.nan  # undefined, null and objects: percl does not tell null from undefined


def to_js_string(value: Value) -> str:
    """A value as ECMAScript's String() would write it."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return str(_tidy(value))
    if isinstance(value, dict):
        return "[object Object]"
    return "undefined"


def _jsonable(value: Value) -> Value:
    if isinstance(value, dict):
        if set(value) == {"_value"}:  # semantics-ms: $.city._value = "x" reads as "city": "x"
            return _jsonable(value["_value"])
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, float):
        return _tidy(value) if math.isfinite(value) else None
    return value


def render(value: Value, text: str) -> str:
    """The recognitionResult string: a plain value as ECMAScript writes it, an object as compact JSON.

    An empty object or no value at all gives `text` (the words matched).
    """
    if value is None or value == {}:
        return text
    if isinstance(value, dict):
        return json.dumps(_jsonable(value), separators=(",", ":"), ensure_ascii=False)
    return to_js_string(value)
