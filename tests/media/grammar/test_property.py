"""Properties: recognition never raises on arbitrary input, and the digit builtins read any digits."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from percl.media.grammar import BUILTIN_NAMES, Grammar, GrammarError, builtin_grammar, compile_grxml
from percl.media.grammar.normalize import DIGIT_WORDS
from tests.media.grammar.support import DATA, load

GRAMMARS: list[Grammar] = [load(p.name) for p in sorted(DATA.glob("*.grxml"))] + [
    builtin_grammar(name) for name in BUILTIN_NAMES
]
WORDS = st.sampled_from(
    ["yes", "no", "please", "sales", "um", "a", "b", "five", "5", "large", "pizza", "red", "x-ray", "12"]
)
UTTERANCES = st.one_of(st.text(max_size=200), st.lists(WORDS, max_size=30).map(" ".join))
SPOKEN = {digit: word for word, digit in DIGIT_WORDS.items() if word not in ("oh", "niner")}


@settings(max_examples=150, deadline=None)
@given(index=st.integers(0, len(GRAMMARS) - 1), utterance=UTTERANCES)
def test_recognize_never_raises_and_reports_consistently(index: int, utterance: str) -> None:
    r = GRAMMARS[index].recognize(utterance)
    assert 0 <= r.confidence <= 100
    assert r.matched == (r.confidence > 0)
    if not r.matched:
        assert r.result == ""


@settings(max_examples=100, deadline=None)
@given(index=st.integers(0, len(GRAMMARS) - 1), digits=st.text(alphabet="0123456789*#ABCDxyz ", max_size=40))
def test_recognize_dtmf_never_raises(index: int, digits: str) -> None:
    r = GRAMMARS[index].recognize_dtmf(digits)
    assert 0 <= r.confidence <= 100
    assert r.text == "".join(c for c in digits.upper() if c in "0123456789*#ABCD")


@settings(max_examples=100, deadline=None)
@given(digits=st.text(alphabet="0123456789", min_size=1, max_size=20), as_words=st.lists(st.booleans()))
def test_digit_sequences_read_back_whatever_way_they_are_said(digits: str, as_words: list[bool]) -> None:
    spoken = " ".join(
        SPOKEN[d] if i < len(as_words) and as_words[i] else d for i, d in enumerate(digits)
    )
    for name in ("ANY_DIG", "UP_TO_20_DIGIT_SEQUENCE", *([f"DIG{len(digits)}"] if len(digits) <= 11 else [])):
        r = builtin_grammar(name).recognize(spoken)
        assert (r.matched, r.result, r.confidence) == (True, digits, 100), name


# ---- random grammar documents: compiling either works or raises GrammarError, nothing else ----

ATTRS = {
    "item": st.sampled_from(
        ["", ' repeat="0-1"', ' repeat="2-"', ' repeat="1-3"', ' repeat="x"', ' weight="2"']
    ),
    "ruleref": st.sampled_from([' uri="#r0"', ' uri="#r1"', ' uri="#nope"', ' special="GARBAGE"',
                                ' special="NULL"', ' special="VOID"', ' uri="x.grxml"', ""]),
    "tag": st.just(""),
    "one-of": st.just(""),
    "token": st.just(""),
    "example": st.just(""),
}
TAG_TEXT = st.sampled_from(['out = "A";', "out += rules.r1;", "$._value = $$;", "LIT", "out = f();", ""])


def _element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    def build(name: str, attrs: str, inner: list[str], text: str) -> str:
        body = text if name in ("tag", "token", "example") else "".join(inner)
        return f"<{name}{attrs}>{body}</{name}>" if body or name != "ruleref" else f"<{name}{attrs}/>"

    return st.sampled_from(sorted(ATTRS)).flatmap(
        lambda name: st.builds(build, st.just(name), ATTRS[name], st.lists(children, max_size=3),
                               TAG_TEXT if name == "tag" else WORDS)
    )


CONTENT = st.recursive(WORDS, _element, max_leaves=12)
DOCUMENTS = st.builds(
    lambda rules, root, fmt, mode: (
        f'<grammar xmlns="http://www.w3.org/2001/06/grammar" {root} {fmt} mode="{mode}">'
        + "".join(f'<rule id="r{i}" scope="public">{"".join(body)}</rule>' for i, body in enumerate(rules))
        + "</grammar>"
    ),
    st.lists(st.lists(CONTENT, min_size=1, max_size=3), min_size=1, max_size=3),
    st.sampled_from(['root="r0"', 'root="r1"', ""]),
    st.sampled_from(['tag-format="semantics/1.0"', 'tag-format="semantics/1.0-literals"', ""]),
    st.sampled_from(["voice", "dtmf"]),
)


@settings(max_examples=100, deadline=None)
@given(document=DOCUMENTS, utterances=st.lists(st.lists(WORDS, max_size=6).map(" ".join), max_size=3))
def test_random_grammars_compile_or_raise_grammar_error(document: str, utterances: list[str]) -> None:
    try:
        grammar = compile_grxml(document)
    except GrammarError as err:
        assert str(err)
        return
    for utterance in utterances:
        r = grammar.recognize(utterance)
        assert r.matched == (r.confidence > 0)
        grammar.recognize_dtmf("12#")
