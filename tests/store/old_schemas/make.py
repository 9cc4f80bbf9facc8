"""Makes the old-schema fixtures beside this file (run once; the output is committed).

Each fixture is a database whose schema an older percl created, exported from git
(`git archive <commit> src`), holding the sample records of tests/store/samples.py (each row
cut to the columns that version had). test_migrations.py loads each and opens it with today's
store: the rows must survive the upgrade to the head revision.

    git archive 41b3673 src | tar -x -C /tmp/v1     # schema_version 1 (the first store)
    git archive 98b0538 src | tar -x -C /tmp/v9     # schema_version 9 (the last before web_rtc)
    git archive bceeb98 src | tar -x -C /tmp/v5     # schema_version 5 (the first PostgreSQL store)
    PYTHONPATH=. .venv/bin/python tests/store/old_schemas/make.py \
        v1=/tmp/v1/src v9=/tmp/v9/src pg-v5=/tmp/v5/src
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import create_async_engine

from percl.domain.enums import LogLevel
from percl.domain.records import LogEntry
from percl.store import schema
from tests import postgres
from tests.store import samples

HERE = Path(__file__).resolve().parent

#: The records each fixture holds (one row per table that the old version has).
ROWS: list[tuple[schema.RecordMap[Any], Any]] = [
    (schema.ACCOUNT_MAP, samples.ACCOUNT),
    (schema.APPLICATION_MAP, samples.APPLICATION),
    (schema.NUMBER_MAP, samples.NUMBER),
    (schema.CALL_MAP, samples.CALL),
    (schema.LOG_MAP, LogEntry(1_700_000_000_000_000, LogLevel.INFO, samples.AC1, "old line",
                              "RQ" + "1" * 40, samples.CALL.call_id, {"k": [1, "two"]})),
    (schema.CONFERENCE_MAP, samples.CONFERENCE),
    (schema.PARTICIPANT_MAP, samples.PARTICIPANT),
    (schema.QUEUE_MAP, samples.QUEUE),
    (schema.QUEUE_MEMBER_MAP, samples.MEMBER),
    (schema.MESSAGE_MAP, samples.MESSAGE),
]

_OLD_OPEN = """
import asyncio, sys
from percl.store.{module} import {cls}
async def main():
    store = {cls}(sys.argv[1])
    await store.open()
    await store.close()
asyncio.run(main())
"""


def _old_store_creates(src: str, module: str, cls: str, url: str) -> None:
    code = _OLD_OPEN.format(module=module, cls=cls)
    env = {**os.environ, "PYTHONPATH": src}
    subprocess.run([sys.executable, "-c", code, url], check=True, env=env)


def _fill(url: str) -> None:
    asyncio.run(_fill_async(url))


async def _fill_async(url: str) -> None:
    engine = create_async_engine(url)
    old = MetaData()
    async with engine.begin() as conn:
        await conn.run_sync(old.reflect)
        for record_map, record in ROWS:
            table = old.tables.get(record_map.table.name)
            if table is None:
                continue
            row = {k: v for k, v in record_map.to_row(record).items() if k in table.c}
            await conn.execute(table.insert().values(row))
    await engine.dispose()


def sqlite_fixture(name: str, src: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "old.db"
        _old_store_creates(src, "sqlite", "SqliteStore", f"sqlite+aiosqlite:///{file}")
        _fill(f"sqlite+aiosqlite:///{file}")
        with sqlite3.connect(file) as conn:
            dump = "\n".join(conn.iterdump())
    (HERE / f"{name}.sqlite.sql").write_text(dump + "\n")


def postgres_fixture(name: str, src: str) -> None:
    server = postgres.server()
    url = server.new_database()
    try:
        _old_store_creates(src, "postgres", "PostgresStore", url)
        _fill(url)
        dump = subprocess.run(
            [str(server.bin / "pg_dump"), "--inserts", "--no-owner", "--no-privileges",
             "--no-comments", "-h", "127.0.0.1", "-p", str(server.port), "-U", "percl",
             url.rsplit("/", 1)[1]], check=True, capture_output=True, text=True).stdout
    finally:
        postgres.stop()
    # Only the statements (no SETs, comments or search_path games): one per line group.
    keep = [s.strip() for s in dump.split(";\n")
            if s.strip() and not re.match(r"^(SET |SELECT pg_catalog.set_config)", _uncommented(s))]
    (HERE / f"{name}.postgresql.sql").write_text(
        "".join(_uncommented(s) + ";\n" for s in keep if _uncommented(s)))


def _uncommented(statement: str) -> str:
    return "\n".join(line for line in statement.strip().splitlines()
                     if line.strip() and not line.startswith(("--", "\\"))).strip()


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        name, src = argument.split("=", 1)
        if name.startswith("pg-"):
            postgres_fixture(name[3:], src)
        else:
            sqlite_fixture(name, src)
