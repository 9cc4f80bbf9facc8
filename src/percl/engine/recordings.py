"""The recordings library: a recording is a record in the store plus a WAV file in a
RecordingFiles port, and this module is the one place that keeps the two together.

* Saving writes the file first (whole, or not at all) and then the record, so a listed
  recording always has its audio. A file that cannot be written (disk full, a folder percl may not
  write) is logged as an error and the recording is reported failed (None); the call goes on.
* Deleting removes the record first and then the file (a crash between leaves a file without a
  record, which start-up removes).
* Start-up recovery (`recover`): files half-written by a crash are removed (the port's `ids()`),
  a file without a record is removed, and a record whose file is gone is deleted (and logged):
  never a record without a file nor a file without a record.
* Retention: recordings older than `retention_days` are deleted at start-up and every
  `PURGE_INTERVAL_S` after (0 days keeps them forever).
* Private recordings (RecordUtterance privacyMode, TranscribeUtterance privacyForRecording):
  FreeClimb keeps them downloadable for two minutes and not playable; `expire` deletes one after
  that long and, until then, the fetcher refuses to play it. The timer lives in this process: a
  restart in between keeps the recording until the retention removes it.

`OwnRecordingsFetcher` lets a Play of a recordingUrl (a voicemail played back) work: percl's own
recording URLs need the account's credentials over REST, which the platform's fetcher does not
have, so they are read from the library in-process (docs/DECISIONS.md, issue 13).
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, TypeVar

from percl.domain import ids as idmod
from percl.domain.clock import Clock
from percl.domain.ids import IdGenerator
from percl.domain.records import Recording
from percl.engine.ports import Fetched, Fetcher, RecordingFiles, RecordingQuery, Store

log = logging.getLogger(__name__)
T = TypeVar("T")


class Offload(Protocol):
    """Runs blocking work (file I/O, rendering) off the event loop: asyncio.to_thread, or the
    test kit's, which its FakeClock waits for."""

    def __call__(self, work: Callable[[], T], /) -> Awaitable[T]: ...


async def in_thread(work: Callable[[], T], /) -> T:
    return await asyncio.to_thread(work)

PURGE_INTERVAL_S = 3600.0
RECORDING_FORMAT = "audio/wav"


@dataclass(frozen=True, slots=True)
class RecordingSettings:
    """Recording behaviour FreeClimb leaves open (docs/DECISIONS.md, issue 13)."""

    retention_days: float = 0.0  # delete recordings older than this; 0 = keep them
    silence_timeout_ms: int = 5000  # RecordUtterance's silenceTimeoutMs default
    max_length_sec: int = 60  # RecordUtterance's maxLengthSec default


def recording_url(api_base_url: str, recording: Recording) -> str:
    """The recordingUrl of `recording`: its REST Download URL under `api_base_url`."""
    return (f"{api_base_url.rstrip('/')}/Accounts/{recording.account_id}/Recordings/"
            f"{recording.recording_id}/Download")


_OWN_PATH = re.compile(r"/Accounts/([^/?#]+)/Recordings/([^/?#]+)/(?:Download|Stream)"
                       r"(?:[?#].*)?")


def duration_sec(duration_ms: int) -> int:
    """Whole seconds, rounded up (FreeClimb's recordingDurationSec)."""
    return math.ceil(duration_ms / 1000)


