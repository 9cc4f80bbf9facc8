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
    "percl": {"domain", "errors"},
    "engine": {"percl", "domain", "errors"},
    "webhooks": {"engine.ports", "domain", "percl", "errors"},
    "store": {"engine.ports", "domain", "percl", "errors"},
    "media": {"engine.ports", "domain", "percl", "errors"},
    "telephony": {"engine.ports", "domain", "percl", "errors", "media"},
    "api": {"engine", "store.base", "domain", "percl", "errors"},
    "simapi": {"engine", "store.base", "domain", "percl", "errors", "api.auth"},
    "console": {"engine", "store.base", "domain", "percl", "errors"},
    "config": {"engine", "domain", "errors"},
    "app": {"api", "simapi", "console", "config", "domain", "engine", "store", "telephony", "webhooks",
            "media", "percl", "errors"},
    "cli": {"app", "config", "domain", "errors", "engine", "api", "percl"},
    "testing": {"app", "config", "domain", "engine", "store", "telephony", "webhooks", "media",
                "percl", "errors", "api", "simapi"},
}
NO_IO_IN_LANGUAGE = {"asyncio", "httpx", "aiohttp", "time"}


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
        elif importer == "percl" and name.split(".")[0] in NO_IO_IN_LANGUAGE:
            bad.append(name)
    assert not bad, f"{path.relative_to(SRC)} ({importer}) must not import {bad}"


def test_rules_cover_every_package() -> None:
    packages = {_package(p) for p in MODULES}
    assert packages <= set(ALLOWED)
    assert {"engine", "percl", "api", "webhooks", "telephony", "store"} <= packages
