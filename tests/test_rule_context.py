"""The rules' boundary (issue 16): `RuleContext` is the whole contract between a rule and the engine.

Rules run here against a minimal object that has only the protocol's members (slots: anything else
a rule reached for would raise AttributeError); no rule module imports the engine; the engine
satisfies the protocol and empties each rule's session state when it recomputes the session.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from typing import Any

from service.engine import Engine
from service.engine.car import Car, PitStop
from service.engine.events import make_event, parse_line
from service.rules import RULES
from service.rules.context import MEMBERS, RuleContext
from tests.conftest import REPO

US = 1_000_000
RULE_DIR = REPO / "service" / "rules"


class MinimalContext:
    """Exactly the RuleContext members; penalties and session states are kept in private slots."""

    __slots__ = (
        "now_us",
        "start_us",
        "end_us",
        "green_us",
        "flag_us",
        "kind",
        "cars",
        "events",
        "signals",
        "_penalties",
        "_states",
    )

    def __init__(
        self, cars: list[Car], kind: str = "race", now_s: float = 0.0, end_s: float | None = None
    ) -> None:
        self.now_us, self.start_us, self.green_us, self.flag_us = round(now_s * US), 0, 0, None
        self.end_us = None if end_s is None else round(end_s * US)
        self.kind = kind
        self.cars = {c.number: c for c in cars}
        self.events: list[Any] = []
        self.signals: list[Any] = []
        self._penalties: dict[tuple, dict[str, Any]] = {}  # the last emission per key, as the engine keeps it
        self._states: dict[str, dict[str, Any]] = {}

    def penalize(
        self,
        car: Car,
        rule: str,
        key: tuple,
        t: int,
        evidence: str,
        *,
        laps: int = 0,
        seconds: float = 0.0,
        best_lap_seconds: float = 0.0,
        dsq: bool = False,
        state: str | None = None,
    ) -> object:
        p = {
            "number": car.number,
            "rule": rule,
            "t": t,
            "evidence": evidence,
            "laps": laps,
            "seconds": seconds,
            "best_lap_seconds": best_lap_seconds,
            "dsq": dsq,
            "state": state,
        }
        self._penalties[(rule, car.number, *key)] = p
        return p

    def session_state(self, rule_id: str) -> dict[str, Any]:
        return self._states.setdefault(rule_id, {})

    @property
    def penalties(self) -> list[dict[str, Any]]:  # for the assertions only (not a RuleContext member)
        return list(self._penalties.values())


def _public(cls: type) -> set[str]:
    names = set(getattr(cls, "__slots__", ())) | set(vars(cls))
    return {n for n in names if not n.startswith("_")} - {"penalties"}


def _event(line: dict[str, Any], seq: int) -> Any:
    return make_event(parse_line(line), seq)


def _rule(rule_id: str, params: dict[str, Any] | None = None, session: dict[str, Any] | None = None) -> Any:
    return RULES[rule_id](params or {}, session or {})


def test_the_minimal_context_has_exactly_the_protocol_members() -> None:
    assert _public(MinimalContext) == MEMBERS
    assert MEMBERS == {
        "now_us",
        "start_us",
        "end_us",
        "green_us",
        "flag_us",
        "kind",
        "cars",
        "events",
        "signals",
        "penalize",
        "session_state",
    }
    assert isinstance(MinimalContext([]), RuleContext)


def test_the_engine_satisfies_the_protocol() -> None:
    engine = Engine({"preset": "autocross", "kind": "heat"})
    assert isinstance(engine, RuleContext)
    for name in MEMBERS:
        assert hasattr(engine, name), name


def test_min_pit_runs_on_the_minimal_context() -> None:
    """LM-MIN-PIT: pit_in 600 s, pit_out 700 s = 100 s < 120 s -> 1 lap (race)."""
    car = Car({"number": "7", "category": "Sport"})
    ctx = MinimalContext([car], now_s=700)
    stop = PitStop(in_us=600 * US, lap=10, driver_in="d1", out_us=700 * US, driver_out="d2")
    _rule("LM-MIN-PIT", {"min_s": 120, "laps": 1}).on_pit_out(ctx, car, stop)
    assert ctx.penalties == [
        {
            "number": "7",
            "rule": "LM-MIN-PIT",
            "t": 700 * US,
            "laps": 1,
            "seconds": 0.0,
            "best_lap_seconds": 0.0,
            "dsq": False,
            "state": None,
            "evidence": "pit_in 600.000 -> pit_out 700.000 = 100.000 s < 120 s",
        }
    ]
    long_stop = PitStop(in_us=800 * US, lap=12, driver_in="d2", out_us=920 * US, driver_out="d3")
    _rule("LM-MIN-PIT", {"min_s": 120, "laps": 1}).on_pit_out(ctx, car, long_stop)  # exactly 120 s is enough
    assert len(ctx.penalties) == 1


def test_jump_start_keeps_its_procedures_in_the_session_state() -> None:
    """AX-JUMP in a heat: a grid move at 12 s after the start procedure (10 s), green at 13 s:
    first offence 10 s, evidence completed with "1000 ms before the green" once the green is known."""
    car = Car({"number": "4"})
    ctx = MinimalContext([car], kind="heat")
    rule = _rule("AX-JUMP")
    rule.on_signal(ctx, _event({"type": "signal", "t": 10.0, "signal": "start_procedure"}, 1))
    rule.on_car_event(ctx, car, _event({"type": "grid_move", "t": 12.0, "number": "4"}, 2))
    (p,) = ctx.penalties
    assert (p["seconds"], p["t"]) == (10.0, 12 * US)
    assert p["evidence"] == (
        "first jump start: grid_move at 12.000 s, before the green (lights not yet green); "
        "start procedure from 10.000 s"
    )
    rule.on_signal(ctx, _event({"type": "signal", "t": 13.0, "signal": "start_lights_green"}, 3))
    (p,) = ctx.penalties  # the same infringement (key: the procedure), its evidence completed
    assert "1000 ms before the green (green at 13.000 s)" in p["evidence"]
    assert ctx.session_state("AX-JUMP")["procedures"] == [10 * US]
    # a second procedure (restart): the same driver's new jump is a repeat, 30 s
    rule.on_signal(ctx, _event({"type": "signal", "t": 100.0, "signal": "start_procedure"}, 4))
    rule.on_car_event(ctx, car, _event({"type": "grid_move", "t": 101.0, "number": "4"}, 5))
    assert [q["seconds"] for q in ctx.penalties] == [10.0, 30.0]


def test_no_reads_proposes_a_penalty_on_the_minimal_context() -> None:
    """AX-TRANSPONDER: others were read, car 9 never: status flags it, the end proposes a penalty."""
    read, silent = Car({"number": "1", "transponder": "T1"}), Car({"number": "9", "transponder": "T9"})
    read.events.append(_event({"type": "passing", "t": 50.0, "transponder": "T1", "loop": "finish"}, 1))
    ctx = MinimalContext([read, silent], kind="heat", now_s=300)
    rule = _rule("AX-TRANSPONDER")
    assert rule.status(ctx, read) is None
    assert rule.status(ctx, silent) == {
        "no_reads": True,
        "message": "no transponder read (T9)",
        "message_said": {"code": "status.no_reads", "params": {"transponder": "T9"}},
    }
    rule.on_session_end(ctx, silent)
    (p,) = ctx.penalties
    assert (p["number"], p["state"], p["t"]) == ("9", "proposed", 300 * US)
    assert p["evidence"] == "no read of transponder T9 in this session: cannot be classified (003 art. 4.3)"


def test_duration_status_on_the_minimal_context() -> None:
    """CC-DURATION: a Jeunes rider of wave 2 (30 s) takes the STOP board after 2 h of its own race:
    7230 s; at 7000 s the board is 230 s = 3:50 away."""
    session = {"category_duration_s": {"Jeunes": 7200}, "wave_interval_s": 30}
    waves, duration = _rule("CC-WAVES", session=session), _rule("CC-DURATION", session=session)
    rider = Car({"number": "31", "category": "jeunes", "wave": 2}, waves.offset_us(2))
    ctx = MinimalContext([rider], now_s=7000)
    st = duration.status(ctx, rider)
    assert st["text"] == "STOP board in 3:50"
    assert st["stop_at_s"] == 7230.0 and st["stopped"] is False
    assert waves.status(ctx, rider) == {"wave": 2, "offset_s": 30.0}


def test_engine_empties_session_state_when_it_recomputes() -> None:
    """A late signal recomputes the session: AX-JUMP sees its start procedure once, not twice."""
    engine = Engine({"preset": "autocross", "kind": "heat"})
    engine.apply_line(parse_line({"type": "entry", "number": "4", "transponder": "T4"}))
    engine.apply_line(parse_line({"type": "signal", "t": 10.0, "signal": "start_procedure"}))
    engine.apply_line(parse_line({"type": "signal", "t": 12.0, "signal": "start_lights_green"}))
    engine.apply_line(parse_line({"type": "passing", "t": 40.0, "transponder": "T4", "loop": "finish"}))
    assert engine.session_state("AX-JUMP")["procedures"] == [10 * US]
    engine.apply_line(
        parse_line({"type": "signal", "t": 30.0, "signal": "yellow"})
    )  # older than a passing: full recompute
    assert engine.counters["full_rebuilds"] == 1
    assert engine.session_state("AX-JUMP")["procedures"] == [10 * US]


def _imports(path: Any) -> list[str]:
    """Every module a file imports, anywhere in it (TYPE_CHECKING blocks and functions included)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            out += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
    return out


def test_no_rule_module_imports_the_engine() -> None:
    files = sorted(RULE_DIR.glob("*.py"))
    assert len(files) >= 6
    for path in files:
        bad = [m for m in _imports(path) if m in ("service.engine.engine", "service.engine.Engine")]
        assert not bad, f"{path.name} imports {bad}"


def test_loading_the_rules_does_not_load_the_engine() -> None:
    code = (
        "import sys, service.rules, service.rules.context; "
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('service.engine'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    )
    assert "service.engine.engine" not in out.stdout.split()
