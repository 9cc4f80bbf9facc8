"""Fault injection over HTTP, under /sim/v1 (the same Basic auth as the REST API).

    PUT    /faults                    {"urlPrefix"?, "kind", "delayMs"?, "status"?, "body"?, "times"?} -> 204
    GET    /faults                    the caller's active rules, a JSON array sorted by urlPrefix
    DELETE /faults                    every rule of the caller -> 204
    DELETE /faults?urlPrefix=...      the caller's rule with exactly that prefix -> 204

`kind` is slow | timeout | error | garbage | refuse. Each optional field belongs to one kind:
`delayMs` to slow (required there), `status` to error (300..599, default 500), `body` to garbage
(a string, default `{not json`); giving it with another kind is a 400, as is an unknown key.

Rules are the caller's own (issue 17.7): each applies only to webhooks of the caller's account, and
only the caller lists or deletes it. Without `urlPrefix` a rule covers every webhook of the account
(listed with `"urlPrefix": null`); with one, the prefix must name in full the scheme and host (and
port) of a URL of one of the account's applications, so a rule never names someone else's server.
An account holds at most MAX_RULES rules (a 400 past that: delete one first).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from percl.domain.records import Account
from percl.errors import BadRequest, NotFound
from percl.simapi.auth import Caller
from percl.simapi.ports import FaultControl, FaultView, SimApiDeps
from percl.telephony.sim.control import parse

router = APIRouter()

#: Rules one account may hold; each keeps at most MAX_BODY characters of garbage.
MAX_RULES = 100
MAX_BODY = 8192

_KIND_FIELD = {"slow": "delay_ms", "error": "status", "garbage": "body"}
_WIRE = {"delay_ms": "delayMs", "status": "status", "body": "body"}


class FaultIn(BaseModel):
    """PUT /faults. Strict like the rest of the sim API: no coercion, no unknown keys."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    url_prefix: str | None = Field(default=None, alias="urlPrefix", min_length=1, max_length=2048)
    kind: Literal["slow", "timeout", "error", "garbage", "refuse"]
    delay_ms: int | None = Field(default=None, alias="delayMs", ge=0, le=600_000)
    status: int | None = Field(default=None, ge=300, le=599)
    body: str | None = Field(default=None, max_length=MAX_BODY)
    times: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _fields_of_kind(self) -> FaultIn:
        if self.url_prefix is not None and not self.url_prefix.startswith(("http://", "https://")):
            raise ValueError("urlPrefix must start with http:// or https://")
        own = _KIND_FIELD.get(self.kind)
        for attr, wire in _WIRE.items():
            if attr != own and getattr(self, attr) is not None:
                raise ValueError(f"{wire} does not apply to kind {self.kind}")
        if self.kind == "slow" and self.delay_ms is None:
            raise ValueError("delayMs is required for kind slow")
        return self


def _faults(request: Request) -> FaultControl:
    deps: SimApiDeps = request.app.state.sim_deps
    if deps.faults is None:
        raise NotFound("Fault injection is not available in this percl")
    return deps.faults


@router.put("/faults", status_code=204)
async def put_fault(request: Request, caller: Caller) -> Response:
    """Add or replace the rule for `urlPrefix`. 400 naming the field for anything malformed."""
    faults = _faults(request)
    body = parse(FaultIn, await request.body(), "fault")
    prefix = body.url_prefix or ""
    if prefix:
        await _check_prefix(request, caller, prefix)
    owned = dict(faults.rules(caller.account_id))
    if prefix not in owned and len(owned) >= MAX_RULES:
        raise BadRequest(f"At most {MAX_RULES} fault rules per account: delete one first",
                         details={"field": "urlPrefix", "maxRules": MAX_RULES})
    try:
        faults.inject_values(
            prefix,
            body.kind,
            delay_ms=body.delay_ms or 0,
            status=body.status or 500,
            body=body.body.encode("utf-8") if body.body is not None else None,
            times=body.times,
            account_id=caller.account_id,
        )
    except ValueError as exc:
        raise BadRequest(f"Invalid fault: {exc}") from None
    return Response(status_code=204)


@router.get("/faults")
async def list_faults(request: Request, caller: Caller) -> list[dict[str, Any]]:
    return [_render(prefix, fault) for prefix, fault in _faults(request).rules(caller.account_id)]


@router.delete("/faults", status_code=204)
async def delete_faults(
    request: Request,
    caller: Caller,
    url_prefix: Annotated[str | None, Query(alias="urlPrefix")] = None,
) -> Response:
    """Remove one rule (`urlPrefix`, exact) or all. Removing a rule that is not there is fine."""
    faults = _faults(request)
    if url_prefix is not None and not url_prefix:
        raise BadRequest("urlPrefix must not be empty (leave it out to remove every rule)",
                         details={"field": "urlPrefix"})
    faults.clear(url_prefix, account_id=caller.account_id)
    return Response(status_code=204)


async def _check_prefix(request: Request, caller: Account, prefix: str) -> None:
    """Raise BadRequest unless `prefix` names the origin of one of the caller's application URLs."""
    deps: SimApiDeps = request.app.state.sim_deps
    origins = {
        _origin(url)
        for app in await deps.store.list_applications(caller.account_id)
        for url in (app.voice_url, app.voice_fallback_url, app.call_connect_url,
                    app.status_callback_url, app.sms_url, app.sms_fallback_url)
        if url
    }
    if _origin(prefix) not in origins - {None}:
        raise BadRequest(
            f"urlPrefix {prefix!r} must start with the scheme and host of a URL of one of this "
            "account's applications (leave urlPrefix out for a rule on every webhook of the account)",
            details={"field": "urlPrefix"},
        )


def _origin(url: str) -> str | None:
    """`scheme://host[:port]` of `url`, lower case, or None when it names no host."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _render(prefix: str, fault: FaultView) -> dict[str, Any]:
    kind = str(fault.kind)
    out: dict[str, Any] = {"urlPrefix": prefix or None, "kind": kind, "times": fault.times}
    if kind == "slow":
        out["delayMs"] = fault.delay_ms
    elif kind == "error":
        out["status"] = fault.status
    elif kind == "garbage":
        out["body"] = fault.body.decode("utf-8", errors="replace")
    return out
