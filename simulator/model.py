"""Race model: turns a preset, a car count and a seed into a whole session of timed events.

Everything random comes from one `numpy.random.SeedSequence`, split into independent streams
(entries, one per car, faults), so a seed reproduces a race exactly and switching a decoder fault
on does not change how the cars drive: a faulty race is the clean race plus/minus reads.

Times are float seconds on the session clock (t = 0 is the green flag or the start procedure).
The scenario writer rounds them to microseconds.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from service import presets as preset_data
from service.presets import norm

# ------------------------------------------------------------------------------------------
# Parameters


@dataclass
class Params:
    """Every tunable rate of the model. All rule behaviours and decoder faults default to off.

    Probabilities are per car unless the comment says otherwise; set them with
    `boucle simulate --set name=value` or start from `Params.realistic()`.
    """

    # driving (realism, on by default)
    lap_sigma_s: float = 0.35  # lap-to-lap standard deviation (mean over cars)
    slow_lap: float = 0.03  # per lap: traffic, a mistake (adds an exponential loss)
    slow_lap_mean_s: float = 2.5
    off_track: float = 0.004  # per lap: off-track excursion (adds 8-25 s)
    drift_s_per_lap: float = 0.006  # tyre wear minus fuel burn, per lap since the last stop
    # rule behaviours (Le Mans / cross-country / auto-cross)
    short_stop: float = 0.0  # per stop: pit time under 120 s (LM-MIN-PIT)
    closed_pit: float = 0.0  # stop in the first 5 min with a driver change (LM-PIT-CLOSED-START)
    closed_pit_mechanical: float = 0.0  # same, declared mechanical, no driver change (exempt)
    late_change: float = 0.0  # last stop in the last 10 min with a driver change (LM-NO-CHANGE-END)
    back_to_back: float = 0.0  # two stops without a finish crossing between (LM-LAP-BETWEEN, CC-PIT)
    missed_refuel: float = 0.0  # per refuel window: no refuel made (LM-REFUEL)
    missing_stop: float = 0.0  # one driver-change stop fewer than required (LM-STOPS, CC-PIT)
    jump_start: float = 0.0  # per car and heat: moves before the lights (AX-JUMP)
    weight_check: float = 0.0  # per stop: driver weighed (and ballast checked) at pit exit
    underweight: float = 0.0  # per weight check: lighter than at sign-on (LM-WEIGHT)
    ballast_fail: float = 0.0  # per stop: ballast short at pit exit, the car is sent back (LM-BALLAST)
    ballast_ignore: float = 0.0  # per failed ballast check: the return stop is too short (proposed penalty)
    dnf: float = 0.0  # retires during the race
    # decoder faults
    missed_read: float = 0.0  # per crossing: the loop does not see the car
    duplicate_read: float = 0.0  # per finish read: a second read a few ms later
    noise_per_hour: float = 0.0  # per decoder: reads of transponders that are not entered
    second_finish_decoder: float = 0.0  # 1 = a backup decoder also reads the finish loop
    clock_offset_s: float = 3.217  # backup decoder's clock minus the main one
    disconnects: float = 0.0  # number of decoder link drop-outs (playback only)
    disconnect_s: float = 20.0  # length of each drop-out (session seconds)

    @classmethod
    def realistic(cls) -> Params:
        """Modest rates of everything, as a club meeting would see them."""
        return cls(
            short_stop=0.03,
            closed_pit_mechanical=0.03,
            missed_refuel=0.03,
            missing_stop=0.03,
            jump_start=0.05,
            dnf=0.03,
            missed_read=0.002,
            duplicate_read=0.01,
            noise_per_hour=2.0,
        )

    def set(self, name: str, value: str) -> None:
        """Set one field from its text form (CLI `--set name=value`)."""
        known = {f.name for f in fields(self)}
        if name not in known:
            raise ValueError(f"unknown model parameter {name!r}; known: {', '.join(sorted(known))}")
        v = float(value)
        if v < 0 or (v > 1 and name in _PROBABILITIES):
            raise ValueError(f"{name}={value}: out of range")
        setattr(self, name, v)


_PROBABILITIES = {
    "slow_lap",
    "off_track",
    "short_stop",
    "closed_pit",
    "closed_pit_mechanical",
    "late_change",
    "back_to_back",
    "missed_refuel",
    "missing_stop",
    "jump_start",
    "dnf",
    "missed_read",
    "duplicate_read",
    "second_finish_decoder",
    "weight_check",
    "underweight",
    "ballast_fail",
    "ballast_ignore",
}


# ------------------------------------------------------------------------------------------
# Presets (RULES.md sections 1, 3, 4; scenario.md "Presets")
#
# What the regulations fix (durations, lap counts, required stops, refuel windows, closed-pit and
# last-minutes periods, the minimum pit time, waves, 2-hour categories) is read from the preset
# JSON files, the same data the service runs on: `service.presets` is a data loader that imports
# nothing of the engine. Only what a real race leaves to the teams stays here (`_SIM_ONLY`).


@dataclass(frozen=True)
class Format:
    """What the simulator needs to know of a preset to drive it."""

    family: str  # endurance | timed | laps | heat | cc
    duration_s: float = 0.0
    laps: int = 0
    track_length_m: float = 980.0
    lap_s: float = 52.0  # typical fast lap
    drivers: tuple[int, int] = (1, 1)
    stops: dict[str, int] = field(default_factory=dict)  # required stops per category (LM-STOPS, CC-PIT)
    refuel: tuple[tuple[float, float], ...] = ()  # LM-REFUEL windows
    pit_s: float = 120.0  # the minimum the teams aim at (LM-MIN-PIT)
    pit_closed_s: float = 0.0  # LM-PIT-CLOSED-START
    no_change_end_s: float = 0.0  # LM-NO-CHANGE-END
    kind_laps: dict[str, int] = field(default_factory=dict)  # laps per session kind (AX-LENGTH)
    grid_pattern: tuple[int, ...] = (3, 2)  # cars per grid row, repeating (AX-LENGTH)
    wave_interval_s: float = 30.0  # CC-WAVES
    category_duration_s: dict[str, float] = field(
        default_factory=dict
    )  # categories stopped early (CC-DURATION)

    def required_stops(self, category: str) -> int:
        """Stops the category must make; category names match as the service matches them."""
        by_name = {norm(k): v for k, v in self.stops.items()}
        return by_name.get(norm(category), by_name.get("default", 0))

    def category_end_s(self, category: str) -> float | None:
        """When a category stopped before the race end is stopped (None: it runs the whole race)."""
        return next((v for k, v in self.category_duration_s.items() if norm(k) == norm(category)), None)


# Simulator-only, per preset: the model family, lap pace, the track length where the preset has
# none, the pit time cross-country riders aim at (no minimum there), and generic-timed's 20-minute
# race (shorter than the preset's hour, to keep generated files small).
_SIM_ONLY: dict[str, dict[str, Any]] = {
    "lemans-270-2h": {"family": "endurance"},
    "lemans-270-3h": {"family": "endurance"},
    "lemans-270-4h": {"family": "endurance"},
    "lemans-270-6h": {"family": "endurance"},
    "lemans-390-4h": {"family": "endurance", "lap_s": 49.0},
    "lemans-390-6h": {"family": "endurance", "lap_s": 49.0},
    "generic-timed": {"family": "timed", "duration_s": 1200.0, "track_length_m": 1200.0, "lap_s": 60.0},
    "generic-laps": {"family": "laps", "track_length_m": 1200.0, "lap_s": 60.0},
    "autocross": {"family": "heat", "track_length_m": 1000.0, "lap_s": 55.0},
    "ffm-cc": {"family": "cc", "track_length_m": 9000.0, "lap_s": 840.0, "pit_s": 40.0},
}


def _format(name: str, family: str, **sim: Any) -> Format:
    """A preset's regulated numbers from its JSON file, plus the simulator-only ones."""
    p = preset_data.resolve({"preset": name})
    rules = p["rules"]
    read: dict[str, Any] = {
        "duration_s": float(p.get("duration_s", 0.0)),
        "laps": int(p.get("laps", 0)),
        "stops": dict(
            rules.get("LM-STOPS", {}).get("stops") or rules.get("CC-PIT", {}).get("passages") or {}
        ),
        "refuel": tuple((float(a), float(b)) for a, b in rules.get("LM-REFUEL", {}).get("windows_s", ())),
        "pit_closed_s": float(rules.get("LM-PIT-CLOSED-START", {}).get("closed_s", 0.0)),
        "no_change_end_s": float(rules.get("LM-NO-CHANGE-END", {}).get("last_s", 0.0)),
        "kind_laps": {k: int(v["laps"]) for k, v in preset_data.kinds(name).items() if "laps" in v},
        "category_duration_s": {k: float(v) for k, v in p.get("category_duration_s", {}).items()},
    }
    if "LM-MIN-PIT" in rules:
        read["pit_s"] = float(rules["LM-MIN-PIT"]["min_s"])
    if "track_length_m" in p:
        read["track_length_m"] = float(p["track_length_m"])
    if "drivers_per_team" in p:
        lo, hi = p["drivers_per_team"]
        read["drivers"] = (int(lo), int(hi))
    if "grid_pattern" in p:
        read["grid_pattern"] = tuple(int(n) for n in p["grid_pattern"])
    if "wave_interval_s" in p:
        read["wave_interval_s"] = float(p["wave_interval_s"])
    return Format(family, **{**read, **sim})


