"""SIP messages (RFC 3261 section 7 and 25): parse bytes into typed values, serialise them back.

Why the parser is strict where it is and lenient where it is: a UAS must answer garbage with a 400
and must never crash or hang on it, so every header the core relies on (Via, From, To, Call-ID,
CSeq, Max-Forwards, Content-Length, Contact, Route, Record-Route, Expires) is parsed while the
message is read, and a message that breaks their grammar raises `ParseError` then, not later deep
inside a transaction. Headers the core does not use are kept as text (unfolded, in order) and are
never a reason to refuse a message: RFC 4475's "valid" torture messages, with their folding, odd
spacing, compact forms, escapes and unknown headers, all parse.

Text is decoded as UTF-8 with `surrogateescape`, so any bytes (a NUL inside a quoted display name,
Latin-1 from an old phone) survive a parse and serialise unchanged.

Framing: a datagram holds one message; its Content-Length may be missing (the body is the rest)
or shorter than the rest (the extra octets are ignored, RFC 3261 18.3), never longer. A stream
(TCP, TLS) is cut into messages by `StreamParser`, which needs Content-Length on every message.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property

MAX_MESSAGE_BYTES = 65_535
"""Largest message accepted (a UDP datagram's payload at most); a stream message too."""
MAX_HEADERS = 256
"""Most header lines (after unfolding) a message may carry."""
MAX_CSEQ = 2**31 - 1
MAX_DELTA_SECONDS = 2**32 - 1
MAX_FORWARDS_LIMIT = 255


class ParseError(ValueError):
    """The bytes are not a SIP message percl accepts; a UAS answers a request with 400."""


# Compact forms (RFC 3261 7.3.3 and the registry) and the spelling percl writes headers in.
COMPACT = {
    "i": "Call-ID", "m": "Contact", "e": "Content-Encoding", "l": "Content-Length",
    "c": "Content-Type", "f": "From", "s": "Subject", "k": "Supported", "t": "To", "v": "Via",
    "o": "Event", "r": "Refer-To", "u": "Allow-Events", "b": "Referred-By", "x": "Session-Expires",
    "a": "Accept-Contact", "j": "Reject-Contact", "d": "Request-Disposition",
}
_CANONICAL = {name.lower(): name for name in (
    "Via", "From", "To", "Call-ID", "CSeq", "Contact", "Route", "Record-Route", "Max-Forwards",
    "Content-Length", "Content-Type", "Content-Encoding", "Expires", "Allow", "Supported",
    "Require", "Proxy-Require", "Unsupported", "Accept", "User-Agent", "Server", "Subject",
    "Date", "Retry-After", "Warning", "Authorization", "Proxy-Authorization",
    "WWW-Authenticate", "Proxy-Authenticate", "Event", "Refer-To", "Allow-Events", "Referred-By",
    "Session-Expires", "Min-SE", "P-Asserted-Identity", "Reason", "RSeq", "RAck",
    "Accept-Contact", "Reject-Contact", "Request-Disposition", "Min-Expires", "Timestamp",
    "Organization", "Priority", "Call-Info", "Alert-Info", "Error-Info", "In-Reply-To",
    "Content-Disposition", "Content-Language", "MIME-Version", "Reply-To", "Accept-Encoding",
    "Accept-Language",
)}
# Headers that may hold a comma-separated list (RFC 3261 7.3.1); others are one value per line.
_LIST_HEADERS = frozenset(name.lower() for name in (
    "Via", "Contact", "Route", "Record-Route", "Allow", "Supported", "Require", "Proxy-Require",
    "Unsupported", "Accept", "Accept-Encoding", "Accept-Language", "Allow-Events", "Warning",
    "Content-Encoding", "Content-Language", "In-Reply-To", "Call-Info", "Alert-Info",
    "Error-Info", "P-Asserted-Identity", "Reason",
))
# Headers that must appear once at most: a second one is a 400 (RFC 4475 multi01, mcl01).
_SINGLE_HEADERS = frozenset(
    name.lower() for name in ("From", "To", "Call-ID", "CSeq", "Max-Forwards", "Content-Length")
)

_TOKEN_CHARS = r"A-Za-z0-9\-.!%*_+`'~"
_TOKEN = re.compile(rf"[{_TOKEN_CHARS}]+")
_TOKEN_FULL = re.compile(rf"[{_TOKEN_CHARS}]+\Z")
_HEADER_NAME = re.compile(rf"([{_TOKEN_CHARS}]+)[ \t]*:")
_DIGITS = re.compile(r"[0-9]+\Z")
_HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9\-.]*[A-Za-z0-9.])?\Z|[A-Za-z0-9]\Z")
_IPV6 = re.compile(r"\[[0-9A-Fa-f:.]+\]\Z")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*\Z")
_CALL_ID = re.compile(r"[^\s@]+(?:@[^\s@]+)?\Z")
_LWS = " \t"
_URI_FORBIDDEN = re.compile(r'[ \t\r\n<>"]')
_SIP_VERSION = "SIP/2.0"

