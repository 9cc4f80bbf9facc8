"""The one error the grammar package raises on purpose."""

from __future__ import annotations

from percl.errors import PerclError


class GrammarError(PerclError):
    """A grammar that cannot be used: malformed XML, a missing or unknown rule, an unsupported construct.

    Raised only while compiling (``compile_grxml``, ``builtin_grammar``); recognising with a compiled
    grammar never raises it. The message names the problem and, where there is one, the rule. The
    GetSpeech runner reports it as reason ``error`` and writes the message to the call log.
    """
