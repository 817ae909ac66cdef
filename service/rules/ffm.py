"""FFM cross-country moto and kids rules (RULES.md section 4, seed 004).

The cross-country mechanics live in their rule objects, read from preset data: wave offsets
(`waves` or `wave_interval_s`, CC-WAVES), per-category race length (`category_duration_s`,
CC-DURATION), the finish window (`cc_window_s`, CC-FINISH); the engine's cross-country finish
regime (service/engine/finish.py) asks them. Per-category positions (CC-CLASSES), CC-PIT
penalties and live status are here too. CC-KIDS aggregates two finished endurances.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING, Any

from service.i18n import Said, said
from service.presets import norm
from service.rules.base import Rule, register
from service.rules.common import US, countdown, lookup, per_category, text, ts
from service.timeutil import s_to_us

if TYPE_CHECKING:
    from service.engine.car import Car
    from service.engine.events import Event
    from service.rules.context import RuleContext


@register
class Waves(Rule):
    """CC-WAVES: each wave's start offset is subtracted from its riders' race time.

    Offsets come from the session's `waves` list ({wave, offset_s}), else (wave - 1) x
    `wave_interval_s` for a numbered wave; any other rider starts at the green.
    """

    id = "CC-WAVES"

    def __init__(self, params: dict[str, Any], session: dict[str, Any]) -> None:
        super().__init__(params, session)
        self.offsets = {
            str(w.get("wave")): s_to_us(float(w.get("offset_s", 0))) for w in session.get("waves") or []
        }
        interval = session.get("wave_interval_s")
        self.interval_us = s_to_us(float(interval)) if interval else None

    @property
    def active(self) -> bool:
        return bool(self.offsets) or self.interval_us is not None

    def offset_us(self, wave: Any) -> int:
        """A listed wave's offset, else (wave - 1) x `wave_interval_s` when the preset sets one."""
        off = self.offsets.get(str(wave))
        if off is not None:
            return off
        if (
            self.interval_us is not None
            and wave is not None
            and str(wave).strip().isdigit()
            and int(wave) >= 1
        ):
            return (int(wave) - 1) * self.interval_us
        return 0

    def status(self, ctx: RuleContext, car: Car) -> dict[str, Any] | None:
        if car.wave is None:
            return None
        return {"wave": car.wave, "offset_s": car.offset_us / US}


@register
class Duration(Rule):
    """CC-DURATION: 2 h categories take a "STOP - 2 heures" board at their first crossing after 2 h
    of their own race time (`category_duration_s`); they are not shown the leader's flag and are
    classified in their own scratch. The status counts down to the board.
    """

    id = "CC-DURATION"
    kinds = ("race",)

    def __init__(self, params: dict[str, Any], session: dict[str, Any]) -> None:
        super().__init__(params, session)
        self.lengths = {
            norm(c): s_to_us(float(s)) for c, s in (session.get("category_duration_s") or {}).items()
        }

    @property
    def active(self) -> bool:
        return bool(self.lengths)

    def length_us(self, car: Car) -> int | None:
        """The race length of the car's category when it has its own, else None (the session's)."""
        return self.lengths.get(car.cat_key) if self.lengths else None

    def stop_us(self, car: Car, start_us: int) -> int | None:
        """Earliest crossing that takes the STOP board: strictly after the category's race time."""
        length = self.length_us(car)
        return None if length is None else start_us + car.offset_us + length + 1

    def status(self, ctx: RuleContext, car: Car) -> dict[str, Any] | None:
        dur = self.length_us(car)
        if dur is None:
            return None
        stop_at = ctx.start_us + car.offset_us + dur
        if car.finish_us is not None:
            return text(
                {"stop_at_s": stop_at / US, "stopped": True}, said("status.cc_stopped", t=ts(car.finish_us))
            )
        left = stop_at - ctx.now_us
        if left > 0:
            return countdown(
                {"stop_at_s": stop_at / US, "stopped": False}, stop_at, ctx.now_us, "status.cc_stop_in"
            )
        return text({"stop_at_s": stop_at / US, "stopped": False}, said("status.cc_stop_next"))


@register
class Finish(Rule):
    """CC-FINISH: a rider crossing more than the window (`cc_window_s`) after the winner of its
    scratch is `not_classified`. The status says how long the window stays open.
    """

    id = "CC-FINISH"
    kinds = ("race",)

    def __init__(self, params: dict[str, Any], session: dict[str, Any]) -> None:
        super().__init__(params, session)
        window = session.get("cc_window_s")
        self.window_us = round(float(window) * US) if window else None

    @property
    def active(self) -> bool:
        return self.window_us is not None

    def late(self, finishers: list[tuple[Any, int]]) -> list[bool]:
        """For (scratch, finish time) of each classified finisher: True when it crossed more than
        the window after the first finisher of its scratch (one winner per race duration)."""
        window = self.window_us
        if window is None:
            return [False] * len(finishers)
        winner: dict[Any, int] = {}
        for group, t in finishers:
            if group not in winner or t < winner[group]:
                winner[group] = t
        return [t > winner[group] + window for group, t in finishers]

    def status(self, ctx: RuleContext, car: Car) -> dict[str, Any] | None:
        window = self.window_us
        if window is None or ctx.flag_us is None or car.finish_us is not None:
            return None
        closes = ctx.flag_us + window
        left = closes - ctx.now_us
        st = {"window_closes_in_s": round(max(0, left) / US, 1)}
        if left > 0:
            return countdown(st, closes, ctx.now_us, "status.cc_window_closes")
        return text(st, said("status.cc_window_closed"))


