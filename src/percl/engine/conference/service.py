"""ConferenceService: FreeClimb conferences — the PerCL commands, the REST operations, the rooms.

The service owns one ConferenceRoom per conference that is in use (made when a conference is
created, or loaded from the store when a leg or a REST request first names it) and forgets it when
the conference is terminated. The store is the record of truth: conferences and participants are
stored before anything reports them, and a restarted percl finds every conference that was not
terminated (`recover` empties those a crash left populated).

The runners of the seven conference PerCL commands live in engine.conference.commands; the service
registers them in the EngineContext it is given. The REST API reaches it through
engine.service.ConferenceControl.

Lifecycle: use it as `async with ConferenceService(ctx, sessions):`, entered before the CallService
so that it closes after it (ending legs still leave their rooms). Its TaskGroup runs every room's
outbox, wait audio and beeps; closing it cancels them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping
from typing import TYPE_CHECKING, Any

from percl.domain import ids
from percl.domain.enums import ConferenceStatus, LogLevel, PlayBeep
from percl.domain.records import Account, Conference, Participant, revised
from percl.engine.conference import commands as conference_commands
from percl.engine.conference.member import Member
from percl.engine.conference.room import ConferenceRoom, ParticipantHold
from percl.engine.context import EngineContext
from percl.engine.ports import ConferenceFilter, LeaseKind, ParticipantFilter
from percl.engine.runners import run_elsewhere
from percl.engine.service import ConferenceUpdate, NewConference, ParticipantUpdate
from percl.engine.workers.cluster import Cluster
from percl.engine.workers.forwarding import Arguments, OwnerGone
from percl.errors import NotFound
from percl.percl import events as e
from percl.runtime.tasks import OwnedTaskGroup, TaskOwner

if TYPE_CHECKING:
    from percl.domain.json import JsonValue
    from percl.engine.runners import HandOver, Leg
    from percl.percl.commands import AddToConference


log = logging.getLogger("percl.engine.conference")
WAIT_URL_HEAD_BYTES = 64 * 1024  # what of a waitUrl audio file is read to know it is there


class ConferenceService(TaskOwner):
    """Conferences of every account. `sessions` is the CallService's live-session registry."""

    def __init__(self, ctx: EngineContext, sessions: Mapping[str, Leg],
                 cluster: Cluster | None = None, hand_over: HandOver | None = None) -> None:
        self.ctx = ctx
        #: Moves a leg to another worker (CallService.hand_over); None: legs never move.
        self._hand_over = hand_over
        self.sessions = sessions
        self.rooms: dict[str, ConferenceRoom] = {}
        self._group = OwnedTaskGroup("ConferenceService")
        conference_commands.register(self)
        # Several workers: a participant's REST update reaches the worker running its leg.
        self._cluster = cluster
        if cluster is not None:
            cluster.serve(UPDATE_PARTICIPANT, self._forwarded_update)
            cluster.serve(REMOVE_PARTICIPANT, self._forwarded_removal)
            cluster.serve(UPDATE_CONFERENCE, self._forwarded_conference_update)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
        """Run `coro` as a task of the service (None, and `coro` closed, once it has stopped)."""
        if not self._group.running:
            coro.close()
            return None
        return self._group.spawn(_guarded(coro))

    # ------------------------------------------------------------------ rooms

    async def create(
        self, account: Account, *, alias: str | None, play_beep: PlayBeep, record: bool,
        wait_url: str | None, status_callback_url: str | None, action_url: str | None,
        request_id: str | None, creator: Leg | None,
    ) -> ConferenceRoom:
        """Create, store and announce an empty conference; its waitUrl is fetched once now."""
        now = self.ctx.clock.now()
        conference = Conference(
            conference_id=self.ctx.ids.new(ids.CONFERENCE), account_id=account.account_id,
            alias=alias, play_beep=play_beep, record=record, status=ConferenceStatus.EMPTY,
            wait_url=wait_url, action_url=action_url, status_callback_url=status_callback_url,
            request_id=request_id, date_created=now, date_updated=now,
        )
        await self.ctx.store.put_conference(conference)
        room = self._open(conference, account)
        room.announce_created(creator.call if creator is not None else None)
        call_id = creator.call.call_id if creator is not None else None
        if wait_url:
            self.spawn(self._fetch_wait_url(account, conference, call_id))
        return room

    async def room(self, account_id: str, conference_id: str) -> ConferenceRoom | None:
        """The room of the account's conference `conference_id`, loaded from the store if need
        be; None when the conference is unknown, another account's, or terminated."""
        room = self.rooms.get(conference_id)
        if room is not None and self._cluster is not None and not self._has_live_members(
                conference_id):
            room = await self._unless_stale(room)
        if room is None:
            conference = await self.ctx.store.get_conference(conference_id)
            room = self.rooms.get(conference_id)  # another task may have loaded it meanwhile
            if room is None:
                if conference is None or conference.status is ConferenceStatus.TERMINATED:
                    return None
                account = await self.ctx.store.get_account(conference.account_id)
                room = self.rooms.get(conference_id)
                if room is None and account is not None:
                    room = self._open(conference, account)
        if room is None or room.account.account_id != account_id:
            return None
        return room

    async def _unless_stale(self, room: ConferenceRoom) -> ConferenceRoom | None:
        """`room`, or None after dropping it when the stored conference changed since (with
        workers, a room object with nobody in it may be one this worker made for a conference
        whose room then ran on another worker: terminated or emptied there)."""
        stored = await self.ctx.store.get_conference(room.conference_id)
        if self.rooms.get(room.conference_id) is not room:
            return self.rooms.get(room.conference_id)  # replaced meanwhile
        if (stored is None or stored.status is ConferenceStatus.TERMINATED
                or stored.date_updated > room.conference.date_updated):
            del self.rooms[room.conference_id]
            return None
        return room

    def membership(self, session: Leg) -> tuple[ConferenceRoom, Member] | None:
        """The room and participant of a leg that is in a conference, else None."""
        hold = session.membership
        if isinstance(hold, ParticipantHold) and hold.member.live:
            return hold.room, hold.member
        return None

    async def leave_current(self, session: Leg) -> None:
        """Take a leg out of the conference it is in, if any, before it joins another."""
        found = self.membership(session)
        if found is not None:
            room, member = found
            await room.detach(member)

    async def owner_elsewhere(self, conference_id: str) -> str | None:
        """With workers: the worker whose room the conference's participants are in, when it is
        another one; None when this worker runs it (it takes the room's lease if nobody held
        it: the first worker to bring a leg in runs the room, until it is terminated)."""
        cluster = self._cluster
        if cluster is None or await cluster.own(LeaseKind.CONFERENCE, conference_id):
            return None
        return await cluster.holder(LeaseKind.CONFERENCE, conference_id)

    async def hand_over(self, session: Leg, command: AddToConference,
                        worker_id: str) -> e.Outcome:
        """AddToConference of a conference whose room runs on worker `worker_id`: the leg leaves
        its current conference here and moves there, where it joins (docs/WORKERS.md)."""
        await self.leave_current(session)
        return await run_elsewhere(self._hand_over, session, command, worker_id,
                                   f"conference {command.conference_id}")

    def _open(self, conference: Conference, account: Account) -> ConferenceRoom:
        room = ConferenceRoom(self.ctx, conference, account, self.spawn, self._closed)
        self.rooms[conference.conference_id] = room
        return room

    def _closed(self, room: ConferenceRoom) -> None:
        if self.rooms.get(room.conference_id) is room:
            del self.rooms[room.conference_id]
        if self._cluster is not None:  # terminated: nothing of it runs anywhere now
            self.spawn(self._cluster.disown(LeaseKind.CONFERENCE, room.conference_id))

    async def _fetch_wait_url(self, account: Account, conference: Conference,
                              call_id: str | None) -> None:
        """FreeClimb GETs waitUrl once, at creation; percl does too and logs the outcome."""
        url = conference.wait_url
        if url is None or self.ctx.fetcher is None:
            return
        # Its head is enough to know it is there: a long audio file is not read whole.
        fetched = await self.ctx.fetcher.fetch(url, max_bytes=WAIT_URL_HEAD_BYTES)
        level = LogLevel.INFO if fetched.reached else LogLevel.ERROR
        outcome = "fetched" if fetched.reached else f"could not be fetched ({fetched.error})"
        await self.ctx.logs.log(
            level, account.account_id, f"Conference {conference.conference_id} waitUrl {url} "
            f"{outcome}", call_id=call_id, request_id=conference.request_id,
            metadata={"conferenceId": conference.conference_id, "status": fetched.status})

    # ------------------------------------------------------------------ REST (ConferenceControl)

    async def create_conference(self, account: Account, request: NewConference) -> Conference:
        room = await self.create(
            account, alias=request.alias, play_beep=request.play_beep, record=request.record,
            wait_url=request.wait_url, status_callback_url=request.status_callback_url,
            action_url=None, request_id=request.request_id, creator=None,
        )
        return room.conference

    async def update_conference(
        self, account: Account, conference_id: str, update: ConferenceUpdate
    ) -> None:
        if not await self._still_open(account, conference_id, update):
            return
        # A room here without live members (the conference was created here by REST, its legs
        # joined it on another worker) is not where the participants are: ask their worker.
        if (self._cluster is not None and not self._has_live_members(conference_id)
                and await self._updated_elsewhere(account, conference_id, update)):
            return
        await self._update_here(account, conference_id, update)

    def _has_live_members(self, conference_id: str) -> bool:
        room = self.rooms.get(conference_id)
        return room is not None and any(member.live for member in room.members.values())

    async def _still_open(self, account: Account, conference_id: str,
                          update: ConferenceUpdate) -> bool:
        """False for a second harmless terminate; NotFound for an unknown, foreign or (for
        anything else) terminated conference."""
        stored = await self.ctx.store.get_conference(conference_id)
        if stored is None or stored.account_id != account.account_id:
            raise NotFound(f"Conference {conference_id} not found", code=66)
        if stored.status is ConferenceStatus.TERMINATED:
            if update.status == "terminated" and update.alias is None and update.play_beep is None:
                return False  # terminating twice is harmless (apps do it from several webhooks)
            raise NotFound(f"Conference {conference_id} is terminated", code=66)
        return True

    async def _update_here(self, account: Account, conference_id: str,
                           update: ConferenceUpdate) -> None:
        room = await self.room(account.account_id, conference_id)
        if room is None:  # terminated between the two reads
            raise NotFound(f"Conference {conference_id} is terminated", code=66)
        changes: dict[str, Any] = {}
        if update.alias is not None:
            changes["alias"] = update.alias
        if update.play_beep is not None:
            changes["play_beep"] = update.play_beep
        if changes:
            await room.update(**changes)
        if update.status == "terminated":
            await room.terminate()
        elif update.status == "empty":
            await room.empty_out()

    async def update_participant(
        self, account: Account, conference_id: str, call_id: str, update: ParticipantUpdate
    ) -> Participant:
        if self._cluster is not None and call_id not in self.sessions:
            await self._elsewhere(UPDATE_PARTICIPANT, account, conference_id, call_id, {
                "talk": update.talk, "listen": update.listen,
                "dtmf_pass_through": update.dtmf_pass_through})
            stored = await self.ctx.store.get_participant(conference_id, call_id)
            if stored is None:  # it left between the owner's answer and this read
                raise _no_participant(conference_id, call_id)
            return stored
        room, member = await self._member(account, conference_id, call_id)
        changes = {name: value for name, value in (
            ("talk", update.talk), ("listen", update.listen),
            ("dtmf_pass_through", update.dtmf_pass_through)) if value is not None}
        return await room.set_privileges(member, **changes)

    async def remove_participant(self, account: Account, conference_id: str, call_id: str) -> None:
        if self._cluster is not None and call_id not in self.sessions:
            await self._elsewhere(REMOVE_PARTICIPANT, account, conference_id, call_id, {})
            return
        room, member = await self._member(account, conference_id, call_id)
        await room.remove(member)

    async def _member(
        self, account: Account, conference_id: str, call_id: str
    ) -> tuple[ConferenceRoom, Member]:
        room = await self.room(account.account_id, conference_id)
        member = room.members.get(call_id) if room is not None else None
        if room is None or member is None or not member.live:
            raise _no_participant(conference_id, call_id)
        return room, member

    # ------------------------------------------------------------------ start-up

    async def recover(self) -> int:
        """Empty the conferences a previous process left populated (their legs were closed by
        the CallService's recovery): participants deleted, status `empty`, no webhooks. Returns
        how many conferences were emptied."""
        store = self.ctx.store
        now = self.ctx.clock.now()
        emptied = 0
        for account in await store.list_accounts():
            for status in (ConferenceStatus.POPULATED, ConferenceStatus.IN_PROGRESS):
                flt = ConferenceFilter(status=status)
                for conference in await store.list_conferences(account.account_id, flt):
                    for p in await store.list_participants(conference.conference_id,
                                                           ParticipantFilter()):
                        await store.delete_participant(p.conference_id, p.call_id)
                    await store.put_conference(revised(conference, now,
                                                       status=ConferenceStatus.EMPTY))
                    emptied += 1
        return emptied


    # ------------------------------------------------------------------ workers (issue 19)

    async def _elsewhere(self, operation: str, account: Account, conference_id: str,
                         call_id: str, changes: dict[str, JsonValue]) -> None:
        """Run a participant operation on the worker running the participant's leg (its room
        is there); no live owner: the participant is gone."""
        assert self._cluster is not None
        try:
            await self._cluster.ask_owner(LeaseKind.CALL, call_id, operation, {
                "account_id": account.account_id, "conference_id": conference_id,
                "call_id": call_id, **changes})
        except OwnerGone:
            raise _no_participant(conference_id, call_id) from None

    async def _updated_elsewhere(self, account: Account, conference_id: str,
                                 update: ConferenceUpdate) -> bool:
        """Run a conference update on the worker whose room holds its participants (the worker
        running the first participant's leg). False when none is live elsewhere: do it here."""
        assert self._cluster is not None
        for participant in await self.ctx.store.list_participants(conference_id,
                                                                  ParticipantFilter()):
            if participant.call_id in self.sessions:
                return False
            try:
                await self._cluster.ask_owner(LeaseKind.CALL, participant.call_id,
                                              UPDATE_CONFERENCE, {
                    "account_id": account.account_id, "conference_id": conference_id,
                    "alias": update.alias, "status": update.status,
                    "play_beep": update.play_beep.value if update.play_beep else None})
            except OwnerGone:
                continue  # a dead worker's participant: the next one may be live
            return True
        return False

    async def _forwarded_conference_update(self, arguments: Arguments) -> JsonValue:
        """Another worker's conference update, for the room here; never forwarded again."""
        account = await self.ctx.store.get_account(str(arguments.get("account_id")))
        conference_id = str(arguments.get("conference_id"))
        if account is None:
            raise NotFound(f"Conference {conference_id} not found", code=66)
        alias, status, beep = (arguments.get(k) for k in ("alias", "status", "play_beep"))
        update = ConferenceUpdate(alias=alias if isinstance(alias, str) else None,
                                  play_beep=PlayBeep(beep) if isinstance(beep, str) else None,
                                  status=status if isinstance(status, str) else None)
        if await self._still_open(account, conference_id, update):
            await self._update_here(account, conference_id, update)
        return None

    async def _forwarded(self, arguments: Arguments) -> tuple[Account, str, str]:
        account = await self.ctx.store.get_account(str(arguments.get("account_id")))
        conference_id, call_id = str(arguments.get("conference_id")), str(arguments.get("call_id"))
        if account is None or call_id not in self.sessions:  # never forwarded a second time
            raise _no_participant(conference_id, call_id)
        return account, conference_id, call_id

    async def _forwarded_update(self, arguments: Arguments) -> JsonValue:
        account, conference_id, call_id = await self._forwarded(arguments)
        update = ParticipantUpdate(**{name: value for name in ("talk", "listen", "dtmf_pass_through")
                                      if isinstance(value := arguments.get(name), bool)})
        await self.update_participant(account, conference_id, call_id, update)
        return None

    async def _forwarded_removal(self, arguments: Arguments) -> JsonValue:
        account, conference_id, call_id = await self._forwarded(arguments)
        await self.remove_participant(account, conference_id, call_id)
        return None


#: Operations another worker forwards to the worker running a participant's leg (forwarding.py).
UPDATE_PARTICIPANT = "conference.participant.update"
REMOVE_PARTICIPANT = "conference.participant.remove"
UPDATE_CONFERENCE = "conference.update"


def _no_participant(conference_id: str, call_id: str) -> NotFound:
    return NotFound(f"Participant {call_id} not found in conference {conference_id}", code=66)


async def _guarded(coro: Coroutine[Any, Any, None]) -> None:
    """Run a room task; a bug in one is logged instead of stopping every conference."""
    try:
        await coro
    except Exception:
        log.exception("conference task failed")
