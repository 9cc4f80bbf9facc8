"""PQL: the tokenizer, the parser (precedence, parentheses, types, errors with offsets), evaluation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from percl.api.pql import (
    MAX_DEPTH,
    MAX_LENGTH,
    And,
    Comparison,
    Kind,
    Node,
    Op,
    Or,
    PqlError,
    matches,
    parse_pql,
    predicate,
    tokenize,
)
from percl.domain.enums import LogLevel
from percl.domain.records import LogEntry

ACC = "AC" + "a" * 40
CALL = "CA" + "1" * 40
RQ = "RQ" + "2" * 40


def entry(
    timestamp: int = 1_000,
    level: LogLevel = LogLevel.INFO,
    message: str = "hello",
    call_id: str | None = CALL,
    request_id: str | None = RQ,
) -> LogEntry:
    return LogEntry(timestamp, level, ACC, message, request_id, call_id)


def cmp(field: str, op: str, value: int | str) -> Comparison:
    return Comparison(field, Op(op), value)


# --------------------------------------------------------------------------- tokens


def test_tokens_with_offsets_and_decoded_values() -> None:
    tokens = tokenize('(timestamp>=-5 and message!="a\\"b\\\\c\\n")Or')
    assert [(t.kind, t.value, t.offset) for t in tokens] == [
        (Kind.LPAREN, "(", 0),
        (Kind.FIELD, "timestamp", 1),
        (Kind.OPERATOR, ">=", 10),
        (Kind.INTEGER, -5, 12),
        (Kind.AND, "AND", 15),
        (Kind.FIELD, "message", 19),
        (Kind.OPERATOR, "!=", 26),
        (Kind.STRING, 'a"b\\c\n', 28),
        (Kind.RPAREN, ")", 39),
        (Kind.OR, "OR", 40),
        (Kind.END, "", 42),
    ]


@pytest.mark.parametrize(
    ("source", "decoded"),
    [('"\\t"', "\t"), ('"\\r"', "\r"), ('"\\/"', "/"), ('""', ""), ('"AND ( )"', "AND ( )")],
)
def test_string_escapes(source: str, decoded: str) -> None:
    (token, _end) = tokenize(source)
    assert (token.kind, token.value) == (Kind.STRING, decoded)


# --------------------------------------------------------------------------- the tree


def test_and_binds_tighter_than_or() -> None:
    a, b, c = 'level = "info"', "timestamp > 1", 'message = "x"'
    left, middle, right = cmp("level", "=", LogLevel.INFO), cmp("timestamp", ">", 1), cmp("message", "=", "x")
    assert parse_pql(f"{a} OR {b} AND {c}") == Or((left, And((middle, right))))
    assert parse_pql(f"{a} AND {b} OR {c}") == Or((And((left, middle)), right))
    assert parse_pql(f"{a} and ({b} or {c})") == And((left, Or((middle, right))))


def test_chains_are_flat_and_parentheses_only_group() -> None:
    parts = ("timestamp > 1", "timestamp > 2", "timestamp > 3")
    expected = And(tuple(cmp("timestamp", ">", n) for n in (1, 2, 3)))
    assert parse_pql(" AND ".join(parts)) == expected
    assert parse_pql(f"((({parts[0]}))) AND ({parts[1]}) AND {parts[2]}") == expected


@pytest.mark.parametrize("op", ["=", "!=", "<", "<=", ">", ">="])
def test_every_operator_on_timestamp(op: str) -> None:
    expected = {"=": [2], "!=": [1, 3], "<": [1], "<=": [1, 2], ">": [3], ">=": [2, 3]}[op]
    keep = predicate(f"timestamp {op} 2")
    assert [t for t in (1, 2, 3) if keep(entry(timestamp=t))] == expected


@pytest.mark.parametrize(
    ("pql", "levels"),
    [
        ('level = "ERROR"', ["error"]),
        ('level = "Warning"', ["warning"]),
        ('level != "info"', ["warning", "error"]),
        ('level >= "warning"', ["warning", "error"]),
        ('level > "warning"', ["error"]),
        ('level < "WARNING"', ["info"]),
        ('level <= "error"', ["info", "warning", "error"]),
    ],
)
def test_level_is_case_insensitive_and_ordered_by_severity(pql: str, levels: list[str]) -> None:
    keep = predicate(pql)
    assert [lv.value for lv in LogLevel if keep(entry(level=lv))] == levels


def test_strings_are_exact_and_case_sensitive() -> None:
    assert predicate('message = "hello"')(entry(message="hello"))
    assert not predicate('message = "Hello"')(entry(message="hello"))
    assert not predicate('message = "hell"')(entry(message="hello"))
    assert predicate('message != "Hello"')(entry(message="hello"))
    assert predicate('message = "say \\"hi\\""')(entry(message='say "hi"'))


def test_a_null_field_matches_only_not_equal() -> None:
    no_call = entry(call_id=None, request_id=None)
    assert not predicate(f'callId = "{CALL}"')(no_call)
    assert predicate(f'callId != "{CALL}"')(no_call)
    assert predicate('requestId != ""')(no_call)
    assert not predicate('requestId = ""')(no_call)
    assert predicate(f'callId = "{CALL}"')(entry())


def test_every_field_is_searchable() -> None:
    e = entry()
    query = (
        f'timestamp = 1000 AND level = "info" AND requestId = "{RQ}" AND accountId = "{ACC}"'
        f' AND callId = "{CALL}" AND message = "hello"'
    )
    assert predicate(query)(e)
    assert not predicate(query.replace("1000", "1001"))(e)


def test_integer_boundaries() -> None:
    assert parse_pql("timestamp > -9223372036854775808") == cmp("timestamp", ">", -(2**63))
    assert parse_pql("timestamp < 0009223372036854775807") == cmp("timestamp", "<", 2**63 - 1)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("pql", "offset", "says"),
    [
        ("", 0, 'expected a comparison such as level = "error", or "(", found the end of the query'),
        ('level = "info" AND', 18, "found the end of the query"),
        ('level = "info" OR OR level = "error"', 18, "expected a comparison"),
        ('level "info"', 6, "expected an operator (=, !=, <, <=, >, >=), found '\"info\"'"),
        ("level =", 7, "expected a value"),
        ('level = "info" level = "x"', 15, "expected AND, OR or the end of the query, found 'level'"),
        ('(level = "info"', 15, "expected AND, OR or ')' closing the '(' at offset 0"),
        ('level = "info")', 14, "unmatched ')'"),
        ("()", 1, "expected a comparison"),
        ("level = 'error'", 8, "use double quotes"),
        ('message = "open', 10, "unterminated string"),
        ('message = "a\\x"', 12, "unknown escape"),
        ('message = "a\\', 10, "unterminated string"),
        ("timestamp = 1.5", 12, "PQL numbers are integers"),
        ("timestamp = 12abc", 12, "PQL numbers are integers"),
        ("timestamp = -x", 12, "a minus sign must be followed by digits"),
        ("timestamp = 9223372036854775808", 12, "out of range"),
        ("timestamp = 99999999999999999999999", 12, "out of range"),
        ('level == "error"', 6, "single '='"),
        ('level = "info" && level = "error"', 15, "write AND"),
        ('level = "info" || level = "error"', 15, "write OR"),
        ('level = "info" # comment', 15, "unexpected character '#'"),
        ('colour = "red"', 0, "unknown field 'colour'; PQL searches timestamp, level, requestId,"),
        ('callid = "x"', 0, "did you mean callId?"),
        ('metadata = "x"', 0, "metadata is not searchable"),
        ('metadata.requestBody.to = "x"', 0, "metadata is not searchable"),
        ('NOT level = "info"', 0, "PQL has no NOT"),
        ('timestamp = "abc"', 12, "timestamp is an integer"),
        ('timestamp > "1486067190316387"', 12, "write it without quotes"),
        ("level > 3", 8, "level is a string: quote the value"),
        ("callId = 5", 9, "callId is a string"),
        ('level = "debug"', 8, "unknown level 'debug'"),
        ('message < "m"', 8, "< does not apply to message"),
        ('requestId >= "RQ"', 10, ">= does not apply to requestId"),
    ],
)
def test_errors_are_code_5_with_an_offset(pql: str, offset: int, says: str) -> None:
    with pytest.raises(PqlError) as info:
        parse_pql(pql)
    err = info.value
    assert (err.status, err.code, err.offset) == (400, 5, offset)
    assert err.details == {"field": "pql", "offset": offset}
    assert err.message.startswith(f"Invalid PQL at offset {offset} in ")
    assert says in err.message


def test_deep_nesting_is_refused_not_a_crash() -> None:
    ok = "(" * MAX_DEPTH + "timestamp > 1" + ")" * MAX_DEPTH
    assert parse_pql(ok) == cmp("timestamp", ">", 1)
    with pytest.raises(PqlError, match=f"nested deeper than {MAX_DEPTH}") as info:
        parse_pql("(" + ok + ")")
    assert info.value.offset == MAX_DEPTH


def test_overlong_query_is_refused_with_an_excerpt() -> None:
    longest = "timestamp > 1" + " OR timestamp > 1" * ((MAX_LENGTH - 13) // 17)
    assert len(longest) <= MAX_LENGTH and isinstance(parse_pql(longest), Or)
    with pytest.raises(PqlError, match="longer than 2000 characters") as info:
        parse_pql(longest + " OR timestamp > 1")
    assert info.value.offset == MAX_LENGTH and len(info.value.message) < 200


# --------------------------------------------------------------------------- properties

SOUP = st.sampled_from(
    [
        "timestamp", "level", "callId", "message", "requestId", "accountId", "metadata", "colour",
        "AND", "or", "Not", "=", "!=", "<", "<=", ">", ">=", "==", "(", ")", '"info"', '"ERROR"',
        '"a\\"b"', '"\\q"', '"open', "'single'", "0", "-7", "1486067190316387", "99999999999999999999",
        "1.5", "-", "&&", "\\", " ", "\t", "é", "",
    ]
)  # fmt: skip


def _parses_or_code_5(pql: str) -> None:
    try:
        node = parse_pql(pql)
    except PqlError as err:
        assert (err.status, err.code) == (400, 5)
        assert 0 <= err.offset <= max(len(pql), MAX_LENGTH) and err.message
        return
    assert isinstance(node, Comparison | And | Or)
    matches(node, entry())  # a parsed tree always evaluates


@settings(max_examples=400, deadline=None)
@given(st.lists(SOUP, max_size=14).map(" ".join))
def test_token_soup_is_parsed_or_rejected_with_code_5(pql: str) -> None:
    _parses_or_code_5(pql)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_text_is_parsed_or_rejected_with_code_5(pql: str) -> None:
    _parses_or_code_5(pql)


# A random tree, its PQL text, and an evaluator written independently of the module.

SEVERITY = ["info", "warning", "error"]
ATOMS = st.one_of(
    st.builds(cmp, st.just("timestamp"), st.sampled_from(list(Op)), st.integers(0, 4)),
    st.builds(cmp, st.just("level"), st.sampled_from(list(Op)), st.sampled_from(list(LogLevel))),
    st.builds(
        cmp, st.sampled_from(["callId", "message"]), st.sampled_from(["=", "!="]), st.sampled_from("ab")
    ),
)  # fmt: skip
TREES = st.recursive(
    ATOMS,
    lambda kids: (
        st.builds(And, st.lists(kids, min_size=2, max_size=3).map(tuple))
        | st.builds(Or, st.lists(kids, min_size=2, max_size=3).map(tuple))
    ),
    max_leaves=8,
)
ENTRIES = st.builds(
    entry,
    timestamp=st.integers(0, 4),
    level=st.sampled_from(list(LogLevel)),
    message=st.sampled_from(["a", "b"]),
    call_id=st.sampled_from(["a", "b", None]),
)


def render(node: Node) -> str:
    """PQL text for `node`, parenthesizing every group so that precedence cannot matter."""
    if isinstance(node, Comparison):
        if isinstance(node.value, LogLevel):  # levels in upper case: matching ignores case
            value = f'"{node.value.upper()}"'
        else:
            value = f'"{node.value}"' if isinstance(node.value, str) else str(node.value)
        return f"{node.field} {node.op.value} {value}"
    joiner = " AND " if isinstance(node, And) else " or "
    return "(" + joiner.join(render(t) for t in node.terms) + ")"


def reference(node: Node, e: LogEntry) -> bool:
    if isinstance(node, And):
        return all(reference(t, e) for t in node.terms)
    if isinstance(node, Or):
        return any(reference(t, e) for t in node.terms)
    actual = {"timestamp": e.timestamp, "level": e.level, "callId": e.call_id, "message": e.message}[
        node.field
    ]
    if actual is None:
        return node.op is Op.NE
    a, b = actual, node.value
    if node.field == "level":
        a, b = SEVERITY.index(str(a)), SEVERITY.index(str(b))
    return {
        Op.EQ: a == b, Op.NE: a != b, Op.LT: a < b, Op.LE: a <= b, Op.GT: a > b, Op.GE: a >= b,
    }[node.op]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(TREES, ENTRIES)
def test_rendered_trees_round_trip_and_evaluate_like_the_reference(node: Node, e: LogEntry) -> None:
    parsed = parse_pql(render(node))
    assert parsed == node  # every group was parenthesized, so nesting survives as written
    assert matches(parsed, e) == reference(node, e)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=8), st.data())
def test_unparenthesized_precedence_matches_and_before_or(truths: list[bool], data: st.DataObject) -> None:
    n = len(truths) - 1
    joiners = data.draw(st.lists(st.sampled_from(["AND", "OR"]), min_size=n, max_size=n))
    atoms = ["timestamp = 1" if t else "timestamp = 2" for t in truths]
    pql = atoms[0] + "".join(f" {j} {a}" for j, a in zip(joiners, atoms[1:], strict=True))
    groups: list[list[bool]] = [[truths[0]]]
    for j, t in zip(joiners, truths[1:], strict=True):
        if j == "OR":
            groups.append([t])
        else:
            groups[-1].append(t)
    assert matches(parse_pql(pql), entry(timestamp=1)) == any(all(g) for g in groups)
