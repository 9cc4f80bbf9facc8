"""The official queue flows end to end on the FakeClock (FREECLIMB.md §6): an inbound caller waits
in a queue and leaves it by a key press, by an agent's REST dequeue, or by hanging up.

The first flow is FreeClimb's "inbound call queue" tutorial (FreeClimbAPI/Node-Inbound-Call-Queue-
Tutorial) ported to Flask and the official Python SDK: the voiceUrl handler creates the queue over
REST and answers Enqueue; the wait script asks for a key; a key answers Dequeue, silence answers a
Redirect back to the wait script; the actionUrl says goodbye.
"""

from __future__ import annotations

import asyncio
from typing import Any

import freeclimb
from flask import Flask, Response, request, url_for
from freeclimb.models.webhook import Webhook

from percl.domain.enums import CallEndedReason, CallStatus
from percl.telephony.sim.model import PhoneStep
from percl.testing.harness import Harness, ScriptedApp
from tests.e2e.conftest import AGENT, CALLER, kinds, said

PRESS = "Press any key to exit queue."
EXITED = "Call exited queue"
MUSIC = "http://app.test/getAudio"


def _percl(*commands: Any) -> Response:
    return Response(freeclimb.PerclScript(commands=list(commands)).to_json(),
                    mimetype="application/json")


def queue_tutorial(api: freeclimb.DefaultApi) -> Flask:
    """FreeClimb's inbound call queue tutorial, as a Flask app on the official SDK."""
    app = Flask(__name__)

    @app.post("/incomingCall")
    def incoming_call() -> Response:
        queue = api.create_a_queue(freeclimb.QueueRequest(alias="Test", max_size=25))
        return _percl(freeclimb.Enqueue(
            queue_id=queue.queue_id, action_url=url_for("inbound_call_action", _external=True),
            wait_url=url_for("inbound_call_wait", _external=True)))

    @app.post("/inboundCallWait")
    def inbound_call_wait() -> Response:
        prompts = [freeclimb.Say(text=PRESS), freeclimb.Play(file=MUSIC)]
        return _percl(freeclimb.GetDigits(
            action_url=url_for("call_dequeue", _external=True), prompts=prompts,
            max_digits=1, min_digits=1, flush_buffer=True))

    @app.post("/callDequeue")
    def call_dequeue() -> Response:
        if request.get_json()["digits"]:
            return _percl(freeclimb.Dequeue())
        return _percl(freeclimb.Redirect(action_url=url_for("inbound_call_wait", _external=True)))

    @app.post("/inboundCallAction")
    def inbound_call_action() -> Response:
        return _percl(freeclimb.Say(text=EXITED))

    @app.post("/status")
    def status() -> Response:
        return _percl()

    return app


def _sdk_parses(h: Harness) -> None:
    """Every webhook body is one the official SDK parses into the class of its requestType."""
    for w in h.webhooks:
        parsed = Webhook.from_json(w.raw.decode())
        assert type(parsed).__name__.lower() == w.request_type.lower() + "webhook", w.request_type


def _paths(h: Harness, call_id: str) -> list[tuple[str, str]]:
    return [(w.path, w.request_type) for w in h.webhooks_for(call_id)]


async def _rest(h: Harness, method: str, path: str, **kwargs: Any) -> Any:
    r = await h.rest.request(method, f"/Accounts/{h.account.account_id}{path}", **kwargs)
    assert r.status_code < 300, r.text
    return r.json()


