"""A Store in process memory: what tests and the test kit use, because they need no durability.

Why: through SqliteStore every write is a hop to aiosqlite's worker thread, and a simple test-kit
call flow makes about 44 of them; that, not the engine, bounded how many flows a second the kit
ran. Production keeps SQLite, where every call record survives a restart.

How it stays honest: the same store test-suite runs against both implementations, including a
property test that random sequences of operations give the same answers. The rules it mirrors:

- Records are frozen, so they are kept as given and returned as stored; listings are new lists.
- Listings sort exactly as SqliteStore's ORDER BY does (primary keys break ties). Two orders are
  not spelled out in SQL and are mirrored deliberately: queue members tied on (date_enqueued, seq)
  come in insertion order (SQLite's rowid, kept by an upsert), and log lines tied on timestamp come
  newest insertion first.
- Log metadata is JSON-normalised as SQLite's JSON column would (tuples become lists, what JSON
  cannot encode becomes str()), but lazily, on the first read of the line: `add_log` is on the hot
  path and reads are rare. So a caller must not mutate a metadata dict after `add_log` (the
  engine's log sink hands over a fresh dict).
- Data lives as long as the object: `close()` then `open()` finds it again, as a SQLite file would.

Every method completes without suspending, so each is atomic on the event loop. Unlike with
SqliteStore, awaiting one does not let other tasks run: nothing may count on store latency to
order concurrent work (a test that did must settle the clock instead).
"""

from __future__ import annotations

import bisect
import itertools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from operator import attrgetter
from typing import Any, Generic, TypeVar

from percl.domain.enums import CallStatus, ExportStatus, MessageStatus
from percl.domain.logquery import matches
from percl.domain.records import (
    Account,
    Application,
    Blob,
    Call,
    Conference,
    Export,
    IncomingNumber,
    LogEntry,
    Message,
    Participant,
    Queue,
    QueueMember,
    Recording,
)
from percl.engine.ports import (
    CallFilter,
    ConferenceFilter,
    LogFilter,
    LogPosition,
    MessageFilter,
    ParticipantFilter,
    RecordingQuery,
)
from percl.errors import Conflict
from percl.store.base import PRUNE_BATCH, StoreClosed, alias_taken
from percl.store.schema import dump_json

__all__ = ["MemoryStore", "StoreClosed"]

R = TypeVar("R")
_LIVE = frozenset(s for s in CallStatus if s.is_live)
_ACCOUNT = attrgetter("account_id")


def _oldest_first(records: Iterable[R], key: Callable[[R], Any]) -> list[R]:
    return sorted(records, key=key)


def _newest_first(records: Iterable[R], key: Callable[[R], Any]) -> list[R]:
    # Keys end with the primary key, so no two are equal and a reversed sort is exact.
    return sorted(records, key=key, reverse=True)


class _Table(Generic[R]):
    """Records by primary key, also indexed by their owner (an account, a conference, a queue)."""

    def __init__(self, key: Callable[[R], str], owner: Callable[[R], str]) -> None:
        self._key, self._owner = key, owner
        self.rows: dict[str, R] = {}
        self._by_owner: dict[str, dict[str, R]] = {}

    def put(self, record: R) -> R | None:
        """Insert or replace `record`; returns the record it replaced."""
        key, owner = self._key(record), self._owner(record)
        old = self.rows.get(key)
        self.rows[key] = record
        if old is not None and self._owner(old) != owner:
            del self._by_owner[self._owner(old)][key]
        self._by_owner.setdefault(owner, {})[key] = record
        return old

    def pop(self, key: str) -> R | None:
        old = self.rows.pop(key, None)
        if old is not None:
            del self._by_owner[self._owner(old)][key]
        return old

    def of(self, owner: str) -> Iterable[R]:
        return self._by_owner.get(owner, {}).values()


