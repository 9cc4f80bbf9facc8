"""FreeClimb's builtin grammars (GetSpeech ``grammarType: BUILTIN``), written as GRXML and compiled.

FreeClimb documents only their names. What percl accepts (en-US):

- ``DIG1``..``DIG11``: exactly n digits; ``UP_TO_20_DIGIT_SEQUENCE``: 1 to 20; ``ANY_DIG``: one or
  more. Digits are numerals or words (``"5512"``, ``"five five one two"``, ``"oh"`` is 0); the
  result is the digits run together (``"5512"``).
- ``ALPHNUM6``: exactly six characters, each a digit (as above) or a letter said as the letter
  itself (``"b"``) or its NATO word (``"bravo"``); the result is upper case (``"B7X2K9"``).
- ``VERSAY_YESNO``: yes or no with common variants (``yeah``, ``yep``, ``sure``, ``correct``,
  ``that's right``; ``nope``, ``nah``, ``negative``, ``incorrect``...), optionally followed by a
  courtesy (``please``, ``thanks``, ``sir``, ``ma'am``); the result is ``yes`` or ``no``.

Each builtin also has a DTMF part for keypad input: the digit grammars take the same number of
digits, ALPHNUM6 six digits, VERSAY_YESNO ``1`` (yes) or ``2`` (no).
The documents are built and compiled on every call: the caller caches grammars, this module keeps
no state.
"""

from __future__ import annotations

from percl.media.grammar.errors import GrammarError
from percl.media.grammar.recognizer import Grammar
from percl.media.grammar.srgs import compile_grxml
from percl.percl.commands.base import BUILTIN_GRAMMARS

BUILTIN_NAMES: tuple[str, ...] = BUILTIN_GRAMMARS  # one list: the PerCL validator accepts exactly these

NATO = (
    "alpha", "alfa", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
    "juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango",
    "uniform", "victor", "whiskey", "whisky", "x-ray", "xray", "yankee", "zulu",
)  # fmt: skip
YES_PHRASES = (
    "yes", "yeah", "yea", "yep", "yup", "ya", "sure", "correct", "right", "that's right", "that is right",
    "that's correct", "that is correct", "affirmative", "ok", "okay", "absolutely", "of course",
    "certainly", "definitely", "uh huh", "yes it is", "it is", "yes i do", "i do",
)  # fmt: skip
NO_PHRASES = (
    "no", "nope", "nah", "no way", "negative", "incorrect", "wrong", "not really", "that's wrong",
    "that is wrong", "that's not right", "that is not right", "that's incorrect", "absolutely not",
    "of course not", "certainly not", "definitely not", "it is not", "it isn't", "no it isn't",
    "no it is not", "i don't", "no i don't",
)  # fmt: skip
COURTESIES = ("please", "thanks", "thank you", "sir", "ma'am")
DIGIT_RANGES: dict[str, str] = {
    **{f"DIG{n}": str(n) for n in range(1, 12)},
    "ANY_DIG": "1-",
    "UP_TO_20_DIGIT_SEQUENCE": "1-20",
}

_HEAD = (
    '<grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" xml:lang="en-US" '
    'tag-format="semantics/1.0" mode="{mode}" root="main">'
)


def _document(mode: str, *rules: str) -> str:
    return _HEAD.format(mode=mode) + "".join(rules) + "</grammar>"


def _one_of(rule_id: str, items: dict[str, str]) -> str:
    """A rule matching any key of `items`, with the mapped value as its result."""
    body = "".join(f'<item>{said}<tag>out="{value}";</tag></item>' for said, value in items.items())
    return f'<rule id="{rule_id}"><one-of>{body}</one-of></rule>'


_DIGITS = _one_of("digit", {str(d): str(d) for d in range(10)})


def _repeated(repeat: str, rule_id: str) -> str:
    return (
        '<rule id="main" scope="public"><tag>out="";</tag>'
        f'<item repeat="{repeat}"><ruleref uri="#{rule_id}"/><tag>out+=rules.{rule_id};</tag></item></rule>'
    )


def _digit_grammar(repeat: str) -> Grammar:
    voice = compile_grxml(_document("voice", _repeated(repeat, "digit"), _DIGITS))
    dtmf = compile_grxml(_document("dtmf", _repeated(repeat, "digit"), _DIGITS))
    return Grammar(voice=voice.voice, dtmf=dtmf.dtmf)


def _alphnum6() -> Grammar:
    letters = {chr(c): chr(c).upper() for c in range(ord("a"), ord("z") + 1)}
    letters |= {word: word.replace("-", "")[0].upper() for word in NATO}
    char = (
        '<rule id="char"><one-of><item><ruleref uri="#digit"/></item>'
        '<item><ruleref uri="#letter"/></item></one-of></rule>'
    )
    rules = (_repeated("6", "char"), char, _DIGITS, _one_of("letter", letters))
    voice = compile_grxml(_document("voice", *rules))
    dtmf = compile_grxml(_document("dtmf", _repeated("6", "digit"), _DIGITS))
    return Grammar(voice=voice.voice, dtmf=dtmf.dtmf)


def _phrases(rule_id: str, phrases: tuple[str, ...]) -> str:
    items = "".join(f"<item>{p}</item>" for p in phrases)
    return f'<rule id="{rule_id}"><one-of>{items}</one-of></rule>'


def _yes_no() -> Grammar:
    main = (
        '<rule id="main" scope="public"><one-of>'
        '<item><ruleref uri="#yes"/><tag>out="yes";</tag></item>'
        '<item><ruleref uri="#no"/><tag>out="no";</tag></item>'
        '</one-of><item repeat="0-1"><ruleref uri="#courtesy"/></item></rule>'
    )
    rules = (_phrases("yes", YES_PHRASES), _phrases("no", NO_PHRASES), _phrases("courtesy", COURTESIES))
    voice = compile_grxml(_document("voice", main, *rules))
    dtmf = compile_grxml(_document("dtmf", _one_of("main", {"1": "yes", "2": "no"})))
    return Grammar(voice=voice.voice, dtmf=dtmf.dtmf)


def builtin_grammar(name: str) -> Grammar:
    """The builtin grammar `name` (GetSpeech ``grammarFile`` with ``grammarType: BUILTIN``).

    Names are FreeClimb's (``DIG4``, ``VERSAY_YESNO``...), case-insensitive; any other name raises
    GrammarError listing the builtins.
    """
    key = name.strip().upper()
    if key in DIGIT_RANGES:
        return _digit_grammar(DIGIT_RANGES[key])
    if key == "ALPHNUM6":
        return _alphnum6()
    if key == "VERSAY_YESNO":
        return _yes_no()
    raise GrammarError(f"unknown builtin grammar {name!r} (builtins: {', '.join(BUILTIN_NAMES)})")
