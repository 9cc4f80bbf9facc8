"""Helpers for the conference end-to-end tests: an app of async handlers (so a handler can call
the REST API while its webhook is in flight, as the official samples do), transcript readers and
an SDK check for every webhook."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from freeclimb.models.webhook import Webhook

from percl.telephony.sim.model import TranscriptEvent
from percl.testing.harness import Harness
from percl.webhooks.inprocess import FunctionTransport

Handler = Callable[[dict[str, Any], str], Awaitable[Any]]


class AsyncApp:
    """A FreeClimb app: `/<name>/<arg>` is routed to the handler registered as `name`, which gets
    (body, arg) and returns PerCL (a list) or `(status, payload)`. GETs (audio files) answer 200."""

    def __init__(self, h: Harness, base_url: str = "http://app.test") -> None:
        self.h = h
        self.base_url = base_url
        self.handlers: dict[str, Handler] = {}
        h.router.mount(base_url + "/", FunctionTransport(self._serve))

    def url(self, path: str) -> str:
        return self.base_url + path

    def on(self, name: str, handler: Handler | list[Any]) -> None:
        if isinstance(handler, list):
            script = handler

            async def fixed(_body: dict[str, Any], _arg: str) -> Any:
                return script

            self.handlers[name] = fixed
        else:
            self.handlers[name] = handler

    async def _serve(self, url: str, body: bytes, _headers: Mapping[str, str]) -> tuple[int, bytes]:
        path = url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0]
        name, _, arg = path.partition("/")
        if not body:  # a GET of an audio file (waitUrl)
            return 200, b"RIFF"
        handler = self.handlers.get(name)
        if handler is None:
            return 404, b"not found"
        answer = await handler(json.loads(body), arg)
        if isinstance(answer, tuple):
            status, payload = answer
            return status, json.dumps(payload).encode()
        return 200, json.dumps(answer).encode()

    async def terminate(self, conference_id: str) -> int:
        """What the samples' terminateConference does: REST status terminated."""
        r = await self.h.rest.post(f"/Accounts/{self.h.account.account_id}/Conferences/"
                                   f"{conference_id}", json={"status": "terminated"})
        return r.status_code


def heard(transcript: Any) -> list[tuple[str | None, str | None, str | None]]:
    """(speaker number, text, digits) of every `heard` entry."""
    return [(e.speaker, e.text, e.digits) for e in transcript.entries
            if e.type is TranscriptEvent.HEARD]


def count(transcript: Any, kind: TranscriptEvent) -> int:
    return sum(1 for e in transcript.entries if e.type is kind)


def statuses(h: Harness, path: str) -> list[tuple[str, str]]:
    """(requestType, status) of the webhooks posted to `path`, in order."""
    return [(w.request_type, w.body["status"]) for w in h.webhooks if w.path == path]


def sdk_parses_all(h: Harness) -> None:
    """Every webhook sent parses with the official SDK into the class of its requestType."""
    for w in h.webhooks:
        parsed = Webhook.from_json(w.raw.decode())
        assert type(parsed).__name__.lower().startswith(w.request_type.lower()), w.request_type