class MemoryStore:
    """`percl.engine.ports.Store` over dicts. Call `open()` before use (as with SqliteStore);
    every method raises `StoreClosed` before `open()` and after `close()`."""

    def __init__(self) -> None:
        self._open = False
        self._accounts: dict[str, Account] = {}
        self._applications = _Table[Application](attrgetter("application_id"), _ACCOUNT)
        self._numbers = _Table[IncomingNumber](attrgetter("phone_number_id"), _ACCOUNT)
        self._number_ids: dict[str, str] = {}  # phone_number -> phone_number_id (unique)
        self._calls = _Table[Call](attrgetter("call_id"), _ACCOUNT)
        self._live: dict[str, Call] = {}
        self._conferences = _Table[Conference](attrgetter("conference_id"), _ACCOUNT)
        self._participants: dict[str, dict[str, Participant]] = {}  # conference_id -> call_id
        self._queues = _Table[Queue](attrgetter("queue_id"), _ACCOUNT)
        # Members carry the rowid SQLite would give them: it breaks (date_enqueued, seq) ties.
        self._members = _Table[tuple[int, QueueMember]](
            lambda slot: slot[1].call_id, lambda slot: slot[1].queue_id)
        self._rowids = itertools.count(1)
        self._messages = _Table[Message](attrgetter("message_id"), _ACCOUNT)
        # Every log line, in insertion order (the position is its log_id; None once pruned);
        # indexes hold positions.
        self._logs: list[LogEntry | None] = []
        self._logs_first = 0  # positions below this were all pruned
        self._blobs = _Table[Blob](attrgetter("blob_id"), _ACCOUNT)
        self._exports = _Table[Export](attrgetter("export_id"), _ACCOUNT)
        self._recordings = _Table[Recording](attrgetter("recording_id"), _ACCOUNT)
        self._logs_by_account: dict[str, list[int]] = {}
        self._logs_by_call: dict[str, list[int]] = {}
        self._raw_logs: set[int] = set()  # positions whose metadata is not normalised yet

    # ------------------------------------------------------------------ lifecycle

    async def open(self) -> None:
        """Make the store usable. Idempotent."""
        self._open = True

    async def close(self) -> None:
        """Refuse further use until `open()` again; the data is kept. Idempotent."""
        self._open = False

    def _require(self) -> None:
        if not self._open:
            raise StoreClosed("the store is not open: call `await store.open()` first")

    # ------------------------------------------------------------------ accounts

    async def put_account(self, account: Account) -> None:
        self._require()
        self._accounts[account.account_id] = account

    async def get_account(self, account_id: str) -> Account | None:
        self._require()
        return self._accounts.get(account_id)

    async def list_accounts(self) -> Sequence[Account]:
        """Every account, oldest first."""
        self._require()
        return _oldest_first(self._accounts.values(), lambda a: (a.date_created, a.account_id))

    # ------------------------------------------------------------------ applications

    async def put_application(self, app: Application) -> None:
        self._require()
        self._applications.put(app)

    async def get_application(self, application_id: str) -> Application | None:
        self._require()
        return self._applications.rows.get(application_id)

    async def list_applications(
        self, account_id: str, alias: str | None = None
    ) -> Sequence[Application]:
        """The account's applications (only those with exactly `alias`, if given), oldest first."""
        self._require()
        found = (a for a in self._applications.of(account_id) if alias is None or a.alias == alias)
        return _oldest_first(found, lambda a: (a.date_created, a.application_id))

    async def delete_application(self, application_id: str) -> None:
        """Delete the application; deleting an absent one does nothing."""
        self._require()
        self._applications.pop(application_id)

    # ------------------------------------------------------------------ numbers

    async def put_number(self, number: IncomingNumber) -> None:
        """Insert or replace by phone_number_id.

        Raises `percl.errors.Conflict` when another record already holds `number.phone_number`.
        """
        self._require()
        holder = self._number_ids.get(number.phone_number)
        if holder is not None and holder != number.phone_number_id:
            raise Conflict(
                f"phone number {number.phone_number} is already owned",
                details={"phoneNumber": number.phone_number},
            )
        old = self._numbers.put(number)
        if old is not None:
            del self._number_ids[old.phone_number]
        self._number_ids[number.phone_number] = number.phone_number_id

    async def get_number(self, phone_number_id: str) -> IncomingNumber | None:
        self._require()
        return self._numbers.rows.get(phone_number_id)

    async def find_number(self, phone_number: str) -> IncomingNumber | None:
        self._require()
        found = self._number_ids.get(phone_number)
        return None if found is None else self._numbers.rows[found]

    async def list_numbers(self, account_id: str) -> Sequence[IncomingNumber]:
        """The account's numbers, oldest first."""
        self._require()
        return _oldest_first(self._numbers.of(account_id), lambda n: (n.date_created, n.phone_number_id))

    async def delete_number(self, phone_number_id: str) -> None:
        """Delete the number; deleting an absent one does nothing."""
        self._require()
        old = self._numbers.pop(phone_number_id)
        if old is not None:
            del self._number_ids[old.phone_number]

    # ------------------------------------------------------------------ calls

    async def put_call(self, call: Call) -> None:
        self._require()
        self._calls.put(call)
        if call.status in _LIVE:
            self._live[call.call_id] = call
        else:
            self._live.pop(call.call_id, None)

    async def get_call(self, call_id: str) -> Call | None:
        self._require()
        return self._calls.rows.get(call_id)

    async def list_calls(
        self,
        account_id: str,
        flt: CallFilter,
        *,
        offset: int = 0,
        limit: int | None = None,
        before: tuple[float, str] | None = None,
    ) -> Sequence[Call]:
        """Matching calls, newest first (date_created descending, then call_id descending),
        after the keyset position `before` when given; with `limit`, at most that many from
        position `offset`. As in SQL, a negative offset counts as 0 and a negative limit as no
        limit."""
        self._require()
        found = (c for c in self._calls.of(account_id) if _call_matches(c, flt)
                 and (before is None or (c.date_created, c.call_id) < before))
        ordered = _newest_first(found, lambda c: (c.date_created, c.call_id))
        start = max(offset, 0)
        if limit is None or limit < 0:
            return ordered[start:]
        return ordered[start : start + limit]

    async def count_calls(self, account_id: str, flt: CallFilter) -> int:
        """How many calls `list_calls(account_id, flt)` returns without a limit."""
        self._require()
        return sum(1 for c in self._calls.of(account_id) if _call_matches(c, flt))

    async def live_calls(self) -> Sequence[Call]:
        """Every call of any account whose status is queued, ringing or inProgress."""
        self._require()
        return _oldest_first(self._live.values(), lambda c: (c.date_created, c.call_id))

    async def last_activity(self) -> float | None:
        """The newest call change or log line (seconds), as SqliteStore."""
        self._require()
        found = [c.date_updated for c in self._calls.rows.values()]
        found += [entry.timestamp / 1_000_000 for entry in self._logs if entry is not None]
        return max(found, default=None)

    # ------------------------------------------------------------------ conferences

    async def put_conference(self, conference: Conference) -> None:
        self._require()
        self._conferences.put(conference)

    async def get_conference(self, conference_id: str) -> Conference | None:
        self._require()
        return self._conferences.rows.get(conference_id)

    async def list_conferences(self, account_id: str, flt: ConferenceFilter) -> Sequence[Conference]:
        """Matching conferences, newest first."""
        self._require()
        found = (c for c in self._conferences.of(account_id) if _conference_matches(c, flt))
        return _newest_first(found, lambda c: (c.date_created, c.conference_id))

    async def put_participant(self, participant: Participant) -> None:
        self._require()
        self._participants.setdefault(participant.conference_id, {})[participant.call_id] = participant

    async def get_participant(self, conference_id: str, call_id: str) -> Participant | None:
        self._require()
        return self._participants.get(conference_id, {}).get(call_id)

    async def list_participants(
        self, conference_id: str, flt: ParticipantFilter
    ) -> Sequence[Participant]:
        """Matching participants, in the order they joined."""
        self._require()
        found = (p for p in self._participants.get(conference_id, {}).values()
                 if _participant_matches(p, flt))
        return _oldest_first(found, lambda p: (p.date_created, p.call_id))

    async def delete_participant(self, conference_id: str, call_id: str) -> None:
        self._require()
        self._participants.get(conference_id, {}).pop(call_id, None)

    # ------------------------------------------------------------------ queues

    async def put_queue(self, queue: Queue) -> None:
        self._require()
        self._queues.put(queue)

    async def get_queue(self, queue_id: str) -> Queue | None:
        self._require()
        return self._queues.rows.get(queue_id)

    async def list_queues(self, account_id: str, alias: str | None = None) -> Sequence[Queue]:
        """The account's queues (only those with exactly `alias`, if given), oldest first."""
        self._require()
        found = (q for q in self._queues.of(account_id) if alias is None or q.alias == alias)
        return _oldest_first(found, lambda q: (q.date_created, q.queue_id))

    async def put_member(self, member: QueueMember) -> None:
        self._require()
        old = self._members.rows.get(member.call_id)
        # A replaced member keeps its rowid, as an SQLite upsert keeps the row's.
        self._members.put((next(self._rowids) if old is None else old[0], member))

    async def get_member(self, call_id: str) -> QueueMember | None:
        self._require()
        slot = self._members.rows.get(call_id)
        return None if slot is None else slot[1]

    async def list_members(self, queue_id: str) -> Sequence[QueueMember]:
        """The queue's members, head first (date_enqueued, then seq, then insertion order)."""
        self._require()
        ordered = _oldest_first(self._members.of(queue_id),
                                lambda s: (s[1].date_enqueued, s[1].seq, s[0]))
        return [member for _, member in ordered]

    async def delete_member(self, call_id: str) -> None:
        self._require()
        self._members.pop(call_id)

    # ------------------------------------------------------------------ messages

    async def put_message(self, message: Message) -> None:
        self._require()
        self._messages.put(message)

    async def get_message(self, message_id: str) -> Message | None:
        self._require()
        return self._messages.rows.get(message_id)

    async def list_messages(
        self,
        account_id: str,
        flt: MessageFilter,
        *,
        before: tuple[float, str] | None = None,
        limit: int | None = None,
    ) -> Sequence[Message]:
        """Matching messages, newest first, after the keyset position `before`, at most `limit`."""
        self._require()
        found = (m for m in self._messages.of(account_id) if _message_matches(m, flt)
                 and (before is None or (m.date_created, m.message_id) < before))
        ordered = _newest_first(found, lambda m: (m.date_created, m.message_id))
        return ordered if limit is None else ordered[: max(limit, 0)]

    async def count_messages(self, account_id: str, flt: MessageFilter, *, cap: int) -> int:
        """How many messages list_messages returns without a limit, up to `cap`."""
        self._require()
        return min(cap, sum(1 for m in self._messages.of(account_id) if _message_matches(m, flt)))

    async def unsent_messages(self) -> Sequence[Message]:
        """Every message of any account still `queued` or `sending`, oldest first."""
        self._require()
        found = (m for m in self._messages.rows.values() if m.status in _UNSENT)
        return _oldest_first(found, lambda m: (m.date_created, m.message_id))

    # ------------------------------------------------------------------ logs

    async def add_log(self, entry: LogEntry) -> None:
        self._require()
        position = len(self._logs)
        self._logs.append(entry)
        self._logs_by_account.setdefault(entry.account_id, []).append(position)
        if entry.call_id is not None:
            self._logs_by_call.setdefault(entry.call_id, []).append(position)
        if entry.metadata:
            self._raw_logs.add(position)

    async def list_logs(self, account_id: str, flt: LogFilter) -> Sequence[LogEntry]:
        """Matching entries, newest first: timestamp descending, then insertion order descending."""
        self._require()
        return [entry for _, entry in self._matching_logs(account_id, flt)]

    async def page_logs(
        self, account_id: str, flt: LogFilter, *, before: LogPosition | None = None, limit: int
    ) -> Sequence[tuple[LogPosition, LogEntry]]:
        """At most `limit` matching entries after `before`, newest first, with their positions."""
        self._require()
        found = self._matching_logs(account_id, flt)
        if before is not None:
            found = [(pos, e) for pos, e in found if pos < before]
        return found[: max(limit, 0)]

    async def count_logs(self, account_id: str, flt: LogFilter, *, cap: int) -> int:
        """How many entries list_logs would return, up to `cap`."""
        self._require()
        return min(len(self._matching_logs(account_id, flt)), cap)

    async def prune_logs(self, *, older_than: int, keep: int) -> int:
        """Delete lines older than `older_than` and beyond the newest `keep`, among the oldest
        PRUNE_BATCH lines (as SqliteStore does)."""
        self._require()
        end = min(len(self._logs), self._logs_first + PRUNE_BATCH)
        over = max(0, len(self._logs) - keep)
        gone = 0
        for position in range(self._logs_first, end):
            entry = self._logs[position]
            if entry is not None and (position < over or entry.timestamp < older_than):
                self._logs[position] = None
                self._raw_logs.discard(position)
                gone += 1
        while self._logs_first < len(self._logs) and self._logs[self._logs_first] is None:
            self._logs_first += 1
        for index in (self._logs_by_account, self._logs_by_call):
            for key in [k for k, positions in index.items() if positions[0] < self._logs_first]:
                positions = index[key]
                del positions[: bisect.bisect_left(positions, self._logs_first)]
                if not positions:
                    del index[key]
        return gone

    def _matching_logs(self, account_id: str, flt: LogFilter) -> list[tuple[LogPosition, LogEntry]]:
        if flt.call_id is not None:
            positions = self._logs_by_call.get(flt.call_id, [])
        else:
            positions = self._logs_by_account.get(account_id, [])
        level, query = flt.level, flt.query
        found = [((e.timestamp, p), e) for p, e in ((p, self._read_log(p)) for p in positions)
                 if e is not None and e.account_id == account_id
                 and (level is None or e.level == level)
                 and (query is None or matches(query, e))]
        found.sort(key=lambda pair: pair[0], reverse=True)
        return found

    # ------------------------------------------------------------------ blobs

    async def put_blob(self, blob: Blob, *, expect_revision: int | None = None) -> bool:
        """Insert or replace by blob_id; with `expect_revision`, only replace a stored blob of
        that revision. Returns whether it wrote. Raises Conflict when the alias is taken."""
        self._require()
        if expect_revision is not None:
            stored = self._blobs.rows.get(blob.blob_id)
            if stored is None or stored.revision != expect_revision:
                return False
        if any(b.alias == blob.alias and b.blob_id != blob.blob_id
               for b in self._blobs.of(blob.account_id)):
            raise alias_taken(blob)
        self._blobs.put(blob)
        return True

    async def get_blob(self, blob_id: str) -> Blob | None:
        self._require()
        return self._blobs.rows.get(blob_id)

    async def list_blobs(self, account_id: str, alias: str | None = None) -> Sequence[Blob]:
        """The account's blobs (only the one with exactly `alias`, if given), oldest first."""
        self._require()
        found = (b for b in self._blobs.of(account_id) if alias is None or b.alias == alias)
        return _oldest_first(found, lambda b: (b.date_created, b.blob_id))

    async def delete_blob(self, blob_id: str) -> None:
        self._require()
        self._blobs.pop(blob_id)

    async def delete_expired_blobs(self, now: float) -> int:
        """Delete every blob whose expires_at <= `now`; returns how many there were."""
        self._require()
        expired = [key for key, b in self._blobs.rows.items() if b.expires_at <= now]
        for key in expired:
            self._blobs.pop(key)
        return len(expired)

    # ------------------------------------------------------------------ exports

    async def put_export(self, export: Export) -> None:
        self._require()
        self._exports.put(export)

    async def get_export(self, export_id: str) -> Export | None:
        self._require()
        return self._exports.rows.get(export_id)

    async def list_exports(
        self, account_id: str, status: ExportStatus | None = None
    ) -> Sequence[Export]:
        """The account's exports (only those in `status`, if given), newest first."""
        self._require()
        found = (e for e in self._exports.of(account_id) if status is None or e.status == status)
        return _newest_first(found, lambda e: (e.date_created, e.export_id))

    # ------------------------------------------------------------------ recordings

    async def put_recording(self, recording: Recording) -> None:
        self._require()
        self._recordings.put(recording)

    async def get_recording(self, recording_id: str) -> Recording | None:
        self._require()
        return self._recordings.rows.get(recording_id)

    async def list_recordings(self, flt: RecordingQuery) -> Sequence[Recording]:
        self._require()
        rows = (self._recordings.rows.values() if flt.account_id is None
                else self._recordings.of(flt.account_id))
        found = (r for r in rows if _recording_kept(r, flt))
        return _newest_first(found, lambda r: (r.date_created, r.recording_id))

    async def delete_recording(self, recording_id: str) -> None:
        self._require()
        self._recordings.pop(recording_id)

    def _read_log(self, position: int) -> LogEntry | None:
        """The log line at `position` (None once pruned), its metadata normalised as SQLite's
        JSON column would."""
        entry = self._logs[position]
        if entry is not None and position in self._raw_logs:
            entry = replace(entry, metadata=json.loads(dump_json(entry.metadata)))
            self._logs[position] = entry
            self._raw_logs.discard(position)
        return entry


