"""Finish regimes on their own (service/engine/finish.py), expected values computed by hand from
RULES.md: TIME-FINISH, LAP-FINISH, the best-lap sessions' flag, and cross-country (section 4:
CC-WAVES, CC-DURATION, CC-FINISH) taking its numbers from the CC rule objects.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from service.engine import Engine
from service.engine.car import Car
from service.engine.events import parse_line
from service.engine.finish import BestLapFinish, CrossCountry, LapFinish, TimeFinish, regime
from service.presets import resolve

US = 1_000_000


def car(
    number: str,
    crossings_s: list[float],
    category: str = "Elite Open",
    wave: Any = None,
    offset_s: float = 0.0,
    start_s: float = 0.0,
) -> Car:
    c = Car({"number": number, "category": category, "wave": wave}, round(offset_s * US))
    for t in crossings_s:
        c.add_lap(round(t * US), round((start_s + offset_s) * US), 0)
    return c


def test_regime_follows_the_format_and_the_cross_country_data() -> None:
    assert type(regime(resolve({"preset": "generic-timed"}))) is TimeFinish
    assert type(regime(resolve({"preset": "generic-laps"}))) is LapFinish
    assert type(regime(resolve({"preset": "generic-timed", "kind": "qualifying"}))) is BestLapFinish
    cc = regime(resolve({"preset": "ffm-cc"}))
    assert isinstance(cc, CrossCountry) and type(cc.inner) is TimeFinish
    quali = regime(resolve({"preset": "ffm-cc", "kind": "qualifying"}))
    assert isinstance(quali, CrossCountry) and type(quali.inner) is BestLapFinish
    # the data decide, whatever the preset: waves on a lap race make it a cross-country regime
    laps = regime(resolve({"preset": "generic-laps", "waves": [{"wave": 2, "offset_s": 20}]}))
    assert isinstance(laps, CrossCountry) and type(laps.inner) is LapFinish


def test_time_finish() -> None:
    """TIME-FINISH, 1 h race: time is up only strictly after 3600 s; the leader at 3600 s is the car
    with most laps, then the earliest last crossing; it takes the flag at its next crossing."""
    fin = regime(resolve({"preset": "generic-timed", "duration_s": 3600}))
    end = 3600 * US
    assert not fin.time_up(end, end) and fin.time_up(end, end + 1) and not fin.time_up(None, 10**12)
    a = car("A", [350 * k for k in range(1, 11)] + [3700])  # 10 laps by 3500 s, then 3700 s
    b = car("B", [345 * k for k in range(1, 11)] + [3800])  # 10 laps by 3450 s: leads on equal laps
    c = car("C", [399 * k for k in range(1, 10)] + [3650])  # 9 laps by 3591 s
    assert fin.leader_at([a, b, c], end) == "B"
    assert fin.flag_us(b, 3800 * US, end, "B") == 3800 * US
    assert fin.flag_us(a, 3700 * US, end, "B") is None  # not the leader: finishes after the flag
    assert fin.flag_us(b, 3590 * US, end, "B") is None  # before the time is up
    assert fin.shows_flag and fin.leader_flag
    # the leader never crossed again: the flag fell at the first crossing after the time (C, 3650 s)
    assert fin.closing_flag_us([a, b, c], end) == 3650 * US
    assert fin.closing_flag_us([car("D", [100, 200])], end) is None
    assert fin.race_group(a) == 0 and not fin.grouped and fin.offset_us(3) == 0


def test_lap_finish() -> None:
    """LAP-FINISH, 10 laps: the car completing its 10th lap takes the flag at that crossing."""
    fin = regime(resolve({"preset": "generic-laps", "laps": 10}))
    nine, ten = car("9", [60 * k for k in range(1, 10)]), car("10", [59 * k for k in range(1, 11)])
    assert fin.flag_us(nine, 540 * US, None, None) is None
    assert fin.flag_us(ten, 590 * US, None, None) == 590 * US
    assert not fin.time_up(100 * US, 590 * US) and not fin.shows_flag
    assert fin.closing_flag_us([ten], 100 * US) is None


def test_best_lap_flag_is_out_for_everyone_at_the_end_of_time() -> None:
    fin = regime(resolve({"preset": "generic-timed", "kind": "qualifying", "duration_s": 1800}))
    assert fin.flag_us(car("1", [100]), 100 * US, 1800 * US, None) == 1800 * US
    assert fin.flag_us(car("1", [100]), 100 * US, None, None) is None
    assert not fin.leader_flag and not fin.shows_flag


def test_cross_country_waves_and_durations() -> None:
    """ffm-cc: 3 h race, waves every 30 s, Jeunes/Féminines/Soft 2 h, window 900 s.

    Wave 3 starts 60 s after the green; a Jeunes rider of wave 2 takes the STOP board at its first
    crossing strictly after 30 s + 7200 s; 2 h riders never lead nor take the leader's flag."""
    fin = regime(resolve({"preset": "ffm-cc", "waves": [{"wave": "B", "offset_s": 45}]}))
    assert isinstance(fin, CrossCountry)
    assert (fin.offset_us(1), fin.offset_us(3), fin.offset_us("3 "), fin.offset_us("B")) == (
        0,
        60 * US,
        60 * US,
        45 * US,
    )
    assert fin.offset_us(None) == 0 and fin.offset_us("x") == 0 and fin.offset_us(0) == 0
    jeune = car("31", [900 * k for k in range(1, 9)], category="Jeunes", wave=2, offset_s=30)
    fem = car("40", [1000], category="féminines")  # accents and case do not matter
    elite = car("1", [1000 * k for k in range(1, 8)], wave=1)
    assert fin.stops_cars
    assert fin.car_end_us(jeune, 0) == (30 + 7200) * US + 1
    assert fin.car_end_us(jeune, 5 * US) == (5 + 30 + 7200) * US + 1  # race time counts from the green
    assert fin.car_end_us(elite, 0) is None
    assert fin.leader_at([jeune, elite], 7200 * US) == "1"  # the Jeunes rider has more laps but does not lead
    assert fin.flag_us(jeune, 10900 * US, 10800 * US, "31") is None
    assert fin.flag_us(elite, 10900 * US, 10800 * US, "1") == 10900 * US
    assert fin.grouped
    assert (fin.race_group(elite), fin.race_group(jeune), fin.race_group(fem)) == (
        -10800 * US,
        -7200 * US,
        -7200 * US,
    )


