"""Every failed REST request gets FreeClimb's error body `{code, message, call, url, details}`:

    percl.errors.ApiError            its own status and code (raised by routes and the engine)
    request validation error         400, code 80 when a required field is missing, code 9 for a
                                     number that is not E.164 (as FreeClimb and /Messages), else 3
    body that is not JSON            422, code 9 "Invalid JSON"
    unknown route                    404, code 1
    wrong method on a known route    405, code 3 (with an Allow header)
    anything else                    500, code 0 (logged with its traceback)

Why the validation split: FreeClimb documents code 80 as "Missing Required Parameter(s)" and
code 3 as a malformed request, and the official CLI prints the message, so each names the field.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match

from percl.api.fields import E164_ERROR
from percl.errors import ApiError, BadRequest, InvalidJson, NotFound

log = logging.getLogger("percl.api")

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_LOCATIONS = {"body", "query", "path", "header", "cookie"}
_FASTAPI_BODY_ERROR = "There was an error parsing the body"


def error_response(exc: ApiError) -> JSONResponse:
    """The JSON response of an ApiError, with its status and extra headers."""
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers or None)


def field_name(loc: Sequence[Any]) -> str:
    """`("body", "ifMachineUrl")` -> `ifMachineUrl`; `("body",)` -> `body`."""
    parts = [str(p) for p in loc]
    if len(parts) > 1 and parts[0] in _LOCATIONS:
        parts = parts[1:]
    return ".".join(parts) or "body"


def validation_to_api_error(errors: Sequence[Any]) -> ApiError:
    """Turn pydantic/FastAPI validation errors into one FreeClimb error (see module docstring)."""
    if any(err.get("type") == "json_invalid" for err in errors):
        return InvalidJson("Invalid JSON: the request body is not a valid JSON document")
    problems = [
        {"field": field_name(e.get("loc", ())), "type": e.get("type"), "message": _plain(e.get("msg"))}
        for e in errors
    ]
    missing = [p["field"] for p in problems if p["type"] == "missing"]
    if missing == ["body"]:
        return BadRequest(
            "A request body is required: send a JSON object",
            code=80,
            details={"field": "body", "errors": problems},
        )
    if missing:
        names = ", ".join(missing)
        return BadRequest(
            f"Missing required parameter(s): {names}",
            code=80,
            details={"field": missing[0], "errors": problems},
        )
    first = problems[0] if problems else {"field": "body", "message": "invalid request"}
    if first.get("type") == E164_ERROR:
        value = errors[0].get("input")
        return BadRequest(f"{first['field']} {value!r} {first['message']}", code=9,
                          details={"field": first["field"], "errors": problems})
    message = f"Invalid value for {first['field']}: {first['message']}"
    if first["field"] == "body":
        message = "Invalid request body: send a JSON object with Content-Type: application/json"
    return BadRequest(message, code=3, details={"field": first["field"], "errors": problems})


def _plain(message: Any) -> Any:
    """A validator's message without pydantic's "Value error, " prefix (FreeClimb's messages
    do not speak of Python exceptions)."""
    return message.removeprefix("Value error, ") if isinstance(message, str) else message


def allowed_methods(request: Request) -> list[str]:
    """Every method some route accepts at this path (Starlette reports only the first route's)."""
    routes: list[BaseRoute] = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)
    ]
    return allowed or ["GET"]


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(validation_to_api_error(exc.errors()))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    method, path = request.method, request.url.path
    if exc.status_code == 404:
        api_exc: ApiError = NotFound(f"No resource at {method} {path}")
    elif exc.status_code == 405:
        allow = ", ".join(allowed_methods(request))
        api_exc = ApiError(
            f"Method {method} is not allowed on {path}; use {allow}",
            status=405,
            code=3,
            headers={"Allow": allow},
        )
    elif exc.status_code == 400 and exc.detail == _FASTAPI_BODY_ERROR:
        # FastAPI's answer when decoding the JSON body raised something other than a JSON error,
        # e.g. RecursionError for a document nested thousands deep.
        api_exc = BadRequest("Invalid request body: the JSON document could not be decoded "
                             "(nested too deeply?)", details={"field": "body"})
    else:
        api_exc = ApiError(
            str(exc.detail), status=exc.status_code, code=3, headers=dict(exc.headers or {})
        )
    return error_response(api_exc)


def internal_error_body() -> dict[str, Any]:
    """The body of a 500: code 0, "Internal Failure" (details never leak internals)."""
    return ApiError("Internal Failure", code=0, status=500).body()


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers above on `app`. Call once from create_api."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
