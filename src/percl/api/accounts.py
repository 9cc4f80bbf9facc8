"""GET / POST /Accounts/{accountId} (get-an-account, update-an-account)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from percl.api.auth import PathAccount
from percl.api.deps import deps_of
from percl.api.fields import Alias, Label, WireModel
from percl.api.render import envelope
from percl.domain.records import Account, revised

router = APIRouter()

# Subresources percl serves today; later resources (recordings ...) add themselves here.
SUBRESOURCES: tuple[str, ...] = (
    "Applications", "Calls", "Conferences", "IncomingPhoneNumbers", "Logs", "Messages", "Queues",
)


def _lower_first(name: str) -> str:
    return name[0].lower() + name[1:]


def account_uri(account_id: str) -> str:
    return f"/Accounts/{account_id}"


def render_account(account: Account) -> dict[str, Any]:
    """AccountResult. The API key is included: only its owner can read this resource."""
    uri = account_uri(account.account_id)
    return {
        **envelope(uri, account.date_created, account.date_updated, account.revision),
        "accountId": account.account_id,
        "apiKey": account.api_key,
        "alias": account.alias,
        "label": account.label,
        "type": account.type.value,
        "status": account.status.value,
        "subresourceUris": {_lower_first(name): f"{uri}/{name}" for name in SUBRESOURCES},
    }


class AccountRequest(WireModel):
    """FreeClimb's AccountRequest: both fields optional; only the ones sent change."""

    alias: Alias | None = None
    label: Label | None = None


OptionalAccountBody = Annotated[AccountRequest | None, Body()]


@router.get("/Accounts/{account_id}")
async def get_account(account: PathAccount) -> dict[str, Any]:
    """get-an-account: 200 AccountResult."""
    return render_account(account)


@router.post("/Accounts/{account_id}", status_code=204)
async def update_account(
    request: Request, account: PathAccount, body: OptionalAccountBody = None
) -> Response:
    """update-an-account: 204, empty body. Bumps revision and dateUpdated."""
    changes = body.model_dump(include=body.model_fields_set) if body is not None else {}
    if changes:
        deps = deps_of(request)
        updated = revised(account, deps.clock.now(), **changes)
        await deps.store.put_account(updated)
    return Response(status_code=204)
