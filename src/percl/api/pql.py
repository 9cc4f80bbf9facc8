"""PQL, FreeClimb's Performance Query Language for POST /Logs: tokenizer, parser, predicate.

The grammar (keywords in any case; AND binds tighter than OR; whitespace is free)::

    query      := or_expr END
    or_expr    := and_expr ( "OR" and_expr )*
    and_expr   := term ( "AND" term )*
    term       := "(" or_expr ")" | comparison
    comparison := FIELD OPERATOR value
    OPERATOR   := "=" | "!=" | "<" | "<=" | ">" | ">="
    value      := STRING | INTEGER
    STRING     := '"' ( any character but '"' and '\\' | '\\' one of  " \\ / n r t )* '"'
    INTEGER    := "-"? DIGIT+                          (fits in a signed 64-bit integer)
    FIELD      := timestamp | level | requestId | accountId | callId | message

Why by hand: FreeClimb publishes only fragments of PQL (`field = "value"`, `timestamp>N`, AND),
the grammar above is a dozen lines, and every error must say where it is (a character offset,
what was expected, what was found), which a hand-written recursive descent does best.

Types are checked while parsing, so a query that cannot mean anything fails before any log
entry is read:

    timestamp                              integer microseconds; all six operators
    level                                  "info", "warning" or "error" in any case; all six
                                           operators, ordered by severity info < warning < error
    requestId, accountId, callId, message  strings, exact and case-sensitive; = and != only

A field that is null on an entry (callId and requestId can be) satisfies only `!=`. The tree
and its meaning live in percl.domain.logquery (the stores evaluate it, in SQL where they can).
Every problem raises PqlError: HTTP 400 with FreeClimb's PQL error code 5.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import NoReturn

from percl.domain.enums import LogLevel
from percl.domain.logquery import And, Comparison, LogQuery, Op, Or, matches
from percl.domain.records import LogEntry
from percl.errors import BadRequest

__all__ = ["FIELDS", "And", "Comparison", "Node", "Op", "Or", "PqlError", "matches", "parse_pql",
           "predicate", "tokenize"]

PQL_ERROR_CODE = 5
MAX_LENGTH = 2_000  # keeps a filtered list's nextPageUri (query string) well under server limits
MAX_DEPTH = 32  # parentheses; deeper nesting is refused instead of exhausting the stack
_INT64 = 2**63


class PqlError(BadRequest):
    """A PQL query that cannot be parsed or means nothing: 400, code 5, details.offset."""

    code = PQL_ERROR_CODE

    def __init__(self, pql: str, offset: int, problem: str) -> None:
        super().__init__(
            f"Invalid PQL at offset {offset} in {_excerpt(pql, offset)}: {problem}",
            details={"field": "pql", "offset": offset},
        )
        self.offset = offset
        self.problem = problem


def _excerpt(pql: str, offset: int) -> str:
    """The query as quoted in an error: whole when short, else 30 characters around `offset`."""
    if len(pql) <= 80:
        return repr(pql)
    start = max(0, offset - 30)
    end = min(len(pql), offset + 30)
    return f"{'…' if start else ''}{pql[start:end]!r}{'…' if end < len(pql) else ''}"


# --------------------------------------------------------------------------- tokens


class Kind(Enum):
    FIELD = "field"
    STRING = "string"
    INTEGER = "integer"
    OPERATOR = "operator"
    AND = "AND"
    OR = "OR"
    LPAREN = "("
    RPAREN = ")"
    END = "end"


@dataclass(frozen=True, slots=True)
class Token:
    """One lexeme: `text` as written, `value` decoded (escapes resolved, integers parsed)."""

    kind: Kind
    text: str
    value: str | int
    offset: int

    def describe(self) -> str:
        return "the end of the query" if self.kind is Kind.END else repr(self.text)


_LEXEME = re.compile(
    r"(?P<space>\s+)|(?P<op>==|!=|<=|>=|=|<|>)|(?P<lparen>\()|(?P<rparen>\))"
    r"|(?P<integer>-?[0-9]+)|(?P<word>[A-Za-z_][A-Za-z0-9_.]*)"
)
_AFTER_NUMBER = re.compile(r"[A-Za-z0-9_.]")
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "n": "\n", "r": "\r", "t": "\t"}
_CHAR_HINTS = {
    "'": "PQL strings use double quotes: write \"value\", not 'value'",
    "&": "write AND instead of &&",
    "|": "write OR instead of ||",
    "-": "a minus sign must be followed by digits",
}


def tokenize(pql: str) -> list[Token]:
    """The tokens of `pql`, ending with an END token. Raises PqlError on a bad character/literal."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(pql):
        if pql[pos] == '"':
            token = _string(pql, pos)
        else:
            match = _LEXEME.match(pql, pos)
            if match is None:
                char = pql[pos]
                hint = _CHAR_HINTS.get(
                    char, "expected a field, an operator, a value, AND, OR or a parenthesis"
                )
                raise PqlError(pql, pos, f"unexpected character {char!r}: {hint}")
            if match.lastgroup == "space":
                pos = match.end()
                continue
            token = _simple(pql, match)
        tokens.append(token)
        pos = token.offset + len(token.text)
    tokens.append(Token(Kind.END, "", "", len(pql)))
    return tokens


