"""The local CA and server pairs `--tls-self-signed` makes: one pair per start, removed at exit
and swept after a crash; unusable CA files refused in one line naming the file."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import pytest
from click.testing import CliRunner

from percl.cli.main import cli
from percl.cli.startup import StartRefused
from percl.cli.tls import self_signed
from percl.errors import PerclError


def usable(cert: Path, key: Path) -> bool:
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except ssl.SSLError:
        return False
    return True


def test_each_start_gets_a_server_pair_of_its_own(tmp_path: Path) -> None:
    first = self_signed(tmp_path, "127.0.0.1")
    first_cert, first_key = first.cert.read_bytes(), first.key.read_bytes()
    second = self_signed(tmp_path, "127.0.0.1")  # another server starting on the same home
    assert {first.cert, first.key}.isdisjoint({second.cert, second.key})
    assert (first.cert.read_bytes(), first.key.read_bytes()) == (first_cert, first_key)
    assert usable(first.cert, first.key) and usable(second.cert, second.key)
    assert first.ca == second.ca  # one CA for both
    first.remove_server_pair()
    assert not first.cert.exists() and not first.key.exists() and usable(second.cert, second.key)


def test_a_crashed_servers_pair_is_swept_at_the_next_start(tmp_path: Path) -> None:
    self_signed(tmp_path, "127.0.0.1")
    dead = 4_194_305  # above Linux's largest pid: no such process
    left = [tmp_path / f"server-{dead}-0badf00d.pem", tmp_path / f"server-{dead}-0badf00d-key.pem"]
    for path in left:
        path.write_text("left by a crash")
    mine = self_signed(tmp_path, "127.0.0.1")
    assert not any(path.exists() for path in left)
    assert mine.cert.exists() and mine.key.exists()


@pytest.mark.parametrize("name", ["ca.pem", "ca-key.pem"])
def test_a_corrupt_ca_file_is_one_line_naming_it(tmp_path: Path, name: str) -> None:
    self_signed(tmp_path, "127.0.0.1")
    (tmp_path / name).write_text("-----BEGIN garbage-----\nnot base64\n")
    with pytest.raises(StartRefused) as refused:
        self_signed(tmp_path, "127.0.0.1")
    assert isinstance(refused.value, PerclError)
    message = str(refused.value)
    assert str(tmp_path / name) in message and "\n" not in message


def test_a_ca_certificate_of_another_key_is_refused(tmp_path: Path) -> None:
    self_signed(tmp_path / "a", "127.0.0.1")
    self_signed(tmp_path / "b", "127.0.0.1")
    (tmp_path / "a" / "ca.pem").write_bytes((tmp_path / "b" / "ca.pem").read_bytes())
    with pytest.raises(StartRefused, match="does not match"):
        self_signed(tmp_path / "a", "127.0.0.1")


def test_serve_refuses_a_corrupt_ca_in_one_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    self_signed(home / "tls", "127.0.0.1")
    (home / "tls" / "ca.pem").write_text("corrupt")
    env = {k: None for k in os.environ if k.startswith("PERCL_")}
    env.update(PERCL_HOME=str(home), PERCL_DB=":memory:", PERCL_HOST="127.0.0.1", PERCL_PORT="0")
    result = CliRunner().invoke(cli, ["serve", "--tls-self-signed"], env=env)
    assert result.exit_code == 1, result.output
    assert result.output.strip().count("\n") == 0 and str(home / "tls" / "ca.pem") in result.output
    assert "Traceback" not in result.output