Params = tuple[tuple[str, str | None], ...]


@functools.lru_cache(maxsize=512)  # bounded: names come from the wire
def canonical_name(name: str) -> str:
    """The spelling percl uses for a header name: compact forms expanded, known names cased."""
    lowered = name.lower()
    full = COMPACT.get(lowered)
    if full is not None:
        return full
    return _CANONICAL.get(lowered, name)


def _param(params: Params, name: str) -> str | None:
    lowered = name.lower()
    for key, value in params:
        if key.lower() == lowered:
            return value if value is not None else ""
    return None


def _format_params(params: Params) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params)


# ---------------------------------------------------------------------------------------- URIs


@dataclass(frozen=True, slots=True)
class Uri:
    """A SIP or SIPS URI (RFC 3261 19.1), or any other absolute URI kept opaque (tel:, unknown).

    `user` and `password` keep their %-escapes as received (so the URI serialises back the same);
    `params` are the URI parameters in order; `headers` is the raw text after '?', if any.
    """

    scheme: str
    host: str = ""
    user: str | None = None
    password: str | None = None
    port: int | None = None
    params: Params = ()
    headers: str = ""
    opaque: str = ""

    @property
    def is_sip(self) -> bool:
        return self.scheme.lower() in ("sip", "sips")

    def param(self, name: str) -> str | None:
        """The value of a URI parameter ('' for a flag such as `lr`), None when absent."""
        return _param(self.params, name)

    def __str__(self) -> str:
        if not self.is_sip:
            return f"{self.scheme}:{self.opaque}"
        userinfo = ""
        if self.user is not None:
            userinfo = self.user + (f":{self.password}" if self.password is not None else "") + "@"
        port = f":{self.port}" if self.port is not None else ""
        headers = f"?{self.headers}" if self.headers else ""
        return f"{self.scheme}:{userinfo}{self.host}{port}{_format_params(self.params)}{headers}"


def parse_uri(text: str) -> Uri:
    """Parse an absolute URI; SIP and SIPS URIs into their parts. Raises ParseError."""
    scheme, colon, rest = text.partition(":")
    if not colon or not _SCHEME.match(scheme) or not rest:
        raise ParseError(f"not a URI: {text!r}")
    if _URI_FORBIDDEN.search(rest):
        raise ParseError(f"URI contains white space, quotes or angle brackets: {text!r}")
    if scheme.lower() not in ("sip", "sips"):
        return Uri(scheme=scheme, opaque=rest)
    # The user part may hold '?', ';' and ':' (RFC 4475 intmeth), the rest may not hold '@'.
    user: str | None = None
    password: str | None = None
    if "@" in rest:
        userinfo, _, rest = rest.rpartition("@")
        user, has_password, pw = userinfo.partition(":")
        password = pw if has_password else None
        if not user:
            raise ParseError(f"empty user part in {text!r}")
    rest, _, headers = rest.partition("?")
    hostport, *raw_params = rest.split(";")
    host, port = _parse_hostport(hostport, text)
    params = tuple(_split_param(p, text) for p in raw_params)
    return Uri(scheme=scheme, host=host, user=user, password=password, port=port,
               params=params, headers=headers)


