"""The benchmarks stand on their own: nothing in bench/ imports the test suite (tests may import bench)."""

from __future__ import annotations

import ast
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    return names


def test_no_bench_module_imports_tests() -> None:
    scripts = sorted(BENCH.glob("*.py"))
    assert len(scripts) > 5
    offenders = {p.name: sorted(m for m in _imported_modules(p) if m == "tests" or m.startswith("tests."))
                 for p in scripts}
    assert {name: mods for name, mods in offenders.items() if mods} == {}
