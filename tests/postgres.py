"""A real PostgreSQL server for the tests: started once per session in a temporary directory as an
ordinary process (no system service), stopped by its PID at the end.

Where the binaries come from: Debian's `postgresql` package (installed by `make test`:
tests/setup/ensure_postgres.sh) puts `initdb`, `pg_ctl` and `createdb` in
/usr/lib/postgresql/<version>/bin; PATH is searched too. PostgreSQL refuses to run as root, so a
root test run starts it as the unprivileged user `nobody`. Where no server can be had, `server()`
skips the test with the reason (the other store kinds still run).

Each `new_database()` is a database of its own (CREATE DATABASE from template0: ~0.1 s), so tests
never see each other's rows. The cluster runs without fsync (`-F`) and with the C locale: text
sorts by bytes, as SQLite's BINARY collation does.
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

_USER = "percl"  # the cluster's superuser (trust authentication, loopback and its socket only)
_UNPRIVILEGED = "nobody"


def find_bin(name: str) -> Path | None:
    """`name` from PATH, else from the newest /usr/lib/postgresql/<version>/bin."""
    found = shutil.which(name)
    if found:
        return Path(found)
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                      key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    for folder in reversed(versions):
        if (folder / name).exists():
            return folder / name
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    folder: Path
    bin: Path
    port: int
    run_as: str | None
    pid: int | None = None

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False,
                              user=self.run_as, cwd=self.folder)

    def start(self) -> None:
        data = self.folder / "data"
        done = self._run(str(self.bin / "initdb"), "-D", str(data), "-U", _USER, "--auth=trust",
                         "--no-locale", "--encoding=UTF8", "--no-sync")
        if done.returncode:
            raise RuntimeError(f"initdb failed: {done.stderr.strip() or done.stdout.strip()}")
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -F"
        done = self._run(str(self.bin / "pg_ctl"), "-D", str(data), "-o", options,
                         "-l", str(self.folder / "server.log"), "-w", "-t", "60", "start")
        if done.returncode:
            log = (self.folder / "server.log")
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()} {tail}")
        self.pid = int((data / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        """Stop the postmaster by its PID (SIGQUIT: immediate shutdown; the data is throwaway)."""
        pid, self.pid = self.pid, None
        if pid is not None:
            try:
                os.kill(pid, signal.SIGQUIT)
                for _ in range(100):
                    os.kill(pid, 0)
                    _wait(0.05)
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str, driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://{_USER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database; its SQLAlchemy URL (asyncpg driver)."""
        name = f"t{next(_NAMES)}"
        done = self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                         "-U", _USER, "-T", "template0", name)
        if done.returncode:
            raise RuntimeError(f"createdb failed: {done.stderr.strip()}")
        return self.url(name)


def _wait(seconds: float) -> None:
    # Waiting for a process to exit (real time by nature: not a test's clock).
    import time

    time.sleep(seconds)


_NAMES = itertools.count(1)
_server: Server | None = None
_failure: str | None = None


def _start() -> Server:
    bin_initdb = find_bin("initdb")
    if bin_initdb is None:
        raise RuntimeError("PostgreSQL is not installed (no initdb on PATH or in "
                           "/usr/lib/postgresql/*/bin; `make test` installs Debian's postgresql)")
    run_as = _UNPRIVILEGED if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="percl-pg-"))
    if run_as is not None:
        shutil.chown(folder, user=run_as)
    server = Server(folder, bin_initdb.resolve().parent, _free_port(), run_as)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server


def server() -> Server:
    """The session's server, started on first use; skips the calling test when none can be had
    (the reason is printed with the skip)."""
    global _server, _failure
    if _server is None and _failure is None:
        try:
            _server = _start()
        except (RuntimeError, OSError, subprocess.SubprocessError, KeyError) as exc:
            _failure = str(exc)
        else:
            atexit.register(stop)
    if _server is None:
        pytest.skip(f"no PostgreSQL server for the tests: {_failure}")
    return _server


def stop() -> None:
    """Stop the session's server if one was started (the session fixture calls this)."""
    global _server
    server_, _server = _server, None
    if server_ is not None:
        server_.stop()
