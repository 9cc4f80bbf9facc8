"""The example agent's turn-taking: an utterance is handed over once the caller went quiet."""

from __future__ import annotations

import numpy as np
from examples.voice_agent.agent import Parrot

from percl.media.audio.pcm import FRAME_SAMPLES
from percl.media.audio.tones import sine


def test_parrot_hands_over_an_utterance_after_half_a_second_of_quiet() -> None:
    speech = sine(300, 600, level_dbfs=-10.0)  # 0.6 s "speech"
    audio = np.concatenate([np.zeros(1600, np.int16), speech, np.zeros(8000, np.int16)])
    parrot = Parrot()
    handed = [(i, u) for i, start in enumerate(range(0, len(audio), FRAME_SAMPLES))
              if (u := parrot.feed(audio[start:start + FRAME_SAMPLES])) is not None]
    assert len(handed) == 1
    frame, utterance = handed[0]
    assert frame == (1600 + len(speech)) // FRAME_SAMPLES + 24  # 0.5 s of quiet after the speech
    assert len(utterance) >= len(speech)