FORMATS: dict[str, Format] = {name: _format(name, **sim) for name, sim in _SIM_ONLY.items()}
PRESETS = tuple(FORMATS)

AX_DIVISIONS = preset_data.divisions("autocross")  # RULES.md section 3: run order, number ranges
# Cross-country categories the simulator enters, in entry order: five run the whole race, the last
# two are stopped early (which ones, and when, is the preset's `category_duration_s`).
CC_CATEGORIES = ("Elite Open", "Junior", "N1", "N2", "Vétérans", "Jeunes", "Féminines")

# Loop geometry: the pit lane bypasses the finish line (scenario.md). Fractions of a lap.
PIT_ENTRY_FRACTION = 0.97  # pit_in sits just before the line
OUT_LAP_EXTRA_S = 2.0  # pit exit speed limit and cold tyres
IN_LAP_EXTRA_S = 1.5

DECODER_IDS = {  # lowercase hex of the 4 decoder-id bytes as sent on the wire
    "finish": "01b00400",
    "pit_in": "02b00400",
    "pit_out": "03b00400",
    "start": "04b00400",
    "finish-b": "11b00400",  # backup decoder on the finish loop
}
DECODER_LOOP = {"finish-b": "finish"}


# ------------------------------------------------------------------------------------------
# Output of the model


