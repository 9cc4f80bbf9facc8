"""percl/playback.py: Say/Play/Pause as media, the prompt queue of the input commands, and the
loop of a standalone Say/Play/Pause (their behaviour through the interpreter is in
test_interpreter*.py)."""

from __future__ import annotations

import itertools

from percl.percl import actions as a
from percl.percl.commands import Pause, Play, Say
from percl.percl.playback import MediaLoop, PromptQueue, iterations, play_media, prompt_entries


def test_play_media_of_each_prompt_kind() -> None:
    assert play_media(1, Say(text="hi")) == a.PlayMedia(1, "say", text="hi", language="en-US")
    assert play_media(2, Say(text="hola", language="es-ES", privacy_mode=True)) == a.PlayMedia(
        2, "say", text="hola", language="es-ES", privacy_mode=True)
    assert play_media(3, Play(file="https://x.example/a.wav")) == a.PlayMedia(
        3, "play", url="https://x.example/a.wav")
    assert play_media(4, Pause(length=700)) == a.PlayMedia(4, "pause", length_ms=700)


def test_iterations_follow_loop_and_zero_is_forever() -> None:
    assert [iterations(Say(text="x", loop=3)), iterations(Say(text="x", loop=0)),
            iterations(Pause(length=1))] == [3, None, 1]


def test_prompt_queue_plays_each_prompt_its_iterations_and_skips_empty_says() -> None:
    one, two = Say(text="one", loop=2), Play(file="https://x.example/b.wav")
    queue = PromptQueue(prompt_entries([one, Say(text=""), two]))
    assert [queue.next(), queue.next(), queue.next(), queue.next()] == [one, one, two, None]


def test_prompt_queue_forever_until_cleared() -> None:
    forever = Say(text="hold on", loop=0)
    queue = PromptQueue(prompt_entries([forever]))
    assert all(queue.next() is forever for _ in range(50))
    queue.clear()
    assert queue.next() is None


def test_media_loop_replays_under_new_tokens_then_ends() -> None:
    tokens = itertools.count(10)
    loop, first = MediaLoop.start(1, Say(text="again", loop=3))
    assert first.token == 1 and loop.token == 1
    second = loop.replay(lambda: next(tokens))
    third = loop.replay(lambda: next(tokens))
    assert second is not None and third is not None
    assert (second.token, third.token, loop.token) == (10, 11, 11)
    assert loop.replay(lambda: next(tokens)) is None


def test_media_loop_zero_never_ends() -> None:
    loop, _ = MediaLoop.start(1, Pause(length=100))
    assert loop.replay(lambda: 2) is None  # a Pause plays once
    forever, _ = MediaLoop.start(1, Play(file="https://x.example/m.wav", loop=0))
    assert all(forever.replay(lambda: 2) is not None for _ in range(20))
