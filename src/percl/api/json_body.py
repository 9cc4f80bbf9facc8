"""A JSON request body read and validated as a FastAPI operation would, for a plain route.

POST /Calls, the request every outbound call makes, is a plain Starlette route (calls.py says
why). Its body must still fail exactly as a FastAPI operation's `body: Model` parameter fails, so
every error body stays FreeClimb's as errors.py renders it from the same validation errors:

- an empty body is a missing body (`missing` at `("body",)`);
- the body is decoded as JSON when there is no Content-Type (the app sets
  `strict_content_type=False`) or when it is `application/json` or `application/*+json`;
  otherwise the raw bytes are what gets validated (and fail as not an object);
- JSON that does not decode is `json_invalid` at `("body", position)`; bytes that fail another
  way (not UTF-8) are Starlette's 400 "There was an error parsing the body";
- validation errors are the model's, each located under `("body", ...)`, and raised as one
  RequestValidationError.

tests/api/test_json_body.py holds this to a real FastAPI operation for every kind of bad body.
"""

from __future__ import annotations

import email.message
import json
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException

M = TypeVar("M", bound=BaseModel)

#: No body was sent (FastAPI's `Undefined`): validation reports the body as missing.
NO_BODY: Any = object()
_BODY_LOC = ("body",)


async def json_payload(request: Request) -> Any:
    """The request's body as FastAPI hands it to validation: decoded JSON, the raw bytes for a
    content type that is not JSON, or NO_BODY. Raises RequestValidationError (json_invalid) or
    HTTPException (400) as FastAPI does."""
    try:
        raw = await request.body()
        if not raw:
            return NO_BODY
        if _is_json(request.headers.get("content-type")):
            return json.loads(raw)
        return raw
    except json.JSONDecodeError as exc:
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error",
              "input": {}, "ctx": {"error": exc.msg}}],
            body=exc.doc,
        ) from exc
    except HTTPException:
        raise
    except Exception as exc:
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc


def validated(model: type[M], payload: Any) -> M:
    """`payload` (from json_payload) as `model`. Raises RequestValidationError with the model's
    errors located under `("body", ...)`, or `missing` at `("body",)` for NO_BODY."""
    if payload is NO_BODY:
        raise RequestValidationError(
            [{"type": "missing", "loc": _BODY_LOC, "msg": "Field required", "input": None}])
    try:
        return model.model_validate(payload, from_attributes=True)
    except ValidationError as exc:
        errors = [{**err, "loc": _BODY_LOC + tuple(err.get("loc", ()))}
                  for err in exc.errors(include_url=False)]
        raise RequestValidationError(errors, body=payload) from None


def _is_json(content_type: str | None) -> bool:
    if not content_type or content_type == "application/json":  # the usual cases, no parsing
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")