@dataclass
class Read:
    """One decoder read (a scenario `passing`)."""

    t: float
    transponder: str
    loop: str
    decoder: str  # key of DECODER_IDS
    strength: int
    hits: int
    origin: str = "car"  # car | duplicate | noise


@dataclass
class SimEvent:
    """A simulated happening, any non-passing scenario line: `signal`, `driver_change`, `refuel`,
    `mechanical`, `grid_move`."""

    t: float
    type: str
    data: dict


@dataclass
class SimCar:
    """One simulated competitor: its entry, its driving model and the ground truth of its race
    (true crossings, laps, stops), which the decoder reads only approximate."""

    number: str
    name: str
    transponder: str
    category: str
    base_lap_s: float
    sigma_s: float
    drift_s_per_lap: float
    drivers: list[dict] = field(default_factory=list)
    skill_s: list[float] = field(default_factory=list)  # per driver, added to base_lap_s
    wave: int | None = None
    division: str | None = None
    grid: int | None = None
    crossings: list[tuple[float, str]] = field(default_factory=list)  # true crossings (t, loop)
    laps: list[tuple[float, int, int]] = field(default_factory=list)  # (lap time, driver, clean 0/1)
    stops: list[dict] = field(default_factory=list)  # what the car did in the pits (ground truth)
    behaviours: list[str] = field(default_factory=list)
    finished: bool = False


@dataclass
class Race:
    preset: str
    kind: str
    seed: int
    params: Params
    session: dict
    cars: list[SimCar]
    reads: list[Read]
    events: list[SimEvent]
    outages: list[tuple[str, float, float]]  # (decoder, start, end) link drop-outs, playback only
    stats: dict[str, int]
    flag_t: float | None = None

    def decoders(self) -> list[str]:
        """Decoders that read something in this race, in a stable order."""
        used = {r.decoder for r in self.reads}
        return [d for d in DECODER_IDS if d in used]


# ------------------------------------------------------------------------------------------
# Generation

_TEAM_WORDS = (
    "Rapid",
    "Kart",
    "Moto",
    "Racing",
    "Team",
    "Speed",
    "Loire",
    "Sarthe",
    "Drift",
    "Apex",
    "Pole",
    "Turbo",
    "Chrono",
    "Piston",
    "Boucle",
    "Circuit",
    "Tour",
    "Vitesse",
    "Gazole",
    "Slick",
)
_FIRST = (
    "Alex",
    "Camille",
    "Sam",
    "Louise",
    "Hugo",
    "Lina",
    "Jules",
    "Emma",
    "Noah",
    "Chloé",
    "Léo",
    "Manon",
    "Tom",
    "Inès",
    "Paul",
    "Zoé",
    "Nina",
    "Théo",
    "Jade",
    "Malo",
)
_LAST = (
    "Martin",
    "Bernard",
    "Dubois",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
)


def generate(
    preset: str,
    cars: int,
    seed: int,
    params: Params | None = None,
    *,
    kind: str | None = None,
    duration_s: float | None = None,
    laps: int | None = None,
) -> Race:
    """Simulate one session of `preset` with `cars` competitors, reproducibly from `seed`."""
    if preset not in FORMATS:
        raise ValueError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
    if not 1 <= cars <= 500:
        raise ValueError("cars must be between 1 and 500")
    p = params or Params()
    fmt = FORMATS[preset]
    ss = np.random.SeedSequence(seed)
    entry_ss, cars_ss, fault_ss, outage_ss = ss.spawn(4)
    rng_entries = np.random.default_rng(entry_ss)
    car_rngs = [np.random.default_rng(s) for s in cars_ss.spawn(cars)]

    if fmt.family == "heat":
        kind = kind or "heat"
        if kind not in fmt.kind_laps:
            raise ValueError(f"autocross kind must be one of {sorted(set(fmt.kind_laps) - {'practice'})}")
        laps = laps or fmt.kind_laps[kind]
    elif fmt.family in ("laps",):
        kind = kind or "race"
        laps = laps or fmt.laps
    else:
        kind = kind or "race"
        if duration_s is None:
            duration_s = 1800.0 if kind == "qualifying" else fmt.duration_s
    sim = _Sim(preset, fmt, p, kind, duration_s, laps)
    field_ = sim.make_entries(rng_entries, cars)
    events: list[SimEvent] = []
    if fmt.family == "heat":
        events += sim.run_heat(field_, car_rngs)
    else:
        events.append(SimEvent(0.0, "signal", {"signal": "green"}))
        for car, rng in zip(field_, car_rngs, strict=True):
            events += sim.drive(car, rng)
        sim.apply_finish(field_, events)
    reads, stats = _decoder_reads(field_, p, np.random.default_rng(fault_ss), sim.end_t(field_))
    outages = _outages(
        p, np.random.default_rng(outage_ss), sim.end_t(field_), sorted({r.decoder for r in reads})
    )
    events.sort(key=lambda e: e.t)
    return Race(preset, kind, seed, p, sim.session_line(), field_, reads, events, outages, stats, sim.flag_t)


