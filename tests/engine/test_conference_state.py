"""The conference and participant tables (engine.conference.state) and the call-control key
watcher (engine.conference.member.ControlKeys): pure, exhaustive where the tables are small."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from percl.domain.enums import ConferenceStatus, PlayBeep
from percl.engine.conference.member import NOT_IN_CONFERENCE, PARTICIPANT_COMMANDS, ControlKeys
from percl.engine.conference.state import (
    CONFERENCE_TRANSITIONS,
    PARTICIPANT_TRANSITIONS,
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
from percl.errors import IllegalTransition

E, POP, RUN, TERM = (ConferenceStatus.EMPTY, ConferenceStatus.POPULATED,
                     ConferenceStatus.IN_PROGRESS, ConferenceStatus.TERMINATED)


@pytest.mark.parametrize(("status", "event"),
                         list(itertools.product(ConferenceStatus, ConferenceEvent)))
def test_conference_table_is_total_over_its_entries(
    status: ConferenceStatus, event: ConferenceEvent
) -> None:
    if (status, event) in CONFERENCE_TRANSITIONS:
        assert apply_conference(status, event) is CONFERENCE_TRANSITIONS[(status, event)]
    else:
        with pytest.raises(IllegalTransition) as info:
            apply_conference(status, event)
        assert info.value.machine == "conference" and info.value.state == status.value


def test_terminated_is_final() -> None:
    assert not [key for key in CONFERENCE_TRANSITIONS if key[0] is TERM]


@pytest.mark.parametrize(("status", "starts", "moves"), [
    (E, True, [ConferenceEvent.FIRST_JOINED, ConferenceEvent.STARTED]),
    (E, False, [ConferenceEvent.FIRST_JOINED]),
    (POP, True, [ConferenceEvent.STARTED]),
    (POP, False, []),
    (RUN, True, []),
    (RUN, False, []),
])
def test_on_join(status: ConferenceStatus, starts: bool, moves: list[ConferenceEvent]) -> None:
    assert on_join(status, starts) == moves
    for move in moves:  # every move it asks for is legal, in order
        status = apply_conference(status, move)


def test_nobody_joins_a_terminated_conference() -> None:
    with pytest.raises(IllegalTransition):
        on_join(TERM, True)


@pytest.mark.parametrize(("status", "remaining", "moves"), [
    (POP, 0, [ConferenceEvent.EMPTIED]), (RUN, 0, [ConferenceEvent.EMPTIED]),
    (RUN, 1, []), (POP, 2, []), (E, 0, []), (TERM, 0, []),
])
def test_on_leave(status: ConferenceStatus, remaining: int, moves: list[ConferenceEvent]) -> None:
    assert on_leave(status, remaining) == moves


@pytest.mark.parametrize(("status", "final_moves"), [
    (E, [ConferenceEvent.TERMINATE]),
    (POP, [ConferenceEvent.EMPTIED, ConferenceEvent.TERMINATE]),
    (RUN, [ConferenceEvent.EMPTIED, ConferenceEvent.TERMINATE]),
])
def test_terminate_passes_through_empty(
    status: ConferenceStatus, final_moves: list[ConferenceEvent]
) -> None:
    moves = on_terminate(status)
    assert moves == final_moves
    for move in moves:
        status = apply_conference(status, move)
    assert status is TERM
    with pytest.raises(IllegalTransition):
        on_terminate(TERM)


@pytest.mark.parametrize(("play_beep", "entry", "exit_"), [
    (PlayBeep.ALWAYS, True, True), (PlayBeep.NEVER, False, False),
    (PlayBeep.ENTRY_ONLY, True, False), (PlayBeep.EXIT_ONLY, False, True),
])
def test_beeps(play_beep: PlayBeep, entry: bool, exit_: bool) -> None:
    assert (beeps(play_beep, True), beeps(play_beep, False)) == (entry, exit_)


@pytest.mark.parametrize(("state", "event"),
                         list(itertools.product(ParticipantState, ParticipantEvent)))
def test_participant_table(state: ParticipantState, event: ParticipantEvent) -> None:
    if (state, event) in PARTICIPANT_TRANSITIONS:
        assert apply_participant(state, event) is PARTICIPANT_TRANSITIONS[(state, event)]
    else:
        with pytest.raises(IllegalTransition):
            apply_participant(state, event)


def test_a_bridged_participant_never_goes_back_to_waiting_and_leaves_once() -> None:
    assert (ParticipantState.BRIDGED, ParticipantEvent.WAIT) not in PARTICIPANT_TRANSITIONS
    with pytest.raises(IllegalTransition):
        apply_participant(ParticipantState.LEFT, ParticipantEvent.LEAVE)


def test_placement() -> None:
    assert placement(RUN) is ParticipantEvent.BRIDGE
    assert {placement(s) for s in (E, POP)} == {ParticipantEvent.WAIT}


# --------------------------------------------------------------------------- call-control keys


def test_control_keys_catch_the_sequence_and_release_the_rest() -> None:
    keys = ControlKeys("*9")
    assert keys.feed("1") == ("1", False)
    assert keys.feed("*") == ("", False)  # might begin the sequence: held back
    assert keys.feed("9") == ("", True)
    assert keys.feed("*") == ("", False)
    assert keys.feed("5") == ("*5", False)  # not the sequence after all: released in order
    assert keys.feed("**9") == ("*", True)  # the first * was released, the second began it
    assert keys.feed("*93") == ("3", True)  # keys after a completed sequence pass on


def test_control_keys_without_a_sequence_release_everything() -> None:
    assert ControlKeys(None).feed("*9#") == ("*9#", False)


@given(st.text(alphabet="0123456789*#", max_size=30), st.text(alphabet="*#9", min_size=1,
                                                                max_size=3))
def test_control_keys_lose_no_key(pressed: str, sequence: str) -> None:
    """Every key pressed is either released, part of a completed sequence, or still pending."""
    keys = ControlKeys(sequence)
    released, completions = "", 0
    for key in pressed:
        out, fired = keys.feed(key)
        released += out
        completions += fired
    assert len(released) + completions * len(sequence) + len(keys.pending) == len(pressed)
    assert len(keys.pending) < len(sequence)


def test_participant_commands() -> None:
    assert {"Play", "Pause", "SetTalk", "SetListen", "SetDTMFPassThrough", "RemoveFromConference",
            "TerminateConference", "Hangup", "Redirect"} <= PARTICIPANT_COMMANDS
    assert {"Say", "GetDigits", "GetSpeech", "AddToConference", "Enqueue"} <= NOT_IN_CONFERENCE
    assert not PARTICIPANT_COMMANDS & NOT_IN_CONFERENCE
