"""Every operation of FreeClimb's OpenAPI document has a route: a request to it reaches a handler
(whatever the handler then answers), never the unknown-route 404 or a 405."""

from __future__ import annotations

import json
import re

from .rest_kit import OPENAPI, kit_world

METHODS = ("get", "post", "put", "patch", "delete")


def operations() -> list[tuple[str, str, str]]:
    spec = json.loads(OPENAPI.read_text())
    return [(method.upper(), path, item[method]["operationId"])
            for path, item in spec["paths"].items() for method in METHODS if method in item]


async def test_every_operation_has_a_route() -> None:
    world = kit_world()
    account = world.new_account()
    ops = operations()
    assert len(ops) == 68
    missing = []
    async with world.client(account) as client:
        for method, path, operation_id in ops:
            url = re.sub(r"\{[^}]+\}", "X1", path.replace("{accountId}", account.account_id))
            body = {} if method in ("POST", "PUT", "PATCH") else None
            answer = await client.request(method, url, json=body)
            unrouted = answer.status_code == 405 or (
                answer.status_code == 404 and answer.json()["message"].startswith("No resource at"))
            if unrouted:
                missing.append(operation_id)
    assert missing == []
