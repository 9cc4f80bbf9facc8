"""The interactive commands in a real terminal (a pty, through pexpect) against `percl serve --demo`.

A person calls the demo with `percl sim call`, presses 1 when the menu is read; the demo dials
the agent, whose number is a `percl sim phone` in another terminal: it rings, the agent answers
with `a`, hears the demo's words, the call ends, and Ctrl-C puts the number back. Media runs at
1/20 of real time so prompts are quick. Every wait is a bounded pexpect expectation.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .live import Credentials, LiveServer, free_port, percl_executable, serve_env

pexpect = pytest.importorskip("pexpect")

DEMO_APP = Path(__file__).resolve().parents[2] / "examples" / "demo_app.py"
CALLER = "+15550100001"
AGENT = "+15550100002"  # the number the demo app dials
WAIT_S = 45  # a bound on each wait, not a speed target: a loaded CI machine starts percl slowly


class DemoServer(LiveServer):
    """`percl serve --demo` instead of plain `percl serve`."""

    def start(self) -> None:
        self._runs += 1
        self._log = self.workdir / f"serve-{self._runs}.log"
        with self._log.open("wb") as log:
            self.process = subprocess.Popen(
                [percl_executable(), "serve", "--demo", "--demo-app", str(DEMO_APP)],
                env=self.env, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT)
        self._wait_ready()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    workdir = tmp_path_factory.mktemp("terminal")
    port, creds = free_port(), Credentials.generate()
    env = serve_env(workdir / "percl.db", port, creds, PERCL_MEDIA_TIME_SCALE="0.05")
    live = DemoServer(workdir, env, port, creds)
    live.start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def demo_number(server: DemoServer) -> str:
    acc = server.creds
    r = httpx.get(f"{server.apiserver}/Accounts/{acc.account_id}/IncomingPhoneNumbers",
                  auth=(acc.account_id, acc.api_key), params={"alias": "percl demo"})
    return str(r.json()["incomingPhoneNumbers"][0]["phoneNumber"])


def spawn(server: DemoServer, *args: str) -> Any:
    acc = server.creds
    full = [*args, "--url", f"http://127.0.0.1:{server.port}", "--account", acc.account_id,
            "--key", acc.api_key]
    env = {k: v for k, v in server.env.items() if not k.startswith("PERCL_")}
    return pexpect.spawn(percl_executable(), full, env=env, encoding="utf-8", timeout=WAIT_S,
                         dimensions=(50, 220), cwd=str(server.workdir))


def test_caller_presses_1_and_the_softphone_takes_the_agent_call(server: DemoServer,
                                                                 demo_number: str) -> None:
    phone = spawn(server, "sim", "phone", AGENT)
    try:
        phone.expect_exact("waiting for calls")
        call = spawn(server, "sim", "call", CALLER, demo_number)
        call.expect_exact("Press 1 to call an agent")
        call.sendline("1")
        call.expect_exact("pressed 1")
        call.expect_exact(f"dialled {AGENT} (outboundDial)")
        phone.expect_exact(f"RING  {demo_number} is calling {AGENT} (outboundDial)")
        phone.sendline("a")
        phone.expect_exact(f"Hello agent. A caller on {demo_number} asked for you.")
        phone.expect_exact("call ended")
        phone.expect_exact("waiting for calls")
        call.expect_exact("call ended: completed")
        call.expect(pexpect.EOF)
        call.close()
        assert call.exitstatus == 0
        phone.sendintr()
        phone.expect_exact(f"{AGENT} is back to the default program")
        phone.expect(pexpect.EOF)
        phone.close()
        assert phone.exitstatus == 0
    finally:
        phone.close(force=True)
    acc = server.creds
    program = httpx.get(f"http://127.0.0.1:{server.port}/sim/v1/phones/{AGENT}",
                        auth=(acc.account_id, acc.api_key)).json()
    assert program["answer"] == "human"


def test_ctrl_c_hangs_the_call_up(server: DemoServer, demo_number: str) -> None:
    call = spawn(server, "sim", "call", CALLER, demo_number)
    try:
        call.expect_exact("Welcome to the percl demo.")
        call.sendintr()
        call.expect_exact("hung up (Ctrl-C)")
        call.expect(pexpect.EOF)
        call.close()
        assert call.exitstatus == 130
    finally:
        call.close(force=True)
