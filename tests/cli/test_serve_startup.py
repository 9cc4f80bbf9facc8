"""`percl serve` start-up, as a user runs it (a subprocess on a loopback port): a second server on
the same database or port is refused in one line and writes nothing; secrets are printed once."""

from __future__ import annotations

import json
import socket
import stat
import time
from pathlib import Path

import httpx

from percl.cli.credentials import read_entries
from tests.cli.serving import DEMO_APP, Served, free_port, run_once, serve_env

CALLER = "+15550100001"


def _demo_number(server: Served, account_id: str, api_key: str) -> str:
    r = httpx.get(f"{server.url}/apiserver/Accounts/{account_id}/IncomingPhoneNumbers",
                  auth=(account_id, api_key), params={"alias": "percl demo"})
    return str(r.json()["incomingPhoneNumbers"][0]["phoneNumber"])


def test_a_second_server_on_the_same_database_is_refused_and_leaves_the_first_alone(
        tmp_path: Path) -> None:
    env = serve_env(tmp_path, free_port(), PERCL_MEDIA_TIME_SCALE="1")
    with Served(tmp_path, env, "--demo", "--demo-app", str(DEMO_APP)) as first:
        entry = read_entries(tmp_path / "home" / "credentials.json")[0]
        auth = (entry.account_id, entry.api_key)
        number = _demo_number(first, *auth)
        # a live call: the demo waits 8 s (real time) for a key
        call = httpx.post(f"{first.url}/sim/v1/calls", auth=auth,
                          json={"from": CALLER, "to": number}).json()["callId"]
        credentials_before = (tmp_path / "home" / "credentials.json").read_bytes()

        second = run_once(tmp_path, {**env, "PERCL_PORT": str(free_port())})

        assert second.returncode == 1
        assert second.stdout == ""  # no banner
        assert first.process is not None
        assert second.stderr == (f"percl: {tmp_path}/var/percl.db is in use by another percl "
                                 f"(pid {first.process.pid})\n")
        live = httpx.get(f"{first.url}/apiserver/Accounts/{auth[0]}/Calls/{call}", auth=auth).json()
        assert live["status"] == "inProgress"  # no crash recovery ran on it
        assert (tmp_path / "home" / "credentials.json").read_bytes() == credentials_before


def test_a_busy_port_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = run_once(tmp_path, serve_env(tmp_path, port))
    assert done.returncode == 1 and done.stdout == ""
    line = done.stderr.strip()
    assert line.startswith(f"percl: port {port} is in use: try --port ")
    suggested = int(line.split("--port ")[1].split()[0])
    assert suggested > port and line.endswith(f"or PERCL_PORT={suggested} make run")
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no var/, no lock, no credentials


def test_secrets_are_printed_only_when_the_account_is_created(tmp_path: Path) -> None:
    env = serve_env(tmp_path, free_port())
    with Served(tmp_path, env) as first:
        pass
    home, path = tmp_path / "home", tmp_path / "home" / "credentials.json"
    entry = read_entries(path)[0]
    assert entry.url == first.url and entry.db == str(tmp_path / "var" / "percl.db")
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lock = tmp_path / "var" / "percl.db.lock"  # the database lock: private, naming its owner
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600 and stat.S_IMODE(lock.parent.stat().st_mode) == 0o700
    assert first.process is not None and lock.read_text() == f"{first.process.pid}\n"
    assert "account (created)" in first.output() and entry.api_key in first.output()
    secret = first.output().split("signingSecret")[1].split()[0]
    with Served(tmp_path, env) as again:
        pass
    out = again.output()
    assert "account (existing)" in out and entry.account_id in out
    assert entry.api_key not in out and secret not in out
    assert str(path) in out  # where to find them instead
    # The snippet printed instead reads the key from that file: it is runnable as printed.
    snippet = out[out.index("import freeclimb"):out.index("print(api.list_calls())")]
    scope: dict[str, object] = {}
    exec(snippet, scope)  # the banner's own Python, run as a user would
    assert scope["api_key"] == entry.api_key
    assert json.loads(path.read_text())["servers"][first.url]["pid"] == (again.process.pid
                                                                         if again.process else 0)


def test_start_errors_are_one_line_on_stderr(tmp_path: Path) -> None:
    env = serve_env(tmp_path, free_port(), PERCL_TLS_CERT=str(tmp_path / "missing.pem"),
                    PERCL_TLS_KEY=str(tmp_path / "missing-key.pem"))
    done = run_once(tmp_path, env)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == f"percl: TLS: {tmp_path}/missing.pem not found\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # checked before the port and db


def test_the_console_prints_a_line_per_webhook_and_state_change(tmp_path: Path) -> None:
    env = serve_env(tmp_path, free_port())
    for flag in ("--verbose", "--quiet"):
        with Served(tmp_path, env, "--demo", "--demo-app", str(DEMO_APP), flag) as server:
            entry = read_entries(tmp_path / "home" / "credentials.json")[0]
            auth = (entry.account_id, entry.api_key)
            number = _demo_number(server, *auth)
            call = httpx.post(f"{server.url}/sim/v1/calls", auth=auth, json={
                "from": CALLER, "to": number, "script": [{"afterMs": 500, "digits": "2"}]}).json()
            calls = f"{server.url}/apiserver/Accounts/{auth[0]}/Calls/{call['callId']}"
            for _ in range(100):  # until the call ended and its last webhook is printed, bounded
                ended = httpx.get(calls, auth=auth).json()["status"] == "completed"
                if ended and (flag == "--quiet" or "callStatus 200" in server.output()):
                    break
                time.sleep(0.1)
            assert ended
            assert httpx.get(f"{server.url}/healthz").json()["status"] == "ok"
        assert f"web console: {server.url}/ (sign in" in server.output()  # issue 16
        out = server.output().split("calls and webhooks appear below")[1]
        head = f"{call['callId']}  {CALLER} -> {number}  "
        if flag == "--verbose":
            assert f"{head}inboundCall 200 " in out and f"{head}getDigits 200 " in out
            assert f"{head}ended completed (appHangup)" in out and "PerCL received" in out
        else:
            assert call["callId"] not in out  # --quiet: errors only
