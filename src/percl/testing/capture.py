"""The webhook log: every request percl sent to an app, and what the app answered.

`RecordingTransport` wraps the kit's transport and appends one `CapturedWebhook` per request:
answered ones with their status and body, refused ones (no HTTP answer) and abandoned ones (the
dispatcher's timeout cancelled the request) with `status=None` and an `error` saying which. It sits
behind the kit's fault injector, so a request the kit faulted is logged with the answer the fault
made up (`fault` names the kind).

`WebhookLog` is a read-only sequence of them that is also callable to filter:
`h.webhooks(path="/menu", request_type="getDigits")`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

from percl.domain.clock import Clock
from percl.webhooks.faults import FAULT_HEADER
from percl.webhooks.transport import TransportError, TransportResponse, WebhookTransport

SIGNATURE_HEADER = "FreeClimb-Signature"
SecretLookup = Callable[[str], str | None]


def url_path(url: str) -> str:
    """The path of an absolute URL, without query string or fragment ("/" at least)."""
    rest = url.split("://", 1)[-1]
    path = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
    return path.split("?", 1)[0].split("#", 1)[0]


@dataclass(frozen=True, slots=True)
class CapturedWebhook:
    """One webhook exchange: what percl POSTed and what the app (or an injected fault) answered.

    `status` is None when there was no HTTP answer; `error` then says why. `sent_at` is FakeClock
    time (unix seconds) and `latency_ms` the clock time until the answer. `fault` names the kind
    of injected fault that made up or delayed the answer (None: the app answered by itself).
    """

    url: str
    body: dict[str, Any]
    raw: bytes
    headers: Mapping[str, str]
    status: int | None
    answer: bytes
    sent_at: float = 0.0
    latency_ms: float = 0.0
    error: str | None = None
    fault: str | None = None
    signing_secret: str | None = field(default=None, repr=False, compare=False)

    @property
    def request_type(self) -> str:
        return str(self.body.get("requestType"))

    @property
    def path(self) -> str:
        return url_path(self.url)

    @property
    def call_id(self) -> str | None:
        value = self.body.get("callId")
        return value if isinstance(value, str) else None

    @property
    def request_id(self) -> str | None:
        return self.header("Request-Id")

    @property
    def answer_json(self) -> Any:
        """The answer parsed as JSON (the PerCL script, usually), or None when it is not JSON."""
        try:
            return json.loads(self.answer)
        except ValueError:
            return None

    def header(self, name: str) -> str | None:
        """A request header, looked up case-insensitively."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)

    def verify_signature(self, secret: str | None = None, *, tolerance_s: int = 300) -> bool:
        """True when FreeClimb-Signature signs exactly `raw` with `secret` (default: the signing
        secret of the webhook's account) at a time within `tolerance_s` of when it was sent.

        Deliberately independent of percl's own signing code: HMAC-SHA256 of `"<t>." + body`, any
        `v1` may match. Raises ValueError when no secret is known.
        """
        key = secret if secret is not None else self.signing_secret
        if key is None:
            raise ValueError("no signing secret is known for this webhook: pass secret=...")
        header = self.header(SIGNATURE_HEADER)
        if header is None:
            return False
        pairs = [item.partition("=") for item in header.split(",")]
        stamps = [value for name, _, value in pairs if name == "t"]
        signatures = [value for name, _, value in pairs if name == "v1"]
        if len(stamps) != 1 or not stamps[0].isdigit() or not signatures:
            return False
        if abs(self.sent_at - int(stamps[0])) > tolerance_s:
            return False
        expected = hmac.new(key.encode(), stamps[0].encode() + b"." + self.raw,
                            hashlib.sha256).hexdigest()
        return any(hmac.compare_digest(expected, s) for s in signatures)

    def as_sdk(self) -> Any:
        """The body parsed by the official SDK (`freeclimb.models.webhook.Webhook.from_json`):
        an `InboundCallWebhook`, `GetDigitsWebhook` ... Raises what the SDK raises when it cannot
        parse it, and ImportError when the `freeclimb` package is not installed."""
        from freeclimb.models.webhook import Webhook

        return Webhook.from_json(self.raw.decode())

    def describe(self) -> str:
        """One line: `POST /menu (getDigits, CA...) -> 200 in 0 ms`."""
        outcome = f"-> {self.status}" if self.status is not None else f"-> no answer ({self.error})"
        fault = f" [fault: {self.fault}]" if self.fault else ""
        return (f"POST {self.path} ({self.request_type}, {self.call_id}) {outcome}"
                f" in {round(self.latency_ms)} ms{fault}")


