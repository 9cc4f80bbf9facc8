"""The compiled GetSpeech grammars every leg shares (engine/grammars.py fills it; its module doc
says why there is a cache and how long entries live). Kept apart from grammars.py because the
EngineContext holds it while grammars.py works on the EngineContext."""

from __future__ import annotations

from collections import OrderedDict

from percl.engine.ports import SpeechGrammar

#: (grammarType, grammarFile, grammarRule); the rule is None for builtins.
GrammarKey = tuple[str, str, str | None]


class GrammarCache:
    """Compiled grammars by (grammarType, grammarFile, grammarRule); bounded, with a TTL for URLs.

    Shared by every session through the EngineContext; touched only from the event loop."""

    def __init__(self) -> None:
        self._entries: OrderedDict[GrammarKey, tuple[SpeechGrammar, float | None]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: GrammarKey, now: float) -> SpeechGrammar | None:
        """The cached grammar, or None when absent or expired (then it is dropped)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        grammar, expires = entry
        if expires is not None and now >= expires:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return grammar

    def put(self, key: GrammarKey, grammar: SpeechGrammar, expires: float | None, max_entries: int) -> None:
        """Keep `grammar` until clock time `expires` (None: for good); 0 `max_entries` = no cache."""
        if max_entries <= 0:
            return
        self._entries[key] = (grammar, expires)
        self._entries.move_to_end(key)
        while len(self._entries) > max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()
