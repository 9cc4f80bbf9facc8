"""How the matcher picks among parses: fewest GARBAGE words, then document order; and its limits."""

from __future__ import annotations

import time

import pytest

from percl.media.grammar import GrammarError, compile_grxml
from percl.media.grammar.recognizer import MAX_UTTERANCE_WORDS, confidence_for
from tests.media.grammar.support import grxml, one_rule, rule


def test_exact_words_beat_garbage_even_when_garbage_comes_first() -> None:
    body = '<one-of><item><ruleref special="GARBAGE"/><tag>out = "G";</tag></item>' \
        '<item>sales<tag>out = "S";</tag></item></one-of>'
    r = one_rule(body).recognize("sales")
    assert (r.result, r.confidence) == ("S", 100)
    r = one_rule(body).recognize("marketing")
    assert (r.result, r.confidence) == ("G", 90)


def test_equal_parses_resolve_to_the_first_in_document_order() -> None:
    body = '<one-of><item>a<tag>out = "first";</tag></item><item>a<tag>out = "second";</tag></item></one-of>'
    assert one_rule(body).recognize("a").result == "first"


def test_tags_run_only_on_the_chosen_path() -> None:
    body = '<tag>out = "";</tag><one-of><item>new york<tag>out += "NY";</tag></item>' \
        '<item>new<tag>out += "N";</tag><item repeat="0-1">york<tag>out += "Y";</tag></item></item></one-of>'
    assert one_rule(body).recognize("new york").result == "NY"
    assert one_rule(body).recognize("new").result == "N"


def test_confidence_floor() -> None:
    assert [confidence_for(n) for n in (0, 1, 3, 6, 50)] == [100, 90, 70, 40, 40]


def test_garbage_word_count_is_the_cheapest_split() -> None:
    body = '<ruleref special="GARBAGE"/> stop <ruleref special="GARBAGE"/>'
    assert one_rule(body).recognize("please stop now").confidence == 80
    assert one_rule(body).recognize("stop stop").confidence == 90


def test_empty_or_overlong_utterances_never_match() -> None:
    anything = one_rule('<ruleref special="GARBAGE"/>')
    assert not anything.recognize("").matched
    assert not anything.recognize("...").matched
    assert anything.recognize("word " * MAX_UTTERANCE_WORDS).matched
    assert not anything.recognize("word " * (MAX_UTTERANCE_WORDS + 1)).matched


def test_garbage_inside_open_repeat_stays_fast() -> None:
    body = (
        '<item repeat="1-"><ruleref special="GARBAGE"/><one-of><item>a</item><item>b</item></one-of></item>'
        '<ruleref special="GARBAGE"/>'
    )
    grammar = one_rule(body)
    started = time.perf_counter()
    r = grammar.recognize(" ".join(["a", "x", "b"] * 33))
    assert r.matched and r.result == " ".join(["a", "b"] * 33)
    assert time.perf_counter() - started < 2.0  # about 20 ms; cubic blow-ups took seconds


def _chain(length: int, step: str) -> str:
    """Rules r0..r{length-1}, each `step` followed by a reference to the next; the last is `w`."""
    bodies = [f'{step} <ruleref uri="#r{i + 1}"/>' for i in range(length - 1)] + ["w"]
    return "".join(rule(body, rule_id=f"r{i}", scope="private") for i, body in enumerate(bodies))


def test_right_recursion_as_deep_as_the_longest_utterance_matches() -> None:
    grammar = compile_grxml(grxml(_chain(MAX_UTTERANCE_WORDS, "w"), root="r0"))
    assert grammar.recognize("w " * MAX_UTTERANCE_WORDS).matched


def test_a_stack_overflow_while_matching_is_a_no_match_not_a_crash() -> None:
    grammar = compile_grxml(grxml(_chain(MAX_UTTERANCE_WORDS, "w"), root="r0"))

    def deep(n: int) -> bool:  # the engine may call from a deep stack; simulate a very deep one
        return grammar.recognize("w " * MAX_UTTERANCE_WORDS).matched if n == 0 else deep(n - 1)

    assert deep(900) is False


def test_a_chain_of_rules_too_long_to_check_is_a_grammar_error() -> None:
    with pytest.raises(GrammarError, match="too deeply"):
        compile_grxml(grxml(_chain(3000, ""), root="r0"))
