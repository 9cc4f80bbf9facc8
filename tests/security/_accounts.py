"""Helpers of the H2 attack tests: a second account, Basic headers, clients from an address."""

from __future__ import annotations

import base64

import httpx

from percl.domain.records import Account
from percl.testing.harness import Harness

REST = "http://percl.test/apiserver"
SIM = "http://percl.test/sim/v1"


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def auth_of(account: Account) -> dict[str, str]:
    return basic(account.account_id, account.api_key)


def client(h: Harness, base: str, *, address: str = "127.0.0.1",
           headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    """A client of the platform's ASGI app, seen as coming from `address`."""
    transport = httpx.ASGITransport(app=h.platform.asgi, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url=base, headers=headers)


async def second_account(h: Harness, hex_digit: str = "b") -> Account:
    now = h.clock.now()
    account = Account(account_id="AC" + hex_digit * 40, api_key="key-" + hex_digit * 12,
                      signing_secret="secret-" + hex_digit * 12, alias="other",
                      date_created=now, date_updated=now)
    await h.platform.store.put_account(account)
    return account
