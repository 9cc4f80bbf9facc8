"""SIP across machines (issue 19): kamailio's dispatcher (docs/kamailio/dispatcher.cfg, the file
users copy, with only its list path, ports and caller networks replaced) in front of two
`percl serve` processes, each with its own HTTP and SIP port, on one PostgreSQL database.

sipp sends calls to kamailio; both percl processes take some (kamailio's log says where each
Call-ID went, each percl's activity log shows the calls it ran), every call completes (the shared
store has them all, `completed`); then one percl is killed with SIGKILL, kamailio's OPTIONS
probing marks it down, and the next calls all complete on the other; then a "percl" that answers
the probes but no INVITE (a hung process) takes its port, and the calls sent to it are passed on
to the live one (the configuration's failure route) and complete.

Real processes in real time, so it runs with the PostgreSQL group (`make test-workers`, or
`--pg-workers`), not in `make test`; the check that kamailio refuses strangers runs in both.
Every wait is bounded; every process is stopped by its PID.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sip_platform import LOOPBACK, free_udp_port, need, rtp_range
from starlette.requests import Request
from starlette.responses import JSONResponse
from tests import postgres
from tests.cli.serving import Served, serve_env
from tests.integration.live import Credentials, WebhookSink, free_port

DOCS = Path(__file__).resolve().parents[3] / "docs" / "kamailio"
SCENARIO = Path(__file__).resolve().parent / "scenarios" / "uac_call_proxy.xml"
NUMBER = "+13125550100"
CALLER = "+13125550199"
FIRST_CALLS, LATER_CALLS, HUNG_CALLS = 8, 6, 4
CALLER_NETS = "!CALLER_NETS!198.51.100.0/24!g"  # the example's networks new calls may come from
WAIT_S = 40.0  # bounds for real processes on a shared machine; not timing assertions


@pytest.fixture
def pg_group(request: pytest.FixtureRequest) -> None:
    if not request.config.getoption("pg_workers"):
        pytest.skip("real percl processes on PostgreSQL: run with --pg-workers (make test-workers)")


class SayApp(WebhookSink):
    """The number's application: it says a few words and hangs up."""

    async def _handle(self, request: Request) -> JSONResponse:
        await super()._handle(request)
        if request.url.path == "/voice":
            return JSONResponse([{"Say": {"text": "Hello from percl"}}, {"Hangup": {}}])
        return JSONResponse([])


@pytest.fixture
def app() -> Iterator[SayApp]:
    sink = SayApp()
    sink.start()
    yield sink
    sink.stop()


def _until(condition: Any, what: str) -> Any:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:  # polling real processes, bounded
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {WAIT_S} s: {what}")


