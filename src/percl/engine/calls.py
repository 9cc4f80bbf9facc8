"""CallService: creates legs (REST, OutDial, inbound), keeps the registry of live sessions, and
answers the REST API's requests about them.

The registry is an object owned by the service (made in app.py), never a module global. Sessions run
in the service's TaskGroup; a session never lets an exception escape (it ends its own leg with
internalError), so one broken call cannot take the others down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from percl.domain import ids, payloads
from percl.domain.enums import CallDirection, CallEndedReason, CallStatus, LogLevel
from percl.domain.payloads import wire_fields
from percl.domain.records import Account, Application, Call, IncomingNumber, revised
from percl.engine import durable
from percl.engine.admission import DialAdmission, LiveCallLimit, too_many_live_calls
from percl.engine.context import EngineContext
from percl.engine.ports import Lease, LeaseKind, LegMover, Rate, WebhookRequest
from percl.engine.ports.bus import MessageTooLarge
from percl.engine.ports.limits import live_key
from percl.engine.service import MakeCallRequest
from percl.engine.session.session import ApiUpdate, CallSession, ParentEnded, Shutdown
from percl.engine.workers.cluster import Cluster
from percl.engine.workers.failover import Failover, send_owed
from percl.engine.workers.forwarding import Arguments, OwnerGone
from percl.errors import ApiError, BadRequest, NotFound, ServiceUnavailable
from percl.percl.parse import parse_script
from percl.runtime.tasks import OwnedTaskGroup, TaskOwner

if TYPE_CHECKING:
    from percl.domain.json import JsonValue
    from percl.engine.conference.outbox import Notice
    from percl.percl.commands import OutDial

log = logging.getLogger("percl.engine.calls")
#: The operation a worker forwards a REST update of a leg it does not run to (forwarding.py).
UPDATE_CALL = "call.update"
#: The operation that hands a live leg over to the worker asked (see `hand_over`).
ADOPT_CALL = "call.adopt"
#: A REST call whose parent runs on another worker is made there (see `make_call`).
MAKE_CALL = "call.make"


@dataclass(frozen=True, slots=True)
class Dialing:
    """What an outbound leg's dial asks for, from POST /Calls or an OutDial."""

    call_connect_url: str | None
    if_machine: str | None
    if_machine_url: str | None
    send_digits: str | None
    timeout: int | None
    privacy_mode: bool | None


