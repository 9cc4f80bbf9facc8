"""Where a Platform keeps recordings (PERCL_RECORDINGS_DIR, beside the database, or a temporary
folder), its retention setting, and the start-up recovery that makes records and files agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from percl.app import Platform, recording_files_for
from percl.config import Settings, from_sources
from percl.errors import ConfigError
from percl.testing import FakeClock


def test_the_setting_wins_then_the_database_folder(tmp_path: Path) -> None:
    chosen = from_sources({"PERCL_RECORDINGS_DIR": str(tmp_path / "rec"), "PERCL_DB": "x.db",
                           "PERCL_RECORDING_RETENTION_DAYS": "30"})
    assert recording_files_for(chosen, store_given=False).root == tmp_path / "rec"
    assert chosen.recording_retention_days == 30.0
    beside = Settings(db=str(tmp_path / "data" / "percl.db"))
    assert recording_files_for(beside, store_given=False).root == tmp_path / "data" / "recordings"
    with pytest.raises(ConfigError, match="PERCL_RECORDING_RETENTION_DAYS"):
        from_sources({"PERCL_RECORDING_RETENTION_DAYS": "-1"})


async def test_a_restart_removes_what_a_crash_left_half_done(tmp_path: Path) -> None:
    settings = Settings(db=str(tmp_path / "percl.db"))
    async with Platform(settings, clock=FakeClock()) as platform:
        lib = platform.recordings
        account = platform.account.account_id
        kept = await lib.save(lib.new_id(), account, b"RIFF-kept", 1000, call_id="CA" + "1" * 40)
        lost = await lib.save(lib.new_id(), account, b"RIFF-lost", 1000, call_id="CA" + "1" * 40)
        assert kept is not None and lost is not None
    folder = tmp_path / "recordings"
    (folder / f"{lost.recording_id}.wav").unlink()  # a record whose file is gone
    (folder / "RE9.x.wav.part").write_bytes(b"half")  # a write a crash interrupted
    (folder / ("RE" + "9" * 40 + ".wav")).write_bytes(b"RIFF")  # a file whose record never came
    async with Platform(settings, clock=FakeClock()) as platform:
        assert sorted(p.name for p in folder.iterdir()) == [f"{kept.recording_id}.wav"]
        assert await platform.store.get_recording(lost.recording_id) is None
        assert await platform.store.get_recording(kept.recording_id) == kept
