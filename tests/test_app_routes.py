"""The platform's top-level routes: the APIs are tried first (POST /Calls is the busiest request;
Starlette tries routes in order, and each one passed over costs ~5,000 instructions)."""

from __future__ import annotations

from percl.app import Platform
from percl.config import from_sources


def test_the_api_mounts_come_before_the_console_and_phone_pages() -> None:
    platform = Platform(from_sources({"PERCL_DB": "memory://"}), probe_media=False)
    paths = [getattr(route, "path", None) for route in platform.asgi.routes]
    assert paths[:3] == ["/apiserver", "/sim/v1", "/webrtc/v1"]
    assert "/" in paths and "/phone" in paths  # the pages are still served, after the APIs
