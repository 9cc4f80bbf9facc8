"""Text-to-speech for Say: what a render costs, and what a cached Say costs before its first frame.

  a. uncached render through the wheel's library (EspeakSynthesizer): ms of CPU-bound wall time per
     second of audio, and the real-time factor (render time / audio time), for short, medium and
     long prompts in en-US, each rendered `--renders` times;
  b. the same through Debian's espeak-ng program (the fall-back), when it is installed;
  c. a cached Say (CachedSynthesizer hit): time from synthesize() to the first 20 ms frame in hand.

    .venv/bin/python bench/media_tts.py [--renders 20]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import machine_banner
from percl.media.tts import SAMPLE_RATE, CachedSynthesizer, EspeakSynthesizer, SpeechSynthesizer

PROMPTS = {
    "short": "Hello.",
    "medium": "Thank you for calling. Press 1 for sales, 2 for support, or stay on the line.",
    "long": ("Your call is important to us. All of our agents are busy helping other callers. "
             "Please stay on the line and the next available agent will be with you shortly. "
             "You can also reach us on the web, where most questions are answered at once. ") * 4,
}
FRAME_SAMPLES = 160


def uncached(label: str, synthesizer: SpeechSynthesizer, renders: int) -> None:
    print(f"{label}:")
    for name, text in PROMPTS.items():
        times, audio = [], 0.0
        for _ in range(renders):
            start = time.perf_counter()
            speech = synthesizer.synthesize(text, "en-US")
            times.append(time.perf_counter() - start)
            audio = len(speech.pcm) / SAMPLE_RATE
        median = statistics.median(times)
        print(f"  {name:<7} {len(text):4d} chars, {audio:6.2f} s of audio: "
              f"render {median * 1e3:7.2f} ms median = {median / audio * 1e3:6.2f} ms per second of audio,"
              f" real-time factor {median / audio:.4f}"
              f" ({audio / median:,.0f}x real time)")


def cached_first_frame(renders: int) -> None:
    cache = CachedSynthesizer(EspeakSynthesizer(program=None))
    text = PROMPTS["medium"]
    cache.synthesize(text, "en-US")
    times = []
    for _ in range(renders * 50):
        start = time.perf_counter()
        frame = cache.synthesize(text, "en-US").pcm[:FRAME_SAMPLES]
        times.append(time.perf_counter() - start)
        assert len(frame) == FRAME_SAMPLES
    times.sort()
    print(f"c. cached Say, time to first frame ({len(times)} hits): "
          f"median {statistics.median(times) * 1e6:.1f} us, p99 {times[int(len(times) * 0.99)] * 1e6:.1f} us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=20, help="renders per prompt (default 20)")
    parser.add_argument("--quick", action="store_true", help="a smoke run (renders 3)")
    args = parser.parse_args()
    if args.quick:
        args.renders = 3
    print(machine_banner("text-to-speech (bench/media_tts.py)"))
    library = EspeakSynthesizer(program=None)
    print(f"engine: {library.engine}")
    uncached("a. uncached, espeak-ng library", library, args.renders)
    program = shutil.which("espeak-ng")
    if program:
        uncached("b. uncached, espeak-ng program (fall-back)",
                 EspeakSynthesizer(library_path="/nonexistent/libespeak-ng.so"), max(3, args.renders // 4))
    else:
        print("b. skipped: the espeak-ng program is not installed (apt-get install espeak-ng)")
    cached_first_frame(args.renders)


if __name__ == "__main__":
    main()
