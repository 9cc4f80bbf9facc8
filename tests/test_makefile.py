"""`make run` on a fresh clone: the first install shows its progress instead of a silent wait."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_the_first_make_run_says_what_it_installs_and_lets_pip_show_progress() -> None:
    # -n: print the recipes without running them; -B: as on a fresh clone (nothing up to date)
    # Under `make test` this make is a sub-make: keep it from printing "Entering directory".
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    done = subprocess.run(["make", "--no-print-directory", "-n", "-B", "run"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    lines = done.stdout.splitlines()
    installs = [line for line in lines if "pip install" in line]
    assert installs and not any("--quiet" in line or " -q " in line for line in installs)
    assert any(line.startswith('echo "percl: installing percl and its dependencies') for line in lines)
    said = next(i for i, line in enumerate(lines) if "percl: installing" in line)
    assert said < next(i for i, line in enumerate(lines) if "install --progress-bar on -e" in line)
    assert lines[-1].endswith("percl serve --demo")
