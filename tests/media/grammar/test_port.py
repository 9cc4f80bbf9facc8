"""media/grammar/port.py: the engine's Recognizer port over the grammar package."""

from __future__ import annotations

import pytest

from percl.engine.ports import Heard, Recognizer, SpeechGrammar
from percl.errors import PerclError
from percl.media.grammar import GrammarError
from percl.media.grammar.port import CompiledGrammar, GrammarRecognizer

YESNO = (b'<?xml version="1.0"?><grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" '
         b'root="yn" tag-format="semantics/1.0-literals"><rule id="yn"><one-of>'
         b'<item>yes<tag>Y</tag></item><item>no<tag>N</tag></item></one-of></rule>'
         b'<rule id="only"><item>maybe</item></rule></grammar>')


def test_compile_and_recognise() -> None:
    recognizer: Recognizer = GrammarRecognizer()
    grammar: SpeechGrammar = recognizer.compile(YESNO, None)
    assert grammar.recognize("Yes!") == Heard(True, "Y", 100)
    assert grammar.recognize("perhaps") == Heard(False, "", 0)
    assert recognizer.compile(YESNO, "only").recognize("maybe") == Heard(True, "maybe", 100)


def test_builtin() -> None:
    grammar = GrammarRecognizer().builtin("VERSAY_YESNO")
    assert isinstance(grammar, CompiledGrammar)
    assert grammar.recognize("yeah") == Heard(True, "yes", 100)


@pytest.mark.parametrize("make", [
    lambda r: r.compile(b"<grammar", None),
    lambda r: r.compile(YESNO, "absent"),
    lambda r: r.builtin("DIG42"),
])
def test_problems_raise_a_percl_error(make: object) -> None:
    with pytest.raises(PerclError) as info:
        make(GrammarRecognizer())  # type: ignore[operator]
    assert isinstance(info.value, GrammarError) and str(info.value)
