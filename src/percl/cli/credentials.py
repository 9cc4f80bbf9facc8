"""Where `percl serve` leaves its URL and credentials for the other commands, from any folder.

Why one per-user file and not one beside the database: a command run from another folder (or with
another PERCL_DB) must still find the server. The file lives in PERCL_HOME (default:
$XDG_CONFIG_HOME/percl, else ~/.config/percl), holds one entry per server URL, and names the
process that wrote each entry, so a command without --url picks the newest server still running:

    {"servers": {"http://127.0.0.1:8600": {"url": ..., "accountId": ..., "apiKey": ...,
                                           "db": "/abs/var/percl.db", "pid": 4242,
                                           "startedAt": 1796594400.0, "caFile": null}}}

Secrets at rest: the directory is made 0700 and the file is created 0600 (never widened and then
narrowed); every write replaces the file atomically under a lock on the directory, so two servers
starting at once do not lose each other's entry.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CREDENTIALS_NAME = "credentials.json"


@dataclass(frozen=True, slots=True)
class ServerEntry:
    """One running (or last run) `percl serve`, as its credentials file records it."""

    url: str
    account_id: str
    api_key: str
    db: str
    pid: int
    started_at: float
    ca_file: str | None = None  # the CA to trust for an https URL with a local certificate

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "accountId": self.account_id, "apiKey": self.api_key,
                "db": self.db, "pid": self.pid, "startedAt": self.started_at,
                "caFile": self.ca_file}


def percl_home(environ: Mapping[str, str]) -> Path:
    """PERCL_HOME, else $XDG_CONFIG_HOME/percl, else ~/.config/percl."""
    if environ.get("PERCL_HOME"):
        return Path(environ["PERCL_HOME"]).expanduser()
    if environ.get("XDG_CONFIG_HOME"):
        return Path(environ["XDG_CONFIG_HOME"]).expanduser() / "percl"
    home = environ.get("HOME") or str(Path.home())
    return Path(home) / ".config" / "percl"


def credentials_path(environ: Mapping[str, str]) -> Path:
    return percl_home(environ) / CREDENTIALS_NAME


def read_entries(path: Path) -> list[ServerEntry]:
    """The entries of the file, newest first; [] when it is missing or unreadable."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    servers = data.get("servers") if isinstance(data, dict) else None
    if not isinstance(servers, dict):
        return []
    entries = [e for e in (_entry(raw) for raw in servers.values()) if e is not None]
    return sorted(entries, key=lambda e: e.started_at, reverse=True)


def find_entry(path: Path, url: str | None) -> ServerEntry | None:
    """The entry for `url` (with or without a trailing slash); else -- no URL, or a loopback URL
    with none of its own -- the newest entry whose process still runs, else the newest entry.
    A URL of another host with no entry of its own gets none: a key goes only where it was made.
    """
    entries = read_entries(path)
    if url is not None:
        wanted = url.rstrip("/")
        own = next((e for e in entries if e.url == wanted), None)
        if own is not None or not _is_loopback(wanted):
            return own
    running = [e for e in entries if pid_alive(e.pid)]
    newest = running or entries
    return newest[0] if newest else None


def _is_loopback(url: str) -> bool:
    """Whether `url` names this machine (localhost, 127.0.0.0/8, ::1)."""
    host = urlsplit(url if "//" in url else f"//{url}").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_private_dir(folder: Path) -> None:
    """Create `folder` and each missing parent 0700 (mkdir(parents=True) would make the parents
    with the umask's mode); folders that exist keep theirs."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    for each in reversed(missing):
        each.mkdir(mode=0o700, exist_ok=True)


def write_entry(path: Path, entry: ServerEntry) -> None:
    """Add or replace the entry for `entry.url`. Creates the directory 0700 and the file 0600.
    Raises OSError when it cannot, with the file as it was and no temporary left."""
    make_private_dir(path.parent)
    with _locked(path.parent):
        entries = {e.url: e for e in read_entries(path)}
        entries[entry.url] = entry
        body = json.dumps({"servers": {u: e.to_json() for u, e in entries.items()}}, indent=2)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()  # a leftover of a crashed writer with our pid
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(body + "\n")
            os.replace(tmp, path)
        except BaseException:  # a full disk, a folder in the way: leave no temporary behind
            tmp.unlink(missing_ok=True)
            raise


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (ours or another user's)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _entry(raw: object) -> ServerEntry | None:
    if not isinstance(raw, dict):
        return None
    try:
        return ServerEntry(url=str(raw["url"]).rstrip("/"), account_id=str(raw["accountId"]),
                           api_key=str(raw["apiKey"]), db=str(raw.get("db", "")),
                           pid=int(raw.get("pid", 0)), started_at=float(raw.get("startedAt", 0)),
                           ca_file=str(raw["caFile"]) if raw.get("caFile") else None)
    except (KeyError, TypeError, ValueError):
        return None
