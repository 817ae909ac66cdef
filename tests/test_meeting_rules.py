"""AX-JUMP (first offence, repeat, semi/final amounts, evidence in ms before the green) and the
AX-TRANSPONDER / KA-TRANSPONDER no-read flags, through the real engine and presets."""

from __future__ import annotations

from typing import Any

import service.rules.autocross  # noqa: F401 - registers AX-JUMP, AX-TRANSPONDER, KA-TRANSPONDER
from service.engine import Engine, classify
from service.engine.events import parse_line

CARS = [("7", "T7"), ("8", "T8"), ("9", "T9")]


def header(kind: str = "heat", **extra: Any) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = [{"type": "session", "preset": "autocross", "kind": kind, **extra}]
    for grid, (number, tr) in enumerate(CARS, 1):
        lines.append(
            {"type": "entry", "number": number, "name": f"Driver {number}", "transponder": tr, "grid": grid}
        )
    return lines


def race(laps: int, lap_s: dict[str, float], green: float = 4.0) -> list[dict[str, Any]]:
    """Finish crossings for every car: lap k at green + k * lap time (plus a grid offset)."""
    out = []
    for i, (number, tr) in enumerate(CARS):
        for k in range(1, laps + 1):
            out.append(
                {
                    "type": "passing",
                    "t": round(green + 0.1 * i + k * lap_s[number], 3),
                    "transponder": tr,
                    "loop": "finish",
                }
            )
    return sorted(out, key=lambda x: x["t"])


def run(lines: list[dict[str, Any]]) -> Engine:
    eng = Engine(lines[0])
    for line in lines[1:]:
        eng.apply_line(parse_line(line))
    eng.finalize()
    return eng


def jumps(eng: Engine) -> list[Any]:
    return [p for p in eng.penalties.all() if p.rule == "AX-JUMP"]


START = [{"type": "signal", "t": 0.0, "signal": "start_procedure"}]
GREEN = [{"type": "signal", "t": 4.0, "signal": "start_lights_green"}]
LAPS = {"7": 60.0, "8": 61.0, "9": 62.0}  # 7 wins on the road by 5.1 s over 5 laps


def test_first_jump_start_in_a_heat_is_10_s_with_ms_before_green() -> None:
    eng = Engine(header()[0])
    for line in header()[1:] + START:
        eng.apply_line(parse_line(line))
    eng.apply_line(parse_line({"type": "grid_move", "t": 2.15, "number": "7"}))
    (p,) = jumps(eng)  # shown to race control at once, before the green
    assert (p.number, p.seconds, p.state) == ("7", 10.0, "applied")
    assert "before the green" in p.evidence
    eng.apply_line(parse_line(GREEN[0]))
    (p,) = jumps(eng)
    assert "1850 ms before the green" in p.evidence
    for line in race(5, LAPS):
        eng.apply_line(parse_line(line))
    eng.finalize()
    rows = classify(eng)
    # 7 led 8 by 5.1 s on the road; +10 s puts it second on equal laps
    assert [r.number for r in rows] == ["8", "7", "9"]
    assert rows[1].penalty_seconds == 10.0


def test_repeat_by_the_same_driver_from_an_earlier_heat_is_30_s() -> None:
    lines = header(rules={"AX-JUMP": {"prior": ["7"]}}) + START
    lines += [{"type": "grid_move", "t": 3.5, "number": "7"}, {"type": "grid_move", "t": 3.6, "number": "8"}]
    eng = run(lines + GREEN + race(5, LAPS))
    amounts = {p.number: p.seconds for p in jumps(eng)}
    assert amounts == {"7": 30.0, "8": 10.0}


def test_second_start_of_the_same_heat_counts_as_a_repeat() -> None:
    lines = header() + START + [{"type": "grid_move", "t": 1.0, "number": "9"}] + GREEN
    lines += [{"type": "signal", "t": 10.0, "signal": "red"}]
    restart = [
        {"type": "signal", "t": 100.0, "signal": "start_procedure"},
        {"type": "grid_move", "t": 101.0, "number": "9"},
        {"type": "signal", "t": 103.0, "signal": "start_lights_green"},
    ]
    eng = run(lines + restart)
    assert [(p.number, p.seconds) for p in jumps(eng)] == [("9", 10.0), ("9", 30.0)]
    assert "2000 ms before the green" in jumps(eng)[1].evidence


def test_semi_and_final_jump_start_is_30_s() -> None:
    for kind in ("semi", "final"):
        eng = run(header(kind) + START + [{"type": "grid_move", "t": 3.0, "number": "8"}] + GREEN)
        assert [(p.number, p.seconds) for p in jumps(eng)] == [("8", 30.0)]


