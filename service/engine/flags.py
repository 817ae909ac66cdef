"""The session's flags and finish decisions: signals (green, chequered, a category stopped, the
session closed), when time is up and who led then, the chequered flag, and the crossing at which each
car takes it. The session's regime (finish.py: TIME-FINISH, LAP-FINISH, cross-country) decides; these
methods record its decisions and recompute the session when a late event changes one (`_settle`).

`Flags` is a part of `Engine` (engine.py), over the engine's one state (see corrections.py for why a
part rather than a collaborator); what it reads and writes of the engine is declared below.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from typing import Any

from service.engine.car import Car
from service.engine.events import Event
from service.engine.finish import Regime
from service.engine.outcome import Outcome
from service.presets import norm


class Flags:
    """Signals, the finish decisions and closing (mixed into `Engine`)."""

    cars: dict[str, Car]
    finish: Regime
    duration_us: int | None
    green_us: int | None
    flag_us: int | None  # chequered flag: cars finish at their first crossing >= this
    leader_at_end: str | None
    end_passed: bool
    category_stop: dict[str, int]
    signals: list[Event]
    flag_state: str
    closed: bool
    _out: Outcome
    _hooks: dict[str, list[Any]]

    @property
    def start_us(self) -> int:
        """Race time runs from the green flag; t = 0 is the green unless a signal says otherwise."""
        return self.green_us if self.green_us is not None else 0

    @property
    def end_us(self) -> int | None:
        return self.start_us + self.duration_us if self.duration_us is not None else None

    def _decided(self) -> tuple:
        """The session-wide finish decisions taken so far (what the cars' finishes are derived from)."""
        return self.flag_us, self.leader_at_end, self.end_passed

    def _settle(self, before: tuple) -> None:
        """After an event older than the session clock: keep the session's state only if it is what the
        same events give in time order. Cars depend on each other only through the finish decisions (the
        leader when time is up, the chequered flag), so those are checked against the cars' laps: a
        decision taken or changed by this event, or one that no longer holds (taken before older reads
        came in, e.g. a decoder's RESEND after a restart), recomputes the whole session in time order."""
        if self._decided() != before or not self._decisions_hold():
            self._rebuild_all()

    def _decisions_hold(self) -> bool:
        fin, end, leader = self.finish, self.end_us, self.leader_at_end
        if self.end_passed and end is not None and fin.leader_at(self.cars.values(), end) != leader:
            return False  # the leader when time was up (None: nobody had a lap) is no longer that car
        # the flag is the first decision in time: a chequered signal, or the regime's deciding crossing
        first = [(s.t, s.t) for s in self.signals if s.line.signal == "chequered"][:1]
        crossing = fin.first_flag(self.cars, end, leader)
        if crossing is not None:
            first.append(crossing)
        return self.flag_us == (min(first)[1] if first else None)

    def _check_finish(self, car: Car, t: int) -> None:
        thr = self._threshold(car, t)
        if thr is not None and t >= thr:
            car.finish_us, car.finish_lap = t, len(car.lap_ends)
            for h in self._hooks["on_car_finish"]:
                h(self, car, t)
            self._out.finish(car.number)

    def _threshold(self, car: Car, t: int) -> int | None:
        """Earliest crossing time at which this car takes the flag, if known yet."""
        fin = self.finish
        thr = None
        if fin.stops_cars:  # CC-DURATION: the car's own race time is up
            thr = fin.car_end_us(car, self.start_us)
        if self.category_stop and car.cat_key in self.category_stop:
            stop = self.category_stop[car.cat_key]
            thr = stop if thr is None else min(thr, stop)
        if self.flag_us is None:
            end = self.end_us
            if fin.time_up(end, t):
                self.end_passed = True
                if self.leader_at_end is None:
                    assert end is not None
                    self.leader_at_end = fin.leader_at(self.cars.values(), end)
            flag = fin.flag_us(car, t, end, self.leader_at_end)
            if flag is not None:
                self.flag_us = flag
                if fin.shows_flag:  # TIME-FINISH: shown to the leader at its next crossing
                    self._out.signal("chequered")
        if self.flag_us is not None:
            thr = self.flag_us if thr is None else min(thr, self.flag_us)
        return thr

    def _signal(self, ev: Event, replaying: bool = False) -> None:
        if not replaying and self.signals and ev.t < self.signals[-1].t:
            insort(self.signals, ev, key=lambda e: e.sort_key)
            self._rebuild_all()
            return
        late_green = ev.line.signal in ("green", "start_lights_green") and self.green_us is None and ev.t != 0
        if not replaying and (
            late_green
            and any(c.events for c in self.cars.values())
            or any(c.events and c.events[-1].t > ev.t for c in self.cars.values())
        ):
            # a signal older than some passings already applied (e.g. a late green): recompute
            self.signals.append(ev)
            self._rebuild_all()
            return
        self.signals.append(ev)
        sig = ev.line.signal
        if sig == "green" or sig == "start_lights_green":  # a lights start is the green (AX-JUMP)
            if self.green_us is None:
                self.green_us = ev.t
            self.flag_state = "green"
        elif sig == "chequered":
            if self.flag_us is None:
                self.flag_us = ev.t
            self.flag_state = "chequered"
        elif sig == "stop_category":
            cat = norm(ev.line.category)
            if cat:
                self.category_stop.setdefault(cat, ev.t)
        elif sig == "resume":
            self.flag_state = "green"
        elif sig in ("yellow", "sc", "red"):
            self.flag_state = sig
        elif sig == "finish_session":
            self._close()
        for h in self._hooks["on_signal"]:
            h(self, ev)
        self._out.signal(sig)

    def _close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.flag_us is None and self.end_passed:
            # the leader never crossed again: the regime says when the flag fell (TIME-FINISH)
            flag = self.finish.closing_flag_us(self.cars.values(), self.end_us or 0)
            if flag is not None:
                self.flag_us = flag
                for car in self.cars.values():
                    i = bisect_right(car.lap_ends, self.flag_us - 1)
                    if car.finish_us is None and i < len(car.lap_ends):
                        car.finish_us, car.finish_lap = car.lap_ends[i], i + 1
                        for h in self._hooks["on_car_finish"]:
                            h(self, car, car.finish_us)
        for car in self.cars.values():
            for h in self._hooks["on_session_end"]:
                h(self, car)
        self._out.session = True
