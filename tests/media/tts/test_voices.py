"""Every language FreeClimb's Say accepts is spoken by an espeak-ng voice the library really has."""

from __future__ import annotations

import espeakng_loader
import pytest

from percl.media.tts import VOICES, EspeakSynthesizer, canonical_language, voice_for
from percl.media.tts.espeak import LibraryRenderer
from percl.percl.commands.base import LANGUAGES
from tests.media.tts.support import seconds


def test_the_map_covers_exactly_freeclimbs_say_languages() -> None:
    assert sorted(VOICES) == sorted(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_language_has_a_voice_the_wheel_speaks(language: str) -> None:
    voice, fell_back = voice_for(language)
    assert not fell_back
    library = LibraryRenderer.load(espeakng_loader.get_library_path(), espeakng_loader.get_data_path())
    samples, rate = library.render("1 2 3", voice)  # digits: every voice reads them in its language
    assert len(samples) / rate > 0.5


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_synthesizer_honours_each_language(language: str) -> None:
    speech = EspeakSynthesizer(program=None).synthesize("1 2 3", language)
    assert (speech.language, speech.fell_back, speech.voice) == (language, False, VOICES[language])
    assert seconds(speech.pcm) > 0.5


def test_languages_match_case_insensitively_and_none_is_en_us() -> None:
    assert voice_for("EN-gb") == voice_for("en-GB") == ("en-gb-x-rp", False)
    assert voice_for("pt_br") == ("pt-br", False)
    assert voice_for(None) == ("en-us", False)
    assert canonical_language("zh-hk") == "zh-HK" and canonical_language(None) == "en-US"


@pytest.mark.parametrize("language", ["hi-IN", "xx", "", "english"])
def test_a_language_without_a_voice_falls_back_to_en_us(language: str) -> None:
    assert voice_for(language) == ("en-us", True)
    speech = EspeakSynthesizer(program=None).synthesize("Hello", language)
    assert (speech.voice, speech.language, speech.fell_back) == ("en-us", "en-US", True)
    assert seconds(speech.pcm) > 0.2


def test_regional_voices_differ_where_espeak_has_them() -> None:
    assert len({VOICES["en-US"], VOICES["en-GB"]}) == 2
    assert len({VOICES["es-ES"], VOICES["es-MX"]}) == 2
    assert len({VOICES["pt-PT"], VOICES["pt-BR"]}) == 2
    assert len({VOICES["zh-CN"], VOICES["zh-HK"]}) == 2
