"""The runners of the conference PerCL commands (see engine.runners for the contract).

    CreateConference      create an empty conference; createConference -> actionUrl (Fetch)
    AddToConference       the leg joins and waits there (Hold), until removed or terminated
    RemoveFromConference  leave: leaveConference -> leaveConferenceUrl (Fetch), or hang up
    TerminateConference   hang every participant up; this leg too (conferenceTerminated)
    SetTalk / SetListen / SetDTMFPassThrough   change the leg's privileges (Proceed)

The legacy attributes FreeClimb's SDKs dropped in 2024 are honoured (FREECLIMB.md §3.3, §9.5):
`callId` on AddToConference, RemoveFromConference, SetTalk and SetListen names the leg to act on;
when it names another leg than the executing one, the command acts on that leg (Persephony's
behaviour) and the executing leg's script goes on. `conferenceId` on TerminateConference must be
the executing leg's own conference.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from percl.domain import payloads as p
from percl.domain.enums import CallEndedReason, CallStatus, LogLevel, PlayBeep
from percl.domain.records import Account
from percl.engine.conference.member import PARTICIPANT_COMMANDS, Member
from percl.engine.conference.room import ConferenceRoom
from percl.engine.context import EngineContext
from percl.percl import events as e
from percl.percl.commands import (
    AddToConference,
    Command,
    CreateConference,
    RemoveFromConference,
    SetDTMFPassThrough,
    SetListen,
    SetTalk,
    TerminateConference,
)

if TYPE_CHECKING:
    from percl.engine.runners import Leg


class Conferences(Protocol):
    """What the runners use of service.py's ConferenceService (which registers them:
    a Protocol here keeps the two modules out of an import circle)."""

    ctx: EngineContext

    @property
    def sessions(self) -> Mapping[str, Leg]: ...

    async def create(
        self, account: Account, *, alias: str | None, play_beep: PlayBeep, record: bool,
        wait_url: str | None, status_callback_url: str | None, action_url: str | None,
        request_id: str | None, creator: Leg | None,
    ) -> ConferenceRoom: ...

    async def room(self, account_id: str, conference_id: str) -> ConferenceRoom | None: ...

    def membership(self, session: Leg) -> tuple[ConferenceRoom, Member] | None: ...

    async def leave_current(self, session: Leg) -> None: ...

    async def owner_elsewhere(self, conference_id: str) -> str | None: ...

    async def hand_over(self, session: Leg, command: AddToConference,
                        worker_id: str) -> e.Outcome: ...

#: A participant waits silently when its script runs out; on_idle only re-arms call control.
PARTICIPANT_HOLD = e.Hold(e.Idle.NOTIFY, allowed=PARTICIPANT_COMMANDS)


def _problem(message: str) -> e.Finish:
    return e.Finish(CallEndedReason.PERCL_PROCESSING_ERROR, message)


async def create_conference(
    service: Conferences, session: Leg, command: Command
) -> e.Outcome:
    """CreateConference: the conference is created and announced before actionUrl is asked."""
    assert isinstance(command, CreateConference)
    room = await service.create(
        session.account,
        alias=command.alias,
        play_beep=PlayBeep(command.play_beep) if command.play_beep else PlayBeep.ALWAYS,
        record=bool(command.record),
        wait_url=command.wait_url,
        status_callback_url=command.status_callback_url,
        action_url=command.action_url,
        request_id=session.call.request_id,
        creator=session,
    )
    return e.Fetch(command.action_url, p.CreateConference(room.conference_id))


async def add_to_conference(
    service: Conferences, session: Leg, command: Command
) -> e.Outcome:
    assert isinstance(command, AddToConference)
    target = await _target(service, session, command.call_id)
    if target is None:
        return e.Proceed()
    room = await service.room(session.account.account_id, command.conference_id)
    if room is None:
        return _problem(f"AddToConference: conference {command.conference_id} does not exist or "
                        "is terminated; the call ends with perclProcessingError")
    owner = await service.owner_elsewhere(command.conference_id)
    if owner is not None and target is session:  # its room runs on another worker: move there
        return await service.hand_over(session, command, owner)
    await service.leave_current(target)
    member = await room.join(target, command)
    if member is None:
        return _problem(f"AddToConference: conference {command.conference_id} was terminated")
    if target is not session:
        await session.log(LogLevel.INFO, f"AddToConference added call {target.call.call_id} "
                          "(legacy callId); this call's script goes on")
        return e.Proceed()
    return PARTICIPANT_HOLD


async def remove_from_conference(
    service: Conferences, session: Leg, command: Command
) -> e.Outcome:
    assert isinstance(command, RemoveFromConference)
    target = await _target(service, session, command.call_id)
    found = service.membership(target) if target is not None else None
    if target is None or found is None:
        await session.log(LogLevel.WARNING, "RemoveFromConference ignored: the call is not in a "
                          "conference")
        return e.Proceed()
    room, member = found
    if target is not session:
        await room.remove(member)
        return e.Proceed()
    return await room.remove_self(member)


async def terminate_conference(
    service: Conferences, session: Leg, command: Command
) -> e.Outcome:
    assert isinstance(command, TerminateConference)
    found = service.membership(session)
    if found is None:
        return _problem("TerminateConference: the call must be in the conference it terminates; "
                        "the call ends with perclProcessingError")
    room, _ = found
    if command.conference_id not in (None, room.conference_id):
        return _problem(f"TerminateConference: conference {command.conference_id} is not this "
                        f"call's conference ({room.conference_id})")
    await room.terminate(by=session)
    return e.Finish(CallEndedReason.CONFERENCE_TERMINATED)


async def set_talk(service: Conferences, session: Leg, command: Command) -> e.Outcome:
    assert isinstance(command, SetTalk)
    return await _set(service, session, command.call_id, "SetTalk",
                      talk=command.talk is not False)


async def set_listen(
    service: Conferences, session: Leg, command: Command
) -> e.Outcome:
    assert isinstance(command, SetListen)
    return await _set(service, session, command.call_id, "SetListen",
                      listen=command.listen is not False)


async def set_dtmf_pass_through(
    service: Conferences, session: Leg, command: Command
) -> e.Outcome:
    assert isinstance(command, SetDTMFPassThrough)
    return await _set(service, session, None, "SetDTMFPassThrough",
                      dtmf_pass_through=command.dtmf_pass_through is not False)


async def _set(service: Conferences, session: Leg, call_id: str | None, name: str,
               **changes: Any) -> e.Outcome:
    """A privilege change (an absent value means true, the privilege's default); ignored with a
    warning when the leg is not in a conference."""
    target = await _target(service, session, call_id)
    found = service.membership(target) if target is not None else None
    if found is None:
        await session.log(LogLevel.WARNING, f"{name} ignored: the call is not in a conference")
        return e.Proceed()
    room, member = found
    await room.set_privileges(member, **changes)
    return e.Proceed()


async def _target(
    service: Conferences, session: Leg, call_id: str | None
) -> Leg | None:
    """The leg a command acts on: the executing one, or the live leg of the same account that a
    legacy `callId` names (None, with a warning, when that leg is not live)."""
    if call_id is None or call_id == session.call.call_id:
        return session
    other = service.sessions.get(call_id)
    if (other is None or other.done or other.call.account_id != session.call.account_id
            or other.call.status is not CallStatus.IN_PROGRESS):
        await session.log(LogLevel.WARNING, f"callId {call_id} is not an answered, live call of "
                          "this account; the command is ignored")
        return None
    return other


def register(service: Conferences) -> None:
    """Register the conference runners in the service's EngineContext."""
    table = {
        "CreateConference": create_conference,
        "AddToConference": add_to_conference,
        "RemoveFromConference": remove_from_conference,
        "TerminateConference": terminate_conference,
        "SetTalk": set_talk,
        "SetListen": set_listen,
        "SetDTMFPassThrough": set_dtmf_pass_through,
    }
    for name, runner in table.items():
        service.ctx.runners.register(name, _bound(service, runner))


def _bound(service: Conferences, runner: Any) -> Any:
    async def run(session: Leg, command: Command) -> e.Outcome:
        outcome: e.Outcome = await runner(service, session, command)
        return outcome

    return run
