"""POST /KnowledgeBases/{id}/Completion through the official SDK, over a folder of documents."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import freeclimb
import pytest
from freeclimb.exceptions import NotFoundException

from percl.engine.knowledge import KnowledgeBases
from percl.store.knowledge_files import FolderKnowledge

from .rest_kit import KitServer, check_schema, kit_world, serve

FAQ = "Our office is open from 9am to 5pm on weekdays.\n\nParking is free behind the building."


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KitServer]:
    root: Path = tmp_path_factory.mktemp("knowledge")
    (root / "faq").mkdir()
    (root / "faq" / "faq.md").write_text(FAQ, encoding="utf-8")
    yield from serve(kit_world(knowledge=KnowledgeBases(FolderKnowledge(root))))


def test_the_sdk_gets_the_best_passage_or_no_context(server: KitServer) -> None:
    api = server.api(server.world.new_account())
    found = api.create_knowledge_base_completion(
        "faq", freeclimb.CompletionRequest(query="Where is parking?"))
    assert isinstance(found, freeclimb.CompletionResult)
    assert (found.status, found.response) == (freeclimb.CompletionResultStatus.SUCCESS,
                                               "Parking is free behind the building.")
    nothing = api.create_knowledge_base_completion("faq", freeclimb.CompletionRequest(query="pricing"))
    assert (nothing.status, nothing.response) == (freeclimb.CompletionResultStatus.NO_CONTEXT, "")
    with pytest.raises(NotFoundException):
        api.create_knowledge_base_completion("nope", freeclimb.CompletionRequest(query="hours"))


async def test_bodies_match_the_schema_and_bad_queries_are_400(tmp_path: Path) -> None:
    (tmp_path / "faq").mkdir()
    (tmp_path / "faq" / "faq.txt").write_text(FAQ, encoding="utf-8")
    world = kit_world(knowledge=KnowledgeBases(FolderKnowledge(tmp_path)))
    account = world.new_account()
    async with world.client(account) as client:
        url = f"/Accounts/{account.account_id}/KnowledgeBases/faq/Completion"
        ok = await client.post(url, json={"query": "office hours"})
        assert ok.status_code == 200 and ok.json()["status"] == "success"
        check_schema(ok.json(), "CompletionResult")
        for body in ({"query": "x" * 2001}, {"query": ""}, {"query": 5}, {}):
            bad = await client.post(url, json=body)
            assert bad.status_code == 400 and bad.json()["details"]["field"] == "query", body
