"""The results JSON of shared/spec/scenario.md, and reading scenario files into an engine.

`boucle replay FILE --json` is a fixed contract checked from outside: keep keys and meaning
exactly as scenario.md says. Output is deterministic (sorted rows, fixed key order).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from service.engine import Engine, classify
from service.engine.classify import Row, row_public
from service.engine.engine import ApplyError
from service.engine.events import Line, LineError, SessionLine, decode_line
from service.i18n import Said, said, said_of


def iter_lines(lines: Iterable[str]) -> Iterator[tuple[int, Line | None, Said | None]]:
    """Yield (line number, typed line or None, error or warning) for each meaningful line."""
    for no, raw in enumerate(lines, 1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        notes: list[str] = []
        try:
            line = decode_line(text, notes)
        except LineError as exc:
            yield no, None, said("warn.line", line=no, why=exc)
            continue
        yield no, line, said("warn.line", line=no, why=notes[0]) if notes else None


def replay_lines(lines: Iterable[str], finalize: bool = True) -> Engine:
    """Feed a whole scenario to a new engine. A bad line is set aside with a warning naming its
    number; it never stops the replay."""
    engine: Engine | None = None
    pending: list[str] = []
    for no, line, err in iter_lines(lines):
        if err is not None:
            pending.append(err)
        if line is None:
            continue
        if engine is None:
            engine = Engine()
            if not isinstance(line, SessionLine):
                pending.append(said("warn.line", line=no, why=said("warn.first_not_session")))
        before = len(engine.warnings)
        try:
            engine.apply_line(line)
        except ApplyError as exc:
            engine.warnings.append(said_of(exc))
        for i in range(before, len(engine.warnings)):
            engine.warnings[i] = said("warn.line", line=no, why=engine.warnings[i])
    if engine is None:
        engine = Engine()
    engine.warnings[:0] = pending
    if finalize:
        engine.finalize()
    return engine


def replay_file(path: str | Path, finalize: bool = True) -> Engine:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return replay_lines(fh, finalize=finalize)


RESULT_KEYS = (
    "position",
    "number",
    "name",
    "category",
    "category_position",
    "status",
    "laps",
    "penalty_laps",
    "penalty_seconds",
    "total_time_s",
    "best_lap_s",
    "best_lap_no",
    "pit_stops",
    "gap",
    "interval",
)


def result_row(r: Row, points: Any = None) -> dict[str, Any]:
    """A classification row with exactly the keys of scenario.md (+ `points` for heats)."""
    public = row_public(r)
    row = {k: public[k] for k in RESULT_KEYS}
    if points is not None:
        row["points"] = points
    return row


def results(engine: Engine, detail: bool = False) -> dict[str, Any]:
    """The scenario.md results. `detail` (the API, printed sheet): rows also carry their flagged laps
    and lap warnings, penalties who decided what and when; the replay JSON stays exactly scenario.md's."""
    rows = classify(engine)
    from service.meetings.live import points_for  # heats of AX-/KA- presets carry points (scenario.md)

    points = points_for(engine)
    if detail:
        return {
            "session": _session(engine),
            "classification": [
                {
                    **result_row(r, points(r) if points else None),
                    "lap_flags": r.lap_flags,
                    "lap_warnings": r.lap_warnings,
                }
                for r in rows
            ],
            "penalties": [p.detail() for p in engine.penalties.all()],
            "warnings": list(engine.warnings),
        }
    return {
        "session": _session(engine),
        "classification": [result_row(r, points(r) if points else None) for r in rows],
        "penalties": [p.as_dict() for p in engine.penalties.all()],
        "warnings": list(engine.warnings),
    }


def _session(engine: Engine) -> dict[str, Any]:
    return {
        "preset": engine.params["preset"],
        "kind": engine.kind,
        "finished": engine.closed and (engine.flag_us is not None or engine.format == "best_lap"),
    }


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2)
