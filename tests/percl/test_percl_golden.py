"""Golden PerCL documents: good/*.json parse and round-trip; bad/*.json fail at the stated path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from percl.errors import PerclScriptError
from percl.percl import COMMANDS, parse_script, serialize_script

DATA = Path(__file__).resolve().parent.parent / "data" / "percl"
GOOD = sorted((DATA / "good").glob("*.json"))
BAD = sorted((DATA / "bad").glob("*.json"))


def _names(document: list[dict[str, Any]]) -> set[str]:
    names: set[str] = set()
    for element in document:
        ((name, attributes),) = element.items()
        names.add(name)
        names |= _names(attributes.get("prompts", []))
    return names


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_good_document_round_trips(path: Path) -> None:
    raw = path.read_bytes()
    document = json.loads(raw)
    script = parse_script(raw)
    assert len(script.commands) == len(document)
    # dict equality ignores key order, which is what "modulo attribute order" means
    assert serialize_script(script) == document


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_document_fails_at_path(path: Path) -> None:
    case = json.loads(path.read_text())
    with pytest.raises(PerclScriptError) as info:
        parse_script(case["document"])
    assert info.value.path == case["path"]
    assert case["problem_contains"] in info.value.problem


def test_good_set_covers_every_command() -> None:
    seen: set[str] = set()
    for path in GOOD:
        seen |= _names(json.loads(path.read_text()))
    assert seen == set(COMMANDS)


def test_good_set_covers_every_attribute() -> None:
    seen: dict[str, set[str]] = {name: set() for name in COMMANDS}

    def walk(document: list[dict[str, Any]]) -> None:
        for element in document:
            ((name, attributes),) = element.items()
            seen[name] |= set(attributes)
            walk(attributes.get("prompts", []))

    for path in GOOD:
        walk(json.loads(path.read_text()))
    for name, cls in COMMANDS.items():
        wire = {info.alias or field for field, info in cls.model_fields.items()}
        assert wire <= seen[name], f"{name} attributes never exercised: {wire - seen[name]}"


def test_there_are_enough_bad_cases() -> None:
    assert len(BAD) >= 30
