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
    # AudioStream's agents (gRPC, WebSocket): an adapter like webhooks; config for its settings
    "streaming": {"engine.ports", "domain", "percl", "errors", "media", "runtime", "config"},
    "api": {"engine", "store.base", "domain", "percl", "errors", "runtime"},
    # simapi mounts the network's control surface, never the network itself
    "simapi": {"engine", "store.base", "domain", "percl", "errors", "api.auth", "telephony.sim.control"},
    "console": {"engine", "store.base", "domain", "percl", "errors", "runtime"},
    "config": {"engine", "domain", "errors"},
    "app": {"api", "simapi", "console", "config", "domain", "engine", "store", "telephony", "webhooks",
            "media", "percl", "errors", "runtime", "streaming"},
    "cli": {"app", "config", "domain", "errors", "engine", "api", "percl", "runtime"},
    "testing": {"app", "config", "domain", "engine", "store", "telephony", "webhooks", "media",
                "percl", "errors", "api", "simapi", "runtime", "streaming"},
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


# ----------------------------------------------------------------- engine/ by concept

ENGINE = SRC / "engine"
#: A concept with several modules is a sub-package, not a family of prefixed files.
CONCEPTS = {"session", "conference", "queue", "messaging", "ports", "workers"}


def _module_name(path: Path) -> str:
    parts = ("percl", *path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _engine_graph() -> dict[str, set[str]]:
    """percl.engine module -> the percl.engine modules it imports, every import counted: those
    under `if TYPE_CHECKING:` too, since a type-only circle is still two modules that cannot be
    understood (or moved) one without the other. `from pkg import name` points at the submodule
    `pkg.name` when there is one, else at `pkg` itself. Importing `pkg.mod` from outside `pkg` runs
    `pkg/__init__` first, so that is an edge too; a module's own packages are not (they are already
    running when it is imported)."""
    paths = {_module_name(p): p for p in ENGINE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    targets.add(sub if sub in paths else node.module)
        own = _ancestors(name) | ({name} if path.name == "__init__.py" else set())
        targets |= {pkg for t in targets for pkg in _ancestors(t) - own}
        graph[name] = {t for t in targets if t in paths and t != name}
    return graph


def _ancestors(module: str) -> set[str]:
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circles_inside_the_engine() -> None:
    assert _cycles(_engine_graph()) == []


def test_the_session_is_named_only_by_its_owner() -> None:
    """The modules beside the CallSession decide without it (STYLE.md: no helper reaching back
    into the session); the services see a leg through runners.Leg. Only the CallService (calls.py),
    which creates and runs sessions, imports the class."""
    session = "percl.engine.session.session"
    graph = _engine_graph()
    assert sorted(m for m in graph if session in graph[m]) == ["percl.engine.calls"]


def test_the_cycle_finder_finds_circles() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    graph = _engine_graph()
    assert "percl.engine.conference.service" in graph["percl.engine.conference"]
    # importing a module runs its packages' __init__ first (unless the importer is inside them)
    assert "percl.engine.queue" in graph["percl.engine.service"]
    assert "percl.engine.conference" not in graph["percl.engine.conference.room"]


def test_engine_concepts_are_sub_packages() -> None:
    flat = sorted(p.name for p in ENGINE.glob("*.py")
                  if any(p.stem.startswith(c) for c in CONCEPTS))
    assert flat == [], f"engine/ modules of a concept belong in its sub-package: {flat}"
    assert all((ENGINE / c / "__init__.py").is_file() for c in CONCEPTS)
