"""Fault injection: make an app's webhook URL slow, time out, fail, answer garbage or refuse.

For developers who want to see their app's error paths (fallback URLs, `webhookFailed`,
`webhookInvalidResponse`) on purpose. The FaultInjector is a WebhookTransport wrapper; the Platform
always puts one in front of its real transport, so faults work the same in `percl serve` and in the
test kit. Two ways to ask for a fault:

- a rule: `injector.inject("http://app.test/voice", Fault(FaultKind.TIMEOUT))` (or PUT /sim/v1/faults);
  the longest matching URL prefix wins, and `times=n` makes a rule expire after n requests;
- a URL fragment, needing no API call: `https://app/voice#percl-fault=error:503`. Fragments never
  reach an HTTP server, so the fragment is stripped before the request goes out.

A rule wins over a fragment: a rule is what a test set up just now, the fragment is configuration.

Whose rules: a rule made with an `account_id` (the sim API always passes the caller's) applies only
to webhooks whose body names that account (`accountId`, which every FreeClimb webhook carries); its
prefix may be "" (every webhook of the account). A rule without one (the test kit, a Python caller)
is the network's and applies to every request. File GETs (grammars, Play files) carry no account,
so only the network's rules and fragments reach them. An account's rule wins over the network's.

Why TIMEOUT waits forever instead of sleeping past the timeout: the dispatcher owns the timeout (it
races every POST against its clock), so "never answers" is exactly what a hung app looks like, and
it stays correct whatever PERCL_WEBHOOK_TIMEOUT_MS is.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, cast

from percl.domain.clock import Clock
from percl.domain.enums import LogLevel
from percl.domain.urls import mask_credentials
from percl.engine.ports import LogSink
from percl.webhooks.transport import (
    FetchTransport,
    TransportError,
    TransportResponse,
    WebhookTransport,
    capped,
)

log = logging.getLogger("percl.webhooks.faults")

FRAGMENT_KEY = "percl-fault"
#: Header on every answer the injector made up, so the dispatcher's log can say so.
FAULT_HEADER = "x-percl-fault"
MAX_DELAY_MS = 600_000


class FaultKind(StrEnum):
    SLOW = "slow"  # answer normally, after delay_ms of clock time
    TIMEOUT = "timeout"  # never answer: the dispatcher's timeout fires
    ERROR = "error"  # answer HTTP `status` without calling the app
    GARBAGE = "garbage"  # answer 200 with `body` (not PerCL) without calling the app
    REFUSE = "refuse"  # no HTTP answer at all: connection refused


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault. Only the field of its kind matters (delay_ms for SLOW, status for ERROR ...)."""

    kind: FaultKind
    delay_ms: int = 0
    status: int = 500
    body: bytes = b"{not json"
    times: int | None = None  # the next n matching requests; None = until cleared


def make_fault(
    kind: str,
    *,
    delay_ms: int = 0,
    status: int = 500,
    body: bytes | None = None,
    times: int | None = None,
) -> Fault:
    """A Fault from plain values (the sim API and URL fragments use this).

    Raises ValueError naming the problem: unknown kind, delay outside 0..600000 ms, status
    outside 100..599 (300..599 for ERROR), times below 1.
    """
    try:
        fault_kind = FaultKind(kind)
    except ValueError:
        names = ", ".join(k.value for k in FaultKind)
        raise ValueError(f"unknown fault kind {kind!r}: use one of {names}") from None
    if not 0 <= delay_ms <= MAX_DELAY_MS:
        raise ValueError(f"delay_ms must be between 0 and {MAX_DELAY_MS}, got {delay_ms}")
    if not 100 <= status <= 599:
        raise ValueError(f"status must be an HTTP status (100..599), got {status}")
    if fault_kind is FaultKind.ERROR and status < 300:
        raise ValueError(f"an error status must be 300..599 (what percl treats as failed), got {status}")
    if times is not None and times < 1:
        raise ValueError(f"times must be at least 1 (or None for until cleared), got {times}")
    if body is None:
        return Fault(fault_kind, delay_ms, status, times=times)
    return Fault(fault_kind, delay_ms, status, body, times)


