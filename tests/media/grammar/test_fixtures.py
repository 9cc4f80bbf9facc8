"""Whole grammars as an application would serve them (tests/data/grammar), utterance by utterance."""

from __future__ import annotations

import json

import pytest

from percl.media.grammar import Recognition
from tests.media.grammar.support import load


def hit(result: str, confidence: int = 100) -> tuple[bool, str, int]:
    return (True, result, confidence)


def outcome(r: Recognition) -> tuple[bool, str, int]:
    return (r.matched, r.result, r.confidence)


MISS = (False, "", 0)


@pytest.mark.parametrize(
    ("utterance", "expected"),
    [
        ("sales", hit("SALES")),
        ("Um, billing please.", hit("BILLING")),
        ("uh support ma'am", hit("SUPPORT")),
        ("Customer service, sir!", hit("SUPPORT")),
        ("customer", MISS),
        ("sales support", MISS),
        ("um um sales", MISS),  # the filler is optional, not repeated
        ("please sales", MISS),
    ],
)
def test_freeclimb_sample_shape_semantics_ms(utterance: str, expected: tuple[bool, str, int]) -> None:
    assert outcome(load("menu_ms.grxml").recognize(utterance)) == expected


def test_recognition_reports_the_normalised_utterance() -> None:
    r = load("menu_ms.grxml").recognize("  Um,   BILLING -- please. ")
    assert r == Recognition(matched=True, text="um billing please", result="BILLING", confidence=100)


@pytest.mark.parametrize(
    ("utterance", "expected"),
    [("yes", "yes"), ("Yeah please", "yes"), ("correct", "yes"), ("nope", "no"), ("wrong please", "no")],
)
def test_literal_tags(utterance: str, expected: str) -> None:
    assert outcome(load("yesno_literals.grxml").recognize(utterance)) == hit(expected)


def test_literal_tags_refuse_other_words() -> None:
    assert not load("yesno_literals.grxml").recognize("maybe").matched
    assert not load("yesno_literals.grxml").recognize("please").matched


@pytest.mark.parametrize(
    ("utterance", "expected"),
    [
        ("one two three four", "1234"),
        ("1234", "1234"),
        ("my pin is 9 oh 0 7", "9007"),
        ("My PIN is: five, five, one, two.", "5512"),
    ],
)
def test_pin_concatenates_digit_rule_results(utterance: str, expected: str) -> None:
    assert outcome(load("pin_sisr.grxml").recognize(utterance)) == hit(expected)


@pytest.mark.parametrize("utterance", ["123", "12345", "one two three", "my pin is", "one two three for"])
def test_pin_needs_exactly_four_digits(utterance: str) -> None:
    assert not load("pin_sisr.grxml").recognize(utterance).matched


def test_object_result_is_compact_json_in_assignment_order() -> None:
    r = load("pizza_sisr.grxml").recognize("I would like a large pepperoni pizza please")
    assert r.result == '{"size":"L","topping":"pepperoni","count":1}'
    assert json.loads(load("pizza_sisr.grxml").recognize("small extra cheese pizza").result) == {
        "size": "S", "topping": "double cheese", "count": 1,
    }  # fmt: skip


def test_semantics_ms_rule_value_copied_to_the_root() -> None:
    grammar = load("airport_ms.grxml")
    paris = grammar.recognize("fly me to Charles de Gaulle")
    assert json.loads(paris.result) == {"code": "CDG", "city": "Paris"}
    assert json.loads(grammar.recognize("O'Hare").result) == {"code": "ORD", "city": "Chicago"}


def test_grammar_without_tags_reports_the_matched_words() -> None:
    grammar = load("flight_notags.grxml")
    assert outcome(grammar.recognize("Fly me to New York!")) == hit("fly me to new york")
    # No root attribute: every public rule is active, private ones are not.
    assert outcome(grammar.recognize("Good morning")) == hit("good morning")
    assert not grammar.recognize("thank you").matched


def test_grammar_rule_selects_any_rule_including_private_ones() -> None:
    assert load("flight_notags.grxml", "private_thanks").recognize("thank you").matched
    assert not load("flight_notags.grxml", "greeting").recognize("fly me to paris").matched


@pytest.mark.parametrize(
    ("digits", "expected"),
    [("1", "sales"), ("2", "support"), ("911", "emergency"), ("*", "menu"), ("0#", "operator")],
)
def test_dtmf_grammar(digits: str, expected: str) -> None:
    r = load("dtmf_menu.grxml").recognize_dtmf(digits)
    assert (r.matched, r.text, r.result) == (True, digits, expected)


def test_dtmf_grammar_ignores_speech_and_voice_grammar_ignores_keys() -> None:
    assert not load("dtmf_menu.grxml").recognize("one").matched
    assert not load("menu_ms.grxml").recognize_dtmf("1").matched
    assert not load("dtmf_menu.grxml").recognize_dtmf("91").matched


@pytest.mark.parametrize(
    ("utterance", "expected"),
    [
        ("sales", hit("sales")),
        ("I'd like to talk to someone in accounts please", hit("billing", 40)),
        ("support please", hit("support", 90)),
        ("uh, the billing department", hit("billing", 70)),
    ],
)
def test_garbage_lowers_confidence_per_absorbed_word(utterance: str, expected: tuple[bool, str, int]) -> None:
    assert outcome(load("garbage_menu.grxml").recognize(utterance)) == expected


def test_garbage_still_needs_the_keyword() -> None:
    assert not load("garbage_menu.grxml").recognize("I would like to talk to a human").matched
