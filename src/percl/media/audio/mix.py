"""Conference mixing: each listener hears the sum of the other talkers, clipped to 16 bits.

"Mix-minus" (the broadcast term): with n parties the mixer sums every talker once (int32, so 100
full-scale talkers cannot overflow) and subtracts each row's own contribution, O(n) per frame
instead of O(n^2). Clipping happens once, on what a listener hears, never on the total.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from percl.media.audio.pcm import Pcm


def _clip16(values: npt.NDArray[np.int32]) -> npt.NDArray[np.int16]:
    return np.clip(values, -32768, 32767).astype(np.int16)


def mix_minus(frames: npt.NDArray[np.int16], talk: npt.NDArray[np.bool_]) -> npt.NDArray[np.int16]:
    """Row i: the clipped sum of rows j != i whose talk[j] is true.

    `frames` has shape (n, samples) (n parties' frames of one tick), `talk` shape (n,). A muted
    party (talk false) is heard by nobody and still hears everyone else who talks.
    """
    if frames.ndim != 2 or talk.shape != (frames.shape[0],):
        raise ValueError(f"mix_minus needs frames (n, samples) and talk (n,), got {frames.shape} "
                         f"and {talk.shape}")
    talking = np.where(talk[:, None], frames.astype(np.int32), 0)
    total = talking.sum(axis=0, dtype=np.int32)
    return _clip16(total[None, :] - talking)


def add(a: Pcm, b: Pcm) -> Pcm:
    """The clipped sum of two signals; the shorter one counts as silence after its end."""
    out = np.zeros(max(len(a), len(b)), dtype=np.int32)
    out[: len(a)] += a
    out[: len(b)] += b
    return _clip16(out)
