"""Conference behaviour end to end: beeps, wait audio, privileges, DTMF pass-through, call control,
removal and termination, REST-created conferences and the legacy attributes (FREECLIMB.md §3.2,
§3.3, §6)."""

from __future__ import annotations

from typing import Any

import pytest

from percl.domain.enums import CallEndedReason, CallStatus, ConferenceStatus
from percl.telephony.sim.model import PhoneStep, TranscriptEvent
from percl.testing.harness import Harness
from tests.e2e.conference_kit import AsyncApp, count, heard, sdk_parses_all, statuses

FC_NUMBER = "+13125550100"
A, B, C = "+15550100021", "+15550100022", "+15550100023"


class Room:
    """A REST-created conference that inbound callers join with per-caller AddToConference
    attributes (keyed by the caller's number)."""

    def __init__(self, h: Harness, app: AsyncApp) -> None:
        self.h, self.app = h, app
        self.cf = ""
        self.joins: dict[str, dict[str, Any]] = {}

        async def voice(body: dict[str, Any], _: str) -> Any:
            attrs = self.joins.get(body["from"], {})
            return [{"AddToConference": {"conferenceId": self.cf, **attrs}}]

        app.on("voice", voice)
        for name in ("confStatus", "status", "notify", "left"):
            app.on(name, [])

    async def create(self, **extra: Any) -> str:
        r = await self.h.rest.post(self.base, json={"statusCallbackUrl": self.app.url("/confStatus"),
                                                    **extra})
        assert r.status_code == 200, r.text
        self.cf = r.json()["conferenceId"]
        await self.h.clock.settle()  # the createConference webhook is sent by a task of its own
        await self.h.number_for_app(FC_NUMBER, voice_url=self.app.url("/voice"),
                                    status_callback_url=self.app.url("/status"))
        return self.cf

    @property
    def base(self) -> str:
        return f"/Accounts/{self.h.account.account_id}/Conferences"

    async def call(self, number: str, script: list[PhoneStep] | None = None, **attrs: Any) -> str:
        self.joins[number] = attrs
        return await self.h.sim_call(number, FC_NUMBER, script or [])

    async def participants(self) -> list[dict[str, Any]]:
        r = await self.h.rest.get(f"{self.base}/{self.cf}/Participants")
        assert r.status_code == 200
        return list(r.json()["participants"])


@pytest.fixture
def room(h: Harness) -> Room:
    return Room(h, AsyncApp(h))


# --------------------------------------------------------------------------- beeps and waiting


@pytest.mark.parametrize(("play_beep", "entries", "exits"), [
    ("always", 1, 1), ("never", 0, 0), ("entryOnly", 1, 0), ("exitOnly", 0, 1)])
async def test_play_beep(h: Harness, room: Room, play_beep: str, entries: int, exits: int) -> None:
    await room.create(playBeep=play_beep)
    a = await room.call(A)
    await h.advance(1)
    b = await room.call(B, [PhoneStep(2000, hangup=True)])
    await h.advance(5)
    # A heard its own entry, B's entry and B's exit; B only its own entry
    assert count(h.transcript(a), TranscriptEvent.BEEP) == 2 * entries + exits
    assert count(h.transcript(b), TranscriptEvent.BEEP) == entries
    assert (await h.call(a)).status is CallStatus.IN_PROGRESS


