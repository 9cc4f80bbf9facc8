"""FreeClimb's builtin grammars as percl defines them (builtin.py's docstring is the contract)."""

from __future__ import annotations

import pytest

from percl.media.grammar import BUILTIN_NAMES, GrammarError, builtin_grammar


def said(name: str, utterance: str) -> tuple[bool, str]:
    r = builtin_grammar(name).recognize(utterance)
    return (r.matched, r.result)


def keyed(name: str, digits: str) -> tuple[bool, str]:
    r = builtin_grammar(name).recognize_dtmf(digits)
    return (r.matched, r.result)


def test_every_freeclimb_builtin_name_compiles_with_both_modes() -> None:
    assert set(BUILTIN_NAMES) == {
        "ALPHNUM6", "ANY_DIG", "UP_TO_20_DIGIT_SEQUENCE", "VERSAY_YESNO", *(f"DIG{n}" for n in range(1, 12)),
    }  # fmt: skip
    for name in BUILTIN_NAMES:
        assert builtin_grammar(name).modes == frozenset({"voice", "dtmf"})


def test_names_are_case_insensitive_and_unknown_ones_list_the_builtins() -> None:
    assert said("dig2", "4 2") == (True, "42")
    with pytest.raises(GrammarError, match=r"unknown builtin grammar 'DIG12'.*VERSAY_YESNO"):
        builtin_grammar("DIG12")


@pytest.mark.parametrize("n", range(1, 12))
def test_dig_n_takes_exactly_n_digits(n: int) -> None:
    digits = "".join(str((d * 7) % 10) for d in range(n))
    assert said(f"DIG{n}", digits) == (True, digits)
    assert keyed(f"DIG{n}", digits) == (True, digits)
    assert not builtin_grammar(f"DIG{n}").recognize(digits + "1").matched
    assert not builtin_grammar(f"DIG{n}").recognize_dtmf(digits[:-1]).matched


@pytest.mark.parametrize(
    ("utterance", "digits"),
    [
        ("five five one two", "5512"),
        ("Five, five, one, two.", "5512"),
        ("55 12", "5512"),
        ("oh four zero niner", "0409"),
    ],
)
def test_digits_said_as_words_or_numerals(utterance: str, digits: str) -> None:
    assert said("DIG4", utterance) == (True, digits)


def test_digit_grammars_refuse_other_words() -> None:
    assert not builtin_grammar("DIG4").recognize("five five one too").matched
    assert not builtin_grammar("ANY_DIG").recognize("twelve").matched
    assert not builtin_grammar("ANY_DIG").recognize_dtmf("12#").matched


def test_sequence_lengths() -> None:
    assert said("ANY_DIG", "1" * 60) == (True, "1" * 60)
    assert said("UP_TO_20_DIGIT_SEQUENCE", "7") == (True, "7")
    assert said("UP_TO_20_DIGIT_SEQUENCE", "9" * 20) == (True, "9" * 20)
    assert not builtin_grammar("UP_TO_20_DIGIT_SEQUENCE").recognize("9" * 21).matched


@pytest.mark.parametrize(
    ("utterance", "code"),
    [
        ("b 7 x 2 k 9", "B7X2K9"),
        ("bravo seven x-ray two kilo niner", "B7X2K9"),
        ("Alpha, Alfa, Xray, Juliett, zero, oh", "AAXJ00"),
        ("a b c d e f", "ABCDEF"),
        ("1 2 3 4 5 6", "123456"),
    ],
)
def test_alphnum6(utterance: str, code: str) -> None:
    assert said("ALPHNUM6", utterance) == (True, code)


def test_alphnum6_needs_six_characters() -> None:
    assert not builtin_grammar("ALPHNUM6").recognize("a b c d e").matched
    assert not builtin_grammar("ALPHNUM6").recognize("a b c d e f g").matched
    assert not builtin_grammar("ALPHNUM6").recognize("apple b c d e f").matched
    assert keyed("ALPHNUM6", "123456") == (True, "123456")


@pytest.mark.parametrize(
    "utterance",
    [
        "yes", "Yeah!", "yep", "sure", "correct", "That's right.", "yes please", "of course", "okay thanks",
        "uh huh",
    ],
)
def test_versay_yes(utterance: str) -> None:
    assert said("VERSAY_YESNO", utterance) == (True, "yes")


@pytest.mark.parametrize(
    "utterance", ["no", "Nope.", "nah", "negative", "incorrect", "no thank you", "absolutely not", "it isn't"]
)
def test_versay_no(utterance: str) -> None:
    assert said("VERSAY_YESNO", utterance) == (True, "no")


def test_versay_refuses_anything_else_and_takes_1_or_2_on_the_keypad() -> None:
    assert not builtin_grammar("VERSAY_YESNO").recognize("maybe").matched
    assert not builtin_grammar("VERSAY_YESNO").recognize("yes no").matched
    assert keyed("VERSAY_YESNO", "1") == (True, "yes")
    assert keyed("VERSAY_YESNO", "2") == (True, "no")
    assert not builtin_grammar("VERSAY_YESNO").recognize_dtmf("3").matched


def test_builtins_are_fresh_objects() -> None:
    assert builtin_grammar("DIG4") is not builtin_grammar("DIG4")
