"""The knowledge source port: documents of knowledge bases."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Protocol


class KnowledgeSource(Protocol):
    """Where knowledge bases' documents come from (a folder: store/knowledge_files.py); read by
    engine/knowledge.py."""

    def version(self, knowledge_base_id: str) -> Hashable | None:
        """A value that changes whenever the knowledge base's documents do; None when there is
        no such knowledge base."""
        ...

    def documents(self, knowledge_base_id: str) -> Sequence[tuple[str, str]]:
        """The knowledge base's documents as (name, text), in name order."""
        ...
