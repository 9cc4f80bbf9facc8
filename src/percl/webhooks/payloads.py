"""Webhook bodies: build the JSON object for a WebhookRequest, encode it, mask it for logs.

`build_body` applies the requestType's entry in specs.SPECS: the standard fields come from the
Call, the type-specific ones from `request.fields` (what domain/payloads.wire_fields made of the
engine's typed payload), checked the way the official SDK parses them.
A field the engine forgot, misspelt or typed wrongly fails here, in one place, with one
ValueError naming it. Such an error is an engine bug, never something the customer's app did.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import Enum
from typing import Any

from percl.domain.enums import RequestType
from percl.domain.records import Call
from percl.engine.ports import WebhookRequest
from percl.percl.privacy import MASK
from percl.webhooks.specs import ORIGINAL_TYPES, SPECS, Kind, Shape, Spec, nullable

# --------------------------------------------------------------------------- building


def build_body(request: WebhookRequest) -> dict[str, Any]:
    """The JSON object to POST for `request` (plain str/int/bool/None values, wire spelling).

    Raises ValueError when the requestType has no webhook (`pause`), when a call-shaped type has
    no `call`, or when `request.fields` has a field the type does not allow, lacks one it
    requires, or holds a value of the wrong type. Each of these is an engine bug.
    """
    rt = request.request_type
    spec = SPECS.get(rt)
    if spec is None:
        raise ValueError(f"{rt.value}: this requestType has no webhook")
    body = _base(request, spec.shape, spec.call_optional)
    body.update(_checked_fields(rt, spec, request.fields))
    if spec.derive is not None:
        for name, value in spec.derive(request, body).items():
            body.setdefault(name, value)
    for name in spec.non_null:
        if body.get(name) is None:
            raise ValueError(f"{rt.value}.{name}: must be set (pass it in fields or on the call)")
    body["requestType"] = rt.value
    return body


def _base(request: WebhookRequest, shape: Shape, call_optional: bool = False) -> dict[str, Any]:
    rt = request.request_type.value
    if shape == "message":
        return {"accountId": request.account.account_id}
    call = request.call
    if call is None and call_optional and shape == "call":
        return {**dict.fromkeys(_STANDARD, None), "accountId": request.account.account_id}
    if call is None:
        raise ValueError(f"{rt}: a call-level webhook needs request.call")
    if call.account_id != request.account.account_id:
        raise ValueError(f"{rt}: call {call.call_id} does not belong to the request's account")
    if shape == "control":
        return {
            "accountId": call.account_id,
            "callId": call.call_id,
            "conferenceId": call.conference_id,
        }
    return _standard(call)


_STANDARD = ("accountId", "callId", "from", "to", "callStatus", "direction", "conferenceId",
             "queueId", "parentCallId")


def _standard(call: Call) -> dict[str, Any]:
    return {
        "accountId": call.account_id,
        "callId": call.call_id,
        "from": call.from_,
        "to": call.to,
        "callStatus": call.status.value,
        "direction": call.direction.value,
        "conferenceId": call.conference_id,
        "queueId": call.queue_id,
        "parentCallId": call.parent_call_id,
    }


def _checked_fields(rt: RequestType, spec: Spec, fields: Mapping[str, Any]) -> dict[str, Any]:
    required, optional = _kinds(rt, spec, fields)
    unexpected = sorted(set(fields) - set(required) - set(optional))
    if unexpected:
        allowed = sorted({*required, *optional})
        raise ValueError(f"{rt.value}: unexpected field(s) {unexpected}; allowed: {allowed}")
    missing = [name for name in required if name not in fields]
    if missing:
        raise ValueError(f"{rt.value}: missing required field(s) {missing}")
    out: dict[str, Any] = {}
    for name, value in fields.items():
        kind = required[name] if name in required else nullable(optional[name])
        if not kind.accepts(value):
            raise ValueError(f"{rt.value}.{name}: expected {kind.describe}, got {value!r}")
        out[name] = value.value if isinstance(value, Enum) else value
    return out


def _kinds(
    rt: RequestType, spec: Spec, fields: Mapping[str, Any]
) -> tuple[Mapping[str, Kind], Mapping[str, Kind]]:
    """Required and optional kinds; a redirect may also carry the fields of the webhook whose
    answer was the Redirect (named by originalRequestType)."""
    if rt is not RequestType.REDIRECT:
        return spec.required, spec.optional
    optional: dict[str, Kind] = {"originalRequestType": ORIGINAL_TYPES}
    original = fields.get("originalRequestType")
    if isinstance(original, str) and ORIGINAL_TYPES.accepts(original):
        inner = SPECS[RequestType(original)]
        optional.update({**inner.required, **inner.optional})
    return {}, optional


# --------------------------------------------------------------------------- wire + logs


def encode(body: Mapping[str, Any]) -> bytes:
    """The exact bytes to sign and POST: compact JSON, keys sorted (FreeClimb's captured form)."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


_SAME_LENGTH = frozenset({"digits", "digit"})
_FIXED = frozenset({"recognitionResult", "text", "transcript"})


def mask(body: Mapping[str, Any], privacy: bool) -> dict[str, Any]:
    """A copy of `body` for LOGGING: with `privacy`, digits become x's of the same length and
    recognitionResult/text/transcript become "xxxxx". The app receives the body as built: what
    FreeClimb masks in the webhook itself (a private GetDigits' digits, a private GetSpeech's
    recognitionResult) is already "xxxxx" there (percl/digits.py, percl/speech.py)."""
    if not privacy:
        return dict(body)
    masked = mask_json(body)
    assert isinstance(masked, dict)
    return masked


def mask_json(value: Any) -> Any:
    """`value` (any parsed JSON, e.g. a PerCL response) with sensitive keys masked at any depth."""
    if isinstance(value, Mapping):
        return {key: _mask_item(key, item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_json(item) for item in value]
    return value


def _mask_item(key: str, value: Any) -> Any:
    if isinstance(value, str) and key in _SAME_LENGTH:
        return "x" * len(value)
    if isinstance(value, str) and key in _FIXED:
        return MASK
    return mask_json(value)