def test_cross_country_stops_nobody_in_qualifying() -> None:
    fin = regime(resolve({"preset": "ffm-cc", "kind": "qualifying"}))
    assert not fin.stops_cars and fin.grouped
    assert fin.car_end_us(car("31", [], category="Jeunes"), 0) is None
    assert fin.flag_us(car("31", [], category="Jeunes"), 5 * US, 7 * US, None) == 7 * US


def test_cross_country_finish_window() -> None:
    """CC-FINISH, window 900 s after the winner of each scratch (CC-DURATION: one per race length):
    3 h winner 10900 s -> 11800 s is in, 11800.000001 s is out; 2 h winner 7300 s -> 8300 s is out."""
    fin = regime(resolve({"preset": "ffm-cc"}))
    finishes = {"1": 10900, "2": 11800, "3": 11800.000001, "31": 7300, "32": 8300, "33": None, "4": 10000}
    cars = {n: SimpleNamespace(finish_us=None if t is None else round(t * US)) for n, t in finishes.items()}
    groups = {"31": -7200 * US, "32": -7200 * US, "33": -7200 * US}
    rows = [
        SimpleNamespace(
            number=n,
            status="dnf" if n == "33" else "dsq" if n == "4" else "classified",
            race_group=groups.get(n, -10800 * US),
        )
        for n in finishes
    ]
    fin.apply_window(rows, cars)
    assert {r.number: r.status for r in rows} == {
        "1": "classified",
        "2": "classified",
        "3": "not_classified",
        "31": "classified",
        "32": "not_classified",
        "33": "dnf",
        "4": "dsq",  # a dsq's earlier finish is no winner
    }


def test_kids_regime_has_waves_only() -> None:
    """ffm-kids: groups every 5 s, one scratch, no window: group 3 starts 10 s after the green."""
    fin = regime(resolve({"preset": "ffm-kids"}))
    assert isinstance(fin, CrossCountry) and type(fin.inner) is TimeFinish
    assert (
        fin.offset_us(3) == 10 * US
        and not fin.grouped
        and not fin.stops_cars
        and fin.window.window_us is None
    )
    rows = [SimpleNamespace(number="1", status="classified", race_group=0)]
    fin.apply_window(rows, {"1": SimpleNamespace(finish_us=99 * 3600 * US)})
    assert rows[0].status == "classified"


def test_the_engine_regime_uses_the_sessions_own_cc_rules() -> None:
    engine = Engine({"preset": "ffm-cc"})
    fin = engine.finish
    assert isinstance(fin, CrossCountry)
    own = {r.id: r for r in engine.rules}
    assert (
        fin.waves is own["CC-WAVES"] and fin.duration is own["CC-DURATION"] and fin.window is own["CC-FINISH"]
    )
    # CC-DURATION and CC-FINISH apply to races only, but the data still drive the mechanics
    quali = Engine({"preset": "ffm-cc", "kind": "qualifying"})
    assert "CC-DURATION" not in {r.id for r in quali.rules} and quali.finish.grouped
    engine.apply_line(parse_line({"type": "entry", "number": "7", "wave": 4}))
    assert engine.cars["7"].offset_us == 90 * US
