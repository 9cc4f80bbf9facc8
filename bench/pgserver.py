"""A throwaway PostgreSQL server for the benchmarks (bench/workers.py): initdb in a temporary
folder, `pg_ctl start` as an ordinary process (as `nobody` when run as root: PostgreSQL refuses
root), fsync off, the C locale; stopped by its PID. The same recipe as the test suite's
tests/postgres.py, which bench/ may not import (tests/bench/test_no_tests_imports.py)."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

USER = "percl"


def find_bin(name: str) -> Path:
    found = shutil.which(name)
    if found:
        return Path(found)
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / name).exists():
            return folder / name
    raise SystemExit(f"bench/workers.py needs PostgreSQL ({name} not found): "
                     "apt-get install postgresql")


class PgServer:
    """Use as `with PgServer() as server:`; `server.new_database()` gives a URL."""

    def __init__(self) -> None:
        self.bin = find_bin("initdb").resolve().parent
        self.run_as = "nobody" if os.geteuid() == 0 else None
        self.folder = Path(tempfile.mkdtemp(prefix="percl-bench-pg-"))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.pid: int | None = None
        self._names = itertools.count(1)

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False,
                              user=self.run_as, cwd=self.folder)

    def __enter__(self) -> PgServer:
        if self.run_as is not None:
            shutil.chown(self.folder, user=self.run_as)
        data = self.folder / "data"
        done = self._run(str(self.bin / "initdb"), "-D", str(data), "-U", USER, "--auth=trust",
                         "--no-locale", "--encoding=UTF8", "--no-sync")
        if done.returncode:
            raise RuntimeError(f"initdb failed: {done.stderr.strip()}")
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -F " \
                  "-c max_connections=300"
        done = self._run(str(self.bin / "pg_ctl"), "-D", str(data), "-o", options,
                         "-l", str(self.folder / "server.log"), "-w", "-t", "60", "start")
        if done.returncode:
            raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()}")
        self.pid = int((data / "postmaster.pid").read_text().split()[0])
        return self

    def __exit__(self, *exc: object) -> None:
        pid, self.pid = self.pid, None
        if pid is not None:
            try:
                os.kill(pid, signal.SIGQUIT)
                for _ in range(100):
                    os.kill(pid, 0)
                    time.sleep(0.05)
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.folder, ignore_errors=True)

    def new_database(self) -> str:
        name = f"b{next(self._names)}"
        done = self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                         "-U", USER, "-T", "template0", name)
        if done.returncode:
            raise RuntimeError(f"createdb failed: {done.stderr.strip()}")
        return f"postgresql+asyncpg://{USER}@127.0.0.1:{self.port}/{name}"