def _parse_hostport(hostport: str, context: str) -> tuple[str, int | None]:
    if hostport.startswith("["):
        end = hostport.find("]")
        host, tail = hostport[: end + 1], hostport[end + 1:]
        if end < 0 or not _IPV6.match(host):
            raise ParseError(f"bad IPv6 reference in {context!r}")
    else:
        host, _, port_text = hostport.partition(":")
        tail = ":" + port_text if _ else ""
        if not _HOSTNAME.match(host):
            raise ParseError(f"bad host {host!r} in {context!r}")
    if not tail:
        return host, None
    if not tail.startswith(":") or not _DIGITS.match(tail[1:]) or int(tail[1:]) > 65535:
        raise ParseError(f"bad port in {context!r}")
    return host, int(tail[1:])


def _split_param(raw: str, context: str) -> tuple[str, str | None]:
    name, eq, value = raw.partition("=")
    name, value = name.strip(_LWS), value.strip(_LWS)
    if not name or not _TOKEN_FULL.match(name):
        raise ParseError(f"empty or bad parameter name in {context!r}")
    if eq and not value:
        raise ParseError(f"parameter {name!r} has '=' but no value in {context!r}")
    return name, (value if eq else None)


# ------------------------------------------------------------------- name-addr and header params


@dataclass(frozen=True, slots=True)
class NameAddr:
    """From, To, Contact, Route, Record-Route: an optional display name, a URI, header params."""

    uri: Uri
    display: str | None = None
    params: Params = ()

    @property
    def tag(self) -> str | None:
        return self.param("tag")

    def param(self, name: str) -> str | None:
        return _param(self.params, name)

    def with_param(self, name: str, value: str | None) -> NameAddr:
        kept = tuple(p for p in self.params if p[0].lower() != name.lower())
        return replace(self, params=(*kept, (name, value)))

    def __str__(self) -> str:
        display = ""
        if self.display is not None:
            escaped = self.display.replace("\\", "\\\\").replace('"', '\\"')
            display = f'"{escaped}" '
        return f"{display}<{self.uri}>{_format_params(self.params)}"


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """The unescaped content of the quoted string starting at text[start] == '"', and its end."""
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text):
                break
            out.append(text[i + 1])
            i += 2
            continue
        if ch == '"':
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise ParseError(f"unterminated quoted string in {text!r}")


def _parse_params(text: str, context: str) -> Params:
    """`;name[=value]` pairs; values may be quoted strings (kept with their quotes)."""
    params: list[tuple[str, str | None]] = []
    i = 0
    text = text.strip(_LWS)
    while i < len(text):
        if text[i] != ";":
            raise ParseError(f"expected ';' in parameters of {context!r}")
        j = i + 1
        value_start = -1
        while j < len(text) and text[j] != ";":
            if text[j] == '"':
                _, j = _read_quoted(text, j)
                continue
            if text[j] == "=" and value_start < 0:
                value_start = j
            j += 1
        raw = text[i + 1: j]
        params.append(_split_param(raw, context))
        value = params[-1][1]
        if value is not None and not value.startswith('"') and not _param_value_ok(value):
            raise ParseError(f"bad parameter value {value!r} in {context!r}")
        i = j
    return tuple(params)


def _param_value_ok(value: str) -> bool:
    # token, host (IPv6 references included) or anything else without separators in it
    return not any(ch in value for ch in " \t<>\",;?")


