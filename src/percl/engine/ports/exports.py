"""The export files port: where export CSVs are written and read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol


class ExportSink(Protocol):
    """One export's CSV file being written. Exactly one of `finish` or `abandon` ends it."""

    def write(self, text: str) -> None: ...

    def finish(self) -> int:
        """Close the file and make it the export's; returns its size in bytes."""
        ...

    def abandon(self) -> None:
        """Close and delete the unfinished file."""
        ...


class ExportFiles(Protocol):
    """Where export CSVs live: private files, written and read in pieces, never whole."""

    def create(self, export_id: str) -> ExportSink:
        """A new, empty, private file for `export_id` (a previous unfinished one is replaced)."""
        ...

    def chunks(self, export_id: str) -> Iterator[bytes] | None:
        """The finished file's bytes in pieces, or None when there is none."""
        ...

    def remove(self, export_id: str) -> None:
        """Delete the export's file, finished or not; absent is fine."""
        ...
