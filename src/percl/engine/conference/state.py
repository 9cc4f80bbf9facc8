"""The conference and participant lifecycles as tables (FREECLIMB.md §6).

A conference is born `empty` (CreateConference or POST /Conferences). The first participant makes
it `populated`; while it is populated its participants hear the wait audio and not each other. The
first participant whose AddToConference had startConfOnEnter (the default) starts it: `inProgress`,
and everyone in it is bridged. When the last participant leaves it is `empty` again, reusable,
until it is terminated (TerminateConference, or POST /Conferences/{id} {status: terminated}).

    empty ──first_joined──▶ populated ──started──▶ inProgress
      ▲                         │                      │
      └──────────emptied────────┴──────────────────────┘
    empty ──terminate──▶ terminated  (final)

Terminating a populated or inProgress conference therefore takes two moves, `emptied` and then
`terminate`, and FreeClimb's statusCallbackUrl hears both (`empty`, then `terminated`). The shell
(engine.conference.room) asks the helpers below which moves an occupancy change implies, applies
them one by one, and reports every resulting status.

A participant waits (wait audio) until its conference is in progress, then is bridged; it leaves
once, however it leaves (hangup, removal, termination):

    joining ──wait──▶ waiting ──bridge──▶ bridged
    joining ──bridge──▶ bridged
    joining | waiting | bridged ──leave──▶ left  (final)

An illegal move raises IllegalTransition: it is always an engine bug.
"""

from __future__ import annotations

from enum import StrEnum

from percl.domain.enums import ConferenceStatus, PlayBeep
from percl.errors import IllegalTransition


class ConferenceEvent(StrEnum):
    FIRST_JOINED = "first_joined"
    STARTED = "started"
    EMPTIED = "emptied"
    TERMINATE = "terminate"


E, POP, RUN, TERM = (ConferenceStatus.EMPTY, ConferenceStatus.POPULATED,
                     ConferenceStatus.IN_PROGRESS, ConferenceStatus.TERMINATED)

CONFERENCE_TRANSITIONS: dict[tuple[ConferenceStatus, ConferenceEvent], ConferenceStatus] = {
    (E, ConferenceEvent.FIRST_JOINED): POP,
    (POP, ConferenceEvent.STARTED): RUN,
    (POP, ConferenceEvent.EMPTIED): E,
    (RUN, ConferenceEvent.EMPTIED): E,
    (E, ConferenceEvent.TERMINATE): TERM,
}


def apply_conference(status: ConferenceStatus, event: ConferenceEvent) -> ConferenceStatus:
    """The status after `event`; raises IllegalTransition for a move the table does not allow."""
    try:
        return CONFERENCE_TRANSITIONS[(status, event)]
    except KeyError:
        raise IllegalTransition("conference", status.value, event.value) from None


def on_join(status: ConferenceStatus, starts: bool) -> list[ConferenceEvent]:
    """The moves when a participant joins; `starts` is its startConfOnEnter.

    Raises IllegalTransition when the conference is terminated (nobody may join it)."""
    if status is TERM:
        raise IllegalTransition("conference", status.value, "join")
    events: list[ConferenceEvent] = []
    if status is E:
        events.append(ConferenceEvent.FIRST_JOINED)
    if starts and status is not RUN:
        events.append(ConferenceEvent.STARTED)
    return events


def on_leave(status: ConferenceStatus, remaining: int) -> list[ConferenceEvent]:
    """The moves when a participant left and `remaining` participants are still in."""
    if remaining > 0 or status in (E, TERM):
        return []
    return [ConferenceEvent.EMPTIED]


def on_terminate(status: ConferenceStatus) -> list[ConferenceEvent]:
    """The moves that terminate a conference in `status` (empty first, if it is not yet).

    Raises IllegalTransition for a conference that is already terminated."""
    if status is TERM:
        raise IllegalTransition("conference", status.value, ConferenceEvent.TERMINATE.value)
    if status is E:
        return [ConferenceEvent.TERMINATE]
    return [ConferenceEvent.EMPTIED, ConferenceEvent.TERMINATE]


def beeps(play_beep: PlayBeep, entering: bool) -> bool:
    """Whether a participant entering (or leaving) is announced with a beep."""
    if play_beep is PlayBeep.ALWAYS:
        return True
    if play_beep is PlayBeep.ENTRY_ONLY:
        return entering
    if play_beep is PlayBeep.EXIT_ONLY:
        return not entering
    return False


# --------------------------------------------------------------------------- participants


class ParticipantState(StrEnum):
    JOINING = "joining"
    WAITING = "waiting"
    BRIDGED = "bridged"
    LEFT = "left"


class ParticipantEvent(StrEnum):
    WAIT = "wait"
    BRIDGE = "bridge"
    LEAVE = "leave"


J, W, B, L = (ParticipantState.JOINING, ParticipantState.WAITING, ParticipantState.BRIDGED,
              ParticipantState.LEFT)

PARTICIPANT_TRANSITIONS: dict[tuple[ParticipantState, ParticipantEvent], ParticipantState] = {
    (J, ParticipantEvent.WAIT): W,
    (J, ParticipantEvent.BRIDGE): B,
    (W, ParticipantEvent.BRIDGE): B,
    (J, ParticipantEvent.LEAVE): L,
    (W, ParticipantEvent.LEAVE): L,
    (B, ParticipantEvent.LEAVE): L,
}


def apply_participant(state: ParticipantState, event: ParticipantEvent) -> ParticipantState:
    """The participant's state after `event`; raises IllegalTransition otherwise."""
    try:
        return PARTICIPANT_TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalTransition("participant", state.value, event.value) from None


def placement(status: ConferenceStatus) -> ParticipantEvent:
    """Where a participant of a conference in `status` belongs: bridged once it is in progress,
    waiting before."""
    return ParticipantEvent.BRIDGE if status is RUN else ParticipantEvent.WAIT
