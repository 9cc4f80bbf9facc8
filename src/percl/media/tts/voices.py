"""Which espeak-ng voice speaks each of FreeClimb's Say languages.

Every language FreeClimb's Say accepts has a voice in espeak-ng 1.51 (Debian 12) and 1.52 (the
espeakng-loader wheel). Where espeak-ng has no voice for the region, the closest voice of the same
language speaks (en-AU and en-IN: British English, en-CA: American, fr-CA: French, zh-TW: Mandarin);
that is not a fall-back, as the words are still read in the asked language. A language outside the
list (the simulated network's phones may ask for anything) falls back to en-US.
"""

from __future__ import annotations

DEFAULT_LANGUAGE = "en-US"

#: FreeClimb language -> espeak-ng voice name (the voice file's name, as espeak_SetVoiceByName and
#: `espeak-ng -v` take it).
VOICES: dict[str, str] = {
    "ca-ES": "ca",
    "da-DK": "da",
    "de-DE": "de",
    "en-AU": "en",  # espeak-ng's "en" is British English; it has no Australian voice
    "en-CA": "en-us",
    "en-GB": "en-gb-x-rp",  # Received Pronunciation
    "en-IN": "en",
    "en-US": "en-us",
    "es-ES": "es",
    "es-MX": "es-419",  # Latin American Spanish
    "fi-FI": "fi",
    "fr-CA": "fr",  # espeak-ng has French (France, Belgium, Switzerland), no Canadian French
    "fr-FR": "fr",
    "it-IT": "it",
    "ja-JP": "ja",
    "ko-KR": "ko",
    "nb-NO": "nb",
    "nl-NL": "nl",
    "pl-PL": "pl",
    "pt-BR": "pt-br",
    "pt-PT": "pt",
    "ru-RU": "ru",
    "sv-SE": "sv",
    "zh-CN": "cmn",  # Mandarin
    "zh-HK": "yue",  # Cantonese
    "zh-TW": "cmn",  # Mandarin, as spoken in Taiwan
}
DEFAULT_VOICE = VOICES[DEFAULT_LANGUAGE]

_BY_LOWER = {language.lower(): language for language in VOICES}


def canonical_language(language: str | None) -> str | None:
    """FreeClimb's spelling of `language` (matched case-insensitively, "_" taken as "-"); None ->
    en-US; None when the language is not one Say speaks."""
    if language is None:
        return DEFAULT_LANGUAGE
    return _BY_LOWER.get(language.strip().replace("_", "-").lower())


def voice_for(language: str | None) -> tuple[str, bool]:
    """The espeak-ng voice for a FreeClimb language, and whether it fell back to en-US because the
    language has none. The caller logs the fall-back."""
    canonical = canonical_language(language)
    if canonical is None:
        return DEFAULT_VOICE, True
    return VOICES[canonical], False
