"""HTTP Basic authentication of FreeClimb REST requests (`accountId:apiKey`).

`authenticate` is shared: the simulated network's control API (percl.simapi) imports it too, so its
signature stays fixed. The FastAPI dependencies below wrap it for the REST routes.

Why every failure is the same 401: telling "unknown account" from "wrong key" would let a caller
enumerate account ids. The key is compared with `hmac.compare_digest` so the time taken does not
reveal how many leading characters matched.

Why another account's path is a 404, not a 403: FreeClimb answers 404 for resources the caller
cannot see, which also hides whether the other account exists.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Annotated

from fastapi import Depends, Request

from percl.domain.records import Account
from percl.engine.ports import Store
from percl.errors import NotFound, Unauthorized

REALM = 'Basic realm="percl"'
#: Where api/guard.py leaves the account it authenticated, in the ASGI scope's "state".
ACCOUNT_STATE_KEY = "percl.account"


def _unauthorized(message: str) -> Unauthorized:
    return Unauthorized(message, headers={"WWW-Authenticate": REALM})


def parse_basic(authorization: str | None) -> tuple[str, str]:
    """Split a `Basic base64(user:password)` header into (user, password).

    Raises Unauthorized (401, code 50) when the header is missing or not valid Basic credentials.
    """
    if not authorization:
        raise _unauthorized("Authentication required: send HTTP Basic accountId:apiKey")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        raise _unauthorized("Authorization must use the Basic scheme with accountId:apiKey")
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _unauthorized("Authorization is not base64 of accountId:apiKey") from None
    user, sep, password = decoded.partition(":")
    if not sep or not user:
        raise _unauthorized("Authorization header must carry accountId:apiKey")
    return user, password


async def authenticate(store: Store, authorization: str | None) -> Account:
    """Return the account named by an `Authorization: Basic ...` header.

    Call once per request, before touching any resource. Raises percl.errors.Unauthorized (401,
    code 50, with a `WWW-Authenticate` header) when the header is missing or malformed, the
    account is unknown, or the API key does not match (compared in constant time).
    """
    account_id, api_key = parse_basic(authorization)
    account = await store.get_account(account_id)
    # Compare even when the account is unknown so both failures take the same time.
    expected = account.api_key if account is not None else "\0" * max(len(api_key), 1)
    matches = hmac.compare_digest(expected.encode("utf-8"), api_key.encode("utf-8"))
    if account is None or not matches:
        raise _unauthorized("Invalid accountId or apiKey")
    return account


def store_of(request: Request) -> Store:
    """The Store the app was built with (set on app.state by create_api)."""
    store: Store = request.app.state.deps.store
    return store


def guarded_account(request: Request) -> Account | None:
    """The account api/guard.py authenticated for this request, or None without the guard."""
    account = request.scope.get("state", {}).get(ACCOUNT_STATE_KEY)
    return account if isinstance(account, Account) else None


async def current_account(request: Request) -> Account:
    """FastAPI dependency: the authenticated account of this request (raises Unauthorized)."""
    account = guarded_account(request)
    if account is not None:
        return account
    # Without the guard (tests mounting the API alone) the account is left where list cursors
    # and the guard's callers look for it.
    account = await authenticate(store_of(request), request.headers.get("authorization"))
    request.scope.setdefault("state", {})[ACCOUNT_STATE_KEY] = account
    return account


async def path_account(request: Request, account_id: str) -> Account:
    """FastAPI dependency for `/Accounts/{account_id}/...`: the path must name the caller.

    Raises NotFound (404, code 1) for any other account id, so other accounts stay invisible.
    """
    # current_account is awaited here rather than declared as a sub-dependency: every REST
    # request resolves this, and FastAPI's resolution of a nested dependency costs more than
    # the check itself. It is idempotent (the account is kept in the request's state).
    account = await current_account(request)
    if account_id != account.account_id:
        raise NotFound(f"Account {account_id} not found")
    return account


CurrentAccount = Annotated[Account, Depends(current_account)]
PathAccount = Annotated[Account, Depends(path_account)]
