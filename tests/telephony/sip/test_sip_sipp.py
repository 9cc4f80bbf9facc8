"""percl's UAS over real UDP on 127.0.0.1, called by sipp (Debian's sip-tester), bounded in time.

sipp is installed by tests/setup/ensure_sipp.sh (`make test` runs it; this module runs it too when
sipp is missing); the test skips, saying why, only where it cannot be installed.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from percl.telephony.sip.sdp import LocalMedia
from percl.telephony.sip.uas import AnsweringUas, CallAnswered, CallEnded
from percl.telephony.sip.udp import UdpUas

ENSURE = Path(__file__).resolve().parents[2] / "setup" / "ensure_sipp.sh"
CALLS = 20


@pytest.fixture(scope="module")
def sipp() -> str:
    path = shutil.which("sipp")
    if path is None:
        done = subprocess.run(["sh", str(ENSURE)], capture_output=True, text=True, timeout=300,
                              check=False)
        path = shutil.which("sipp")
        if path is None:
            pytest.skip(done.stdout.strip() or "sipp is not installed")
    return path


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_sipp_uac_calls_are_answered_and_hung_up(sipp: str, tmp_path: Path) -> None:
    core = AnsweringUas(contact="sip:percl@127.0.0.1",
                        media=lambda call_id: LocalMedia("127.0.0.1", 40000, "1"))
    server = await UdpUas.start(core, "127.0.0.1", 0)
    _, port = server.address
    core.contact = f"sip:percl@127.0.0.1:{port}"
    proc = await asyncio.create_subprocess_exec(
        sipp, "-sn", "uac", f"127.0.0.1:{port}", "-i", "127.0.0.1",
        "-p", str(_free_udp_port()), "-mp", str(_free_udp_port()),
        "-m", str(CALLS), "-r", "20", "-l", "10", "-d", "200",
        "-nostdin", "-timeout", "20s", "-timeout_error",
        cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()  # this test's own sipp, by its PID
            await proc.wait()
        await server.close()
    text = output.decode(errors="replace")
    assert proc.returncode == 0, text[-2000:]
    answered = [e for e in core.events if isinstance(e, CallAnswered)]
    ended = [e for e in core.events if isinstance(e, CallEnded)]
    assert len(answered) == CALLS and len(ended) == CALLS
    assert all(e.reason == "bye" for e in ended)
    assert all(e.audio.codec == "PCMU" and e.audio.remote_address == "127.0.0.1" for e in answered)
