"""The test kit's media fidelity (symbolic by default; audio by argument, marker or session
option) and its audio helpers (a leg's audio as numpy arrays)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from percl.config import MediaFidelity, Settings
from percl.errors import ConfigError
from percl.telephony.sim.control.wire import AudioChannel, render_audio
from percl.testing import Harness, LegAudio, default_media, media_default, pytest_plugin
from percl.testing.audio import read_leg_wav
from percl.testing.fidelity import set_default_media
from tests.e2e.conftest import CALLER

SESSION_DEFAULT = default_media()  # symbolic, or audio under PERCL_TEST_MEDIA=audio


def test_the_kit_is_symbolic_unless_asked() -> None:
    # tests/conftest.py: PERCL_TEST_MEDIA=audio makes the session's default audio
    assert (os.environ.get("PERCL_TEST_MEDIA", "").strip() or "symbolic") == SESSION_DEFAULT
    h = Harness(media="symbolic")
    assert h.settings.media is MediaFidelity.SYMBOLIC and h.media is MediaFidelity.SYMBOLIC


def test_the_kits_own_argument_wins_over_the_settings() -> None:
    h = Harness(settings=Settings(db=":memory:", media=MediaFidelity.AUDIO), media="symbolic")
    assert h.settings.media is MediaFidelity.SYMBOLIC
    h = Harness(settings=Settings(db=":memory:"))  # percl serve's default (audio) is not the kit's
    assert h.settings.media is SESSION_DEFAULT


def test_media_default_switches_the_kits_made_inside() -> None:
    with media_default("audio"):
        assert Harness().settings.media is MediaFidelity.AUDIO
        with media_default("symbolic"):
            assert Harness().settings.media is MediaFidelity.SYMBOLIC
        assert default_media() is MediaFidelity.AUDIO
    assert default_media() is SESSION_DEFAULT


def test_audio_with_a_time_scale_is_refused_and_a_default_gives_way() -> None:
    with pytest.raises(ConfigError, match="real time only"):
        Harness(media="audio", media_time_scale=0)
    with media_default("audio"):
        assert Harness(media_time_scale=0).settings.media is MediaFidelity.SYMBOLIC


def test_an_unknown_fidelity_is_refused() -> None:
    with pytest.raises(ConfigError, match="expected audio or symbolic"):
        Harness(media="stereo")
    with pytest.raises(ConfigError):
        set_default_media("loud")
    assert default_media() is SESSION_DEFAULT


@pytest.mark.percl_media("audio")
def test_the_marker_makes_this_tests_kits_audio() -> None:
    assert default_media() is MediaFidelity.AUDIO
    assert Harness().settings.media is MediaFidelity.AUDIO


@pytest.mark.percl_media("symbolic")
def test_the_marker_also_forces_symbolic() -> None:
    assert Harness().settings.media is MediaFidelity.SYMBOLIC


def test_after_a_marked_test_the_default_is_back() -> None:
    assert default_media() is SESSION_DEFAULT


@dataclass
class FakeConfig:
    """What the plugin's pytest_configure reads of pytest.Config."""

    option: str | None = None
    ini: str = ""
    lines: list[tuple[str, str]] = field(default_factory=list)

    def getoption(self, name: str) -> str | None:
        assert name == "--percl-media"
        return self.option

    def getini(self, name: str) -> str:
        assert name == "percl_media"
        return self.ini

    def addinivalue_line(self, name: str, line: str) -> None:
        self.lines.append((name, line))


@pytest.mark.parametrize(("option", "ini", "expected"), [
    ("audio", "", MediaFidelity.AUDIO), (None, "audio", MediaFidelity.AUDIO),
    ("symbolic", "audio", MediaFidelity.SYMBOLIC),
])
def test_the_session_option_and_ini_set_the_default(option: str | None, ini: str,
                                                    expected: MediaFidelity) -> None:
    config = FakeConfig(option, ini)
    try:
        pytest_plugin.pytest_configure(config)  # type: ignore[arg-type]
        assert default_media() is expected
    finally:
        set_default_media(SESSION_DEFAULT)
    assert config.lines[0][0] == "markers" and config.lines[0][1].startswith("percl_media(")


def test_without_option_the_session_default_stays() -> None:
    pytest_plugin.pytest_configure(FakeConfig())  # type: ignore[arg-type]
    assert default_media() is SESSION_DEFAULT


# ----------------------------------------------------------------- audio helpers


