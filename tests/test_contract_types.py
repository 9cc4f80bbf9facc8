"""The types that carry work between layers say exactly what they hold (STYLE.md: no Any in ports,
actions and events). Checked by walking each module's syntax tree, like test_architecture.py."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "percl"

#: Modules (or packages) whose types are the contract between layers: precise unions and
#: dataclasses, never Any. engine/ports joins this list once it is free of Any.
NO_ANY = ("percl/actions.py", "percl/events.py", "domain/payloads.py", "domain/json.py", "engine/ports")


def _mentions_any(path: Path) -> list[str]:
    """Where `path` imports or names typing.Any (an attribute `typing.Any` included)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "typing":
            found += [f"line {node.lineno}: import Any" for a in node.names if a.name == "Any"]
        elif isinstance(node, ast.Name) and node.id == "Any":
            found.append(f"line {node.lineno}: Any")
        elif isinstance(node, ast.Attribute) and node.attr == "Any":
            found.append(f"line {node.lineno}: .Any")
    return found


@pytest.mark.parametrize("module", NO_ANY)
def test_contract_modules_have_no_any(module: str) -> None:
    path = SRC / module
    assert path.exists(), f"{module} moved: update NO_ANY"
    files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
    found = {str(f.relative_to(SRC)): _mentions_any(f) for f in files}
    assert not any(found.values()), f"Any in {module}: {found}"


def test_the_check_sees_any_in_its_three_spellings(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text("import typing\nfrom typing import Any\nx: Any\ny: typing.Any\n")
    assert len(_mentions_any(sample)) == 3
    sample.write_text("from typing import Literal\nx: Literal['Any']\n")
    assert _mentions_any(sample) == []
