"""engine/grammars.py: LoadGrammar (fetch, compile, cache) and Recognize, with a counting fetcher,
the real Recognizer adapter and a FakeClock."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from percl.engine.context import EngineContext, EngineSettings
from percl.engine.grammar_cache import GrammarCache
from percl.engine.grammars import (
    COMPILE_FAILURE,
    RECOGNIZER_ERROR,
    URI_FAILURE,
    load_grammar,
    recognize,
)
from percl.engine.ports import Fetched, Heard
from percl.media.grammar.port import GrammarRecognizer
from percl.percl import actions as a
from percl.percl import events as e
from percl.testing.clock import FakeClock

MENU = (Path(__file__).resolve().parents[1] / "data" / "grammar" / "menu_ms.grxml").read_bytes()
URL = "https://app.example.com/menu.grxml"
RECOGNIZER = GrammarRecognizer()


class CountingFetcher:
    def __init__(self, answers: dict[str, Fetched]) -> None:
        self.answers = answers
        self.fetched: list[str] = []

    async def fetch(self, url: str) -> Fetched:
        self.fetched.append(url)
        return self.answers.get(url, Fetched(url, 404, b"", error="HTTP 404"))


def context(fetcher: Any = None, *, recognizer: Any = RECOGNIZER, **settings: Any) -> EngineContext:
    none: Any = None
    return EngineContext(store=none, clock=FakeClock(), ids=none, telephony=none, webhooks=none,
                         logs=none, settings=dataclasses.replace(EngineSettings(), **settings),
                         fetcher=fetcher, recognizer=recognizer)


def served(body: bytes = MENU) -> CountingFetcher:
    return CountingFetcher({URL: Fetched(URL, 200, body, "application/srgs+xml")})


async def load(ctx: EngineContext, url: str = URL, rule: str | None = None,
               token: int = 7) -> e.GrammarLoaded:
    return await load_grammar(ctx, a.LoadGrammar(token, "URL", url, rule))


async def test_fetched_grammar_recognises() -> None:
    ctx = context(served())
    done = await load(ctx)
    assert done.token == 7 and done.problem is None and done.grammar is not None
    heard = recognize(a.Recognize(9, done.grammar, "um billing please"))
    assert heard == e.Recognized(9, True, "BILLING", 100)
    assert recognize(a.Recognize(9, done.grammar, "pizza")) == e.Recognized(9, False, "", 0)


async def test_grammars_are_cached_per_url_and_rule_until_the_ttl() -> None:
    fetcher = served()
    ctx = context(fetcher, grammar_cache_ttl_s=5.0)
    first = await load(ctx)
    again = await load(ctx)
    assert again.grammar is first.grammar and fetcher.fetched == [URL]
    other_rule = await load(ctx, rule="POLITE")  # another rule is another grammar
    assert other_rule.grammar is not first.grammar and fetcher.fetched == [URL, URL]
    clock = ctx.clock
    assert isinstance(clock, FakeClock)
    await clock.advance(5.0)
    refreshed = await load(ctx)
    assert refreshed.grammar is not first.grammar and len(fetcher.fetched) == 3


async def test_the_cache_is_bounded() -> None:
    urls = [f"https://app.example.com/g{i}.grxml" for i in range(4)]
    fetcher = CountingFetcher({u: Fetched(u, 200, MENU) for u in urls})
    ctx = context(fetcher, grammar_cache_size=2)
    for u in urls:
        await load(ctx, u)
    assert len(ctx.grammars) == 2
    await load(ctx, urls[3])  # the most recent stayed
    await load(ctx, urls[0])  # the oldest went
    assert fetcher.fetched == [*urls, urls[0]]


async def test_size_zero_turns_the_cache_off() -> None:
    fetcher = served()
    ctx = context(fetcher, grammar_cache_size=0)
    await load(ctx)
    await load(ctx)
    assert len(fetcher.fetched) == 2 and len(ctx.grammars) == 0


async def test_failures_are_not_cached() -> None:
    fetcher = CountingFetcher({})
    ctx = context(fetcher)
    done = await load(ctx)
    assert done.grammar is None and done.cause == URI_FAILURE
    assert done.problem == f"GET {URL} failed: HTTP 404"
    fetcher.answers[URL] = Fetched(URL, 200, MENU)
    assert (await load(ctx)).grammar is not None and len(fetcher.fetched) == 2


@pytest.mark.parametrize(("body", "rule", "says"), [
    (b"not xml at all", None, "cannot be used"),
    (MENU, "nosuchrule", "nosuchrule"),
])
async def test_a_grammar_that_does_not_compile(body: bytes, rule: str | None, says: str) -> None:
    done = await load(context(served(body)), rule=rule)
    assert done.grammar is None and done.cause == COMPILE_FAILURE
    assert done.problem is not None and URL in done.problem and says in done.problem


async def test_builtins_need_no_fetch_and_never_expire() -> None:
    fetcher = served()
    ctx = context(fetcher, grammar_cache_ttl_s=0.0)
    first = await load_grammar(ctx, a.LoadGrammar(1, "BUILTIN", "DIG4", "ignored"))
    assert recognize(a.Recognize(2, first.grammar, "1 2 3 4")).result == "1234"
    again = await load_grammar(ctx, a.LoadGrammar(3, "BUILTIN", "DIG4"))
    assert again.grammar is first.grammar and fetcher.fetched == []


async def test_an_unknown_builtin_is_a_compile_failure() -> None:
    done = await load_grammar(context(), a.LoadGrammar(1, "BUILTIN", "DIG99"))
    assert done.cause == COMPILE_FAILURE and done.problem is not None and "DIG99" in done.problem


async def test_without_a_fetcher_or_a_recognizer() -> None:
    done = await load(context(None))
    assert done.cause == URI_FAILURE and done.problem is not None and "no fetcher" in done.problem
    done = await load(context(served(), recognizer=None))
    assert done.cause == RECOGNIZER_ERROR and done.grammar is None


def test_cache_entries_expire_at_their_time() -> None:
    cache = GrammarCache()
    grammar: Any = object()
    cache.put(("URL", URL, None), grammar, 10.0, 8)
    assert cache.get(("URL", URL, None), 9.9) is grammar
    assert cache.get(("URL", URL, None), 10.0) is None and len(cache) == 0


def test_recognize_passes_the_ports_answer_on() -> None:
    class Fixed:
        def recognize(self, utterance: str) -> Heard:
            return Heard(True, utterance.upper(), 55)

    assert recognize(a.Recognize(4, Fixed(), "abc")) == e.Recognized(4, True, "ABC", 55)


async def test_a_recogniser_bug_is_reported_as_an_error_not_raised() -> None:
    class Broken:
        def compile(self, document: bytes, rule: str | None) -> Any:
            raise RecursionError("too deep")

    done = await load(context(served(), recognizer=Broken()))
    assert done.cause == RECOGNIZER_ERROR and done.problem is not None and "too deep" in done.problem


class ListeningMedia:
    """The part of a MediaSession LoadGrammar uses: what the recogniser should listen for."""

    def __init__(self) -> None:
        self.expected: list[list[str] | None] = []

    def expect_speech(self, grammar: Any) -> None:
        phrases = None if grammar is None else grammar.phrases()
        self.expected.append(None if phrases is None else list(phrases))


async def test_a_ready_grammar_tells_the_legs_media_what_to_listen_for() -> None:
    class Phrased:
        def recognize(self, utterance: str) -> Heard:
            return Heard(utterance == "yes", utterance, 90)

        def phrases(self, limit: int = 500) -> list[str] | None:
            return ["yes", "no"]

    class Builtins:
        def builtin(self, name: str) -> Any:
            return Phrased()

    media: Any = ListeningMedia()
    ctx = context(recognizer=Builtins())
    done = await load_grammar(ctx, a.LoadGrammar(3, "BUILTIN", "BOOLEAN"), media)
    assert done.grammar is not None and media.expected == [["yes", "no"]]
    await load_grammar(ctx, a.LoadGrammar(4, "BUILTIN", "BOOLEAN"), media)  # cached: told again
    assert media.expected == [["yes", "no"], ["yes", "no"]]
    failed = await load(context(served(b"<not a grammar"), recognizer=RECOGNIZER))
    assert failed.grammar is None


async def test_the_grammar_adapter_forwards_phrases() -> None:
    media: Any = ListeningMedia()
    await load_grammar(context(), a.LoadGrammar(7, "BUILTIN", "VERSAY_YESNO"), media)
    (phrases,) = media.expected
    assert phrases is not None and "yes" in phrases and "no" in phrases
