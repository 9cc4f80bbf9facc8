"""Suite-wide: no test reads or writes the real user's percl files (credentials, local CA)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_percl_home(tmp_path_factory: pytest.TempPathFactory,
                        monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("percl-home")
    monkeypatch.setenv("PERCL_HOME", str(home))
    return home
