"""The transcription engines: the HTTP one against a fake OpenAI-compatible server on 127.0.0.1,
the offline one (pocketsphinx, free-form) on real speech, and the settings that choose them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
from aiohttp import web

from percl.config import ConfigError, from_sources
from percl.engine.ports import TranscriptionFailed
from percl.media.audio.wav import wav_bytes
from percl.media.transcribe import HttpTranscriber, SphinxTranscriber, transcriber_for

WAV = wav_bytes([np.zeros(800, dtype=np.int16)])


class FakeWhisper:
    """POST /v1/audio/transcriptions as OpenAI's API and local Whisper servers answer it."""

    def __init__(self) -> None:
        self.forms: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.status = 200
        self.answer: Any = {"text": " call me back "}

    async def handle(self, request: web.Request) -> web.Response:
        form = await request.post()
        upload = form["file"]
        assert isinstance(upload, web.FileField)
        self.forms.append({"file": upload.file.read(), "filename": upload.filename,
                           "content_type": upload.content_type,
                           **{k: v for k, v in form.items() if k != "file"}})
        self.headers.append(dict(request.headers))
        if self.status != 200:
            return web.Response(status=self.status, text="model not loaded")
        return web.json_response(self.answer)


@pytest.fixture
async def whisper() -> AsyncIterator[tuple[FakeWhisper, str]]:
    fake = FakeWhisper()
    app = web.Application()
    app.router.add_post("/v1/audio/transcriptions", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield fake, f"http://127.0.0.1:{port}/v1/audio/transcriptions"
    await runner.cleanup()


async def test_the_http_engine_posts_the_wav_as_a_multipart_form(
        whisper: tuple[FakeWhisper, str]) -> None:
    fake, url = whisper
    text = await HttpTranscriber(url, "Systran/faster-whisper-small", "sk-local").transcribe(WAV)
    assert text == "call me back"
    [form] = fake.forms
    assert (form["file"], form["filename"], form["content_type"]) == (
        WAV, "recording.wav", "audio/wav")
    assert (form["model"], form["response_format"], form["language"]) == (
        "Systran/faster-whisper-small", "json", "en")
    assert fake.headers[0]["Authorization"] == "Bearer sk-local"


async def test_the_http_engine_fails_clearly(whisper: tuple[FakeWhisper, str]) -> None:
    fake, url = whisper
    fake.status = 503
    with pytest.raises(TranscriptionFailed, match="HTTP 503: model not loaded"):
        await HttpTranscriber(url).transcribe(WAV)
    fake.status, fake.answer = 200, {"segments": []}
    with pytest.raises(TranscriptionFailed, match="without a `text`"):
        await HttpTranscriber(url).transcribe(WAV)
    assert "Authorization" not in fake.headers[-1]
    with pytest.raises(TranscriptionFailed, match=r"127\.0\.0\.1:9"):
        await HttpTranscriber("http://127.0.0.1:9/v1/audio/transcriptions").transcribe(WAV)


async def test_pocketsphinx_transcribes_free_form_offline() -> None:
    from bench.speech import telephone_speech

    speech = np.concatenate([np.zeros(2400, dtype=np.int16), telephone_speech("hello"),
                             np.zeros(2400, dtype=np.int16)])
    text = await SphinxTranscriber().transcribe(wav_bytes([speech]))
    assert isinstance(text, str) and text  # free-form on espeak: words, not necessarily these
    assert await SphinxTranscriber().transcribe(wav_bytes([np.zeros(0, dtype=np.int16)])) == ""
    with pytest.raises(TranscriptionFailed, match="not a 16-bit mono WAV"):
        await SphinxTranscriber().transcribe(b"not a wav")


def test_the_settings_choose_the_engine() -> None:
    assert isinstance(transcriber_for(""), SphinxTranscriber)
    s = from_sources({"PERCL_TRANSCRIBE_URL": "http://127.0.0.1:8000/v1/audio/transcriptions",
                      "PERCL_TRANSCRIBE_MODEL": "base.en", "PERCL_TRANSCRIBE_API_KEY": "k"})
    engine = transcriber_for(s.transcribe_url, s.transcribe_model, s.transcribe_api_key)
    assert engine == HttpTranscriber("http://127.0.0.1:8000/v1/audio/transcriptions",
                                     "base.en", "k")
    assert "'k'" not in repr(s)  # the key is not shown with the settings
    with pytest.raises(ConfigError, match="PERCL_TRANSCRIBE_URL"):
        from_sources({"PERCL_TRANSCRIBE_URL": "whisper.local"})
    assert from_sources({"PERCL_PRIVACY_RECORDING_MINUTES": "5"}).privacy_recording_minutes == 5
    with pytest.raises(ConfigError, match="PERCL_PRIVACY_RECORDING_MINUTES"):
        from_sources({"PERCL_PRIVACY_RECORDING_MINUTES": "0"})
