"""A throwaway NATS server for bench/workers.py's stage 5 (the bus on NATS): Debian's
`nats-server` started as an ordinary process on a free loopback port, stopped by its PID.
`find_nats_server()` is None when it is not installed (the stage then says so and skips it)."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PLACES = ("/usr/sbin/nats-server", "/usr/bin/nats-server")


def find_nats_server() -> Path | None:
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    return next((Path(p) for p in PLACES if Path(p).exists()), None)


class NatsServer:
    """Use as `with NatsServer(binary) as nats:`; `nats.url` is what PERCL_BUS takes."""

    def __init__(self, binary: Path) -> None:
        self.binary = binary
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.proc: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (read back if it fails to start)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def __enter__(self) -> NatsServer:
        self.proc = subprocess.Popen(
            [str(self.binary), "-a", "127.0.0.1", "-p", str(self.port), "-n", "percl-bench"],
            stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30.0
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._log.seek(0)
                raise RuntimeError(f"nats-server exited with {self.proc.returncode}: "
                                   f"{self._log.read().decode(errors='replace').strip()}")
            if self._answers():
                return self
            time.sleep(0.05)
        self.__exit__()
        raise RuntimeError(f"nats-server did not answer on port {self.port} within 30 s")

    def _answers(self) -> bool:
        """A NATS server greets every connection with an INFO line."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as s:
                return s.recv(4).startswith(b"INFO")
        except OSError:
            return False

    def __exit__(self, *exc: object) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._log.close()
