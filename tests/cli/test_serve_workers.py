"""`percl serve --workers N`: N processes on one port (SO_REUSEPORT) over one PostgreSQL, each
answering with its own worker id; on SQLite a clear one-line refusal with exit code 2."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests import postgres
from tests.cli.serving import DEMO_APP, Served, run_once, serve_env
from tests.integration.live import Credentials, free_port

#: New connections tried until both workers have answered (the kernel picks a listening socket
#: per connection by a hash of its addresses: two workers are each hit with odds 1/2 per try).
TRIES = 200
#: N processes start on a machine others share (a readiness bound, not a timing assertion).
READY_S = 60.0


def test_more_than_one_worker_on_sqlite_is_refused_with_exit_code_2(tmp_path: Path) -> None:
    env = serve_env(tmp_path, free_port())
    done = run_once(tmp_path, env, "--workers", "2")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == ["percl: --workers 2 needs PostgreSQL (PERCL_DB=postgresql://...): an SQLite "
                     "database is served by one worker"]
    assert not (tmp_path / "var").exists()  # nothing written
    bad = run_once(tmp_path, serve_env(tmp_path, free_port(), PERCL_WORKERS="0"))
    assert bad.returncode == 2 and "PERCL_WORKERS='0'" in bad.stderr
    pg = serve_env(tmp_path, free_port(), PERCL_DB="postgresql://percl@127.0.0.1:1/none")
    tls = run_once(tmp_path, pg, "--workers", "2", "--tls-self-signed")
    assert tls.returncode == 2
    assert tls.stderr.strip().splitlines() == [
        "percl: --workers 2 cannot use --tls-self-signed (each worker would make its own "
        "certificate files): give a certificate with --tls-cert and --tls-key"]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] == "Z"  # a zombie has ended


def test_two_workers_share_one_port_and_each_answers(tmp_path: Path) -> None:
    url = postgres.server().new_database()
    creds = Credentials.generate()
    env = serve_env(tmp_path, free_port(), PERCL_DB=url, PERCL_ACCOUNT_ID=creds.account_id,
                    PERCL_API_KEY=creds.api_key, PERCL_SIGNING_SECRET=creds.signing_secret)
    served = Served(tmp_path, env, "--workers", "2", "--demo", "--demo-app", str(DEMO_APP)).start(
        timeout_s=READY_S)
    assert served.process is not None
    workers: set[str] = set()
    try:
        for _ in range(TRIES):
            with httpx.Client(base_url=served.url) as client:  # a new connection each time
                workers.add(client.get("/healthz").json()["worker"])
            if len(workers) == 2:
                break
        children = _children(served.process.pid)
        assert len(children) >= 2  # the spawned workers (and multiprocessing's resource tracker)
        rest = httpx.get(f"{served.url}/apiserver/Accounts/{creds.account_id}",
                         auth=(creds.account_id, creds.api_key), timeout=5)
        assert rest.status_code == 200
        # --demo: every worker serves /demo, and one of them wired one number to it.
        apps = httpx.get(f"{served.url}/apiserver/Accounts/{creds.account_id}/Applications",
                         params={"alias": "percl demo"}, auth=(creds.account_id, creds.api_key),
                         timeout=5).json()["applications"]
        assert len(apps) == 1
        demo_answers = set()
        for _ in range(TRIES):
            with httpx.Client(base_url=served.url) as client:
                demo_answers.add((client.get("/healthz").json()["worker"],
                                  client.post("/demo/voice", json={}).status_code))
            if len({worker for worker, _ in demo_answers}) == 2:
                break
        assert len({worker for worker, _ in demo_answers}) == 2
        assert {status for _, status in demo_answers} == {200}
    finally:
        code = served.stop()
    assert len(workers) == 2, served.output()
    assert code == 0, served.output()
    deadline = time.monotonic() + 15
    while not all(_gone(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)  # waiting for processes to exit, bounded
    assert all(_gone(pid) for pid in children)
    output = served.output()
    assert output.count("percl worker 1 (wk") == 1 and "accountId" in output


def test_the_supervisor_stops_its_workers_on_sigterm(tmp_path: Path) -> None:
    url = postgres.server().new_database()
    env = serve_env(tmp_path, free_port(), PERCL_DB=url)
    served = Served(tmp_path, env, "--workers", "2").start(timeout_s=READY_S)
    assert served.process is not None
    children = _children(served.process.pid)
    served.process.send_signal(signal.SIGTERM)
    try:
        assert served.process.wait(timeout=20) == 0
    except subprocess.TimeoutExpired:
        served.process.kill()
        pytest.fail(f"the supervisor did not stop:\n{served.output()}")
    assert all(_gone(pid) for pid in children)