class WebhookLog(Sequence[CapturedWebhook]):
    """Every captured exchange in the order the answers came back. Call it to filter."""

    def __init__(self) -> None:
        self._items: list[CapturedWebhook] = []

    def append(self, item: CapturedWebhook) -> None:
        self._items.append(item)

    def clear(self) -> None:
        """Forget what was captured so far (e.g. after a test's setup phase)."""
        self._items.clear()

    @overload
    def __getitem__(self, index: int) -> CapturedWebhook: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[CapturedWebhook]: ...
    def __getitem__(self, index: int | slice) -> CapturedWebhook | Sequence[CapturedWebhook]:
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[CapturedWebhook]:
        return iter(list(self._items))

    def __eq__(self, other: object) -> bool:
        """Equal to a list or tuple of the same exchanges (`h.webhooks == []` reads naturally)."""
        if isinstance(other, WebhookLog):
            return self._items == other._items
        if isinstance(other, list | tuple):
            return self._items == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like a list

    def __call__(
        self,
        *,
        path: str | None = None,
        request_type: str | None = None,
        call_id: str | None = None,
        url: str | None = None,
    ) -> list[CapturedWebhook]:
        """The exchanges matching every filter given: `path` ("/menu", no query), `request_type`
        ("getDigits"), `call_id`, or the exact `url`."""
        return [
            w for w in self._items
            if (path is None or w.path == path)
            and (request_type is None or w.request_type == request_type)
            and (call_id is None or w.call_id == call_id)
            and (url is None or w.url == url)
        ]

    def describe(self) -> str:
        """The whole log, one exchange a line (what a failing assertion should print)."""
        if not self._items:
            return "  (no webhooks were sent)"
        return "\n".join(f"  {i:3d}. {w.describe()}" for i, w in enumerate(self._items))

    def __repr__(self) -> str:
        return f"WebhookLog({len(self._items)} exchanges)\n{self.describe()}"


class RecordingTransport:
    """Wraps a transport and logs every exchange into `log`, then passes the outcome on unchanged.

    `secret_for(account_id)` supplies the signing secret that `verify_signature()` uses.
    """

    def __init__(self, inner: WebhookTransport, clock: Clock | None = None,
                 secret_for: SecretLookup | None = None) -> None:
        self.inner = inner
        self.log = WebhookLog()
        self._clock = clock
        self._secret_for = secret_for

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, limit: int | None = None
    ) -> TransportResponse:
        """Forward to the inner transport. Raises exactly what it raises (after logging it)."""
        started = self._now()
        try:
            response = await self.inner.post(url, body, headers, limit=limit)
        except TransportError as exc:
            self._add(url, body, headers, started, None, error=str(exc) or "connection refused")
            raise
        except asyncio.CancelledError:
            self._add(url, body, headers, started, None,
                      error="abandoned: no answer before the webhook timeout")
            raise
        except Exception as exc:
            self._add(url, body, headers, started, None, error=f"{type(exc).__name__}: {exc}")
            raise
        self._add(url, body, headers, started, response)
        return response

    async def get(
        self, url: str, headers: Mapping[str, str], *, limit: int | None = None
    ) -> TransportResponse:
        """GET (grammar and media files) through the inner transport, not logged as a webhook.
        Raises TransportError when the inner transport cannot GET, or what its GET raises."""
        getter = getattr(self.inner, "get", None)
        if getter is None:
            raise TransportError("this transport cannot fetch files (no GET)")
        response: TransportResponse = await getter(url, headers, limit=limit)
        return response

    def _now(self) -> float:
        return self._clock.now() if self._clock is not None else 0.0

    def _add(self, url: str, raw: bytes, headers: Mapping[str, str], started: float,
             response: TransportResponse | None, *, error: str | None = None) -> None:
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = {}
        body: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
        account = body.get("accountId")
        secret = (self._secret_for(account) if self._secret_for is not None
                  and isinstance(account, str) else None)
        fault = None
        if response is not None:
            fault = next((v for k, v in response.headers.items() if k.lower() == FAULT_HEADER),
                         None)
        self.log.append(CapturedWebhook(
            url=url, body=body, raw=raw, headers=dict(headers),
            status=None if response is None else response.status,
            answer=b"" if response is None else response.body,
            sent_at=started, latency_ms=max(0.0, (self._now() - started) * 1000), error=error,
            fault=fault, signing_secret=secret,
        ))
