"""docs/testing.md stays runnable: its files are the examples' files, its async example runs."""

from __future__ import annotations

import re
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from percl.testing import Harness, pytest_plugin

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "testing.md").read_text()
FILE_BLOCK = re.compile(r"<!-- file: (?P<path>[\w/.]+) -->\n```python\n(?P<code>.*?)```\n", re.S)


def test_the_walkthrough_shows_every_example_file_verbatim() -> None:
    blocks = {m["path"]: m["code"] for m in FILE_BLOCK.finditer(DOC)}
    example_files = {str(p.relative_to(ROOT)) for p in (ROOT / "examples/flask_ivr").glob("*.py")}
    assert set(blocks) == example_files
    for path, code in blocks.items():
        assert code == (ROOT / path).read_text(), f"docs/testing.md is out of date for {path}"


def _section_code(title: str) -> str:
    section = DOC.split(f"### {title}\n", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, f"no python block under {title}"
    return match.group(1)


async def test_the_async_example_runs() -> None:
    namespace: dict[str, Any] = {}
    exec(compile(_section_code("Async tests"), "docs/testing.md", "exec"), namespace)
    async with Harness() as h:
        await namespace["test_pin_entry"](h)
        assert h.webhooks(path="/pin")[0].body["digits"] == "1234"


def test_the_plugin_is_registered_through_pytest11(pytestconfig: pytest.Config) -> None:
    points = entry_points(group="pytest11")
    assert [p.value for p in points if p.name == "percl"] == ["percl.testing.pytest_plugin"]
    plugin = pytestconfig.pluginmanager.get_plugin("percl")
    assert plugin is pytest_plugin
    assert {"percl", "freeclimb_api", "percl_harness"} <= set(vars(pytest_plugin))