def parse_name_addr(text: str) -> NameAddr:
    """Parse a name-addr or addr-spec with header parameters (RFC 3261 20.10, 20.20, 20.39)."""
    text = text.strip(_LWS)
    if not text:
        raise ParseError("empty address")
    display: str | None = None
    rest = text
    if text.startswith('"'):
        display, end = _read_quoted(text, 0)
        rest = text[end:].lstrip(_LWS)
        if not rest.startswith("<"):
            raise ParseError(f"display name without <URI> in {text!r}")
    elif "<" in text:
        before, _, _ = text.partition("<")
        words = before.split()
        if any(not _TOKEN_FULL.match(word) for word in words):
            raise ParseError(f"display name must be tokens or a quoted string in {text!r}")
        display = " ".join(words) if words else None
        rest = text[len(before):]
    if rest.startswith("<"):
        end = rest.find(">")
        if end < 0:
            raise ParseError(f"'<' without '>' in {text!r}")
        return NameAddr(uri=parse_uri(rest[1:end]), display=display,
                        params=_parse_params(rest[end + 1:], text))
    spec, semi, params = rest.partition(";")
    if any(ch in spec for ch in "?,"):
        raise ParseError(f"a URI with '?' or ',' must be enclosed in <> in {text!r}")
    return NameAddr(uri=parse_uri(spec.strip(_LWS)), params=_parse_params(semi + params, text))


# ----------------------------------------------------------------------------------------- Via


