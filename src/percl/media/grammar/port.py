"""The engine's Recognizer port (engine.ports.Recognizer), implemented with this package.

app.py hands a `GrammarRecognizer` to the EngineContext; the engine fetches a GetSpeech grammar,
compiles it here once, caches the result, and asks it to recognise each utterance.
"""

from __future__ import annotations

from percl.engine.ports import Heard
from percl.media.grammar.builtin import builtin_grammar
from percl.media.grammar.recognizer import Grammar
from percl.media.grammar.srgs import compile_grxml


class CompiledGrammar:
    """A compiled Grammar as the engine's SpeechGrammar: voice utterances only (GetSpeech ends
    at the first key, so the DTMF part of a grammar is not used)."""

    def __init__(self, grammar: Grammar) -> None:
        self.grammar = grammar

    def recognize(self, utterance: str) -> Heard:
        found = self.grammar.recognize(utterance)
        return Heard(found.matched, found.result, found.confidence)

    def phrases(self, limit: int = 500) -> list[str] | None:
        return self.grammar.phrases(limit)

    def __repr__(self) -> str:
        return f"CompiledGrammar({self.grammar!r})"


class GrammarRecognizer:
    """Implements engine.ports.Recognizer. Raises GrammarError (a PerclError) as the port says."""

    def compile(self, document: bytes, rule: str | None) -> CompiledGrammar:
        return CompiledGrammar(compile_grxml(document, rule))

    def builtin(self, name: str) -> CompiledGrammar:
        return CompiledGrammar(builtin_grammar(name))
