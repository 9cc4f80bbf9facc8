"""`GET /phone`: the softphone's page, script and style, public and self-contained (its CSP allows
scripts from percl only); PERCL_WEBRTC_ADDRESSES chooses the ICE host addresses it is offered."""

from __future__ import annotations

import re

import httpx
import pytest

from percl.app import Platform
from percl.config import from_sources
from percl.errors import ConfigError


async def test_the_phone_page_and_its_files_are_served_without_credentials() -> None:
    settings = from_sources({"PERCL_DB": "memory://", "PERCL_MEDIA": "symbolic"})
    platform = Platform(settings, probe_media=False)
    async with platform, httpx.AsyncClient(transport=httpx.ASGITransport(app=platform.asgi),
                                           base_url="http://percl") as client:
        page = await client.get("/phone")
        script = await client.get("/phone/phone.js")
        style = await client.get("/phone/phone.css")
    assert page.status_code == script.status_code == style.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert script.headers["content-type"].startswith("text/javascript")
    assert style.headers["content-type"].startswith("text/css")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    # Every script and style is percl's own file: no third-party code, no inline script.
    sources = re.findall(r'<script[^>]*src="([^"]+)"', page.text)
    assert sources == ["/phone/phone.js"] and "<script>" not in page.text
    # Every control has a label (accessibility); the keypad has all twelve keys.
    for control in re.findall(r'<(?:input|textarea|select)[^>]*id="([^"]+)"', page.text):
        assert f'for="{control}"' in page.text, control
    assert len(re.findall(r'data-key="[0-9*#]"', page.text)) == 12
    assert "/webrtc/v1/socket" in script.text and "#token" not in page.text


def test_webrtc_addresses_are_a_list_of_ip_addresses() -> None:
    settings = from_sources({"PERCL_WEBRTC_ADDRESSES": "127.0.0.1, ::1"})
    assert settings.webrtc_addresses == ("127.0.0.1", "::1")
    assert from_sources({}).webrtc_addresses == ()
    with pytest.raises(ConfigError, match="PERCL_WEBRTC_ADDRESSES"):
        from_sources({"PERCL_WEBRTC_ADDRESSES": "127.0.0.1,localhost"})
