"""records.revised: a new revision of a record, field for field what dataclasses.replace gives."""

from __future__ import annotations

import dataclasses

import pytest

from percl.domain.enums import CallDirection, CallStatus
from percl.domain.records import Account, Call, Queue, revised


def test_a_revision_changes_what_was_asked_and_the_revision_and_keeps_the_rest() -> None:
    call = Call(call_id="CA1", account_id="AC1", from_="+1", to="+2",
                direction=CallDirection.OUTBOUND_API, revision=3, date_updated=5.0)
    new = revised(call, 9.0, status=CallStatus.IN_PROGRESS, answered_by="human")
    assert new == dataclasses.replace(call, status=CallStatus.IN_PROGRESS, answered_by="human",
                                      revision=4, date_updated=9.0)
    assert type(new) is Call and call.revision == 3  # the old record is untouched


def test_every_kind_of_record_revises_and_an_unknown_field_is_refused() -> None:
    account = Account(account_id="AC1", api_key="k", signing_secret="s")
    assert revised(account, 2.0, alias="a") == dataclasses.replace(
        account, alias="a", revision=account.revision + 1, date_updated=2.0)
    queue = Queue(queue_id="QU1", account_id="AC1")
    assert revised(queue, 3.0).revision == queue.revision + 1
    with pytest.raises(TypeError):
        revised(queue, 3.0, no_such_field=1)