@dataclass(frozen=True, slots=True)
class Via:
    """One Via value (RFC 3261 20.42): transport, sent-by host and port, params (branch, ...)."""

    transport: str
    host: str
    port: int | None = None
    params: Params = ()

    @property
    def branch(self) -> str | None:
        return self.param("branch")

    @property
    def rport(self) -> str | None:
        """'' when the flag is present without a value (ask for it), the port once filled in."""
        return self.param("rport")

    @property
    def received(self) -> str | None:
        return self.param("received")

    def param(self, name: str) -> str | None:
        return _param(self.params, name)

    def with_param(self, name: str, value: str | None) -> Via:
        kept = tuple(p for p in self.params if p[0].lower() != name.lower())
        return replace(self, params=(*kept, (name, value)))

    def __str__(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        return f"SIP/2.0/{self.transport} {self.host}{port}{_format_params(self.params)}"


_VIA = re.compile(
    r"SIP[ \t]*/[ \t]*2\.0[ \t]*/[ \t]*([A-Za-z0-9\-.!%*_+`'~]+)[ \t]+"
    r"(\[[0-9A-Fa-f:.]+\]|[^\s;:]+)(?:[ \t]*:[ \t]*([0-9]+))?[ \t]*(.*)\Z",
    re.IGNORECASE | re.DOTALL,
)


def parse_via(text: str) -> Via:
    match = _VIA.match(text.strip(_LWS))
    if match is None:
        raise ParseError(f"bad Via {text!r}")
    transport, host, port_text, params_text = match.groups()
    if not (_HOSTNAME.match(host) or _IPV6.match(host)):
        raise ParseError(f"bad Via host {host!r}")
    port = int(port_text) if port_text is not None else None
    if port is not None and port > 65535:
        raise ParseError(f"bad Via port in {text!r}")
    params = _parse_params(params_text, text)
    rport = _param(params, "rport")
    if rport and (not _DIGITS.match(rport) or len(rport) > 5 or int(rport) > 65535):
        raise ParseError(f"bad rport in {text!r}")
    return Via(transport=transport.upper(), host=host, port=port, params=params)


# ---------------------------------------------------------------------------------------- CSeq


@dataclass(frozen=True, slots=True)
class CSeq:
    number: int
    method: str

    def __str__(self) -> str:
        return f"{self.number} {self.method}"


def parse_cseq(text: str) -> CSeq:
    parts = text.split()
    if len(parts) != 2 or not _DIGITS.match(parts[0]) or not _TOKEN_FULL.match(parts[1]):
        raise ParseError(f"bad CSeq {text!r}")
    number = int(parts[0])
    if number > MAX_CSEQ:
        raise ParseError(f"CSeq number {parts[0]} is above 2**31 - 1")
    return CSeq(number, parts[1])


def _delta_seconds(text: str, what: str) -> int:
    text = text.strip(_LWS)
    if not _DIGITS.match(text) or len(text) > 10 or int(text) > MAX_DELTA_SECONDS:
        raise ParseError(f"{what} {text!r} is not delta-seconds (0..2**32-1)")
    return int(text)


# ------------------------------------------------------------------------------------- Headers


def split_list(value: str) -> list[str]:
    """Split a header value at commas outside quoted strings and <...> (RFC 3261 7.3.1)."""
    if '"' not in value and "<" not in value:
        return [part.strip(_LWS) for part in value.split(",")]
    parts: list[str] = []
    start = 0
    i = 0
    depth = 0
    while i < len(value):
        ch = value[i]
        if ch == '"':
            _, i = _read_quoted(value, i)
            continue
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            parts.append(value[start:i].strip(_LWS))
            start = i + 1
        i += 1
    parts.append(value[start:].strip(_LWS))
    return parts


@dataclass(frozen=True, slots=True)
class Headers:
    """Header fields in order, names in percl's spelling, values unfolded; lookups ignore case."""

    items: tuple[tuple[str, str], ...] = ()

    def get(self, name: str) -> str | None:
        """The first value of a header (a whole line, not split at commas), None when absent."""
        wanted = canonical_name(name).lower()
        for key, value in self.items:
            if key.lower() == wanted:
                return value
        return None

    def get_all(self, name: str) -> list[str]:
        """Every value of a header, list headers split at their commas, in order."""
        wanted = canonical_name(name).lower()
        values: list[str] = []
        for key, value in self.items:
            if key.lower() == wanted:
                values.extend(split_list(value) if wanted in _LIST_HEADERS else [value])
        return values

    def set(self, name: str, value: str) -> Headers:
        """A copy with every `name` line replaced by one line (in the first one's place)."""
        name = canonical_name(name)
        out: list[tuple[str, str]] = []
        placed = False
        for key, old in self.items:
            if key.lower() != name.lower():
                out.append((key, old))
            elif not placed:
                out.append((name, value))
                placed = True
        if not placed:
            out.append((name, value))
        return Headers(tuple(out))

    def add(self, name: str, value: str, *, first: bool = False) -> Headers:
        line = (canonical_name(name), value)
        return Headers((line, *self.items) if first else (*self.items, line))

    def remove(self, name: str) -> Headers:
        wanted = canonical_name(name).lower()
        return Headers(tuple(item for item in self.items if item[0].lower() != wanted))

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


# ------------------------------------------------------------------------------------ Messages


class _Fields:
    """Typed views of the headers the SIP core uses; parsed once per message, on first use."""

    headers: Headers

    @cached_property
    def vias(self) -> tuple[Via, ...]:
        return tuple(parse_via(v) for v in self.headers.get_all("Via"))

    @cached_property
    def from_(self) -> NameAddr:
        return parse_name_addr(self._required("From"))

    @cached_property
    def to(self) -> NameAddr:
        return parse_name_addr(self._required("To"))

    @cached_property
    def call_id(self) -> str:
        value = self._required("Call-ID").strip(_LWS)
        if not _CALL_ID.match(value):
            raise ParseError(f"bad Call-ID {value!r}")
        return value

    @cached_property
    def cseq(self) -> CSeq:
        return parse_cseq(self._required("CSeq"))

    @cached_property
    def max_forwards(self) -> int | None:
        value = self.headers.get("Max-Forwards")
        if value is None:
            return None
        value = value.strip(_LWS)
        if not _DIGITS.match(value) or len(value) > 4 or int(value) > MAX_FORWARDS_LIMIT:
            raise ParseError(f"bad Max-Forwards {value!r} (0..255)")
        return int(value)

    @cached_property
    def contacts(self) -> tuple[NameAddr, ...]:
        """Contact addresses; empty for none and for `Contact: *` (see `contact_star`)."""
        values = self.headers.get_all("Contact")
        if values == ["*"]:
            return ()
        contacts = tuple(parse_name_addr(v) for v in values)
        for contact in contacts:
            expires = contact.param("expires")
            if expires is not None:
                _delta_seconds(expires, "Contact expires")
        return contacts

    @property
    def contact_star(self) -> bool:
        return self.headers.get_all("Contact") == ["*"]

    @cached_property
    def routes(self) -> tuple[NameAddr, ...]:
        return tuple(parse_name_addr(v) for v in self.headers.get_all("Route"))

    @cached_property
    def record_routes(self) -> tuple[NameAddr, ...]:
        return tuple(parse_name_addr(v) for v in self.headers.get_all("Record-Route"))

    @cached_property
    def expires(self) -> int | None:
        value = self.headers.get("Expires")
        return None if value is None else _delta_seconds(value, "Expires")

    def _required(self, name: str) -> str:
        value = self.headers.get(name)
        if value is None:
            raise ParseError(f"missing {name} header")
        return value

    def _check(self) -> None:
        """Parse every core header now, so a bad one is a ParseError at the door."""
        if not self.vias:
            raise ParseError("missing Via header")
        for name in ("from_", "to", "call_id", "cseq", "max_forwards", "contacts", "routes",
                     "record_routes", "expires"):
            getattr(self, name)
        seen: set[str] = set()
        for key, value in self.headers:
            lowered = key.lower()
            if lowered in _SINGLE_HEADERS and lowered in seen:
                raise ParseError(f"{key} appears more than once")
            seen.add(lowered)
            _check_other(lowered, value)


def _check_other(lowered: str, value: str) -> None:
    """The few non-core headers whose grammar RFC 4475 expects a parser to enforce."""
    if lowered == "date" and not value.rstrip(_LWS).endswith("GMT"):
        raise ParseError(f"Date must be in GMT: {value!r}")
    if lowered == "retry-after":
        _delta_seconds(value.split("(")[0].split(";")[0], "Retry-After")
    if lowered == "warning":
        for item in split_list(value):
            code = item.split(" ", 1)[0]
            if len(code) != 3 or not _DIGITS.match(code):
                raise ParseError(f"Warning code must be three digits: {item!r}")


@dataclass(frozen=True)
class Request(_Fields):
    """A SIP request. Build one directly, or get one from `parse_message`."""

    method: str
    uri: Uri
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    def start_line(self) -> str:
        return f"{self.method} {self.uri} {_SIP_VERSION}"


@dataclass(frozen=True)
class Response(_Fields):
    """A SIP response. Build one directly, with `make_response`, or get one from `parse_message`."""

    status: int
    reason: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    def start_line(self) -> str:
        return f"{_SIP_VERSION} {self.status} {self.reason}"


Message = Request | Response


# ------------------------------------------------------------------------------------- Parsing


def _split_head(data: bytes) -> tuple[bytes, bytes]:
    for sep in (b"\r\n\r\n", b"\n\n"):
        end = data.find(sep)
        if end >= 0:
            return data[:end], data[end + len(sep):]
    # No blank line: a datagram of headers alone (a body-less message may end after its last CRLF).
    return data.rstrip(b"\r\n"), b""


def _unfold(head: str) -> list[str]:
    lines: list[str] = []
    for line in re.split(r"\r\n|\n", head):
        if line[:1] in (" ", "\t") and lines:
            lines[-1] = lines[-1].rstrip(_LWS) + " " + line.strip(_LWS)
        elif line[:1] in (" ", "\t"):
            raise ParseError("message starts with white space")
        else:
            lines.append(line)
        if len(lines) > MAX_HEADERS + 1:
            raise ParseError(f"more than {MAX_HEADERS} header lines")
    return lines


def _parse_header_line(line: str) -> tuple[str, str]:
    match = _HEADER_NAME.match(line)
    if match is None:
        raise ParseError(f"bad header line {line[:80]!r}")
    return canonical_name(match.group(1)), line[match.end():].strip(_LWS)


def _parse_start(line: str) -> Request | Response:
    if line.startswith(_SIP_VERSION + " "):
        parts = line.split(" ", 2)
        code = parts[1]
        if len(code) != 3 or not _DIGITS.match(code) or not 100 <= int(code) <= 699:
            raise ParseError(f"bad status code {code[:20]!r}")
        return Response(status=int(code), reason=parts[2] if len(parts) == 3 else "")
    parts = line.split(" ")
    if len(parts) != 3 or not all(parts):
        raise ParseError(f"bad request line {line[:80]!r} (Method SP Request-URI SP SIP/2.0)")
    method, uri_text, version = parts
    if version.upper() != _SIP_VERSION:
        raise ParseError(f"unsupported SIP version {version[:20]!r}")
    if not _TOKEN_FULL.match(method):
        raise ParseError(f"bad method {method[:40]!r}")
    uri = parse_uri(uri_text)
    if uri.headers:
        raise ParseError("a Request-URI must not carry headers ('?')")
    return Request(method=method, uri=uri)


def _content_length(headers: Headers) -> int | None:
    value = headers.get("Content-Length")
    if value is None:
        return None
    value = value.strip(_LWS)
    if not _DIGITS.match(value) or len(value) > 7 or int(value) > MAX_MESSAGE_BYTES:
        raise ParseError(f"bad Content-Length {value[:20]!r}")
    return int(value)


def parse_head(head: bytes) -> Request | Response:
    """Parse a start line and headers (no body); checks every core header. Raises ParseError."""
    lines = _unfold(head.decode("utf-8", "surrogateescape"))
    if not lines or not lines[0]:
        raise ParseError("empty message")
    message = _parse_start(lines[0])
    headers = Headers(tuple(_parse_header_line(line) for line in lines[1:]))
    message = replace(message, headers=headers)
    message._check()
    if isinstance(message, Request) and message.cseq.method != message.method:
        raise ParseError(f"CSeq method {message.cseq.method!r} is not the request's {message.method!r}")
    return message


def parse_message(data: bytes) -> Request | Response:
    """Parse one message from a datagram (UDP). Raises ParseError, never anything else."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise ParseError(f"message larger than {MAX_MESSAGE_BYTES} bytes")
    head, rest = _split_head(data.lstrip(b"\r\n"))
    message = parse_head(head)
    length = _content_length(message.headers)
    if length is None:
        return replace(message, body=rest)
    if length > len(rest):
        raise ParseError(f"Content-Length {length} is more than the {len(rest)} bytes received")
    return replace(message, body=rest[:length])


class StreamParser:
    """Cuts a byte stream (TCP, TLS) into messages by Content-Length (RFC 3261 18.3).

    Feed it what the socket read; it returns the messages completed so far. After a ParseError
    the stream is unusable (framing is lost): close the connection.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Request | Response]:
        self._buffer += data
        messages: list[Request | Response] = []
        while True:
            while self._buffer[:2] == b"\r\n":  # keep-alive CRLFs between messages
                del self._buffer[:2]
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > MAX_MESSAGE_BYTES:
                    raise ParseError(f"headers longer than {MAX_MESSAGE_BYTES} bytes")
                return messages
            message = parse_head(bytes(self._buffer[:end]))
            length = _content_length(message.headers)
            if length is None:
                raise ParseError("Content-Length is required on a stream transport")
            if len(self._buffer) < end + 4 + length:
                return messages
            body = bytes(self._buffer[end + 4: end + 4 + length])
            del self._buffer[: end + 4 + length]
            messages.append(replace(message, body=body))


# --------------------------------------------------------------------------------- Serialising


def serialize(message: Request | Response) -> bytes:
    """The message on the wire: its start line, headers, Content-Length set to the body's size."""
    headers = message.headers.set("Content-Length", str(len(message.body)))
    lines = [message.start_line(), *(f"{name}: {value}" for name, value in headers)]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")
    return head + message.body


def make_response(request: Request, status: int, reason: str, *, to_tag: str | None = None,
                  extra: tuple[tuple[str, str], ...] = (), body: bytes = b"") -> Response:
    """A response to `request` (RFC 3261 8.2.6): Via, From, To, Call-ID and CSeq copied.

    `to_tag` is added to To when it has none (every response but 100 needs one from a UAS).
    """
    copied = tuple(
        (name, value) for name, value in request.headers
        if name in ("Via", "From", "To", "Call-ID", "CSeq", "Record-Route")
    )
    headers = Headers(copied)
    if to_tag is not None and request.to.tag is None:
        headers = headers.set("To", str(request.to.with_param("tag", to_tag)))
    for name, value in extra:
        headers = headers.add(name, value)
    if status == 100 or status >= 300:
        headers = headers.remove("Record-Route")
    return Response(status=status, reason=reason, headers=headers, body=body)
