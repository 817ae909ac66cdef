"""A whole auto-cross meeting replayed from scenario files: practice -> heats -> semis -> final,
to the general classification and the championship points, every figure hand-computed.

16 drivers R1..R16 (R1 fastest): lap time 50 + 0.4 r seconds, so over 5 laps each rank is 2 s
behind the one before (2.4 s over 6, 2.8 s over 7), the grid offset (0.1 s per grid place) never
decides and nobody is lapped. A heat time is 254 + 0.1 grid + 2 r (4 s of start procedure).
Incidents:
- practice: R2 equals R1's best lap (50.4) but has the better second best -> R2 ranks first;
- heat 1: R3 jumps (10 s): 270.2, 4th of its series, ahead of R8's 270.4 at the same place;
- heat 2: R3 jumps again (repeat, 30 s): 7th of its series; R10 stops after 3 laps (17);
- heat 3: R16 does not start (85);
- semi 2: R8 jumps (30 s in a semi) and ends last; final: R5 cannot start (R15, 16th of the
  semis, replaces it), R2 jumps (30 s) and falls from 2nd to 11th.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import service.rules.autocross  # noqa: F401 - registers the AX rules
from service.meetings.autocross import AutocrossMeeting
from service.meetings.runner import SessionPlan
from service.results import replay_file

NUMBERS = ["17", "3", "42", "8", "25", "11", "60", "5", "33", "19", "2", "71", "14", "9", "50", "27"]
R = {f"R{i}": n for i, n in enumerate(NUMBERS, 1)}  # R1 -> "17"
RANK = {n: i for i, n in enumerate(NUMBERS, 1)}


def lap_s(number: str) -> float:
    return 50 + 0.4 * RANK[number]


def practice_laps(stage: str, number: str) -> list[float]:
    base = lap_s(number)
    if stage == "practice2" and number == R["R2"]:
        return [50.4, 50.5, 51.0]  # ties R1's best 50.4, second best 50.5 < R1's 50.6
    return [base, base + 0.5, base + 0.3] if stage == "practice1" else [base + 0.2, base + 0.4, base + 0.6]


INCIDENTS: dict[str, dict[str, Any]] = {
    "heat1": {"jump": ["R3"]},
    "heat2": {"jump": ["R3"], "dnf": {"R10": 3}},
    "heat3": {"dns": ["R16"]},
    "semis": {"jump": ["R8"]},
    "final": {"jump": ["R2"]},
}


def scenario(plan: SessionPlan) -> list[dict[str, Any]]:
    lines = plan.header_lines()
    inc = INCIDENTS.get(plan.stage, {})
    jump = {R[x] for x in inc.get("jump", ())}
    dns = {R[x] for x in inc.get("dns", ())}
    dnf = {R[x]: n for x, n in inc.get("dnf", {}).items()}
    timed: list[dict[str, Any]] = []
    if plan.kind == "practice":
        for i, e in enumerate(plan.entries):
            t = 100.0 + 0.5 * i  # out lap
            timed.append(
                {"type": "passing", "t": round(t, 3), "transponder": e["transponder"], "loop": "finish"}
            )
            for lap in practice_laps(plan.stage, e["number"]):
                t += lap
                timed.append(
                    {"type": "passing", "t": round(t, 3), "transponder": e["transponder"], "loop": "finish"}
                )
    else:
        timed.append({"type": "signal", "t": 0.0, "signal": "start_procedure"})
        timed.append({"type": "signal", "t": 4.0, "signal": "start_lights_green"})
        for e in plan.entries:
            n, g, tr = e["number"], e["grid"], e["transponder"]
            if n in dns:
                continue
            if n in jump:
                timed.append({"type": "grid_move", "t": 2.0, "number": n})
            timed.append(
                {"type": "passing", "t": round(5.0 + 0.1 * g, 3), "transponder": tr, "loop": "start"}
            )
            for k in range(1, dnf.get(n, plan.laps) + 1):
                t = round(4.0 + 0.1 * g + k * lap_s(n), 3)
                timed.append({"type": "passing", "t": t, "transponder": tr, "loop": "finish"})
    return lines + sorted(timed, key=lambda x: x["t"])


def run_stage(meeting: AutocrossMeeting, stage: str, tmp: Path) -> None:
    for plan in meeting.plans(stage):
        path = tmp / f"{plan.key}.jsonl"
        path.write_text("".join(json.dumps(line) + "\n" for line in scenario(plan)), encoding="utf-8")
        engine = replay_file(path)
        assert not [w for w in engine.warnings if "not implemented" in w]
        meeting.record_engine(plan.key, engine)


def ranks(numbers: list[str]) -> list[str]:
    back = {n: r for r, n in R.items()}
    return [back[n] for n in numbers]


def test_whole_autocross_meeting_from_scenario_files(tmp_path: Path) -> None:
    entries = [
        {"number": n, "name": f"Pilote {n}", "transponder": f"T{n}", "division": "Super Buggy"}
        for n in sorted(NUMBERS, key=int)
    ]
    m = AutocrossMeeting(entries, name="Saint-Igny", division="Super Buggy")

    # AX-PRACTICE: 16 entries -> two series of 8 in entry-list order, the same for both sessions
    assert [p.grid for p in m.plans("practice1")] == [
        ["2", "3", "5", "8", "9", "11", "14", "17"],
        ["19", "25", "27", "33", "42", "50", "60", "71"],
    ]
    run_stage(m, "practice1", tmp_path)
    run_stage(m, "practice2", tmp_path)
    assert m.current_stage() == "heat1"
    assert ranks([p.number for p in m.practice()])[:4] == ["R2", "R1", "R3", "R4"]

    # AX-HEAT1: mixing the practice ranking R2, R1, R3, R4, ...
    b1, b2 = m.plans("heat1")
    assert ranks([n for n in b1.grid if n]) == ["R2", "R4", "R5", "R8", "R9", "R12", "R13", "R16"]
    assert ranks([n for n in b2.grid if n]) == ["R1", "R3", "R6", "R7", "R10", "R11", "R14", "R15"]
    assert [len(r) for r in b1.rows] == [3, 2, 3]
    run_stage(m, "heat1", tmp_path)
    assert m.jumpers["heat1.2"] == [R["R3"]]
    h1 = m.heat_ranking("heat1")
    assert ranks([h.number for h in h1]) == [
        "R1",
        "R2",
        "R4",
        "R6",
        "R5",
        "R7",
        "R3",
        "R8",
        "R9",
        "R10",
        "R11",
        "R12",
        "R13",
        "R14",
        "R15",
        "R16",
    ]

    # AX-MIX from heat 1's ranking; R3's second jump is a repeat (30 s)
    b1, b2 = m.plans("heat2")
    assert b1.session_line["rules"]["AX-JUMP"]["prior"] == [R["R3"]]
    assert ranks([n for n in b1.grid if n]) == ["R1", "R6", "R5", "R8", "R9", "R12", "R13", "R16"]
    assert ranks([n for n in b2.grid if n]) == ["R2", "R4", "R7", "R3", "R10", "R11", "R14", "R15"]
    run_stage(m, "heat2", tmp_path)
    assert m.jumpers["heat2.2"] == [R["R3"]]
    h2 = m.heat_ranking("heat2")
    assert ranks([h.number for h in h2]) == [
        "R1",
        "R2",
        "R4",
        "R5",
        "R6",
        "R7",
        "R8",
        "R11",
        "R9",
        "R14",
        "R12",
        "R15",
        "R13",
        "R3",
        "R16",
        "R10",
    ]
    assert {ranks([h.number])[0]: h.points for h in h2}["R10"] == 17  # 3 laps of 5

    b1, b2 = m.plans("heat3")
    assert ranks([n for n in b1.grid if n]) == ["R1", "R5", "R6", "R11", "R9", "R15", "R13", "R10"]
    assert ranks([n for n in b2.grid if n]) == ["R2", "R4", "R7", "R8", "R14", "R12", "R3", "R16"]
    run_stage(m, "heat3", tmp_path)

    # AX-HEAT-TOTAL: best two of three with both tie-breaks at work
    totals = m.heat_totals()
    assert [(ranks([t.number])[0], t.total) for t in totals] == [
        ("R1", 2),
        ("R2", 2),
        ("R4", 4),
        ("R5", 4),
        ("R6", 5),
        ("R7", 6),
        ("R3", 6),
        ("R8", 8),
        ("R9", 9),
        ("R11", 10),
        ("R10", 10),
        ("R12", 12),
        ("R14", 12),
        ("R13", 14),
        ("R15", 14),
        ("R16", 16),
    ]
    assert all(t.qualified for t in totals)

    # AX-SEMI: 16 >= 11 -> odd / even ranks
    s1, s2 = m.plans("semis")
    assert ranks([n for n in s1.grid if n]) == ["R1", "R4", "R6", "R3", "R9", "R10", "R14", "R15"]
    assert ranks([n for n in s2.grid if n]) == ["R2", "R5", "R7", "R8", "R11", "R12", "R13", "R16"]
    assert s1.laps == 6
    assert s2.session_line["rules"]["AX-JUMP"]["prior"] == sorted([R["R3"]])
    run_stage(m, "semis", tmp_path)
    assert ranks([s.number for s in m.semi_ranking()]) == [
        "R1",
        "R2",
        "R5",
        "R3",
        "R4",
        "R7",
        "R6",
        "R11",
        "R9",
        "R12",
        "R10",
        "R13",
        "R14",
        "R16",
        "R8",
        "R15",
    ]

    # AX-FINAL: R5 cannot start, R15 (first non-qualified) starts last
    m.declare_unable(R["R5"])
    (final,) = m.plans("final")
    assert final.key == "final" and final.laps == 7
    assert ranks([n for n in final.grid if n]) == [
        "R1",
        "R2",
        "R3",
        "R4",
        "R7",
        "R6",
        "R11",
        "R9",
        "R12",
        "R10",
        "R13",
        "R14",
        "R16",
        "R8",
        "R15",
    ]
    run_stage(m, "final", tmp_path)
    assert m.current_stage() is None

    general = m.general()
    assert ranks([g.number for g in general]) == [
        "R1",
        "R3",
        "R4",
        "R6",
        "R7",
        "R8",
        "R9",
        "R10",
        "R11",
        "R12",
        "R2",
        "R13",
        "R14",
        "R15",
        "R16",
        "R5",
    ]
    pts = {ranks([p.number])[0]: (p.practice, p.heats, p.final, p.total) for p in m.points()}
    assert pts["R1"] == (4, 10, 48, 62)
    assert pts["R2"] == (5, 9, 22, 36)
    assert pts["R3"] == (3, 4, 43, 50)
    assert pts["R4"] == (2, 8, 39, 49)
    assert pts["R5"] == (1, 7, 15, 23)  # replaced finalist: 16th place points
    assert pts["R6"] == (0, 6, 36, 42)
    assert pts["R11"] == (0, 1, 26, 27)
    assert pts["R16"] == (0, 0, 16, 16)

    # the meeting is a small JSON document: rebuilt from it, it derives the same points
    again = AutocrossMeeting.from_state(json.loads(json.dumps(m.state())))
    assert [(p.number, p.total) for p in again.points()] == [(p.number, p.total) for p in m.points()]


def test_meeting_stopped_after_heat_two_halves_points(tmp_path: Path) -> None:
    entries = [{"number": n, "transponder": f"T{n}"} for n in sorted(NUMBERS, key=int)]
    m = AutocrossMeeting(entries)
    for stage in ("practice1", "practice2", "heat1", "heat2"):
        run_stage(m, stage, tmp_path)
    m.stop("heat2")
    assert m.current_stage() is None
    pts = {ranks([p.number])[0]: p for p in m.points()}
    # after two heats R1 and R2 both have 1 + 1; R1's best heat time (256.1) beats R2's (258.1)
    assert pts["R1"].final == 24.0 and pts["R2"].final == 21.5
    assert pts["R1"].heats == 10


def test_cancelled_heat_next_heat_from_the_last_run_and_everyone_to_the_semis() -> None:
    from service.meetings.model import DNS, RaceRow

    S = 1_000_000
    m = AutocrossMeeting([{"number": n} for n in ("1", "2", "3", "4")])
    for stage in ("practice1", "practice2"):
        for key in m.stage_keys(stage):
            m.record(key, [], laps_us={n: [60 * S + int(n) * S] for n in ("1", "2", "3", "4")})
    m.record(
        "heat1.1",
        [
            RaceRow("2", 1, 5, total_time_us=299 * S),
            RaceRow("1", 2, 5, total_time_us=301 * S),
            RaceRow("3", 3, 5, total_time_us=302 * S),
            RaceRow("4", 4, 0, DNS),
        ],
    )
    m.cancel_heat("heat2")
    assert m.plans("heat2") == [] and m.current_stage() == "heat3"
    (h3,) = m.plans("heat3")
    assert h3.grid == ["2", "1", "3", "4"]  # from heat 1's ranking
    m.record(
        "heat3.1",
        [
            RaceRow("1", 1, 5, total_time_us=300 * S),
            RaceRow("2", 2, 5, total_time_us=301 * S),
            RaceRow("3", 3, 5, total_time_us=302 * S),
            RaceRow("4", 4, 0, DNS),
        ],
    )
    totals = {t.number: t for t in m.heat_totals()}
    assert totals["4"].total == 170 and totals["4"].qualified  # 85 + 85, yet in: a heat was cancelled
    (semi,) = m.plans("semis")
    assert semi.grid == ["2", "1", "3", "4"]  # 1 and 2 both 1 + 2 = 3: 2's best heat time 299 s < 300 s
    again = AutocrossMeeting.from_state(m.state())
    assert again.cancelled == ["heat2"] and again.plans("semis")[0].grid == semi.grid
