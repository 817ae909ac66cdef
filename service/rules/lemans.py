"""Le Mans Open Kart endurance rules (RULES.md section 1, seed 002).

Every number comes from the preset (`service/presets/lemans-*.json`), so the six events share these
classes. Times at a boundary follow one convention: the forbidden period is the open side, so a
pit_in at exactly 300.0 s (end of "the first 5 minutes") and a driver change at exactly 10 min
before the end are allowed, and a stop of exactly 120.0 s is long enough.

Penalties are emitted the moment they are certain (at pit_out for a stop, at the check for a
weight); those whose outcome depends on the whole race (LM-STOPS, LM-REFUEL) are emitted when the
session ends and show a live `status()` meanwhile.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING, Any

from service.i18n import Said, said
from service.rules.base import Rule, register
from service.rules.common import US, clock, countdown, failed_check, lookup, per_category, text, ts
from service.timeutil import us_to_s

if TYPE_CHECKING:
    from service.engine.car import Car, PitStop
    from service.engine.events import Event
    from service.rules.context import RuleContext


def _end_t(ctx: RuleContext, car: Car) -> int:
    """When an end-of-race penalty becomes certain for this car: its flag, else its last read."""
    if car.finish_us is not None:
        return car.finish_us
    last = car.last_crossing_us
    return last if last is not None else ctx.now_us


def _change_label(stop: PitStop) -> str:
    return f"{stop.driver_in} -> {stop.driver_out}"


@register
class Stops(Rule):
    """LM-STOPS: the category's number of stops *with a driver change*; 10 laps per missing one.

    Only the end of the race says how many were missing, so the penalty is emitted at session end;
    meanwhile `status` shows done/required and the current stint for the team and race control.
    """

    id = "LM-STOPS"
    kinds = ("race",)

    def __init__(self, params: dict[str, Any], session: dict[str, Any]) -> None:
        super().__init__(params, session)
        self.required = per_category(params.get("stops"), 0)
        self.laps = int(params.get("laps", 10))
        self.max_stint_us = round(float(params["max_stint_s"]) * US) if params.get("max_stint_s") else None

    def counted(self, car: Car) -> list[PitStop]:
        return [s for s in car.stops if s.driver_changed]

    def on_session_end(self, ctx: RuleContext, car: Car) -> None:
        if car.first_seen_us is None:
            return  # did not start: nothing to deduct from
        req = lookup(self.required, car.category)
        done = self.counted(car)
        missing = req - len(done)
        if missing <= 0:
            return
        outs = ", ".join(ts(s.out_us) for s in done) or said("word.none")
        others = [s for s in car.stops if not s.driver_changed and s.out_us is not None]
        extra = said("ev.lm_stops_uncounted", n=len(others)) if others else ""
        ctx.penalize(
            car,
            self.id,
            (),
            _end_t(ctx, car),
            said(
                "ev.lm_stops",
                done=len(done),
                required=req,
                category=car.category,
                outs=outs,
                extra=extra,
                missing=missing,
                laps=self.laps,
                n=self.laps,
            ),
            laps=missing * self.laps,
        )

    def status(self, ctx: RuleContext, car: Car) -> dict[str, Any]:
        req = lookup(self.required, car.category)
        done = sum(1 for s in car.stops if s.driver_changed)
        st: dict[str, Any] = {"done": done, "required": req, "missing": max(0, req - done)}
        if car.stint_start_us is not None and car.finish_us is None:
            began = max(car.stint_start_us, ctx.start_us)
            stint = max(0, ctx.now_us - began)
            st["stint_s"] = round(stint / US, 1)
            st["stint_start_s"] = us_to_s(began)  # absolute: what live deltas carry (hub.py)
            st["driver"] = car.driver
            if self.max_stint_us is not None:
                st["stint_left_s"] = round(max(0, self.max_stint_us - stint) / US, 1)
                st["stint_ends_s"] = round((began + self.max_stint_us) / US, 3)
        return text(st, said("status.lm_stops", done=done, required=req))


@register
class LapBetween(Rule):
    """LM-LAP-BETWEEN: at least one `finish` passing between two driver-change stops; 10 laps.

    Checked at the pit_out of a driver-change stop (only then is it known the driver changed).
    Laps ended by a pit_out are not finish passings: count the lap ends strictly between the
    previous change stop's pit_out and this stop's pit_in, less the pit_outs of stops in between.
    """

    id = "LM-LAP-BETWEEN"
    kinds = ("race",)

    def on_pit_out(self, ctx: RuleContext, car: Car, stop: PitStop) -> None:
        if not stop.driver_changed:
            return
        prev, between = None, 0
        for s in reversed(car.stops):
            if s is stop:
                continue
            if s.driver_changed:
                prev = s
                break
            between += s.out_us is not None  # a stop without change: its pit_out lap is no crossing
        if prev is None or prev.out_us is None:
            return
        end = stop.in_us if stop.in_us is not None else stop.out_us
        assert end is not None
        ends = car.lap_ends
        if bisect_left(ends, end) - bisect_right(ends, prev.out_us) - between > 0:
            return
        ctx.penalize(
            car,
            self.id,
            (end,),
            stop.out_us or end,
            said(
                "ev.lm_lap_between",
                pit_out=ts(prev.out_us),
                pit_in=ts(stop.in_us),
                before=_change_label(prev),
                change=_change_label(stop),
            ),
            laps=int(self.params.get("laps", 10)),
        )


@register
class PitClosedStart(Rule):
    """LM-PIT-CLOSED-START: pit lane closed for the first 5 minutes; 10 laps.

    Exception: a mechanical problem accepted by race control (`mechanical`, before or during the
    stop), and then no driver change on that stop. Decided at pit_out because the declaration
    usually comes after the kart entered.
    """

    id = "LM-PIT-CLOSED-START"
    kinds = ("race",)

    def __init__(self, params: dict[str, Any], session: dict[str, Any]) -> None:
        super().__init__(params, session)
        self.closed_us = round(float(params.get("closed_s", 300)) * US)

    def on_pit_out(self, ctx: RuleContext, car: Car, stop: PitStop) -> None:
        if stop.in_us is None:
            return
        rel = stop.in_us - ctx.start_us
        if rel >= self.closed_us:
            return
        if stop.mechanical and not stop.driver_changed:
            return
        why = (
            said("ev.lm_mechanical_but_changed", change=_change_label(stop))
            if stop.mechanical
            else said("ev.lm_no_mechanical")
        )
        ctx.penalize(
            car,
            self.id,
            (stop.in_us,),
            stop.out_us or stop.in_us,
            said(
                "ev.lm_pit_closed",
                pit_in=ts(stop.in_us),
                after=f"{rel / US:.3f}",
                closed=f"{self.closed_us / US:g}",
                why=why,
            ),
            laps=int(self.params.get("laps", 10)),
        )

    def status(self, ctx: RuleContext, car: Car) -> dict[str, Any]:
        left = ctx.start_us + self.closed_us - ctx.now_us
        if ctx.green_us is None or left > 0:
            st: dict[str, Any] = {"pit_lane": "closed", "opens_in_s": round(max(0, left) / US, 1)}
            extra: Said | str = ""
            stop = car.in_pit
            if stop is not None and stop.in_us is not None and stop.in_us - ctx.start_us < self.closed_us:
                st["driver_change_allowed"] = False
                extra = said(
                    "status.lm_no_change_stop" if stop.mechanical else "status.lm_no_change_stop_no_mech"
                )
            return countdown(
                st, ctx.start_us + self.closed_us, ctx.now_us, "status.lm_pit_opens", extra=extra
            )
        return {"pit_lane": "open"}


@register
class NoChangeEnd(Rule):
    """LM-NO-CHANGE-END: no driver change in the last 10 minutes; 10 laps.

    The time of the change is the `driver_change` event (badge read or marshal); a stop counts as a
    change only if the driver at pit_out differs, so it is decided at pit_out.
    """

    id = "LM-NO-CHANGE-END"
    kinds = ("race",)

    def __init__(self, params: dict[str, Any], session: dict[str, Any]) -> None:
        super().__init__(params, session)
        self.last_us = round(float(params.get("last_s", 600)) * US)

    def _cutoff(self, ctx: RuleContext) -> int | None:
        end = ctx.end_us
        return None if end is None else end - self.last_us

    def on_driver_change(self, ctx: RuleContext, car: Car, ev: Event, stop: PitStop | None) -> None:
        if stop is not None:
            self.state(car)[stop.in_us] = ev.t  # last change time of this stop

    def on_pit_out(self, ctx: RuleContext, car: Car, stop: PitStop) -> None:
        cutoff = self._cutoff(ctx)
        if cutoff is None or not stop.driver_changed:
            return
        t = car.rule_state.get(self.id, {}).get(stop.in_us)
        if t is None or t <= cutoff:
            return
        ctx.penalize(
            car,
            self.id,
            (stop.in_us,),
            stop.out_us or t,
            said(
                "ev.lm_no_change_end",
                change=_change_label(stop),
                t=ts(t),
                before=f"{(ctx.end_us - t) / US:.3f}",
                end=ts(ctx.end_us),
                cutoff=ts(cutoff),
            ),
            laps=int(self.params.get("laps", 10)),
        )

    def status(self, ctx: RuleContext, car: Car) -> dict[str, Any] | None:
        cutoff = self._cutoff(ctx)
        if cutoff is None or car.finish_us is not None:
            return None  # no race clock, or the kart has taken the flag: nothing left to allow
        left = cutoff - ctx.now_us
        if left >= 0:
            return {
                "driver_change_allowed": True,
                "change_closes_in_s": round(left / US, 1),
                "change_closes_s": us_to_s(cutoff),
            }
        return text({"driver_change_allowed": False}, said("status.lm_no_change_end"))


@register
class MinPit(Rule):
    """LM-MIN-PIT: at least 2 minutes from pit_in to pit_out. Race: 1 lap; qualifying: +5 s on best.

    The stop that follows a failed ballast check is governed by LM-BALLAST (90 s) instead, when the
    preset says `ballast_exempt`.
    """

    id = "LM-MIN-PIT"

    def __init__(self, params: dict[str, Any], session: dict[str, Any]) -> None:
        super().__init__(params, session)
        self.min_us = round(float(params.get("min_s", 120)) * US)
        self.exempt = bool(params.get("ballast_exempt", False))

    def on_car_event(self, ctx: RuleContext, car: Car, ev: Event) -> None:
        if self.exempt and ev.type == "ballast_check" and failed_check(ev):
            self.state(car)["ballast"] = ev.t

    def on_pit_out(self, ctx: RuleContext, car: Car, stop: PitStop) -> None:
        d = stop.duration_us
        if d is None:
            return
        if self.exempt:
            st = car.rule_state.get(self.id)
            if st and st.get("ballast") is not None and stop.in_us > st["ballast"]:
                st["ballast"] = None
                return
        if d >= self.min_us:
            return
        ctx.penalize(
            car,
            self.id,
            (stop.in_us,),
            stop.out_us,
            said(
                "ev.lm_min_pit",
                pit_in=ts(stop.in_us),
                pit_out=ts(stop.out_us),
                duration=f"{d / US:.3f}",
                min=f"{self.min_us / US:g}",
            ),
            laps=int(self.params.get("laps", 0)),
            best_lap_seconds=float(self.params.get("best_lap_seconds", 0)),
        )


@register
class Refuel(Rule):
    """LM-REFUEL: one refuel (`refuel` event or `refuel` loop) inside each window; 5 laps per miss.

    Two refuels in one window count once. A window counts as missed only if it closed while the
    kart was still running (a kart retired before the window opened is not penalised for it).
    """

    id = "LM-REFUEL"
    kinds = ("race",)

    def __init__(self, params: dict[str, Any], session: dict[str, Any]) -> None:
        super().__init__(params, session)
        self.windows = [
            (round(float(a) * US), round(float(b) * US)) for a, b in params.get("windows_s") or []
        ]
        self.laps = int(params.get("laps", 5))

    def on_refuel(self, ctx: RuleContext, car: Car, t: int) -> None:
        rel = t - ctx.start_us
        for i, (a, b) in enumerate(self.windows):
            if a <= rel <= b:
                self.state(car).setdefault(i, t)  # the first refuel of a window is the one that counts

    def on_session_end(self, ctx: RuleContext, car: Car) -> None:
        last = car.last_crossing_us
        if last is None:
            return
        done = car.rule_state.get(self.id, {})
        for i, (a, b) in enumerate(self.windows):
            close = ctx.start_us + b
            if i in done or last < close:
                continue
            refuels = ", ".join(ts(t) for t in car.refuels) or said("word.none")
            ctx.penalize(
                car,
                self.id,
                (i,),
                close,
                said(
                    "ev.lm_refuel",
                    window=i + 1,
                    opens=ts(ctx.start_us + a),
                    closes=ts(close),
                    race_from=clock(a),
                    race_to=clock(b),
                    refuels=refuels,
                ),
                laps=self.laps,
            )

    def status(self, ctx: RuleContext, car: Car) -> dict[str, Any] | None:
        if not self.windows:
            return None
        done = car.rule_state.get(self.id, {})
        now = ctx.now_us - ctx.start_us
        wins, why, at = [], None, None
        for i, (a, b) in enumerate(self.windows):
            w: dict[str, Any] = {"window": i + 1, "open_s": a / US, "close_s": b / US}
            if i in done:
                w["state"], w["refuel_t"] = "done", us_to_s(done[i])
            elif now > b:
                w["state"] = "missed"
                why = why or ("status.lm_refuel_missed", i + 1)
            elif now >= a:
                w["state"], w["closes_in_s"] = "open", round((b - now) / US, 1)
                if not why:
                    why, at = ("status.lm_refuel_closes", i + 1), ctx.start_us + b
            else:
                w["state"], w["opens_in_s"] = "upcoming", round((a - now) / US, 1)
                if not why:
                    why, at = ("status.lm_refuel_opens", i + 1), ctx.start_us + a
            wins.append(w)
        st: dict[str, Any] = {"windows": wins, "done": len(done), "required": len(self.windows)}
        if at is not None:
            return countdown(st, at, ctx.now_us, why[0], window=why[1])
        return text(st, said(why[0], window=why[1])) if why else st


@register
class Weight(Rule):
    """LM-WEIGHT: a random `weight_check` below the driver's sign-on weight; 2 laps per kg missing.

    Every started kilogram counts by default (`rounding: ceil`; `floor` counts whole kilograms).
    Weights are compared in grams so 70.0 - 68.7 is 1.3 kg, not 1.2999.
    """

    id = "LM-WEIGHT"
    kinds = ("race",)

    def ballast(self, kg: float | None) -> float | None:
        """Ballast carried for a sign-on weight, from the preset's bands [[min, max, ballast], ...]."""
        if kg is None:
            return None
        for lo, hi, ballast in self.params.get("ballast_bands") or []:
            if lo <= kg <= hi:
                return float(ballast)
        return None

    def status(self, ctx: RuleContext, car: Car) -> dict[str, Any] | None:
        signon = car.driver_weight(car.driver)
        if signon is None:
            return None
        return {"driver": car.driver, "signon_kg": signon, "ballast_kg": self.ballast(signon)}

    def on_car_event(self, ctx: RuleContext, car: Car, ev: Event) -> None:
        if ev.type != "weight_check":
            return
        driver = str(ev.line.driver or car.driver or "")
        signon = car.driver_weight(driver)
        if signon is None:
            return  # no sign-on weight to compare with: nothing certain
        kg = ev.line.kg
        missing_g = round((signon - kg) * 1000)
        if missing_g <= 0:
            return
        whole = (
            math.floor(missing_g / 1000) if self.params.get("rounding") == "floor" else -(-missing_g // 1000)
        )
        if whole <= 0:
            return
        per = int(self.params.get("laps_per_kg", 2))
        ctx.penalize(
            car,
            self.id,
            (ev.t,),
            ev.t,
            said(
                "ev.lm_weight",
                t=ts(ev.t),
                driver=driver,
                kg=f"{kg:g}",
                signon=f"{signon:g}",
                missing=f"{missing_g / 1000:.3f}",
                whole=whole,
                per=per,
                n=per,
            ),
            laps=whole * per,
        )


@register
class Ballast(Rule):
    """LM-BALLAST: after a failed `ballast_check` the kart's next stop must last >= 90 s with no
    driver change. The regulation sets no amount, so the penalty is *proposed* to race control.
    """

    id = "LM-BALLAST"
    kinds = ("race",)

    def __init__(self, params: dict[str, Any], session: dict[str, Any]) -> None:
        super().__init__(params, session)
        self.min_us = round(float(params.get("min_s", 90)) * US)
        self.state_policy = params.get("state", "proposed")

    def on_car_event(self, ctx: RuleContext, car: Car, ev: Event) -> None:
        if ev.type == "ballast_check" and failed_check(ev):
            self.state(car).setdefault("pending", ev.t)

    def on_pit_out(self, ctx: RuleContext, car: Car, stop: PitStop) -> None:
        st = car.rule_state.get(self.id)
        if not st or st.get("pending") is None or stop.in_us is None or stop.in_us <= st["pending"]:
            return
        check = st.pop("pending")
        d = stop.duration_us or 0
        faults = []
        if d < self.min_us:
            faults.append(
                said(
                    "ev.lm_ballast_short",
                    pit_in=ts(stop.in_us),
                    pit_out=ts(stop.out_us),
                    duration=f"{d / US:.3f}",
                    min=f"{self.min_us / US:g}",
                )
            )
        if stop.driver_changed:
            faults.append(said("ev.lm_ballast_changed", change=_change_label(stop)))
        if faults:
            why = faults[0] if len(faults) == 1 else said("ev.and", a=faults[0], b=faults[1])
            ctx.penalize(
                car,
                self.id,
                (check,),
                stop.out_us or stop.in_us,
                said("ev.lm_ballast", t=ts(check), why=why),
                state=self.state_policy,
            )

    def on_session_end(self, ctx: RuleContext, car: Car) -> None:
        st = car.rule_state.get(self.id)
        if st and st.get("pending") is not None:
            check = st["pending"]
            ctx.penalize(
                car,
                self.id,
                (check,),
                _end_t(ctx, car),
                said("ev.lm_ballast", t=ts(check), why=said("ev.lm_ballast_never")),
                state=self.state_policy,
            )

    def status(self, ctx: RuleContext, car: Car) -> dict[str, Any] | None:
        st = car.rule_state.get(self.id)
        if not st or st.get("pending") is None:
            return None
        return text(
            {"return_required": True, "driver_change_allowed": False},
            said("status.lm_ballast_return", min=f"{self.min_us / US:g}"),
        )


@register
class Unsporting(Rule):
    """LM-UNSPORTING: declared by race control as a `penalty` line; never automatic.

    Registered so presets can name it: a `penalty` line with this rule and no amount takes the
    preset's numbers (race 1 lap, qualifying +5 s on best lap).
    """

    id = "LM-UNSPORTING"