async def test_inbound_queue_left_by_a_key_press(h: Harness) -> None:
    api = h.freeclimb_api()
    base = h.mount(queue_tutorial(api))
    number = await h.number_for_app(voice_url=base + "/incomingCall",
                                    status_callback_url=base + "/status")
    # Silence through the first wait script (GetDigits times out), a key during the second.
    call_id = await h.sim_call(CALLER, number, [PhoneStep(after_ms=14_000, digits="7")])
    call = await h.run_until_ended(call_id, limit_s=120)

    assert _paths(h, call_id) == [
        ("/incomingCall", "inboundCall"),
        ("/inboundCallWait", "queueWait"),
        ("/callDequeue", "getDigits"),
        ("/inboundCallWait", "redirect"),
        ("/callDequeue", "getDigits"),
        ("/inboundCallAction", "dequeue"),
        ("/status", "callStatus"),
    ]
    hooks = h.webhooks_for(call_id)
    queue_id = hooks[1].body["queueId"]
    wait = hooks[1].body
    assert (wait["queuePosition"], wait["currentQueueSize"], wait["queueTime"]) == ("1", 1, 0)
    assert wait["callStatus"] == "inProgress"
    assert hooks[2].body["digits"] == "" and hooks[2].body["reason"] == "timeout"
    assert hooks[4].body["digits"] == "7"
    assert all(w.body["queueId"] == queue_id for w in hooks[1:5])  # in the queue: queueId set
    dequeue = hooks[5].body
    assert dequeue["queueResult"] == "dequeued" and dequeue["queueId"] == queue_id
    assert dequeue["queueTime"] == round(hooks[5].sent_at - hooks[1].sent_at) == 14
    assert hooks[6].body["queueId"] is None  # out of the queue again
    assert call.status is CallStatus.COMPLETED
    assert call.call_ended_reason is CallEndedReason.APP_HANGUP  # /inboundCallAction ran out
    assert call.queue_id is None

    transcript = h.transcript(call_id)
    assert said(transcript) == [PRESS, PRESS, EXITED]
    assert kinds(transcript).count("play") == 2  # the music of each wait script
    assert [e.digits for e in transcript.entries if e.type == "digitsPressed"] == ["7"]

    queue = await asyncio.to_thread(api.get_a_queue, queue_id)
    assert (queue.alias, queue.max_size, queue.current_size) == ("Test", 25, 0)
    assert queue.average_queue_removal_time == dequeue["queueTime"] > 0
    assert (await asyncio.to_thread(api.list_members, queue_id)).queue_members == []
    _sdk_parses(h)


QU = "QU" + "5" * 40
MUSIC_SCRIPT = [{"Play": {"file": MUSIC}}]


def _agent_desk(h: Harness) -> ScriptedApp:
    """A support line: callers hear music in queue QU until an agent takes them over REST."""
    app = h.scripted_app()
    app.on("/voice", [{"Say": {"text": "All agents are busy"}}, {"Enqueue": {
        "queueId": QU, "waitUrl": app.url("/wait"), "actionUrl": app.url("/action"),
        "notificationUrl": app.url("/notify")}}])
    app.on("/wait", MUSIC_SCRIPT)
    app.on("/notify", [{"Say": {"text": "notifications ignore PerCL"}}])
    app.on("/action", lambda body: [{"Say": {"text": f"Connected after {body['queueTime']}"}}]
           if body["requestType"] == "dequeue" else [{"Say": {"text": "never heard"}}])
    app.on("/status", [])
    return app


async def _two_callers(h: Harness, app: ScriptedApp, **script: Any) -> tuple[str, str]:
    number = await h.number_for_app(voice_url=app.url("/voice"),
                                    status_callback_url=app.url("/status"))
    first = await h.sim_call(CALLER, number, script.get("first", ()))
    await h.advance(3)
    second = await h.sim_call(AGENT, number, script.get("second", ()))
    await h.advance(5)
    return first, second


def _removed_at(h: Harness, call_id: str) -> float:
    return h.webhooks(call_id=call_id, request_type="removeFromQueueNotification")[0].sent_at


def _enqueued_at(h: Harness, call_id: str) -> float:
    """When the leg entered the queue: its addToQueueNotification is sent at that instant."""
    return h.webhooks(call_id=call_id, request_type="addToQueueNotification")[0].sent_at


