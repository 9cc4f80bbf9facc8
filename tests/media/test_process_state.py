"""Process-wide media state: one default synthesizer and one recogniser per process, whichever
threads ask first, and importing percl.media loads no engine, model or speech library."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType

import pytest

from percl.media.asr import sphinx
from percl.media.tts import espeak


class _SpyLock:
    """A lock that reports when a second thread has to wait for it."""

    def __init__(self, waiting: threading.Event) -> None:
        self._lock = threading.Lock()
        self._waiting = waiting

    def __enter__(self) -> _SpyLock:
        if not self._lock.acquire(blocking=False):
            self._waiting.set()
            self._lock.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def _two_first_callers(monkeypatch: pytest.MonkeyPatch, module: ModuleType, factory: str,
                       getter: Callable[[], object]) -> tuple[list[object], int]:
    """Two threads call `getter` on a fresh process state while the first is still building the
    default (its `factory` blocks until the second thread has arrived: waiting on the lock, or
    building a second default). Returns what each got and how many defaults were built."""
    inside, arrived = threading.Event(), threading.Event()
    built: list[object] = []

    def slow_factory(*args: object, **kwargs: object) -> object:
        built.append(object())
        if len(built) == 1:
            inside.set()
            assert arrived.wait(10), "the second caller never arrived"
        else:
            arrived.set()
        return built[-1]

    monkeypatch.setattr(module, "_default", None)
    monkeypatch.setattr(module, "_default_lock", _SpyLock(arrived))
    monkeypatch.setattr(module, factory, slow_factory)
    with ThreadPoolExecutor(2) as pool:
        one = pool.submit(getter)
        assert inside.wait(10)  # the first caller is building the default: now the second asks
        two = pool.submit(getter)
        got = [one.result(timeout=10), two.result(timeout=10)]
    return got, len(built)


def test_threads_asking_first_share_one_default_synthesizer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(espeak, "CachedSynthesizer", lambda inner: inner)
    got, built = _two_first_callers(monkeypatch, espeak, "EspeakSynthesizer", espeak.default_synthesizer)
    assert built == 1 and got[0] is got[1]


def test_threads_asking_first_share_one_default_recognizer(monkeypatch: pytest.MonkeyPatch) -> None:
    got, built = _two_first_callers(monkeypatch, sphinx, "PocketsphinxRecognizer", sphinx.default_recognizer)
    assert built == 1 and got[0] is got[1]


def test_importing_every_media_module_loads_no_engine_model_or_library() -> None:
    code = (
        "import importlib, pkgutil, sys, percl.media\n"
        "for m in pkgutil.walk_packages(percl.media.__path__, 'percl.media.'):\n"
        "    importlib.import_module(m.name)\n"
        "maps = open('/proc/self/maps').read()\n"
        "print(sorted(n for n in ('pocketsphinx', 'espeakng_loader') if n in sys.modules),"
        " 'espeak-ng' in maps, 'pocketsphinx' in maps)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[] False False"
