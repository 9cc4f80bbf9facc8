"""Tags: literal tags, the SISR script forms, their semantics-ms spellings, and how results render."""

from __future__ import annotations

import json
import math

import pytest

from percl.media.grammar import GrammarError, compile_grxml
from percl.media.grammar.semantics import render, to_js_string
from tests.media.grammar.support import grxml, one_rule, rule
from tests.watchdog import watchdog


def result(body: str, utterance: str, *, tag_format: str | None = "semantics/1.0", extra: str = "") -> str:
    r = one_rule(body, tag_format=tag_format, extra=extra).recognize(utterance)
    assert r.matched, utterance
    return r.result


DIGIT = rule(
    "<one-of>" + "".join(f'<item>{d}<tag>out = "{d}";</tag></item>' for d in range(10)) + "</one-of>",
    rule_id="digit", scope="private",
)  # fmt: skip
COLOR = rule(
    '<one-of><item>red<tag>out.name = "red"; out.hex = "f00";</tag></item>'
    '<item>green<tag>out.name = "green"; out.hex = "0f0";</tag></item></one-of>',
    rule_id="color", scope="private",
)  # fmt: skip


# ---- literals ----


def test_literal_tag_is_the_result_and_the_last_one_wins() -> None:
    body = "<one-of><item>yes<tag>Y</tag></item><item>no<tag>N</tag><tag> NO </tag></item></one-of>"
    assert result(body, "yes", tag_format="semantics/1.0-literals") == "Y"
    assert result(body, "no", tag_format="semantics/1.0-literals") == "NO"


def test_literal_format_does_not_run_scripts() -> None:
    assert result('ok<tag>out = "x";</tag>', "ok", tag_format="semantics/1.0-literals") == 'out = "x";'


def test_literal_of_a_subrule_propagates_by_default() -> None:
    extra = rule("<one-of><item>yes<tag>1</tag></item><item>no<tag>0</tag></item></one-of>", rule_id="yn")
    assert result('<ruleref uri="#yn"/> please', "no please", tag_format="semantics/1.0-literals",
                  extra=extra) == "0"


# ---- SISR scripts ----


def test_out_string_number_and_boolean() -> None:
    assert result('a<tag>out = "A";</tag>', "a") == "A"
    assert result("a<tag>out = 42;</tag>", "a") == "42"
    assert result("a<tag>out = 2.50;</tag>", "a") == "2.5"
    assert result("a<tag>out = true</tag>", "a") == "true"


def test_out_properties_make_a_json_object() -> None:
    body = 'a<tag>out.city = "Paris"; out.stops = 0; out.direct = true; out.via = null;</tag>'
    assert json.loads(result(body, "a")) == {"city": "Paris", "stops": 0, "direct": True, "via": None}


def test_nested_properties_are_created_on_the_way() -> None:
    assert result('a<tag>out.trip.to = "Oslo"; out["trip"]["from"] = \'Rome\';</tag>', "a") == (
        '{"trip":{"to":"Oslo","from":"Rome"}}'
    )


def test_rules_name_and_property() -> None:
    body = '<ruleref uri="#color"/><tag>out = rules.color.hex;</tag>'
    assert result(body, "green", extra=COLOR) == "0f0"
    body = '<ruleref uri="#color"/><tag>out = rules.color;</tag>'
    assert json.loads(result(body, "red", extra=COLOR)) == {"name": "red", "hex": "f00"}


def test_rules_latest_is_the_most_recent_reference() -> None:
    body = '<ruleref uri="#digit"/><ruleref uri="#color"/><tag>out = rules.latest().name;</tag>'
    assert result(body, "7 green", extra=DIGIT + COLOR) == "green"


def test_plus_equals_accumulates_across_repeats() -> None:
    body = '<tag>out = "";</tag><item repeat="1-"><ruleref uri="#digit"/>' \
        "<tag>out += rules.digit;</tag></item>"
    assert result(body, "4 oh 4", extra=DIGIT) == "404"


def test_plus_concatenates_strings_and_adds_numbers() -> None:
    assert result('a<tag>out = "x" + 1 + 2;</tag>', "a") == "x12"
    assert result('a<tag>out = 1 + 2 + "x";</tag>', "a") == "3x"
    assert result("a<tag>out = (1 + 2) * 3 - 4 / 2;</tag>", "a") == "7"
    assert result("a<tag>out = -1 + -(2);</tag>", "a") == "-3"


def test_arithmetic_on_digit_rules_uses_ecmascript_conversions() -> None:
    body = '<ruleref uri="#digit"/><tag>var tens = rules.digit * 10;</tag><ruleref uri="#digit"/>' \
        "<tag>out = tens + rules.digit * 1;</tag>"
    assert result(body, "4 2", extra=DIGIT) == "42"


def test_var_locals_live_across_tags_of_one_rule() -> None:
    body = 'a<tag>var greeting = "hi"; var n;</tag>b<tag>out = greeting + " " + n;</tag>'
    assert result(body, "a b") == "hi undefined"


def test_meta_text_forms() -> None:
    body = 'well <ruleref uri="#color"/><tag>out.all = meta.current().text; out.c = meta.color.text; ' \
        "out.l = meta.latest().text;</tag>"
    assert json.loads(result(body, "Well, RED", extra=COLOR)) == {"all": "well red", "c": "red", "l": "red"}


