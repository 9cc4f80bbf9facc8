"""Suite-wide: no test reads or writes the real user's percl files (credentials, local CA).

PERCL_TEST_MEDIA=audio runs every test kit made without `media=` (the flow tests' Harness and
Percl) in audio fidelity; unset or "symbolic", they run symbolic, as by default.
"""

from __future__ import annotations

import os
from pathlib import Path

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
