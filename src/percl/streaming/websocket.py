"""AudioStream over WebSocket: a percl extension, not FreeClimb.

FreeClimb streams only over gRPC. Many agent frameworks speak WebSocket instead, so an
AudioStream whose location is `ws://` or `wss://` connects there and carries the same
conversation (messages.py) as JSON text frames, one message a frame, documented in
docs/AUDIOSTREAM.md. Audio is base64 in the stream's content type. The connection is aiohttp's
client; TLS (`wss://`) trusts the system's roots or the `ssl` context given (the same CA file
setting as gRPC's).
"""

from __future__ import annotations

import base64
import binascii
import json
import ssl
from typing import Any

import aiohttp

from percl.engine.ports import StreamStart
from percl.streaming import messages as m

SCHEMES = frozenset({"ws", "wss"})

_ACK_TYPES = {
    m.PLAYBACK_STARTED: "playbackStarted",
    m.PLAYBACK_COMPLETED: "playbackCompleted",
    m.AUDIO_CLEARED: "audioCleared",
    m.DTMF_PLAY_STARTED: "dtmfPlayStarted",
    m.DTMF_PLAY_COMPLETED: "dtmfPlayCompleted",
}
_BUFFERS = {m.BufferKind.DTMF: "dtmf", m.BufferKind.AUDIO: "audio"}


def encode_event(event: m.PlatformEvent) -> dict[str, Any]:
    """A platform event as its JSON object (docs/AUDIOSTREAM.md)."""
    match event:
        case m.CallStarted():
            return {"type": "callStarted", "callId": event.call_id, "to": event.to,
                    "from": event.from_, "isInbound": event.is_inbound,
                    "metadata": list(event.metadata), "contentType": event.content_type}
        case m.AudioData():
            return {"type": "audio", "sequence": event.sequence, "start": event.start,
                    "end": event.end, "audio": base64.b64encode(event.audio).decode()}
        case m.DtmfStarted():
            return {"type": "dtmfStarted", "digit": event.digit, "at": event.at}
        case m.DtmfEnded():
            return {"type": "dtmfEnded", "digit": event.digit, "at": event.at}
        case m.Acknowledged():
            return {"type": _ACK_TYPES[event.kind], "id": event.id, "at": event.at}
        case m.CallEnded():
            return {"type": "callEnded", "callId": event.call_id, "reasonCode": event.code.name,
                    "reason": event.reason}
        case m.ErrorNotice():
            return {"type": "error", "message": event.message, "errorId": event.error_id}
        case m.BufferDepth():
            return {"type": "bufferDepth", "bufferType": _BUFFERS[event.kind],
                    "depth": event.depth, "bufferSize": event.size}


_ACK_KINDS = {v: k for k, v in _ACK_TYPES.items()}
_BUFFER_KINDS = {v: k for k, v in _BUFFERS.items()}


def decode_event(obj: dict[str, Any]) -> m.PlatformEvent:
    """A platform event's JSON object as the typed event (for agents: the test kit, examples).
    Raises KeyError or ValueError for anything else."""
    kind = obj["type"]
    if kind == "callStarted":
        return m.CallStarted(obj["callId"], obj["to"], obj["from"], obj["isInbound"],
                             tuple(obj["metadata"]), obj["contentType"])
    if kind == "audio":
        return m.AudioData(base64.b64decode(obj["audio"]), obj["sequence"], obj["start"], obj["end"])
    if kind == "dtmfStarted":
        return m.DtmfStarted(obj["digit"], obj["at"])
    if kind == "dtmfEnded":
        return m.DtmfEnded(obj["digit"], obj["at"])
    if kind in _ACK_KINDS:
        return m.Acknowledged(_ACK_KINDS[kind], obj["id"], obj["at"])
    if kind == "callEnded":
        return m.CallEnded(obj["callId"], m.EndCode[obj["reasonCode"]], obj["reason"])
    if kind == "error":
        return m.ErrorNotice(obj["message"], obj["errorId"])
    if kind == "bufferDepth":
        return m.BufferDepth(_BUFFER_KINDS[obj["bufferType"]], obj["depth"], obj["bufferSize"])
    raise ValueError(f"unknown message type {kind!r}")


