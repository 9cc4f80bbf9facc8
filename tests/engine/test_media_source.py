"""The interpreter's PlayMedia action is the one description of a prompt; the engine turns it into
the MediaSession's typed Source (no second record with the same fields in between)."""

from __future__ import annotations

from typing import get_args

import pytest

from percl.engine import ports
from percl.engine.ports import File, Silence, Source, Tone, Tts
from percl.engine.session.media import media_source
from percl.percl import actions as a


@pytest.mark.parametrize(
    ("action", "source"),
    [
        (a.PlayMedia(1, "say", text="hello", language="en-GB"), Tts("hello", "en-GB")),
        (a.PlayMedia(2, "say", text="pin 1234", privacy_mode=True), Tts("pin 1234")),
        (a.PlayMedia(3, "play", url="http://app.test/a.wav"), File("http://app.test/a.wav")),
        (a.PlayMedia(4, "pause", length_ms=1500), Silence(1500)),
        (a.PlayMedia(5, "beep"), Tone()),
    ],
)
def test_each_kind_of_play_media_is_its_source(action: a.PlayMedia, source: Source) -> None:
    assert media_source(action) == source


def test_every_kind_has_a_source() -> None:
    for kind in get_args(a.MediaKind):
        assert isinstance(media_source(a.PlayMedia(0, kind)), Tts | File | Silence | Tone)


def test_the_ports_have_no_second_media_record() -> None:
    assert not hasattr(ports, "Media") and not hasattr(ports, "MediaKind")
