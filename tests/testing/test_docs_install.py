"""docs/testing.md's install steps work for percl as it is distributed (not on PyPI), and its
async example says how pytest-asyncio must be configured."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "testing.md").read_text()


def _install_section() -> str:
    return DOC.split("## Install\n", 1)[1].split("\n## ", 1)[0]


def test_install_is_from_a_clone_or_a_wheel_not_from_pypi() -> None:
    install = _install_section()
    assert 'pip install -e "path/to/percl[testing]" flask' in install
    assert "make dist" in install and "dist/percl-0.1.0-py3-none-any.whl[testing]" in install
    assert not re.search(r'pip install "percl\[testing\]"', DOC)  # percl is not on PyPI
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert f"percl-{version}-py3-none-any.whl" in install
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^dist: ", makefile, re.M) and "--wheel-dir dist" in makefile


def test_testing_extra_brings_pytest_asyncio() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    names = {re.split(r"[<>=!~ \[]", req, maxsplit=1)[0] for req in extras["testing"]}
    assert {"pytest", "freeclimb", "pytest-asyncio"} <= names


def test_the_async_example_shows_asyncio_mode_next_to_it() -> None:
    section = DOC.split("### Async tests\n", 1)[1].split("\n## ", 1)[0]
    ini = re.search(r"```ini\n(.*?)```", section, re.S)
    assert ini is not None and ini.start() < section.index("```python")
    assert ini.group(1).splitlines() == ["[pytest]", "asyncio_mode = auto",
                                         "asyncio_default_fixture_loop_scope = function"]
