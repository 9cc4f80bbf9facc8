"""OwnRecordingsFetcher: percl's own recordingUrls are read from the library, others pass on."""

from __future__ import annotations

import pytest

from percl.domain.ids import SequentialIds
from percl.engine.ports import Fetched
from percl.engine.recordings import OwnRecordingsFetcher, RecordingLibrary, recording_url
from percl.store.memory import MemoryStore
from percl.testing import FakeClock

API = "http://127.0.0.1:8080/apiserver"
ACCOUNT = "AC" + "1" * 40


class _Files:
    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def put(self, recording_id: str, data: bytes) -> int:
        self.data[recording_id] = data
        return len(data)

    def open(self, recording_id: str):  # type: ignore[no-untyped-def]
        import io

        return io.BytesIO(self.data[recording_id]) if recording_id in self.data else None

    def delete(self, recording_id: str) -> None:
        self.data.pop(recording_id, None)

    def size(self, recording_id: str) -> int | None:
        return len(self.data[recording_id]) if recording_id in self.data else None

    def ids(self) -> list[str]:
        return list(self.data)


class _Elsewhere:
    def __init__(self) -> None:
        self.urls: list[str] = []

    async def fetch(self, url: str, *, max_bytes: int | None = None) -> Fetched:
        self.urls.append(url)
        return Fetched(url, 200, b"other")


@pytest.fixture
async def parts() -> tuple[OwnRecordingsFetcher, RecordingLibrary, _Elsewhere]:
    store = MemoryStore()
    await store.open()
    library = RecordingLibrary(store, _Files(), FakeClock(), SequentialIds())
    elsewhere = _Elsewhere()
    return OwnRecordingsFetcher(elsewhere, library, API), library, elsewhere


async def test_an_own_recording_url_is_read_from_the_library(parts: tuple) -> None:  # type: ignore[type-arg]
    fetcher, library, elsewhere = parts
    saved = await library.save(library.new_id(), ACCOUNT, b"RIFF-wav-bytes", 1000, call_id="CA1")
    assert saved is not None
    url = recording_url(API, saved)
    for wanted in (url, url.replace("/Download", "/Stream")):
        got = await fetcher.fetch(wanted)
        assert (got.status, got.body, got.content_type) == (200, b"RIFF-wav-bytes", "audio/wav")
        assert got.ok and got.size == 14 and got.cache_control == "no-store"
    head = await fetcher.fetch(url, max_bytes=4)
    assert (head.body, head.truncated, head.size, head.reached) == (b"RIFF", True, 14, True)
    assert elsewhere.urls == []


async def test_another_account_or_a_deleted_recording_is_not_found(parts: tuple) -> None:  # type: ignore[type-arg]
    fetcher, library, elsewhere = parts
    saved = await library.save(library.new_id(), ACCOUNT, b"wav", 10, call_id="CA1")
    assert saved is not None
    url = recording_url(API, saved)
    other = url.replace(ACCOUNT, "AC" + "2" * 40)
    assert (await fetcher.fetch(other)).status == 404
    await library.delete(saved)
    gone = await fetcher.fetch(url)
    assert gone.status == 404 and not gone.ok and gone.error
    assert elsewhere.urls == []


async def test_other_urls_go_to_the_platform_fetcher(parts: tuple) -> None:  # type: ignore[type-arg]
    fetcher, _, elsewhere = parts
    urls = ["http://app.test/hello.wav",
            "http://other.host:8080/apiserver/Accounts/AC1/Recordings/RE1/Download",
            f"{API}/Accounts/AC1/Recordings/RE1",  # the metadata, not the file
            f"{API}/Accounts/AC1/Calls/CA1"]
    for url in urls:
        assert (await fetcher.fetch(url)).body == b"other"
    assert elsewhere.urls == urls