def parse_fragment(spec: str) -> Fault:
    """`timeout`, `refuse`, `garbage`, `slow:3000`, `error:503` -> a Fault. Raises ValueError."""
    name, sep, arg = spec.partition(":")
    if name in (FaultKind.SLOW, FaultKind.ERROR):
        if not sep or not arg.isdigit():
            raise ValueError(f"{name} needs a number: {name}:{3000 if name == 'slow' else 503}")
        if name == FaultKind.SLOW:
            return make_fault(name, delay_ms=int(arg))
        return make_fault(name, status=int(arg))
    if sep:
        raise ValueError(f"{name} takes no argument")
    return make_fault(name)


def split_fragment(url: str) -> tuple[str, str | None]:
    """(`url` without its percl-fault fragment item, the item's value or None).

    Other fragment items (`#a=1&percl-fault=timeout`) are kept; an emptied fragment is dropped.
    """
    base, sep, fragment = url.partition("#")
    if not sep:
        return url, None
    kept: list[str] = []
    spec: str | None = None
    for item in fragment.split("&"):
        key, _, value = item.partition("=")
        if key == FRAGMENT_KEY and spec is None:
            spec = value
        else:
            kept.append(item)
    if spec is None:
        return url, None
    return (f"{base}#{'&'.join(kept)}" if kept else base), spec


