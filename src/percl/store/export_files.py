"""Export CSV files in one private directory: `<root>/<exportId>.csv`, mode 0600 in a 0700 folder.

A file is written as `<exportId>.csv.part` and renamed when finished, so a download never sees
half a file and a crash leaves only `.part` files, which `create` and `remove` clear. Reads come
in 64 KiB pieces: an export is never held whole in memory.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

CHUNK_BYTES = 64 * 1024
_SAFE_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")


class _FileSink:
    """ExportSink over an open `.part` file."""

    def __init__(self, part: Path, final: Path) -> None:
        self._part, self._final = part, final
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._file: IO[str] = os.fdopen(fd, "w", encoding="utf-8", newline="")

    def write(self, text: str) -> None:
        self._file.write(text)

    def finish(self) -> int:
        self._file.close()
        os.replace(self._part, self._final)
        return self._final.stat().st_size

    def abandon(self) -> None:
        self._file.close()
        self._part.unlink(missing_ok=True)


class DirectoryExportFiles:
    """`percl.engine.ports.ExportFiles` in the folder `root` (created 0700 on first use)."""

    def __init__(self, root: str | Path | None) -> None:
        """Files in `root`; None: in a temporary folder made on first use, which `close()`
        deletes (for in-memory databases, whose exports need not outlive the process)."""
        self._root = Path(root) if root is not None else None
        self._temporary = root is None

    @property
    def root(self) -> Path:
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="percl-exports-"))
        return self._root

    def _paths(self, export_id: str) -> tuple[Path, Path]:
        if not _SAFE_ID.match(export_id):  # ids are made by percl; this guards the path anyway
            raise ValueError(f"not an export id: {export_id!r}")
        return self.root / f"{export_id}.csv.part", self.root / f"{export_id}.csv"

    def create(self, export_id: str) -> _FileSink:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        part, final = self._paths(export_id)
        return _FileSink(part, final)

    def chunks(self, export_id: str) -> Iterator[bytes] | None:
        final = self._paths(export_id)[1]
        try:
            file = final.open("rb")
        except FileNotFoundError:
            return None
        return _read(file)

    def remove(self, export_id: str) -> None:
        for path in self._paths(export_id):
            path.unlink(missing_ok=True)

    def close(self) -> None:
        """Delete the folder if it is a temporary one; otherwise nothing."""
        if self._temporary and self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None


def _read(file: IO[bytes]) -> Iterator[bytes]:
    with file:
        while piece := file.read(CHUNK_BYTES):
            yield piece
