"""The official freeclimb SDK (5.4.x) against a live `percl serve` subprocess, and the webhooks
that server sends over real HTTP to a customer app.

"Done" for part 1: every REST operation answers with a body the SDK deserializes into the right
model, and every webhook body parses with the SDK's webhook models into the right class and
carries a FreeClimb-Signature an independent HMAC and the SDK's RequestVerifier both accept.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import freeclimb
import pytest
from freeclimb.exceptions import NotFoundException, UnauthorizedException
from freeclimb.models.webhook import Webhook
from freeclimb.utils.request_verifier import RequestVerifier

from .live import (
    Credentials,
    LiveServer,
    Received,
    WebhookSink,
    free_port,
    run_serve_once,
    serve_env,
)

CALLEE = "+15550100002"
CALL_DONE_TIMEOUT_S = 15.0


@pytest.fixture(scope="module")
def creds() -> Credentials:
    return Credentials.generate()


@pytest.fixture(scope="module")
def sink() -> Iterator[WebhookSink]:
    app = WebhookSink()
    app.start()
    yield app
    app.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, creds: Credentials) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("serve")
    port = free_port()
    live = LiveServer(workdir, serve_env(workdir / "percl.db", port, creds), port, creds)
    live.start()
    yield live
    live.stop()
    assert live.process is not None and live.process.poll() is not None, "percl serve still runs"


def client(server: LiveServer, password: str) -> freeclimb.DefaultApi:
    cfg = freeclimb.Configuration(host=server.apiserver, username=server.creds.account_id,
                                  password=password)
    return freeclimb.DefaultApi(freeclimb.ApiClient(cfg))


@pytest.fixture(scope="module")
def api(server: LiveServer) -> freeclimb.DefaultApi:
    return client(server, server.creds.api_key)


# ---------------------------------------------------------------------------------- accounts


def test_get_and_update_account(api: freeclimb.DefaultApi, creds: Credentials) -> None:
    account = api.get_an_account()
    assert isinstance(account, freeclimb.AccountResult)
    assert account.account_id == creds.account_id and account.api_key == creds.api_key
    assert account.status == freeclimb.AccountStatus.ACTIVE
    before = account.revision
    assert api.update_an_account(freeclimb.AccountRequest(alias="live", label="it")) is None
    again = api.get_an_account()
    assert (again.alias, again.label, again.revision) == ("live", "it", before + 1)


def test_wrong_password_is_unauthorized(server: LiveServer) -> None:
    with pytest.raises(UnauthorizedException) as info:
        client(server, "0" * 40).get_an_account()
    assert info.value.status == 401


# ------------------------------------------------------------------------------ applications


def test_application_lifecycle(api: freeclimb.DefaultApi, sink: WebhookSink,
                               creds: Credentials) -> None:
    request = freeclimb.ApplicationRequest(alias="lifecycle", call_connect_url=sink.url("/c"),
                                           status_callback_url=sink.url("/s"))
    created = api.create_an_application(request)
    assert isinstance(created, freeclimb.ApplicationResult)
    assert created.account_id == creds.account_id and created.revision == 1
    app_id = created.application_id
    listed = api.list_applications(alias="lifecycle")
    assert isinstance(listed, freeclimb.ApplicationList)
    assert [a.application_id for a in listed.applications] == [app_id]
    assert api.list_applications(alias="no such alias").applications == []
    got = api.get_an_application(app_id)
    assert isinstance(got, freeclimb.ApplicationResult)
    assert (got.call_connect_url, got.status_callback_url) == (sink.url("/c"), sink.url("/s"))
    updated = api.update_an_application(app_id, freeclimb.ApplicationRequest(voice_url=sink.url("/v")))
    assert isinstance(updated, freeclimb.ApplicationResult)
    assert (updated.voice_url, updated.call_connect_url, updated.revision) == (
        sink.url("/v"), sink.url("/c"), 2)
    assert api.delete_an_application(app_id) is None
    with pytest.raises(NotFoundException):
        api.get_an_application(app_id)


# ----------------------------------------------------------------------------------- numbers


def test_available_numbers_filters(api: freeclimb.DefaultApi) -> None:
    found = api.list_available_numbers(phone_number="^\\+1312555010[0-4]$", region="IL",
                                       country="US")
    assert isinstance(found, freeclimb.AvailableNumberList)
    numbers = [n.phone_number for n in found.available_phone_numbers]
    assert numbers == [f"+1312555010{i}" for i in range(5)]
    assert all(n.region == "IL" and n.country == "US" for n in found.available_phone_numbers)
    assert found.total == 5 and found.next_page_uri is None
    assert api.list_available_numbers(phone_number="^\\+1312", region="NY").total == 0
    assert api.list_available_numbers(region="ON", country="US").total == 0


def test_get_next_page_walks_every_page(api: freeclimb.DefaultApi) -> None:
    # New York has five area codes of 100 fictional lines each: several pages of available
    # numbers, with no setup.
    page = api.list_available_numbers(region="NY", country="US")
    seen = [n.phone_number for n in page.available_phone_numbers]
    pages = [page.page]
    while page.next_page_uri:
        page = api.get_next_page(page)
        assert isinstance(page, freeclimb.AvailableNumberList)
        pages.append(page.page)
        seen += [n.phone_number for n in page.available_phone_numbers]
    assert len(pages) > 1 and pages == list(range(len(pages)))
    assert page.num_pages == len(pages) and page.total == len(seen) == len(set(seen))
    assert all(n.startswith(("+1212", "+1516", "+1646", "+1718", "+1929")) for n in seen)


def test_incoming_number_lifecycle(api: freeclimb.DefaultApi, creds: Credentials) -> None:
    wanted = api.list_available_numbers(phone_number="^\\+1907", region="AK")
    number = wanted.available_phone_numbers[0].phone_number
    bought = api.buy_a_phone_number(freeclimb.BuyIncomingNumberRequest(phone_number=number,
                                                                       alias="alaska"))
    assert isinstance(bought, freeclimb.IncomingNumberResult)
    assert (bought.account_id, bought.phone_number, bought.region) == (creds.account_id, number,
                                                                      "AK")
    pn = bought.phone_number_id
    for filters in ({"alias": "alaska"}, {"region": "AK"}, {"country": "US", "alias": "alaska"},
                    {"phone_number": "^\\+1907"}):
        listed = api.list_incoming_numbers(**filters)
        assert isinstance(listed, freeclimb.IncomingNumberList)
        assert [n.phone_number_id for n in listed.incoming_phone_numbers] == [pn], filters
    assert api.list_incoming_numbers(alias="alaska", region="NY").incoming_phone_numbers == []
    got = api.get_an_incoming_number(pn)
    assert isinstance(got, freeclimb.IncomingNumberResult) and got.phone_number == number
    updated = api.update_an_incoming_number(pn, freeclimb.IncomingNumberRequest(alias="AK main"))
    assert isinstance(updated, freeclimb.IncomingNumberResult)
    assert (updated.alias, updated.revision) == ("AK main", 2)
    assert api.delete_an_incoming_number(pn) is None
    with pytest.raises(NotFoundException):
        api.get_an_incoming_number(pn)


# ------------------------------------------------------------------------- a REST call, live


@dataclass(frozen=True)
class CallFlow:
    """One REST call placed through the SDK, run to completion, with the webhooks it caused."""

    queued: freeclimb.CallResult
    final: freeclimb.CallResult
    application_id: str
    number: str
    webhooks: list[Received]


@pytest.fixture(scope="module")
def call_flow(api: freeclimb.DefaultApi, sink: WebhookSink) -> CallFlow:
    app = api.create_an_application(freeclimb.ApplicationRequest(
        alias="caller", call_connect_url=sink.url("/connect"),
        status_callback_url=sink.url("/status")))
    number = api.list_available_numbers(region="CO").available_phone_numbers[0].phone_number
    api.buy_a_phone_number(freeclimb.BuyIncomingNumberRequest(phone_number=number,
                                                              application_id=app.application_id))
    already = len(sink.received)
    queued = api.make_a_call(freeclimb.MakeCallRequest(var_from=number, to=CALLEE,
                                                       application_id=app.application_id))
    # A real subprocess: poll, bounded, with small sleeps.
    deadline = time.monotonic() + CALL_DONE_TIMEOUT_S
    final = api.get_a_call(queued.call_id)
    while final.status != freeclimb.CallStatus.COMPLETED and time.monotonic() < deadline:
        time.sleep(0.05)
        final = api.get_a_call(queued.call_id)
    webhooks = sink.wait_for(already + 2, timeout_s=CALL_DONE_TIMEOUT_S)[already:]
    return CallFlow(queued, final, app.application_id, number, webhooks)


def test_make_a_call_is_queued_then_completes(call_flow: CallFlow, creds: Credentials) -> None:
    queued, final = call_flow.queued, call_flow.final
    assert isinstance(queued, freeclimb.CallResult)
    assert queued.status == freeclimb.CallStatus.QUEUED
    assert queued.direction == freeclimb.CallDirection.OUTBOUND_API
    assert (queued.var_from, queued.to, queued.account_id) == (call_flow.number, CALLEE,
                                                               creds.account_id)
    assert isinstance(final, freeclimb.CallResult)
    assert final.status == freeclimb.CallStatus.COMPLETED
    assert (final.call_id, final.application_id) == (queued.call_id, call_flow.application_id)
    assert final.end_time is not None and final.subresource_uris is not None


def test_list_calls_filters(api: freeclimb.DefaultApi, call_flow: CallFlow) -> None:
    call_id = call_flow.queued.call_id
    for filters in ({"status": freeclimb.CallStatus.COMPLETED}, {"to": CALLEE},
                    {"var_from": call_flow.number}, {"to": CALLEE, "var_from": call_flow.number}):
        listed = api.list_calls(**filters)
        assert isinstance(listed, freeclimb.CallList)
        assert [c.call_id for c in listed.calls] == [call_id], filters
        assert listed.next_page_uri is None and listed.page == 0 and listed.total == 1
    assert api.list_calls(active=True).calls == []
    assert api.list_calls(status=freeclimb.CallStatus.QUEUED).calls == []
    assert api.list_calls(to="+15550100003").calls == []


def test_call_logs_and_account_logs(api: freeclimb.DefaultApi, call_flow: CallFlow) -> None:
    call_id = call_flow.queued.call_id
    call_logs = api.list_call_logs(call_id)
    assert isinstance(call_logs, freeclimb.LogList)
    assert call_logs.logs and all(e.call_id == call_id for e in call_logs.logs)
    assert all(isinstance(e.level, freeclimb.LogLevel) for e in call_logs.logs)
    # Every webhook delivery is logged against the call, under the REST request's id.
    delivered = {(e.metadata or {}).get("requestType") for e in call_logs.logs}
    assert {"outDialApiConnect", "callStatus"} <= delivered
    request_ids = {w.headers["request-id"] for w in call_flow.webhooks}
    assert len(request_ids) == 1 and next(iter(request_ids)).startswith("RQ")
    assert {e.request_id for e in call_logs.logs} == request_ids
    account_logs = api.list_all_account_logs()
    assert isinstance(account_logs, freeclimb.LogList)
    account_keys = {(e.timestamp, e.message) for e in account_logs.logs}
    assert {(e.timestamp, e.message) for e in call_logs.logs} <= account_keys


def test_update_finished_call_is_not_found(api: freeclimb.DefaultApi, call_flow: CallFlow) -> None:
    assert call_flow.final.status == freeclimb.CallStatus.COMPLETED
    update = freeclimb.UpdateCallRequest(status=freeclimb.UpdateCallRequestStatus.COMPLETED)
    with pytest.raises(NotFoundException) as info:
        api.update_a_live_call(call_flow.queued.call_id, update)
    assert info.value.status == 404


# ---------------------------------------------------------------------------------- webhooks


def test_webhooks_arrive_and_parse_into_sdk_classes(call_flow: CallFlow,
                                                    creds: Credentials) -> None:
    assert [w.path for w in call_flow.webhooks] == ["/connect", "/status"]
    connect_raw, status_raw = (w.raw.decode() for w in call_flow.webhooks)
    connect = Webhook.from_json(connect_raw)
    assert isinstance(connect, freeclimb.OutDialApiConnectWebhook)
    assert (connect.call_id, connect.account_id) == (call_flow.queued.call_id, creds.account_id)
    assert (connect.var_from, connect.to) == (call_flow.number, CALLEE)
    assert connect.call_status == freeclimb.CallStatus.IN_PROGRESS
    assert connect.direction == freeclimb.CallDirection.OUTBOUND_API
    status = Webhook.from_json(status_raw)
    assert isinstance(status, freeclimb.CallStatusWebhook)
    assert status.call_id == call_flow.queued.call_id
    assert status.call_status == freeclimb.CallStatus.COMPLETED
    assert status.call_ended_reason == freeclimb.CallEndedReason.APP_HANGUP
    assert all(w.headers["content-type"].startswith("application/json")
               for w in call_flow.webhooks)


def test_webhook_signatures_verify(call_flow: CallFlow, creds: Credentials) -> None:
    assert call_flow.webhooks
    for hook in call_flow.webhooks:
        header = hook.headers["freeclimb-signature"]
        items = dict(item.split("=", 1) for item in header.split(","))
        assert set(items) == {"t", "v1"} and " " not in header
        t = int(items["t"])
        assert abs(time.time() - t) < 300
        expected = hmac.new(creds.signing_secret.encode(), f"{t}.".encode() + hook.raw,
                            hashlib.sha256).hexdigest()
        assert hmac.compare_digest(items["v1"], expected), hook.path
        # The SDK verifier raises on failure (it is only a positive oracle, FREECLIMB.md §4.2).
        RequestVerifier.verify_request_signature(hook.raw.decode(), header, creds.signing_secret)


def test_webhook_bodies_are_sorted_compact_json(call_flow: CallFlow) -> None:
    assert call_flow.webhooks
    for hook in call_flow.webhooks:
        parsed = json.loads(hook.raw)
        assert list(parsed) == sorted(parsed), hook.path
        compact = dict(sort_keys=True, separators=(",", ":"))
        as_ascii = json.dumps(parsed, ensure_ascii=True, **compact)  # type: ignore[arg-type]
        as_utf8 = json.dumps(parsed, ensure_ascii=False, **compact)  # type: ignore[arg-type]
        text = hook.raw.decode("utf-8")
        assert text in (as_ascii, as_utf8), hook.path


# ------------------------------------------------------------------------- restart and config


def test_restart_keeps_the_call_record(server: LiveServer, api: freeclimb.DefaultApi,
                                       call_flow: CallFlow) -> None:
    before = api.get_a_call(call_flow.queued.call_id)
    code = server.stop()
    assert not server.killed, "percl serve ignored SIGINT for 10 s"
    assert code == 0, server.output()
    server.start()
    after = api.get_a_call(call_flow.queued.call_id)
    assert isinstance(after, freeclimb.CallResult)
    assert after.model_dump() == before.model_dump()
    assert api.get_an_application(call_flow.application_id).alias == "caller"


@pytest.mark.parametrize(("variable", "value"),
                         [("PERCL_PORT", "notaport"), ("PERCL_MEDIA_TIME_SCALE", "-1")])
def test_bad_configuration_is_refused(tmp_path: Path, creds: Credentials, variable: str,
                                      value: str) -> None:
    env = serve_env(tmp_path / "percl.db", free_port(), creds, **{variable: value})
    code, output = run_serve_once(tmp_path, env, timeout_s=60.0)  # a bound, not a speed target
    assert code != 0
    assert variable in output
    assert not (tmp_path / "percl.db").exists()
