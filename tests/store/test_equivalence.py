"""MemoryStore and SqliteStore give the same answers to any sequence of operations.

Hypothesis draws records from small pools of ids, numbers, aliases and instants, so collisions
(upserts, a phone number owned twice, records moving between accounts or queues) and sort ties
(same date_created, same timestamp, same (date_enqueued, seq)) are common. Each operation's result,
or the class of the error it raised, must be equal on both stores.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from percl.domain.enums import (
    AccountStatus,
    AccountType,
    AnsweredBy,
    CallDirection,
    CallEndedReason,
    CallStatus,
    ConferenceStatus,
    LogLevel,
    MessageDirection,
    MessageStatus,
    PlayBeep,
)
from percl.domain.records import (
    Account,
    Application,
    Call,
    Conference,
    IncomingNumber,
    LogEntry,
    Message,
    Participant,
    Queue,
    QueueMember,
)
from percl.engine.ports import (
    CallFilter,
    ConferenceFilter,
    LogFilter,
    MessageFilter,
    ParticipantFilter,
    Store,
)
from percl.store import schema
from percl.store.memory import MemoryStore
from percl.store.sqlite import SqliteStore

Op = tuple[str, tuple[Any, ...]]
F = TypeVar("F")


def pool(prefix: str, n: int = 3) -> st.SearchStrategy[str]:
    return st.sampled_from([f"{prefix}{i}" for i in range(n)])


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def sparse(cls: type[F], **fields: st.SearchStrategy[Any]) -> st.SearchStrategy[F]:
    """Filters with at most two fields set: with more, almost nothing matches and a wrong
    comparison (< for <=) goes unseen."""
    chosen = st.lists(st.sampled_from(sorted(fields)), max_size=2, unique=True)
    return chosen.flatmap(lambda names: st.fixed_dictionaries({n: fields[n] for n in names})).map(
        lambda kwargs: cls(**kwargs))


ACCT = st.sampled_from(["AC0", "AC0", "AC1"])  # mostly one account, so reads find records
APP = pool("AP")
CALL_ID = pool("CA", 4)
CONF = pool("CF", 2)
QUEUE_ID = pool("QU", 2)
NUM = st.sampled_from(["+15550000001", "+15550000002", "+15550000003"])
ALIAS = maybe(st.sampled_from(["a", "b"]))
TIME = st.sampled_from([0.0, 1.0, 2.0])
TEXT = st.text(max_size=4)

JSON_LEAF = (st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from([0.5, -1.25, 1e16])
             | TEXT | st.just(Path("/x")))  # Path: JSON cannot encode it, so it is stored as str()
METADATA = st.dictionaries(
    st.sampled_from(["a", "b", "c"]),
    st.recursive(JSON_LEAF, lambda inner: (
        st.lists(inner, max_size=2) | st.lists(inner, max_size=2).map(tuple)
        | st.dictionaries(st.sampled_from(["x", "y"]) | st.integers(0, 1), inner, max_size=2)),
        max_leaves=4),
    max_size=3)

ACCOUNTS = st.builds(Account, account_id=ACCT, api_key=TEXT, signing_secret=TEXT, alias=ALIAS,
                     type=st.sampled_from(AccountType), status=st.sampled_from(AccountStatus),
                     date_created=TIME, date_updated=TIME, revision=st.integers(1, 3))
APPLICATIONS = st.builds(Application, application_id=APP, account_id=ACCT, alias=ALIAS,
                         voice_url=maybe(TEXT), sms_url=maybe(TEXT), date_created=TIME)
NUMBERS = st.builds(IncomingNumber, phone_number_id=pool("PN"), account_id=ACCT, phone_number=NUM,
                    application_id=maybe(APP), alias=ALIAS, voice_enabled=st.booleans(),
                    toll_free=st.booleans(), date_created=TIME)
CALLS = st.builds(Call, call_id=CALL_ID, account_id=ACCT, from_=NUM, to=NUM,
                  direction=st.sampled_from(CallDirection), status=st.sampled_from(CallStatus),
                  application_id=maybe(APP), parent_call_id=maybe(CALL_ID),
                  answered_by=maybe(st.sampled_from(AnsweredBy)),
                  call_ended_reason=maybe(st.sampled_from(CallEndedReason)),
                  start_time=maybe(TIME), connect_time=maybe(TIME), end_time=maybe(TIME),
                  date_created=TIME, date_updated=TIME, revision=st.integers(1, 3),
                  timeout_s=st.integers(1, 60), privacy_mode=st.booleans())
CALL_FILTERS = sparse(CallFilter, active=st.just(True), to=NUM, from_=NUM,
                      status=st.sampled_from(CallStatus), start_time_from=TIME, end_time_to=TIME,
                      parent_call_id=CALL_ID,
                      application_ids=st.lists(APP, min_size=1, max_size=2).map(tuple))
CONFERENCES = st.builds(Conference, conference_id=CONF, account_id=ACCT, alias=ALIAS,
                        play_beep=st.sampled_from(PlayBeep), record=st.booleans(),
                        status=st.sampled_from(ConferenceStatus), date_created=TIME, date_updated=TIME)
CONFERENCE_FILTERS = sparse(ConferenceFilter, status=st.sampled_from(ConferenceStatus), alias=ALIAS,
                            created_from=TIME, created_to=TIME, updated_from=TIME, updated_to=TIME)
PARTICIPANTS = st.builds(Participant, conference_id=CONF, call_id=CALL_ID, account_id=ACCT,
                         talk=st.booleans(), listen=st.booleans(), dtmf_pass_through=st.booleans(),
                         date_created=TIME)
PARTICIPANT_FILTERS = sparse(ParticipantFilter, talk=st.booleans(), listen=st.booleans(),
                             dtmf_pass_through=st.booleans())
QUEUES = st.builds(Queue, queue_id=QUEUE_ID, account_id=ACCT, alias=ALIAS, max_size=st.integers(1, 9),
                   removed_total_s=st.sampled_from([0.0, 2.5]), date_created=TIME)
MEMBERS = st.builds(QueueMember, queue_id=QUEUE_ID, call_id=CALL_ID, account_id=ACCT,
                    date_enqueued=st.sampled_from([1.0, 2.0]), seq=st.integers(0, 1), wait_url=maybe(TEXT))
MESSAGES = st.builds(Message, message_id=pool("SM"), account_id=ACCT, from_=NUM, to=NUM, text=TEXT,
                     direction=st.sampled_from(MessageDirection), status=st.sampled_from(MessageStatus),
                     media_urls=st.lists(st.sampled_from(["http://a", "http://b"]), max_size=2).map(tuple),
                     segment_count=st.integers(1, 3), date_created=TIME)
MESSAGE_FILTERS = sparse(MessageFilter, to=NUM, from_=NUM, begin=TIME, end=TIME,
                         direction=st.sampled_from(MessageDirection))
LOGS = st.builds(LogEntry, timestamp=st.integers(1, 3), level=st.sampled_from(LogLevel), account_id=ACCT,
                 message=TEXT, request_id=maybe(pool("RQ")), call_id=maybe(CALL_ID), metadata=METADATA)
LOG_FILTERS = sparse(LogFilter, call_id=CALL_ID, level=st.sampled_from(LogLevel))

# Every Store method but open/close, by table, with strategies for its arguments. An example works
# on one table, so its operations meet each other; writes are drawn twice as often as reads.
WRITES: dict[str, dict[str, st.SearchStrategy[tuple[Any, ...]]]] = {
    "accounts": {"put_account": st.tuples(ACCOUNTS)},
    "applications": {"put_application": st.tuples(APPLICATIONS), "delete_application": st.tuples(APP)},
    "numbers": {"put_number": st.tuples(NUMBERS), "delete_number": st.tuples(pool("PN"))},
    "calls": {"put_call": st.tuples(CALLS)},
    "conferences": {"put_conference": st.tuples(CONFERENCES)},
    "participants": {"put_participant": st.tuples(PARTICIPANTS),
                     "delete_participant": st.tuples(CONF, CALL_ID)},
    "queues": {"put_queue": st.tuples(QUEUES)},
    "queue_members": {"put_member": st.tuples(MEMBERS), "delete_member": st.tuples(CALL_ID)},
    "messages": {"put_message": st.tuples(MESSAGES)},
    "logs": {"add_log": st.tuples(LOGS)},
}
READS: dict[str, dict[str, st.SearchStrategy[tuple[Any, ...]]]] = {
    "accounts": {"get_account": st.tuples(ACCT), "list_accounts": st.just(())},
    "applications": {"get_application": st.tuples(APP), "list_applications": st.tuples(ACCT, ALIAS)},
    "numbers": {"get_number": st.tuples(pool("PN")), "find_number": st.tuples(NUM),
                "list_numbers": st.tuples(ACCT)},
    "calls": {"get_call": st.tuples(CALL_ID), "list_calls": st.tuples(ACCT, CALL_FILTERS),
              "list_calls_page": st.tuples(ACCT, CALL_FILTERS, st.integers(-1, 4), maybe(st.integers(-1, 3))),
              "count_calls": st.tuples(ACCT, CALL_FILTERS), "live_calls": st.just(())},
    "conferences": {"get_conference": st.tuples(CONF),
                    "list_conferences": st.tuples(ACCT, CONFERENCE_FILTERS)},
    "participants": {"get_participant": st.tuples(CONF, CALL_ID),
                     "list_participants": st.tuples(CONF, PARTICIPANT_FILTERS)},
    "queues": {"get_queue": st.tuples(QUEUE_ID), "list_queues": st.tuples(ACCT, ALIAS)},
    "queue_members": {"get_member": st.tuples(CALL_ID), "list_members": st.tuples(QUEUE_ID)},
    "messages": {"get_message": st.tuples(pool("SM")), "list_messages": st.tuples(ACCT, MESSAGE_FILTERS)},
    "logs": {"list_logs": st.tuples(ACCT, LOG_FILTERS)},
}
# Read at the end of every example, so a difference left in the state shows even when no drawn
# operation happened to read it.
FINAL: dict[str, list[Op]] = {
    "accounts": [("list_accounts", ())],
    "applications": [("list_applications", (a, None)) for a in ("AC0", "AC1")],
    "numbers": [("list_numbers", (a,)) for a in ("AC0", "AC1")],
    "calls": [("live_calls", ())] + [("list_calls", (a, CallFilter())) for a in ("AC0", "AC1")],
    "conferences": [("list_conferences", (a, ConferenceFilter())) for a in ("AC0", "AC1")],
    "participants": [("list_participants", (c, ParticipantFilter())) for c in ("CF0", "CF1")],
    "queues": [("list_queues", (a, None)) for a in ("AC0", "AC1")],
    "queue_members": [("list_members", (q,)) for q in ("QU0", "QU1")],
    "messages": [("list_messages", (a, MessageFilter())) for a in ("AC0", "AC1")],
    "logs": [("list_logs", (a, LogFilter())) for a in ("AC0", "AC1")],
}
assert set(WRITES) == set(READS) == set(FINAL)
# Every Store method (list_calls twice: with and without a page).
assert sum(map(len, WRITES.values())) + sum(map(len, READS.values())) == 37


def operations(table: str) -> st.SearchStrategy[Op]:
    writes = [st.tuples(st.just(name), args) for name, args in WRITES[table].items()]
    reads = [st.tuples(st.just(name), args) for name, args in READS[table].items()]
    return st.one_of(writes + writes + reads)


async def play(store: Store, ops: Sequence[Op]) -> list[object]:
    """Each operation's result (lists as lists), or ("raised", the error's class name)."""
    results: list[object] = []
    for name, args in ops:
        try:
            if name == "list_calls_page":
                account_id, flt, offset, limit = args
                result = await store.list_calls(account_id, flt, offset=offset, limit=limit)
            else:
                result = await getattr(store, name)(*args)
        except Exception as exc:  # the same class must come out of both stores
            result = ("raised", type(exc).__name__)
        results.append(list(result) if isinstance(result, list) else result)
    return results


async def empty(store: SqliteStore, table: str) -> None:
    """Delete every row of `table`, so one open SqliteStore serves every example (opening one
    costs ~17 ms, more than an example)."""
    conn = store._require()  # the test reaches in: the Store protocol has no "delete everything"
    await conn.execute(schema.metadata.tables[table].delete())
    store.invalidate_cache()  # SqliteStore caches accounts, applications and numbers
    store.invalidate_cache()  # the rows went behind the store's back (its cache assumes otherwise)


@pytest.fixture(scope="module")
def sqlite_on_a_loop() -> Iterator[tuple[asyncio.AbstractEventLoop, SqliteStore]]:
    loop = asyncio.new_event_loop()
    store = SqliteStore.for_path(":memory:")
    loop.run_until_complete(store.open())
    yield loop, store
    loop.run_until_complete(store.close())
    loop.close()


@pytest.mark.parametrize("table", sorted(WRITES))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_operations_give_the_same_results(
    sqlite_on_a_loop: tuple[asyncio.AbstractEventLoop, SqliteStore], table: str, data: st.DataObject
) -> None:
    loop, sqlite = sqlite_on_a_loop
    ops = data.draw(st.lists(operations(table), min_size=4, max_size=24), label="operations")
    everything = [*ops, *FINAL[table]]
    memory = MemoryStore()
    loop.run_until_complete(memory.open())
    loop.run_until_complete(empty(sqlite, table))
    expected = loop.run_until_complete(play(sqlite, everything))
    got = loop.run_until_complete(play(memory, everything))
    for op, want, have in zip(everything, expected, got, strict=True):
        assert have == want, f"{op[0]}{op[1]!r}: sqlite {want!r}, memory {have!r}"


def test_the_comparison_sees_a_difference(
    sqlite_on_a_loop: tuple[asyncio.AbstractEventLoop, SqliteStore],
) -> None:
    # The property must be able to fail: a store that forgets calls is caught.
    class Forgetful(MemoryStore):
        async def put_call(self, call: Call) -> None:
            return None

    loop, sqlite = sqlite_on_a_loop
    ops: list[Op] = [("put_call", (Call("CA0", "AC0", "+1", "+2", CallDirection.INBOUND),)),
                     ("get_call", ("CA0",))]
    forgetful = Forgetful()
    loop.run_until_complete(forgetful.open())
    loop.run_until_complete(empty(sqlite, "calls"))
    assert loop.run_until_complete(play(sqlite, ops)) != loop.run_until_complete(play(forgetful, ops))
