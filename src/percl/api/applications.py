"""/Accounts/{accountId}/Applications: create 201, list, get, update 200 (partial), delete 204."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import Field

from percl.api.auth import PathAccount
from percl.api.deps import deps_of
from percl.api.fields import Alias, HttpUrl, WireModel
from percl.api.owned import of_account, revise, sent_fields
from percl.api.pagination import paginate
from percl.api.render import envelope
from percl.domain.ids import APPLICATION
from percl.domain.records import Account, Application, revised
from percl.engine.ports import Store

router = APIRouter()

# Wire name -> record attribute, for the fields an ApplicationRequest may set.
_FIELDS = {
    "alias": "alias",
    "voiceUrl": "voice_url",
    "voiceFallbackUrl": "voice_fallback_url",
    "callConnectUrl": "call_connect_url",
    "statusCallbackUrl": "status_callback_url",
    "smsUrl": "sms_url",
    "smsFallbackUrl": "sms_fallback_url",
}


class ApplicationRequest(WireModel):
    """FreeClimb's ApplicationRequest. Every field optional; URLs absolute http(s) or null."""

    alias: Alias | None = None
    voice_url: HttpUrl | None = Field(default=None, alias="voiceUrl")
    voice_fallback_url: HttpUrl | None = Field(default=None, alias="voiceFallbackUrl")
    call_connect_url: HttpUrl | None = Field(default=None, alias="callConnectUrl")
    status_callback_url: HttpUrl | None = Field(default=None, alias="statusCallbackUrl")
    sms_url: HttpUrl | None = Field(default=None, alias="smsUrl")
    sms_fallback_url: HttpUrl | None = Field(default=None, alias="smsFallbackUrl")

    def given(self) -> dict[str, Any]:
        """Only the fields the client sent (explicit nulls included), by record attribute."""
        return sent_fields(self)


def application_uri(app: Application) -> str:
    return f"/Accounts/{app.account_id}/Applications/{app.application_id}"


def render_application(app: Application) -> dict[str, Any]:
    """ApplicationResult."""
    body = envelope(application_uri(app), app.date_created, app.date_updated, app.revision)
    body["accountId"] = app.account_id
    body["applicationId"] = app.application_id
    for wire, attr in _FIELDS.items():
        body[wire] = getattr(app, attr)
    return body


async def owned_application(store: Store, account: Account, application_id: str) -> Application:
    """The account's application `application_id`. Raises NotFound for unknown or foreign ids."""
    return of_account(await store.get_application(application_id), account,
                      f"Application {application_id}")


@router.post("/Accounts/{account_id}/Applications", status_code=201)
async def create_application(
    request: Request, account: PathAccount, body: ApplicationRequest
) -> dict[str, Any]:
    """create-an-application: 201 ApplicationResult."""
    deps = deps_of(request)
    now = deps.clock.now()
    app = Application(
        application_id=deps.ids.new(APPLICATION),
        account_id=account.account_id,
        date_created=now,
        date_updated=now,
        **body.given(),
    )
    await deps.store.put_application(app)
    return render_application(app)


@router.get("/Accounts/{account_id}/Applications")
async def list_applications(
    request: Request, account: PathAccount, alias: str | None = None
) -> dict[str, Any]:
    """list-applications: 200 ApplicationList; `alias` matches exactly."""
    deps = deps_of(request)
    apps = await deps.store.list_applications(account.account_id, alias)
    return paginate(
        request,
        apps,
        "applications",
        render_application,
        page_size=deps.page_size,
        max_list=deps.max_list,
        sort_key=lambda a: (a.date_created, a.application_id),
    )


@router.get("/Accounts/{account_id}/Applications/{application_id}")
async def get_application(
    request: Request, account: PathAccount, application_id: str
) -> dict[str, Any]:
    """get-an-application: 200 ApplicationResult, 404 when unknown."""
    return render_application(
        await owned_application(deps_of(request).store, account, application_id)
    )


@router.post("/Accounts/{account_id}/Applications/{application_id}")
async def update_application(
    request: Request, account: PathAccount, application_id: str, body: ApplicationRequest
) -> dict[str, Any]:
    """update-an-application: 200 ApplicationResult. Only the fields sent change."""
    deps = deps_of(request)
    app = await owned_application(deps.store, account, application_id)
    app = await revise(app, body.given(), deps.clock.now(), deps.store.put_application)
    return render_application(app)


@router.delete("/Accounts/{account_id}/Applications/{application_id}", status_code=204)
async def delete_application(
    request: Request, account: PathAccount, application_id: str
) -> Response:
    """delete-an-application: 204. The account's numbers that pointed at it lose the link."""
    deps = deps_of(request)
    await owned_application(deps.store, account, application_id)
    now = deps.clock.now()
    for number in await deps.store.list_numbers(account.account_id):
        if number.application_id == application_id:
            await deps.store.put_number(revised(number, now, application_id=None))
    await deps.store.delete_application(application_id)
    return Response(status_code=204)
