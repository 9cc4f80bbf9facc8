"""A REST world over the MemoryStore (the Store percl ships), for the resources the api conftest's
FakeStore does not hold (blobs, exports, knowledge bases, campaigns), and a check that a JSON body
matches its component schema in FreeClimb's OpenAPI document.

Why the OpenAPI check beside the SDK: the SDK's models ignore unknown keys and accept missing
ones, so a body the SDK parses may still break the spec (a wrong type in a nullable field, a key
spelt wrongly).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import freeclimb
import httpx
import jsonschema
import uvicorn

from percl.api import ApiDeps
from percl.domain.ids import SequentialIds
from percl.domain.records import Account
from percl.store.memory import MemoryStore
from percl.testing import FakeClock

from .conftest import BASE, INVENTORY, FakeCallControl, make_account, mounted

# FreeClimb's own document (php-sdk openapi.json, sha256 f196218c...; see the reference notes).
OPENAPI = Path(__file__).parent.parent / "data" / "openapi" / "freeclimb-openapi.json"


# --------------------------------------------------------------------------- OpenAPI schemas


def _nullable(node: Any) -> Any:
    """OpenAPI 3.0's `nullable: true` as JSON Schema: the type may also be null."""
    if isinstance(node, list):
        return [_nullable(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _nullable(v) for k, v in node.items() if k not in ("nullable", "example", "examples")}
    if node.get("nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


@functools.cache
def _document() -> dict[str, Any]:
    spec = json.loads(OPENAPI.read_text())
    return {"components": {"schemas": _nullable(spec["components"]["schemas"])}}


def check_schema(body: Any, schema_name: str) -> None:
    """Raise jsonschema.ValidationError when `body` does not match components/schemas/`schema_name`."""
    root = {**_document(), "$ref": f"#/components/schemas/{schema_name}"}
    jsonschema.Draft7Validator(root).validate(body)


# --------------------------------------------------------------------------- a world over MemoryStore


@dataclasses.dataclass
class KitWorld:
    clock: FakeClock
    ids: SequentialIds
    store: MemoryStore
    deps: ApiDeps

    def new_account(self) -> Account:
        account = make_account(self.ids, self.clock.now())
        run_sync(self.store.put_account(account))
        return account

    def advance(self, seconds: float) -> None:
        """Move the FakeClock on from a synchronous test (nothing may be sleeping on it)."""
        asyncio.run(self.clock.advance(seconds))

    def client(self, account: Account) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=mounted(self.deps), raise_app_exceptions=False),
            base_url=BASE,
            auth=(account.account_id, account.api_key),
        )


def run_sync(coro: Any) -> Any:
    # MemoryStore's methods never suspend, so they can run to completion outside any loop.
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    raise AssertionError("a MemoryStore method suspended")


def kit_world(page_size: int = 100, **deps: Any) -> KitWorld:
    clock = FakeClock()
    ids = SequentialIds("rest-kit")
    store = MemoryStore()
    run_sync(store.open())
    api_deps = ApiDeps(
        store=store, clock=clock, ids=ids, calls=FakeCallControl(store, clock, ids),  # type: ignore[arg-type]
        inventory=INVENTORY, page_size=page_size, **deps,
    )
    return KitWorld(clock, ids, store, api_deps)


@dataclasses.dataclass
class KitServer:
    """A real uvicorn on 127.0.0.1 over a KitWorld, for the official SDK."""

    world: KitWorld
    port: int

    def api(self, account: Account) -> freeclimb.DefaultApi:
        cfg = freeclimb.Configuration(
            host=f"http://127.0.0.1:{self.port}/apiserver",
            username=account.account_id,
            password=account.api_key,
        )
        return freeclimb.DefaultApi(freeclimb.ApiClient(cfg))


def serve(world: KitWorld) -> Iterator[KitServer]:
    """Serve `world` until the generator is closed (use as a fixture body)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(mounted(world.deps), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield KitServer(world, sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


