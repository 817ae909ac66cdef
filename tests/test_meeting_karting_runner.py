"""FFSA karting meeting chained: qualifying (replayed through the engine) -> 3 heats -> super-heat
-> final, with KA-POINTS ties on qualifying and the super-heat non-starter rule, hand-computed."""

from __future__ import annotations

from service.engine import Engine
from service.engine.events import parse_line
from service.meetings.karting import KartingMeeting
from service.meetings.model import DNS, RaceRow

KARTS = ["11", "22", "33", "44", "55", "66", "77", "88"]


def rows(order: list[str], dns: tuple[str, ...] = ()) -> list[RaceRow]:
    return [
        RaceRow(n, i, 0 if n in dns else 13, DNS if n in dns else "classified")
        for i, n in enumerate(order, 1)
    ]


def qualifying_engine(m: KartingMeeting) -> Engine:
    eng = Engine({"type": "session", "preset": "ffsa-karting", "kind": "qualifying"})
    best = {"33": 50.0, "11": 50.1, "22": 50.2, "44": 50.3, "55": 50.4, "66": 50.5, "77": 50.6, "88": 50.7}
    for n in KARTS:
        eng.apply_line(parse_line({**m.entries[n], "transponder": f"K{n}"}))
    lines = []
    for n in KARTS:
        t = 30.0 + int(n) / 100
        for lap in (best[n] + 1.0, best[n]):
            t += lap
            lines.append({"type": "passing", "t": round(t, 3), "transponder": f"K{n}", "loop": "finish"})
    for line in sorted(lines, key=lambda x: x["t"]):
        eng.apply_line(parse_line(line))
    eng.finalize()
    return eng


def test_karting_meeting_chain() -> None:
    m = KartingMeeting(
        [{"number": n, "name": f"Kart {n}"} for n in KARTS],
        category="Senior",
        track_length_m=1200,
        track_capacity=34,
        wet={"heat2"},
    )
    m.record_engine("qualifying", qualifying_engine(m))
    assert m.qualifying_order() == ["33", "11", "22", "44", "55", "66", "77", "88"]
    assert m.heat_keys() == ["heat1", "heat2", "heat3"]  # one group: 3 heats

    h1 = m.heat_plan("heat1")
    assert h1.grid == m.qualifying_order() and h1.laps == 13  # 15 km / 1.2 km = 12.5 -> 13
    m.record("heat1", rows(["11", "33", "22", "44", "55", "66", "88", "77"]))
    h2 = m.heat_plan("heat2")
    assert h2.grid == ["11", "33", "22", "44", "55", "66", "88", "77"]  # KA-GRID: heat 1 finish
    assert h2.laps == 10  # wet: 11 km -> 9.2 -> 10
    m.record("heat2", rows(["33", "11", "44", "22", "55", "66", "77", "88"], dns=("88",)))
    m.record("heat3", rows(["22", "33", "11", "44", "66", "77", "55", "88"]))

    # 33: 2+0+2, 11: 0+2+3, 22: 3+4+0, 44: 4+3+4, 55: 5+5+7 = 17 = 66: 6+6+5 (qualified better),
    # 77: 8+7+6, 88: 7+9 (non-starter of 8: 8 + 1)+8
    assert [(s.number, s.points) for s in m.intermediate()] == [
        ("33", 4),
        ("11", 5),
        ("22", 7),
        ("44", 11),
        ("55", 17),
        ("66", 17),
        ("77", 21),
        ("88", 24),
    ]
    (sh,) = m.superheat_plans()
    assert sh.key == "superheat" and sh.laps == 17 and sh.session_line["superheat"] is True
    assert sh.grid == ["33", "11", "22", "44", "55", "66", "77", "88"]
    m.record("superheat", rows(["11", "33", "44", "22", "66", "55", "77", "88"], dns=("88",)))

    finalists = m.finalists()
    assert [(s.number, s.points) for s in finalists] == [
        ("11", 5),
        ("33", 6),
        ("22", 11),
        ("44", 14),
        ("66", 22),
        ("55", 23),
        ("77", 28),
        ("88", 33),
    ]
    final = m.final_plan()
    assert final.grid == [s.number for s in finalists] and final.laps == 25  # 30 km
    m.record("final", rows(["33", "11", "22", "66", "44", "55", "77", "88"]))
    podium = [line.number for line in m.classification() if line.podium]
    assert podium == ["33", "11", "22"]


def test_split_entry_heats_pair_the_series() -> None:
    numbers = [str(100 + i) for i in range(1, 41)]
    m = KartingMeeting(
        [{"number": n} for n in numbers], category="OK", track_length_m=1000, track_capacity=34
    )
    m.record("qualifying", [RaceRow(n, i, 5) for i, n in enumerate(numbers, 1)])
    assert [len(g) for g in m.groups()] == [14, 13, 13]  # 40 > 34: series of at most 17 -> 3 series
    assert m.heat_keys() == ["heat1", "heat2", "heat3"]  # A-B, A-C, B-C
    h1 = m.heat_plan("heat1")
    assert h1.grid[:4] == ["101", "102", "104", "105"]  # A = 1, 4, 7...; B = 2, 5, 8... by qualifying
    assert "103" not in h1.grid and len(h1.grid) == 27
    assert "A-B" in h1.session_line["name"]
