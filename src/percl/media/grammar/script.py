"""The `<tag>` script language: the subset of SISR / Microsoft semantic scripts that grammars use.

A real recogniser runs tag content through an ECMAScript engine. Grammars written for FreeClimb
use a handful of statement forms, so percl parses exactly those and refuses the rest at compile
time with a GrammarError that names the construct (a silent mismatch would be worse):

    out = "literal";   out.prop = 42;   out += rules.digit;   out = rules.latest();
    out.city = rules.city.name;   out = meta.current().text;   var x = "a" + rules.b;
    $._value = "GREEN";   $.code = $$;   $ = $Airport.code;          (semantics-ms/1.0 spellings)

Expressions: string, number, true/false/null literals, ``{}`` / ``new Object()``, parentheses, the
binary operators ``+ - * /`` with ECMAScript's rules (``+`` concatenates when either side is a
string) and unary minus. Both spellings (``out``/``rules`` and ``$``/``$$``/``$Rule``) are accepted
whatever the grammar's tag-format says: the meaning is the same and rejecting one would only break
grammars. Evaluation lives in semantics.py; this module only parses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from percl.media.grammar.errors import GrammarError


class Base(StrEnum):
    """What a name path starts from."""

    OUT = "out"  # the rule variable of the rule the tag is in (`$` in semantics-ms)
    RULE = "rule"  # rules.NAME / $NAME: the value of the latest match of rule NAME
    LATEST = "latest"  # rules.latest() / $$: the value of the latest matched rule reference
    META_CURRENT = "meta_current"  # meta.current().text: the text matched so far by this rule
    META_RULE = "meta_rule"  # meta.NAME.text
    META_LATEST = "meta_latest"  # meta.latest().text
    LOCAL = "local"  # a `var` of the rule


@dataclass(frozen=True, slots=True)
class Literal:
    value: str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class NewObject:
    """``{}`` or ``new Object()``."""


@dataclass(frozen=True, slots=True)
class Path:
    base: Base
    name: str = ""  # the rule or local name for RULE, META_RULE, LOCAL
    members: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Negate:
    operand: Expr


Expr = Literal | NewObject | Path | Binary | Negate


@dataclass(frozen=True, slots=True)
class Assign:
    target: Path  # base OUT or LOCAL
    op: str  # "=" or "+="
    value: Expr


@dataclass(frozen=True, slots=True)
class Evaluate:
    """A bare expression statement: evaluated for nothing, as ECMAScript would."""

    value: Expr


Statement = Assign | Evaluate
Program = tuple[Statement, ...]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
      | (?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
      | (?P<name>\$\$|\$?[A-Za-z_][A-Za-z0-9_]*|\$)
      | (?P<op>\+=|[-+*/=;.()\[\]{}])
      | (?P<other>\S+?)
    )""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
_KEYWORDS = {"true": True, "false": False, "null": None, "undefined": None}


def _unquote(text: str) -> str:
    body, out, i = text[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2 : i + 6]):
                out.append(chr(int(body[i + 2 : i + 6], 16)))
                i += 6
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _tokens(source: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    # Without its trailing whitespace: there _TOKEN's `\s*` matched nothing after it and was
    # retried from every space, quadratic time (20,000 spaces in a tag took 13 s on the loop).
    for m in _TOKEN.finditer(source.rstrip()):
        kind = m.lastgroup
        if kind is None:
            continue
        if kind == "other":
            text = m.group(kind)
            what = "an unterminated string" if text[0] in "'\"" else repr(text)
            raise GrammarError(f"unsupported tag script construct {what} in {source.strip()!r}")
        tokens.append((kind, m.group(kind)))
    return tokens


class _Parser:
    """Recursive descent over the token list; every refusal names the construct and the tag."""

    def __init__(self, source: str) -> None:
        self.source = source.strip()
        self.toks = _tokens(source)
        self.i = 0

    def fail(self, what: str) -> GrammarError:
        return GrammarError(f"unsupported tag script construct {what} in {self.source!r}")

    def peek(self, offset: int = 0) -> tuple[str, str]:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else ("end", "")

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok[0] == "end" or (value is not None and tok[1] != value):
            found = repr(tok[1]) if tok[0] != "end" else "the end of the tag"
            raise self.fail(f"{found} (expected {value!r})" if value else found)
        self.i += 1
        return tok

    def expect(self, *values: str) -> None:
        for value in values:
            self.take(value)

    def at(self, value: str) -> bool:
        return self.peek()[1] == value and self.peek()[0] in ("op", "name")

    def program(self) -> Program:
        statements: list[Statement] = []
        while self.peek()[0] != "end":
            if self.at(";"):
                self.i += 1
                continue
            statements.append(self.statement())
            if self.peek()[0] != "end":
                self.take(";")
        return tuple(statements)

    def statement(self) -> Statement:
        if self.at("var"):
            self.i += 1
            name = self.take()
            if name[0] != "name" or name[1].startswith("$") or name[1] in _RESERVED:
                raise self.fail(f"var {name[1]!r}")
            value: Expr = Literal(None)
            if self.at("="):
                self.i += 1
                value = self.expr()
            return Assign(Path(Base.LOCAL, name[1]), "=", value)
        target = self.expr()
        if self.at("=") or self.at("+="):
            op = self.take()[1]
            if not isinstance(target, Path) or target.base not in (Base.OUT, Base.LOCAL):
                raise self.fail("assignment to something other than out, $ or a var")
            return Assign(target, op, self.expr())
        return Evaluate(target)

    def expr(self) -> Expr:
        node = self.term()
        while self.at("+") or self.at("-"):
            node = Binary(self.take()[1], node, self.term())
        return node

    def term(self) -> Expr:
        node = self.unary()
        while self.at("*") or self.at("/"):
            node = Binary(self.take()[1], node, self.unary())
        return node

    def unary(self) -> Expr:
        if self.at("-"):
            self.i += 1
            return Negate(self.unary())
        if self.at("+"):
            self.i += 1
        return self.primary()

    def primary(self) -> Expr:
        kind, text = self.take()
        if kind == "num":
            if any(c in text for c in ".eE") or len(text) > 15:
                return Literal(float(text))  # ECMAScript numbers are doubles
            return Literal(int(text))
        if kind == "str":
            return Literal(_unquote(text))
        if text == "(":
            inner = self.expr()
            self.take(")")
            return inner
        if text == "{":
            self.take("}")
            return NewObject()
        if kind != "name":
            raise self.fail(repr(text))
        if text in _KEYWORDS:
            return Literal(_KEYWORDS[text])
        if text == "new":
            self.expect("Object", "(", ")")
            return NewObject()
        return self.path(text)

    def path(self, name: str) -> Path:
        start = self.i - 1
        base = self.base(name)
        members = list(base.members)
        while self.at(".") or self.at("["):
            members.append(self.member())
        if self.at("("):
            raise self.fail(f"function call {''.join(t for _, t in self.toks[start : self.i])}()")
        if base.base in (Base.META_CURRENT, Base.META_RULE, Base.META_LATEST) and members != ["text"]:
            raise self.fail(f"meta property {'.'.join(members) or '(none)'} (only .text is supported)")
        return Path(base.base, base.name, tuple(members))

    def member(self) -> str:
        if self.take()[1] == ".":
            kind, text = self.take()
            if kind != "name" or text.startswith("$"):
                raise self.fail(f"property name {text!r}")
            return text
        kind, text = self.take()
        if kind != "str":
            raise self.fail(f"computed property [{text}]")
        self.take("]")
        return _unquote(text)

    def base(self, name: str) -> Path:
        """The start of a name path; consumes the `rules.X` / `meta.current()` forms whole."""
        if name in ("out", "$"):
            return Path(Base.OUT)
        if name == "$$":
            return Path(Base.LATEST)
        if name.startswith("$"):
            return Path(Base.RULE, name[1:])
        if name == "rules":
            rule = self.member()
            if rule == "latest":
                self.expect("(", ")")
                return Path(Base.LATEST)
            return Path(Base.RULE, rule)
        if name == "meta":
            rule = self.member()
            if rule in ("current", "latest"):
                self.expect("(", ")")
                return Path(Base.META_CURRENT if rule == "current" else Base.META_LATEST)
            return Path(Base.META_RULE, rule)
        if name in _RESERVED:
            raise self.fail(repr(name))
        return Path(Base.LOCAL, name)


# ECMAScript words percl does not run; naming them in the error beats a confusing parse failure.
_RESERVED = frozenset((
    "if", "else", "for", "while", "do", "function", "return", "switch", "case", "break", "continue",
    "this", "typeof", "instanceof", "in", "delete", "void", "with", "try", "catch", "throw", "let",
    "const", "class",
))  # fmt: skip


def parse_script(source: str) -> Program:
    """Parse one tag's script; raises GrammarError naming the first construct percl does not run."""
    return _Parser(source).program()


def has_assignment(program: Program) -> bool:
    """True when the script assigns something: used to tell a script tag from a literal one."""
    return any(isinstance(st, Assign) for st in program)
