"""Issue 16 boundaries of the pure meeting package: one `Meeting` protocol with a registry of
formats by preset, format-specific decisions as methods raising domain errors, heat points and
AX-LENGTH laps as preset data, and a package with no FastAPI, no file I/O and no clock."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from service.errors import Conflict, Invalid
from service.http_errors import status_of
from service.meetings.autocross import AutocrossMeeting
from service.meetings.free import FreeMeeting
from service.meetings.karting import KartingMeeting
from service.meetings.lengths import ax_laps
from service.meetings.model import DNS, DSQ, RaceRow
from service.meetings.points import HEAT_POINTS, points_rule, session_points
from service.meetings.protocol import FORMATS, Meeting, format_of, meeting_from_state, new_meeting
from service.meetings.runner import MeetingError
from service.presets import kinds, resolve

PACKAGE = Path(__file__).resolve().parent.parent / "service" / "meetings"
# The feature folder also holds the meetings' edges: the front door, the files, the tokens and the
# router. Everything else in it is the pure meeting package.
EDGES = ("access.py", "api.py", "service.py", "store.py")


def pure_files() -> list[Path]:
    files = sorted(PACKAGE.glob("*.py"))
    assert {p.name for p in files} >= set(EDGES)
    return [p for p in files if p.name not in EDGES]


AX_ENTRIES = [{"number": str(n), "name": f"P{n}"} for n in (401, 402, 403)]
KARTS = [{"number": str(n), "name": f"K{n}"} for n in (1, 2, 3, 4)]
TRACK = {"track_length_m": 1200, "track_capacity": 34, "category": "Senior"}


def test_registry_maps_presets_to_formats() -> None:
    assert FORMATS == {"autocross": AutocrossMeeting, "ffsa-karting": KartingMeeting, "free": FreeMeeting}
    ax, ka = new_meeting("autocross", AX_ENTRIES, {"name": "Igny"}), new_meeting("ffsa-karting", KARTS, TRACK)
    assert type(ax) is AutocrossMeeting and ax.preset == "autocross" and ax.name == "Igny"
    assert type(ka) is KartingMeeting and ka.division == "Senior" and ka.track_capacity == 34
    free = new_meeting("free", AX_ENTRIES, {"name": "Journée club"})
    assert (
        isinstance(ax, Meeting) and isinstance(ka, Meeting) and isinstance(free, Meeting)
    )  # the whole protocol
    # a free meeting: no stages, its list kept; asked for a stage it is a conflict (coded)
    assert (
        free.stages() == [] and free.current_stage() is None and list(free.entries) == ["401", "402", "403"]
    )
    with pytest.raises(MeetingError) as exc:
        free.plans("practice1")
    assert exc.value.code == "meeting.no_stages" and status_of(exc.value) == 409
    assert meeting_from_state(free.state()).entries == free.entries


@pytest.mark.parametrize("preset", [None, "lemans-270-2h", ["autocross"]])
def test_unknown_preset_is_invalid(preset: object) -> None:
    with pytest.raises(Invalid, match="preset is autocross or ffsa-karting") as exc:
        format_of(preset)
    assert status_of(exc.value) == 400


def test_bad_entries_or_track_are_invalid_at_creation() -> None:
    with pytest.raises(Invalid, match="listed twice") as dup:
        new_meeting("autocross", AX_ENTRIES + AX_ENTRIES[:1], {})
    assert status_of(dup.value) == 400  # a MeetingError at creation is the request's fault
    with pytest.raises(Invalid, match="track_length_m"):
        new_meeting("ffsa-karting", KARTS, {"track_length_m": 0, "track_capacity": 10})
    with pytest.raises(Invalid, match="track_length_m"):
        new_meeting("ffsa-karting", KARTS, {"track_length_m": 1000, "track_capacity": 1})


def test_a_meeting_is_loaded_from_state_by_its_preset() -> None:
    ka = new_meeting("ffsa-karting", KARTS, TRACK)
    ka.record("qualifying", [RaceRow(n["number"], i, 3) for i, n in enumerate(reversed(KARTS), 1)], at="T1")
    back = meeting_from_state(ka.state())
    assert type(back) is KartingMeeting
    assert back.state() == ka.state()
    assert back.current_stage() == "heat1" and back.ranking("qualifying").json[0] == {
        "position": 1,
        "number": "4",
    }

    ax = new_meeting("autocross", AX_ENTRIES, {"division": "Buggy Cup"})
    ax.cancel_heat("heat3")
    back_ax = meeting_from_state(ax.state())
    assert type(back_ax) is AutocrossMeeting and back_ax.decisions()["cancelled"] == ["heat3"]
    # a state saved without a preset is an auto-cross meeting (files written before presets)
    st = ax.state()
    del st["preset"]
    assert type(meeting_from_state(st)) is AutocrossMeeting


def test_karting_has_no_auto_cross_decisions_and_says_so_as_a_conflict() -> None:
    ka = new_meeting("ffsa-karting", KARTS, TRACK)
    assert not hasattr(ka, "stopped_after") and not hasattr(ka, "unable_to_start")  # AX fields left
    assert ka.decisions() == {"stopped_after": None, "unable_to_start": [], "cancelled": []}
    assert "stopped_after" not in ka.state()
    for call in (
        lambda: ka.check_decision("red_flag"),
        lambda: ka.declare_unable("1"),
        lambda: ka.stop("heat2"),
        lambda: ka.cancel_heat("heat1"),
        lambda: ka.admit_without_lap("1"),
        lambda: ka.red_flag("heat1", None, [], {}, []),
    ):
        with pytest.raises(MeetingError, match="belongs to auto-cross meetings") as exc:
            call()
        assert isinstance(exc.value, Conflict) and status_of(exc.value) == 409


def test_meeting_error_is_a_conflict_and_still_a_value_error() -> None:
    ax = new_meeting("autocross", AX_ENTRIES, {})
    with pytest.raises(MeetingError) as exc:
        ax.plans("semis")
    assert isinstance(exc.value, Conflict) and isinstance(exc.value, ValueError)
    assert status_of(exc.value) == 409
    with pytest.raises(Invalid, match="'number' of an entry"):  # AX-FINAL needs an entry: a 400
        ax.declare_unable("999")


def test_rankings_are_columns_and_rows_for_every_format() -> None:
    ka = new_meeting("ffsa-karting", KARTS, TRACK)
    ka.record("qualifying", [RaceRow("2", 1, 3), RaceRow("1", 2, 3)])
    q = ka.ranking("qualifying")
    assert q.columns == ["Pos", "No", "Driver"]
    assert q.rows == [(1, "2", "K2"), (2, "1", "K1"), (3, "3", "K3"), (4, "4", "K4")]  # no time: entry order
    assert ka.ranking_docs() == ("qualifying", "heats", "finalists", "general")
    ax = new_meeting("autocross", AX_ENTRIES, {})
    assert ax.ranking_docs() == ("practice", "heat1", "heat2", "heat3", "heats", "semis", "general", "points")
    for key in ("practice1.1", "practice2.1"):
        ax.record(key, [], laps_us={"401": [61_000_000, 60_500_000], "402": [62_000_000]})
    p = ax.ranking("practice")
    assert p.columns[:3] == ["Pos", "No", "Driver"] and all(len(r) == len(p.columns) for r in p.rows)
    assert p.json[0]["number"] == "401" and p.json[0]["best_lap_s"] == 60.5  # us_to_s


def test_heat_points_are_preset_data() -> None:
    assert resolve({"preset": "autocross", "kind": "heat"})["points"] == {"heat": "AX-HEAT-POINTS"}
    assert resolve({"preset": "ffsa-karting", "kind": "heat"})["points"] == {"heat": "KA-POINTS"}
    assert set(HEAT_POINTS) == {"AX-HEAT-POINTS", "KA-POINTS"}
    rows = [RaceRow("1", 1, 5), RaceRow("2", 2, 3), RaceRow("3", 3, 0, DNS), RaceRow("4", 4, 5, DSQ)]
    ax = resolve({"preset": "autocross", "kind": "heat"})
    # AX-HEAT-POINTS: place; 2 laps short 15 + 2; non-starter 85; disqualified 90
    assert session_points(ax, "heat", rows, 5) == {"1": 1, "2": 17, "3": 85, "4": 90}
    # KA-POINTS with 4 participants: 1st 0, 2nd 2, non-starter and DSQ 4 + 1
    ka = resolve({"preset": "ffsa-karting", "kind": "heat"})
    assert session_points(ka, "heat", rows, 5) == {"1": 0, "2": 2, "3": 5, "4": 5}
    assert points_rule(resolve({"preset": "autocross", "kind": "final"}), "final") is None
    assert points_rule(resolve({"preset": "generic-laps", "kind": "heat"}), "heat") is None
    with pytest.raises(ValueError, match="unknown points rule"):
        points_rule({"points": {"heat": "XX-NOPE"}}, "heat")


def test_ax_length_laps_are_read_from_the_preset() -> None:
    declared = kinds("autocross")
    assert {k: ax_laps(k) for k in ("practice", "heat", "semi", "final")} == {
        k: declared[k]["laps"] for k in ("practice", "heat", "semi", "final")
    }
    assert (ax_laps("practice"), ax_laps("heat"), ax_laps("semi"), ax_laps("final")) == (
        3,
        5,
        6,
        7,
    )  # AX-LENGTH
    source = "\n".join(p.read_text(encoding="utf-8") for p in PACKAGE.glob("*.py"))
    assert "AX_LAPS" not in source  # written once, in autocross.json


# ------------------------------------------------------------------ purity of service/meetings
FORBIDDEN_MODULES = {"fastapi", "starlette", "os", "time", "shutil", "pathlib", "sqlite3", "socket", "io"}
FORBIDDEN_ATTRS = {
    "read_text",
    "write_text",
    "read_bytes",
    "write_bytes",
    "mkdir",
    "unlink",
    "now",
    "today",
    "utcnow",
    "strftime",
}


def _offences(path: Path) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [f"import {a.name}" for a in node.names if a.name.split(".")[0] in FORBIDDEN_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in FORBIDDEN_MODULES:
            out.append(f"from {node.module} import")
        elif isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name) and f.id in ("open", "print", "input"):
                out.append(f"{f.id}()")
            elif isinstance(f, ast.Attribute) and f.attr in FORBIDDEN_ATTRS:
                out.append(f".{f.attr}()")
    return [f"{path.name}: {o}" for o in out]


def test_the_meeting_package_has_no_file_io_no_clock_no_web_framework() -> None:
    files = pure_files()
    assert len(files) > 10
    assert [o for p in files for o in _offences(p)] == []


def test_the_offence_check_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import time\nfrom fastapi import APIRouter\nopen('x')\nPath('x').write_text('y')\n")
    assert len(_offences(bad)) == 4


def test_importing_every_meeting_module_does_not_load_fastapi() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "import service.meetings as pkg\n"
        f"names = [m.name for m in pkgutil.iter_modules(pkg.__path__) if m.name + '.py' not in {EDGES}]\n"
        "[importlib.import_module('service.meetings.' + n) for n in names]\n"
        "print(len(names), 'fastapi' in sys.modules, 'starlette' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PACKAGE.parent.parent,
        check=True,
    ).stdout.split()
    assert int(out[0]) > 10 and out[1:] == ["False", "False"]
