"""Offline knowledge-base completion: BM25 over passages of local documents."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from percl.engine.knowledge import MAX_PASSAGE_WORDS, Bm25Index, KnowledgeBases, passages, terms
from percl.store.knowledge_files import FolderKnowledge

HOURS = "Our business hours are 9am to 5pm, Monday to Friday."
RETURNS = "Returns are accepted within 30 days with a receipt.\nRefunds go to the original card."
SHIPPING = "Shipping is free on orders over 50 dollars. Shipping takes 3 to 5 days."


def test_terms_are_lowercase_words_without_stop_words() -> None:
    assert terms("What are YOUR business-hours, 24/7?") == ["business", "hours", "24", "7"]


def test_passages_are_paragraphs_cut_to_a_window() -> None:
    long = " ".join(f"w{i}" for i in range(MAX_PASSAGE_WORDS + 5))
    assert passages(f"{HOURS}\n\n  \n{RETURNS}\n\n{long}") == [
        HOURS, RETURNS.replace("\n", " "), " ".join(long.split()[:MAX_PASSAGE_WORDS]),
        " ".join(long.split()[MAX_PASSAGE_WORDS:])]


def test_bm25_prefers_the_rarer_and_more_frequent_term() -> None:
    index = Bm25Index([HOURS, RETURNS, SHIPPING])
    assert index.best("When are you open? business hours") == (0, index.score(0, ["business", "hours"]))
    assert index.best("how long does shipping take")[0] == 2  # type: ignore[index]
    assert index.best("refund please")  is None  # "refund" is not "refunds": no stemming
    assert index.best("the and of") is None  # stop words only


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_folder_knowledge_answers_and_sees_edits(tmp_path: Path) -> None:
    _write(tmp_path / "shop", "a.md", f"{HOURS}\n\n{RETURNS}")
    _write(tmp_path / "shop", "notes.bin", "business business business")  # not a document
    bases = KnowledgeBases(FolderKnowledge(tmp_path))
    answer = bases.complete("shop", "business hours?")
    assert answer is not None and (answer.status, answer.response) == ("success", HOURS)
    missing = bases.complete("shop", "shipping costs")
    assert missing is not None and (missing.status, missing.response) == ("no_context", "")
    path = _write(tmp_path / "shop", "b.txt", SHIPPING)
    os.utime(path, ns=(1, 1))  # a new file changes the version whatever the clock says
    shipping = bases.complete("shop", "shipping costs")
    assert shipping is not None and shipping.response == SHIPPING
    assert bases.complete("elsewhere", "hours") is None
    assert bases.complete("../shop", "hours") is None
    assert KnowledgeBases(FolderKnowledge(None)).complete("shop", "hours") is None


def test_a_document_removed_while_it_is_read_is_left_out(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # A file deleted (or replaced) between listing the folder and reading it must not turn the
    # completion into a 500: the knowledge base is what is left.
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "hours.txt").write_text(HOURS)
    (tmp_path / "kb" / "returns.txt").write_text(RETURNS)
    listed = FolderKnowledge._files

    def list_then_lose(self: FolderKnowledge, folder: Path) -> list[Path]:
        files = listed(self, folder)
        (folder / "returns.txt").unlink(missing_ok=True)
        return files

    monkeypatch.setattr(FolderKnowledge, "_files", list_then_lose)
    completion = KnowledgeBases(FolderKnowledge(tmp_path)).complete("kb", "business hours")
    assert completion is not None and completion.response == HOURS
