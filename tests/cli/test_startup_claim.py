"""cli/startup.claim gives back what it took on every failure path (in-process, no server)."""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path

import pytest

from percl.cli import startup


def _free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


def test_a_lock_file_that_cannot_be_made_gives_the_bound_port_back(tmp_path: Path) -> None:
    # A dangling link: no lock file to lock before binding, and none can be created after.
    (tmp_path / "percl.db.lock").symlink_to(tmp_path / "gone" / "percl.db.lock")
    port = _free_port()
    with pytest.raises(startup.StartRefused, match="cannot create its lock file") as refused:
        startup.claim("127.0.0.1", port, str(tmp_path / "percl.db"))
    # The refusal's traceback (kept alive by `refused`) must not be holding the port.
    assert refused.value is not None
    startup.bind("127.0.0.1", port).close()


def test_a_lock_file_that_cannot_be_written_is_one_line_and_frees_the_port(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full_disk(fd: int, data: bytes, offset: int) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(startup.os, "pwrite", full_disk)
    port = _free_port()
    with pytest.raises(startup.StartRefused, match=r"cannot write its lock file.*No space left"):
        startup.claim("127.0.0.1", port, str(tmp_path / "percl.db"))
    startup.bind("127.0.0.1", port).close()
