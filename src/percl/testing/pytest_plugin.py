"""The percl pytest plugin (registered through the `pytest11` entry point): fixtures only.

- `percl`: a `percl.testing.Percl` (sync kit: platform on a FakeClock, in-memory store, your app
  called in-process), closed after the test;
- `freeclimb_api`: a `freeclimb.DefaultApi` of that percl's seed account, served in-process;
- `percl_harness`: the async `Harness`, for async tests (needs pytest-asyncio).

And the media fidelity of the kits a test makes (symbolic unless asked): `--percl-media audio`
(or the ini option `percl_media = audio`) for the whole session, `@pytest.mark.percl_media("audio")`
for one test (or module, with `pytestmark`).

The kit is imported inside the fixtures: pytest loads this module in every session of every
project that has percl installed, and most of those sessions never ask for a fixture.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from percl.testing.harness import Harness
    from percl.testing.sync import Percl


MEDIA_CHOICES = ("symbolic", "audio")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("percl").addoption(
        "--percl-media", choices=MEDIA_CHOICES, default=None,
        help="Media fidelity of the percl test kits made without media=: symbolic (default, "
             "fast) or audio (real frames: TTS, mixing, ASR).")
    parser.addini("percl_media", "Like --percl-media (symbolic or audio).", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "percl_media(fidelity): the percl kits this test makes run in 'audio' or "
                   "'symbolic' media fidelity")
    chosen = config.getoption("--percl-media") or config.getini("percl_media")
    if chosen:
        from percl.testing.fidelity import set_default_media

        set_default_media(str(chosen))


@pytest.fixture(autouse=True)
def _percl_media_marker(request: pytest.FixtureRequest) -> Iterator[None]:
    """`@pytest.mark.percl_media("audio")`: the default fidelity while the test (and the
    function-scoped fixtures it uses, which come after this autouse one) runs."""
    marker = request.node.get_closest_marker("percl_media")
    if marker is None:
        yield
        return
    from percl.testing.fidelity import media_default

    with media_default(*marker.args):
        yield


@pytest.fixture
def percl() -> Iterator[Percl]:
    """A whole percl for one test, driven synchronously on a FakeClock."""
    from percl.testing.sync import Percl

    with Percl() as kit:
        yield kit


@pytest.fixture
def freeclimb_api(percl: Percl) -> Any:
    """The official FreeClimb SDK (`freeclimb.DefaultApi`) authenticated as the `percl`
    fixture's account; its requests reach that platform in-process."""
    pytest.importorskip("freeclimb", reason="the freeclimb package (the official SDK) is needed")
    return percl.freeclimb_api()


try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - pytest-asyncio is optional for app developers
    pass
else:

    @pytest_asyncio.fixture
    async def percl_harness() -> AsyncIterator[Harness]:
        """A whole percl in-process on a FakeClock, for async tests."""
        from percl.testing.harness import Harness

        async with Harness() as harness:
            yield harness
