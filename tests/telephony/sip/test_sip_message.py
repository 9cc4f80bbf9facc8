"""SIP message parsing and serialising: RFC 4475 torture messages, framing, round trips, fuzz."""

from __future__ import annotations

import contextlib
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from torture import APPLICATION_VALID, INVALID, VALID, wire

from percl.telephony.sip.message import (
    MAX_HEADERS,
    MAX_MESSAGE_BYTES,
    Headers,
    NameAddr,
    ParseError,
    Request,
    Response,
    StreamParser,
    Uri,
    make_response,
    parse_message,
    parse_name_addr,
    parse_uri,
    parse_via,
    serialize,
)


@pytest.mark.parametrize("name", sorted(VALID))
def test_rfc4475_valid_messages_parse(name: str) -> None:
    message = parse_message(wire(VALID[name]))
    assert message.vias and message.call_id and message.cseq.number >= 0
    again = parse_message(serialize(message))
    assert again == message


@pytest.mark.parametrize("name", sorted(INVALID))
def test_rfc4475_invalid_messages_are_refused(name: str) -> None:
    with pytest.raises(ParseError):
        parse_message(wire(INVALID[name]))


def test_wsinv_reads_through_folding_spacing_and_compact_forms() -> None:
    msg = parse_message(wire(VALID["wsinv"]))
    assert isinstance(msg, Request)
    assert msg.method == "INVITE" and msg.uri.user == "vivekg"
    assert msg.uri.param("unknownparam") == ""
    assert msg.to.tag == "1918181833n" and msg.from_.tag == "98asjd8"
    assert msg.from_.display == 'J Rosenberg \\"'
    assert msg.max_forwards == 68 and msg.cseq.number == 9 and msg.cseq.method == "INVITE"
    assert [(v.transport, v.host, v.branch) for v in msg.vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    assert msg.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert msg.headers.get("Subject") == ""
    (contact,) = msg.contacts
    assert contact.display == 'Quoted string ""' and contact.param("q") == "0.33"
    assert contact.param("secondparam") == ""
    (route,) = msg.routes
    assert route.uri.param("lr") == "" and route.uri.host == "services.example.com"
    assert len(msg.body) == 150 and msg.body.startswith(b"v=0\r\n")


def test_intmeth_keeps_unusual_characters_and_bytes() -> None:
    msg = parse_message(wire(VALID["intmeth"]))
    assert isinstance(msg, Request)
    assert msg.method == "!interesting-Method0123456789_*+`.%indeed'~"
    assert msg.uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert msg.uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert msg.to.display is not None and "NUL:\x00" in msg.to.display
    assert msg.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert serialize(msg).count(b"\x00") == 1


def test_uri_parts_escapes_and_user_params() -> None:
    assert parse_message(wire(VALID["semiuri"])).uri == Uri(  # type: ignore[union-attr]
        scheme="sip", user="user;par=u%40example.net", host="example.com")
    contact = parse_message(wire(VALID["esc01"])).contacts[0]
    assert contact.uri.user == "cal%6Cer"
    assert contact.uri.params == (("%6C%72", None), ("n%61me", "v%61lue%25%34%31"))
    uri = parse_uri("sips:alice:pw@[2001:db8::10]:5061;transport=tcp;lr?subject=x")
    assert (uri.scheme, uri.user, uri.password, uri.host, uri.port) == (
        "sips", "alice", "pw", "[2001:db8::10]", 5061)
    assert uri.param("transport") == "tcp" and uri.headers == "subject=x"
    assert str(uri) == "sips:alice:pw@[2001:db8::10]:5061;transport=tcp;lr?subject=x"
    assert parse_uri("tel:+15551234567;phone-context=x").opaque == "+15551234567;phone-context=x"
    for bad in ("sip:", "sip:host:99999", "sip:a b@host", "nocolon", "sip:@host", "sip:ho_st"):
        with pytest.raises(ParseError):
            parse_uri(bad)


def test_via_rport_received_and_ipv6() -> None:
    via = parse_via("SIP/2.0/udp 10.0.0.1:5070;rport;branch=z9hG4bKabc")
    assert via.transport == "UDP" and via.port == 5070 and via.rport == "" and via.received is None
    filled = via.with_param("received", "192.0.2.9").with_param("rport", "40000")
    assert str(filled) == "SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bKabc;received=192.0.2.9;rport=40000"
    assert parse_via(str(filled)) == filled
    v6 = parse_via("SIP/2.0/TCP [2001:db8::9:1]:5060;branch=z9hG4bKx;received=2001:db8::9:255")
    assert v6.host == "[2001:db8::9:1]" and v6.received == "2001:db8::9:255"
    for bad in ("SIP/2.0/UDP", "SIP/3.0/UDP h", "SIP/2.0/UDP h;rport=abc", "SIP/2.0/UDP h:70000"):
        with pytest.raises(ParseError):
            parse_via(bad)


def test_name_addr_forms() -> None:
    plain = parse_name_addr("sip:bob@example.com;tag=abc")
    assert plain.display is None and plain.tag == "abc" and plain.uri.params == ()
    named = parse_name_addr('Alice Smith <sip:alice@example.com;transport=udp>;tag=9')
    assert named.display == "Alice Smith" and named.uri.param("transport") == "udp"
    assert str(named) == '"Alice Smith" <sip:alice@example.com;transport=udp>;tag=9'
    assert parse_name_addr(str(named)) == named
    assert parse_name_addr("<sip:x@y>;+sip.instance=\"<urn:uuid:1>\"").param(
        "+sip.instance") == '"<urn:uuid:1>"'


def test_multi_value_headers_split_at_commas_outside_quotes_and_brackets() -> None:
    msg = parse_message(wire(VALID["semiuri"]))
    assert msg.headers.get_all("Accept") == [
        "application/sdp", "application/pkcs7-mime", "multipart/mixed", "multipart/signed",
        "message/sip", "message/sipfrag"]
    headers = Headers((("Record-Route", '<sip:p1;lr>, "A, B" <sip:p2;lr>'),
                       ("Record-Route", "<sip:p3;lr>")))
    assert headers.get_all("Record-Route") == ["<sip:p1;lr>", '"A, B" <sip:p2;lr>', "<sip:p3;lr>"]


def test_compact_and_case_insensitive_names() -> None:
    msg = parse_message(wire(VALID["longreq"]))
    assert len(msg.vias) == 34 and msg.vias[0].host == "sip33.example.com"
    assert msg.headers.get("content-length") == msg.headers.get("l") == "150"
    assert msg.from_.uri.user is not None and msg.from_.uri.user.startswith("amazingly")


def test_datagram_framing_ignores_trailing_octets_and_refuses_short_bodies() -> None:
    msg = parse_message(wire(VALID["dblreq"]))
    assert isinstance(msg, Request) and msg.method == "REGISTER" and msg.body == b""
    missing = wire(VALID["lwsdisp"]).replace(b"l: 0\r\n", b"")
    assert parse_message(missing + b"body").body == b"body"


def test_stream_parser_frames_by_content_length_across_chunks() -> None:
    one = serialize(parse_message(wire(VALID["esc01"])))
    two = serialize(parse_message(wire(VALID["lwsdisp"])))
    stream = b"\r\n\r\n" + one + two
    parser = StreamParser()
    got: list[Request | Response] = []
    for i in range(0, len(stream), 7):
        got.extend(parser.feed(stream[i: i + 7]))
    assert [m.call_id for m in got] == [
        "esc01.239409asdfakjkn23onasd0-3234", "lwsdisp.1234abcd@funky.example.com"]
    assert len(got[0].body) == 150
    with pytest.raises(ParseError, match="Content-Length is required"):
        StreamParser().feed(wire(VALID["lwsdisp"]).replace(b"l: 0\r\n", b""))


def test_limits() -> None:
    with pytest.raises(ParseError, match="larger than"):
        parse_message(b"OPTIONS sip:a@b SIP/2.0\r\n" + b"X: y\r\n" * (MAX_MESSAGE_BYTES // 6))
    many = wire(VALID["lwsdisp"]).replace(b"l: 0", b"X: 1\r\n" * MAX_HEADERS + b"l: 0")
    with pytest.raises(ParseError, match="header lines"):
        parse_message(many)
    with pytest.raises(ParseError, match="headers longer"):
        StreamParser().feed(b"OPTIONS sip:a@b SIP/2.0\r\n" + b"X" * (MAX_MESSAGE_BYTES + 1))


def test_make_response_copies_dialog_headers_and_adds_a_to_tag() -> None:
    invite = parse_message(wire(VALID["wsinv"]))
    assert isinstance(invite, Request)
    ok = make_response(invite, 200, "OK", to_tag="xyz", extra=(("Contact", "<sip:me@h>"),))
    assert ok.vias == invite.vias and ok.call_id == invite.call_id and ok.cseq == invite.cseq
    assert ok.to.tag == "1918181833n"  # a To tag already there is kept
    options = parse_message(wire(VALID["semiuri"]))
    assert isinstance(options, Request)
    reply = make_response(options, 486, "Busy Here", to_tag="t1")
    wire_reply = parse_message(serialize(reply))
    assert isinstance(wire_reply, Response)
    assert wire_reply.status == 486 and wire_reply.to.tag == "t1"
    assert wire_reply.headers.get("Content-Length") == "0"


# ----------------------------------------------------------------------------- property tests

_token = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~",
                 min_size=1, max_size=12)
_host = st.from_regex(r"[a-z][a-z0-9]{0,8}(\.[a-z][a-z0-9]{0,8}){0,2}", fullmatch=True)


@st.composite
def requests(draw: st.DrawFn) -> Request:
    method = draw(_token)
    uri = Uri(scheme="sip", user=draw(st.none() | _token.filter(lambda t: ":" not in t)),
              host=draw(_host), port=draw(st.none() | st.integers(1, 65535)))
    via = f"SIP/2.0/UDP {draw(_host)};branch=z9hG4bK{draw(_token)}"
    frm = NameAddr(uri=Uri(scheme="sip", host=draw(_host)), display=draw(st.none() | st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=10)),
        params=(("tag", draw(_token)),))
    headers = Headers((
        ("Via", via), ("From", str(frm)), ("To", f"<sip:{draw(_host)}>"),
        ("Call-ID", draw(_token)), ("CSeq", f"{draw(st.integers(0, 2**31 - 1))} {method}"),
        ("Max-Forwards", str(draw(st.integers(0, 255)))),
        *((draw(_token.map(lambda t: "X-" + t)), draw(st.text(
            alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)).strip())
          for _ in range(draw(st.integers(0, 3)))),
    ))
    return Request(method=method, uri=uri, headers=headers, body=draw(st.binary(max_size=64)))


@given(requests())
@settings(max_examples=200, deadline=None)
def test_round_trip(request: Request) -> None:
    wire_bytes = serialize(request)
    parsed = parse_message(wire_bytes)
    assert isinstance(parsed, Request)
    assert (parsed.method, parsed.uri, parsed.body) == (request.method, request.uri, request.body)
    assert parsed.from_ == request.from_ and parsed.cseq == request.cseq
    assert serialize(parsed) == wire_bytes


def _parse_or_refuse(data: bytes) -> None:
    start = time.perf_counter()
    with contextlib.suppress(ParseError):
        parse_message(data)
    assert time.perf_counter() - start < 1.0, "parsing took more than a second"


@given(st.binary(max_size=2048))
@settings(max_examples=300, deadline=None)
def test_fuzz_random_bytes_only_raise_parse_error(data: bytes) -> None:
    _parse_or_refuse(data)


@given(st.sampled_from(sorted(VALID)), st.data())
@settings(max_examples=300, deadline=None)
def test_fuzz_mutated_torture_messages_only_raise_parse_error(name: str, data: st.DataObject) -> None:
    raw = bytearray(wire(VALID[name]))
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        choice = data.draw(st.integers(0, 2))
        if choice == 0:
            raw[pos] = data.draw(st.integers(0, 255))
        elif choice == 1:
            del raw[pos]
        else:
            raw[pos:pos] = data.draw(st.sampled_from([b";", b",", b'"', b"<", b">", b":", b"\r\n",
                                                      b" ", b"\r\n ", b"@", b"%", b"="]))
    _parse_or_refuse(bytes(raw))
    parser = StreamParser()
    with contextlib.suppress(ParseError):
        parser.feed(bytes(raw))


def test_pathological_inputs_are_fast() -> None:
    for data in (b"INVITE sip:a@b SIP/2.0\r\nTo: " + b'"' * 60000,
                 b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h" + b";a" * 30000,
                 b"INVITE sip:a@b SIP/2.0\r\nContact: " + b"<sip:a@b>," * 6000,
                 b"\r\n" * 30000):
        _parse_or_refuse(data)


@pytest.mark.parametrize("name", sorted(APPLICATION_VALID))
def test_rfc4475_application_layer_cases_parse(name: str) -> None:
    message = parse_message(wire(APPLICATION_VALID[name]))
    assert parse_message(serialize(message)) == message


def test_rfc4475_application_layer_details() -> None:
    unkscm = parse_message(wire(APPLICATION_VALID["unkscm"]))
    assert isinstance(unkscm, Request) and not unkscm.uri.is_sip  # a UAS answers 416
    assert unkscm.uri.opaque == "totallyopaquecontent"
    assert parse_message(wire(APPLICATION_VALID["zeromf"])).max_forwards == 0
    # Without <>, ;unknownparam belongs to the Contact header, inside <> to the URI.
    (c1,) = parse_message(wire(APPLICATION_VALID["cparam01"])).contacts
    (c2,) = parse_message(wire(APPLICATION_VALID["cparam02"])).contacts
    assert c1.param("unknownparam") == "" and c1.uri.params == ()
    assert c2.params == () and c2.uri.param("unknownparam") == ""
    (escaped,) = parse_message(wire(APPLICATION_VALID["regescrt"])).contacts
    assert escaped.uri.headers == "Route=%3Csip:sip.example.com%3E"
    old = parse_message(wire(APPLICATION_VALID["inv2543"]))
    assert old.vias[0].branch is None and old.from_.tag is None and old.max_forwards is None
