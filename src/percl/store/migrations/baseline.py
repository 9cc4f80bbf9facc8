"""Schema 10 frozen: the tables as percl stored them when schema migrations moved to Alembic.

The baseline revision (versions/0001_baseline.py) creates these, and `bring_to_baseline` brings a
database an older percl made (schema_version 1..9 in its `schema_version` table) to them with the
upgrade steps percl used before Alembic. Never edit this file: a change of schema is a new revision
(docs/ARCHITECTURE.md, "Where a change goes: a schema change"); store/schema.py is the newest shape.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    inspect,
    select,
)

#: The `schema_version` this module's tables are.
VERSION = 10

metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("api_key", String, nullable=False),
    Column("signing_secret", String, nullable=False),
    Column("alias", String),
    Column("label", String),
    Column("type", String, nullable=False),
    Column("status", String, nullable=False),
    Column("date_created", Float, nullable=False),
    Column("date_updated", Float, nullable=False),
    Column("revision", Integer, nullable=False),
)

applications = Table(
    "applications",
    metadata,
    Column("application_id", String, primary_key=True),
    Column("account_id", String, nullable=False),
    Column("alias", String),
    Column("voice_url", String),
    Column("voice_fallback_url", String),
    Column("call_connect_url", String),
    Column("status_callback_url", String),
    Column("sms_url", String),
    Column("sms_fallback_url", String),
    Column("date_created", Float, nullable=False),
    Column("date_updated", Float, nullable=False),
    Column("revision", Integer, nullable=False),
    Index("ix_applications_account", "account_id"),
)

numbers = Table(
    "numbers",
    metadata,
    Column("phone_number_id", String, primary_key=True),
    Column("account_id", String, nullable=False),
    Column("phone_number", String, nullable=False),
    Column("application_id", String),
    Column("alias", String),
    Column("region", String),
    Column("country", String),
    Column("voice_enabled", Boolean, nullable=False),
    Column("sms_enabled", Boolean, nullable=False),
    Column("toll_free", Boolean, nullable=False),
    Column("date_created", Float, nullable=False),
    Column("date_updated", Float, nullable=False),
    Column("revision", Integer, nullable=False),
    Index("ux_numbers_phone_number", "phone_number", unique=True),
    Index("ix_numbers_account", "account_id"),
)

calls = Table(
    "calls",
    metadata,
    Column("call_id", String, primary_key=True),
    Column("account_id", String, nullable=False),
    Column("from_number", String, nullable=False),
    Column("to_number", String, nullable=False),
    Column("direction", String, nullable=False),
    Column("status", String, nullable=False),
    Column("application_id", String),
    Column("parent_call_id", String),
    Column("phone_number_id", String),
    Column("answered_by", String),
    Column("caller_name", String),
    Column("call_ended_reason", String),
    Column("conference_id", String),
    Column("queue_id", String),
    Column("request_id", String),
    Column("start_time", Float),
    Column("connect_time", Float),
    Column("end_time", Float),
    Column("date_created", Float, nullable=False),
    Column("date_updated", Float, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("call_connect_url", String),
    Column("status_callback_url", String),
    Column("if_machine", String),
    Column("if_machine_url", String),
    Column("send_digits", String),
    Column("timeout_s", Integer, nullable=False),
    Column("privacy_mode", Boolean, nullable=False),
    Column("audio_stream_ms", Integer, nullable=False, server_default="0"),
    # "false", not "0": PostgreSQL refuses an integer default for a boolean column.
    Column("web_rtc", Boolean, nullable=False, server_default="false"),
    Index("ix_calls_account_created", "account_id", "date_created"),
    Index("ix_calls_status", "status"),
)

logs = Table(
    "logs",
    metadata,
    # INTEGER PRIMARY KEY is SQLite's rowid: it gives "insertion order" for the newest-first sort.
    Column("log_id", Integer, primary_key=True, autoincrement=True),
    Column("timestamp", BigInteger, nullable=False),
    Column("level", String, nullable=False),
    Column("account_id", String, nullable=False),
    Column("message", Text, nullable=False),
    Column("request_id", String),
    Column("call_id", String),
    Column("metadata", Text, nullable=False),
    # Both end in the rowid (log_id), so either is the whole newest-first keyset order.
    Index("ix_logs_account_timestamp", "account_id", "timestamp"),
    Index("ix_logs_call_timestamp", "call_id", "timestamp"),
)


conferences = Table(
    "conferences",
    metadata,
    Column("conference_id", String, primary_key=True),
    Column("account_id", String, nullable=False),
    Column("alias", String),
    Column("play_beep", String, nullable=False),
    Column("record", Boolean, nullable=False),
    Column("status", String, nullable=False),
    Column("wait_url", String),
    Column("action_url", String),
    Column("status_callback_url", String),
    Column("request_id", String),
    Column("date_created", Float, nullable=False),
    Column("date_updated", Float, nullable=False),
    Column("revision", Integer, nullable=False),
    Index("ix_conferences_account_created", "account_id", "date_created"),
)

participants = Table(
    "participants",
    metadata,
    Column("conference_id", String, primary_key=True),
    Column("call_id", String, primary_key=True),
    Column("account_id", String, nullable=False),
    Column("talk", Boolean, nullable=False),
    Column("listen", Boolean, nullable=False),
    Column("dtmf_pass_through", Boolean, nullable=False),
    Column("start_conf_on_enter", Boolean, nullable=False),
    Column("allow_call_control", Boolean, nullable=False),
    Column("call_control_sequence", String),
    Column("call_control_url", String),
    Column("leave_conference_url", String),
    Column("notification_url", String),
    Column("date_created", Float, nullable=False),
    Column("date_updated", Float, nullable=False),
    Column("revision", Integer, nullable=False),
    Index("ix_participants_call", "call_id"),
)

queues = Table(
    "queues",
    metadata,
    Column("queue_id", String, primary_key=True),
    Column("account_id", String, nullable=False),
    Column("alias", String),
    Column("max_size", Integer, nullable=False),
    Column("removed_count", Integer, nullable=False),
    Column("removed_total_s", Float, nullable=False),
    Column("dequeued_count", Integer, nullable=False),
    Column("dequeued_total_s", Float, nullable=False),
    Column("date_created", Float, nullable=False),
    Column("date_updated", Float, nullable=False),
    Column("revision", Integer, nullable=False),
    Index("ix_queues_account_created", "account_id", "date_created"),
)

queue_members = Table(
    "queue_members",
    metadata,
    Column("call_id", String, primary_key=True),  # a call waits in at most one queue
    Column("queue_id", String, nullable=False),
    Column("account_id", String, nullable=False),
    Column("date_enqueued", Float, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("wait_url", String),
    Column("action_url", String),
    Column("notification_url", String),
    # The order members were first stored in: the tie-breaker after (date_enqueued, seq). Set by
    # the upsert on insert (one more than the largest), kept by its update (sql/queues.py).
    Column("inserted", BigInteger, nullable=False, server_default="0"),
    Index("ix_queue_members_queue", "queue_id", "date_enqueued", "seq"),
)

messages = Table(
    "messages",
    metadata,
    Column("message_id", String, primary_key=True),
    Column("account_id", String, nullable=False),
    Column("from_number", String, nullable=False),
    Column("to_number", String, nullable=False),
    Column("text", Text, nullable=False),
    Column("direction", String, nullable=False),
    Column("status", String, nullable=False),
    Column("notification_url", String),
    Column("application_id", String),
    Column("phone_number_id", String),
    Column("call_id", String),
    Column("segment_count", Integer, nullable=False),
    Column("media_urls", Text, nullable=False),
    Column("request_id", String),
    Column("date_created", Float, nullable=False),
    Column("date_updated", Float, nullable=False),
    Column("revision", Integer, nullable=False),
    Index("ix_messages_account_created", "account_id", "date_created"),
)

blobs = Table(
    "blobs",
    metadata,
    Column("blob_id", String, primary_key=True),
    Column("account_id", String, nullable=False),
    Column("alias", String, nullable=False),
    Column("content", Text, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("date_created", Float, nullable=False),
    Column("date_updated", Float, nullable=False),
    Column("revision", Integer, nullable=False),
    Index("ux_blobs_account_alias", "account_id", "alias", unique=True),
    Index("ix_blobs_expires_at", "expires_at"),
)

exports = Table(
    "exports",
    metadata,
    Column("export_id", String, primary_key=True),
    Column("account_id", String, nullable=False),
    Column("resource_type", String, nullable=False),
    Column("fields", Text, nullable=False),  # JSON list
    Column("query", Text, nullable=False),  # JSON object
    Column("status", String, nullable=False),
    Column("size", Integer, nullable=False),
    Column("date_created", Float, nullable=False),
    Column("date_updated", Float, nullable=False),
    Column("revision", Integer, nullable=False),
    Index("ix_exports_account_created", "account_id", "date_created"),
)

# Which worker owns a leg (or itself: kind "worker"), until when (engine/ports/leases.py).
leases = Table(
    "leases",
    metadata,
    Column("kind", String, primary_key=True),
    Column("key", String, primary_key=True),
    Column("owner", String, nullable=False),
    Column("expires_at", Float, nullable=False),
    Index("ix_leases_owner", "owner"),
    Index("ix_leases_expires_at", "expires_at"),
)

# Recordings' metadata (issue 13); the audio is a RecordingFiles port's file of the same id.
recordings = Table(
    "recordings",
    metadata,
    Column("recording_id", String, primary_key=True),
    Column("account_id", String, nullable=False),
    Column("call_id", String, nullable=True),
    Column("conference_id", String, nullable=True),
    Column("duration_sec", Integer, nullable=False),
    Column("date_created", Float, nullable=False),
    Column("date_updated", Float, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("size", Integer, nullable=False),
    Index("ix_recordings_account_created", "account_id", "date_created"),
    Index("ix_recordings_call", "call_id"),
    Index("ix_recordings_conference", "conference_id"),
    Index("ix_recordings_created", "date_created"),
)

# Rates several workers share (engine/ports/limits.py): a key's GCRA "theoretical arrival time";
# a row whose tat has passed is back at its full allowance (swept).
rates = Table(
    "rates",
    metadata,
    Column("key", String, primary_key=True),
    Column("tat", Float, nullable=False),
    Index("ix_rates_tat", "tat"),
)


# ------------------------------------------------------------------ from schema_version 1..9 to 10
# 1: accounts, applications, numbers, calls, logs. 2: + conferences, participants, queues,
# queue_members, messages (new tables only). 3: logs' ix_logs_call (call_id) became
# ix_logs_call_timestamp (call_id, timestamp) (STATEMENTS). 4: + blobs, exports. 5: queue_members
# + inserted (ADDED_COLUMNS). 6: + leases. 7: + recordings. 8: + rates. 9: calls + audio_stream_ms.
# 10: calls + web_rtc. New tables come from create_all (it creates the missing ones only).

#: SQL that brings a database of each older version up to the next (idempotent statements).
STATEMENTS: dict[int, tuple[str, ...]] = {
    2: (
        "DROP INDEX IF EXISTS ix_logs_call",
        "CREATE INDEX IF NOT EXISTS ix_logs_call_timestamp ON logs (call_id, timestamp)",
    ),
}

#: Columns the step from each older version adds to a table that exists (each one that is
#: missing, as `column NOT NULL DEFAULT server_default`).
ADDED_COLUMNS: dict[int, tuple[tuple[str, str], ...]] = {
    4: (("queue_members", "inserted"),),
    8: (("calls", "audio_stream_ms"),),
    9: (("calls", "web_rtc"),),
}


def legacy_version(conn: Connection) -> int | None:
    """The `schema_version` a database records (None: no such table, or no row in it)."""
    if not inspect(conn).has_table(schema_version.name):
        return None
    found = conn.execute(select(schema_version.c.version)).scalar()
    return None if found is None else int(found)


def bring_to_baseline(conn: Connection) -> None:
    """Create the missing tables of schema 10 and run the steps from the version the database
    records (if any) to 10, then record 10. Idempotent: a database at 10 is left as it is, and a
    step cut short is finished (every statement checks first). The caller commits."""
    found = legacy_version(conn)
    metadata.create_all(conn)
    if found is None:
        conn.execute(schema_version.insert().values(version=VERSION))
        return
    for version in range(found, VERSION):
        for statement in STATEMENTS.get(version, ()):
            conn.exec_driver_sql(statement)
        for table, column in ADDED_COLUMNS.get(version, ()):
            _add_column(conn, metadata.tables[table].c[column])
    if found < VERSION:
        conn.execute(schema_version.update().values(version=VERSION))


def _add_column(conn: Connection, column: Column[Any]) -> None:
    """ALTER TABLE ... ADD COLUMN for `column` unless the table has it already (so a step cut
    short is finished on the next start: SQLite has no ADD COLUMN IF NOT EXISTS)."""
    table = column.table.name
    if column.name in {c["name"] for c in inspect(conn).get_columns(table)}:
        return
    kind = column.type.compile(dialect=conn.dialect)
    default = getattr(column.server_default, "arg", None)
    if not isinstance(default, str):
        raise TypeError(f"{table}.{column.name}: an added column needs a text server_default")
    conn.exec_driver_sql(
        f"ALTER TABLE {table} ADD COLUMN {column.name} {kind} NOT NULL DEFAULT {default}")