async def test_wait_audio_until_a_moderator_starts_the_conference(h: Harness, room: Room) -> None:
    cf = await room.create(waitUrl="http://app.test/hold.wav", playBeep="never")
    a = await room.call(A, [PhoneStep(1000, say="Anyone there?")], startConfOnEnter=False)
    await h.advance(8)
    conference = await h.store.get_conference(cf)
    assert conference.status is ConferenceStatus.POPULATED
    plays = [e for e in h.transcript(a).entries if e.type is TranscriptEvent.PLAY]
    # looped, 3 s a play: at 0, 3 and 6 s (the third still playing)
    assert [(e.at_ms, e.url, e.interrupted) for e in plays] == [
        (0, "http://app.test/hold.wav", None), (3000, "http://app.test/hold.wav", None),
        (6000, "http://app.test/hold.wav", None)]
    b = await room.call(B, [PhoneStep(1000, say="Welcome, let us start")])
    await h.advance(3)
    assert (await h.store.get_conference(cf)).status is ConferenceStatus.IN_PROGRESS
    plays = [e for e in h.transcript(a).entries if e.type is TranscriptEvent.PLAY]
    assert len(plays) == 3  # the wait audio stopped when the moderator came in
    assert (plays[-1].interrupted, plays[-1].heard_ms) == (True, 2000)
    # waiting, A was not bridged: nobody heard its question; now it hears B
    assert heard(h.transcript(b)) == []
    assert heard(h.transcript(a)) == [(B, "Welcome, let us start", None)]
    assert statuses(h, "/confStatus") == [("createConference", "empty"),
                                          ("conferenceStatus", "populated"),
                                          ("conferenceStatus", "inProgress")]
    logs = await h.logs()
    assert any("waitUrl http://app.test/hold.wav fetched" in entry.message for entry in logs)
    sdk_parses_all(h)


# --------------------------------------------------------------------------- privileges


async def test_privileges_decide_who_hears_whom(h: Harness, room: Room) -> None:
    await room.create(playBeep="never")
    a = await room.call(A, [PhoneStep(2000, say="one"), PhoneStep(3000, digits="5")], talk=False)
    b = await room.call(B, [PhoneStep(2000, say="two"), PhoneStep(3000, digits="6")],
                        listen=False, dtmfPassThrough=False)
    c = await room.call(C, [PhoneStep(2000, say="three"), PhoneStep(3000, digits="7")])
    await h.advance(5)
    # A is muted (its keys still pass), B is deaf and its keys do not pass, C is plain
    assert sorted(heard(h.transcript(a)), key=str) == sorted(
        [(B, "two", None), (C, "three", None), (C, None, "7")], key=str)
    assert heard(h.transcript(b)) == []
    assert sorted(heard(h.transcript(c)), key=str) == sorted(
        [(B, "two", None), (A, None, "5")], key=str)
    parts = {p["callId"]: p for p in await room.participants()}
    assert (parts[a]["talk"], parts[b]["listen"], parts[b]["dtmfPassThrough"]) == (False, False, False)
    r = await h.rest.get(f"{room.base}/{room.cf}/Participants", params={"talk": "false"})
    assert [p["callId"] for p in r.json()["participants"]] == [a]


async def test_rest_update_participant_mutes_and_unmutes(h: Harness, room: Room) -> None:
    await room.create(playBeep="never")
    a = await room.call(A, [PhoneStep(2000, say="first"), PhoneStep(6000, say="second")])
    b = await room.call(B)
    await h.advance(1)
    r = await h.rest.post(f"{room.base}/{room.cf}/Participants/{a}", json={"talk": False})
    assert r.status_code == 200
    body = r.json()
    assert (body["talk"], body["listen"], body["revision"], body["callId"]) == (False, True, 2, a)
    await h.advance(3)
    r = await h.rest.post(f"{room.base}/{room.cf}/Participants/{a}", json={"talk": True})
    await h.advance(3)
    assert heard(h.transcript(b)) == [(A, "second", None)]
    r = await h.rest.post(f"{room.base}/{room.cf}/Participants/{a}", json={"talk": "no"})
    assert r.status_code == 400


async def test_the_room_configures_the_networks_mixer(h: Harness, room: Room) -> None:
    """Bridged participants are mixed by the network (one mix per conference, a path per leg from
    its privileges); the room changes paths and takes legs out, it relays nothing itself."""
    from percl.engine.ports import MixPath  # here: the imports above are being moved elsewhere
    await room.create(playBeep="never")
    a = await room.call(A, talk=False)
    b = await room.call(B, dtmfPassThrough=False)
    await h.advance(1)
    mixer = h.platform.sim.mixer
    assert mixer.paths(room.cf) == {a: MixPath(talk=False), b: MixPath(dtmf_pass=False)}
    r = await h.rest.post(f"{room.base}/{room.cf}/Participants/{a}", json={"talk": True})
    assert r.status_code == 200
    assert mixer.paths(room.cf)[a] == MixPath()
    assert (await h.rest.delete(f"{room.base}/{room.cf}/Participants/{b}")).status_code == 204
    await h.advance(1)
    assert mixer.paths(room.cf) == {a: MixPath()}


