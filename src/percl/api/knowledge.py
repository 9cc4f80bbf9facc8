"""POST /Accounts/{accountId}/KnowledgeBases/{knowledgeBaseId}/Completion: 200 CompletionResult.

Offline retrieval, not a generative model: the answer is the best-matching passage of the knowledge
base's local documents (engine/knowledge.py says exactly how), or `no_context` with an empty
response. Knowledge bases are the folders of PERCL_KNOWLEDGE_DIR, shared by every account; an
unknown one is 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import Field, StrictStr

from percl.api.auth import PathAccount
from percl.api.deps import deps_of
from percl.api.fields import WireModel
from percl.errors import NotFound

router = APIRouter()


class CompletionRequest(WireModel):
    query: Annotated[StrictStr, Field(min_length=1, max_length=2000)]


@router.post("/Accounts/{account_id}/KnowledgeBases/{knowledge_base_id}/Completion")
async def create_completion(
    request: Request, account: PathAccount, knowledge_base_id: str, body: CompletionRequest
) -> dict[str, Any]:
    """create-knowledge-base-completion: 200 {response, status: success | no_context}."""
    bases = deps_of(request).knowledge
    completion = bases.complete(knowledge_base_id, body.query) if bases is not None else None
    if completion is None:
        raise NotFound(f"Knowledge base {knowledge_base_id} not found: percl reads knowledge bases "
                       "from the folders of PERCL_KNOWLEDGE_DIR (one folder of .txt/.md files each)")
    return {"response": completion.response, "status": completion.status}
