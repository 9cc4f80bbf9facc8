"""`percl serve --tls-self-signed` / `--tls-cert --tls-key`: HTTPS that the official SDK (and the
CLI) talk to when told to trust percl's local CA; plain HTTP is refused on that port."""

from __future__ import annotations

import os
import ssl
import stat
import subprocess
import time
from pathlib import Path

import freeclimb
import httpx
import pytest

from percl.cli.credentials import read_entries
from tests.cli.serving import DEMO_APP, Served, free_port, serve_env
from tests.integration.live import percl_executable

CALLER = "+15550100001"


def sdk(url: str, account_id: str, api_key: str, ca: str) -> freeclimb.DefaultApi:
    cfg = freeclimb.Configuration(host=f"{url}/apiserver", username=account_id, password=api_key,
                                  ssl_ca_cert=ca)
    return freeclimb.DefaultApi(freeclimb.ApiClient(cfg))


def test_the_official_sdk_talks_to_a_self_signed_percl(tmp_path: Path) -> None:
    env = serve_env(tmp_path, free_port())
    ca = tmp_path / "home" / "tls" / "ca.pem"
    server = Served(tmp_path, env, "--tls-self-signed", "--demo", "--demo-app", str(DEMO_APP))
    with server.start(verify=False):
        assert server.url.startswith("https://127.0.0.1:")
        entry = read_entries(tmp_path / "home" / "credentials.json")[0]
        assert entry.url == server.url and entry.ca_file == str(ca)
        api = sdk(server.url, entry.account_id, entry.api_key, str(ca))
        assert api.get_an_account().account_id == entry.account_id
        # the demo's webhooks go over https to percl itself, which trusts its own CA
        number = api.list_incoming_numbers(alias="percl demo").incoming_phone_numbers[0].phone_number
        call = httpx.post(f"{server.url}/sim/v1/calls", verify=ssl.create_default_context(
            cafile=str(ca)), auth=(entry.account_id, entry.api_key), json={
            "from": CALLER, "to": number, "script": [{"afterMs": 500, "digits": "2"}]}).json()
        for _ in range(100):  # bounded wait for the call to end
            result = api.get_a_call(call["callId"])
            if result.status == "completed":
                break
            time.sleep(0.1)
        assert result.status == "completed"
        assert "getDigits 200" in server.output()  # the demo answered over https
        # without the CA, verification fails; plain http is not spoken on the port
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{server.url}/healthz")
        with pytest.raises(httpx.HTTPError):
            httpx.get(server.url.replace("https", "http") + "/healthz")
        # the CLI finds the CA in the credentials file and talks https from any folder
        cli_env = {k: v for k, v in os.environ.items() if not k.startswith("PERCL_")}
        cli_env["PERCL_HOME"] = str(tmp_path / "home")
        status = subprocess.run([percl_executable(), "status"], env=cli_env, cwd="/",
                                capture_output=True, text=True, timeout=60, check=False)
        assert status.returncode == 0, status.stderr
        assert f"answers at {server.url}" in status.stdout
    key = tmp_path / "home" / "tls" / "ca-key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert "local TLS CA (trust it in clients, docs/TLS.md): " + str(ca) in server.output()
    first_ca = ca.read_bytes()
    with Served(tmp_path, env, "--tls-self-signed").start(verify=str(ca)):
        pass  # a restart keeps the CA clients already trust
    assert ca.read_bytes() == first_ca
    # each start's server pair went with it; the CA stays
    assert sorted(p.name for p in ca.parent.iterdir()) == ["ca-key.pem", "ca.lock", "ca.pem"]


def test_a_given_certificate_and_key_are_served(tmp_path: Path) -> None:
    # a certificate made by the same code a user would otherwise make with openssl
    from percl.cli.tls import self_signed

    files = self_signed(tmp_path / "mine", "127.0.0.1")
    verified = Served(tmp_path, serve_env(tmp_path, free_port()), "--tls-cert", str(files.cert),
                      "--tls-key", str(files.key))
    with verified.start(verify=str(files.ca)):
        assert verified.url.startswith("https://")
        assert httpx.get(f"{verified.url}/healthz", verify=ssl.create_default_context(
            cafile=str(files.ca))).json()["status"] == "ok"
    assert "local TLS CA" not in verified.output()  # only --tls-self-signed has one to show