class Kamailio:
    """docs/kamailio/dispatcher.cfg and a dispatcher list of `percls`, on a free UDP port."""

    def __init__(self, folder: Path, percls: list[int],
                 callers: str = f"192.0.2.0/24,{LOOPBACK}/32") -> None:
        self.binary = need("kamailio", "ensure_kamailio.sh")
        self.folder, self.port = folder, free_udp_port()
        self.log = folder / "kamailio.log"
        listed = folder / "dispatcher.list"
        example = (DOCS / "dispatcher.list").read_text()
        for docs_host, port in zip(re.findall(r"sip:(\S+)", example), percls, strict=True):
            example = example.replace(f"sip:{docs_host}", f"sip:{LOOPBACK}:{port}")
        listed.write_text(example)
        config = (DOCS / "dispatcher.cfg").read_text()
        assert "/etc/kamailio/dispatcher.list" in config and CALLER_NETS in config
        self.config = folder / "dispatcher.cfg"
        self.config.write_text(config.replace("/etc/kamailio/dispatcher.list", str(listed))
                               .replace(CALLER_NETS, f"!CALLER_NETS!{callers}!g"))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Kamailio:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [self.binary, "-f", str(self.config), "-DD", "-E", "-Y", str(self.folder),
                 "-l", f"udp:{LOOPBACK}:{self.port}"], stdout=subprocess.DEVNULL, stderr=log,
                start_new_session=True)
        options = ("OPTIONS sip:{0}:{1} SIP/2.0\r\nVia: SIP/2.0/UDP {0}:{2};branch=z9hG4bK{3}\r\n"
                   "From: <sip:probe@{0}>;tag=1\r\nTo: <sip:{0}>\r\nCall-ID: ready-{3}\r\n"
                   "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((LOOPBACK, 0))
            sock.settimeout(0.25)
            for attempt in range(40):  # 10 s at most
                if self.process.poll() is not None:
                    raise AssertionError("kamailio exited: " + self.output()[-2000:])
                text = options.format(LOOPBACK, self.port, sock.getsockname()[1], attempt)
                sock.sendto(text.encode(), (LOOPBACK, self.port))
                try:
                    sock.recvfrom(65535)
                    return self
                except TimeoutError:
                    continue
        raise AssertionError("kamailio did not answer within 10 s: " + self.output()[-2000:])

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def dispatched(self) -> dict[str, set[int]]:
        """Call-ID -> the percl SIP ports kamailio sent its INVITE to (more than one: failover)."""
        found: dict[str, set[int]] = {}
        for call_id, port in re.findall(r"percl-dispatch (\S+) to sip:[\d.]+:(\d+)", self.output()):
            found.setdefault(call_id, set()).add(int(port))
        return found

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()  # our own kamailio, by its PID
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with contextlib.suppress(ProcessLookupError):  # and its forked workers (its group)
            os.killpg(self.process.pid, signal.SIGKILL)


class Mute:
    """A "percl" that answers Kamailio's OPTIONS probes but never an INVITE (a hung process):
    the dispatcher keeps it in the set, and its INVITEs must go to the next percl."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOPBACK, port))
        self.sock.settimeout(0.1)
        self.invites = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mute-percl", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, source = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            text = data.decode(errors="replace")
            if text.startswith("INVITE "):
                self.invites += 1
            if not text.startswith("OPTIONS "):
                continue
            copied = [line for line in text.split("\r\n") if line.split(":")[0].strip().lower()
                      in ("via", "from", "to", "call-id", "cseq")]
            reply = "\r\n".join(["SIP/2.0 200 OK", *copied, "Content-Length: 0", "", ""])
            self.sock.sendto(reply.encode(), source)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


def _sipp(sipp: str, folder: Path, kamailio: int, calls: int) -> tuple[int, str]:
    """`calls` calls from sipp to NUMBER through kamailio; sipp's exit code and output."""
    command = [sipp, "-sf", str(SCENARIO), f"{LOOPBACK}:{kamailio}", "-i", LOOPBACK,
               "-p", str(free_udp_port()), "-mp", str(free_udp_port()),
               "-key", "dest", NUMBER, "-key", "caller", CALLER,
               "-key", "rtp_port", str(free_udp_port()),
               "-m", str(calls), "-r", "4", "-l", str(calls), "-nostdin",
               "-timeout", "60s", "-timeout_error", "-recv_timeout", "30000"]
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=90,
                          check=False)
    return done.returncode, done.stdout + done.stderr


def _ended(served: Served) -> set[str]:
    """The calls this percl process ran to the end, from its own activity log."""
    return set(re.findall(r"(CA[0-9a-f]{40}) .* ended completed \(appHangup\)", served.output()))


def _percl(folder: Path, url: str, creds: Credentials, sip_port: int) -> Served:
    """One percl "machine": its own HTTP and SIP ports, kamailio as its trunk's only source."""
    folder.mkdir()
    low, high = rtp_range()
    env = serve_env(folder, free_port(), PERCL_DB=url, PERCL_ACCOUNT_ID=creds.account_id,
                    PERCL_API_KEY=creds.api_key, PERCL_SIGNING_SECRET=creds.signing_secret,
                    PERCL_MEDIA_TIME_SCALE="1", PERCL_LEASE_SECONDS="3",
                    PERCL_SIP_LISTEN=f"{LOOPBACK}:{sip_port}",
                    PERCL_SIP_TRUNK_NAME="kamailio", PERCL_SIP_TRUNK_SOURCES=LOOPBACK,
                    PERCL_SIP_RTP_PORTS=f"{low}-{high}")
    return Served(folder, env).start(timeout_s=WAIT_S)


