"""Recording WAV files in one private directory: `<root>/<recordingId>.wav`, mode 0600 in a 0700
folder.

A file is written as `<recordingId>.wav.part` (a unique temporary name) and renamed when complete,
so a listing or a download never sees half a file. A crash can leave only `.part` files, which
`ids()` (called at start-up) removes.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

_SAFE_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")
SUFFIX = ".wav"
PART = ".part"


class DirectoryRecordingFiles:
    """`percl.engine.ports.RecordingFiles` in the folder `root` (created 0700 on first use)."""

    def __init__(self, root: str | Path | None) -> None:
        """Files in `root`; None: in a temporary folder made on first use, which `close()`
        deletes (for in-memory databases, whose recordings need not outlive the process)."""
        self._root = Path(root) if root is not None else None
        self._temporary = root is None

    @property
    def root(self) -> Path:
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="percl-recordings-"))
        return self._root

    def _path(self, recording_id: str) -> Path:
        if not _SAFE_ID.match(recording_id):  # ids are made by percl; this guards the path anyway
            raise ValueError(f"not a recording id: {recording_id!r}")
        return self.root / f"{recording_id}{SUFFIX}"

    def put(self, recording_id: str, data: bytes) -> int:
        final = self._path(recording_id)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, part = tempfile.mkstemp(prefix=f"{recording_id}.", suffix=SUFFIX + PART, dir=self.root)
        try:  # mkstemp makes the file 0600
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(part, final)
        except BaseException:
            Path(part).unlink(missing_ok=True)
            raise
        return len(data)

    def open(self, recording_id: str) -> BinaryIO | None:
        try:
            return self._path(recording_id).open("rb")
        except FileNotFoundError:
            return None

    def delete(self, recording_id: str) -> None:
        self._path(recording_id).unlink(missing_ok=True)

    def size(self, recording_id: str) -> int | None:
        try:
            return self._path(recording_id).stat().st_size
        except FileNotFoundError:
            return None

    def ids(self) -> Iterator[str]:
        if not self.root.is_dir():
            return iter(())
        found: list[str] = []
        for path in self.root.iterdir():
            if path.name.endswith(PART):
                path.unlink(missing_ok=True)  # a write a crash interrupted
            elif path.name.endswith(SUFFIX) and _SAFE_ID.match(path.name[: -len(SUFFIX)]):
                found.append(path.name[: -len(SUFFIX)])
        return iter(sorted(found))

    def close(self) -> None:
        """Delete the folder if it is a temporary one; otherwise nothing."""
        if self._temporary and self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None
