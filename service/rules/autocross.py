"""Auto-cross & sprint car rules (RULES.md section 3) and the transponder checks of sections 2-3.

AX-JUMP watches the start procedure: after `start_procedure` the grid cells are armed, so a
`grid_move`, or a `start` loop passing before the green (`start_lights_green`, or `green` for a
flag start), is a jump start. The penalty is shown to race control at once; its evidence gains
"N ms before the green" as soon as the green is known. AX-TRANSPONDER / KA-TRANSPONDER flag a car
with no reads while others are being read, and propose a penalty at the end of the session.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING, Any, ClassVar

from service.i18n import Said, coded, said
from service.rules.base import Rule, register

if TYPE_CHECKING:
    from service.engine.car import Car
    from service.engine.events import Event
    from service.rules.context import RuleContext

GREEN_SIGNALS = frozenset({"start_lights_green", "green"})
READ_TYPES = frozenset({"passing", "manual_passing"})


def _s(us: int) -> str:
    return f"{us / 1e6:.3f} s"


@register
class JumpStart(Rule):
    """AX-JUMP: 10 s for a first offence in a heat, 30 s for a repeat by the same driver (this
    session or an earlier heat of the meeting, listed in the `prior` parameter by the meeting
    runner), 30 s in semis and finals. The race is not stopped (003 art. 7.5)."""

    id: ClassVar[str] = "AX-JUMP"
    kinds: ClassVar[tuple[str, ...]] = ("heat", "semi", "final")

    def _g(self, ctx: RuleContext) -> dict[str, Any]:
        """Start procedures of the session, the green of each, and each car's offence per procedure."""
        g = self.session_state(ctx)
        if not g:
            g.update(procedures=[], greens={}, offences={})
        return g

    def on_signal(self, ctx: RuleContext, ev: Event) -> None:
        g = self._g(ctx)
        sig = ev.line.signal
        if sig == "start_procedure":
            g["procedures"].append(ev.t)
        elif sig in GREEN_SIGNALS and g["procedures"]:
            proc = len(g["procedures"]) - 1
            if proc not in g["greens"]:
                g["greens"][proc] = ev.t
                for number, (t, what) in sorted(g["offences"].get(proc, {}).items()):
                    car = ctx.cars.get(number)
                    if car is not None:
                        self._penalize(ctx, car, proc, t, what)

    def on_car_event(self, ctx: RuleContext, car: Car, ev: Event) -> None:
        if ev.type == "grid_move":
            what = said("ev.ax_grid_move")
        elif ev.type in READ_TYPES and ev.loop == "start":
            what = said("ev.ax_start_loop")
        else:
            return
        g = self._g(ctx)
        proc = bisect_right(g["procedures"], ev.t) - 1  # the procedure under way at the read, even a late one
        if proc < 0:
            return  # cells are armed only once the procedure has started
        green = g["greens"].get(proc)
        if green is not None and ev.t >= green:
            return  # moving after the green is the start itself
        offences = g["offences"].setdefault(proc, {})
        prev = offences.get(car.number)
        if prev is None or ev.t < prev[0]:
            offences[car.number] = (ev.t, what)
        # One jump start per procedure, keyed by it: re-emitting (car rebuild) keeps the same id.
        t, what = offences[car.number]
        self._penalize(ctx, car, proc, t, what)

    def _seconds(self, ctx: RuleContext, car: Car, proc: int) -> tuple[float, Said]:
        p = self.params
        if ctx.kind in ("semi", "final"):
            return float(p.get("semi_final_s", 30)), said("ev.ax_jump_in", kind=ctx.kind)
        earlier = any(car.number in self._g(ctx)["offences"].get(i, {}) for i in range(proc))
        if earlier or car.number in {str(n) for n in p.get("prior", ())}:
            return float(p.get("repeat_s", 30)), said("ev.ax_jump_repeat")
        return float(p.get("first_s", 10)), said("ev.ax_jump_first")

    def _penalize(self, ctx: RuleContext, car: Car, proc: int, t: int, what: Said) -> None:
        g = self._g(ctx)
        seconds, label = self._seconds(ctx, car, proc)
        start = g["procedures"][proc]
        green = g["greens"].get(proc)
        if green is not None:
            ms = (green - t) // 1000
            when = said("ev.ax_before_green", ms=ms, green=_s(green))
        else:
            when = said("ev.ax_lights_not_green")
        evidence = said("ev.ax_jump", label=label, what=what, t=_s(t), when=when, start=_s(start))
        ctx.penalize(car, self.id, (proc,), t, evidence, seconds=seconds, state=self.params.get("state"))


@register
class NoReads(Rule):
    """AX-TRANSPONDER: a car whose transponder did not work cannot be classified, so the timing
    crew must see it at once. Live: `status` flags a car with no read while others are read.
    End: a proposed penalty (no amount) for race control to decide."""

    id: ClassVar[str] = "AX-TRANSPONDER"
    consequence: ClassVar[str] = "ev.ax_cannot_classify"  # a _texts code

    def _others_read(self, ctx: RuleContext) -> bool:
        cache = self.session_state(ctx)  # one scan of all cars per session-clock reading
        if cache.get("at") == ctx.now_us:
            return cache["any_read"]
        any_read = any(self._has_read(c) for c in ctx.cars.values())
        cache["at"], cache["any_read"] = ctx.now_us, any_read
        return any_read

    @staticmethod
    def _has_read(car: Car) -> bool:
        return any(ev.type in READ_TYPES for ev in car.events)

    def status(self, ctx: RuleContext, car: Car) -> dict[str, Any] | None:
        if self._has_read(car) or not self._others_read(ctx):
            return None
        message = said("status.no_reads", transponder=car.transponder or said("ev.no_transponder"))
        return {"no_reads": True, "message": message, "message_said": coded(message)}

    def on_session_end(self, ctx: RuleContext, car: Car) -> None:
        if self._has_read(car) or not self._others_read(ctx):
            return
        evidence = said(
            "ev.no_reads",
            transponder=car.transponder or said("ev.no_transponder_none"),
            consequence=said(self.consequence),
        )
        ctx.penalize(
            car, self.id, ("no_reads",), ctx.now_us, evidence, state=self.params.get("state", "proposed")
        )


@register
class KartNoReads(NoReads):
    """KA-TRANSPONDER: transponder mandatory from the 2nd official free practice (100 EUR fine)."""

    id: ClassVar[str] = "KA-TRANSPONDER"
    consequence: ClassVar[str] = "ev.ka_transponder_fine"


@register
class StartLanes(Rule):
    """AX-LANES: leaving the start lanes, entered by race control; a penalty line without an
    amount takes the preset's 10 s (first offence; a repeat goes to the stewards)."""

    id: ClassVar[str] = "AX-LANES"


@register
class TimePenalty(Rule):
    """AX-TIME-PEN: the time penalties of 003 art. 8.1, entered by race control with their amount
    (the preset's `manual_penalties` table lists them for the race-control page)."""

    id: ClassVar[str] = "AX-TIME-PEN"
