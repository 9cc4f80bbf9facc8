"""The README is a quick start that links the reference in docs/; every link resolves, every
official SDK's host change is shown, the settings table lives in one place, and docs/CLI.md
covers every command."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from percl.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
DOCS = {p: p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]}
LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    return {slug(m) for m in re.findall(r"^#+ (.*)$", text, re.M)}


def test_the_quick_start_comes_first_and_the_readme_is_short() -> None:
    lines = README.splitlines()
    assert len(lines) < 200
    start = next(i for i, line in enumerate(lines) if line.startswith("## Quick start"))
    assert start < 20 and "make run" in "\n".join(lines[start:start + 10])
    for doc in ("docs/CLI.md", "docs/REFERENCE.md", "docs/testing.md"):
        assert f"]({doc})" in README
    assert "../" not in README  # nothing outside the repository (the old ../shared/design/...)
    if not (ROOT / "docs" / "ARCHITECTURE.md").exists():
        assert "ARCHITECTURE.md" not in README


@pytest.mark.parametrize("path", sorted(DOCS, key=str), ids=lambda p: p.name)
def test_every_relative_link_resolves(path: Path) -> None:
    for match in LINK.finditer(DOCS[path]):
        target = match["target"]
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        assert resolved.is_relative_to(ROOT), f"{path.name} links outside the repository: {target}"
        assert resolved.exists(), f"{path.name} links a missing file: {target}"
        if anchor and resolved.suffix == ".md":
            assert anchor in anchors(resolved.read_text()), f"{path.name}: no #{anchor} in {file_part}"


def test_the_readme_shows_the_host_change_of_every_official_sdk() -> None:
    for needle in ('Configuration(host="http://127.0.0.1:8600/apiserver"',            # Python
                   "baseServer: new ServerConfiguration('http://127.0.0.1:8600/apiserver', {})",  # Node 3/4
                   "freeclimb.api.setApiUrl('https://127.0.0.1:8600/apiserver')",      # Node 1.x
                   'client.setBasePath("http://127.0.0.1:8600/apiserver")',           # Java
                   'config.BasePath = "http://127.0.0.1:8600/apiserver"',             # C#
                   'config.host = "127.0.0.1:8600"; config.base_path = "/apiserver"',  # Ruby
                   "setHost('http://127.0.0.1:8600/apiserver')"):                     # PHP
        assert needle in README, needle


def test_the_settings_table_is_in_one_place() -> None:
    rows = [p.name for p, text in DOCS.items() for line in text.splitlines()
            if line.startswith("| `PERCL_PORT` |")]
    assert rows == ["REFERENCE.md"]


def _commands(group: click.Group, prefix: str) -> list[str]:
    names = []
    for name, command in group.commands.items():
        names.append(f"{prefix} {name}")
        if isinstance(command, click.Group):
            names += _commands(command, f"{prefix} {name}")
    return names


def test_cli_md_covers_every_command() -> None:
    cli_md = (ROOT / "docs" / "CLI.md").read_text()
    flat = cli_md.replace("/", " ")  # `percl sim press/say/hangup` names three commands
    for name in _commands(cli, "percl"):
        words = name.split()
        found = name in cli_md or any(
            line.startswith(" ".join(words[:-1])) and words[-1] in line.split()
            for line in re.findall(r"`([^`]+)`", flat))
        assert found, f"docs/CLI.md does not mention `{name}`"
