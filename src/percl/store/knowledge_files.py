"""Knowledge bases as folders: `<root>/<knowledgeBaseId>/*.txt` and `*.md` (UTF-8), read by
`percl.engine.knowledge`. A knowledge base exists when its folder does; its version is the
names, sizes and modification times of its files, so an edit is seen at the next query."""

from __future__ import annotations

import os
import re
from collections.abc import Hashable, Sequence
from pathlib import Path

SUFFIXES = (".txt", ".md")
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class FolderKnowledge:
    """`percl.engine.knowledge.KnowledgeSource` over the folder `root` (None: no knowledge bases)."""

    def __init__(self, root: str | Path | None) -> None:
        self.root = Path(root) if root is not None else None

    def _folder(self, knowledge_base_id: str) -> Path | None:
        if self.root is None or not _SAFE_ID.match(knowledge_base_id) or ".." in knowledge_base_id:
            return None
        folder = self.root / knowledge_base_id
        return folder if folder.is_dir() else None

    def _files(self, folder: Path) -> list[Path]:
        return sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES and p.is_file())

    def version(self, knowledge_base_id: str) -> Hashable | None:
        folder = self._folder(knowledge_base_id)
        if folder is None:
            return None
        stats = ((p.name, _stat(p)) for p in self._files(folder))
        return tuple((name, st.st_size, st.st_mtime_ns) for name, st in stats if st is not None)

    def documents(self, knowledge_base_id: str) -> Sequence[tuple[str, str]]:
        folder = self._folder(knowledge_base_id)
        if folder is None:
            return ()
        texts = ((p.name, _read(p)) for p in self._files(folder))
        return [(name, text) for name, text in texts if text is not None]


# A file can go between listing the folder and reading it (an editor replacing it, a user
# removing it): the knowledge base is then the files that are left, not an error.


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except OSError:
        return None


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
