"""The times a live session accepts: what a person types, what a decoder sends (issue 20).

Checked at the live session's boundary only (`LiveSession.submit_many`, against its clock): replaying
a log or a scenario file never checks them, so old logs replay as they were.

- Staff lines (manual passings, penalties, signals, car actions, corrections): from the session's
  start (t = 0, or an earlier green) to the session clock plus `STAFF_AHEAD_S`. A typo (`99999` in a
  90-minute race, `-5`) is refused, saying why.
- Decoder reads: from `READ_BEFORE_S` before t = 0 (a session opened after its race began: the decoder
  resends what it holds) to `READ_AHEAD_S` past the clock; further out, the decoder's clock does not
  match this session (the read is refused with that reason, never silently dropped).

The session clock is the later of the wall clock and the newest event applied: a scenario posted
faster than real time, or an import, moves it too.
"""

from __future__ import annotations

from collections.abc import Callable

from service.engine import Engine
from service.engine.events import ConfirmLine, InvalidateLine, Line, LineError, PassingLine, Timed

STAFF_AHEAD_S = 120.0  # a person's clock may run a little ahead of the session's
READ_BEFORE_S = 6 * 3600.0
READ_AHEAD_S = 3600.0


class OutOfTime(LineError):
    """A time outside what the live session accepts (a 400 with a catalogue code)."""


def time_refusal(line: Line, engine: Engine, wall_s: Callable[[], float]) -> OutOfTime | None:
    """Why the live session refuses this line's time(s), if it does."""
    if not isinstance(line, Timed) or line.t is None:
        return None
    clock = max(engine.now_us / 1e6, wall_s())
    start = min(0.0, (engine.green_us or 0) / 1e6)
    read = (start - READ_BEFORE_S, clock + READ_AHEAD_S)
    times = [("t", line.t, read if isinstance(line, PassingLine) else (start, clock + STAFF_AHEAD_S))]
    if isinstance(line, InvalidateLine):
        times.append(("target_t", line.target_t, read))
    if isinstance(line, ConfirmLine) and line.lap_t is not None:
        times.append(("lap_t", line.lap_t, read))
    for field, t, (low, high) in times:
        if t < low:
            return OutOfTime("time.before_start", field=field, t=round(t, 3), start=round(low, 3))
        if t > high:
            return OutOfTime(
                "time.after_clock",
                field=field,
                t=round(t, 3),
                clock=round(clock, 3),
                margin=round(high - clock),
            )
    return None
