"""A conference spanning two worker processes (`percl serve --workers 2` on PostgreSQL): a call
placed on each worker joins one conference; the leg whose worker does not run the room moves to
the room's worker in its parcel over the bus (its simulated phone with it), and the two callers
hear each other; REST lists both participants on either worker; a leaving participant and the
conference's end send their webhooks, which the FreeClimb SDK parses.

Which worker answers: see tests/integration/test_workers_live.py (keep-alive connections, each
asked GET /healthz)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import pytest
from freeclimb.models.webhook import Webhook
from starlette.requests import Request
from starlette.responses import JSONResponse

from percl.testing.audio import read_leg_wav
from tests import postgres
from tests.cli.serving import Served, serve_env
from tests.cli.test_serve_workers import READY_S
from tests.integration.live import Credentials, WebhookSink, free_port
from tests.integration.test_workers_live import Connections, _owners, _until

CALLEES = ("+15550100041", "+15550100042")
LEASE_S = 6


class ConferenceApp(WebhookSink):
    """The customer's app: a call connected to /join/{conferenceId} joins that conference."""

    async def _handle(self, request: Request) -> JSONResponse:
        await super()._handle(request)
        if request.url.path.startswith("/join/"):
            conference_id = request.url.path.rsplit("/", 1)[1]
            return JSONResponse([{"AddToConference": {
                "conferenceId": conference_id, "leaveConferenceUrl": self.url("/left")}}])
        return JSONResponse([])


@pytest.fixture
def app() -> Iterator[ConferenceApp]:
    sink = ConferenceApp()
    sink.start()
    yield sink
    sink.stop()


def _heard(client: httpx.Client, call_id: str) -> list[tuple[str | None, str | None]]:
    r = client.get(f"/sim/v1/calls/{call_id}/transcript")
    assert r.status_code == 200, r.text
    return [(e.get("speakerCallId"), e.get("text")) for e in r.json()["entries"]
            if e["type"] == "heard"]


def _said_all(client: httpx.Client, call_id: str) -> list[npt.NDArray[np.int16]]:
    """The phone's whole utterance once it has finished it (its sent track ends in silence);
    [] until then."""
    r = client.get(f"/sim/v1/calls/{call_id}/audio")
    assert r.status_code == 200, r.text
    sent = read_leg_wav(r.content).sent
    loud = np.flatnonzero(np.abs(sent) > 300)
    if len(loud) == 0 or len(sent) - loud[-1] < 8000 // 2:  # not yet 0.5 s of silence after it
        return []
    return [sent[loud[0]:loud[-1] + 1]]


def _hears(client: httpx.Client, call_id: str, voice: npt.NDArray[np.int16]) -> bool:
    r = client.get(f"/sim/v1/calls/{call_id}/audio")
    assert r.status_code == 200, r.text
    return read_leg_wav(r.content).offset_of(voice, side="heard", min_match=0.8) is not None