def test_default_value_of_an_untagged_rule_is_its_latest_reference_else_its_text() -> None:
    extra = COLOR + rule('please <ruleref uri="#color"/>', rule_id="polite", scope="private")
    assert json.loads(result('<ruleref uri="#polite"/><tag>out = rules.polite;</tag>', "please red",
                             extra=extra))["name"] == "red"
    plain = rule("big <one-of><item>box</item><item>bag</item></one-of>", rule_id="thing")
    assert result('<ruleref uri="#thing"/><tag>out = "[" + rules.thing + "]";</tag>', "big bag",
                  extra=plain) == "[big bag]"


def test_untouched_out_falls_back_like_an_untagged_rule() -> None:
    assert result("hello there<tag>var unused = 1;</tag>", "hello there") == "hello there"


def test_path_without_tags_reports_the_matched_words() -> None:
    body = '<one-of><item>sales<tag>out = "S";</tag></item><item>customer care</item></one-of>'
    assert result(body, "Customer care!") == "customer care"


def test_empty_object_or_null_result_reports_the_matched_words() -> None:
    assert result("hi<tag>out = {};</tag>", "hi") == "hi"
    assert result("hi<tag>out = new Object();</tag>", "hi") == "hi"
    assert result("hi<tag>out = rules.nothing;</tag>", "hi") == "hi"


def test_tag_formats_sharing_the_script_reader() -> None:
    for fmt in ("semantics/1.0", "semantics/1.0.2006", "swi-semantics/1.0", "semantics-ms/1.0"):
        assert result('a<tag>out = "A";</tag>', "a", tag_format=fmt) == "A"


# ---- semantics-ms spellings ----


def test_ms_value_collapses_to_a_plain_result() -> None:
    assert result('green<tag>$._value = "GREEN";</tag>', "green", tag_format="semantics-ms/1.0") == "GREEN"


def test_ms_rule_references() -> None:
    extra = rule('<one-of><item>one<tag>$._value = "1";</tag></item></one-of>', rule_id="Num")
    body = '<ruleref uri="#Num"/><tag>$.a = $Num; $.b = $$._value; $.c = $Num._value + "!";</tag>'
    assert json.loads(result(body, "one", tag_format="semantics-ms/1.0", extra=extra)) == {
        "a": "1", "b": "1", "c": "1!",
    }  # fmt: skip


def test_ms_object_with_value_and_properties_keeps_both_in_json() -> None:
    body = 'x<tag>$._value = "X"; $.extra = 1;</tag>'
    assert result(body, "x", tag_format="semantics-ms/1.0") == '{"_value":"X","extra":1}'


def test_missing_tag_format_reads_scripts_and_literals() -> None:
    assert result('a<tag>$._value = "A";</tag>', "a", tag_format=None) == "A"
    assert result("a<tag>out.k = 'v'</tag>", "a", tag_format=None) == '{"k":"v"}'
    assert result("a<tag>New York</tag>", "a", tag_format=None) == "New York"
    assert result("a<tag>alpha</tag>", "a", tag_format=None) == "alpha"


# ---- refused constructs ----


@pytest.mark.parametrize(
    ("script", "construct"),
    [
        ("out = parseInt(rules.d);", "function call parseInt()"),
        ("out = rules.d.toUpperCase();", "function call rules.d.toUpperCase()"),
        ("if (true) out = 1;", "'if'"),
        ("out = rules[0];", "computed property [0]"),
        ("out = meta.current().score;", "meta property score"),
        ('out = a == "b";', "'='"),
        ("out = x ? 1 : 2;", "'?'"),
        ("rules.d = 1;", "assignment to something other than out"),
        ('out = 1 out = 2', "(expected ';')"),
        ('out = "unterminated;', "an unterminated string"),
        ("var $x = 1;", "var '$x'"),
        ("out = ;", "';'"),
        ("out = ", "the end of the tag"),
    ],
)
def test_unsupported_script_constructs_are_named(script: str, construct: str) -> None:
    with pytest.raises(GrammarError) as info:
        compile_grxml(grxml(rule(f"a<tag>{script}</tag>")))
    message = str(info.value)
    assert "unsupported tag script construct" in message and construct in message
    assert "(rule 'main')" in message


# ---- rendering ----


@pytest.mark.parametrize(
    ("value", "text"),
    [("s", "s"), (True, "true"), (False, "false"), (3, "3"), (3.0, "3"), (0.25, "0.25"), (None, "undefined"),
     (math.nan, "NaN"), (-math.inf, "-Infinity"), ({"a": 1}, "[object Object]")],
)
def test_values_convert_to_strings_like_ecmascript(value: object, text: str) -> None:
    assert to_js_string(value) == text


def test_render_objects_as_compact_json_with_whole_numbers() -> None:
    assert render({"n": 2.0, "x": math.nan, "é": "ü"}, "words") == '{"n":2,"x":null,"é":"ü"}'
    assert render({}, "words") == "words"
    assert render(None, "words") == "words"
    assert render("", "words") == ""


def test_division_by_zero_follows_ecmascript() -> None:
    assert result("a<tag>out = 1 / 0;</tag>", "a") == "Infinity"
    assert result("a<tag>out = 0 / 0;</tag>", "a") == "NaN"
    assert result('a<tag>out = "x" * 2;</tag>', "a") == "NaN"
    assert result('a<tag>out = " 4 " * 2 + "";</tag>', "a") == "8"


def test_a_tag_with_a_long_trailing_space_compiles_in_linear_time() -> None:
    # A fetched grammar is the app's to write and compiles on the event loop: 200,000 spaces
    # after a tag's script took hours when the tokenizer retried its `\s*` from every space.
    body = '<item>yes<tag>out = "Y";' + " " * 200_000 + "</tag></item>"
    with watchdog("the tag script tokenizer"):
        assert result(body, "yes") == "Y"
