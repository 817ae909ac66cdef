"""Shared test helpers: where shared/ is, and writing small scenario files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"shared/ not found beside the repo at {SHARED}")
    return SHARED


def write_scenario(path: Path, lines: list[dict]) -> Path:
    path.write_text("".join(json.dumps(ln) + "\n" for ln in lines), encoding="utf-8")
    return path


def passings(transponder: str, times: list[float], loop: str = "finish") -> list[dict]:
    return [{"type": "passing", "t": t, "transponder": transponder, "loop": loop} for t in times]


def by_time(lines: list[dict]) -> list[dict]:
    head = [ln for ln in lines if ln["type"] in ("session", "entry")]
    rest = sorted((ln for ln in lines if ln["type"] not in ("session", "entry")), key=lambda ln: ln["t"])
    return head + rest
