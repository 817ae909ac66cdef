"""Presets are data: a JSON file per preset names its format, numbers and rules (RULES.md IDs).

Resolution order: preset base < the preset's `kinds[kind]` block < fields of the `session` line.
`rules` merge per rule at each step, so a kind block or a session line changes one number of one
rule (e.g. qualifying turns LM-MIN-PIT's 1 lap into +5 s on best lap) without restating the rest.
Adding a championship means adding a JSON file (and rule classes if its rules are new), never an
engine change.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from service.errors import Invalid
from service.text import fold

PRESET_DIR = Path(__file__).parent
BEST_LAP_KINDS = frozenset({"practice", "qualifying"})


class PresetError(Invalid):
    """A preset name the catalogue does not have."""


def norm(name: Any) -> str:
    """Category names match case- and accent-insensitively (scenario.md): `Féminines` = `feminines`.

    `service.text.fold` is the one folding helper (cached); this only accepts any value (None, numbers).
    """
    return fold(str(name or ""))


@cache
def _load(name: str) -> dict[str, Any]:
    """A preset by name from the catalogue only: a name is never used as a path (no traversal)."""
    if not isinstance(name, str) or name not in available():
        raise PresetError("preset.unknown", name=name, known=", ".join(available()))
    return json.loads((PRESET_DIR / f"{name}.json").read_text(encoding="utf-8"))


@cache
def _catalogue() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in PRESET_DIR.glob("*.json")))


def available() -> list[str]:
    return list(_catalogue())


def describe() -> list[dict[str, Any]]:
    return [{"name": n, "description": _load(n).get("description", "")} for n in available()]


def resolve(session: dict[str, Any] | None) -> dict[str, Any]:
    """Effective parameters of a session: preset, then its kind block, then the session line."""
    session = dict(session or {})
    name = session.get("preset") or "generic-timed"
    base = json.loads(json.dumps(_load(name)))  # deep copy of cached data
    kind = session.get("kind") or base.get("default_kind", "race")
    params = {k: v for k, v in base.items() if k != "kinds"}
    for layer in (base.get("kinds", {}).get(kind, {}), session):
        for k, v in layer.items():
            if k == "rules" and isinstance(v, dict):  # per-rule overrides merge (kind block, session)
                merged = dict(params.get("rules", {}))
                for rid, rp in v.items():
                    old = merged.get(rid)
                    merged[rid] = {**old, **rp} if isinstance(rp, dict) and isinstance(old, dict) else rp
                params["rules"] = merged
            elif k != "type":
                params[k] = v
    params["preset"], params["kind"] = name, kind
    if "format" not in params or kind in BEST_LAP_KINDS:
        params["format"] = "best_lap" if kind in BEST_LAP_KINDS else params.get("format", "timed")
    params.setdefault("min_lap_s", 10)
    params.setdefault("penalty_policy", "applied")
    params.setdefault("rules", {})
    return params


def kinds(name: str) -> dict[str, dict[str, Any]]:
    """A preset's session kinds as declared (`kinds` block), e.g. AX-LENGTH laps per kind."""
    return json.loads(json.dumps(_load(name).get("kinds", {})))  # deep copy of cached data


def divisions(name: str) -> dict[str, tuple[int, int]]:
    """A preset's divisions in run order, each with its race-number range (e.g. auto-cross, RULES.md
    section 3): the one table the meeting checks and the simulator both read."""
    return {d: (int(lo), int(hi)) for d, (lo, hi) in _load(name).get("divisions", {}).items()}
