"""Grammars too large to list, as JSGF rules (pure: a dict stands in for CMUdict)."""

from __future__ import annotations

from percl.media.asr.jsgf import MAX_GRAMMAR_WORDS
from percl.media.asr.rules import MAX_REPEAT_SPAN, grammar_jsgf
from percl.media.grammar import builtin_grammar, compile_grxml
from tests.media.grammar.support import grxml, rule

WORDS = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "yes", "please",
         "that's", "right"}


def lookup(word: str) -> str | None:
    return "AH" if word in WORDS else None


def body_of(jsgf: str) -> list[str]:
    return jsgf.splitlines()[3:]


def test_a_digit_builtin_is_its_digit_rule_repeated() -> None:
    vocabulary = grammar_jsgf(builtin_grammar("DIG4"), lookup)
    assert vocabulary is not None and vocabulary.new_words == {}
    main, digit = body_of(vocabulary.jsgf)
    assert main == "<r0> = (<r1> <r1> <r1> <r1>);"
    assert digit == "<r1> = (zero | one | two | three | four | five | six | seven | eight | nine);"


def test_open_and_bounded_repeats() -> None:
    any_dig = grammar_jsgf(builtin_grammar("ANY_DIG"), lookup)
    assert any_dig is not None and body_of(any_dig.jsgf)[0] == "<r0> = (<r1> <r1>*);"
    ranged = grammar_jsgf(compile_grxml(grxml(rule('<item repeat="1-3">yes</item> please'))), lookup)
    assert ranged is not None and body_of(ranged.jsgf) == ["<r0> = ((yes [yes [yes]]) please);"]


def test_unknown_words_are_spelled_and_apostrophes_restored() -> None:
    vocabulary = grammar_jsgf(compile_grxml(grxml(rule("<one-of><item>thats right</item><item>IBM</item>"
                                                       "</one-of>"))), lookup)
    assert vocabulary is not None
    assert body_of(vocabulary.jsgf) == ["<r0> = ((that's right) | ibm);"]
    assert vocabulary.new_words == {"ibm": "AY B IY EH M"}


def test_what_jsgf_cannot_say_is_none() -> None:
    garbage = compile_grxml(grxml(rule('<ruleref special="GARBAGE"/> yes')))
    wide = compile_grxml(grxml(rule(f'<item repeat="0-{MAX_REPEAT_SPAN + 1}">yes</item>')))
    dtmf_only = compile_grxml(grxml(rule("<one-of><item>1</item></one-of>"), mode="dtmf"))
    assert grammar_jsgf(garbage, lookup) is None
    assert grammar_jsgf(wide, lookup) is None
    assert grammar_jsgf(dtmf_only, lookup) is None


def test_the_size_counts_words_with_repeats_and_rule_references_expanded() -> None:
    assert _size(builtin_grammar("DIG4")) == 40  # four copies of the ten-digit rule
    assert _size(builtin_grammar("ANY_DIG")) == 20  # <r1> <r1>*: two copies
    ranged = compile_grxml(grxml(rule('<item repeat="1-3">yes</item> please')))
    assert _size(ranged) == 4


def _size(grammar: object) -> int:
    vocabulary = grammar_jsgf(grammar, lookup)  # type: ignore[arg-type]
    assert vocabulary is not None
    return vocabulary.words


def test_a_grammar_past_max_words_is_none_before_its_text_is_built() -> None:
    # Two nested repeats of 1,000: a million words, which pocketsphinx would try to build (and abort).
    nested = compile_grxml(grxml(rule('<item repeat="1000"><item repeat="1000">yes</item></item>')))
    assert grammar_jsgf(nested, lookup) is None
    # the same through rule references, which the JSGF text keeps short but the decoder expands
    chain = rule('<item repeat="100"><ruleref uri="#b"/></item>') + rule(
        '<item repeat="100">yes please</item>', rule_id="b", scope="private")
    assert grammar_jsgf(compile_grxml(grxml(chain)), lookup) is None
    at_limit = compile_grxml(grxml(rule(f'<item repeat="{MAX_GRAMMAR_WORDS // 1000}">'
                                        '<item repeat="1000">yes</item></item>')))
    assert _size(at_limit) == MAX_GRAMMAR_WORDS
