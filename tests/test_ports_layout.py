"""engine/ports is a package of small modules: each imports only ports, domain and errors, and
none uses Any (ARCHITECTURE.md "Media-ready ports")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.test_architecture import SRC, _imports

PORTS = SRC / "engine" / "ports"
PORT_MODULES = sorted(PORTS.glob("*.py"))


def test_ports_are_a_package_of_modules() -> None:
    assert (PORTS / "__init__.py").is_file() and not (SRC / "engine" / "ports.py").exists()
    assert len(PORT_MODULES) > 2


@pytest.mark.parametrize("path", PORT_MODULES, ids=lambda p: p.name)
def test_ports_import_only_ports_domain_and_errors(path: Path) -> None:
    """The ports are what adapters depend on: they must not drag the rest of the engine along."""
    allowed = ("percl.engine.ports", "percl.domain", "percl.errors")
    bad = [name for name in _imports(path) if name.startswith("percl.")
           and not any(name == rule or name.startswith(rule + ".") for rule in allowed)]
    assert not bad, f"engine/ports/{path.name} must not import {bad}"


@pytest.mark.parametrize("path", PORT_MODULES, ids=lambda p: p.name)
def test_ports_use_no_any(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    uses = [node.lineno for node in ast.walk(tree)
            if (isinstance(node, ast.Name) and node.id == "Any")
            or (isinstance(node, ast.Attribute) and node.attr == "Any")
            or (isinstance(node, ast.alias) and node.name == "Any")]
    assert not uses, f"engine/ports/{path.name} uses Any on lines {uses}"
