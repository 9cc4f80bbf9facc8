"""Knowledge-base completion, offline: the best-matching passage of local documents, by BM25.

FreeClimb answers `POST /KnowledgeBases/{id}/Completion {query}` with a generated answer drawn
from the documents an account uploaded. percl generates nothing. It splits each document of the
knowledge base into passages (paragraphs: text between blank lines; a paragraph longer than
`MAX_PASSAGE_WORDS` words is cut into windows of that many), ranks the passages against the query
with Okapi BM25 (k1 = 1.2, b = 0.75; terms are lowercase letter/digit runs, a short list of
English stop words left out, no stemming: "park" does not match "parking"), and answers the best
passage's text verbatim with status `success`. When no passage shares a term with the query the
answer is `no_context` with an empty response. Ties go to the earlier passage (documents by
name, then position).

The index of a knowledge base is built on first use and rebuilt when its source reports a new
version (files added, changed or removed), so edits show without a restart.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from percl.engine.ports import KnowledgeSource

MAX_PASSAGE_WORDS = 120
K1, B = 1.2, 0.75

_TERM = re.compile(r"[^\W_]+", re.UNICODE)
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_STOP_WORDS_TEXT = """
a an and are as at be by can do does for from had has have how i if in is it its me my no
not of on or our so than that the their them then there these they this to us was we were
what when where which who whom why will with you your
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())


@dataclass(frozen=True, slots=True)
class Completion:
    """FreeClimb's CompletionResult: `status` is "success" or "no_context"."""

    response: str
    status: str


def terms(text: str) -> list[str]:
    """The words of `text` that count: lowercase letter/digit runs, stop words left out."""
    return [t for t in (m.group().lower() for m in _TERM.finditer(text)) if t not in STOP_WORDS]


def passages(text: str) -> list[str]:
    """`text`'s paragraphs, each at most MAX_PASSAGE_WORDS words (longer ones cut in windows)."""
    found: list[str] = []
    for paragraph in _PARAGRAPH_BREAK.split(text):
        words = paragraph.split()
        for start in range(0, len(words), MAX_PASSAGE_WORDS):
            found.append(" ".join(words[start : start + MAX_PASSAGE_WORDS]))
    return found


class Bm25Index:
    """Okapi BM25 over a fixed list of passages."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = tuple(texts)
        self._counts = [Counter(terms(t)) for t in self.texts]
        self._lengths = [sum(c.values()) for c in self._counts]
        self._average = (sum(self._lengths) / len(self._lengths)) if self._lengths else 0.0
        frequency: Counter[str] = Counter()
        for counts in self._counts:
            frequency.update(counts.keys())
        n = len(self.texts)
        self._idf = {t: math.log(1 + (n - df + 0.5) / (df + 0.5)) for t, df in frequency.items()}

    def score(self, index: int, query_terms: Sequence[str]) -> float:
        counts, length = self._counts[index], self._lengths[index]
        norm = K1 * (1 - B + B * length / self._average) if self._average else K1
        total = 0.0
        for term in query_terms:
            tf = counts.get(term, 0)
            if tf:
                total += self._idf[term] * tf * (K1 + 1) / (tf + norm)
        return total

    def best(self, query: str) -> tuple[int, float] | None:
        """The index and score of the best passage for `query`; None when none scores above 0."""
        query_terms = list(dict.fromkeys(terms(query)))
        best: tuple[int, float] | None = None
        for index in range(len(self.texts)):
            score = self.score(index, query_terms)
            if score > 0 and (best is None or score > best[1]):
                best = (index, score)
        return best


class KnowledgeBases:
    """Completions over a KnowledgeSource, with one cached index per knowledge base."""

    def __init__(self, source: KnowledgeSource) -> None:
        self._source = source
        self._indexes: dict[str, tuple[Hashable, Bm25Index]] = {}

    def complete(self, knowledge_base_id: str, query: str) -> Completion | None:
        """The completion of `query`; None when the knowledge base does not exist."""
        index = self._index(knowledge_base_id)
        if index is None:
            return None
        best = index.best(query)
        if best is None:
            return Completion("", "no_context")
        return Completion(index.texts[best[0]], "success")

    def _index(self, knowledge_base_id: str) -> Bm25Index | None:
        version = self._source.version(knowledge_base_id)
        if version is None:
            self._indexes.pop(knowledge_base_id, None)
            return None
        cached = self._indexes.get(knowledge_base_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        texts = [p for _, text in self._source.documents(knowledge_base_id) for p in passages(text)]
        index = Bm25Index([p for p in texts if p])
        self._indexes[knowledge_base_id] = (version, index)
        return index
