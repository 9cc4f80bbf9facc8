"""`percl serve` as a real subprocess on a free loopback port, for the start-up tests: started
with any flags, ready when /healthz answers, stopped by its PID (SIGINT, then SIGKILL)."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import time
from pathlib import Path

import httpx

from tests.integration.live import free_port, percl_executable

READY_TIMEOUT_S = 20.0
DEMO_APP = Path(__file__).resolve().parents[2] / "examples" / "demo_app.py"


def serve_env(workdir: Path, port: int, **extra: str) -> dict[str, str]:
    """Our environment without PERCL_*, plus a port, a database and a PERCL_HOME in `workdir`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERCL_")}
    env.update(PERCL_PORT=str(port), PERCL_HOST="127.0.0.1", PERCL_DB=str(workdir / "var" / "percl.db"),
               PERCL_HOME=str(workdir / "home"), PERCL_MEDIA_TIME_SCALE="0")
    env.update(extra)
    return env


def run_once(workdir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`percl serve ARGS` that must stop by itself (a refused start)."""
    return subprocess.run([percl_executable(), "serve", *args], env=env, cwd=workdir,
                          capture_output=True, text=True, timeout=60, check=False)


class Served:
    """One `percl serve` process; `output()` is what it printed (stdout and stderr)."""

    def __init__(self, workdir: Path, env: dict[str, str], *args: str) -> None:
        self.workdir, self.env, self.args = workdir, env, args
        self.port = int(env["PERCL_PORT"])
        self.log = workdir / f"serve-{time.monotonic_ns()}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        scheme = "https" if any(a.startswith("--tls") for a in self.args) else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self, verify: str | bool | ssl.SSLContext = True, *,
              timeout_s: float = READY_TIMEOUT_S) -> Served:
        """Launch; ready when /healthz answers (`verify`: a CA file for https, or False)."""
        with self.log.open("wb") as log:
            self.process = subprocess.Popen([percl_executable(), "serve", *self.args], env=self.env,
                                            cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT)
        if isinstance(verify, str):
            verify = ssl.create_default_context(cafile=verify)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:  # readiness polling, bounded; not a timing assertion
            if self.process.poll() is not None:
                raise RuntimeError(f"percl serve exited {self.process.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2.0, verify=verify).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"percl serve not ready:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        return self.process.returncode

    def __enter__(self) -> Served:
        return self if self.process is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["DEMO_APP", "Served", "free_port", "run_once", "serve_env"]
