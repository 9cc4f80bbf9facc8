"""The one normalisation grammar tokens and utterances share."""

from __future__ import annotations

import pytest

from percl.media.grammar import GrammarError
from percl.media.grammar.normalize import dtmf_grammar_words, dtmf_words, normalize_text, voice_words


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("  Hello,   WORLD!! ", "hello world"),
        ("Yes, ma'am.", "yes maam"),
        ("it\u2019s e-mail_address", "its e mail address"),
        ("Straße", "strasse"),
        ("", ""),
        ("?!...", ""),
    ],
)
def test_normalize_text(text: str, normalised: str) -> None:
    assert normalize_text(text) == normalised


def test_digit_runs_become_one_word_per_digit_keyed_by_numeral() -> None:
    words = voice_words("PIN 5512, oh nine")
    assert [w.key for w in words] == ["pin", "5", "5", "1", "2", "0", "9"]
    assert [w.display for w in words] == ["pin", "5", "5", "1", "2", "oh", "nine"]


def test_digits_glued_to_letters_are_split_from_them() -> None:
    assert [w.key for w in voice_words("room12b")] == ["room", "1", "2", "b"]


def test_other_scripts_digits_compare_as_ascii_digits() -> None:
    assert [w.key for w in voice_words("\u0664\u0662")] == ["4", "2"]


def test_dtmf_input_keeps_only_keypad_symbols() -> None:
    assert [w.key for w in dtmf_words(" 1 2*#ab x9")] == ["1", "2", "*", "#", "A", "B", "9"]


def test_dtmf_grammar_tokens_accept_spoken_key_names() -> None:
    keys = [w.key for w in dtmf_grammar_words("star 12 pound hash seven D")]
    assert keys == ["*", "1", "2", "#", "#", "7", "D"]
    with pytest.raises(GrammarError, match="'x1'"):
        dtmf_grammar_words("x1")
