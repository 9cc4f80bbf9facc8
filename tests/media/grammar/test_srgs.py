"""SRGS XML constructs, one at a time: what each matches, and the errors a bad grammar raises."""

from __future__ import annotations

import pytest

from percl.media.grammar import GrammarError, compile_grxml
from percl.media.grammar.xmlsafe import MAX_GRAMMAR_BYTES
from tests.media.grammar.support import SRGS, grxml, one_rule, rule


def matches(body: str, utterance: str, **kwargs: str) -> bool:
    return one_rule(body, **kwargs).recognize(utterance).matched


# ---- matching ----


def test_plain_text_tokens_ignore_case_and_punctuation() -> None:
    assert matches("Hello, World", "hello world!")
    assert not matches("hello world", "hello")
    assert not matches("hello world", "hello world again")


def test_token_element_may_hold_several_words() -> None:
    assert matches("<token>New York</token> city", "new york city")
    assert matches("<token>O'Hare</token>", "ohare")


def test_one_of_chooses_exactly_one_item() -> None:
    body = "<one-of><item>red</item><item>dark blue</item></one-of>"
    assert matches(body, "dark blue")
    assert not matches(body, "red dark blue")
    assert not matches(body, "dark")


@pytest.mark.parametrize(
    ("repeat", "accepted", "refused"),
    [
        ("3", [3], [0, 2, 4]),
        ("2-4", [2, 3, 4], [1, 5]),
        ("2-", [2, 3, 9], [0, 1]),
        ("0-1", [0, 1], [2]),
        ("0-", [0, 1, 7], []),
        (" 1 - 2 ", [1, 2], [0, 3]),
    ],
)
def test_repeat_counts(repeat: str, accepted: list[int], refused: list[int]) -> None:
    grammar = one_rule(f'start <item repeat="{repeat}" repeat-prob="0.5">la</item> end')
    for n in accepted:
        assert grammar.recognize(" ".join(["start", *["la"] * n, "end"])).matched, n
    for n in refused:
        assert not grammar.recognize(" ".join(["start", *["la"] * n, "end"])).matched, n


def test_optional_word_is_ambiguous_without_harm() -> None:
    body = '<one-of><item>yes</item><item>yes please</item></one-of><item repeat="0-1">please</item>'
    grammar = one_rule(body)
    assert [grammar.recognize(u).matched for u in ("yes", "yes please", "yes please please")] == [True] * 3
    assert not grammar.recognize("yes please please please").matched


def test_repeat_of_a_nullable_item_terminates() -> None:
    grammar = one_rule('<item repeat="1-"><item repeat="0-1">la</item></item> done')
    assert grammar.recognize("la la la done").matched
    assert grammar.recognize("done").matched


def test_repeated_alternatives_backtrack_into_earlier_choices() -> None:
    body = '<item repeat="1-"><one-of><item>a</item><item>a b</item></one-of></item> b c'
    assert matches(body, "a b a b c")
    assert matches(body, "a a b c")


def test_ruleref_to_a_local_rule() -> None:
    extra = rule("<one-of><item>cat</item><item>dog</item></one-of>", rule_id="animal", scope="private")
    grammar = one_rule('a <ruleref uri="#animal"/>', extra=extra)
    assert grammar.recognize("a dog").matched
    assert not grammar.recognize("a cow").matched


def test_right_recursion_is_allowed() -> None:
    extra = rule('<item>la</item><item repeat="0-1"><ruleref uri="#song"/></item>', rule_id="song")
    grammar = one_rule('<ruleref uri="#song"/>', extra=extra)
    assert grammar.recognize("la la la la la").matched


def test_special_rules() -> None:
    assert matches('hello <ruleref special="NULL"/> world', "hello world")
    assert not matches('<one-of><item><ruleref special="VOID"/> x</item><item>y</item></one-of>', "x")
    assert matches('<ruleref special="GARBAGE"/> stop', "please stop")
    assert matches('<ruleref special="GARBAGE"/> stop', "stop")  # GARBAGE may match nothing


def test_empty_item_and_example_are_harmless() -> None:
    assert matches("<example>say hi</example>hi<item/>", "hi")
    assert not matches("<example>say hi</example>hi", "say hi")


def test_grammar_without_namespace_and_foreign_metadata() -> None:
    source = (
        '<grammar root="r" xmlns:x="urn:x"><meta name="author" content="me"/><x:note>ignored</x:note>'
        '<rule id="r">ok</rule></grammar>'
    )
    assert compile_grxml(source).recognize("ok").matched


def test_bytes_are_decoded_as_their_declaration_says() -> None:
    source = f'<?xml version="1.0" encoding="ISO-8859-1"?><grammar xmlns="{SRGS}" root="r">' \
        '<rule id="r">caf\xe9</rule></grammar>'
    assert compile_grxml(source.encode("latin-1")).recognize("Café").matched
    assert compile_grxml(source).recognize("café").matched  # a str is taken as the text it is


def test_grammar_rule_overrides_root() -> None:
    rules = rule("first") + rule("second", rule_id="other", scope="private")
    assert compile_grxml(grxml(rules), "other").recognize("second").matched
    assert not compile_grxml(grxml(rules), "other").recognize("first").matched
    assert compile_grxml(grxml(rules), "").recognize("first").matched  # empty grammarRule: root


