"""Shared fixtures for the webhooks tests: an account, realistic calls, a recording LogSink."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from percl.domain.enums import CallDirection, CallStatus, LogLevel
from percl.domain.records import Account, Call

ACCOUNT_ID = "AC" + "1" * 40
SECRET = "sigsec_ead6d3b6904196c60835d039e91b3341c77a7793"
PARENT_ID = "CA" + "a" * 40
CHILD_ID = "CA" + "c" * 40
CONFERENCE_ID = "CF" + "f" * 40
QUEUE_ID = "QU" + "e" * 40


@pytest.fixture
def account() -> Account:
    return Account(account_id=ACCOUNT_ID, api_key="k" * 40, signing_secret=SECRET)


def make_call(**changes: Any) -> Call:
    """An answered inbound leg; keyword arguments replace fields."""
    values: dict[str, Any] = {
        "call_id": PARENT_ID,
        "account_id": ACCOUNT_ID,
        "from_": "+13121000109",
        "to": "+13121000096",
        "direction": CallDirection.INBOUND,
        "status": CallStatus.IN_PROGRESS,
    }
    values.update(changes)
    return Call(**values)


@dataclass
class LogRecord:
    level: LogLevel
    account_id: str
    message: str
    call_id: str | None
    request_id: str | None
    metadata: Mapping[str, Any]


@dataclass
class RecordingSink:
    """A LogSink that keeps every entry in memory."""

    entries: list[LogRecord] = field(default_factory=list)

    async def log(
        self,
        level: LogLevel,
        account_id: str,
        message: str,
        *,
        call_id: str | None = None,
        request_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self.entries.append(
            LogRecord(level, account_id, message, call_id, request_id, dict(metadata or {}))
        )


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()
