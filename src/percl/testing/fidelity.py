"""Which media fidelity a test kit made without `media=` runs: `symbolic` (words and keys with
modelled durations: fast), unless the session or the test asks for `audio` (real frames: TTS,
mixing, ASR, answering-machine detection).

The pytest plugin sets it from `--percl-media` (or the `percl_media` ini option) for a session
and from `@pytest.mark.percl_media("audio")` for one test. It is process-wide on purpose: a kit
may be built in another thread (a harness serving a blocking client) and must see it too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from percl.config import MediaFidelity, resolve_media

_default = MediaFidelity.SYMBOLIC


def default_media() -> MediaFidelity:
    """The fidelity of a Harness or Percl made without `media=`."""
    return _default


def set_default_media(media: str) -> MediaFidelity:
    """Make `media` ("audio" or "symbolic") the default of the kits made from now on. Raises
    ConfigError for another value."""
    global _default
    _default = resolve_media(media, 1.0)
    return _default


@contextmanager
def media_default(media: str) -> Iterator[MediaFidelity]:
    """`media` is the default while the block runs (the marker's way); the previous one after."""
    before = _default
    try:
        yield set_default_media(media)
    finally:
        set_default_media(before)
