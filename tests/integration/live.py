"""Real processes and real sockets for the integration tests: `percl serve` as a subprocess and a
customer webhook app served by uvicorn in a background thread.

Why not the in-process harness: these tests check what a user gets from `pip install percl` and
`percl serve` -- the console script, the environment variables, uvicorn + httptools, aiohttp's
client reaching a separate HTTP server -- so nothing here imports percl itself.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

READY_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0

# The customer's answers, per path: a REST call's connect URL speaks then hangs up; the status
# callback is a notification whose PerCL percl must ignore.
CONNECT_PERCL = [{"Say": {"text": "hello"}}, {"Hangup": {}}]
ANSWERS: dict[str, list[dict[str, dict[str, str]]]] = {"/connect": CONNECT_PERCL, "/status": []}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def percl_executable() -> str:
    """The `percl` console script of the running venv, as a user would call it."""
    beside = Path(sys.executable).parent / "percl"
    if beside.exists():
        return str(beside)
    found = shutil.which("percl")
    if found is None:
        raise RuntimeError("the percl console script is not installed: pip install -e .")
    return found


@dataclass(frozen=True)
class Credentials:
    account_id: str
    api_key: str
    signing_secret: str

    @classmethod
    def generate(cls) -> Credentials:
        return cls("AC" + secrets.token_hex(20), secrets.token_hex(20),
                   "sigsec_" + secrets.token_hex(20))


def serve_env(db: Path, port: int | str, creds: Credentials, **extra: str) -> dict[str, str]:
    """The process environment for `percl serve`: ours, without any PERCL_* the caller had."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERCL_")}
    env.update(
        PERCL_DB=str(db), PERCL_PORT=str(port), PERCL_HOST="127.0.0.1",
        PERCL_MEDIA_TIME_SCALE="0", PERCL_ACCOUNT_ID=creds.account_id,
        PERCL_API_KEY=creds.api_key, PERCL_SIGNING_SECRET=creds.signing_secret,
        PERCL_WEBHOOK_TIMEOUT_MS="5000", PERCL_HOME=str(db.parent / "percl-home"),
    )
    env.update(extra)
    return env


def run_serve_once(workdir: Path, env: dict[str, str], timeout_s: float) -> tuple[int, str]:
    """Run `percl serve` to completion (for configurations that must be refused).

    Returns (exit code, stdout + stderr). Raises subprocess.TimeoutExpired if it keeps running.
    """
    done = subprocess.run([percl_executable(), "serve"], env=env, cwd=workdir,
                          capture_output=True, text=True, timeout=timeout_s, check=False)
    return done.returncode, done.stdout + done.stderr


class LiveServer:
    """`percl serve` in a subprocess on a fixed port and database; restartable.

    Call `start()` to launch and wait until the REST API answers an authenticated GET of the
    account (RuntimeError with the process output if it dies or is not ready within 20 s);
    `stop()` sends SIGINT, kills after 10 s, and returns the exit code.
    """

    def __init__(self, workdir: Path, env: dict[str, str], port: int, creds: Credentials) -> None:
        self.workdir, self.env, self.port, self.creds = workdir, env, port, creds
        self.process: subprocess.Popen[bytes] | None = None
        self.killed = False
        self._runs = 0

    @property
    def apiserver(self) -> str:
        return f"http://127.0.0.1:{self.port}/apiserver"

    def start(self) -> None:
        self._runs += 1
        self._log = self.workdir / f"serve-{self._runs}.log"
        with self._log.open("wb") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen([percl_executable(), "serve"], env=self.env,
                                            cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def output(self) -> str:
        return self._log.read_text(errors="replace")

    def stop(self) -> int:
        """SIGINT (graceful shutdown), then SIGKILL after 10 s; returns the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.killed = True
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT_S)
        return self.process.returncode

    def _wait_ready(self) -> None:
        # Readiness polling of a real subprocess, bounded; not a timing assertion.
        assert self.process is not None
        url = f"{self.apiserver}/Accounts/{self.creds.account_id}"
        auth = (self.creds.account_id, self.creds.api_key)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"percl serve exited with {self.process.returncode}:\n"
                                   f"{self.output()}")
            try:
                if httpx.get(url, auth=auth, timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"percl serve not ready after {READY_TIMEOUT_S} s:\n{self.output()}")


@dataclass(frozen=True)
class Received:
    """One webhook request as it arrived: path, headers (lower-case names), raw body."""

    path: str
    headers: dict[str, str]
    raw: bytes


class WebhookSink:
    """The customer's webhook app: Starlette under uvicorn in a thread with its own event loop.

    Records every request in a thread-safe list and answers PerCL per path (ANSWERS; anything
    else gets []). `start()` raises RuntimeError if uvicorn is not serving within 10 s.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self._lock = threading.Lock()
        self._received: list[Received] = []
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST", "GET"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="webhook-sink", daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def wait_for(self, count: int, timeout_s: float) -> list[Received]:
        """The requests so far once at least `count` arrived, or all of them at the deadline."""
        deadline = time.monotonic() + timeout_s
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.received

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10.0
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("webhook sink did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10.0)

    def _run(self) -> None:
        asyncio.run(self._server.serve())

    async def _handle(self, request: Request) -> JSONResponse:
        raw = await request.body()
        path = request.url.path
        with self._lock:
            self._received.append(Received(path, dict(request.headers.items()), raw))
        return JSONResponse(ANSWERS.get(path, []))