@register
class Pit(Rule):
    """CC-PIT: mandatory pit passages (2 Championship, 1 Jeunes/Féminines/Soft); 1 lap per missing one.

    A passage counts only if the rider crossed the timing line since the previous passage (a lap
    ended by a pit_out is not a line crossing, so only lap ends strictly between the two are).
    Not applied when the race was stopped early (a red flag not resumed, or a chequered flag shown
    before the time was up): the regulation then ignores pit passages.
    """

    id = "CC-PIT"
    kinds = ("race",)

    def __init__(self, params: dict[str, Any], session: dict[str, Any]) -> None:
        super().__init__(params, session)
        self.required = per_category(params.get("passages"), int(params.get("default", 2)))
        self.laps = int(params.get("laps", 1))

    def counted(self, car: Car) -> tuple[int, list[Said]]:
        ends = car.lap_ends
        n, notes, prev_end = 0, [], None
        for s in car.stops:
            start = s.in_us if s.in_us is not None else s.out_us
            if start is None:
                continue
            if prev_end is None or bisect_left(ends, start) - bisect_right(ends, prev_end) > 0:
                n += 1
            else:
                notes.append(said("ev.cc_pit_no_crossing", t=ts(start), since=ts(prev_end)))
            prev_end = s.out_us if s.out_us is not None else start
        return n, notes

    @staticmethod
    def stopped_early(ctx: RuleContext) -> bool:
        end = ctx.end_us
        red = False
        for ev in ctx.signals:
            sig = ev.line.signal
            if sig == "red":
                red = True
            elif sig in ("resume", "green"):
                red = False
            elif sig == "chequered" and end is not None and ev.t < end:
                return True
        return red

    def on_session_end(self, ctx: RuleContext, car: Car) -> None:
        if car.first_seen_us is None or self.stopped_early(ctx):
            return
        req = lookup(self.required, car.category)
        done, notes = self.counted(car)
        missing = req - done
        if missing <= 0:
            return
        extra = said("ev.cc_pit_notes", notes=notes) if notes else ""
        t = car.finish_us if car.finish_us is not None else (car.last_crossing_us or ctx.now_us)
        ctx.penalize(
            car,
            self.id,
            (),
            t,
            said(
                "ev.cc_pit",
                done=done,
                required=req,
                category=car.category or said("ev.cc_championship"),
                extra=extra,
                missing=missing,
                laps=self.laps,
                n=self.laps,
            ),
            laps=missing * self.laps,
        )

    def status(self, ctx: RuleContext, car: Car) -> dict[str, Any]:
        req = lookup(self.required, car.category)
        done, _ = self.counted(car)
        return text({"done": done, "required": req}, said("status.cc_pit", done=done, required=req))


@register
class Line(Rule):
    """CC-LINE: race control's start-line and course-tape decisions, as `penalty` lines with
    `"rule": "CC-LINE"` and `"offence": "line"` (changing start line: 1 lap) or `"tape"` (breaking
    course tape: a warning the first time, then 1 lap). An amount typed by race control wins.
    """

    id = "CC-LINE"
    kinds = ("race",)

    def manual_amount(self, ctx: RuleContext, ev: Event) -> dict[str, Any]:
        offence = ev.line.offence or "line"
        if offence != "tape":
            return {"laps": int(self.params.get("line_laps", 1)), "note": said("ev.cc_line_changed")}
        before = sum(
            1
            for e in ctx.events
            if e.type == "penalty"
            and e.number == ev.number
            and e.line.rule == self.id
            and e.line.offence == "tape"
            and e.sort_key < ev.sort_key
        )
        if before < int(self.params.get("tape_warnings", 1)):
            return {"laps": 0, "note": said("ev.cc_tape_warning", n=before + 1)}
        return {"laps": int(self.params.get("tape_laps", 1)), "note": said("ev.cc_tape_again", n=before + 1)}


@register
class Classes(Rule):
    """CC-CLASSES: category classifications are extracted from the scratch
    (`service.engine.categories.by_category`)."""

    id = "CC-CLASSES"


@register
class Kids(Rule):
    """CC-KIDS: two 45-minute endurances aggregated by `service.engine.categories.aggregate_kids`."""

    id = "CC-KIDS"