class FaultInjector:
    """A WebhookTransport that applies faults, else passes requests to `inner` unchanged.

    `logs` (optional) receives a warning in the account's log for an unknown fault fragment;
    the warning always goes to the `percl.webhooks.faults` Python logger too.
    """

    def __init__(self, inner: WebhookTransport, clock: Clock, *, logs: LogSink | None = None) -> None:
        self._inner = inner
        self._clock = clock
        self._logs = logs
        self._rules: dict[str, Fault] = {}  # the network's own
        self._account_rules: dict[str, dict[str, Fault]] = {}  # account id -> prefix -> rule

    # ------------------------------------------------------------------ rules

    def inject(self, url_prefix: str, fault: Fault, *, account_id: str | None = None) -> None:
        """Apply `fault` to URLs starting with `url_prefix` (replacing a rule with that prefix):
        to `account_id`'s webhooks only, or to every request without one.

        Raises ValueError for an empty prefix without an account, or `times` below 1.
        """
        if not url_prefix and account_id is None:
            raise ValueError("url_prefix must not be empty")
        if fault.times is not None and fault.times < 1:
            raise ValueError("times must be at least 1 (or None for until cleared)")
        self._table(account_id)[url_prefix] = fault

    def _table(self, account_id: str | None) -> dict[str, Fault]:
        if account_id is None:
            return self._rules
        return self._account_rules.setdefault(account_id, {})

    def inject_values(
        self,
        url_prefix: str,
        kind: str,
        *,
        delay_ms: int = 0,
        status: int = 500,
        body: bytes | None = None,
        times: int | None = None,
        account_id: str | None = None,
    ) -> None:
        """`inject` from plain values (simapi's FaultControl). Raises ValueError like make_fault."""
        fault = make_fault(kind, delay_ms=delay_ms, status=status, body=body, times=times)
        self.inject(url_prefix, fault, account_id=account_id)

    def clear(self, url_prefix: str | None = None, *, account_id: str | None = None) -> None:
        """Remove the rule for exactly `url_prefix`, or every rule when None: `account_id`'s
        rules, or the network's without one."""
        table = self._table(account_id)
        if url_prefix is None:
            table.clear()
        else:
            table.pop(url_prefix, None)
        if account_id is not None and not table:
            self._account_rules.pop(account_id, None)

    def rules(self, account_id: str | None = None) -> list[tuple[str, Fault]]:
        """The active rules of `account_id` (the network's without one), sorted by prefix;
        `times` is what is left of each."""
        if account_id is None:
            return sorted(self._rules.items())
        return sorted(self._account_rules.get(account_id, {}).items())

    def _take_rule(self, url: str, account_id: str | None) -> Fault | None:
        """The fault of the longest prefix matching `url` (the account's rules first), counting
        one use of it."""
        own = self._account_rules.get(account_id or "", {})
        for table in (own, self._rules):
            matches = [prefix for prefix in table if url.startswith(prefix)]
            if matches:
                fault = _spend(table, max(matches, key=len))
                if account_id is not None and table is own and not own:
                    del self._account_rules[account_id]  # back to the no-parsing fast path
                return fault
        return None

    # ------------------------------------------------------------------ transport

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, limit: int | None = None
    ) -> TransportResponse:
        """Apply the fault for `url` (a rule, else its fragment), else forward to the inner
        transport. Raises TransportError for REFUSE and whatever the inner transport raises;
        TIMEOUT returns only when cancelled. A made-up answer is cut at `limit` too."""
        if not self._rules and not self._account_rules and "#" not in url:
            # The usual case: nothing to inject, so no fragment parsing and no extra coroutines.
            return await self._inner.post(url, body, headers, limit=limit)
        url, spec = split_fragment(url)
        account_id = _account_of(body) if self._account_rules else None
        fault = await self._fault_for(url, spec, body, account_id)
        answer = await self._apply(fault, lambda: self._inner.post(url, body, headers, limit=limit))
        return capped(answer, limit)

    async def get(
        self, url: str, headers: Mapping[str, str], *, limit: int | None = None
    ) -> TransportResponse:
        """GET (grammar and media files) with the same rules and fragments as `post`.

        Raises TransportError when the inner transport cannot GET, or as `post` does."""
        url, spec = split_fragment(url)
        getter = getattr(self._inner, "get", None)
        if getter is None:
            raise TransportError("this transport cannot fetch files (no GET)")
        fault = await self._fault_for(url, spec, b"", None)
        inner = cast(FetchTransport, self._inner)  # it has `get`: checked above
        answer = await self._apply(fault, lambda: inner.get(url, headers, limit=limit))
        return capped(answer, limit)

    async def _fault_for(self, url: str, spec: str | None, body: bytes,
                         account_id: str | None) -> Fault | None:
        fault = self._take_rule(url, account_id)
        if fault is None and spec is not None:
            fault = await self._fragment_fault(url, spec, body)
        return fault

    async def _apply(
        self, fault: Fault | None, forward: Callable[[], Awaitable[TransportResponse]]
    ) -> TransportResponse:
        if fault is None:
            return await forward()
        marked = {FAULT_HEADER: fault.kind.value}
        match fault.kind:
            case FaultKind.SLOW:
                await self._clock.sleep(fault.delay_ms / 1000)
                response = await forward()
                return replace(response, headers={**response.headers, **marked})
            case FaultKind.TIMEOUT:
                never: asyncio.Future[TransportResponse] = asyncio.get_running_loop().create_future()
                return await never  # until the dispatcher's timeout cancels us
            case FaultKind.ERROR:
                text = f"injected fault: HTTP {fault.status}".encode()
                return TransportResponse(fault.status, {**marked, "content-type": "text/plain"}, text)
            case FaultKind.GARBAGE:
                return TransportResponse(200, {**marked, "content-type": "application/json"}, fault.body)
            case FaultKind.REFUSE:
                raise TransportError("connection refused (injected fault)")

    async def _fragment_fault(self, url: str, spec: str, body: bytes) -> Fault | None:
        try:
            return parse_fragment(spec)
        except ValueError as exc:
            shown = mask_credentials(url)
            message = f"Ignored #{FRAGMENT_KEY}={spec} on {shown}: {exc}; the webhook was sent normally"
            log.warning(message)
            await self._warn_account(message, url, body)
            return None

    async def _warn_account(self, message: str, url: str, body: bytes) -> None:
        if self._logs is None:
            return
        fields = _fields(body)
        account_id = fields.get("accountId")
        if not isinstance(account_id, str):
            return
        call_id = fields.get("callId")
        await self._logs.log(
            LogLevel.WARNING, account_id, message,
            call_id=call_id if isinstance(call_id, str) else None,
            metadata={"url": mask_credentials(url)},
        )


def _spend(table: dict[str, Fault], prefix: str) -> Fault:
    """The rule of `prefix` in `table`, counting one use (a rule used up is removed)."""
    fault = table[prefix]
    if fault.times is not None:
        if fault.times <= 1:
            del table[prefix]
        else:
            table[prefix] = replace(fault, times=fault.times - 1)
    return fault


def _fields(body: bytes) -> dict[str, Any]:
    """A webhook body's JSON object, or {} for anything else."""
    try:
        fields: Any = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    return fields if isinstance(fields, dict) else {}


def _account_of(body: bytes) -> str | None:
    """The `accountId` a webhook body names, if any."""
    account_id = _fields(body).get("accountId")
    return account_id if isinstance(account_id, str) else None
