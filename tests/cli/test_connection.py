"""Where the terminal commands find percl and their credentials."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from percl.cli.connection import DEFAULT_URL, Target, resolve_target
from percl.cli.main import cli

ACC = "AC" + "1" * 40


def write_credentials(folder: Path, **data: str) -> Path:
    path = folder / "percl-credentials.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def test_flags_win_over_environment_and_file(tmp_path: Path) -> None:
    db = tmp_path / "data" / "percl.db"
    write_credentials(db.parent, accountId="ACfile", apiKey="file-key", url="http://file:1")
    env = {"PERCL_DB": str(db), "PERCL_ACCOUNT_ID": "ACenv", "PERCL_API_KEY": "env-key-123"}
    assert resolve_target("http://flag:2/", "ACflag", "flag-key", env) == Target(
        "http://flag:2", "ACflag", "flag-key")
    assert resolve_target(None, None, None, env) == Target("http://file:1", "ACenv", "env-key-123")
    only_file = {"PERCL_DB": str(db)}
    assert resolve_target(None, None, None, only_file) == Target("http://file:1", "ACfile",
                                                                 "file-key")


def test_default_url_without_a_file(tmp_path: Path) -> None:
    env = {"PERCL_DB": str(tmp_path / "percl.db"), "PERCL_ACCOUNT_ID": ACC,
           "PERCL_API_KEY": "k" * 10}
    assert resolve_target(None, None, None, env).url == DEFAULT_URL == "http://127.0.0.1:8600"


def test_missing_credentials_say_where_they_come_from(tmp_path: Path) -> None:
    env = {"PERCL_DB": str(tmp_path / "percl.db")}
    with pytest.raises(click.ClickException) as info:
        resolve_target(None, None, None, env)
    assert "--account and --key" in info.value.message and "percl serve" in info.value.message
    write_credentials(tmp_path, accountId=ACC)  # half a file is no credentials either
    with pytest.raises(click.ClickException):
        resolve_target(None, None, None, env)


def test_commands_read_the_file_percl_serve_wrote(tmp_path: Path) -> None:
    write_credentials(tmp_path / "var", accountId=ACC, apiKey="k" * 10, url="http://127.0.0.1:9")
    env = {"PERCL_ACCOUNT_ID": None, "PERCL_API_KEY": None,
           "PERCL_DB": str(tmp_path / "var" / "percl.db")}
    result = CliRunner().invoke(cli, ["sim", "press", "CA" + "0" * 40, "1"], env=env)
    assert result.exit_code == 1
    assert "cannot reach percl at http://127.0.0.1:9" in result.output
