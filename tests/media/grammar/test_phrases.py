"""Grammar.phrases: the sentences a grammar accepts, spelled out for a speech decoder."""

from __future__ import annotations

import pytest

from percl.media.grammar import builtin_grammar, compile_grxml
from percl.media.grammar.phrases import MAX_WORDS
from tests.media.grammar.support import grxml, rule


def phrases_of(rules: str, limit: int = 500) -> list[str] | None:
    return compile_grxml(grxml(rules)).phrases(limit)


def test_one_of_sequence_and_optional_items_expand_in_document_order() -> None:
    body = "<one-of><item>yes</item><item>no</item></one-of><item repeat=\"0-1\">please</item>"
    assert phrases_of(rule(body)) == ["yes", "yes please", "no", "no please"]


def test_repeat_ranges_and_rulerefs() -> None:
    rules = rule('<item repeat="1-2"><ruleref uri="#d"/></item>') + rule(
        "<one-of><item>1</item><item>two</item></one-of>", rule_id="d", scope="private")
    assert phrases_of(rules) == ["one", "two", "one one", "one two", "two one", "two two"]


def test_tags_add_no_words_and_words_are_normalised() -> None:
    body = "<one-of><item>That's RIGHT!<tag>out='y';</tag></item><item>Ma'am</item></one-of>"
    assert phrases_of(rule(body)) == ["thats right", "maam"]


def test_digits_are_canonical_words_and_oh_is_left_out() -> None:
    body = "<one-of><item>oh</item><item>0</item><item>zero</item><item>niner</item><item>5</item></one-of>"
    assert phrases_of(rule(body)) == ["zero", "nine", "five"]


@pytest.mark.parametrize("body", [
    '<ruleref special="GARBAGE"/> yes',
    '<item repeat="1-">yes</item>',
    'yes <item repeat="0-1"><ruleref uri="#main"/></item>',
])
def test_infinite_grammars_have_no_phrase_list(body: str) -> None:
    assert phrases_of(rule(body)) is None


def test_more_than_the_limit_is_none_and_the_limit_is_inclusive() -> None:
    body = '<item repeat="2"><one-of><item>a</item><item>b</item><item>c</item></one-of></item>'
    assert phrases_of(rule(body), limit=8) is None
    found = phrases_of(rule(body), limit=9)
    assert found is not None and len(found) == 9


def test_a_large_repeat_stops_early_instead_of_expanding() -> None:
    body = '<item repeat="1-1000000"><one-of><item>a</item><item>b</item></one-of></item>'
    assert phrases_of(rule(body)) is None


@pytest.mark.parametrize("body", [
    "hello " * 201,  # one item of 201 words
    "<item>hello</item>" * 20_000,  # 20,000 items in a row: the expansion was quadratic (seconds)
    '<item repeat="0-500">' + "hello " * 200 + "</item>",  # 500 sentences of up to 100,000 words
], ids=["long item", "long sequence", "long repeat"])
def test_a_sentence_longer_than_max_words_is_none(body: str) -> None:
    assert phrases_of(rule(body)) is None


def test_a_sentence_of_max_words_is_listed() -> None:
    found = phrases_of(rule('<item repeat="1-2">' + "hello " * (MAX_WORDS // 2) + "</item>"))
    assert found is not None and [len(s.split()) for s in found] == [MAX_WORDS // 2, MAX_WORDS]


def test_void_null_and_empty_sentences() -> None:
    body = ('<one-of><item><ruleref special="VOID"/> never</item>'
            '<item><ruleref special="NULL"/> always</item><item repeat="0-1">maybe</item></one-of>')
    assert phrases_of(rule(body)) == ["always", "maybe"]


def test_builtins() -> None:
    dig1 = builtin_grammar("DIG1").phrases()
    assert dig1 == ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    dig2 = builtin_grammar("DIG2").phrases()
    assert dig2 is not None and len(dig2) == 100 and "five one" in dig2
    assert builtin_grammar("DIG3").phrases() is None  # 1,000 sentences
    assert builtin_grammar("DIG3").phrases(limit=1000) is not None
    assert builtin_grammar("ANY_DIG").phrases() is None
    yes_no = builtin_grammar("VERSAY_YESNO").phrases()
    assert yes_no is not None and {"yes", "no", "nope", "thats right please", "no i dont maam"} <= set(yes_no)


def test_every_phrase_is_matched_by_its_own_grammar() -> None:
    for name in ("DIG1", "DIG2", "VERSAY_YESNO"):
        grammar = builtin_grammar(name)
        for phrase in grammar.phrases() or []:
            assert grammar.recognize(phrase).matched, (name, phrase)


def test_a_dtmf_only_grammar_accepts_no_speech() -> None:
    document = grxml(rule("<one-of><item>1</item><item>2</item></one-of>"), mode="dtmf")
    assert compile_grxml(document).phrases() == []