@pytest.mark.parametrize("media", ["symbolic", "audio"])
def test_a_conference_spans_two_worker_processes(tmp_path: Path, app: ConferenceApp,
                                                 media: str) -> None:
    """`audio`: percl serve's default fidelity; the moved phone's frames are made by the room's
    worker, and each caller hears the other's voice (by correlation)."""
    url = postgres.server().new_database()
    creds = Credentials.generate()
    fidelity = {"PERCL_MEDIA": media, "PERCL_MEDIA_TIME_SCALE": "1" if media == "audio" else "0"}
    env = serve_env(tmp_path, free_port(), PERCL_DB=url, PERCL_ACCOUNT_ID=creds.account_id,
                    PERCL_API_KEY=creds.api_key, PERCL_SIGNING_SECRET=creds.signing_secret,
                    PERCL_LEASE_SECONDS=str(LEASE_S), **fidelity)
    served = Served(tmp_path, env, "--workers", "2").start(timeout_s=READY_S)
    conns = Connections(served.url, creds)
    try:
        a, on_a = conns.to()
        b, on_b = conns.to(other_than=a)

        def rest(client: httpx.Client, method: str, path: str, **body: Any) -> httpx.Response:
            return client.request(method, f"/apiserver/Accounts/{creds.account_id}{path}",
                                  json=body or None)

        made = rest(on_a, "POST", "/Conferences", playBeep="never",
                    statusCallbackUrl=app.url("/confStatus"))
        assert made.status_code == 200, made.text
        room = made.json()["conferenceId"]
        application = rest(on_a, "POST", "/Applications", callConnectUrl=app.url(f"/join/{room}"),
                           statusCallbackUrl=app.url("/status")).json()["applicationId"]

        def participants(client: httpx.Client) -> list[str]:
            r = rest(client, "GET", f"/Conferences/{room}/Participants")
            assert r.status_code == 200, r.text
            return sorted(p["callId"] for p in r.json()["participants"])

        def call_on(client: httpx.Client, to: str) -> str:
            r = rest(client, "POST", "/Calls", **{"from": "+13125550100", "to": to,
                                                  "applicationId": application})
            assert r.status_code == 202, r.text
            call_id: str = r.json()["callId"]
            return call_id

        # A call on worker A opens the room there; a call on worker B joins it (and moves).
        first = call_on(conns.to(a)[1], CALLEES[0])
        _until(lambda: participants(conns.to(a)[1]) == [first], "the first participant")
        second = call_on(conns.to(b)[1], CALLEES[1])
        both = sorted([first, second])
        _until(lambda: participants(conns.to(b)[1]) == both, "both participants, listed on B")
        assert participants(conns.to(a)[1]) == both  # and on A
        assert _owners(url)[second] == a  # the leg runs on the room's worker now
        for client in (conns.to(a)[1], conns.to(b)[1]):
            for call_id in both:
                assert rest(client, "GET", f"/Calls/{call_id}").json()["status"] == "inProgress"

        # Each hears the other: both phones are on A's network now (B's has let its phone go).
        _, on_a = conns.to(a)
        _, on_b = conns.to(b)
        # The sim API through B reaches the moved leg on A (forwarded over the bus), but
        # for its audio, which stays on A.
        through_b = on_b.get(f"/sim/v1/calls/{second}/transcript")
        assert through_b.status_code == 200, through_b.text
        assert through_b.json() == on_a.get(f"/sim/v1/calls/{second}/transcript").json()
        audio_b = on_b.get(f"/sim/v1/calls/{second}/audio")
        assert audio_b.status_code == 409, audio_b.text
        assert "runs on another percl worker" in audio_b.json()["message"]
        for client, call_id, text in ((on_a, first, "hello from one"),
                                      (on_b, second, "hello from two")):
            r = client.post(f"/sim/v1/calls/{call_id}/speech", json={"text": text})
            assert r.status_code == 204, r.text
        assert _until(lambda: _heard(conns.to(a)[1], first), "the first caller hearing") == [
            (second, "hello from two")]
        assert _until(lambda: _heard(conns.to(a)[1], second), "the second caller hearing") == [
            (first, "hello from one")]
        if media == "audio":  # the voices themselves, mixed by A's plane
            for speaker, listener in ((second, first), (first, second)):
                [voice] = _until(lambda s=speaker: _said_all(conns.to(a)[1], s), "a whole voice")
                assert _until(lambda lst=listener, v=voice: _hears(conns.to(a)[1], lst, v),
                              f"{listener} hearing {speaker}'s voice")

        # The moved caller hangs up: it leaves (leaveConference), the other stays.
        assert conns.to(a)[1].post(f"/sim/v1/calls/{second}/hangup").status_code == 204
        left = _until(lambda: [w for w in app.received if w.path == "/left"], "leaveConference")
        assert len(left) == 1
        leave = Webhook.from_json(left[0].raw.decode())
        assert leave is not None
        body = json.loads(left[0].raw)
        assert (body["requestType"], body["callId"], body["conferenceId"]) == (
            "leaveConference", second, room)
        _until(lambda: participants(conns.to(b)[1]) == [first], "one participant left")

        # The conference ends (terminated through B; the room runs on A): the first call ends.
        r = rest(conns.to(b)[1], "POST", f"/Conferences/{room}", status="terminated")
        assert r.status_code == 204, r.text
        _until(lambda: rest(conns.to(b)[1], "GET", f"/Calls/{first}").json()["status"]
               == "completed", "the first call ended")

        def conference_statuses() -> list[str]:
            return [json.loads(w.raw)["status"] for w in app.received
                    if w.path == "/confStatus"]

        _until(lambda: "terminated" in conference_statuses(), "the conference's end")
        assert conference_statuses()[-1] == "terminated"
        def completed() -> set[str]:
            return {json.loads(w.raw)["callId"] for w in app.received
                    if w.path == "/status" and json.loads(w.raw)["callStatus"] == "completed"}

        _until(lambda: completed() == set(both), "both final callStatus webhooks")
        reasons = {json.loads(w.raw)["callId"]: json.loads(w.raw).get("callEndedReason")
                   for w in app.received if w.path == "/status"}
        assert reasons == {first: "conferenceTerminated", second: "farEndHangup"}
        for webhook in app.received:
            assert Webhook.from_json(webhook.raw.decode()) is not None, webhook.raw
    finally:
        conns.close()
        code = served.stop()
    assert code == 0, served.output()
