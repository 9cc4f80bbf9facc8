"""Grammars for GetSpeech: fetch (GET, as FreeClimb does), compile, cache; recognise an utterance.

The session performs the interpreter's LoadGrammar and Recognize actions with these two functions.
Compiling is the Recognizer port's job (media/grammar/port.py); fetching goes through the Fetcher
port, so a grammar the test kit's in-process app serves is fetched in-process.

Why a cache (grammar_cache.py): every GetSpeech of every call would otherwise GET and compile the
same document. Compiled grammars are immutable, so legs share them. Entries are keyed by (URL, grammarRule),
kept `grammar_cache_ttl_s` (default 5 s, like FreeClimb's Play files without Cache-Control) so an
edited grammar is seen soon, and at most `grammar_cache_size` of them (least recently used goes
first). Builtins never change and never expire. Failures are not cached: the next GetSpeech
tries again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from percl.engine.grammar_cache import GrammarKey
from percl.engine.ports import MediaSession, SpeechGrammar
from percl.errors import PerclError
from percl.percl import actions as a
from percl.percl import events as e

if TYPE_CHECKING:
    from percl.engine.context import EngineContext

#: MRCP completion causes (RFC 6787 §9.4.11) reported in getSpeech.completionCause.
URI_FAILURE = "uri-failure"
COMPILE_FAILURE = "grammar-compilation-failure"
RECOGNIZER_ERROR = "recognizer-error"


async def load_grammar(ctx: EngineContext, action: a.LoadGrammar,
                       media: MediaSession | None = None) -> e.GrammarLoaded:
    """Perform LoadGrammar: the compiled grammar, or the problem (naming the URL) and its MRCP
    completion cause. Never raises for what the app serves or names. A grammar that is ready
    tells `media` (the leg's) what its recogniser should listen for."""
    found = await _compiled(ctx, action)
    if isinstance(found, e.GrammarLoaded):
        return found
    if media is not None:
        media.expect_speech(found)
    return e.GrammarLoaded(action.token, found)


async def _compiled(ctx: EngineContext, action: a.LoadGrammar) -> SpeechGrammar | e.GrammarLoaded:
    """The grammar (cached or compiled now), or the GrammarLoaded saying what is wrong."""
    token, builtin = action.token, action.grammar_type == "BUILTIN"
    key: GrammarKey = (action.grammar_type, action.grammar_file, None if builtin else action.grammar_rule)
    cached = ctx.grammars.get(key, ctx.clock.now())
    if cached is not None:
        return cached
    recognizer = ctx.recognizer
    if recognizer is None:
        return e.GrammarLoaded(token, problem="speech recognition is not available on this platform",
                               cause=RECOGNIZER_ERROR)
    if builtin:
        try:
            grammar = recognizer.builtin(action.grammar_file)
        except PerclError as exc:
            return e.GrammarLoaded(token, problem=f"builtin grammar {action.grammar_file}: {exc}",
                                   cause=COMPILE_FAILURE)
        ctx.grammars.put(key, grammar, None, ctx.settings.grammar_cache_size)
        return grammar
    return await _load_url(ctx, action, key)


async def _load_url(ctx: EngineContext, action: a.LoadGrammar,
                    key: GrammarKey) -> SpeechGrammar | e.GrammarLoaded:
    url, token = action.grammar_file, action.token
    if ctx.fetcher is None:
        return e.GrammarLoaded(token, problem=f"grammar {url} cannot be fetched: no fetcher is "
                               "configured", cause=URI_FAILURE)
    fetched = await ctx.fetcher.fetch(url)
    if not fetched.ok:
        return e.GrammarLoaded(token, problem=f"GET {url} failed: {fetched.error or 'no answer'}",
                               cause=URI_FAILURE)
    assert ctx.recognizer is not None  # checked by the caller
    try:
        grammar = ctx.recognizer.compile(fetched.body, action.grammar_rule)
    except PerclError as exc:
        return e.GrammarLoaded(token, problem=f"grammar {url} cannot be used: {exc}",
                               cause=COMPILE_FAILURE)
    except Exception as exc:  # a recogniser bug: this GetSpeech reports error, the call goes on
        return e.GrammarLoaded(token, problem=f"grammar {url} could not be compiled (internal "
                               f"error: {exc!r})", cause=RECOGNIZER_ERROR)
    settings = ctx.settings
    ctx.grammars.put(key, grammar, ctx.clock.now() + settings.grammar_cache_ttl_s,
                     settings.grammar_cache_size)
    return grammar


def recognize(action: a.Recognize) -> e.Recognized:
    """Perform Recognize with the grammar LoadGrammar delivered (a SpeechGrammar)."""
    heard = action.grammar.recognize(action.utterance)
    return e.Recognized(action.token, heard.matched, heard.result, heard.confidence)
