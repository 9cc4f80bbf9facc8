"""Request/response over the bus: a worker asks the owner of something to do what only the owner
can (the owner runs the leg's session), and answers the caller with the owner's result.

Why over the bus and not HTTP between workers: the workers need to know no address of each other,
only the database they already share. Each worker listens on one channel of its own
(`channel_of(worker_id)`). A request carries a correlation id, the operation's name (one registry
of operations: `Forwarder.register`) and its JSON arguments; the answer carries the same id and
either the result or the FreeClimb error the owner raised, which the asker raises again (same
class, code, message and details). An owner that does not answer within the deadline is treated
as gone: `OwnerGone`, which the caller turns into the error a dead call would get.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from percl.domain.clock import Clock
from percl.domain.json import JsonValue
from percl.engine.ports import Bus, BusUnavailable
from percl.errors import (
    ApiError,
    BadRequest,
    Conflict,
    NotFound,
    RateLimited,
    ServiceUnavailable,
)

log = logging.getLogger("percl.engine.workers")

#: What an operation's handler gets (the request's arguments) and gives (its JSON result).
Arguments = Mapping[str, JsonValue]
Operation = Callable[[Arguments], Awaitable[JsonValue]]
Spawn = Callable[[Coroutine[Any, Any, None]], object]

#: The errors an owner's answer may carry, by class name (anything else arrives as ApiError).
_ERRORS: dict[str, type[ApiError]] = {
    cls.__name__: cls for cls in (BadRequest, Conflict, NotFound, RateLimited, ServiceUnavailable)}


class OwnerGone(Exception):
    """The owner did not answer within the deadline (it died, or the bus lost the request)."""


def channel_of(worker_id: str) -> str:
    """The bus channel a worker listens on for requests and answers."""
    return f"percl_{worker_id.lower()}"


def error_to_json(exc: ApiError) -> JsonValue:
    kind = next((c.__name__ for c in type(exc).__mro__ if c.__name__ in _ERRORS), "ApiError")
    return {"type": kind, "message": exc.message, "code": exc.code, "status": exc.status,
            "details": exc.details}


def error_from_json(value: JsonValue) -> ApiError:
    """The ApiError an answer carries (see `error_to_json`)."""
    assert isinstance(value, Mapping)
    cls = _ERRORS.get(str(value.get("type")), ApiError)
    details = value.get("details")
    code, status = value.get("code"), value.get("status")
    return cls(str(value.get("message")), code=code if isinstance(code, int) else None,
               status=status if isinstance(status, int) else None,
               details=dict(details) if isinstance(details, Mapping) else None)


class Forwarder:
    """This worker's end of request/response: asks others (`ask`) and answers them (operations
    registered with `register`). `start()` subscribes to the worker's channel."""

    def __init__(self, bus: Bus, clock: Clock, worker_id: str, spawn: Spawn, *,
                 timeout_s: float) -> None:
        self._bus = bus
        self._clock = clock
        self.worker_id = worker_id
        self._spawn = spawn
        self.timeout_s = timeout_s
        self._operations: dict[str, Operation] = {}
        self._pending: dict[str, asyncio.Future[Mapping[str, JsonValue]]] = {}
        self._ids = itertools.count(1)

    def register(self, name: str, operation: Operation) -> None:
        """Answer requests named `name` with `operation` (one per name)."""
        if name in self._operations:
            raise ValueError(f"operation {name!r} is registered already")
        self._operations[name] = operation

    async def start(self) -> None:
        await self._bus.subscribe(channel_of(self.worker_id), self._received)

    async def stop(self) -> None:
        await self._bus.unsubscribe(channel_of(self.worker_id))
        for future in self._pending.values():
            future.cancel()

    async def ask(self, worker_id: str, name: str, arguments: Arguments) -> JsonValue:
        """Run operation `name` on worker `worker_id` and return its result. Raises the ApiError
        the owner raised, OwnerGone when no answer comes within the deadline, ServiceUnavailable
        (503) when the bus cannot send."""
        correlation = f"{self.worker_id}:{next(self._ids)}"
        answer = asyncio.get_running_loop().create_future()
        self._pending[correlation] = answer
        try:
            await self._bus.publish(channel_of(worker_id), {
                "op": name, "id": correlation, "reply_to": self.worker_id,
                "args": dict(arguments)})
            reply = await self._within_deadline(answer)
        except BusUnavailable as exc:
            raise ServiceUnavailable(f"cannot reach the worker that owns this: {exc}") from exc
        finally:
            self._pending.pop(correlation, None)
        if "error" in reply:
            raise error_from_json(reply["error"])
        return reply.get("result")

    async def _within_deadline(
            self, answer: asyncio.Future[Mapping[str, JsonValue]]) -> Mapping[str, JsonValue]:
        deadline: asyncio.Future[Any] = asyncio.ensure_future(self._clock.sleep(self.timeout_s))
        either: list[asyncio.Future[Any]] = [answer, deadline]
        try:
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        finally:
            deadline.cancel()
        if not answer.done():
            answer.cancel()
            raise OwnerGone(f"no answer within {self.timeout_s:g} s")
        return answer.result()

    # ------------------------------------------------------------------ the other end

    def _received(self, message: JsonValue) -> None:
        if not isinstance(message, Mapping):
            return
        correlation = str(message.get("id"))
        if "op" in message:
            try:
                self._spawn(self._answer(message, correlation))
            except RuntimeError:  # this worker is stopping: the asker's deadline answers it
                log.info("worker %s is stopping: request %s not answered", self.worker_id,
                         correlation)
            return
        future = self._pending.get(correlation)
        if future is not None and not future.done():
            future.set_result(message)

    async def _answer(self, request: Mapping[str, JsonValue], correlation: str) -> None:
        reply: dict[str, JsonValue] = {"id": correlation}
        operation = self._operations.get(str(request.get("op")))
        arguments = request.get("args")
        try:
            if operation is None or not isinstance(arguments, Mapping):
                raise BadRequest(f"worker {self.worker_id} has no operation {request.get('op')!r}")
            reply["result"] = await operation(arguments)
        except ApiError as exc:
            reply["error"] = error_to_json(exc)
        except Exception as exc:  # a bug on this side: the asker gets a 503, not a hang
            log.exception("forwarded operation %r failed", request.get("op"))
            reply["error"] = error_to_json(ServiceUnavailable(
                f"the worker owning this failed to carry the request out ({type(exc).__name__})"))
        try:
            await self._bus.publish(channel_of(str(request.get("reply_to"))), reply)
        except Exception:  # the asker will time out; nothing else to tell
            log.exception("could not answer a forwarded request")