def encode_command(command: m.AppCommand) -> dict[str, Any]:
    """A command as its JSON object (for agents: the test kit, examples)."""
    match command:
        case m.PlayAudio():
            return {"type": "playAudio", "id": command.id, "contentType": command.content_type,
                    "sequence": command.sequence, "last": command.last,
                    "audio": base64.b64encode(command.audio).decode()}
        case m.ClearAudio():
            return {"type": "clearAudioBuffer", "id": command.id}
        case m.PressDtmf():
            return {"type": "pressDtmf", "id": command.id, "digits": command.digits,
                    "pressDurationMs": command.press_ms, "breakDurationMs": command.break_ms}
        case m.QueryBuffer():
            return {"type": "queryBuffer", "bufferType": _BUFFERS[command.kind]}
        case m.TerminateCall():
            return {"type": "terminateCall"}
        case m.EndStream():
            return {"type": "endStream", "actionUrl": command.action_url}


def decode_command(text: str) -> m.AppCommand:
    """The agent's JSON text frame as a command. Raises AgentFault for anything else."""
    try:
        obj = json.loads(text)
        if not isinstance(obj, dict):
            raise TypeError("not a JSON object")
        return _command(obj)
    except (ValueError, TypeError, KeyError, binascii.Error) as exc:
        raise m.AgentFault(f"agent sent garbage ({exc}): {text[:80]!r}") from None


def _command(obj: dict[str, Any]) -> m.AppCommand:
    kind = obj.get("type")
    if kind == "playAudio":
        audio = base64.b64decode(_str(obj, "audio"), validate=True)
        return m.PlayAudio(_str(obj, "id", ""), audio, _str(obj, "contentType", ""),
                           _int(obj, "sequence"), bool(obj.get("last", False)))
    if kind == "clearAudioBuffer":
        return m.ClearAudio(_str(obj, "id", ""))
    if kind == "pressDtmf":
        return m.PressDtmf(_str(obj, "id", ""), _str(obj, "digits"), _int(obj, "pressDurationMs"),
                           _int(obj, "breakDurationMs"))
    if kind == "queryBuffer":
        buffer = {"dtmf": m.BufferKind.DTMF, "audio": m.BufferKind.AUDIO}[_str(obj, "bufferType")]
        return m.QueryBuffer(buffer)
    if kind == "terminateCall":
        return m.TerminateCall()
    if kind == "endStream":
        return m.EndStream(_str(obj, "actionUrl", ""))
    raise ValueError(f"unknown message type {kind!r}")


def _str(obj: dict[str, Any], key: str, default: str | None = None) -> str:
    value = obj.get(key, default)
    if not isinstance(value, str):
        raise TypeError(f"{key}: expected a string")
    return value


def _int(obj: dict[str, Any], key: str) -> int:
    value = obj.get(key, 0)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TypeError(f"{key}: expected a non-negative integer")
    return value


class WsLink:
    """One WebSocket connection (session.Link)."""

    def __init__(self, location: str, session: aiohttp.ClientSession,
                 ws: aiohttp.ClientWebSocketResponse) -> None:
        self._location = location
        self._session = session
        self._ws = ws

    async def send(self, event: m.PlatformEvent) -> None:
        try:
            await self._ws.send_str(json.dumps(encode_event(event), separators=(",", ":")))
        except (aiohttp.ClientError, ConnectionError, RuntimeError) as exc:
            raise m.AgentFault(f"agent connection lost: {exc!r}") from None

    async def receive(self) -> m.AppCommand | None:
        msg = await self._ws.receive()
        if msg.type is aiohttp.WSMsgType.TEXT:
            return decode_command(msg.data)
        if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING,
                        aiohttp.WSMsgType.CLOSED):
            return None
        if msg.type is aiohttp.WSMsgType.ERROR:
            raise m.AgentFault(f"agent connection failed: {self._ws.exception()!r}")
        raise m.AgentFault(f"agent sent garbage: a {msg.type.name} frame (JSON text expected)")

    async def close(self) -> None:
        try:
            await self._ws.close()
        finally:
            await self._session.close()


class WsDialer:
    """Opens WsLinks (session.Dialer); `ssl_context`: for wss:// (None: the system's roots)."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl = ssl_context

    async def __call__(self, start: StreamStart) -> WsLink:
        session = aiohttp.ClientSession()
        try:
            ws = await session.ws_connect(start.location, ssl=self._ssl or True, autoping=True,
                                          heartbeat=None, max_msg_size=4 * 1024 * 1024)
        except aiohttp.ClientConnectorCertificateError as exc:
            await session.close()
            raise m.AgentFault(f"TLS failure with the agent at {start.location}: {exc}") from None
        except aiohttp.ClientSSLError as exc:
            await session.close()
            raise m.AgentFault(f"TLS failure with the agent at {start.location}: {exc}") from None
        except (aiohttp.ClientError, OSError) as exc:
            await session.close()
            raise m.AgentFault(f"agent unreachable at {start.location}: {exc}") from None
        return WsLink(start.location, session, ws)
