"""The code style is `ruff format`'s and the lint is `ruff check`'s, checked here as well as by `make lint`.

A change that is not formatted fails the suite, so the tree never drifts back into a hand style.
"""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--no-cache", "."],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_tree_is_formatted_by_ruff() -> None:
    out = _ruff("format", "--check")
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_tree_passes_ruff_check() -> None:
    out = _ruff("check")
    assert out.returncode == 0, out.stdout + out.stderr