class CallService(TaskOwner):
    """The engine's front door for calls. Use as `async with CallService(ctx) as calls:`.

    With a `cluster` (several workers on one database) each leg this worker creates is leased to
    it before its first record is written, a REST update of a leg another worker runs is
    forwarded to that worker, and legs whose owner died are closed (see "workers" below).
    Without one (one worker) none of that costs anything."""

    def __init__(self, ctx: EngineContext, cluster: Cluster | None = None) -> None:
        self.ctx = ctx
        self.cluster = cluster
        self._reclaiming: set[str] = set()  # legs of dead workers being closed here
        self._failover = Failover(ctx)
        self._final_gate = asyncio.Semaphore(
            cluster.settings.failover_concurrency if cluster is not None else 1)
        if cluster is not None:
            cluster.serve(UPDATE_CALL, self._forwarded_update)
            cluster.serve(ADOPT_CALL, self._adopt)
            cluster.serve(MAKE_CALL, self._forwarded_make_call)
            cluster.on_expired(LeaseKind.CALL, self._owner_gone)
        self.sessions: dict[str, CallSession] = {}
        self._group = OwnedTaskGroup("CallService")
        self.live = LiveCallLimit(ctx.settings.max_live_calls_per_account)
        # With workers, the live-call limit and dial pacing are also counted for the whole
        # cluster (engine/ports/limits.py); this worker's own counts stay the cheap first check.
        shared = cluster is not None and cluster.limits is not None
        self._shared_live = shared and self.live.limit > 0
        cps = ctx.settings.calls_per_second
        self.admission = DialAdmission(ctx.clock, cps, self._spawn,
                                       shared=self._paced if shared and cps > 0 else None)

    async def _close(self, exc: BaseException | None) -> None:
        """Leaving `async with`: every live leg ends (internalError) and sends its final webhooks."""
        for session in list(self.sessions.values()):
            session.post(Shutdown())
        self.admission.close()  # queued REST legs end with their sessions; none may dial now
        await self._group.drain(exc)

    # ---------------------------------------------------------------- start-up recovery

    async def recover(self) -> int:
        """Close calls a previous process left live (it crashed): internalError, never reused.

        endTime is the last moment percl knew the leg alive, not this start-up (the downtime is
        no part of the call): the database's newest call change or log line, which the previous
        process wrote while the leg was still live (it never recorded its end).

        With a cluster, only legs no live worker owns are closed (each taken over first)."""
        last_seen = await self.ctx.store.last_activity()
        closed = 0
        for call in await self.ctx.store.live_calls():
            if self.cluster is not None:
                closed += await self._reclaim(call.call_id, last_seen)
                continue
            await self._close_left(call, last_seen,
                                   "Call was live when percl stopped; closed with internalError "
                                   "at start-up")
            closed += 1
        return closed

    async def _close_left(self, call: Call, last_seen: float | None, why: str) -> Call:
        """Store a leg nobody runs any more as ended with internalError (no webhooks); returns
        the final record."""
        now = self.ctx.clock.now()
        final = CallStatus.COMPLETED if call.status is CallStatus.IN_PROGRESS else CallStatus.FAILED
        closed = revised(call, now, status=final, call_ended_reason=CallEndedReason.INTERNAL_ERROR,
                         end_time=_left_at(call, last_seen, now))
        await self.ctx.store.put_call(closed)
        await self.ctx.logs.log(LogLevel.ERROR, call.account_id, why, call_id=call.call_id,
                                request_id=call.request_id)
        return closed

    # ---------------------------------------------------------------- REST: make a call

    async def make_call(self, account: Account, request: MakeCallRequest) -> Call:
        """Raises ApiError 429 / code 16 past the account's live-call limit (see admission.py).

        With workers, a call whose `parentCallId` runs on another worker is made by that worker
        (forwarded over the bus), so the child runs beside its parent and ends with it
        (hangupChildrenWithParent)."""
        if request.parent_call_id is not None and self.cluster is not None:
            made = await self._make_call_elsewhere(account, request, request.parent_call_id)
            if made is not None:
                return made
        return await self._make_call_here(account, request)

    async def _make_call_elsewhere(self, account: Account, request: MakeCallRequest,
                                   parent_call_id: str) -> Call | None:
        """The call made by the worker running its parent; None when that is this worker or no
        live worker runs the parent (it is made here, where the parent's checks answer)."""
        assert self.cluster is not None
        if parent_call_id in self.sessions:
            return None
        try:
            answer = await self.cluster.ask_owner(LeaseKind.CALL, parent_call_id, MAKE_CALL, {
                "account_id": account.account_id, "request": _request_json(request)})
        except OwnerGone:
            return None
        call_id = answer.get("call_id") if isinstance(answer, dict) else None
        call = await self.ctx.store.get_call(str(call_id))
        if call is None:  # the owner stores the leg before it answers
            raise ServiceUnavailable(f"the worker running call {parent_call_id} made no call")
        return call

    async def _forwarded_make_call(self, arguments: Arguments) -> JsonValue:
        """Another worker's POST /Calls whose parent runs here: made here, never forwarded
        again."""
        account = await self.ctx.store.get_account(str(arguments.get("account_id")))
        if account is None:
            raise NotFound("Account not found")
        call = await self._make_call_here(account, _request_of(arguments.get("request")))
        return {"call_id": call.call_id}

    async def _make_call_here(self, account: Account, request: MakeCallRequest) -> Call:
        if not self.live.reserve(account.account_id, self._live_count):
            raise too_many_live_calls(account.account_id, self.live.limit)
        try:
            return await self._make_call(account, request)
        finally:
            self.live.release(account.account_id)

    async def _make_call(self, account: Account, request: MakeCallRequest) -> Call:
        app = await self._application(account, request.application_id)
        parent = await self._parent(account, request.parent_call_id)
        if app is None and parent is not None and parent.application_id:
            app = await self.ctx.store.get_application(parent.application_id)
        connect_url = request.call_connect_url or (app.call_connect_url if app else None)
        if connect_url is None:
            raise BadRequest(
                "callConnectUrl is required: give it in the request or set it on the application",
                code=80, details={"field": "callConnectUrl"},
            )
        if request.if_machine is not None and request.if_machine not in ("redirect", "hangup"):
            raise BadRequest("ifMachine must be redirect or hangup", details={"field": "ifMachine"})
        phone_number_id = await self._own_number_id(account.account_id, request.from_)
        call = self._new_leg(
            account.account_id, request.from_, request.to, CallDirection.OUTBOUND_API,
            call_id=self.ctx.ids.new(ids.CALL),
            application_id=app.application_id if app else None,
            parent_call_id=parent.call_id if parent else None,
            phone_number_id=phone_number_id,
            request_id=request.request_id or self.ctx.ids.new(ids.REQUEST),
            status_callback_url=app.status_callback_url if app else None,
            dialing=Dialing(connect_url, request.if_machine, request.if_machine_url,
                            request.send_digits, request.timeout, request.privacy_mode),
        )
        if self.cluster is not None:
            await self._start_leased(call)
        else:
            await self.ctx.store.put_call(call)
        # REST legs dial through the account's calls-per-second queue (admission.py).
        admission = self.admission if self.admission.enabled else None
        self._start(CallSession(self.ctx, call, account, dial_child=self._dial_child,
                                on_end=self._forget, admission=admission))
        return call

    async def _application(self, account: Account, application_id: str | None) -> Application | None:
        if application_id is None:
            return None
        app = await self.ctx.store.get_application(application_id)
        if app is None or app.account_id != account.account_id:
            raise NotFound(f"Application {application_id} not found",
                           details={"field": "applicationId"})
        return app

    async def _parent(self, account: Account, parent_call_id: str | None) -> Call | None:
        if parent_call_id is None:
            return None
        parent = await self.ctx.store.get_call(parent_call_id)
        if parent is None or parent.account_id != account.account_id:
            raise NotFound(f"Parent call {parent_call_id} not found",
                           details={"field": "parentCallId"})
        ringing_inbound = (parent.status is CallStatus.RINGING
                           and parent.direction is CallDirection.INBOUND)
        if parent.status is not CallStatus.IN_PROGRESS and not ringing_inbound:
            raise BadRequest(
                f"Parent call {parent_call_id} is {parent.status.value}: it must be in progress "
                "(or an inbound call still ringing)", code=16, details={"field": "parentCallId"},
            )
        return parent

    async def _own_number_id(self, account_id: str, number: str) -> str | None:
        """The phoneNumberId of `number` when it is one of the account's incoming numbers (an
        outbound leg's phoneNumberId), else None."""
        owned = await self.ctx.store.find_number(number)
        return owned.phone_number_id if owned is not None and owned.account_id == account_id else None

    def _new_leg(
        self, account_id: str, from_: str, to: str, direction: CallDirection, *, call_id: str,
        application_id: str | None, phone_number_id: str | None, request_id: str | None,
        status_callback_url: str | None, parent_call_id: str | None = None,
        dialing: Dialing | None = None, web_rtc: bool = False,
    ) -> Call:
        """The first record of a new leg: the one place a Call is made. An inbound leg rings
        from now on; an outbound one (with its `dialing`) waits to be dialed."""
        now = self.ctx.clock.now()
        # Built once with its status fields (a dataclasses.replace after it cost more than the
        # Call itself, and every call makes a leg): an inbound leg rings now, an outbound one
        # is queued with what its dialing asked for.
        if dialing is None:
            return Call(
                call_id=call_id, account_id=account_id, from_=from_, to=to, direction=direction,
                application_id=application_id, parent_call_id=parent_call_id,
                phone_number_id=phone_number_id, request_id=request_id, date_created=now,
                date_updated=now, status_callback_url=status_callback_url, web_rtc=web_rtc,
                status=CallStatus.RINGING, start_time=now,
            )
        return Call(
            call_id=call_id, account_id=account_id, from_=from_, to=to, direction=direction,
            application_id=application_id, parent_call_id=parent_call_id,
            phone_number_id=phone_number_id, request_id=request_id, date_created=now,
            date_updated=now, status_callback_url=status_callback_url, web_rtc=web_rtc,
            status=CallStatus.QUEUED, call_connect_url=dialing.call_connect_url,
            if_machine=dialing.if_machine, if_machine_url=dialing.if_machine_url,
            send_digits=dialing.send_digits, timeout_s=self._ring_timeout(dialing.timeout),
            privacy_mode=bool(dialing.privacy_mode),
        )

    def _ring_timeout(self, timeout: int | None) -> int:
        s = self.ctx.settings
        if timeout is None:
            return s.default_ring_timeout_s
        return max(1, min(timeout, s.max_ring_timeout_s))

    # ---------------------------------------------------------------- OutDial children

    async def _dial_child(self, parent: CallSession, command: OutDial,
                          parent_started: asyncio.Event) -> str:
        p = parent.call
        phone_number_id = await self._own_number_id(p.account_id, command.calling_number)
        child = self._new_leg(
            p.account_id, command.calling_number, command.destination, CallDirection.OUTBOUND_DIAL,
            call_id=self.ctx.ids.new(ids.CALL),
            application_id=p.application_id,
            parent_call_id=p.call_id,
            phone_number_id=phone_number_id,
            request_id=p.request_id,
            status_callback_url=command.status_callback_url,
            dialing=Dialing(command.call_connect_url, command.if_machine, command.if_machine_url,
                            command.send_digits, command.timeout, command.privacy_mode),
        )
        if self.cluster is not None:
            await self._own(child.call_id)
        await durable.put_call(self.ctx, child)
        session = CallSession(self.ctx, child, parent.account, dial_child=self._dial_child,
                              on_end=self._forget, parent_started=parent_started)
        if (self.live.has_room(p.account_id, self._live_count)
                and await self._enter_live(p.account_id, child.call_id)):
            self._start(session)
        else:  # in the background: the parent must not wait for the child's failure webhooks
            self._spawn(self._refuse_over_limit(session))
        return child.call_id

    # ---------------------------------------------------------------- inbound

    async def incoming_call(
        self, call_id: str, from_: str, to: str, number: IncomingNumber | None = None, *,
        web_rtc: bool = False,
    ) -> None:
        store = self.ctx.store
        if number is None or number.phone_number != to:
            number = await store.find_number(to)
        if number is None:  # the network only routes owned numbers here
            raise NotFound(f"{to} is not a number of any account")
        account = await store.get_account(number.account_id)
        if account is None:
            raise NotFound(f"account of {to} not found")
        app = await store.get_application(number.application_id) if number.application_id else None
        call = self._new_leg(
            account.account_id, from_, to, CallDirection.INBOUND,
            call_id=call_id,
            application_id=app.application_id if app else None,
            phone_number_id=number.phone_number_id,
            request_id=self.ctx.ids.new(ids.REQUEST),
            status_callback_url=app.status_callback_url if app else None,
            web_rtc=web_rtc,
        )
        if self.cluster is not None:
            await self._own(call.call_id)
        await durable.put_call(self.ctx, call)  # the caller rings on while the database is busy
        voice = (app.voice_url, app.voice_fallback_url) if app else (None, None)
        session = CallSession(self.ctx, call, account, voice_urls=voice,
                              dial_child=self._dial_child, on_end=self._forget)
        self.ctx.telephony.attach(call_id, session)
        problem = _inbound_problem(number.voice_enabled, app)
        if problem is not None:
            await session.end_with(problem)
            self._disown(call)
            return
        if (not self.live.has_room(account.account_id, self._live_count)
                or not await self._enter_live(account.account_id, call_id)):
            await self._refuse_over_limit(session)
            return
        self._start(session)

    # ---------------------------------------------------------------- REST: update a call

    async def update_call(self, account: Account, call_id: str, status: str) -> None:
        if self.cluster is not None and call_id not in self.sessions:
            await self._update_elsewhere(account, call_id, status)
            return
        await self._update_here(account, call_id, status)

    async def _update_here(self, account: Account, call_id: str, status: str) -> None:
        call = await self.ctx.store.get_call(call_id)
        session = self.sessions.get(call_id)
        if call is None or call.account_id != account.account_id or session is None or session.done:
            raise NotFound(f"Call {call_id} not found or no longer live")
        if status not in ("canceled", "completed"):
            raise BadRequest("status must be canceled or completed", details={"field": "status"})
        session.post(ApiUpdate(status))

    # ---------------------------------------------------------------- registry

    def _start(self, session: CallSession) -> None:
        self.sessions[session.call.call_id] = session
        self.live.started(session.call.account_id)
        self._spawn(session.run())

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        return self._group.spawn(coro)

    def _forget(self, session: CallSession) -> None:
        if self.sessions.pop(session.call.call_id, None) is not None:
            self.live.ended(session.call.account_id)
        if session.moved:  # it lives on another worker, with its leases and its children
            return
        self._disown(session.call)  # after its final record: see _reclaim
        if self.ctx.settings.hangup_children_with_parent:
            for child in list(self.sessions.values()):
                if child.call.parent_call_id == session.call.call_id:
                    child.post(ParentEnded())

    # ---------------------------------------------------------------- live-call limit

    def _live_count(self, account_id: str) -> int:
        """The exact number of the account's live legs (a scan: only used near the limit)."""
        return sum(1 for s in self.sessions.values()
                   if s.call.account_id == account_id and not s.done)

    async def _refuse_over_limit(self, session: CallSession) -> None:
        """An inbound call or OutDial child past the limit: `failed` / `failed`, never answered."""
        limit = self.live.limit
        await self.ctx.logs.log(
            LogLevel.ERROR, session.call.account_id,
            f"Call refused: the account already has {limit} live calls, the most "
            "PERCL_MAX_LIVE_CALLS allows", call_id=session.call.call_id,
            request_id=session.call.request_id, metadata={"limit": limit},
        )
        await session.end_with(CallEndedReason.FAILED)
        self._disown(session.call)

    # ---------------------------------------------------------------- workers (issue 19)

    async def _own(self, call_id: str) -> None:
        """Lease a new leg to this worker, before its first record: a leg in the store is
        always leased, so another worker's recovery never takes it for a dead worker's."""
        assert self.cluster is not None  # callers test it: one worker awaits nothing here
        if not await self.cluster.own(LeaseKind.CALL, call_id):
            raise ServiceUnavailable(f"Call {call_id} is leased to another worker")

    async def _start_leased(self, call: Call) -> None:
        """A new REST leg with workers: counted against the cluster-wide live-call limit (429
        / code 16 past it), leased, then stored; what was taken is given back if a step fails."""
        if not await self._enter_live(call.account_id, call.call_id):
            raise too_many_live_calls(call.account_id, self.live.limit)
        try:
            await self._own(call.call_id)
            await self.ctx.store.put_call(call)
        except BaseException:
            self._disown(call)
            raise

    async def _enter_live(self, account_id: str, call_id: str) -> bool:
        """With workers, count the leg against the account's live calls across the cluster
        (False past the limit); one worker counts only its sessions (LiveCallLimit)."""
        if not self._shared_live:
            return True
        assert self.cluster is not None
        return await self.cluster.enter_live(account_id, call_id, self.live.limit)

    async def _paced(self, account_id: str) -> float:
        """The cluster-wide turn of the account's next dial (DialAdmission's shared pacer)."""
        assert self.cluster is not None
        cps = self.ctx.settings.calls_per_second
        return await self.cluster.reserve(f"cps:{account_id}", Rate(cps, max(1.0, cps)))

    def _disown(self, call: Call) -> None:
        if self.cluster is not None and self._group.running:
            self._spawn(self._release(self.cluster, call))

    async def _release(self, cluster: Cluster, call: Call) -> None:
        try:
            await cluster.disown(LeaseKind.CALL, call.call_id)
            if self._shared_live:
                await cluster.leave_live(call.account_id, call.call_id)
        except Exception:  # they run out by themselves; the leg's record is final already
            log.exception("could not release the leases of call %s", call.call_id)

    async def hand_over(self, call_id: str, script: list[JsonValue], worker_id: str) -> bool:
        """Move the live leg `call_id` to worker `worker_id`, which goes on with `script` (PerCL
        JSON: the AddToConference of a conference whose room runs there, or the Enqueue of a
        queue run there). True when that worker runs the leg now: this worker's session must let
        it go (events.Moved). False when it could not take it (the leg runs on here): the
        network cannot move it, that worker is gone or refused."""
        session = self.sessions.get(call_id)
        telephony = self.ctx.telephony
        if self.cluster is None or session is None or not isinstance(telephony, LegMover):
            return False
        if not telephony.park(call_id):
            await session.log(LogLevel.ERROR, f"Call cannot move to percl worker {worker_id}: "
                              "its phone's media is tied to this worker (a SIP or browser "
                              "phone, an audio stream)", {"worker": worker_id})
            return False
        try:
            await self.cluster.forwarder.ask(worker_id, ADOPT_CALL, {
                "account_id": session.call.account_id, "call_id": call_id,
                "from": self.cluster.worker_id, "script": script,
                "leg": telephony.parcel(call_id)})
        except (ApiError, OwnerGone, MessageTooLarge) as exc:
            telephony.unpark(call_id, session)
            await session.log(LogLevel.ERROR, f"Call could not move to percl worker {worker_id}: "
                              f"{exc}", {"worker": worker_id})
            return False
        telephony.let_go(call_id)  # another process's network runs its phone now
        return True

    async def _adopt(self, arguments: Arguments) -> JsonValue:
        """Another worker hands a live leg over (`hand_over`): its leases become this worker's,
        the network gives its media here, and a session runs `script` for it."""
        assert self.cluster is not None
        call_id, sender = str(arguments.get("call_id")), str(arguments.get("from"))
        call = await self.ctx.store.get_call(call_id)
        account = await self.ctx.store.get_account(str(arguments.get("account_id")))
        telephony = self.ctx.telephony
        if call is None or account is None or call.status.is_final:
            raise NotFound(f"Call {call_id} not found or no longer live")
        if not isinstance(telephony, LegMover):
            raise ServiceUnavailable("this worker's phone network cannot take a leg over")
        if not await self.cluster.transfer_from(LeaseKind.CALL, call_id, sender):
            raise ServiceUnavailable(f"Call {call_id} is not leased to worker {sender}")
        session = CallSession(self.ctx, call, account, dial_child=self._dial_child,
                              on_end=self._forget, adopted=parse_script(arguments.get("script")))
        if not telephony.adopt(call_id, session, arguments.get("leg")):
            await self.cluster.transfer(LeaseKind.CALL, call_id, sender)
            raise ServiceUnavailable(f"this worker cannot take the media of call {call_id} over "
                                     "(a phone too large to move)")
        if self._shared_live:
            await self.cluster.transfer_from(LeaseKind.LIVE, live_key(call.account_id, call_id),
                                             sender)
        self._start(session)
        await session.log(LogLevel.INFO, f"Call moved here from percl worker {sender} (this is "
                          f"worker {self.cluster.worker_id})",
                          {"from": sender, "worker": self.cluster.worker_id})
        return None

    async def _update_elsewhere(self, account: Account, call_id: str, status: str) -> None:
        """A REST update of a leg this worker does not run: the owner does it (forwarded over
        the bus); no live owner is a leg no longer live."""
        assert self.cluster is not None
        call = await self.ctx.store.get_call(call_id)
        gone = NotFound(f"Call {call_id} not found or no longer live")
        if call is None or call.account_id != account.account_id or call.status.is_final:
            raise gone
        try:
            await self.cluster.ask_owner(LeaseKind.CALL, call_id, UPDATE_CALL, {
                "account_id": account.account_id, "call_id": call_id, "status": status})
        except OwnerGone:
            raise gone from None

    async def _forwarded_update(self, arguments: Arguments) -> JsonValue:
        """Another worker's forwarded REST update of a leg: done here, never forwarded again."""
        account = await self.ctx.store.get_account(str(arguments.get("account_id")))
        call_id = str(arguments.get("call_id"))
        if account is None:
            raise NotFound(f"Call {call_id} not found or no longer live")
        await self._update_here(account, call_id, str(arguments.get("status")))
        return None

    async def _reclaim(self, call_id: str, last_seen: float | None, *, taken: bool = False) -> int:
        """Close a leg no live worker owns: take its lease (one worker wins), read it again (its
        owner may have ended it meanwhile: it writes the final record before letting go), close
        it if it is still live, let go. Returns 1 when closed here, else 0. `taken`: the expiry
        scan took the lease already and lets go of it afterwards (with others, in one go)."""
        assert self.cluster is not None
        if call_id in self._reclaiming or call_id in self.sessions:
            return 0
        if not taken and not await self.cluster.own(LeaseKind.CALL, call_id):
            return 0  # a live worker runs it
        self._reclaiming.add(call_id)
        try:
            call = await self.ctx.store.get_call(call_id)
            if call is None or call.status.is_final:
                return 0
            # Its queue or conference died too: out of them first (records before webhooks).
            departure = await self._failover.release(
                call, _left_at(call, last_seen, self.ctx.clock.now()))
            closed = await self._close_left(departure.call, last_seen,
                                            "Call was live on a percl worker that stopped; "
                                            "closed with internalError")
            notices = departure.notices(closed)
            if notices or closed.status_callback_url:  # in the background: the scan goes on
                if self._group.running:
                    self._spawn(self._final_webhooks(closed, notices))
                else:
                    await self._final_webhooks(closed, notices)
            return 1
        finally:
            self._reclaiming.discard(call_id)
            if not taken:
                await self.cluster.disown(LeaseKind.CALL, call_id)

    async def _final_webhooks(self, call: Call, notices: list[Notice]) -> None:
        """The webhooks FreeClimb sends when a leg ends, for a leg closed because its worker
        died: what its queue or conference owes it (`notices`, failover.py), then callStatus to
        its statusCallbackUrl (its other webhooks died with the worker). At most
        failover_concurrency legs' at once: hundreds of a dead worker's calls are closed in a
        few seconds, and the app should not get them all in the same instant."""
        async with self._final_gate:
            try:
                account = await self.ctx.store.get_account(call.account_id)
                if account is None:
                    return
                await send_owed(self.ctx, account, notices)
                if call.status_callback_url:
                    await self.ctx.webhooks.send(WebhookRequest(
                        request_type=payloads.CallStatus.REQUEST_TYPE,
                        url=call.status_callback_url, account=account, call=call,
                        fields=wire_fields(payloads.CallStatus()),
                        privacy_mode=call.privacy_mode, request_id=call.request_id))
            except Exception:  # the records are final already; a failed webhook is in the log
                log.exception("call %s: the final webhooks failed", call.call_id)

    async def _owner_gone(self, lease: Lease) -> None:
        """A leg's lease ran out: its worker stopped renewing (died). Close the leg as a start-up
        recovery would, its end at the owner's last renewal."""
        assert self.cluster is not None
        if await self._reclaim(lease.key, lease.expires_at - self.cluster.settings.lease_s,
                               taken=True):
            log.warning("call %s: its worker %s stopped; closed with internalError",
                        lease.key, lease.owner)


