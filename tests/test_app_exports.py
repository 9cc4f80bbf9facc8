"""Where a Platform writes export files (PERCL_EXPORTS_DIR, beside the database, or a temporary
folder that goes with the platform)."""

from __future__ import annotations

from pathlib import Path

from percl.app import Platform, export_files_for
from percl.config import Settings, from_sources
from percl.testing import FakeClock


def test_the_setting_wins_then_the_database_folder(tmp_path: Path) -> None:
    chosen = from_sources({"PERCL_EXPORTS_DIR": str(tmp_path / "out"), "PERCL_DB": "x.db"})
    assert export_files_for(chosen, store_given=False).root == tmp_path / "out"
    beside = Settings(db=str(tmp_path / "data" / "percl.db"))
    assert export_files_for(beside, store_given=False).root == tmp_path / "data" / "exports"


async def test_an_in_memory_platform_uses_a_temporary_folder_it_removes() -> None:
    platform = Platform(Settings(db="memory://"), clock=FakeClock())
    async with platform:
        root = platform.export_files.root
        assert root.is_dir() and root.name.startswith("percl-exports-")
    assert not root.exists()