class _Sim:
    """The per-format logic; one instance per generated race."""

    def __init__(
        self, preset: str, fmt: Format, p: Params, kind: str, duration_s: float | None, laps: int | None
    ) -> None:
        self.preset, self.fmt, self.p, self.kind = preset, fmt, p, kind
        self.duration_s = duration_s
        self.laps = laps
        self.flag_t: float | None = None
        self.waves: list[dict] = []
        self.min_lap_s = round(fmt.lap_s * 0.5, 1)

    # ---- entries

    def make_entries(self, rng: np.random.Generator, n: int) -> list[SimCar]:
        fmt = self.fmt
        transponders = rng.choice(np.arange(1_000_000, 9_999_999), size=n, replace=False)
        cars: list[SimCar] = []
        if fmt.family == "heat":
            division = "Super Buggy"
            lo, hi = AX_DIVISIONS[division]
            numbers = sorted(rng.choice(np.arange(lo, hi + 1), size=min(n, 99), replace=False).tolist())
            numbers += list(range(1000, 1000 + n - len(numbers)))
        else:
            numbers = list(range(1, n + 1))
        wave_size = 20
        for i in range(n):
            if fmt.family == "endurance":
                category = "Sport" if i < (n + 1) // 2 else "Amateur"
                base = fmt.lap_s + (0.0 if category == "Sport" else 1.8) + abs(rng.normal(0, 0.9))
                nd = int(rng.integers(fmt.drivers[0], fmt.drivers[1] + 1))
            elif fmt.family == "cc":
                category = CC_CATEGORIES[i % len(CC_CATEGORIES)]
                short = fmt.category_end_s(category) is not None  # the 2-hour categories ride slower
                base = fmt.lap_s * (1.0 + abs(rng.normal(0, 0.08)) + (0.08 if short else 0))
                nd = 1
            else:
                category = "Sport" if fmt.family != "heat" else "Super Buggy"
                base = fmt.lap_s + abs(rng.normal(0, 1.2))
                nd = 1
            sigma = self.p.lap_sigma_s * float(rng.uniform(0.7, 1.3)) * (fmt.lap_s / 52.0) ** 0.5
            drivers = []
            skills = []
            for d in range(nd):
                name = f"{_FIRST[int(rng.integers(len(_FIRST)))]} {_LAST[int(rng.integers(len(_LAST)))]}"
                weight = float(np.clip(rng.normal(72, 7), 50, 100))
                drivers.append({"id": f"d{d + 1}", "name": name, "weight_kg": round(weight, 1)})
                skills.append(0.0 if nd == 1 else float(rng.normal(0, 0.5)))
            if fmt.family == "endurance":
                first = _TEAM_WORDS[int(rng.integers(len(_TEAM_WORDS)))]
                second = _TEAM_WORDS[int(rng.integers(len(_TEAM_WORDS)))]
                name = f"{first} {second} {numbers[i]}"
            else:
                name = drivers[0]["name"]
            car = SimCar(
                str(numbers[i]),
                name,
                str(int(transponders[i])),
                category,
                round(base, 3),
                round(sigma, 3),
                self.p.drift_s_per_lap * float(rng.uniform(0.5, 1.5)),
                drivers,
                skills,
            )
            if fmt.family == "endurance":
                car.grid = i + 1
            if fmt.family == "heat":
                car.division, car.grid = category, i + 1
            if fmt.family == "cc":
                car.wave = i // wave_size + 1
            cars.append(car)
        if fmt.family == "endurance":  # grid order: mix the categories by pace
            order = sorted(range(n), key=lambda k: cars[k].base_lap_s)
            for g, k in enumerate(order):
                cars[k].grid = g + 1
        if fmt.family == "cc":
            n_waves = max(1, math.ceil(n / wave_size))
            self.waves = [{"wave": w + 1, "offset_s": fmt.wave_interval_s * w} for w in range(n_waves)]
        return cars

    def session_line(self) -> dict:
        s: dict = {"preset": self.preset, "kind": self.kind}
        if self.duration_s is not None:
            s["duration_s"] = self.duration_s
        if self.laps is not None:
            s["laps"] = self.laps
        s["track_length_m"] = self.fmt.track_length_m
        s["min_lap_s"] = self.min_lap_s
        if self.waves:
            s["waves"] = self.waves
            s["cc_window_s"] = 1800.0
        return s

    # ---- lap times

    def lap_time(
        self, car: SimCar, rng: np.random.Generator, driver: int, stint_lap: int
    ) -> tuple[float, int]:
        """One lap of `car`: base + driver skill + drift + noise (+ slow lap / off-track)."""
        p = self.p
        t = (
            car.base_lap_s
            + car.skill_s[driver]
            + car.drift_s_per_lap * stint_lap
            + rng.normal(0.0, car.sigma_s)
        )
        clean = 1
        if rng.random() < p.slow_lap:
            t += rng.exponential(p.slow_lap_mean_s)
            clean = 0
        if rng.random() < p.off_track:
            t += rng.uniform(8.0, 25.0)
            clean = 0
        return max(float(t), car.base_lap_s * 0.8), clean

    # ---- circuit races (endurance, timed, laps, cross-country)

    def start_offset(self, car: SimCar) -> float:
        if self.fmt.family == "cc":
            return self.waves[(car.wave or 1) - 1]["offset_s"]
        return 0.0

    def plan_stops(self, car: SimCar, rng: np.random.Generator) -> list[dict]:
        """Planned stops: times the car heads for the pit lane, with what happens there."""
        fmt, p = self.fmt, self.p
        family = fmt.family
        if family not in ("endurance", "cc") or self.duration_s is None:
            return []
        d = self.duration_s
        lap = car.base_lap_s
        if family == "endurance":
            n = fmt.required_stops(car.category) if self.kind == "race" else 1
            lo, hi = fmt.pit_closed_s + 2 * lap, d - fmt.no_change_end_s - fmt.pit_s - 3 * lap
        else:
            n = fmt.required_stops(car.category)
            end = fmt.category_end_s(car.category) or d
            lo, hi = 2 * lap, end - 2 * lap
        if rng.random() < p.missing_stop:
            n = max(0, n - 1)
            car.behaviours.append("missing_stop")
        gap = fmt.pit_s + 40.0 + 2.2 * lap  # room for a stop and a lap on track between stops
        times: list[float] = []
        if hi > lo and n:
            step = (hi - lo) / (n + 1)
            times = [lo + step * (i + 1) + float(rng.normal(0, min(60.0, step / 6))) for i in range(n)]
        # refuel windows: make sure one planned stop falls well inside each window
        refuel_stops: dict[int, int] = {}
        if family == "endurance" and self.kind == "race":
            for w, (a, b) in enumerate(fmt.refuel):
                if b > d or not times:
                    continue
                a2, b2 = a + 60.0, b - fmt.pit_s - 2 * lap - 60.0
                inside = [i for i, t in enumerate(times) if a2 <= t <= b2 and i not in refuel_stops.values()]
                if not inside:
                    i = min(
                        (k for k in range(len(times)) if k not in refuel_stops.values()),
                        key=lambda k: abs(times[k] - (a2 + b2) / 2),
                        default=None,
                    )
                    if i is None:
                        continue
                    times[i] = float(rng.uniform(a2, max(a2, b2)))
                    inside = [i]
                refuel_stops[w] = inside[0]
        order = sorted(range(len(times)), key=lambda i: times[i])
        kept: list[int] = []
        for i in order:  # keep stops that leave room for laps between them
            if lo <= times[i] <= hi and (not kept or times[i] - times[kept[-1]] >= gap):
                kept.append(i)
        stops = []
        for i in kept:
            refuel = [w for w, k in refuel_stops.items() if k == i]
            stops.append(
                {
                    "plan_t": times[i],
                    "change": family == "endurance",
                    "refuel": refuel,
                    "duration": self.stop_duration(car, rng),
                }
            )
        if family == "endurance" and self.kind == "race":
            if stops and rng.random() < p.late_change:
                car.behaviours.append("late_change")
                stops[-1]["plan_t"] = float(
                    rng.uniform(d - fmt.no_change_end_s + 60, d - fmt.no_change_end_s + 240)
                )
                stops[-1]["refuel"] = []
            if stops and rng.random() < p.back_to_back:
                car.behaviours.append("back_to_back")
                stops[int(rng.integers(len(stops)))]["back_to_back"] = True
            for s in stops:
                s["refuel"] = [w for w in s["refuel"] if not self._missed_refuel(car, rng)]
            early = None
            if rng.random() < p.closed_pit:
                early = {"change": True, "mechanical": False}
                car.behaviours.append("closed_pit")
            elif rng.random() < p.closed_pit_mechanical:
                early = {"change": False, "mechanical": True}
                car.behaviours.append("closed_pit_mechanical")
            if early:
                early["plan_t"] = float(rng.uniform(0.2, 0.9)) * (fmt.pit_closed_s - 2 * lap)
                early["refuel"] = []
                # a repair takes a while: the 2-minute minimum still applies (LM-MIN-PIT)
                early["duration"] = (
                    self.stop_duration(car, rng) if early["change"] else float(rng.uniform(125.0, 300.0))
                )
                stops.insert(0, early)
        if family == "cc" and stops and rng.random() < p.back_to_back:
            car.behaviours.append("back_to_back")
            stops[int(rng.integers(len(stops)))]["back_to_back"] = True
        return stops

    def _missed_refuel(self, car: SimCar, rng: np.random.Generator) -> bool:
        if rng.random() < self.p.missed_refuel:
            car.behaviours.append("missed_refuel")
            return True
        return False

    def stop_duration(self, car: SimCar, rng: np.random.Generator) -> float:
        """Pit lane time. Teams aim just over the 2-minute minimum; some get it wrong."""
        target = self.fmt.pit_s
        if self.fmt.family == "endurance" and rng.random() < self.p.short_stop:
            car.behaviours.append("short_stop")
            return float(rng.uniform(target - 25.0, target - 2.0))
        if self.fmt.family == "cc":
            return float(rng.uniform(25.0, 70.0))
        return target + 0.8 + float(rng.exponential(5.0))

    def drive(self, car: SimCar, rng: np.random.Generator) -> list[SimEvent]:
        """Drive one car from the start until well past the end; `apply_finish` cuts it later."""
        fmt = self.fmt
        events: list[SimEvent] = []
        stops = self.plan_stops(car, rng)
        horizon = (self.duration_s or 0.0) + 3 * car.base_lap_s * 1.5 + 60
        if self.laps:
            horizon = (self.laps + 3) * car.base_lap_s * 1.6 + 60
        retire_t = None
        if rng.random() < self.p.dnf:
            retire_t = float(rng.uniform(0.1, 0.9)) * (horizon - 4 * car.base_lap_s)
            car.behaviours.append("dnf")
        driver, stint_lap = 0, 0
        grid_delay = 1.0 + 0.25 * ((car.grid or 1) - 1) if fmt.family != "cc" else 0.0
        t = self.start_offset(car) + grid_delay
        lap_start = t
        out_extra = 0.0
        si = 0
        lap_start_of_stint = -1.0  # time of the last pit_out; a finish must follow before a new stop
        n_laps_limit = 100_000
        for _ in range(n_laps_limit):
            if t > horizon:
                break
            lap, clean = self.lap_time(car, rng, driver, stint_lap)
            stint_lap += 1
            lap += out_extra
            out_extra = 0.0
            if retire_t is not None and t + lap > retire_t:
                if rng.random() < 0.5:  # limps into the pit lane and stays there
                    car.crossings.append((t + lap * PIT_ENTRY_FRACTION + IN_LAP_EXTRA_S, "pit_in"))
                break
            # a planned stop waits for a lap on track since the last one (only back_to_back skips it)
            if si < len(stops) and t + lap >= stops[si]["plan_t"] and t > lap_start_of_stint:
                # in-lap: the car leaves the track at pit entry, before the line
                pit_in = t + lap * PIT_ENTRY_FRACTION + IN_LAP_EXTRA_S
                stop = stops[si]
                si += 1
                for repeat in range(2):
                    pit_out = pit_in + stop["duration"]
                    car.crossings += [(pit_in, "pit_in"), (pit_out, "pit_out")]
                    driver = self._do_stop(car, rng, stop, pit_in, pit_out, driver, events)
                    car.laps.append((pit_out - lap_start, driver, 0))  # the pit lap ends at pit_out
                    lap_start = pit_out
                    if repeat:
                        break
                    if stop.get("back_to_back"):
                        stop = {"change": True, "refuel": [], "duration": self.stop_duration(car, rng)}
                    elif (back := self._ballast_fail(car, rng, pit_in, pit_out, events)) is not None:
                        stop = back
                    else:
                        break
                    # one lap from pit exit back to pit entry: the finish line is never crossed
                    lap2, _ = self.lap_time(car, rng, driver, 0)
                    pit_in = pit_out + lap2 * PIT_ENTRY_FRACTION + OUT_LAP_EXTRA_S
                stint_lap = 0
                t = lap_start_of_stint = pit_out
                out_extra = OUT_LAP_EXTRA_S - lap * (1 - PIT_ENTRY_FRACTION)
                continue
            t += lap
            car.crossings.append((t, "finish"))
            car.laps.append((t - lap_start, driver, clean))
            lap_start = t
        return events

    def _do_stop(
        self,
        car: SimCar,
        rng: np.random.Generator,
        stop: dict,
        pit_in: float,
        pit_out: float,
        driver: int,
        events: list[SimEvent],
    ) -> int:
        dur = pit_out - pit_in
        record = {"pit_in": pit_in, "pit_out": pit_out, "driver_in": car.drivers[driver]["id"]}
        if stop.get("ballast_return"):
            record["ballast_return"] = True
        if stop.get("mechanical"):
            events.append(SimEvent(pit_in + min(5.0, dur / 3), "mechanical", {"number": car.number}))
            record["mechanical"] = True
        if stop.get("change") and len(car.drivers) > 1:
            driver = (driver + 1) % len(car.drivers)
            t = pit_in + float(rng.uniform(0.15, 0.5)) * dur
            events.append(
                SimEvent(t, "driver_change", {"number": car.number, "driver": car.drivers[driver]["id"]})
            )
        for w in stop.get("refuel", []):
            t = pit_in + float(rng.uniform(0.3, 0.8)) * dur
            events.append(SimEvent(t, "refuel", {"number": car.number}))
            record.setdefault("refuel_windows", []).append(w)
        record["driver_out"] = car.drivers[driver]["id"]
        p = self.p
        if p.weight_check > 0 and self.fmt.family == "endurance" and rng.random() < p.weight_check:
            # weighed at pit exit, in race gear, against the sign-on weight (LM-WEIGHT)
            signed = car.drivers[driver]["weight_kg"]
            kg = round(signed + float(rng.uniform(0.0, 1.0)), 1)
            if rng.random() < p.underweight:
                kg = round(signed - float(rng.uniform(0.2, 2.5)), 1)
                car.behaviours.append("underweight")
                record["kg_missing"] = round(signed - kg, 1)
            t = pit_out - min(4.0, dur / 4)
            events.append(
                SimEvent(t, "weight_check", {"number": car.number, "driver": record["driver_out"], "kg": kg})
            )
            events.append(SimEvent(t, "ballast_check", {"number": car.number, "ok": True}))
        car.stops.append(record)
        return driver

    def _ballast_fail(
        self, car: SimCar, rng: np.random.Generator, pit_in: float, pit_out: float, events: list[SimEvent]
    ) -> dict | None:
        """Ballast short at pit exit: the car comes back in next lap (LM-BALLAST); returns that stop."""
        p = self.p
        if not (p.ballast_fail > 0 and self.fmt.family == "endurance" and rng.random() < p.ballast_fail):
            return None
        t = pit_out - min(3.0, (pit_out - pit_in) / 4)
        events.append(SimEvent(t, "ballast_check", {"number": car.number, "ok": False}))
        car.behaviours.append("ballast_fail")
        car.stops[-1]["ballast_fail"] = True
        if rng.random() < p.ballast_ignore:
            car.behaviours.append("ballast_ignore")
            return {
                "change": False,
                "refuel": [],
                "ballast_return": True,
                "duration": float(rng.uniform(40.0, 80.0)),
            }
        return {
            "change": False,
            "refuel": [],
            "ballast_return": True,
            "duration": float(rng.uniform(92.0, 110.0)),
        }

    def apply_finish(self, cars: list[SimCar], events: list[SimEvent]) -> None:
        """Cut every car at its finishing crossing (TIME-FINISH, LAP-FINISH, CC-DURATION)."""
        fam = self.fmt.family

        def laps_at(car: SimCar, until: float) -> tuple[int, float]:
            n, last = 0, 0.0
            for t, loop in car.crossings:
                if t > until:
                    break
                if loop in ("finish", "pit_out"):
                    n, last = n + 1, t - self.start_offset(car)
            return n, last

        ends = {c.category: self.fmt.category_end_s(c.category) for c in cars}  # CC-DURATION
        if fam in ("laps", "heat"):
            target = self.laps or 1
            firsts = []
            for car in cars:
                finishes = [t for t, loop in car.crossings if loop in ("finish", "pit_out")]
                if len(finishes) >= target:
                    firsts.append(finishes[target - 1])
            flag = min(firsts) if firsts else math.inf
        else:
            assert self.duration_s is not None
            d = self.duration_s
            main = [c for c in cars if ends[c.category] is None] or cars
            ranked = sorted(main, key=lambda c: (-laps_at(c, d)[0], laps_at(c, d)[1]))
            leader = ranked[0]
            flag = next((t for t, loop in leader.crossings if t >= d and loop == "finish"), math.inf)
            for cat in sorted(c for c, end in ends.items() if end is not None):
                events.append(SimEvent(ends[cat], "signal", {"signal": "stop_category", "category": cat}))
        self.flag_t = flag if math.isfinite(flag) else None
        for car in cars:
            cut = flag
            if ends[car.category] is not None:
                cut = ends[car.category]
            keep = []
            for t, loop in car.crossings:
                keep.append((t, loop))
                if t >= cut and loop == "finish":
                    car.finished = True
                    break
            car.crossings = keep
        # drop pit-lane events of stops that were cut off
        last = {c.number: (c.crossings[-1][0] if c.crossings else 0.0) for c in cars}
        events[:] = [e for e in events if "number" not in e.data or e.t <= last[e.data["number"]]]

    # ---- auto-cross heat: standing start, start lights, laps

    def run_heat(self, cars: list[SimCar], rngs: list[np.random.Generator]) -> list[SimEvent]:
        events = [SimEvent(0.0, "signal", {"signal": "start_procedure"})]
        green = 3.0 + float(rngs[0].uniform(0.0, 5.0)) if rngs else 3.0
        events.append(SimEvent(green, "signal", {"signal": "start_lights_green"}))
        target = self.laps or 5
        pattern = self.fmt.grid_pattern  # AX-LENGTH grid 3-2-3-2
        row_of, row, left = {}, 0, pattern[0]
        for car in cars:
            row_of[car.number] = row
            left -= 1
            if left == 0:
                row += 1
                left = pattern[row % len(pattern)]
        for car, rng in zip(cars, rngs, strict=True):
            row = row_of[car.number]
            reaction = float(rng.uniform(0.25, 0.7))
            if rng.random() < self.p.jump_start:
                car.behaviours.append("jump_start")
                events.append(
                    SimEvent(float(rng.uniform(0.5, green - 0.1)), "grid_move", {"number": car.number})
                )
                reaction = -float(rng.uniform(0.05, 0.4))
            t = green + reaction + 1.8 + 0.6 * row  # start loop 25-50 m after the grid
            car.crossings.append((t, "start"))
            retire_lap = int(rng.integers(1, target + 1)) if rng.random() < self.p.dnf else None
            if retire_lap:
                car.behaviours.append("dnf")
            lap_start = t
            for k in range(target + 2):
                if retire_lap and k + 1 >= retire_lap:
                    break
                lap, clean = self.lap_time(car, rng, 0, k)
                if k == 0:
                    lap += 2.0  # standing start
                t += lap
                car.crossings.append((t, "finish"))
                car.laps.append((t - lap_start, 0, clean if k else 0))
                lap_start = t
        self.apply_finish(cars, events)
        return events

    def end_t(self, cars: list[SimCar]) -> float:
        return max((c.crossings[-1][0] for c in cars if c.crossings), default=0.0)


