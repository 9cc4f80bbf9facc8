"""ConferenceRoom: the async shell of one conference (FREECLIMB.md §6).

The room keeps the conference's live participants, moves the conference and each participant
through the tables of engine.conference.state, and makes the changes heard: status notifications
(through the room's Outbox, in order), beeps (playBeep), the wait audio of participants waiting
for the conference to start, and the audio paths between bridged participants: the room keeps the
network's Mixer configured (one mix per conference, a path per bridged participant from its talk,
listen and dtmfPassThrough) and the network carries what they say and press.

Concurrency: the room is touched by every participant's session task and by REST requests. Every
change of membership or status runs under the room's lock; no webhook is awaited under it (they
go to the outbox) and no other session's loop is awaited (legs are moved on by posting events to
them). The mixer is configured without awaits, next to the state change it follows.
Everything a change reports is stored before it is queued.

Recording (`record: true`): the mix is recorded from each start (inProgress) to the next empty;
saving is a task of its own (rendering takes a while: not under the lock), which then queues
`conferenceRecordingStatus`; later notifications carry that recording's fields. A terminated
room closes its outbox only once that notice is queued.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from percl.domain import payloads as p
from percl.domain.enums import CallEndedReason, ConferenceStatus
from percl.domain.records import Account, Call, Conference, Participant, revised
from percl.engine.conference.member import ControlKeys, Member
from percl.engine.conference.outbox import Notice, Outbox
from percl.engine.conference.state import (
    ConferenceEvent,
    ParticipantEvent,
    ParticipantState,
    apply_conference,
    apply_participant,
    beeps,
    on_join,
    on_leave,
    on_terminate,
    placement,
)
from percl.engine.context import EngineContext
from percl.engine.ports import File, MixPath, Tone
from percl.percl import events as e

if TYPE_CHECKING:
    from percl.engine.runners import Leg, StopMixRecording
    from percl.percl.commands import AddToConference

Spawn = Callable[[Coroutine[Any, Any, None]], "asyncio.Task[None] | None"]


class ConferenceRoom:
    """One conference that is not terminated. Made by engine.conference.ConferenceService."""

    def __init__(self, ctx: EngineContext, conference: Conference, account: Account,
                 spawn: Spawn, on_closed: Callable[[ConferenceRoom], None]) -> None:
        self.ctx = ctx
        self.conference = conference
        self.account = account
        self.members: dict[str, Member] = {}
        self.lock = asyncio.Lock()
        self.outbox = Outbox(account, ctx.webhooks, ctx.logs)
        self._spawn = spawn
        self._on_closed = on_closed
        self._stop_recording: StopMixRecording | None = None  # while the mix is recorded
        self._saving: asyncio.Task[None] | None = None
        self.last_recording: p.RecordingFields | None = None
        spawn(self.outbox.run())

    @property
    def conference_id(self) -> str:
        return self.conference.conference_id

    @property
    def status(self) -> ConferenceStatus:
        return self.conference.status

    def announce_created(self, call: Call | None) -> None:
        """Tell statusCallbackUrl the conference exists (createConference, status empty)."""
        url = self.conference.status_callback_url
        if url:
            self.outbox.put(Notice(url, call,
                                   p.CreateConference(self.conference_id, ConferenceStatus.EMPTY,
                                                      **self._recording_fields()),
                                   self.conference.request_id))

    # ------------------------------------------------------------------ joining and leaving

    async def join(self, session: Leg, command: AddToConference) -> Member | None:
        """Add the leg of `session` as a participant with `command`'s settings; None when the
        conference was terminated before the leg got in.

        The hold is set before the first await, so a leg that hangs up meanwhile still leaves
        through `leg_ended`.
        """
        now = self.ctx.clock.now()
        control = command.allow_call_control and bool(command.call_control_url)
        record = Participant(
            conference_id=self.conference_id, call_id=session.call.call_id,
            account_id=self.account.account_id, talk=command.talk, listen=command.listen,
            dtmf_pass_through=command.dtmf_pass_through,
            start_conf_on_enter=command.start_conf_on_enter,
            allow_call_control=command.allow_call_control,
            call_control_sequence=command.call_control_sequence,
            call_control_url=command.call_control_url,
            leave_conference_url=command.leave_conference_url,
            notification_url=command.notification_url, date_created=now, date_updated=now,
        )
        member = Member(session, record, ControlKeys(command.call_control_sequence if control
                                                     else None))
        member.hold = ParticipantHold(self, member)
        session.join(member.hold)
        self.members[member.call_id] = member
        async with self.lock:
            if self.status is ConferenceStatus.TERMINATED:
                self.members.pop(member.call_id, None)
                self._release(member)
                return None
            if not member.live:
                return member  # the leg ended while waiting for the lock
            await self.ctx.store.put_participant(record)
            await session.update(conference_id=self.conference_id)
            await self._move(on_join(self.status, command.start_conf_on_enter), session.call)
            self._place(member)
            if record.notification_url:
                self.outbox.put(Notice(record.notification_url, session.call,
                                       p.AddToConferenceNotification(
                                           self.conference_id, self.status,
                                           **self._recording_fields())))
        self._beep(entering=True)
        return member

    async def leg_ended(self, member: Member) -> None:
        """The participant's leg ended (hung up, or its script ended it). Its leaveConferenceUrl
        hears leaveConference as a notification: the leg is gone, so its PerCL is ignored."""
        call = member.session.call
        async with self.lock:
            url = member.record.leave_conference_url
            if url and member.live:
                self.outbox.put(Notice(url, call, p.LeaveConference(self.conference_id)))
            departed = await self._depart(member, call)
        if departed:
            self._beep(entering=False)

    async def remove(self, member: Member) -> None:
        """Unbridge a participant from outside (REST DELETE, RemoveFromConference naming another
        leg, status `empty`): its leg goes on with its leaveConferenceUrl (leaveConference, PerCL
        expected) or, without one, is hung up with removedFromConference."""
        session = member.session
        async with self.lock:
            departed = await self._depart(member, session.call)
        if not departed:
            return
        self._release(member)
        self._beep(entering=False)
        url = member.record.leave_conference_url
        if url:
            if not session.done:
                await session.update(conference_id=None)
            session.post(e.Interrupt(url, p.LeaveConference(self.conference_id),
                                     release=True))
        else:
            session.post(e.Terminate(CallEndedReason.REMOVED_FROM_CONFERENCE))

    async def remove_self(self, member: Member) -> e.Outcome:
        """RemoveFromConference run by the participant's own script: the Outcome for its leg."""
        session = member.session
        async with self.lock:
            await self._depart(member, session.call)
        self._release(member)
        self._beep(entering=False)
        url = member.record.leave_conference_url
        if url is None:
            return e.Finish(CallEndedReason.REMOVED_FROM_CONFERENCE)
        await session.update(conference_id=None)
        return e.Fetch(url, p.LeaveConference(self.conference_id), release=True)

    async def detach(self, member: Member) -> None:
        """Take a participant out without moving its leg on (it is about to join elsewhere)."""
        async with self.lock:
            departed = await self._depart(member, member.session.call)
        self._release(member)
        if departed:
            self._beep(entering=False)

    async def empty_out(self) -> None:
        """Remove every participant (REST status `empty`); the conference stays usable."""
        for member in list(self.members.values()):
            await self.remove(member)

    async def terminate(self, by: Leg | None = None) -> None:
        """Terminate the conference: every participant is hung up (conferenceTerminated), except
        `by` (the participant whose TerminateConference this is: its runner ends it), and the
        statusCallbackUrl hears `empty` (if it was not) then `terminated`. Idempotent."""
        async with self.lock:
            if self.status is ConferenceStatus.TERMINATED:
                return
            members = list(self.members.values())
            for member in members:
                member.state = apply_participant(member.state, ParticipantEvent.LEAVE)
                self._unmix(member)
                self._stop_wait(member)
                self._release(member)
            self.members.clear()
            for member in members:
                await self.ctx.store.delete_participant(self.conference_id, member.call_id)
            await self._move(on_terminate(self.status), by.call if by is not None else None)
            if self._saving is None or self._saving.done():
                self.outbox.close()  # else once the recording's notice is queued (_save)
            self._on_closed(self)
        for member in members:
            if member.session is not by:
                member.session.post(e.Terminate(CallEndedReason.CONFERENCE_TERMINATED))

    # ------------------------------------------------------------------ settings

    async def update(self, **changes: Any) -> None:
        """Change conference fields (alias, play_beep) as a new revision."""
        async with self.lock:
            self.conference = revised(self.conference, self.ctx.clock.now(), **changes)
            await self.ctx.store.put_conference(self.conference)

    async def set_privileges(self, member: Member, **changes: bool) -> Participant:
        """Change talk / listen / dtmf_pass_through of a participant; returns the new record."""
        async with self.lock:
            if member.live and changes:
                member.record = revised(member.record, self.ctx.clock.now(), **changes)
                await self.ctx.store.put_participant(member.record)
                self._remix(member)
            return member.record

    def set_control(self, member: Member, active: bool) -> None:
        """A callControl script starts (True) or ended (False) on the participant's leg: while
        it runs, the leg's speech and keys are the script's, not the conference's."""
        member.control_active = active
        self._remix(member)

    # ------------------------------------------------------------------ audio paths

    def keys_pressed(self, member: Member, digits: str) -> None:
        """A participant pressed keys: its call-control sequence, or DTMF for the others. Keys
        of a participant without a sequence reach the others through its mix path; with one,
        the keys it held back are passed on here once they turn out not to be the sequence."""
        released, fired = member.keys.feed(digits)
        if released and member.keys.sequence and self._passes_dtmf(member):
            self.ctx.telephony.mixer.pass_dtmf(self.conference_id, member.call_id, released)
        if fired and member.record.call_control_url:
            self.set_control(member, True)
            member.session.post(e.Interrupt(
                member.record.call_control_url,
                p.CallControl(self.conference_id, member.record.call_control_sequence or "")))

    @staticmethod
    def _passes_dtmf(member: Member) -> bool:
        return (member.state is ParticipantState.BRIDGED and member.record.dtmf_pass_through
                and not member.control_active)

    def _path(self, member: Member) -> MixPath:
        """How the member is mixed: keys held back for a call-control sequence are not passed
        by the mixer but by `keys_pressed`; a running callControl script takes the leg's audio."""
        own = not member.control_active
        return MixPath(talk=member.record.talk and own, listen=member.record.listen,
                       dtmf_pass=self._passes_dtmf(member) and not member.keys.sequence)

    def _remix(self, member: Member) -> None:
        if member.state is ParticipantState.BRIDGED:
            self.ctx.telephony.mixer.update(self.conference_id, member.call_id, self._path(member))

    def _unmix(self, member: Member) -> None:
        self.ctx.telephony.mixer.remove(self.conference_id, member.call_id)

    def _beep(self, *, entering: bool) -> None:
        if not beeps(self.conference.play_beep, entering):
            return
        for member in list(self.members.values()):
            if member.live and member.record.listen:
                self._spawn(self._play(member, Tone()))

    # ------------------------------------------------------------------ internals

    async def _depart(self, member: Member, call: Call) -> bool:
        """Take `member` out (under the lock). False when it had already left."""
        if not member.live:
            return False
        member.state = apply_participant(member.state, ParticipantEvent.LEAVE)
        self._unmix(member)
        self._stop_wait(member)
        self.members.pop(member.call_id, None)
        await self.ctx.store.delete_participant(self.conference_id, member.call_id)
        await self._move(on_leave(self.status, len(self.members)), call)
        return True

    async def _move(self, events: list[ConferenceEvent], call: Call | None) -> None:
        """Apply conference moves one by one: store each status, then queue its notification."""
        for event in events:
            status = apply_conference(self.status, event)
            self.conference = revised(self.conference, self.ctx.clock.now(), status=status)
            await self.ctx.store.put_conference(self.conference)
            self._record(status)
            url = self.conference.status_callback_url
            if url:
                self.outbox.put(Notice(url, call, p.ConferenceStatusChanged(
                    self.conference_id, status, **self._recording_fields()),
                                       self.conference.request_id if call is None else None))
            if status is ConferenceStatus.IN_PROGRESS:
                for member in self.members.values():
                    if member.state is ParticipantState.WAITING:
                        self._place(member)

    # ------------------------------------------------------------------ recording

    def _record(self, status: ConferenceStatus) -> None:
        """Start recording the mix at inProgress (with `record`), stop it when it empties."""
        recorder = self.ctx.runners.mix_recorder
        if status is ConferenceStatus.IN_PROGRESS:
            if self.conference.record and recorder is not None and self._stop_recording is None:
                self._stop_recording = recorder(self.account.account_id, self.conference_id)
        elif self._stop_recording is not None:
            stop, self._stop_recording = self._stop_recording, None
            self._saving = self._spawn(self._save(stop))

    async def _save(self, stop: StopMixRecording) -> None:
        """Save the stopped recording and tell statusCallbackUrl (conferenceRecordingStatus)."""
        try:
            fields = await stop()
            if fields is not None:
                self.last_recording = fields
                url = self.conference.status_callback_url
                if url:
                    self.outbox.put(Notice(url, None, p.ConferenceRecordingStatus(
                        self.conference_id, self.status, fields.recording_url,
                        fields.recording_id, fields.recording_duration_sec),
                                           self.conference.request_id))
        finally:
            if self.status is ConferenceStatus.TERMINATED:
                self.outbox.close()

    def _recording_fields(self) -> dict[str, Any]:
        """The last recording's fields for a conference webhook (none: they go as null)."""
        last = self.last_recording
        if last is None:
            return {}
        return {"recording_url": last.recording_url, "recording_id": last.recording_id,
                "recording_duration_sec": last.recording_duration_sec}

    def _place(self, member: Member) -> None:
        """Bridge the member (conference in progress) or let it wait (with the wait audio)."""
        member.state = apply_participant(member.state, placement(self.status))
        if member.state is ParticipantState.WAITING:
            self._start_wait(member)
        else:
            self._stop_wait(member)
            self.ctx.telephony.mixer.add(self.conference_id, member.call_id, self._path(member))

    async def _play(self, member: Member, source: Tone | File) -> None:
        await self.ctx.telephony.media(member.call_id).play(source)

    def _start_wait(self, member: Member) -> None:
        url = self.conference.wait_url
        if url and member.wait_task is None:
            member.wait_task = self._spawn(self._wait_audio(member, url))

    async def _wait_audio(self, member: Member, url: str) -> None:
        """Play the wait audio over and over while the member waits."""
        clock = self.ctx.clock
        while member.state is ParticipantState.WAITING and not member.session.done:
            started = clock.now()
            await self._play(member, File(url))
            if clock.now() <= started:
                return  # the leg is gone, or media takes no time here: never spin

    @staticmethod
    def _stop_wait(member: Member) -> None:
        task, member.wait_task = member.wait_task, None
        if task is not None:
            task.cancel()

    @staticmethod
    def _release(member: Member) -> None:
        """Let the leg go, if the room still holds it."""
        if member.session.membership is member.hold:
            member.session.leave()


class ParticipantHold:
    """The conference's Membership on a participant's leg (see engine.runners)."""

    def __init__(self, room: ConferenceRoom, member: Member) -> None:
        self.room = room
        self.member = member

    def on_digits(self, session: Leg, digits: str) -> bool:
        if self.member.control_active or not self.member.live:
            return False
        self.room.keys_pressed(self.member, digits)
        return True

    def on_speech(self, session: Leg, text: str) -> bool:
        # The conference's own: the network's mixer carried it to the others who listen.
        return not self.member.control_active and self.member.live

    async def on_idle(self, session: Leg) -> None:
        # The leg has no script left (just joined, or its callControl script ran out): it stays
        # in the conference, and its keys are watched again.
        self.room.set_control(self.member, False)

    async def on_leg_ended(self, session: Leg) -> None:
        await self.room.leg_ended(self.member)
