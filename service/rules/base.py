"""The contract between the engine and the rules of RULES.md.

A rule watches engine happenings through hook methods and emits penalties through
`ctx.penalize(...)`; `ctx` is a `RuleContext` (service/rules/context.py), the whole contract: rules
never see the engine. Rules keep per-car state in `car.rule_state[self.id]` (`self.state(car)`):
the engine rebuilds a car by resetting that dict and replaying the car's events, so a rule never
needs its own undo. Session-wide facts (start procedures, caches) go in `self.session_state(ctx)`,
which the engine empties when it recomputes the session. Hooks are called in session-time order.
Only overridden hooks are called (cheap).

Hooks (all optional):
- on_lap(ctx, car, lap_no, t, lap_us, via_pit)   a lap ended (finish passing, or pit_out)
- on_pit_in(ctx, car, stop) / on_pit_out(ctx, car, stop)
- on_driver_change(ctx, car, ev, stop)            stop is None when no stop was in progress
- on_refuel(ctx, car, t)                          a `refuel` event or a `refuel` loop passing
- on_car_event(ctx, car, ev)                      grid_move, weight_check, ballast_check, mechanical,
                                                  start/split loop passings, manual events
- on_signal(ctx, ev)                              a flag or start-procedure signal
- on_car_finish(ctx, car, t)                      the car took the chequered flag
- on_session_end(ctx, car)                        once per car when the session is finalised
- status(ctx, car) -> dict | None                 live status for race control (stops done, windows...)
- manual_amount(ctx, ev) -> dict                  the amount of a race-control `penalty` line naming this
                                                  rule without one (CC-LINE: a warning, then 1 lap);
                                                  not overridden: the preset's numbers for the rule
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from service.engine.car import Car, PitStop
    from service.engine.events import Event
    from service.rules.context import RuleContext

HOOKS = (
    "on_lap",
    "on_pit_in",
    "on_pit_out",
    "on_driver_change",
    "on_refuel",
    "on_car_event",
    "on_signal",
    "on_car_finish",
    "on_session_end",
    "status",
    "manual_amount",
)

RULES: dict[str, type[Rule]] = {}


def register(cls: type[Rule]) -> type[Rule]:
    """Class decorator: make a rule available to presets by its RULES.md ID."""
    RULES[cls.id] = cls
    return cls


class Rule:
    id: ClassVar[str] = ""
    #: kinds of session the rule applies to ("race", "qualifying", ...); empty = all
    kinds: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: dict[str, Any], session: dict[str, Any]) -> None:
        self.params = params
        self.session = session

    def state(self, car: Car) -> dict[str, Any]:
        """This rule's per-car scratch space (reset when the car is rebuilt)."""
        st = car.rule_state.get(self.id)
        if st is None:
            st = car.rule_state[self.id] = {}
        return st

    def session_state(self, ctx: RuleContext) -> dict[str, Any]:
        """This rule's session-wide scratch space (emptied when the session is recomputed)."""
        return ctx.session_state(self.id)

    # Hook stubs (never called unless overridden; see module docstring).
    def on_lap(self, ctx: RuleContext, car: Car, lap_no: int, t: int, lap_us: int, via_pit: bool) -> None: ...
    def on_pit_in(self, ctx: RuleContext, car: Car, stop: PitStop) -> None: ...
    def on_pit_out(self, ctx: RuleContext, car: Car, stop: PitStop) -> None: ...
    def on_driver_change(self, ctx: RuleContext, car: Car, ev: Event, stop: PitStop | None) -> None: ...
    def on_refuel(self, ctx: RuleContext, car: Car, t: int) -> None: ...
    def on_car_event(self, ctx: RuleContext, car: Car, ev: Event) -> None: ...
    def on_signal(self, ctx: RuleContext, ev: Event) -> None: ...
    def on_car_finish(self, ctx: RuleContext, car: Car, t: int) -> None: ...
    def on_session_end(self, ctx: RuleContext, car: Car) -> None: ...
    def status(self, ctx: RuleContext, car: Car) -> dict[str, Any] | None: ...
    def manual_amount(self, ctx: RuleContext, ev: Event) -> dict[str, Any]: ...


def overrides(rule: Rule, hook: str) -> bool:
    return getattr(type(rule), hook) is not getattr(Rule, hook)
