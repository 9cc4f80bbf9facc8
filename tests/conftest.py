"""Suite-wide: no test reads or writes the real user's percl files (credentials, local CA).

PERCL_TEST_MEDIA=audio runs every test kit made without `media=` (the flow tests' Harness and
Percl) in audio fidelity; unset or "symbolic", they run symbolic, as by default.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest


def pytest_configure(config: pytest.Config) -> None:
    media = os.environ.get("PERCL_TEST_MEDIA", "").strip()
    if media:
        from percl.testing.fidelity import set_default_media

        set_default_media(media)


@pytest.fixture(autouse=True)
def _private_percl_home(tmp_path_factory: pytest.TempPathFactory,
                        monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("percl-home")
    monkeypatch.setenv("PERCL_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def _media_fidelity(monkeypatch: pytest.MonkeyPatch) -> None:
    """PERCL_TEST_MEDIA=audio runs every SimNetwork of the suite in audio fidelity (issue 12), with
    the test-double kit (tests/audio_doubles.py): how many flows pass there is reported, not
    required. Unset or `symbolic`: the suite as it always ran."""
    if os.environ.get("PERCL_TEST_MEDIA", "symbolic") != "audio":
        return
    from percl.telephony.sim.network import SimNetwork
    from tests.audio_doubles import FakeKit, flow_file

    original = SimNetwork.__init__

    def audio_init(self: SimNetwork, clock: Any, ids: Any, **kwargs: Any) -> None:
        kwargs.setdefault("media", "audio")
        if kwargs["media"] == "audio":
            kwargs.setdefault("audio_kit", FakeKit(default_file=flow_file()))
            kwargs.setdefault("tracker", getattr(clock, "tracker", None))
        original(self, clock, ids, **kwargs)

    monkeypatch.setattr(SimNetwork, "__init__", audio_init)