async def test_inbound_queue_left_by_rest_dequeue(h: Harness) -> None:
    app = _agent_desk(h)
    first, second = await _two_callers(h, app)
    t1, t2 = _enqueued_at(h, first), _enqueued_at(h, second)
    wait1, wait2 = round(h.now - t1), round(h.now - t2)
    # each entered after the greeting (symbolic 1.9 s of speech, audio espeak's ~1.1 s)
    greeting = h.say_ms("All agents are busy") / 1000
    assert (wait1, wait2) == (round(8 - greeting), round(5 - greeting))
    api = h.freeclimb_api()
    members = await asyncio.to_thread(api.list_members, QU)
    assert [(m.call_id, m.position, m.wait_time) for m in members.queue_members] == [
        (first, 1, wait1), (second, 2, wait2)]
    queue = await asyncio.to_thread(api.get_a_queue, QU)
    assert (queue.current_size, queue.average_wait_time, queue.max_size) == (2, 5, 100)
    assert queue.alias is None  # created by Enqueue
    assert (await h.call(first)).queue_id == QU

    head = await asyncio.to_thread(api.dequeue_head_member, QU)  # 202 QueueMember
    assert isinstance(head, freeclimb.QueueMember)
    assert (head.call_id, head.position, head.wait_time) == (first, 1, wait1)
    first_call = await h.run_until_ended(first)
    assert _paths(h, first)[-2:] == [("/action", "dequeue"), ("/status", "callStatus")]
    dequeue = h.webhooks_for(first)[-2].body
    assert (dequeue["queueResult"], dequeue["queueTime"], dequeue["queueId"]) == (
        "dequeued", wait1, QU)
    assert said(h.transcript(first))[-1] == f"Connected after {wait1}"
    assert first_call.call_ended_reason is CallEndedReason.APP_HANGUP and first_call.queue_id is None

    # The second caller moved up: its next queueWait says so.
    await h.advance(10)
    waits = [w.body for w in h.webhooks(call_id=second, request_type="queueWait")]
    assert (waits[0]["queuePosition"], waits[0]["currentQueueSize"]) == ("2", 2)
    assert (waits[-1]["queuePosition"], waits[-1]["currentQueueSize"]) == ("1", 1)
    times = [w["queueTime"] for w in waits]
    assert times == sorted(times) and times[-1] > 0

    taken = await asyncio.to_thread(api.dequeue_a_member, QU, second)
    wait2 = round(h.now - t2)
    assert (taken.call_id, taken.position, taken.wait_time) == (second, 1, wait2)
    await h.run_until_ended(second)
    assert h.webhooks_for(second)[-2].body["queueResult"] == "dequeued"
    queue = await asyncio.to_thread(api.get_a_queue, QU)
    assert (queue.current_size, queue.average_wait_time) == (0, 0)
    assert queue.average_queue_removal_time == round((wait1 + wait2) / 2)
    # Each caller heard the greeting, then music until taken; notifications' PerCL is ignored.
    for leg in (first, second):
        assert said(h.transcript(leg))[0] == "All agents are busy"
        assert "play" in kinds(h.transcript(leg))
        assert "notifications ignore PerCL" not in said(h.transcript(leg))
        assert [w.request_type for w in h.webhooks_for(leg)][:3] == [
            "inboundCall", "addToQueueNotification", "queueWait"]
    _sdk_parses(h)


async def test_inbound_queue_left_by_caller_hangup(h: Harness) -> None:
    app = _agent_desk(h)
    first, second = await _two_callers(h, app, first=[PhoneStep(after_ms=9_000, hangup=True)])
    call = await h.run_until_ended(first)
    assert call.status is CallStatus.COMPLETED
    assert call.call_ended_reason is CallEndedReason.FAR_END_HANGUP
    assert _paths(h, first)[-2:] == [("/action", "removeFromQueueNotification"),
                                     ("/status", "callStatus")]
    removed = h.webhooks_for(first)[-2].body
    queue_time = round(_removed_at(h, first) - _enqueued_at(h, first))
    # hung up 9 s after the answer, enqueued after the greeting
    assert queue_time == round(9 - h.say_ms("All agents are busy") / 1000)
    assert (removed["queueResult"], removed["queueTime"], removed["queueId"]) == (
        "hangup", queue_time, QU)
    assert removed["callStatus"] == "completed"
    assert "never heard" not in said(h.transcript(first))  # the leg is gone: PerCL ignored
    assert h.webhooks_for(first)[-1].body["callEndedReason"] == "farEndHangup"

    queue = await _rest(h, "GET", f"/Queues/{QU}")
    assert (queue["currentSize"], queue["averageQueueRemovalTime"]) == (1, queue_time)
    members = await _rest(h, "GET", f"/Queues/{QU}/Members")
    assert [(m["callId"], m["position"]) for m in members["queueMembers"]] == [(second, 1)]
    assert (await h.call(second)).status is CallStatus.IN_PROGRESS  # still waiting
    _sdk_parses(h)
