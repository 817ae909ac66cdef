"""Small helpers shared by rule modules: readable times for evidence, per-category numbers."""

from __future__ import annotations

from typing import Any

from service.i18n import Said, coded, said
from service.presets import norm
from service.timeutil import us_to_s

US = 1_000_000


def ts(us: int | None) -> str:
    """A session-clock time as race control reads it in the log: seconds with 3 decimals."""
    return "?" if us is None else f"{us / US:.3f}"


def clock(us: int) -> str:
    """A countdown or race-clock reading: `12:40`, `1:02:05` (whole seconds, rounded down)."""
    s = max(0, us) // US
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def text(st: dict[str, Any], value: Said) -> dict[str, Any]:
    """A status's `text` (English, for REST and status lines) and `text_said` (its code and params:
    the pages say it in their language)."""
    st["text"], st["text_said"] = value, coded(value)
    return st


def countdown(st: dict[str, Any], at_us: int, now_us: int, code: str, **params: Any) -> dict[str, Any]:
    """A status whose text counts down to `at_us` (session clock): the `text` said with the time
    left (param `left`), plus `until_s` and `text_until` (`{}` for the clock; `text_until_said`
    without `left`) so a page keeps counting on its own and live deltas need not resend the row
    every time the engine clock moves.
    """
    text(st, said(code, **params, left=clock(at_us - now_us)))
    st["until_s"] = us_to_s(at_us)
    st["text_until"] = said(code, **params, left="{}")
    st["text_until_said"] = coded(said(code, **params))
    return st


def per_category(table: dict[str, Any] | None, default: Any = 0) -> dict[str, Any]:
    """A `{category: value}` preset table keyed by normalised name (`default` key = fallback)."""
    out = {norm(k): v for k, v in (table or {}).items()}
    out.setdefault("default", default)
    return out


def lookup(table: dict[str, Any], category: str) -> Any:
    return table.get(norm(category), table["default"])


def failed_check(ev: Any) -> bool:
    """A `ballast_check` whose `ok` is false (the boundary turned 0 or "false" into a bool)."""
    return not ev.line.ok


def status_line(engine: Any, car: Any) -> str:
    """One line for race control from the rules' live status: "kart 14: 3 of 5 stops, refuel window
    closes in 12:40". Each rule's status may carry a `text`; they are joined in preset order.
    """
    texts = [st["text"] for st in engine.rule_status(car).values() if st.get("text")]  # English
    label = engine.params.get("competitor_label", "car")
    return f"{label} {car.number}: " + (", ".join(texts) if texts else "ok")