def _simple(pql: str, match: re.Match[str]) -> Token:
    text, pos = match.group(), match.start()
    group = match.lastgroup
    if group == "op":
        if text == "==":
            raise PqlError(pql, pos, "PQL compares with a single '=': write = instead of ==")
        return Token(Kind.OPERATOR, text, text, pos)
    if group == "integer":
        return _integer(pql, text, pos)
    if group == "word":
        keyword = text.upper()
        if keyword in ("AND", "OR"):
            return Token(Kind[keyword], text, keyword, pos)
        return Token(Kind.FIELD, text, text, pos)
    return Token(Kind.LPAREN if text == "(" else Kind.RPAREN, text, text, pos)


def _integer(pql: str, text: str, pos: int) -> Token:
    end = pos + len(text)
    if end < len(pql) and _AFTER_NUMBER.match(pql, end):
        raise PqlError(pql, pos, "malformed number: PQL numbers are integers such as 1486067190316387")
    # Bounded before int(): Python refuses to convert very long digit strings (a 500, not a 400).
    significant = text.lstrip("-").lstrip("0") or "0"
    value = 0 if len(significant) > 19 else int(significant)
    value = -value if text.startswith("-") else value
    if len(significant) > 19 or not -_INT64 <= value < _INT64:
        raise PqlError(pql, pos, "number out of range: PQL integers are signed 64-bit")
    return Token(Kind.INTEGER, text, value, pos)


def _string(pql: str, start: int) -> Token:
    chars: list[str] = []
    pos = start + 1
    while pos < len(pql):
        char = pql[pos]
        if char == '"':
            return Token(Kind.STRING, pql[start : pos + 1], "".join(chars), start)
        if char == "\\":
            escaped = pql[pos + 1 : pos + 2]
            if not escaped:
                break  # a backslash at the very end escapes nothing; the string is unterminated
            if escaped not in _ESCAPES:
                found = repr("\\" + escaped)
                raise PqlError(pql, pos, f'unknown escape {found}: use \\", \\\\, \\/, \\n, \\r or \\t')
            chars.append(_ESCAPES[escaped])
            pos += 2
            continue
        chars.append(char)
        pos += 1
    raise PqlError(pql, start, 'unterminated string: a closing " is missing')


# --------------------------------------------------------------------------- the tree


class FieldType(Enum):
    INTEGER = "integer"
    LEVEL = "level"
    STRING = "string"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """How a LogResult property is typed (how it is read: percl.domain.logquery.READERS)."""

    type: FieldType


# The searchable LogResult properties, keyed by their wire names. `metadata` is left out on purpose.
FIELDS: dict[str, FieldSpec] = {
    "timestamp": FieldSpec(FieldType.INTEGER),
    "level": FieldSpec(FieldType.LEVEL),
    "requestId": FieldSpec(FieldType.STRING),
    "accountId": FieldSpec(FieldType.STRING),
    "callId": FieldSpec(FieldType.STRING),
    "message": FieldSpec(FieldType.STRING),
}

Node = LogQuery


# --------------------------------------------------------------------------- parsing


def parse_pql(pql: str) -> Node:
    """The tree of `pql`. Raises PqlError (400, code 5) on any syntax, field or type problem."""
    if len(pql) > MAX_LENGTH:
        raise PqlError(pql, MAX_LENGTH, f"the query is longer than {MAX_LENGTH} characters")
    return _Parser(pql, tokenize(pql)).parse()


