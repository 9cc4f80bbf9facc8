"""Helpers for the grammar tests: the fixture directory and small grammar builders."""

from __future__ import annotations

from pathlib import Path

from percl.media.grammar import Grammar, compile_grxml

DATA = Path(__file__).resolve().parents[2] / "data" / "grammar"
SRGS = "http://www.w3.org/2001/06/grammar"


def grxml(
    rules: str, *, root: str | None = "main", tag_format: str | None = "semantics/1.0", mode: str = "voice"
) -> str:
    """A grammar document around `rules` (raw <rule> elements)."""
    attrs = f'xmlns="{SRGS}" version="1.0" xml:lang="en-US" mode="{mode}"'
    if root is not None:
        attrs += f' root="{root}"'
    if tag_format is not None:
        attrs += f' tag-format="{tag_format}"'
    return f"<grammar {attrs}>{rules}</grammar>"


def rule(body: str, *, rule_id: str = "main", scope: str = "public") -> str:
    return f'<rule id="{rule_id}" scope="{scope}">{body}</rule>'


def one_rule(body: str, *, tag_format: str | None = "semantics/1.0", mode: str = "voice",
             extra: str = "") -> Grammar:
    """A grammar whose root rule `main` is `body`, plus the raw rules in `extra`."""
    return compile_grxml(grxml(rule(body) + extra, tag_format=tag_format, mode=mode))


def load(name: str, rule_name: str | None = None) -> Grammar:
    """A fixture grammar from tests/data/grammar, compiled from its bytes as a fetched file would be."""
    return compile_grxml((DATA / name).read_bytes(), rule_name)
