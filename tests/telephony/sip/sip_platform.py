"""A whole percl on the real clock with a SIP line on 127.0.0.1, for tests against real SIP software.

The SIP peers (sipp, baresip) run in real time, so this platform does too (SystemClock, audio
media with the default engines); its webhooks go in-process to a `ScriptedApp`, its store is in
memory. Each test bounds its own waits; every process a test starts is stopped by its PID.
"""

from __future__ import annotations

import asyncio
import base64
import random
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from percl.app import Platform
from percl.config import MediaFidelity, Settings
from percl.domain.records import Application, Call, IncomingNumber
from percl.engine.ports.store import CallFilter
from percl.store.memory import MemoryStore
from percl.telephony.sip.config import HostPort, SipConfig, Trunk
from percl.telephony.sip.line import Digest, SipLine
from percl.testing.apps import ScriptedApp
from percl.webhooks.inprocess import FunctionTransport, RoutingTransport, WebhookFunction

NUMBER = "+13125550100"  # the account's number the SIP callers call
CALLER = "+13125550199"
FAR = "+15550001111"  # an outbound destination the trunk routes (prefix +1555)
LOOPBACK = "127.0.0.1"
FINAL = ("completed", "busy", "failed", "noAnswer", "canceled")
SETUP = Path(__file__).resolve().parents[2] / "setup"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def rtp_range() -> tuple[int, int]:
    """A random stretch of ports for one platform's RTP (helpers share the machine)."""
    low = random.randrange(30000, 59000, 2)
    return low, low + 600


def need(program: str, script: str) -> str:
    """The path of `program`, installing it with tests/setup/`script` first if needed; skips
    the test (saying why) where it cannot be installed."""
    path = shutil.which(program)
    if path is None:
        done = subprocess.run(["sh", str(SETUP / script)], capture_output=True, text=True,
                              timeout=900, check=False)
        path = shutil.which(program)
        if path is None:
            pytest.skip(done.stdout.strip() or f"{program} is not installed")
    return path


@dataclass
class SipPlatform:
    platform: Platform
    app: ScriptedApp
    webhooks: list[tuple[str, dict[str, object]]] = field(default_factory=list)

    @property
    def sip_port(self) -> int:
        assert self.platform.sip_line is not None
        return self.platform.sip_line.address[1]

    async def calls(self) -> list[Call]:
        """The account's calls, newest first."""
        found = await self.platform.store.list_calls(self.platform.account.account_id,
                                                     CallFilter())
        return list(found)

    async def make_call(self, to: str, **extra: object) -> dict[str, Any]:
        """POST /Calls from NUMBER to `to` with the test application, as a developer would."""
        account = self.platform.account
        token = base64.b64encode(f"{account.account_id}:{account.api_key}".encode()).decode()
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.platform.asgi),
                                     base_url="http://percl.test/apiserver",
                                     headers={"Authorization": f"Basic {token}"}) as client:
            response = await client.post(f"/Accounts/{account.account_id}/Calls", json={
                "from": NUMBER, "to": to, "applicationId": "AP" + "a" * 40, **extra})
        assert response.status_code in (200, 201, 202), response.text
        return dict(response.json())

    async def ended(self, call_id: str, within: float) -> Call:
        """The call once it has ended (fails the test after `within` seconds)."""
        store = self.platform.store
        found: list[Call] = []

        def done() -> bool:
            return bool(found) and found[0].status.value in FINAL

        deadline = asyncio.get_running_loop().time() + within
        while asyncio.get_running_loop().time() < deadline:
            call = await store.get_call(call_id)
            found[:] = [call] if call is not None else []
            if done():
                return found[0]
            await asyncio.sleep(0.05)
        raise AssertionError(f"call {call_id} still {found[0].status if found else None}")

    async def wait(self, condition: Callable[[], object], within: float) -> bool:
        deadline = asyncio.get_running_loop().time() + within
        while not condition():
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True


@asynccontextmanager
async def sip_platform(*, trunk_port: int | None = None,
                       sources: tuple[str, ...] = ("127.0.0.1/32",),
                       voice: WebhookFunction | None = None,
                       digest: Digest | None = None, rate: float = 200.0,
                       burst: float = 400.0, trunk: Trunk | None = None,
                       transport: str = "udp", **config: Any,
                       ) -> AsyncIterator[SipPlatform]:
    """percl with a SIP line on 127.0.0.1 (a free port), NUMBER wired to a scripted app at
    http://app.test, and one trunk: inbound from `sources`, outbound (+1555...) to `trunk_port`.
    `voice`: a webhook function that answers /voice instead of the scripted app; `digest`: the
    SIP line's answer to 401/407 challenges; `rate`/`burst`: the per-source INVITE limit;
    `trunk`: this trunk instead of the test one; `transport`: the test trunk's; `config`: more
    SipConfig fields (tcp, tls, tls_cert, ...)."""
    import ipaddress

    app = ScriptedApp("http://app.test")
    router = RoutingTransport()
    router.mount("http://app.test/", FunctionTransport(app))
    if voice is not None:
        router.mount("http://app.test/voice", FunctionTransport(voice))
    trunk = trunk or Trunk(name="test", proxy=HostPort(LOOPBACK, trunk_port) if trunk_port else None,
                  prefixes=("+1555",) if trunk_port else (),
                  sources=tuple(ipaddress.ip_network(s) for s in sources),
                  username="percl", password="s3cret-never-logged", transport=transport)
    config = SipConfig(listen=HostPort(LOOPBACK, 0), advertised=LOOPBACK,
                       rtp_ports=rtp_range(), trunks=(trunk,), rate=rate, burst=burst, **config)
    settings = Settings(db=":memory:", media=MediaFidelity.AUDIO)
    platform = Platform(settings, store=MemoryStore(), transport=router, probe_media=False,
                        sip=config)
    if digest is not None:
        assert platform.sip_line is not None
        platform.sip_line = SipLine(config, platform.sim, platform.store.find_number,
                                    digest=digest)
    async with platform:
        account = platform.account.account_id
        now = platform.clock.now()
        application = Application(application_id="AP" + "a" * 40, account_id=account,
                                  voice_url=app.url("/voice"),
                                  status_callback_url=app.url("/status"),
                                  call_connect_url=app.url("/connect"),
                                  date_created=now, date_updated=now)
        await platform.store.put_application(application)
        await platform.store.put_number(IncomingNumber(
            phone_number_id="PN" + "b" * 40, account_id=account, phone_number=NUMBER,
            application_id=application.application_id, date_created=now, date_updated=now))
        yield SipPlatform(platform, app)


async def run(argv: list[str], cwd: Path, within: float) -> tuple[int, str]:
    """Run a program to its end (at most `within` seconds; then it is killed by its PID)."""
    proc = await asyncio.create_subprocess_exec(
        *argv, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), within)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return int(proc.returncode or 0), output.decode(errors="replace")
