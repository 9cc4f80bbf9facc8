"""SDP (RFC 4566) for audio calls and the offer/answer rules (RFC 3264) percl needs.

percl speaks G.711 only (PCMU, PCMA at 8 kHz, 20 ms packets) plus RFC 4733 telephone-events, so
negotiation is a choice, not a search: take the first audio stream of the offer over plain RTP
that lists PCMU or PCMA (in the offerer's order of preference), answer it with that one codec and
telephone-event if offered, and reject every other stream with port 0 (RFC 3264 6). An offer with
no such stream cannot be done: `SdpRefused` carries the 488 the UAS answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

MAX_SDP_BYTES = 16_384
MAX_SDP_LINES = 512


class SdpError(ValueError):
    """The body is not SDP percl can read (the INVITE gets a 400)."""


class SdpRefused(Exception):
    """A well-formed offer percl cannot accept: answer with `status` (488 Not Acceptable Here)."""

    status = 488

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Direction(StrEnum):
    SENDRECV = "sendrecv"
    SENDONLY = "sendonly"
    RECVONLY = "recvonly"
    INACTIVE = "inactive"

    def answer(self) -> Direction:
        """The direction that answers this offered one (RFC 3264 6.1)."""
        return _REVERSE[self]


_REVERSE = {
    Direction.SENDRECV: Direction.SENDRECV, Direction.SENDONLY: Direction.RECVONLY,
    Direction.RECVONLY: Direction.SENDONLY, Direction.INACTIVE: Direction.INACTIVE,
}

Attribute = tuple[str, str | None]


@dataclass(frozen=True, slots=True)
class Origin:
    username: str
    session_id: str
    version: int
    address: str
    addrtype: str = "IP4"

    def __str__(self) -> str:
        return f"{self.username} {self.session_id} {self.version} IN {self.addrtype} {self.address}"


@dataclass(frozen=True, slots=True)
class Media:
    """One m= section: `formats` are payload type numbers as text, in preference order."""

    kind: str
    port: int
    proto: str
    formats: tuple[str, ...]
    connection: str | None = None
    attributes: tuple[Attribute, ...] = ()
    bandwidths: tuple[str, ...] = ()

    def attribute(self, name: str) -> list[str]:
        return [value or "" for key, value in self.attributes if key == name]

    @property
    def direction(self) -> Direction | None:
        for key, _ in self.attributes:
            if key in Direction.__members__.values():
                return Direction(key)
        return None

    def rtpmap(self) -> dict[str, tuple[str, int]]:
        """Payload type -> (encoding name upper-cased, clock rate), static types included."""
        out = {pt: _STATIC[pt] for pt in self.formats if pt in _STATIC}
        for value in self.attribute("rtpmap"):
            pt, _, rest = value.partition(" ")
            name, _, clock = rest.partition("/")
            clock = clock.split("/")[0]
            if pt in self.formats and _is_digits(clock):
                out[pt] = (name.upper(), int(clock))
        return out


_STATIC = {"0": ("PCMU", 8000), "8": ("PCMA", 8000)}


@dataclass(frozen=True, slots=True)
class SessionDescription:
    origin: Origin
    name: str = "-"
    connection: str | None = None
    media: tuple[Media, ...] = ()
    attributes: tuple[Attribute, ...] = ()
    bandwidths: tuple[str, ...] = ()
    timing: str = "0 0"
    addrtype: str = "IP4"

    def address_for(self, media: Media) -> str | None:
        return media.connection or self.connection


def _is_digits(text: str) -> bool:
    # str.isdigit() accepts '²' and other digits int() refuses
    return 0 < len(text) <= 20 and text.isascii() and text.isdigit()


def _connection_address(value: str) -> tuple[str, str]:
    parts = value.split()
    if len(parts) != 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
        raise SdpError(f"bad c= line {value!r}")
    return parts[1], parts[2].split("/")[0]


def _parse_attribute(value: str) -> Attribute:
    name, colon, rest = value.partition(":")
    return (name, rest if colon else None)


def _parse_media(value: str) -> Media:
    parts = value.split()
    if len(parts) < 4:
        raise SdpError(f"bad m= line {value!r}")
    port_text = parts[1].split("/")[0]
    if not _is_digits(port_text) or int(port_text) > 65535:
        raise SdpError(f"bad port in m= line {value!r}")
    return Media(kind=parts[0], port=int(port_text), proto=parts[2], formats=tuple(parts[3:]))


def _parse_origin(value: str) -> Origin:
    parts = value.split()
    if len(parts) != 6 or parts[3] != "IN" or not _is_digits(parts[2]):
        raise SdpError(f"bad o= line {value!r}")
    return Origin(username=parts[0], session_id=parts[1], version=int(parts[2]),
                  addrtype=parts[4], address=parts[5])


@dataclass(slots=True)
class _Session:
    """The session-level lines read so far (mutable while parsing, then frozen)."""

    name: str = "-"
    connection: str | None = None
    addrtype: str | None = None
    timing: str = "0 0"
    attributes: list[Attribute] = field(default_factory=list)
    bandwidths: list[str] = field(default_factory=list)

    def line(self, kind: str, value: str) -> None:
        if kind == "s":
            self.name = value or "-"
        elif kind == "c":
            self.addrtype, self.connection = _connection_address(value)
        elif kind == "a":
            self.attributes.append(_parse_attribute(value))
        elif kind == "b":
            self.bandwidths.append(value)
        elif kind == "t":
            self.timing = value


def parse_sdp(body: bytes) -> SessionDescription:
    """Parse an SDP body. Raises SdpError for anything that is not SDP."""
    if len(body) > MAX_SDP_BYTES:
        raise SdpError(f"SDP larger than {MAX_SDP_BYTES} bytes")
    text = body.decode("utf-8", "replace")
    lines = [line for line in text.replace("\r\n", "\n").split("\n") if line.strip()]
    if len(lines) > MAX_SDP_LINES:
        raise SdpError(f"more than {MAX_SDP_LINES} SDP lines")
    if not lines or lines[0].strip() != "v=0":
        raise SdpError("SDP must start with v=0")
    origin: Origin | None = None
    session = _Session()
    media: list[Media] = []
    for line in lines[1:]:
        if len(line) < 2 or line[1] != "=":
            raise SdpError(f"bad SDP line {line[:60]!r}")
        kind, value = line[0], line[2:].strip()
        if kind == "o":
            origin = _parse_origin(value)
        elif kind == "m":
            media.append(_parse_media(value))
        elif media:
            media[-1] = _media_line(media[-1], kind, value)
        else:
            session.line(kind, value)
    if origin is None:
        raise SdpError("SDP without an o= line")
    return SessionDescription(
        origin=origin, name=session.name, connection=session.connection,
        addrtype=session.addrtype or origin.addrtype, media=tuple(media),
        attributes=tuple(session.attributes), bandwidths=tuple(session.bandwidths),
        timing=session.timing,
    )


def _media_line(media: Media, kind: str, value: str) -> Media:
    if kind == "c":
        return replace(media, connection=_connection_address(value)[1])
    if kind == "a":
        return replace(media, attributes=(*media.attributes, _parse_attribute(value)))
    if kind == "b":
        return replace(media, bandwidths=(*media.bandwidths, value))
    return media


def serialize_sdp(sdp: SessionDescription) -> bytes:
    lines = ["v=0", f"o={sdp.origin}", f"s={sdp.name}"]
    if sdp.connection is not None:
        lines.append(f"c=IN {sdp.addrtype} {sdp.connection}")
    lines.extend(f"b={b}" for b in sdp.bandwidths)
    lines.append(f"t={sdp.timing}")
    lines.extend(_attr_line(a) for a in sdp.attributes)
    for m in sdp.media:
        lines.append(f"m={m.kind} {m.port} {m.proto} {' '.join(m.formats)}")
        if m.connection is not None:
            lines.append(f"c=IN {sdp.addrtype} {m.connection}")
        lines.extend(f"b={b}" for b in m.bandwidths)
        lines.extend(_attr_line(a) for a in m.attributes)
    return ("\r\n".join(lines) + "\r\n").encode()


def _attr_line(attribute: Attribute) -> str:
    name, value = attribute
    return f"a={name}" if value is None else f"a={name}:{value}"


# ----------------------------------------------------------------------------- offer / answer


PTIME_MS = 20
PREFERRED = ("PCMU", "PCMA")
_PLAIN_RTP = ("RTP/AVP", "RTP/AVPF")


@dataclass(frozen=True, slots=True)
class AudioParams:
    """What was agreed for the audio stream: where to send RTP and in which format."""

    remote_address: str
    remote_port: int
    codec: str  # "PCMU" or "PCMA"
    payload_type: int
    telephone_event: int | None  # payload type of RFC 4733 events, None when not agreed
    direction: Direction
    ptime_ms: int = PTIME_MS


@dataclass(frozen=True, slots=True)
class LocalMedia:
    """Where percl receives RTP for one call, and the SDP session identity it answers with."""

    address: str
    port: int
    session_id: str
    version: int = 1
    username: str = "percl"


def _pick(media: Media) -> tuple[str, str, str | None] | None:
    """(codec payload type, codec name, telephone-event payload type) percl can use, if any."""
    rtpmap = media.rtpmap()
    codec = next(((pt, rtpmap[pt][0]) for pt in media.formats
                  if rtpmap.get(pt, ("", 0))[0] in PREFERRED and rtpmap[pt][1] == 8000), None)
    if codec is None:
        return None
    event = next((pt for pt in media.formats
                  if rtpmap.get(pt) == ("TELEPHONE-EVENT", 8000)), None)
    return codec[0], codec[1], event


def answer_offer(offer: SessionDescription, local: LocalMedia) -> tuple[SessionDescription,
                                                                       AudioParams]:
    """The answer to `offer` and the audio parameters it agrees. Raises SdpRefused (488)."""
    chosen: tuple[int, AudioParams] | None = None
    answered: list[Media] = []
    for index, media in enumerate(offer.media):
        params = None if chosen is not None else _acceptable(offer, media)
        if params is None:
            answered.append(Media(kind=media.kind, port=0, proto=media.proto,
                                  formats=media.formats[:1]))
            continue
        chosen = (index, params)
        answered.append(_answer_media(media, params, local))
    if chosen is None:
        raise SdpRefused("no audio stream over RTP/AVP offers PCMU or PCMA at 8000 Hz")
    answer = SessionDescription(
        origin=Origin(local.username, local.session_id, local.version, local.address,
                      _addrtype(local.address)),
        connection=local.address, addrtype=_addrtype(local.address), media=tuple(answered),
    )
    return answer, chosen[1]


def _addrtype(address: str) -> str:
    return "IP6" if ":" in address else "IP4"


def _acceptable(offer: SessionDescription, media: Media) -> AudioParams | None:
    if media.kind != "audio" or media.proto.upper() not in _PLAIN_RTP or media.port == 0:
        return None
    picked = _pick(media)
    address = offer.address_for(media)
    if picked is None or address is None:
        return None
    direction = media.direction or _session_direction(offer) or Direction.SENDRECV
    pt, codec, event = picked
    return AudioParams(remote_address=address, remote_port=media.port, codec=codec,
                       payload_type=int(pt), telephone_event=int(event) if event else None,
                       direction=direction)


def _session_direction(sdp: SessionDescription) -> Direction | None:
    for key, _ in sdp.attributes:
        if key in Direction.__members__.values():
            return Direction(key)
    return None


def _answer_media(media: Media, params: AudioParams, local: LocalMedia) -> Media:
    formats = [str(params.payload_type)]
    attributes: list[Attribute] = [("rtpmap", f"{params.payload_type} {params.codec}/8000")]
    if params.telephone_event is not None:
        formats.append(str(params.telephone_event))
        attributes += [("rtpmap", f"{params.telephone_event} telephone-event/8000"),
                       ("fmtp", f"{params.telephone_event} 0-16")]
    attributes += [("ptime", str(PTIME_MS)), (params.direction.answer().value, None)]
    return Media(kind="audio", port=local.port, proto=media.proto, formats=tuple(formats),
                 attributes=tuple(attributes))


def make_offer(local: LocalMedia, *, telephone_event: int = 101) -> SessionDescription:
    """percl's own offer (UAC): PCMU, PCMA and telephone-event, 20 ms packets, sendrecv."""
    te = str(telephone_event)
    media = Media(kind="audio", port=local.port, proto="RTP/AVP", formats=("0", "8", te),
                  attributes=(("rtpmap", "0 PCMU/8000"), ("rtpmap", "8 PCMA/8000"),
                              ("rtpmap", f"{te} telephone-event/8000"), ("fmtp", f"{te} 0-16"),
                              ("ptime", str(PTIME_MS)), ("sendrecv", None)))
    return SessionDescription(
        origin=Origin(local.username, local.session_id, local.version, local.address,
                      _addrtype(local.address)),
        connection=local.address, addrtype=_addrtype(local.address), media=(media,))


def read_answer(offer: SessionDescription, answer: SessionDescription) -> AudioParams:
    """The audio parameters a peer's answer to percl's `offer` agrees. Raises SdpRefused.

    The answer must keep the offer's m-lines (RFC 3264 6) and pick a codec percl offered.
    """
    if len(answer.media) != len(offer.media):
        raise SdpRefused("the answer does not have one m-line per offered m-line")
    offered = {pt for m in offer.media for pt in m.formats}
    for media in answer.media:
        params = _acceptable(answer, media)
        if params is not None and str(params.payload_type) in offered:
            return params
    raise SdpRefused("the answer accepts no audio stream with PCMU or PCMA")
