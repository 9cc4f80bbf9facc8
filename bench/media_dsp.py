"""Micro-benchmark of the audio building blocks (percl.media.audio): what one 20 ms frame costs.

  a. G.711 mu-law and A-law encode and decode of one 160-sample frame (table lookups);
  b. mix_minus of one frame for 3, 10 and 100 parties, everyone talking (int32 sums, clip);
  c. decode_audio of a 30 s file: a 44.1 kHz stereo 16-bit WAV, and a 44.1 kHz stereo 128 kbit/s
     MP3 (made with lameenc, the [test] extra; skipped with a note when it is missing);
  d. resample 22,050 -> 8,000 Hz (what TTS output goes through), per second of audio.

Each figure is the best of several repeats of CPU time (time.process_time, all threads of this
process) per call: on a shared machine wall time mostly measures the neighbours.

    .venv/bin/python bench/media_dsp.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from bench.common import best_seconds, machine_banner
from percl.media.audio.decode import decode_audio
from percl.media.audio.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from percl.media.audio.mix import mix_minus
from percl.media.audio.resample import resample
from percl.media.audio.wav import wav_bytes


def noise(samples: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 3000, samples).clip(-32768, 32767).astype(np.int16)


def stereo_tone(seconds: float, rate: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    left = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * np.sin(2 * np.pi * 3100 * t)
    return (np.stack([left, 0.3 * np.sin(2 * np.pi * 660 * t)], axis=1) * 32767).astype("<i2")


def mp3_bytes(pcm: np.ndarray, rate: int) -> bytes | None:
    try:
        import lameenc
    except ImportError:
        return None
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(128)
    encoder.set_in_sample_rate(rate)
    encoder.set_channels(2)
    encoder.set_quality(5)
    return bytes(encoder.encode(pcm.tobytes())) + bytes(encoder.flush())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer loops (a smoke run)")
    args = parser.parse_args()
    loops, repeats = (2_000, 3) if args.quick else (20_000, 7)
    print(machine_banner("media building blocks (bench/media_dsp.py)"))

    frame = noise(160)
    ulaw, alaw = ulaw_encode(frame), alaw_encode(frame)
    print("\nG.711, one 20 ms frame (160 samples):")
    for name, work in [("mu-law encode", lambda: ulaw_encode(frame)),
                       ("mu-law decode", lambda: ulaw_decode(ulaw)),
                       ("A-law encode", lambda: alaw_encode(frame)),
                       ("A-law decode", lambda: alaw_decode(alaw)),
                       ("mu-law decode from bytes", lambda: ulaw_decode(ulaw.tobytes()))]:
        print(f"  {name:26s} {best_seconds(work, loops, repeats) * 1e6:7.2f} us")

    print("\nmix_minus, one 20 ms frame, every party talking:")
    for parties in (3, 10, 100):
        frames = noise(parties * 160, seed=parties).reshape(parties, 160)
        talk = np.ones(parties, dtype=bool)
        n = max(loops // parties, 200)
        per = best_seconds(lambda f=frames, t=talk: mix_minus(f, t), n, repeats)
        print(f"  {parties:3d} parties {per * 1e6:9.1f} us per frame "
              f"({per * 1e6 / parties:5.2f} us per party)")

    seconds = 30.0
    source = stereo_tone(seconds, 44100)
    wav = wav_bytes([source[:, 0].copy(), source[:, 1].copy()], rate=44100)
    file_repeats = 2 if args.quick else 5
    print(f"\ndecode_audio of a {seconds:.0f} s file (44.1 kHz stereo -> 8 kHz mono):")
    per = best_seconds(lambda: decode_audio(wav), 1, file_repeats)
    print(f"  WAV 16-bit ({len(wav) / 1e6:.1f} MB)      {per * 1e3:7.1f} ms "
          f"({seconds / per:5.0f}x real time)")
    mp3 = mp3_bytes(source, 44100)
    if mp3 is None:
        print("  MP3: skipped (pip install lameenc to make the test file)")
    else:
        per = best_seconds(lambda: decode_audio(mp3), 1, file_repeats)
        print(f"  MP3 128 kbit/s ({len(mp3) / 1e6:.2f} MB) {per * 1e3:7.1f} ms "
              f"({seconds / per:5.0f}x real time)")

    tts_like = noise(22050 * 10)
    per = best_seconds(lambda: resample(tts_like, 22050, 8000), 3, file_repeats) / 10
    print(f"\nresample 22,050 -> 8,000 Hz (soxr HQ): {per * 1e3:.2f} ms per second of audio "
          f"({1 / per:.0f}x real time)")


if __name__ == "__main__":
    main()
