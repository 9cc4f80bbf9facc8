"""Attack surface: basic-auth credentials in a webhook URL (`https://user:secret@host/...`).

The app needs them to reach its server, so the URL goes out as given; but every place percl logs
or traces a URL (webhook attempts, the PerCL it received, fetch errors, warnings) must show the
user-info masked. The account log's sink masks every entry, whoever wrote it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import pytest

from percl.domain.urls import mask_credentials, mask_in
from percl.engine.ports import LogFilter
from percl.testing.harness import Harness
from percl.webhooks.faults import Fault, FaultInjector, FaultKind
from percl.webhooks.inprocess import FunctionTransport
from tests.watchdog import watchdog

SECRET = "s3cr3t-pw"
APP = f"https://alice:{SECRET}@app.test"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (f"{APP}/voice", "https://***@app.test/voice"),
        ("http://bob@host:8080/x?y=1", "http://***@host:8080/x?y=1"),
        (f"Webhook POST {APP}/voice failed; trying fallback http://u:p@b.test/f",
         "Webhook POST https://***@app.test/voice failed; trying fallback http://***@b.test/f"),
        ('[{"Redirect":{"actionUrl":"https://a:b@x.test/r"}}]',
         '[{"Redirect":{"actionUrl":"https://***@x.test/r"}}]'),
        ("https://app.test/voice?email=a@b.test", "https://app.test/voice?email=a@b.test"),
        ("mail me at a@b.test", "mail me at a@b.test"),
    ],
)
def test_mask_credentials(text: str, masked: str) -> None:
    assert mask_credentials(text) == masked


def test_masking_a_long_word_is_linear() -> None:
    # Every log entry is masked on the event loop, the "PerCL received" script included: a Say
    # of 300,000 letters beside a URL took minutes with a scheme pattern retried at each letter.
    text = f'[{{"Say": {{"text": "{APP}/x {"a" * 300_000}"}}}}]'
    with watchdog("mask_credentials"):
        assert mask_credentials(text) == text.replace(f"alice:{SECRET}", "***")


def test_mask_in_walks_metadata() -> None:
    meta = {"url": f"{APP}/v", "n": 3, "body": {"urls": [f"{APP}/a", None]}, "ok": True}
    assert mask_in(meta) == {"url": "https://***@app.test/v", "n": 3,
                             "body": {"urls": ["https://***@app.test/a", None]}, "ok": True}


async def test_no_log_entry_shows_the_credentials() -> None:
    async with Harness() as h:
        app = h.scripted_app(APP)
        app.on("/voice", [{"Say": {"text": "hello"}},
                          {"Redirect": {"actionUrl": f"{APP}/next"}}])
        app.on("/next", [{"GetSpeech": {"actionUrl": f"{APP}/heard",
                                        "grammarFile": f"{APP}/missing.grxml"}}])
        app.on("/heard", [{"Hangup": {}}])
        number = await h.number_for_app(voice_url=f"{APP}/voice",
                                        voice_fallback_url=f"https://carol:{SECRET}@gone.test/fb",
                                        status_callback_url=f"{APP}/status")
        call_id = await h.sim_call("+15550100001", number)
        await h.run_until_ended(call_id)
        entries = await h.store.list_logs(h.account.account_id, LogFilter())
        sent = [w.url for w in h.webhooks]

    assert f"{APP}/next" in sent  # the app itself still gets its credentials
    assert len(entries) >= 4
    for entry in entries:
        text = entry.message + json.dumps(entry.metadata)
        assert SECRET not in text, text
    assert any("https://***@app.test/voice" in e.message for e in entries)


async def test_fault_warnings_mask_the_url(caplog: pytest.LogCaptureFixture) -> None:
    from percl.testing import FakeClock

    faults = FaultInjector(FunctionTransport(lambda u, b, h: (200, b"[]")), FakeClock())
    faults.inject("https://nobody.test/", Fault(FaultKind.ERROR, status=503))
    with caplog.at_level(logging.WARNING, logger="percl.webhooks.faults"):
        await faults.post(f"{APP}/voice#percl-fault=bogus", b"{}", {})
    assert caplog.records and all(SECRET not in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "where",
    [
        lambda u: {"url": u},
        lambda u: {"body": {"deep": {"deeper": u}}},
        lambda u: {"urls": [1, None, [u]]},
        lambda u: {"pair": (u, 2)},
        lambda u: {"proxy": MappingProxyType({"url": u})},
        lambda u: {"clean": "no at here", "n": 1.5, "list": ["x"], "url": u},
    ],
)
def test_mask_in_masks_a_credential_wherever_the_metadata_holds_it(
    where: Callable[[str], dict[str, Any]],
) -> None:
    """The fast path for metadata without an "@" must not let one through at any depth or in
    any container (a tuple, a Mapping that is not a dict go the full walk)."""
    masked = mask_in(where(f"{APP}/v"))
    assert SECRET not in repr(masked) and "https://***@app.test/v" in repr(masked)


def test_mask_in_gives_metadata_without_credentials_back_equal_in_a_new_dict() -> None:
    meta: dict[str, Any] = {"a": "x", "b": {"c": [1, None, "sip:bob@host"]}, "d": True}
    masked = mask_in(meta)
    assert masked == meta and masked is not meta
    clean: dict[str, Any] = {"a": "x", "b": {"c": [1, None, 2.5]}, "d": None}
    assert mask_in(clean) == clean and mask_in(clean) is not clean
