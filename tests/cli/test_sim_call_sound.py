"""`percl sim call --record FILE` and `--play`: what the caller heard, as a WAV and live."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from percl.cli.callaudio import CallAudio
from percl.cli.connection import HttpError
from percl.cli.speaker import open_speaker
from percl.telephony.sim.control.wire import AudioChannel, render_audio
from percl.testing.audio import LegAudio
from tests.cli.bridge import CALLER, ScriptedKeyboard, ThreadedHarness, invoke


@dataclass
class FakeSpeaker:
    written: list[bytes] = field(default_factory=list)
    closed: bool = False

    def write(self, pcm: bytes) -> None:
        assert not self.closed
        self.written.append(pcm)

    def close(self) -> None:
        self.closed = True


# ----------------------------------------------------------------- against a symbolic percl


@pytest.fixture(scope="module")
def bridge() -> Iterator[ThreadedHarness]:
    with ThreadedHarness(media="symbolic") as b:
        yield b


@pytest.fixture(scope="module")
def demo(bridge: ThreadedHarness) -> str:
    return bridge.demo()


def test_record_from_a_symbolic_percl_says_why_and_exits_1(bridge: ThreadedHarness, demo: str,
                                                           tmp_path: Path) -> None:
    out = tmp_path / "heard.wav"
    result = invoke(bridge, ["sim", "call", CALLER, demo, "--press", "2", "--record", str(out)],
                    ScriptedKeyboard(bridge))
    assert result.exit_code == 1, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("--record: no recording: HTTP 409: Call CA")
    assert "symbolic media fidelity" in result.output
    assert "call ended: completed" in result.output  # the call itself ran to its end
    assert not out.exists()


def test_play_without_a_speaker_says_why_and_the_call_runs(bridge: ThreadedHarness,
                                                          demo: str) -> None:
    result = invoke(bridge, ["sim", "call", CALLER, demo, "--press", "2", "--play"],
                    ScriptedKeyboard(bridge),
                    speaker=lambda: "aplay finds no sound card; sounddevice is not installed")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1] == ("--play: cannot play live: aplay finds no sound card; "
                        "sounddevice is not installed")
    assert lines[-1] == "call ended: completed"


def test_play_from_a_symbolic_percl_stops_once_and_closes_the_speaker(bridge: ThreadedHarness,
                                                                      demo: str) -> None:
    speaker = FakeSpeaker()
    result = invoke(bridge, ["sim", "call", CALLER, demo, "--press", "2", "--play"],
                    ScriptedKeyboard(bridge), speaker=lambda: speaker)
    assert result.exit_code == 0, result.output
    assert result.output.count("--play: stopped: HTTP 409") == 1
    assert speaker.closed and speaker.written == []


# ----------------------------------------------------------------- CallAudio over a fake client


def wav_of(samples: np.ndarray) -> bytes:
    return render_audio(samples.astype(np.int16), np.zeros(0, dtype=np.int16),
                        AudioChannel.HEARD)


@dataclass
class FakeClient:
    """The sim API's audio route over a growing track (what the phone heard so far)."""

    heard: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int16))
    asked: list[int] = field(default_factory=list)
    status: int = 200

    def sim_bytes(self, path: str, **kwargs: Any) -> bytes:
        params = kwargs["params"]
        assert path == "/calls/CA1/audio" and params["channel"] == "heard"
        self.asked.append(params["fromMs"])
        if self.status != 200:
            raise HttpError(self.status, "Call CA1 has no audio")
        return wav_of(self.heard[params["fromMs"] * 8:])


def audio_for(client: FakeClient, **kwargs: Any) -> tuple[CallAudio, list[str]]:
    said: list[str] = []
    audio = CallAudio(client, "CA1", lambda text, style: said.append(text),  # type: ignore[arg-type]
                      **kwargs)
    return audio, said


def test_play_writes_whole_milliseconds_and_asks_from_where_it_stopped() -> None:
    client, speaker = FakeClient(), FakeSpeaker()
    audio, said = audio_for(client, speaker=speaker)
    client.heard = np.arange(805, dtype=np.int16)  # 100 ms and 5 samples
    audio.tick()
    client.heard = np.arange(1600, dtype=np.int16)
    audio.tick()
    assert client.asked == [0, 100]
    played = np.frombuffer(b"".join(speaker.written), dtype="<i2")
    assert np.array_equal(played, np.arange(1600))
    assert audio.finish() and speaker.closed and said == []


def test_record_writes_the_whole_wav_at_the_end(tmp_path: Path) -> None:
    client = FakeClient(heard=(np.sin(np.arange(12_000) / 5) * 9000).astype(np.int16))
    out = tmp_path / "call.wav"
    audio, said = audio_for(client, record=out)
    audio.tick()  # without a speaker nothing is fetched while the call runs
    assert client.asked == []
    assert audio.finish()
    with wave.open(io.BytesIO(out.read_bytes())) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getnframes()) == (1, 8000, 12_000)
    assert said == [f"recorded what the caller heard (1.5 s) to {out}"]


def test_record_into_a_missing_folder_says_so(tmp_path: Path) -> None:
    out = tmp_path / "no" / "such" / "dir.wav"
    audio, said = audio_for(FakeClient(heard=np.zeros(80, dtype=np.int16)), record=out)
    assert not audio.finish()
    assert said == [f"--record: cannot write {out}: No such file or directory"]


def test_open_speaker_takes_the_first_player_that_works_else_says_why() -> None:
    speaker = FakeSpeaker()
    assert open_speaker([lambda: "paplay is not installed", lambda: speaker]) is speaker
    assert open_speaker([lambda: "paplay is not installed", lambda: "aplay finds no sound card"]) \
        == "paplay is not installed; aplay finds no sound card"


def test_open_speaker_on_this_machine_answers_a_speaker_or_a_reason() -> None:
    found = open_speaker()
    if isinstance(found, str):
        assert found and all(word in found for word in ("paplay", "aplay", "sounddevice"))
    else:
        found.close()


# ----------------------------------------------------------------- against an audio percl

@pytest.fixture(scope="module")
def audio_bridge() -> Iterator[ThreadedHarness]:
    with ThreadedHarness(media="audio") as b:
        yield b


def test_record_writes_the_demo_as_the_caller_heard_it(audio_bridge: ThreadedHarness,
                                                       tmp_path: Path) -> None:
    demo = audio_bridge.demo()
    out = tmp_path / "demo.wav"
    speaker = FakeSpeaker()
    result = invoke(audio_bridge, ["sim", "call", CALLER, demo, "--press", "2",
                                   "--record", str(out), "--play"],
                    ScriptedKeyboard(audio_bridge), speaker=lambda: speaker)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].startswith("recorded what the caller heard (")
    with wave.open(io.BytesIO(out.read_bytes())) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getsampwidth()) == (1, 8000, 2)
        heard = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").astype(np.int16)
    audio = LegAudio(heard, np.zeros_like(heard))
    welcome = audio.offset_of(audio_bridge.h.speech("Welcome to the percl demo."), min_match=0.8)
    joke = audio.offset_of(audio_bridge.h.speech("Why did the phone wear glasses? "
                                                 "It lost its contacts. Goodbye."), min_match=0.8)
    assert welcome is not None and joke is not None and welcome < 0.5 < joke
    # --play got the same audio, live, in whole milliseconds
    played = np.frombuffer(b"".join(speaker.written), "<i2")
    assert speaker.closed and np.array_equal(played, heard[:len(played)])
    assert len(heard) - len(played) < 8
