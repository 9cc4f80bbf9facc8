"""Issue 17.9 (in output): the credentials file is private from its creation (never written with
the umask's mode and chmod'ed afterwards), and the banner shows the API key and signing secret only
when the account is created; later starts say where they are."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from percl.app import Platform
from percl.cli import serve
from percl.config import Settings


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The usual umask (files 0644), whatever the test runner's is."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def banner_of(platform: Platform, credentials: Path) -> str:
    console = Console(record=True, width=300)
    serve._banner(console, platform, None, credentials)
    return console.export_text()


@pytest.mark.usefixtures("open_umask")
async def test_the_credentials_file_is_created_private(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # Without the chmod afterwards, the file must already be 0600: nothing else closes the window.
    monkeypatch.setattr(serve.os, "chmod", lambda *_a, **_k: None)
    settings = Settings(db=str(tmp_path / "var" / "percl.db"))
    async with Platform(settings, probe_media=False) as platform:
        path = serve._write_credentials(platform)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        saved = json.loads(path.read_text())
        assert saved["apiKey"] == platform.account.api_key
        assert saved["signingSecret"] == platform.account.signing_secret
        path.chmod(0o644)  # as an older percl left it: narrowed before the secrets are written
        serve._write_credentials(platform)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.usefixtures("open_umask")
async def test_the_banner_shows_the_secrets_only_when_the_account_is_created(tmp_path: Path) -> None:
    settings = Settings(db=str(tmp_path / "percl.db"))
    async with Platform(settings, probe_media=False) as platform:
        path = serve._write_credentials(platform)
        first = banner_of(platform, path)
        key, secret = platform.account.api_key, platform.account.signing_secret
    assert key in first and secret in first
    async with Platform(settings, probe_media=False) as platform:
        later = banner_of(platform, path)
    assert key not in later and secret not in later
    assert str(path.resolve()) in later and platform.account.account_id in later
