"""`GET /` (a start page with the links and where the credentials are) and `GET /healthz`."""

from __future__ import annotations

import httpx

from percl.app import Platform
from percl.config import from_sources


async def test_healthz_and_the_start_page_need_no_credentials_and_show_no_secret() -> None:
    settings = from_sources({"PERCL_DB": "memory://", "PERCL_PORT": "8611"})
    platform = Platform(settings, probe_media=False,
                        credentials_hint="/home/u/.config/percl/credentials.json")
    async with platform, httpx.AsyncClient(transport=httpx.ASGITransport(app=platform.asgi),
                                           base_url="http://percl") as client:
        health = await client.get("/healthz")
        page = await client.get("/")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for text in ("http://127.0.0.1:8611/apiserver", "http://127.0.0.1:8611/sim/v1/docs",
                 "/home/u/.config/percl/credentials.json", "percl status"):
        assert text in page.text
    account = platform.account
    assert account.api_key not in page.text and account.signing_secret not in page.text
    assert account.api_key not in health.text