def _left_at(call: Call, last_seen: float | None, now: float) -> float:
    """When a leg nobody runs any more ended: the last moment percl knew it alive."""
    return min(now, max(call.date_updated, last_seen or call.date_updated))


def _inbound_problem(voice_enabled: bool, app: Application | None) -> CallEndedReason | None:
    if not voice_enabled:
        return CallEndedReason.VOICE_DISABLED
    if app is None:
        return CallEndedReason.CONFIG_ERROR_NO_APPLICATION
    if not app.voice_url:
        return CallEndedReason.CONFIG_ERROR_NO_VOICE_URL
    return None


def _request_json(request: MakeCallRequest) -> JsonValue:
    return {f.name: getattr(request, f.name) for f in fields(MakeCallRequest)}


def _request_of(value: JsonValue) -> MakeCallRequest:
    """A forwarded MakeCallRequest (`_request_json`), fields checked by type."""
    if not isinstance(value, dict):
        raise BadRequest("a forwarded call request must be an object")

    def text(name: str) -> str | None:
        item = value.get(name)
        return item if isinstance(item, str) else None

    timeout, privacy = value.get("timeout"), value.get("privacy_mode")
    return MakeCallRequest(
        from_=text("from_") or "", to=text("to") or "", application_id=text("application_id"),
        call_connect_url=text("call_connect_url"), parent_call_id=text("parent_call_id"),
        send_digits=text("send_digits"), if_machine=text("if_machine"),
        if_machine_url=text("if_machine_url"),
        timeout=timeout if isinstance(timeout, int) and not isinstance(timeout, bool) else None,
        privacy_mode=privacy if isinstance(privacy, bool) else None,
        request_id=text("request_id"))
