"""Speech recognition on the simulated network: SRGS/GRXML grammars and FreeClimb's builtins.

Pure (no I/O): the GetSpeech runner fetches a grammar document, compiles it once, caches it and
recognises each utterance the virtual phone says::

    grammar = compile_grxml(document, rule=get_speech.grammar_rule)   # raises GrammarError
    grammar = builtin_grammar("DIG4")                                  # raises GrammarError
    outcome = grammar.recognize("five five one two")   # Recognition(matched, text, result, confidence)
    outcome = grammar.recognize_dtmf("5512")
    sentences = grammar.phrases()   # for a speech decoder: the sentences, or None (infinite, > 500)
"""

from percl.media.grammar.builtin import BUILTIN_NAMES, builtin_grammar
from percl.media.grammar.errors import GrammarError
from percl.media.grammar.recognizer import Grammar, Recognition
from percl.media.grammar.srgs import compile_grxml

__all__ = ["BUILTIN_NAMES", "Grammar", "GrammarError", "Recognition", "builtin_grammar", "compile_grxml"]