# --------------------------------------------------------------------------- call control


async def test_call_control_runs_a_script_and_the_leg_stays(h: Harness, room: Room) -> None:
    app = room.app
    controls: list[dict[str, Any]] = []

    async def control(body: dict[str, Any], _: str) -> Any:
        controls.append(body)
        return [{"Play": {"file": "http://app.test/menu.wav"}}, {"SetTalk": {"talk": False}}]

    app.on("control", control)
    await room.create(playBeep="never")
    a = await room.call(A, [PhoneStep(2000, digits="*9"), PhoneStep(8000, say="can you hear me"),
                            PhoneStep(9000, digits="*1")],
                        allowCallControl=True, callControlSequence="*9",
                        callControlUrl=app.url("/control"))
    b = await room.call(B)
    await h.advance(12)
    assert controls == [{"accountId": h.account.account_id, "callId": a, "conferenceId": room.cf,
                         "digits": "*9", "requestType": "callControl"}]
    plays = [e.url for e in h.transcript(a).entries if e.type is TranscriptEvent.PLAY]
    assert plays == ["http://app.test/menu.wav"]
    # the sequence was not passed through; after the script the leg is muted but still in,
    # and its keys (a "*" that could start the sequence, then "1") pass through again
    assert heard(h.transcript(b)) == [(A, None, "*1")]
    # both still in; a and b joined at the same clock instant, an order the list does not keep
    # (ties are broken by call id, and the ids differ with two workers: see docs/WORKERS.md)
    assert sorted(p["callId"] for p in await room.participants()) == sorted([a, b])
    assert (await h.call(a)).status is CallStatus.IN_PROGRESS
    sdk_parses_all(h)


async def test_call_control_script_may_not_say(h: Harness, room: Room) -> None:
    room.app.on("control", [{"Say": {"text": "not here"}}])
    await room.create(playBeep="never")
    a = await room.call(A, [PhoneStep(1000, digits="#")], allowCallControl=True,
                        callControlSequence="#", callControlUrl=room.app.url("/control"))
    call = await h.run_until_ended(a)
    assert (call.status, call.call_ended_reason) == (
        CallStatus.COMPLETED, CallEndedReason.PERCL_PROCESSING_ERROR)
    assert "not here" not in [e.text for e in h.transcript(a).entries]
    assert await room.participants() == []
    assert (await h.store.get_conference(room.cf)).status is ConferenceStatus.EMPTY


async def test_remove_from_conference_with_leave_url_continues_the_call(
    h: Harness, room: Room
) -> None:
    app = room.app
    app.on("control", [{"RemoveFromConference": {}}, {"Say": {"text": "never run"}}])
    app.on("left", [{"Say": {"text": "You left the conference"}}, {"Hangup": {}}])
    await room.create(playBeep="never")
    a = await room.call(A, [PhoneStep(1000, digits="0")], allowCallControl=True,
                        callControlSequence="0", callControlUrl=app.url("/control"),
                        leaveConferenceUrl=app.url("/left"))
    call = await h.run_until_ended(a)
    assert (call.status, call.call_ended_reason) == (CallStatus.COMPLETED, CallEndedReason.APP_HANGUP)
    assert [e.text for e in h.transcript(a).entries if e.type is TranscriptEvent.SAY] == [
        "You left the conference"]  # Say is allowed again once out of the conference
    left = next(w for w in h.webhooks if w.request_type == "leaveConference")
    assert left.body["conferenceId"] == room.cf and left.body["callStatus"] == "inProgress"
    status = next(w for w in h.webhooks if w.request_type == "callStatus")
    assert status.body["conferenceId"] is None  # it had left the conference
    sdk_parses_all(h)