class RecordingLibrary:
    """Recordings of every account: saved, deleted, recovered and expired together with their
    files. Construct once in app.py; `async with` runs the retention sweep."""

    def __init__(self, store: Store, files: RecordingFiles, clock: Clock, ids: IdGenerator,
                 settings: RecordingSettings | None = None) -> None:
        self.store, self.files, self.clock, self.ids = store, files, clock, ids
        self.settings = settings or RecordingSettings()
        self._sweeper: asyncio.Task[None] | None = None
        self._expiring: dict[str, asyncio.Task[None]] = {}  # private recordings' timers
        self.offload: Offload = in_thread

    def new_id(self) -> str:
        return self.ids.new(idmod.RECORDING)

    async def save(self, recording_id: str, account_id: str, wav: bytes, duration_ms: int, *,
                   call_id: str | None = None, conference_id: str | None = None) -> Recording | None:
        """Store `wav` and its record; None (after an error log) when the file cannot be written."""
        try:
            size = await self.offload(lambda: self.files.put(recording_id, wav))
        except OSError as exc:
            log.error("Recording %s of %s could not be saved (%s); the call goes on without it",
                      recording_id, call_id or conference_id, exc)
            return None
        now = self.clock.now()
        recording = Recording(recording_id, account_id, call_id=call_id, conference_id=conference_id,
                              duration_sec=duration_sec(duration_ms), date_created=now,
                              date_updated=now, duration_ms=duration_ms, size=size)
        await self.store.put_recording(recording)
        return recording

    def expire(self, recording: Recording, after_s: float) -> None:
        """Delete the (private) `recording` `after_s` seconds from now; until then it is
        `private` (not played by percl's fetcher)."""
        if recording.recording_id in self._expiring:
            return
        task = asyncio.get_running_loop().create_task(self._expire(recording, after_s))
        self._expiring[recording.recording_id] = task

    def private(self, recording_id: str) -> bool:
        return recording_id in self._expiring

    async def _expire(self, recording: Recording, after_s: float) -> None:
        try:
            await self.clock.sleep(after_s)
            if await self.store.get_recording(recording.recording_id) is not None:
                await self.delete(recording)
        except asyncio.CancelledError:
            raise
        except Exception:  # the retention sweep is the fallback
            log.exception("Private recording %s could not be deleted", recording.recording_id)
        finally:
            self._expiring.pop(recording.recording_id, None)

    async def delete(self, recording: Recording) -> None:
        await self.store.delete_recording(recording.recording_id)
        await self.offload(lambda: self.files.delete(recording.recording_id))

    async def _delete_file(self, recording_id: str) -> None:
        await self.offload(lambda: self.files.delete(recording_id))

    async def recover(self) -> tuple[int, int]:
        """Make records and files agree after a crash; returns (files removed, records removed)."""
        files = set(await self.offload(lambda: list(self.files.ids())))
        records = {r.recording_id for r in await self.store.list_recordings(RecordingQuery())}
        orphans, lost = files - records, records - files
        for recording_id in sorted(orphans):
            await self._delete_file(recording_id)
        for recording_id in sorted(lost):
            log.warning("Recording %s has no audio file (lost in a crash or removed by hand); "
                        "its record is deleted", recording_id)
            await self.store.delete_recording(recording_id)
        await self.purge()
        return len(orphans), len(lost)

    async def purge(self) -> int:
        """Delete recordings older than the retention; returns how many."""
        days = self.settings.retention_days
        if days <= 0:
            return 0
        cutoff = self.clock.now() - days * 86400
        old = await self.store.list_recordings(RecordingQuery(created_to=cutoff))
        for recording in old:
            await self.delete(recording)
        return len(old)

    async def _sweep(self) -> None:
        while True:
            await self.clock.sleep(PURGE_INTERVAL_S)
            try:
                await self.purge()
            except Exception:  # the next sweep tries again
                log.exception("Recording retention sweep failed")

    async def __aenter__(self) -> RecordingLibrary:
        if self.settings.retention_days > 0:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep())
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None
        timers = list(self._expiring.values())
        for timer in timers:
            timer.cancel()
        await asyncio.gather(*timers, return_exceptions=True)


class OwnRecordingsFetcher:
    """engine.ports.Fetcher: a URL of one of percl's own recordings (`recording_url` under
    `api_base_url`, Download or Stream) is answered from `library` in-process; every other URL
    goes to `fetcher`.

    The account in the URL must own the recording (else 404, as REST would answer). The answer
    says `Cache-Control: no-store`: a caller's message is not kept in the shared file cache."""

    def __init__(self, fetcher: Fetcher, library: RecordingLibrary, api_base_url: str) -> None:
        self._fetcher = fetcher
        self._library = library
        self._prefix = api_base_url.rstrip("/")

    def own_recording(self, url: str) -> tuple[str, str] | None:
        """(account id, recording id) when `url` is one of percl's recording URLs."""
        if not url.startswith(self._prefix + "/"):
            return None
        found = _OWN_PATH.fullmatch(url[len(self._prefix):])
        return None if found is None else (found[1], found[2])

    async def fetch(self, url: str, *, max_bytes: int | None = None) -> Fetched:
        own = self.own_recording(url)
        if own is None:
            return await self._fetcher.fetch(url, max_bytes=max_bytes)
        account_id, recording_id = own
        recording = await self._library.store.get_recording(recording_id)
        data = None
        if self._library.private(recording_id):
            return Fetched(url, 403, error="HTTP 403: a private recording (privacyMode) is not "
                           "played")
        if recording is not None and recording.account_id == account_id:
            data = await self._library.offload(lambda: self._read(recording_id))
        if data is None:
            return Fetched(url, 404, error="HTTP 404: no such recording")
        return _capped(url, data, max_bytes)

    def _read(self, recording_id: str) -> bytes | None:
        file = self._library.files.open(recording_id)
        if file is None:
            return None
        with file:
            return file.read()


def _capped(url: str, data: bytes, max_bytes: int | None) -> Fetched:
    """A 200 answer of `data`, cut at `max_bytes` as the transport fetcher cuts a file."""
    truncated = max_bytes is not None and len(data) > max_bytes
    body = data[:max_bytes] if truncated else data
    error = (f"the file is larger than {max_bytes} bytes; percl stopped reading it there"
             if truncated else None)
    return Fetched(url, 200, body, "audio/wav", error, 0.0, len(data), truncated, "no-store")
