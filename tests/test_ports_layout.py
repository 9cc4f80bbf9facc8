"""engine/ports is a package of small modules: each imports only ports, domain and errors, and
tests/test_contract_types.py keeps Any out of them."""

from __future__ import annotations

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