def _call_matches(call: Call, flt: CallFilter) -> bool:
    """SqliteStore's WHERE clause for a CallFilter (an unset time never matches a time bound)."""
    return (
        (not flt.active or call.status in _LIVE)
        and (flt.to is None or call.to == flt.to)
        and (flt.from_ is None or call.from_ == flt.from_)
        and (flt.status is None or call.status == flt.status)
        and (flt.start_time_from is None
             or (call.start_time is not None and call.start_time >= flt.start_time_from))
        and (flt.end_time_to is None or (call.end_time is not None and call.end_time <= flt.end_time_to))
        and (flt.parent_call_id is None or call.parent_call_id == flt.parent_call_id)
        and (not flt.application_ids or call.application_id in flt.application_ids)
        and (flt.created_to is None or call.date_created <= flt.created_to)
        and (not flt.used_audio_stream or call.audio_stream_ms > 0)
        and (not flt.web_rtc or call.web_rtc)
    )


def _within(value: float, lo: float | None, hi: float | None) -> bool:
    """`lo <= value < hi`, each bound only when given."""
    return (lo is None or value >= lo) and (hi is None or value < hi)


def _conference_matches(conference: Conference, flt: ConferenceFilter) -> bool:
    return (
        (flt.status is None or conference.status == flt.status)
        and (flt.alias is None or conference.alias == flt.alias)
        and _within(conference.date_created, flt.created_from, flt.created_to)
        and _within(conference.date_updated, flt.updated_from, flt.updated_to)
    )


def _participant_matches(participant: Participant, flt: ParticipantFilter) -> bool:
    return (
        (flt.talk is None or participant.talk == flt.talk)
        and (flt.listen is None or participant.listen == flt.listen)
        and (flt.dtmf_pass_through is None or participant.dtmf_pass_through == flt.dtmf_pass_through)
    )


_UNSENT = (MessageStatus.QUEUED, MessageStatus.SENDING)


def _message_matches(message: Message, flt: MessageFilter) -> bool:
    return (
        (flt.to is None or message.to == flt.to)
        and (flt.from_ is None or message.from_ == flt.from_)
        and (flt.direction is None or message.direction == flt.direction)
        and (flt.begin is None or message.date_created >= flt.begin)
        and (flt.end is None or message.date_created <= flt.end)
    )


def _recording_kept(r: Recording, flt: RecordingQuery) -> bool:
    return ((flt.call_id is None or r.call_id == flt.call_id)
            and (flt.conference_id is None or r.conference_id == flt.conference_id)
            and (flt.created_from is None or r.date_created >= flt.created_from)
            and (flt.created_to is None or r.date_created <= flt.created_to))