class _Parser:
    """Recursive descent over the token list; one method per grammar rule."""

    def __init__(self, pql: str, tokens: list[Token]) -> None:
        self.pql = pql
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    def parse(self) -> Node:
        node = self._or()
        last = self._next()
        if last.kind is Kind.RPAREN:
            raise PqlError(self.pql, last.offset, "unmatched ')': no '(' is open here")
        if last.kind is not Kind.END:
            self._expected("AND, OR or the end of the query", last)
        return node

    def _next(self) -> Token:
        token = self.tokens[self.index]
        if token.kind is not Kind.END:
            self.index += 1
        return token

    def _peek(self) -> Kind:
        return self.tokens[self.index].kind

    def _expected(self, what: str, found: Token) -> NoReturn:
        raise PqlError(self.pql, found.offset, f"expected {what}, found {found.describe()}")

    def _or(self) -> Node:
        terms = [self._and()]
        while self._peek() is Kind.OR:
            self._next()
            terms.append(self._and())
        return terms[0] if len(terms) == 1 else Or(tuple(terms))

    def _and(self) -> Node:
        terms = [self._term()]
        while self._peek() is Kind.AND:
            self._next()
            terms.append(self._term())
        return terms[0] if len(terms) == 1 else And(tuple(terms))

    def _term(self) -> Node:
        token = self._next()
        if token.kind is Kind.FIELD:
            return self._comparison(token)
        if token.kind is not Kind.LPAREN:
            self._expected('a comparison such as level = "error", or "("', token)
        if self.depth >= MAX_DEPTH:
            raise PqlError(self.pql, token.offset, f"parentheses nested deeper than {MAX_DEPTH}")
        self.depth += 1
        node = self._or()
        self.depth -= 1
        closing = self._next()
        if closing.kind is not Kind.RPAREN:
            self._expected(f"AND, OR or ')' closing the '(' at offset {token.offset}", closing)
        return node

    def _comparison(self, name: Token) -> Comparison:
        spec = self._field(name)
        op_token = self._next()
        if op_token.kind is not Kind.OPERATOR:
            self._expected("an operator (=, !=, <, <=, >, >=)", op_token)
        value = self._next()
        if value.kind not in (Kind.STRING, Kind.INTEGER):
            self._expected('a value: a "double-quoted string" or an integer', value)
        op = Op(op_token.text)
        return Comparison(
            str(name.value), op, _typed(self.pql, name.text, spec, op_token, value), name.offset
        )

    def _field(self, name: Token) -> FieldSpec:
        spec = FIELDS.get(name.text)
        if spec is not None:
            return spec
        known = ", ".join(FIELDS)
        if name.text == "metadata" or name.text.startswith("metadata."):
            problem = f"metadata is not searchable; PQL searches {known}"
        elif name.text.upper() == "NOT":
            problem = "PQL has no NOT: use != or the opposite comparison"
        else:
            close = next((f for f in FIELDS if f.lower() == name.text.lower()), None)
            hint = f" (did you mean {close}?)" if close else ""
            problem = f"unknown field {name.text!r}{hint}; PQL searches {known}"
        raise PqlError(self.pql, name.offset, problem)


_LEVEL_NAMES = '"info", "warning" or "error"'


def _typed(pql: str, name: str, spec: FieldSpec, op: Token, value: Token) -> int | str:
    """`value` as the type `name` compares with. Raises PqlError on a mismatch."""
    if spec.type is FieldType.INTEGER:
        if value.kind is not Kind.INTEGER:
            problem = f"{name} is an integer (microseconds since the epoch): write it without quotes"
            raise PqlError(pql, value.offset, f"{problem}, e.g. {name} > 1486067190316387")
        return value.value
    if value.kind is not Kind.STRING:
        example = 'level = "error"' if spec.type is FieldType.LEVEL else f'{name} = "..."'
        raise PqlError(pql, value.offset, f"{name} is a string: quote the value, e.g. {example}")
    text = str(value.value)
    if spec.type is FieldType.LEVEL:
        if text.lower() not in {level.value for level in LogLevel}:
            raise PqlError(pql, value.offset, f"unknown level {text!r}: use {_LEVEL_NAMES}")
        return LogLevel(text.lower())
    if op.text not in (Op.EQ, Op.NE):
        raise PqlError(pql, op.offset, f"{op.text} does not apply to {name}: strings compare with = and !=")
    return text


# --------------------------------------------------------------------------- evaluation


def predicate(pql: str) -> Callable[[LogEntry], bool]:
    """A filter function for `pql`. Raises PqlError at once, before any entry is tested."""
    node = parse_pql(pql)
    return lambda entry: matches(node, entry)