def tone(hz: float, seconds: float, level: float = 8000.0) -> np.ndarray:
    t = np.arange(round(seconds * 8000)) / 8000
    return (level * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def test_a_leg_wav_reads_back_as_arrays() -> None:
    heard, sent = tone(440, 0.5), tone(1000, 0.25)
    audio = read_leg_wav(render_audio(heard, sent, None))
    assert audio.rate == 8000 and audio.seconds == 0.5
    assert np.array_equal(audio.heard, heard)
    assert np.array_equal(audio.sent[:2000], sent) and not audio.sent[2000:].any()
    with pytest.raises(ValueError, match="2 channels"):
        read_leg_wav(render_audio(heard, sent, AudioChannel.HEARD))
    with pytest.raises(ValueError, match="not a WAV"):
        read_leg_wav(b"RIFF....")


def test_offset_of_finds_a_sound_by_correlation() -> None:
    rng = np.random.default_rng(7)
    words = (rng.normal(0, 3000, 4000)).astype(np.int16)  # half a second of "speech"
    heard = np.zeros(24_000, dtype=np.int16)
    heard[9_600:13_600] = words  # at 1.2 s
    heard = (heard + rng.normal(0, 300, len(heard))).astype(np.int16)  # line noise
    audio = LegAudio(heard, np.zeros_like(heard))
    assert audio.offset_of(words) == pytest.approx(1.2, abs=0.001)
    assert audio.offset_of(tone(700, 0.3)) is None  # not in there
    assert audio.offset_of(words, side="sent") is None
    assert audio.offset_of(np.zeros(10, dtype=np.int16)) is None
    assert np.array_equal(audio.heard_between(1.2, 1.7), heard[9_600:13_600])


async def test_audio_of_a_symbolic_leg_fails_saying_how_to_get_it() -> None:
    async with Harness(media="symbolic") as h:
        app = h.scripted_app()
        app.on("/voice", [{"Say": {"text": "Hello"}}, {"Hangup": {}}])
        number = await h.number_for(app)
        call = await h.phone(CALLER).calls(number)
        await call.expect_say("Hello")
        with pytest.raises(AssertionError) as info:
            await call.audio()
        message = str(info.value)
        assert "symbolic media fidelity" in message
        assert 'percl_media("audio")' in message


@pytest.mark.percl_media("audio")
def test_the_marker_reaches_the_plugins_percl_fixture(percl: Any) -> None:
    assert percl.harness.settings.media is MediaFidelity.AUDIO


@pytest.mark.percl_media("audio")
async def test_the_marker_reaches_the_plugins_async_fixture(percl_harness: Harness) -> None:
    assert percl_harness.settings.media is MediaFidelity.AUDIO


def test_the_plugin_registers_the_option_the_ini_key_and_the_marker(
        pytestconfig: pytest.Config) -> None:
    assert pytestconfig.getoption("--percl-media") in (None, "symbolic", "audio")
    assert pytestconfig.getini("percl_media") in ("", "symbolic", "audio")
    assert any(line.startswith("percl_media(") for line in pytestconfig.getini("markers"))


@pytest.mark.percl_media("audio")
async def test_expect_say_waits_out_the_say_as_long_as_its_audio_lasts() -> None:
    async with Harness() as h:
        await _expect_say_waits_out_the_audio(h)


async def _expect_say_waits_out_the_audio(h: Harness) -> None:
    text = "Press 1 for our opening hours, or 2 to speak to an agent."
    app = h.scripted_app()
    app.on("/voice", [{"GetDigits": {"actionUrl": app.url("/digits"), "initialTimeoutMs": 5000,
                                     "prompts": [{"Say": {"text": text}}]}}])
    app.on("/digits", [{"Hangup": {}}])
    number = await h.number_for(app, voice_path="/voice")
    phone = h.phone(CALLER)
    call = await phone.calls(number)
    entry = await call.expect_say(text)
    record = await h.call(call.call_id)
    assert record.start_time is not None
    ended = record.start_time + entry.at_ms / 1000 + len(h.speech(text)) / 8000
    # within a frame of the audio's end; the symbolic model (5.1 s) is over a second longer
    assert ended <= h.now <= ended + 0.04



def test_say_ms_is_the_symbolic_model_or_the_audio_length() -> None:
    text = "All agents are busy"  # 4 words: 1.6 s + 0.3 s in symbolic
    assert Harness(media="symbolic").say_ms(text) == 1900
    audio = Harness(media="audio")
    ms = audio.say_ms(text)
    assert ms % 20 == 0 and 0 <= ms - len(audio.speech(text)) / 8 < 20