# ------------------------------------------------------------------------------------------
# Decoder reads: what the loops report of the true crossings


def _decoder_reads(
    cars: list[SimCar], p: Params, rng: np.random.Generator, end_t: float
) -> tuple[list[Read], dict[str, int]]:
    """Turn crossings into reads: strength/hits, missed and duplicate reads, backup decoder, noise."""
    stats = {"crossings": 0, "missed": 0, "duplicates": 0, "noise": 0, "backup": 0}
    reads: list[Read] = []
    backup = p.second_finish_decoder >= 0.5

    def read(t: float, tr: str, loop: str, dec: str, origin: str = "car") -> Read:
        strength = int(np.clip(rng.normal(130, 22), 30, 250))
        hits = int(np.clip(rng.normal(38, 9), 4, 120))
        return Read(t, tr, loop, dec, strength, hits, origin)

    for car in cars:
        for t, loop in car.crossings:
            stats["crossings"] += 1
            # draw every number whatever the outcome, so rates do not shift the other streams
            u_miss, u_dup, u_b = rng.random(3)
            jitter = float(rng.uniform(0.0005, 0.004))
            dup_dt = float(rng.uniform(0.004, 0.080))
            if u_miss < p.missed_read:
                stats["missed"] += 1
            else:
                reads.append(read(t, car.transponder, loop, loop))
                if loop == "finish" and u_dup < p.duplicate_read:
                    stats["duplicates"] += 1
                    reads.append(read(t + dup_dt, car.transponder, loop, loop, "duplicate"))
            if backup and loop == "finish" and u_b >= p.missed_read:
                stats["backup"] += 1
                reads.append(read(t + jitter, car.transponder, "finish", "finish-b"))
    if p.noise_per_hour > 0 and end_t > 0:
        known = {c.transponder for c in cars}
        loops = sorted({loop for c in cars for _, loop in c.crossings})
        for loop in loops:
            n = int(rng.poisson(p.noise_per_hour * end_t / 3600.0))
            for t in np.sort(rng.uniform(0.0, end_t, size=n)):
                tr = str(int(rng.integers(1_000_000, 9_999_999)))
                if tr in known:
                    continue
                stats["noise"] += 1
                reads.append(read(float(t), tr, loop, loop, "noise"))
    reads.sort(key=lambda r: (r.t, r.decoder, r.transponder))
    return reads, stats


def _outages(
    p: Params, rng: np.random.Generator, end_t: float, decoders: list[str]
) -> list[tuple[str, float, float]]:
    n = int(p.disconnects)
    if n <= 0 or not decoders or end_t <= 0:
        return []
    out = []
    for _ in range(n):
        dec = decoders[int(rng.integers(len(decoders)))]
        start = float(rng.uniform(0.1, 0.8)) * end_t
        out.append((dec, start, start + p.disconnect_s))
    return sorted(out, key=lambda o: o[1])


def describe(race: Race) -> dict:
    """A compact summary (for `--summary` and the scenario header comment)."""
    return {
        "preset": race.preset,
        "kind": race.kind,
        "seed": race.seed,
        "cars": len(race.cars),
        "reads": len(race.reads),
        "flag_t": None if race.flag_t is None else round(race.flag_t, 3),
        "stats": race.stats,
        "outages": [[d, round(a, 3), round(b, 3)] for d, a, b in race.outages],
        "behaviours": {c.number: sorted(set(c.behaviours)) for c in race.cars if c.behaviours},
        "params": {k: v for k, v in asdict(race.params).items() if v != getattr(Params(), k)},
    }