def test_start_loop_before_green_is_a_jump_start_after_green_is_not() -> None:
    lines = header() + START
    lines += [
        {"type": "passing", "t": 3.9, "transponder": "T9", "loop": "start"},  # 100 ms early
        *GREEN,
        {"type": "passing", "t": 5.8, "transponder": "T7", "loop": "start"},
        {"type": "passing", "t": 5.9, "transponder": "T8", "loop": "start"},
    ]
    eng = run(lines)
    (p,) = jumps(eng)
    assert p.number == "9" and "start loop passing" in p.evidence and "100 ms before the green" in p.evidence


def test_moves_before_the_procedure_do_not_count() -> None:
    lines = header() + [{"type": "grid_move", "t": -5.0, "number": "7"}] + START + GREEN
    assert jumps(run(lines)) == []


def test_practice_has_no_jump_start_rule() -> None:
    eng = run(header("practice") + START + [{"type": "grid_move", "t": 1.0, "number": "7"}] + GREEN)
    assert jumps(eng) == []


def test_manual_time_penalty_reorders_on_equal_laps() -> None:
    lines = header() + START + GREEN + race(5, LAPS)
    lines.append(
        {"type": "penalty", "t": 400.0, "number": "8", "rule": "AX-TIME-PEN", "seconds": 5, "note": "yellow"}
    )
    lines.append({"type": "penalty", "t": 400.0, "number": "7", "rule": "AX-LANES"})  # preset: 10 s
    rows = classify(run(lines))
    # 7: 300.0 + 10 = 310.0; 8: 305.1 + 5 = 310.1; 9: 310.2
    assert [r.number for r in rows] == ["7", "8", "9"]
    times = [r.total_time_us or 0 for r in rows]
    assert [t - times[0] for t in times] == [0, 100_000, 200_000]
    assert [r.penalty_seconds for r in rows] == [10.0, 5.0, 0.0]


def test_transponder_without_reads_is_flagged_live_and_proposed_at_the_end() -> None:
    lines = header() + START + GREEN
    lines += [line for line in race(5, LAPS) if line["transponder"] != "T9"]
    eng = Engine(lines[0])
    for line in lines[1:6]:
        eng.apply_line(parse_line(line))
    assert all(not r.rules for r in classify(eng))  # nobody read yet: nothing to flag
    for line in lines[6:]:
        eng.apply_line(parse_line(line))
    flagged = {r.number: r.rules for r in classify(eng)}
    assert flagged["9"]["AX-TRANSPONDER"]["no_reads"] is True
    assert "AX-TRANSPONDER" not in flagged["7"]
    eng.finalize()
    (p,) = [p for p in eng.penalties.all() if p.rule == "AX-TRANSPONDER"]
    assert (p.number, p.state, p.seconds) == ("9", "proposed", 0.0)


def test_karting_transponder_flag() -> None:
    lines = [{"type": "session", "preset": "ffsa-karting", "kind": "practice"}]
    lines += [{"type": "entry", "number": n, "transponder": t, "category": "Senior"} for n, t in CARS]
    lines += [
        {"type": "passing", "t": 50.0 + i, "transponder": t, "loop": "finish"}
        for i, (_, t) in enumerate(CARS[:2])
    ]
    eng = run(lines)
    (p,) = [p for p in eng.penalties.all() if p.rule == "KA-TRANSPONDER"]
    assert p.number == "9" and "100 EUR" in p.evidence
    # first official free practice: transponders are not yet mandatory
    lines[0] = {**lines[0], "rules": {"KA-TRANSPONDER": False}}
    assert [p for p in run(lines).penalties.all() if p.rule == "KA-TRANSPONDER"] == []


def test_results_points_for_autocross_heat_and_karting() -> None:
    from service.meetings.live import points_for

    # 9 stops after 3 of 5 laps -> 17; 8 and 7 finish 1st and 2nd (7 penalised 10 s for its jump)
    lines = header() + START + [{"type": "grid_move", "t": 2.0, "number": "7"}] + GREEN
    lines += [x for x in race(5, LAPS) if x["transponder"] != "T9" or x["t"] < 4.2 + 3 * 62 + 1]
    eng = run(lines)
    fn = points_for(eng)
    assert fn is not None
    assert {r.number: fn(r) for r in classify(eng)} == {"8": 1, "7": 2, "9": 17}
    assert points_for(run(header("final") + START + GREEN)) is None

    kart = [{"type": "session", "preset": "ffsa-karting", "kind": "heat", "laps": 2}]
    kart += [{"type": "entry", "number": n, "transponder": t} for n, t in CARS]
    kart += [
        {"type": "passing", "t": 60.0 * k + i, "transponder": t, "loop": "finish"}
        for k in (1, 2)
        for i, (_, t) in enumerate(CARS[:2])
    ]
    keng = run(kart)
    kfn = points_for(keng)
    assert kfn is not None
    assert {r.number: kfn(r) for r in classify(keng)} == {"7": 0, "8": 2, "9": 4}  # 9 never started: 3 + 1