async def test_remove_from_conference_without_leave_url_hangs_up(h: Harness, room: Room) -> None:
    room.app.on("control", [{"RemoveFromConference": {}}])
    await room.create(playBeep="never")
    a = await room.call(A, [PhoneStep(1000, digits="0")], allowCallControl=True,
                        callControlSequence="0", callControlUrl=room.app.url("/control"))
    call = await h.run_until_ended(a)
    assert call.call_ended_reason is CallEndedReason.REMOVED_FROM_CONFERENCE
    assert "leaveConference" not in [w.request_type for w in h.webhooks]


async def test_terminate_conference_from_a_participant(h: Harness, room: Room) -> None:
    room.app.on("control", [{"TerminateConference": {}}])
    await room.create(playBeep="never")
    a = await room.call(A, [PhoneStep(3000, digits="9")], allowCallControl=True,
                        callControlSequence="9", callControlUrl=room.app.url("/control"))
    b = await room.call(B)
    await h.run_until_ended(a)
    for leg in (a, b):
        call = await h.run_until_ended(leg)
        assert call.call_ended_reason is CallEndedReason.CONFERENCE_TERMINATED
    assert statuses(h, "/confStatus")[-2:] == [("conferenceStatus", "empty"),
                                               ("conferenceStatus", "terminated")]
    terminated = [w for w in h.webhooks if w.path == "/confStatus"][-1]
    assert terminated.body["callId"] == a  # the leg whose command terminated it


# --------------------------------------------------------------------------- REST removal


@pytest.mark.parametrize("with_leave_url", [True, False])
async def test_rest_remove_participant(h: Harness, room: Room, with_leave_url: bool) -> None:
    room.app.on("left", [{"Say": {"text": "Goodbye"}}, {"Hangup": {}}])
    await room.create(playBeep="exitOnly")
    attrs = {"leaveConferenceUrl": room.app.url("/left")} if with_leave_url else {}
    a = await room.call(A, **attrs)
    b = await room.call(B)
    await h.advance(1)
    r = await h.rest.delete(f"{room.base}/{room.cf}/Participants/{a}")
    assert r.status_code == 204 and r.content == b""
    call = await h.run_until_ended(a)
    if with_leave_url:
        assert call.call_ended_reason is CallEndedReason.APP_HANGUP
        assert [e.text for e in h.transcript(a).entries if e.type is TranscriptEvent.SAY] == [
            "Goodbye"]
    else:
        assert call.call_ended_reason is CallEndedReason.REMOVED_FROM_CONFERENCE
    assert [p["callId"] for p in await room.participants()] == [b]
    assert count(h.transcript(b), TranscriptEvent.BEEP) == 1  # A's exit
    r = await h.rest.get(f"{room.base}/{room.cf}/Participants/{a}")
    assert r.status_code == 404
    r = await h.rest.delete(f"{room.base}/{room.cf}/Participants/{a}")
    assert r.status_code == 404


async def test_rest_status_empty_removes_everyone_and_the_conference_is_reusable(
    h: Harness, room: Room
) -> None:
    await room.create(playBeep="never")
    a = await room.call(A)
    b = await room.call(B, leaveConferenceUrl=room.app.url("/left"))
    await h.advance(1)
    r = await h.rest.post(f"{room.base}/{room.cf}", json={"status": "empty"})
    assert r.status_code == 204
    await h.advance(1)
    assert (await h.call(a)).call_ended_reason is CallEndedReason.REMOVED_FROM_CONFERENCE
    assert (await h.call(b)).call_ended_reason is CallEndedReason.APP_HANGUP  # /left said [] (a later script)
    assert (await h.store.get_conference(room.cf)).status is ConferenceStatus.EMPTY
    c = await room.call(C)
    await h.advance(1)
    assert [p["callId"] for p in await room.participants()] == [c]
    assert statuses(h, "/confStatus")[-3:] == [("conferenceStatus", "empty"),
                                               ("conferenceStatus", "populated"),
                                               ("conferenceStatus", "inProgress")]


# --------------------------------------------------------------------------- notifications


