"""Recording takes: what the network writes becomes an 8 kHz 16-bit mono WAV exactly as long as
the take's close() says, with symbolic speech spoken and keys sounded where they happened."""

from __future__ import annotations

import numpy as np

from percl.engine.ports import AudioFrame, DtmfTone, SpokenText
from percl.media.audio.dtmf_detect import DtmfDetector
from percl.media.audio.pcm import frames, rms_dbfs
from percl.media.audio.wav import read_wav
from percl.media.recording import WavRecorder
from percl.testing import FakeClock


def _window(pcm: np.ndarray, from_ms: int, to_ms: int) -> np.ndarray:
    return pcm[from_ms * 8 : to_ms * 8]


async def test_a_symbolic_take_holds_speech_and_keys_at_their_times() -> None:
    clock = FakeClock()
    take = WavRecorder(clock).take()
    await clock.advance(0.5)
    take.write(SpokenText("please call me back"))
    await clock.advance(3.0)
    take.write(DtmfTone("5"))
    await clock.advance(1.0)
    take.close(4500)
    [pcm], rate = read_wav(take.render())
    assert rate == 8000 and abs(len(pcm) / 8 - 4500) <= 20
    assert rms_dbfs(_window(pcm, 0, 450)) < -80  # silence before the caller spoke
    assert rms_dbfs(_window(pcm, 600, 1200)) > -40  # the words are audible
    detector = DtmfDetector()
    keys = "".join(detector.feed(f) for f in frames(_window(pcm, 3400, 3800)))
    assert keys == "5"


async def test_the_length_is_the_close_duration_padded_or_cut() -> None:
    clock = FakeClock()
    take = WavRecorder(clock).take()
    tone = (np.sin(np.arange(16000) * 2 * np.pi * 440 / 16000) * 8000).astype("<i2")
    take.write(AudioFrame(tone.tobytes(), sample_rate=16000))  # one second at 16 kHz
    take.close(300)
    [short], _ = read_wav(take.render())
    assert len(short) == 300 * 8 and rms_dbfs(short) > -20
    long_take = WavRecorder(clock).take()
    long_take.write(AudioFrame(tone.tobytes(), sample_rate=16000))
    long_take.close(2500)
    [padded], _ = read_wav(long_take.render())
    assert len(padded) == 2500 * 8 and rms_dbfs(padded[1100 * 8 :]) < -80
    empty = WavRecorder(clock).take()
    empty.close(0)
    assert read_wav(empty.render())[0][0].size == 0


async def test_what_the_leg_heard_is_mixed_with_what_it_sent() -> None:
    clock = FakeClock()
    take = WavRecorder(clock).take()
    sent = np.full(160, 1000, dtype=np.int16)
    heard = np.full(160, 30000, dtype=np.int16)
    for _ in range(5):  # 100 ms of both directions, frame by frame
        take.write(AudioFrame(sent.tobytes()))
        take.hear(AudioFrame(heard.tobytes()))
        await clock.advance(0.02)
    take.hear(AudioFrame(heard.tobytes()))  # then 20 ms of the far end only
    await clock.advance(0.02)
    take.close(120)
    [pcm], _ = read_wav(take.render())
    assert len(pcm) == 960
    assert (pcm[:800] == 31000).all()  # added
    assert (pcm[800:] == 30000).all()
    take2 = WavRecorder(clock).take()
    take2.write(AudioFrame(heard.tobytes()))
    take2.hear(AudioFrame(heard.tobytes()))
    take2.close(20)
    [loud], _ = read_wav(take2.render())
    assert (loud == 32767).all()  # clipped, not wrapped
