"""The one authentication dependency of every sim API route (app.py, faults.py, messages.py).

Route modules import `Caller` at module level so FastAPI can resolve their postponed annotations.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from percl.api.auth import authenticate, guarded_account
from percl.domain.records import Account
from percl.simapi.ports import SimApiDeps


async def caller_account(request: Request) -> Account:
    """The authenticated account of this request; raises Unauthorized (401)."""
    account = guarded_account(request)  # the guard in front (api/guard.py) already checked
    if account is not None:
        return account
    deps: SimApiDeps = request.app.state.sim_deps
    return await authenticate(deps.store, request.headers.get("authorization"))


Caller = Annotated[Account, Depends(caller_account)]
