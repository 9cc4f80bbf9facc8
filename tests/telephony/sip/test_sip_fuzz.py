"""The SIP parser fuzzed: RFC 4475 data files, accepted messages round-trip, garbage maps to 400.

Complements test_sip_message.py (random bytes and mutated torture messages raise only ParseError):
what percl accepts it can also write back and re-read unchanged, a stream cut anywhere frames the
same messages, and the answering UAS never raises on any input and answers every request it cannot
parse with 400.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torture import APPLICATION_VALID, INVALID, VALID, wire

from percl.telephony.sip.message import ParseError, Request, Response, StreamParser, parse_message, serialize
from percl.telephony.sip.sdp import LocalMedia
from percl.telephony.sip.uas import AnsweringUas

DATA = Path(__file__).with_name("rfc4475")
TABLES = {"valid": VALID, "application": APPLICATION_VALID, "invalid": INVALID}
ACCEPTED = {**VALID, **APPLICATION_VALID}
INSERTS = [b";", b",", b'"', b"<", b">", b":", b"\r\n", b" ", b"\r\n ", b"@", b"%", b"=", b"\t",
           b"\n", b"\r", b"\\", b"[", b"]", b"?", b"0", b"\x00", b"\xff"]


def _files(kind: str) -> list[Path]:
    return sorted((DATA / kind).glob("*.dat"))


def test_data_files_are_the_transcribed_messages() -> None:
    for kind, table in TABLES.items():
        assert {p.stem for p in _files(kind)} == set(table), kind
        for path in _files(kind):
            assert path.read_bytes() == wire(table[path.stem]), path.name


@pytest.mark.parametrize("path", _files("valid") + _files("application"), ids=lambda p: p.stem)
def test_valid_data_files_parse(path: Path) -> None:
    message = parse_message(path.read_bytes())
    assert message.vias and message.call_id


@pytest.mark.parametrize("path", _files("invalid"), ids=lambda p: p.stem)
def test_invalid_data_files_are_refused_and_a_uas_answers_400_or_nothing(path: Path) -> None:
    data = path.read_bytes()
    with pytest.raises(ParseError):
        parse_message(data)
    for out in _uas().receive(data, ("127.0.0.1", 5999), 0.0):
        answer = parse_message(out.data)
        assert isinstance(answer, Response) and answer.status == 400


def _mutate(data: st.DataObject, raw: bytearray) -> bytes:
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        choice = data.draw(st.integers(0, 2))
        if choice == 0:
            raw[pos] = data.draw(st.integers(0, 255))
        elif choice == 1:
            del raw[pos]
        else:
            raw[pos:pos] = data.draw(st.sampled_from(INSERTS))
    return bytes(raw)


def _same(a: Request | Response, b: Request | Response) -> bool:
    """Equal but for Content-Length, which serialising always writes."""
    return (a.start_line(), a.headers.remove("Content-Length"), a.body) == (
        b.start_line(), b.headers.remove("Content-Length"), b.body)


@given(st.sampled_from(sorted(ACCEPTED)), st.data())
@settings(max_examples=400, deadline=None)
def test_fuzz_accepted_messages_serialise_and_parse_back_the_same(name: str,
                                                                  data: st.DataObject) -> None:
    raw = _mutate(data, bytearray(wire(ACCEPTED[name])))
    try:
        message = parse_message(raw)
    except ParseError:
        return
    again = parse_message(serialize(message))
    assert _same(again, message)


@given(st.lists(st.sampled_from(sorted(ACCEPTED)), min_size=1, max_size=4), st.data())
@settings(max_examples=200, deadline=None)
def test_fuzz_a_stream_cut_anywhere_frames_the_same_messages(names: list[str],
                                                             data: st.DataObject) -> None:
    messages = [parse_message(wire(ACCEPTED[name])) for name in names]
    stream = b"".join(b"\r\n" * data.draw(st.integers(0, 2)) + serialize(m) for m in messages)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    parser = StreamParser()
    got: list[Request | Response] = []
    start = 0
    for cut in [*cuts, len(stream)]:
        got += parser.feed(stream[start:cut])
        start = cut
    assert len(got) == len(messages) and all(map(_same, got, messages))


def _uas() -> AnsweringUas:
    return AnsweringUas(contact="sip:percl@127.0.0.1:5060",
                        media=lambda call_id: LocalMedia("127.0.0.1", 40000, "1"))


@given(st.sampled_from(sorted({**ACCEPTED, **INVALID})), st.data())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fuzz_the_uas_never_raises_and_answers_garbage_with_400(name: str,
                                                                data: st.DataObject) -> None:
    table = ACCEPTED if name in ACCEPTED else INVALID
    raw = _mutate(data, bytearray(wire(table[name])))
    uas = _uas()
    out = uas.receive(raw, ("127.0.0.1", 5999), 0.0) + uas.on_time(100.0)
    answers = [parse_message(o.data) for o in out]
    assert all(isinstance(a, Response) for a in answers)
    try:
        parse_message(raw)
    except ParseError:  # unparsable: every answer (if any: a request can be told) is a 400
        assert all(isinstance(a, Response) and a.status == 400 for a in answers)
