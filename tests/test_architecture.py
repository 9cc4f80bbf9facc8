"""The import rules of ARCHITECTURE.md, checked by walking every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "percl"

# package -> the percl packages it may import (besides itself). "errors" and "domain" are modules
# or packages directly under percl/.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "domain": {"errors"},
    "runtime": set(),  # asyncio task ownership and the real clock: I/O kept out of domain
    "percl": {"domain", "errors"},
    "engine": {"percl", "domain", "errors", "runtime"},
    "webhooks": {"engine.ports", "domain", "percl", "errors", "runtime"},
    "store": {"engine.ports", "domain", "percl", "errors", "runtime"},
    "media": {"engine.ports", "domain", "percl", "errors", "runtime"},
    "telephony": {"engine.ports", "domain", "percl", "errors", "media", "runtime"},
    "api": {"engine", "store.base", "domain", "percl", "errors", "runtime"},
    # simapi mounts the network's control surface, never the network itself
    "simapi": {"engine", "store.base", "domain", "percl", "errors", "api.auth", "telephony.sim.control"},
    "console": {"engine", "store.base", "domain", "percl", "errors", "runtime"},
    "config": {"engine", "domain", "errors"},
    "app": {"api", "simapi", "console", "config", "domain", "engine", "store", "telephony", "webhooks",
            "media", "percl", "errors", "runtime"},
    "cli": {"app", "config", "domain", "errors", "engine", "api", "percl", "runtime"},
    "testing": {"app", "config", "domain", "engine", "store", "telephony", "webhooks", "media",
                "percl", "errors", "api", "simapi", "runtime"},
}
NO_IO = {"asyncio", "httpx", "aiohttp", "time"}
#: Packages that do no I/O: the PerCL language and the shared vocabulary (its clock is a Protocol).
PURE = {"percl", "domain"}


def _package(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    return rel.parts[0] if len(rel.parts) > 1 or rel.parts[0] != "__init__" else ""


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _allowed(importer: str, target: str) -> bool:
    if target == importer or target.startswith(importer + "."):
        return True
    return any(target == rule or target.startswith(rule + ".") for rule in ALLOWED[importer])


MODULES = sorted(p for p in SRC.rglob("*.py") if _package(p))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_module_respects_layering(path: Path) -> None:
    importer = _package(path)
    assert importer in ALLOWED, f"{importer} has no layering rule: add it to ALLOWED"
    bad = []
    for name in _imports(path):
        if name.startswith("percl."):
            target = name.removeprefix("percl.")
            if not _allowed(importer, target):
                bad.append(name)
        elif importer in PURE and name.split(".")[0] in NO_IO:
            bad.append(name)
    assert not bad, f"{path.relative_to(SRC)} ({importer}) must not import {bad}"


def test_rules_cover_every_package() -> None:
    packages = {_package(p) for p in MODULES}
    assert packages <= set(ALLOWED)
    assert {"engine", "percl", "api", "webhooks", "telephony", "store", "domain", "runtime"} <= packages


def test_the_table_says_what_the_layout_means() -> None:
    """The sim API reaches the network only through its control surface; domain and the PerCL
    language do no I/O (task ownership and the real clock live in runtime)."""
    assert _allowed("simapi", "telephony.sim.control.wire")
    assert not _allowed("simapi", "telephony.sim.network")
    assert not _allowed("simapi", "telephony.sim")
    assert {"engine", "telephony"} <= {pkg for pkg, rules in ALLOWED.items() if "runtime" in rules}
    assert not {"domain", "percl"} & {pkg for pkg, rules in ALLOWED.items() if "runtime" in rules}
    assert {"percl", "domain"} <= PURE and "asyncio" in NO_IO
