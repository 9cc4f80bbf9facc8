"""From grammar sentences to JSGF over dictionary words (pure: a dict stands in for CMUdict)."""

from __future__ import annotations

from percl.media.asr.jsgf import build_jsgf, dictionary_word, normalise, spelling

DICTIONARY = {"yes": "Y EH S", "no": "N OW", "that's": "DH AE T S", "right": "R AY T", "five": "F AY V",
              "one": "W AH N", "zero": "Z IH R OW", "please": "P L IY Z"}


def lookup(word: str) -> str | None:
    return DICTIONARY.get(word)


def test_phrases_are_normalised_like_the_matcher_with_digits_as_words() -> None:
    assert normalise("Five, 51 OH!") == ("five", "five", "one", "zero")
    assert normalise("That's right") == ("thats", "right")


def test_known_words_stay_and_apostrophes_come_back() -> None:
    assert dictionary_word("yes", lookup) == ("yes", None)
    assert dictionary_word("thats", lookup) == ("that's", None)


def test_unknown_ascii_words_are_spelled_and_others_dropped() -> None:
    assert dictionary_word("ibm", lookup) == ("ibm", "AY B IY EH M")
    assert dictionary_word("r2", lookup) == ("r2", "AA R T UW")
    assert dictionary_word("café", lookup) is None
    assert spelling("café") is None


def test_the_grammar_lists_each_sentence_once() -> None:
    vocabulary = build_jsgf(["yes please", "Yes, please", "that's right", "no ibm", "café"], lookup)
    assert vocabulary is not None
    assert vocabulary.jsgf.startswith("#JSGF V1.0;\ngrammar percl;\npublic <utterance> =")
    body = vocabulary.jsgf.split("=", 1)[1].rstrip().rstrip(";")
    assert [s.strip() for s in body.split("|")] == ["yes please", "that's right", "no ibm"]
    assert vocabulary.new_words == {"ibm": "AY B IY EH M"}


def test_nothing_left_to_recognise() -> None:
    assert build_jsgf([], lookup) is None
    assert build_jsgf(["café", "  ", "!!"], lookup) is None
