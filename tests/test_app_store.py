"""PERCL_DB picks the store: "memory://" is MemoryStore (nothing kept), anything else SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from percl.app import Platform, store_for
from percl.cli.connection import credentials_file
from percl.config import MEMORY_DB, from_sources
from percl.store.memory import MemoryStore
from percl.store.sqlite import SqliteStore


def test_memory_url_selects_memory_store() -> None:
    assert MEMORY_DB == "memory://"
    assert isinstance(store_for("memory://"), MemoryStore)


@pytest.mark.parametrize("name", [":memory:", "percl.db", "memory"])
def test_anything_else_is_sqlite(name: str, tmp_path: Path) -> None:
    db = name if name == ":memory:" else str(tmp_path / name)  # "memory" is a file called so
    store = store_for(db)
    assert isinstance(store, SqliteStore)
    assert store.url.endswith(db)


async def test_a_platform_on_memory_seeds_its_account_there() -> None:
    settings = from_sources({"PERCL_DB": "memory://"})
    async with Platform(settings, probe_media=False) as platform:
        assert isinstance(platform.store, MemoryStore)
        account = await platform.store.get_account(platform.account.account_id)
        assert account == platform.account


def test_credentials_live_in_percl_home_whatever_the_database() -> None:
    env = {"PERCL_HOME": "/srv/percl-home", "PERCL_DB": "memory://"}
    assert credentials_file(env) == Path("/srv/percl-home/credentials.json")
    assert credentials_file({**env, "PERCL_DB": "a/b.db"}) == credentials_file(env)
