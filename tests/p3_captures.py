"""Real P3 captures from the shared folder (read in place, never copied into the repo)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

CAPTURES = Path(__file__).resolve().parents[1].parent / "shared" / "spec" / "p3-captures"


@cache
def hex_frames(name: str = "amb-short.hex") -> tuple[bytes, ...]:
    """Wire frames of a .hex capture, one per line."""
    text = (CAPTURES / name).read_text()
    return tuple(bytes.fromhex(line) for line in text.split() if line)


@cache
def prochip_frames() -> tuple[bytes, ...]:
    return tuple(p.read_bytes() for p in sorted((CAPTURES / "prochip-2025").glob("*.bin")))