async def test_rest_created_conference_notifications(h: Harness, room: Room) -> None:
    await room.create(alias="standup")
    created = next(w for w in h.webhooks if w.path == "/confStatus")
    assert created.request_type == "createConference" and created.body["status"] == "empty"
    assert created.body["callId"] is None and created.body["callStatus"] is None
    assert created.body["conferenceId"] == room.cf
    a = await room.call(A, notificationUrl=room.app.url("/notify"),
                        leaveConferenceUrl=room.app.url("/left"),
                        script=[PhoneStep(2000, hangup=True)])
    await h.run_until_ended(a)
    await h.advance(1)
    notify = next(w for w in h.webhooks if w.path == "/notify")
    assert notify.request_type == "addToConferenceNotification"
    assert (notify.body["callId"], notify.body["conferenceId"], notify.body["status"]) == (
        a, room.cf, "inProgress")
    left = next(w for w in h.webhooks if w.path == "/left")
    assert left.request_type == "leaveConference" and left.body["callStatus"] == "completed"
    empty = [w for w in h.webhooks if w.path == "/confStatus"][-1]
    assert (empty.body["status"], empty.body["callId"]) == ("empty", a)
    sdk_parses_all(h)


# --------------------------------------------------------------------------- errors and legacy


async def test_add_to_unknown_or_terminated_conference_ends_the_call(h: Harness, room: Room) -> None:
    await room.create()
    r = await h.rest.post(f"{room.base}/{room.cf}", json={"status": "terminated"})
    assert r.status_code == 204
    a = await room.call(A)
    call = await h.run_until_ended(a)
    assert call.call_ended_reason is CallEndedReason.PERCL_PROCESSING_ERROR
    logs = await h.logs()
    assert any("is terminated" in entry.message for entry in logs)


async def test_conference_commands_outside_a_conference_are_ignored(h: Harness) -> None:
    app = AsyncApp(h)
    app.on("voice", [{"SetTalk": {"talk": False}}, {"SetListen": {"listen": False}},
                     {"SetDTMFPassThrough": {"dtmfPassThrough": False}},
                     {"RemoveFromConference": {}}, {"Say": {"text": "still here"}},
                     {"TerminateConference": {}}, {"Say": {"text": "never"}}])
    app.on("status", [])
    await h.number_for_app(FC_NUMBER, voice_url=app.url("/voice"),
                           status_callback_url=app.url("/status"))
    a = await h.sim_call(A, FC_NUMBER)
    call = await h.run_until_ended(a)
    assert [e.text for e in h.transcript(a).entries if e.type is TranscriptEvent.SAY] == [
        "still here"]
    assert call.call_ended_reason is CallEndedReason.PERCL_PROCESSING_ERROR  # TerminateConference


async def test_legacy_call_id_adds_another_leg(h: Harness, room: Room) -> None:
    """AddToConference naming another leg (Persephony): that leg joins, this one goes on."""
    await room.create(playBeep="never")
    a = await room.call(A, [PhoneStep(6000, say="hello from A")])
    app = room.app

    async def voice2(_body: dict[str, Any], _: str) -> Any:
        return [{"AddToConference": {"conferenceId": room.cf, "callId": b_leg["id"]}},
                {"Say": {"text": "B was added"}}, {"Hangup": {}}]

    b_leg: dict[str, str] = {}
    app.on("voice2", voice2)
    await h.number_for_app("+13125550199", voice_url=app.url("/voice2"))
    app.on("hold", [{"Say": {"text": "Please hold"}}, {"Pause": {"length": 30000}}])
    # B calls a number whose script just holds; then the operator leg C pulls B in
    await h.number_for_app("+13125550198", voice_url=app.url("/hold"))
    b = await h.sim_call(B, "+13125550198", [PhoneStep(5000, say="hello from B")])
    b_leg["id"] = b
    c = await h.sim_call(C, "+13125550199")
    await h.advance(7)
    assert {p["callId"] for p in await room.participants()} == {a, b}
    assert heard(h.transcript(a)) == [(B, "hello from B", None)]
    assert heard(h.transcript(b)) == [(A, "hello from A", None)]
    call_c = await h.run_until_ended(c)
    assert call_c.call_ended_reason is CallEndedReason.APP_HANGUP
    assert "B was added" in [e.text for e in h.transcript(c).entries]
