"""`sip:` URIs as the `to` of POST /Calls and OutDial: through a trunk that routes them (its
prefixes name `sip:`), or straight to the URI's host with `direct_uris`; a sipp UAS answers.
Bad `to` values keep FreeClimb's error body (code 9); the official SDK parses the calls."""

from __future__ import annotations

import asyncio
import base64
import ipaddress
from pathlib import Path
from typing import Any

import httpx
import pytest
from freeclimb.models.call_result import CallResult
from sip_platform import LOOPBACK, SipPlatform, free_udp_port, need, sip_platform
from test_sip_line_sipp import SCENARIOS, _finish

from percl.telephony.sip.config import HostPort, Trunk


@pytest.fixture(scope="module")
def sipp() -> str:
    return need("sipp", "ensure_sipp.sh")


async def _far_phone(sipp: str, tmp_path: Path, port: int,
                     scenario: str = "uas_answer.xml") -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sipp, "-sf", str(SCENARIOS / scenario), "-i", LOOPBACK, "-p", str(port),
        "-mp", str(free_udp_port()), "-m", "1", "-nostdin", "-timeout", "30s", "-timeout_error",
        "-trace_msg", "-message_file", str(tmp_path / "messages.log"),
        cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    await asyncio.sleep(0.3)  # let it bind its port
    return proc


async def _post_call(sp: SipPlatform, to: str) -> httpx.Response:
    account = sp.platform.account
    token = base64.b64encode(f"{account.account_id}:{account.api_key}".encode()).decode()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sp.platform.asgi),
                                 base_url="http://percl.test/apiserver",
                                 headers={"Authorization": f"Basic {token}"}) as client:
        return await client.post(f"/Accounts/{account.account_id}/Calls", json={
            "from": "+13125550100", "to": to, "applicationId": "AP" + "a" * 40})


async def _call_sipp(sipp: str, tmp_path: Path, **platform: Any) -> tuple[str, str]:
    """POST /Calls to sipp's URI; returns the INVITE sipp received and the call's status."""
    port = free_udp_port()
    far = await _far_phone(sipp, tmp_path, port)
    uri = f"sip:alice@{LOOPBACK}:{port}"
    try:
        async with sip_platform(**platform) as sp:
            sp.app.on("/connect", [{"Say": {"text": "calling a URI"}}, {"Hangup": {}}])
            response = await _post_call(sp, uri)
            assert response.status_code == 202, response.text
            made = CallResult.from_dict(response.json())
            assert made is not None and made.to == uri
            call = await sp.ended(str(made.call_id), 20)
            code, output = await _finish(far, 20)
    finally:
        if far.returncode is None:
            far.kill()  # our own sipp, by its PID
            await far.wait()
    assert code == 0, output[-3000:]
    log = (tmp_path / "messages.log").read_text(errors="replace")
    return log[log.index("INVITE "):][:2000], call.status.value


async def test_a_sip_uri_goes_out_through_a_trunk_whose_prefixes_name_sip(
        sipp: str, tmp_path: Path) -> None:
    invite, status = await _call_sipp_through_trunk(sipp, tmp_path)
    assert status == "completed"
    assert "To: <sip:alice@pbx.invalid>" in invite


async def _call_sipp_through_trunk(sipp: str, tmp_path: Path) -> tuple[str, str]:
    port = free_udp_port()
    far = await _far_phone(sipp, tmp_path, port)
    uri = "sip:alice@pbx.invalid"  # not resolvable: it can only have gone to the trunk's proxy
    trunk = Trunk(name="pbx", proxy=HostPort(LOOPBACK, port), prefixes=("+1555", "sip:"),
                  sources=(ipaddress.ip_network("127.0.0.1/32"),))
    try:
        async with sip_platform(trunk=trunk) as sp:
            sp.app.on("/connect", [{"Say": {"text": "calling a URI"}}, {"Hangup": {}}])
            response = await _post_call(sp, uri)
            assert response.status_code == 202, response.text
            made = CallResult.from_dict(response.json())
            assert made is not None and made.to == uri
            call = await sp.ended(str(made.call_id), 20)
            fetched = await sp.calls()
            assert CallResult.from_dict({**response.json(), "to": fetched[0].to}) is not None
            code, output = await _finish(far, 20)
    finally:
        if far.returncode is None:
            far.kill()
            await far.wait()
    assert code == 0, output[-3000:]
    log = (tmp_path / "messages.log").read_text(errors="replace")
    invite = log[log.index("INVITE "):][:2000]
    assert invite.startswith(f"INVITE {uri} SIP/2.0")  # the URI itself is the Request-URI
    return invite, call.status.value


async def test_a_sip_uri_no_trunk_routes_is_called_at_its_host_when_direct_uris(
        sipp: str, tmp_path: Path) -> None:
    invite, status = await _call_sipp(sipp, tmp_path, direct_uris=True)
    assert status == "completed"
    assert invite.startswith(f"INVITE sip:alice@{LOOPBACK}:")


async def test_without_direct_uris_a_sip_uri_no_trunk_routes_fails() -> None:
    async with sip_platform() as sp:
        assert sp.platform.sip_line is not None
        assert not sp.platform.sip_line.handles("sip:alice@127.0.0.1:5999")
        response = await _post_call(sp, "sip:alice@127.0.0.1:5999")
        assert response.status_code == 202  # FreeClimb takes the call; the leg fails
        call = await sp.ended(response.json()["callId"], 10)
        assert call.status.value == "failed"


@pytest.mark.parametrize("to", ["sip: alice@x", "sip:", "alice@example.com", "tel:+1312555",
                                "sip:a\u0000b@x", "sip:" + "a" * 300])
async def test_a_bad_to_gets_freeclimbs_error_body_with_code_9(to: str) -> None:
    async with sip_platform() as sp:
        response = await _post_call(sp, to)
        assert response.status_code == 400
        body = response.json()
        assert body["code"] == 9 and body["message"].startswith("to ")
        assert await sp.calls() == []
