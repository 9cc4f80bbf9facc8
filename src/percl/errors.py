"""The percl exception tree.

    PerclError                      base of everything percl raises on purpose
    ├── ConfigError                 a setting has a wrong value (names the variable)
    │   └── DatabaseUnusable        PERCL_DB names a file percl cannot use (corrupt, empty, newer)
    ├── ApiError                    a REST request percl refuses; carries FreeClimb's error code
    │   ├── BadRequest              400 / code 3 or 80 (missing or wrong field)
    │   ├── Unauthorized            401 / code 50
    │   ├── NotFound                404 / code 1
    │   ├── Conflict                409 / code 108
    │   ├── InvalidJson             422 / code 9
    │   ├── RateLimited             429 / code 24
    │   └── ServiceUnavailable      503 / code 55 (server temporarily unavailable)
    │       └── StoreBusy           the database is locked by another process; nothing written
    ├── PerclScriptError            a PerCL document is invalid; carries the path ([1].GetDigits.maxDigits)
    └── IllegalTransition           a lifecycle table refused a move (a bug, never user input)

This module imports nothing else from percl.
"""

from __future__ import annotations

from typing import Any

DOCS_ERRORS = "https://docs.freeclimb.com/reference/error-and-warning-dictionary"


class PerclError(Exception):
    """Base class of every error percl raises on purpose."""


class ConfigError(PerclError):
    """A setting has a wrong value. The message names the variable or flag."""


class DatabaseUnusable(ConfigError):
    """The database PERCL_DB names cannot be used as it is (not a database, corrupt pages, an
    empty file, a newer schema, unreadable). The message is one line naming PERCL_DB and what is
    wrong, fit to print as it is."""


class ApiError(PerclError):
    """A REST request that percl refuses, rendered as FreeClimb's error body."""

    status: int = 400
    code: int = 3

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details: dict[str, Any] = details or {}
        self.headers: dict[str, str] = headers or {}

    def body(self) -> dict[str, Any]:
        """FreeClimb's error body; `call` mirrors `message` (the spec names it `call`)."""
        return {
            "code": self.code,
            "message": self.message,
            "call": self.message,
            "url": f"{DOCS_ERRORS}#{self.code}",
            "details": self.details,
        }


class BadRequest(ApiError):
    status = 400
    code = 3


class Unauthorized(ApiError):
    status = 401
    code = 50


class NotFound(ApiError):
    status = 404
    code = 1


class Conflict(ApiError):
    status = 409
    code = 108


class InvalidJson(ApiError):
    status = 422
    code = 9


class RateLimited(ApiError):
    status = 429
    code = 24


class ServiceUnavailable(ApiError):
    status = 503
    code = 55


class StoreBusy(ServiceUnavailable):
    """A write found the database locked by another process and was not made. Fails at once
    (the event loop never waits for the lock): REST answers 503, the engine retries."""

    def __init__(self, message: str = "The database is busy (locked by another process); "
                 "nothing was changed, retry shortly") -> None:
        super().__init__(message, headers={"Retry-After": "1"})


class PerclScriptError(PerclError):
    """A PerCL document that cannot run. `path` locates the fault, e.g. ``[1].GetDigits.maxDigits``."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}" if path else problem)
        self.path = path
        self.problem = problem


class IllegalTransition(PerclError):
    """A lifecycle table was asked for a move it does not allow. Always a percl bug."""

    def __init__(self, machine: str, state: str, event: str) -> None:
        super().__init__(f"{machine}: no transition from {state!r} on {event!r}")
        self.machine = machine
        self.state = state
        self.event = event
