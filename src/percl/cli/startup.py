"""What `percl serve` claims before it touches anything: its port and its database.

Why first: a second `percl serve` on the same database used to open it, close the first server's
live calls as "left by a crash", overwrite the credentials file and only then fail to bind. Now
the listening socket is bound and the database locked before the store is opened, so a start
that cannot serve writes nothing and says why in one line.

The database lock is an flock on `<db>.lock` beside the database, holding the pid of its owner
(for the message). The lock file is never deleted: unlinking a lock file another process has open
lets two processes lock two different files. The kernel drops the lock when the process ends,
however it ends, so a crash leaves no stale lock.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from percl.cli.credentials import make_private_dir
from percl.config import IN_MEMORY_DBS, is_postgres
from percl.errors import PerclError

#: How far past a busy port to look for a free one to suggest.
PORT_SEARCH = 50


class StartRefused(PerclError):
    """`percl serve` cannot start; the message is the one line to print."""


@dataclass(slots=True)
class Claim:
    """The bound listening socket and the held database lock; `release()` gives both back."""

    sock: socket.socket
    lock_fd: int | None
    lock_path: Path | None

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def release(self) -> None:
        self.sock.close()
        if self.lock_fd is not None:
            os.close(self.lock_fd)  # closing drops the flock
            self.lock_fd = None


def lock_path(db: str) -> Path | None:
    """`<db>.lock` for a database file; None for the in-memory databases (nothing to share) and
    for a PostgreSQL server (no file here to lock)."""
    if db in IN_MEMORY_DBS or is_postgres(db):
        return None
    file = Path(db).expanduser().resolve()
    return file.with_name(file.name + ".lock")


def claim(host: str, port: int, db: str, *, reuse_port: bool = False) -> Claim:
    """Lock `db` if its lock file exists, bind host:port, then create the lock file if it did not.

    That order writes nothing when either is taken. Raises StartRefused with the line to print.
    """
    path = lock_path(db)
    fd = _lock_existing(path, db) if path is not None else None
    sock: socket.socket | None = None
    try:
        sock = bind(host, port, reuse_port=reuse_port)
        if path is not None and fd is None:
            fd = _lock_new(path, db)
        if fd is not None:  # ours now: name us in it, for the message a second server prints
            _name_owner(fd, path, db)
    except BaseException:  # give back whatever was taken: the port too
        if sock is not None:
            sock.close()
        if fd is not None:
            os.close(fd)
        raise
    return Claim(sock, fd, path)


def _name_owner(fd: int, path: Path | None, db: str) -> None:
    """Write our pid into the held lock file. Raises StartRefused (one line) when it cannot."""
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except OSError as exc:
        raise StartRefused(f"{db}: cannot write its lock file {path}: {exc.strerror}") from None


def bind(host: str, port: int, *, reuse_port: bool = False, listen: bool = True) -> socket.socket:
    """A listening TCP socket on host:port (port 0: any free port). `reuse_port`: with
    SO_REUSEPORT, as each of `percl serve --workers N`'s processes binds it (cli/workers.py);
    `listen=False`: bound only (the supervisor's reservation of the port)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StartRefused(f"cannot listen on {host}: {exc.strerror}") from None
    family, _, _, _, address = infos[0]
    try:
        if listen:
            return socket.create_server(address, family=family, backlog=2048,
                                        reuse_port=reuse_port)
        return _bound(address, family, reuse_port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            free = _free_port_after(host, family, port)
            hint = f": try --port {free} or PERCL_PORT={free} make run" if free else ""
            raise StartRefused(f"port {port} is in use{hint}") from None
        raise StartRefused(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def _bound(address: Any, family: socket.AddressFamily, reuse_port: bool) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise
    return sock


def _free_port_after(host: str, family: socket.AddressFamily, port: int) -> int | None:
    for candidate in range(port + 1, min(port + PORT_SEARCH, 65535) + 1):
        with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((host, candidate))
            return candidate
    return None


def _lock_existing(path: Path, db: str) -> int | None:
    """Lock an existing lock file (and keep it locked); None when there is none yet."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StartRefused(f"{db}: cannot open its lock file {path}: {exc.strerror}") from None
    _take(fd, db)
    return fd


def _lock_new(path: Path, db: str) -> int:
    try:
        make_private_dir(path.parent)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StartRefused(f"{db}: cannot create its lock file {path}: {exc.strerror}") from None
    _take(fd, db)
    return fd


def _take(fd: int, db: str) -> None:
    """flock `fd` without waiting; raises StartRefused (naming the owner's pid) when taken."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            owner = os.pread(fd, 32, 0).decode(errors="replace").strip()
        except OSError:
            owner = ""
        os.close(fd)
        who = f" (pid {owner})" if owner.isdigit() else ""
        raise StartRefused(f"{db} is in use by another percl{who}") from None
    except OSError as exc:  # e.g. no locks on this file system
        os.close(fd)
        raise StartRefused(f"{db}: cannot lock its lock file: {exc.strerror}") from None
