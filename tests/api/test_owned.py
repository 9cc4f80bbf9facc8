"""api/owned.py: an account's records as REST resources (lookups, partial updates)."""

from __future__ import annotations

import pytest

from percl.api.applications import ApplicationRequest
from percl.api.owned import of_account, revise, sent_fields
from percl.domain.records import Account, Application
from percl.errors import NotFound

MINE = Account("AC" + "1" * 40, "key", "secret")
THEIRS = Account("AC" + "2" * 40, "key2", "secret2")
APP = Application("AP" + "3" * 40, MINE.account_id, alias="menu")


def test_a_record_of_the_account_is_returned() -> None:
    assert of_account(APP, MINE, "Application x") is APP


@pytest.mark.parametrize("record", [None, APP])
def test_missing_and_foreign_records_are_equally_not_found(record: Application | None) -> None:
    with pytest.raises(NotFound) as caught:
        of_account(record, THEIRS, f"Application {APP.application_id}", code=66)
    assert caught.value.message == f"Application {APP.application_id} not found"
    assert (caught.value.status, caught.value.code) == (404, 66)
    with pytest.raises(NotFound) as default:
        of_account(None, MINE, "Call x")
    assert default.value.code == 1


def test_sent_fields_keep_explicit_nulls_only() -> None:
    body = ApplicationRequest.model_validate({"voiceUrl": None, "alias": "a"})
    assert sent_fields(body) == {"voice_url": None, "alias": "a"}


async def test_revise_stores_a_new_revision_only_when_something_changed() -> None:
    stored: list[Application] = []

    async def put(app: Application) -> None:
        stored.append(app)

    assert await revise(APP, {}, 50.0, put) is APP and stored == []
    updated = await revise(APP, {"alias": "main"}, 50.0, put)
    assert (updated.alias, updated.revision, updated.date_updated) == ("main", 2, 50.0)
    assert stored == [updated]
