"""Where the terminal commands find percl and their credentials: flags, environment, then the
per-user credentials file `percl serve` writes (the same from any folder)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from percl.cli.connection import DEFAULT_URL, Target, credentials_file, resolve_target
from percl.cli.credentials import ServerEntry, find_entry, percl_home, read_entries, write_entry
from percl.cli.main import cli

ACC = "AC" + "1" * 40
DEAD_PID = 2**22 + 12345  # above Linux's pid_max: never a running process


def entry(url: str, key: str = "k" * 10, pid: int = DEAD_PID, at: float = 1.0) -> ServerEntry:
    return ServerEntry(url=url, account_id=ACC, api_key=key, db="/d/percl.db", pid=pid,
                       started_at=at)


def test_percl_home_defaults_to_the_user_config_dir() -> None:
    assert percl_home({"PERCL_HOME": "/x/h", "HOME": "/home/u"}) == Path("/x/h")
    assert percl_home({"XDG_CONFIG_HOME": "/cfg", "HOME": "/home/u"}) == Path("/cfg/percl")
    assert percl_home({"HOME": "/home/u"}) == Path("/home/u/.config/percl")


def test_flags_win_over_environment_and_file(tmp_path: Path) -> None:
    env = {"PERCL_HOME": str(tmp_path)}
    write_entry(credentials_file(env), ServerEntry("http://file:1", "ACfile", "file-key", "db", 0, 1))
    with_env = {**env, "PERCL_ACCOUNT_ID": "ACenv", "PERCL_API_KEY": "env-key-123"}
    flags = resolve_target("http://flag:2/", "ACflag", "flag-key", with_env)
    assert flags == Target("http://flag:2", "ACflag", "flag-key") and flags.source == "flags"
    from_env = resolve_target(None, None, None, with_env)
    assert from_env == Target("http://file:1", "ACenv", "env-key-123")
    assert from_env.source == "environment"
    from_file = resolve_target(None, None, None, env)
    assert from_file == Target("http://file:1", "ACfile", "file-key")
    assert from_file.source == str(tmp_path / "credentials.json")
    assert "http://file:1" in from_file.describe() and "ACfile" in from_file.describe()


def test_default_url_without_a_file(tmp_path: Path) -> None:
    env = {"PERCL_HOME": str(tmp_path), "PERCL_ACCOUNT_ID": ACC, "PERCL_API_KEY": "k" * 10}
    assert resolve_target(None, None, None, env).url == DEFAULT_URL == "http://127.0.0.1:8600"


def test_missing_credentials_say_where_they_come_from(tmp_path: Path) -> None:
    env = {"PERCL_HOME": str(tmp_path)}
    with pytest.raises(click.ClickException) as info:
        resolve_target(None, None, None, env)
    message = info.value.message
    assert "--account and --key" in message and "percl serve" in message
    assert str(tmp_path / "credentials.json") in message
    (tmp_path / "credentials.json").write_text('{"servers": {"u": {"accountId": "AC1"}}}')
    with pytest.raises(click.ClickException):  # half an entry is no credentials either
        resolve_target(None, None, None, env)


def test_the_url_picks_its_own_entry_else_the_newest_running_server(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    write_entry(path, entry("http://127.0.0.1:8600", key="old-key-1", pid=os.getpid(), at=1.0))
    write_entry(path, entry("http://127.0.0.1:8611", key="dead-key-2", at=3.0))
    write_entry(path, entry("http://127.0.0.1:8622", key="live-key-3", pid=os.getpid(), at=2.0))
    assert [e.url[-4:] for e in read_entries(path)] == ["8611", "8622", "8600"]  # newest first
    assert find_entry(path, None).url.endswith("8622")  # type: ignore[union-attr]
    assert find_entry(path, "http://127.0.0.1:8611/").api_key == "dead-key-2"  # type: ignore[union-attr]
    env = {"PERCL_HOME": str(tmp_path)}
    assert resolve_target("http://127.0.0.1:8600", None, None, env).api_key == "old-key-1"
    assert resolve_target(None, None, None, env).url == "http://127.0.0.1:8622"


def test_the_file_is_private_from_its_creation(tmp_path: Path) -> None:
    home = tmp_path / "config" / "new-home"
    path = home / "credentials.json"
    old_umask = os.umask(0o022)
    try:
        write_entry(path, entry("http://127.0.0.1:8600"))
        write_entry(path, entry("http://127.0.0.1:8601"))
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(home.stat().st_mode) == stat.S_IMODE(home.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(read_entries(path)) == 2 and list(home.iterdir()) == [path]  # no temp left


def test_a_failed_write_leaves_no_temporary_behind(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "credentials.json").mkdir(parents=True)  # something in the way: the replace fails
    with pytest.raises(OSError):
        write_entry(home / "credentials.json", entry("http://127.0.0.1:8600"))
    assert [p.name for p in home.iterdir()] == ["credentials.json"]


def test_commands_find_the_server_from_any_folder(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_entry(home / "credentials.json", entry("http://127.0.0.1:9", pid=os.getpid()))
    elsewhere = tmp_path / "some" / "other" / "folder"
    elsewhere.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERCL_")}
    env["PERCL_HOME"] = str(home)
    done = subprocess.run([str(Path(sys.executable).parent / "percl"), "status"], cwd=elsewhere,
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "percl at http://127.0.0.1:9 as " + ACC in done.stdout
    assert "cannot reach percl at http://127.0.0.1:9" in done.stderr
    assert str(home / "credentials.json") in done.stderr


def test_commands_read_the_file_percl_serve_wrote(tmp_path: Path) -> None:
    write_entry(tmp_path / "credentials.json", entry("http://127.0.0.1:9"))
    env = {"PERCL_ACCOUNT_ID": None, "PERCL_API_KEY": None, "PERCL_HOME": str(tmp_path)}
    result = CliRunner().invoke(cli, ["sim", "press", "CA" + "0" * 40, "1"], env=env)
    assert result.exit_code == 1
    assert "cannot reach percl at http://127.0.0.1:9" in result.output


def test_a_remote_url_never_gets_a_local_servers_key(tmp_path: Path) -> None:
    # `--url` naming another machine must not send it the key of the server running here; a
    # loopback URL spelt differently (localhost for 127.0.0.1) still finds the local server.
    path = tmp_path / "credentials.json"
    write_entry(path, entry("http://127.0.0.1:8600", key="local-key-1", pid=os.getpid(), at=1.0))
    env = {"PERCL_HOME": str(tmp_path)}
    with pytest.raises(click.ClickException, match="no credentials"):
        resolve_target("http://percl.example.com:8600", None, None, env)
    assert resolve_target("http://localhost:8600", None, None, env).api_key == "local-key-1"
    assert resolve_target("http://[::1]:8600", None, None, env).api_key == "local-key-1"