def test_modes_and_language_are_reported() -> None:
    assert one_rule("x").modes == frozenset({"voice"})
    assert one_rule("1", mode="dtmf").modes == frozenset({"dtmf"})
    assert one_rule("x").voice is not None and one_rule("x").voice.language == "en-US"


# ---- errors ----


def error_of(source: str | bytes, rule_name: str | None = None) -> str:
    with pytest.raises(GrammarError) as info:
        compile_grxml(source, rule_name)
    return str(info.value)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("<grammar", "malformed grammar XML"),
        ("<html/>", "not an SRGS grammar"),
        (grxml(""), "defines no rules"),
        (grxml(rule("a") + rule("b")), "rule 'main' is defined twice"),
        (grxml('<rule scope="public">a</rule>'), "has no id"),
        (grxml(rule("")), "rule 'main' is empty"),
        (grxml(rule("a"), root="nope"), "root rule 'nope' is not defined"),
        (grxml(rule("a", scope="private"), root=None), "no root rule"),
        (grxml(rule("a"), mode="speech"), "grammar mode 'speech'"),
        (grxml(rule("a"), tag_format="properties-ms/1.0"), "tag-format 'properties-ms/1.0'"),
        (grxml(rule('<ruleref uri="#missing"/>')), "refers to undefined rule '#missing'"),
        (grxml(rule('<ruleref uri="other.grxml#r"/>')), "external rule reference 'other.grxml#r'"),
        (grxml(rule('<ruleref uri="builtin:grammar/digits"/>')), "does not fetch other grammars"),
        (grxml(rule("<ruleref/>")), "without uri or special"),
        (grxml(rule('<ruleref special="NOISE"/>')), "unknown special rule 'NOISE'"),
        (grxml(rule('<item repeat="a-b">x</item>')), "repeat='a-b'"),
        (grxml(rule('<item repeat="3-2">x</item>')), "the maximum is below the minimum"),
        (grxml(rule('<item repeat="5000">x</item>')), "minimums above 1000"),
        (grxml(rule("<one-of>loose<item>x</item></one-of>")), "text directly inside <one-of>"),
        (grxml(rule("<one-of><token>x</token></one-of>")), "may contain only <item>"),
        (grxml(rule("<one-of/>")), "empty <one-of>"),
        (grxml(rule("<b>x</b>")), "unsupported element <b> in rule 'main'"),
        (grxml(rule('<x:sub xmlns:x="urn:x">x</x:sub>')), "from another namespace in rule 'main'"),
        (grxml("<tag>var x = 1;</tag>" + rule("a")), "grammar-level <tag>"),
        (grxml("<item>a</item>" + rule("a")), "unexpected <item> in <grammar>"),
        (grxml(rule("1 x"), mode="dtmf"), "DTMF grammar token 'x'"),
    ],
)
def test_bad_grammars_raise_grammar_error_naming_the_problem(source: str, message: str) -> None:
    assert message in error_of(source)


def test_unknown_grammar_rule_lists_the_rules() -> None:
    message = error_of(grxml(rule("a") + rule("b", rule_id="other")), "reason")
    assert "grammarRule 'reason' is not a rule of the grammar (main, other)" in message


@pytest.mark.parametrize(
    ("rules", "cycle"),
    [
        (rule('<ruleref uri="#main"/> x'), "main -> main"),
        (rule('<ruleref uri="#b"/> x') + rule('<ruleref uri="#main"/> y', rule_id="b"), "main -> b -> main"),
        (rule('<item repeat="0-1">x</item><ruleref uri="#main"/>'), "main -> main"),
        (rule('<ruleref special="GARBAGE"/><ruleref uri="#main"/>'), "main -> main"),
        (rule('<ruleref uri="#n"/><ruleref uri="#main"/>') + rule('<ruleref special="NULL"/>', rule_id="n"),
         "main -> main"),
    ],
)
def test_recursion_without_consuming_input_is_refused(rules: str, cycle: str) -> None:
    message = error_of(grxml(rules))
    assert "left recursion" in message and cycle in message


def test_doctype_and_entities_are_refused_before_expansion() -> None:
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE grammar [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
        f'<grammar xmlns="{SRGS}" root="r"><rule id="r">&b;</rule></grammar>'
    )
    assert "document type declaration" in error_of(laughs)
    assert "malformed grammar XML" in error_of(grxml(rule("&undefined;")))


def test_external_entity_is_refused() -> None:
    source = (
        f'<!DOCTYPE g SYSTEM "http://example.com/g.dtd"><grammar xmlns="{SRGS}" root="r">'
        '<rule id="r">a</rule></grammar>'
    )
    assert "percl does not accept DTDs" in error_of(source)


def test_oversized_document_is_refused() -> None:
    padding = "<!--" + "x" * MAX_GRAMMAR_BYTES + "-->"
    assert "the limit is" in error_of(grxml(rule("a")) + padding)


def test_absurd_nesting_is_a_grammar_error() -> None:
    body = "<item>" * 3000 + "x" + "</item>" * 3000
    assert "too deeply" in error_of(grxml(rule(body)))
