"""The REST API over in-process fakes, for the attack tests that need no whole platform:
tests/api/conftest.py's `world` and `client` fixtures, shared rather than copied."""

from __future__ import annotations

from tests.api.conftest import client, world

__all__ = ["client", "world"]