def test_calls_through_kamailio_reach_both_percls_and_skip_a_dead_one(
        pg_group: None, tmp_path: Path, app: SayApp) -> None:
    sipp = need("sipp", "ensure_sipp.sh")
    url = postgres.server().new_database()
    creds = Credentials.generate()
    ports = [free_udp_port(), free_udp_port()]
    percls: list[Served] = []
    kamailio: Kamailio | None = None
    try:
        for name, sip_port in zip("ab", ports, strict=True):  # one after the other: one migrates
            percls.append(_percl(tmp_path / name, url, creds, sip_port))
        a, b = percls
        rest = httpx.Client(base_url=f"{a.url}/apiserver/Accounts/{creds.account_id}",
                            auth=(creds.account_id, creds.api_key), timeout=10)
        made = rest.post("/Applications", json={"voiceUrl": app.url("/voice")})
        assert made.status_code == 201, made.text
        bought = rest.post("/IncomingPhoneNumbers", json={
            "phoneNumber": NUMBER, "applicationId": made.json()["applicationId"]})
        assert bought.status_code in (200, 201), bought.text
        kamailio = Kamailio(tmp_path, ports).start()

        code, output = _sipp(sipp, tmp_path, kamailio.port, FIRST_CALLS)
        assert code == 0, output[-3000:] + kamailio.output()[-2000:]
        first = kamailio.dispatched()
        assert len(first) == FIRST_CALLS
        assert {port for went in first.values() for port in went} == set(ports)  # both took calls

        def calls() -> list[dict[str, Any]]:
            listed: list[dict[str, Any]] = rest.get("/Calls", params={"to": NUMBER}).json()["calls"]
            return listed

        done = _until(lambda: (c := calls()) and len(c) == FIRST_CALLS
                      and all(x["status"] == "completed" for x in c) and c, "every call completed")
        assert {x["from"] for x in done} == {CALLER}
        # Each percl ran the calls kamailio sent it, and together they ran every one.
        per_port = {port: sum(went == {port} for went in first.values()) for port in ports}
        assert [len(_ended(a)), len(_ended(b))] == [per_port[p] for p in ports]
        assert _ended(a) | _ended(b) == {x["callId"] for x in done}

        # kill -9 one percl ("machine" b); probing takes it out and the next calls go to a.
        assert b.process is not None
        os.kill(b.process.pid, signal.SIGKILL)
        b.process.wait(10)
        _until(lambda: f"percl-down sip:{LOOPBACK}:{ports[1]}" in kamailio.output(),
               "kamailio's probing marked the killed percl down")
        code, output = _sipp(sipp, tmp_path, kamailio.port, LATER_CALLS)
        assert code == 0, output[-3000:] + kamailio.output()[-2000:]
        later = {k: v for k, v in kamailio.dispatched().items() if k not in first}
        assert len(later) == LATER_CALLS
        assert all(went == {ports[0]} for went in later.values()), later
        total = FIRST_CALLS + LATER_CALLS
        everything = _until(lambda: (c := calls()) and len(c) == total
                            and all(x["status"] == "completed" for x in c) and c,
                            "the later calls completed")
        later_ids = {x["callId"] for x in everything} - {x["callId"] for x in done}
        assert later_ids <= _ended(a)  # the survivor ran them all

        # A percl that answers probes but not INVITEs (hung): its calls go to the next one.
        mute = Mute(ports[1])
        try:
            _until(lambda: f"percl-up sip:{LOOPBACK}:{ports[1]}" in kamailio.output(),
                   "kamailio's probing took the mute percl back in")
            seen = set(kamailio.dispatched())
            code, output = _sipp(sipp, tmp_path, kamailio.port, HUNG_CALLS)
            assert code == 0, output[-3000:] + kamailio.output()[-2000:]
        finally:
            mute.close()
        hung = {k: v for k, v in kamailio.dispatched().items() if k not in seen}
        assert len(hung) == HUNG_CALLS and mute.invites > 0
        assert any(went == set(ports) for went in hung.values()), hung  # failed over to a
        assert "did not answer" in kamailio.output()
        total += HUNG_CALLS
        _until(lambda: (c := calls()) and len(c) == total
               and all(x["status"] == "completed" for x in c), "the failed-over calls completed")
        rest.close()
    finally:
        if kamailio is not None:
            kamailio.stop()
        for served in percls:
            served.stop()


def test_a_call_from_outside_the_caller_networks_is_refused_by_kamailio(tmp_path: Path) -> None:
    """percl trusts kamailio's address, so kamailio is where callers are checked (no percl runs:
    nothing may be dispatched)."""
    sipp = need("sipp", "ensure_sipp.sh")
    kamailio = Kamailio(tmp_path, [free_udp_port(), free_udp_port()], callers="192.0.2.0/24")
    try:
        kamailio.start()
        code, output = _sipp(sipp, tmp_path, kamailio.port, 1)
    finally:
        kamailio.stop()
    assert code != 0 and "403 Forbidden" in output, output[-3000:]
    assert kamailio.dispatched() == {}


def test_workers_md_shows_the_files_as_they_are() -> None:
    """docs/WORKERS.md quotes the configuration users copy: it must be the tested one."""
    shown = (DOCS.parent / "WORKERS.md").read_text()
    for name in ("dispatcher.cfg", "dispatcher.list"):
        assert f"```text\n{(DOCS / name).read_text()}```\n" in shown, name
