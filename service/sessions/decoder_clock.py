"""How one decoder's clock maps onto the session clock, learnt without anything typed. Pure: no I/O, no clock.

Every sample is a pair (decoder time, session time when it reached us): a clock report (P3 GET_TIME,
a status message with the decoder's time) or the arrival of a *live* read. Both obey one law: a
thing cannot reach us before it happened, so `arrival - decoder time` is the true offset plus a
delay that is never negative. The map is therefore the *minimum* of that quantity, not an average:
a late, queued or resent read can only raise it, and is ignored.

    t_us = decoder_us + offset_us + drift_ppm * (decoder_us - anchor_us) / 1e6

Lap times are differences of decoder times, so the map moves only on clear evidence (each move
changes the one lap that spans it by the size of the move):
- the first sample sets the offset at once (a link is never left waiting for a second read);
- a clock report is better than a read (no crossing-detection delay), so once a decoder reports its
  clock, the reports steer the map and reads only check it;
- a sample that arrived *before* its mapped time by more than `jitter_us` proves the offset too
  high: lowered to it. One that arrived more than `step_us` before is a bogus time or a decoder
  clock set forward: `observe` answers DISAGREE (the caller keeps that read aside) until `confirm`
  samples agree with each other, then the map steps to them (STEPPED);
- samples all later than `late_us` for `late_span_us` (the decoder clock was set back) raise the
  offset to their minimum (STEPPED);
- drift: the slope of per-minute minima over the last half hour, applied (continuously, from the
  newest sample on) only when it is clearly a crystal's drift (`drift_min_ppm`): a decoder on GPS
  time keeps exact lap times.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

AGREE, DISAGREE, STEPPED = "agree", "disagree", "stepped"
MANUAL, REPORT, ARRIVAL = "manual", "decoder", "arrivals"  # where the map comes from (shown to the crew)


@dataclass
class DecoderClock:
    """The session-clock map of one decoder clock (one decoder id, one numbering epoch)."""

    jitter_us: int = 250_000  # early arrivals below this are delivery jitter, not evidence (a busy host)
    step_us: int = 2_000_000  # an arrival this far before its mapped time needs confirming
    confirm: int = 2  # samples that must agree before the map steps
    late_us: int = 2_000_000  # every sample this late for `late_span_us`: the clock went back
    late_span_us: int = 10_000_000
    bucket_us: int = 60_000_000  # drift: one minimum per minute of decoder time...
    buckets: int = 30  # ...over the last half hour
    drift_min_ppm: float = 5.0  # below this a measured drift is noise (a GPS or disciplined clock)
    drift_span_us: int = 300_000_000  # and it needs five minutes of evidence

    source: str = ""  # MANUAL, REPORT or ARRIVAL once set
    offset_us: int | None = None
    anchor_us: int = 0
    drift_ppm: float = 0.0  # applied
    measured_ppm: float | None = None  # last estimate, applied or not
    samples: int = 0
    _early: list[tuple[int, int]] = field(default_factory=list)  # unconfirmed step: (decoder, arrival)
    _late: deque = field(
        default_factory=lambda: deque(maxlen=64)
    )  # (arrival, error) of late samples in a row
    _minima: dict[int, int] = field(default_factory=dict)  # bucket -> min(arrival - decoder)

    # -- the map ------------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return self.offset_us is not None

    def to_session_us(self, decoder_us: int) -> int:
        """Session time (µs) of a decoder time; the map must be ready."""
        assert self.offset_us is not None
        return decoder_us + self.offset_us + round(self.drift_ppm * (decoder_us - self.anchor_us) / 1e6)

    def set_manual(self, zero_us: int) -> None:
        """The crew's override: decoder time `zero_us` is session t = 0; samples no longer move it."""
        self.source, self.offset_us, self.anchor_us, self.drift_ppm = MANUAL, -zero_us, 0, 0.0

    def _reanchor(self, decoder_us: int, session_us: int, source: str) -> None:
        self.offset_us, self.anchor_us, self.source = session_us - decoder_us, decoder_us, source
        self._early.clear()
        self._late.clear()

    # -- evidence -----------------------------------------------------------------------------
    def observe(self, decoder_us: int, arrival_us: int, report: bool = False) -> str:
        """One sample; returns AGREE, DISAGREE (this sample is far too early: unconfirmed) or STEPPED."""
        self.samples += 1
        if self.source == MANUAL:
            return AGREE
        kind = REPORT if report else ARRIVAL
        if self.offset_us is None:  # the first sample: the map starts here
            self._reanchor(decoder_us, arrival_us, kind)
            self._track_drift(decoder_us, arrival_us)
            return AGREE
        err = arrival_us - self.to_session_us(decoder_us)  # >= 0 when the map is right
        if err < -self.step_us:
            return self._too_early(decoder_us, arrival_us)
        self._early.clear()
        if report and self.source == ARRIVAL:  # reports steer from now on; move only if they disagree
            self.source = REPORT
            self._minima.clear()
            self._late.clear()
            if abs(err) > self.jitter_us:
                self._reanchor(decoder_us, arrival_us, REPORT)
                self._track_drift(decoder_us, arrival_us)
                return STEPPED
        if kind != self.source:  # a read checks a report-steered map, it does not move it
            return AGREE
        self._track_drift(decoder_us, arrival_us)
        if err < -self.jitter_us:  # arrived before it happened: the offset is too high
            self.offset_us += err
            self._late.clear()
            return AGREE
        if err <= self.late_us:
            self._late.clear()
            return AGREE
        self._late.append((arrival_us, err))  # late: a slow delivery, or the clock was set back
        if len(self._late) >= self.confirm and arrival_us - self._late[0][0] >= self.late_span_us:
            self.offset_us += min(e for _, e in self._late)
            self._late.clear()
            return STEPPED
        return AGREE

    def _too_early(self, decoder_us: int, arrival_us: int) -> str:
        implied = arrival_us - decoder_us
        if self._early and abs(self._early[0][1] - self._early[0][0] - implied) > self.step_us:
            self._early.clear()  # does not agree with the earlier early sample: start again from this one
        self._early.append((decoder_us, arrival_us))
        if len(self._early) < self.confirm:
            return DISAGREE
        d, a = min(self._early, key=lambda s: s[1] - s[0])
        self._reanchor(d, a, self.source)
        self._minima.clear()
        return STEPPED

    def _track_drift(self, decoder_us: int, arrival_us: int) -> None:
        b = decoder_us // self.bucket_us
        raw = arrival_us - decoder_us
        if b not in self._minima or raw < self._minima[b]:
            self._minima[b] = raw
        while len(self._minima) > self.buckets:
            del self._minima[min(self._minima)]
        if len(self._minima) < 5:
            return
        xs = [k * self.bucket_us for k in self._minima]
        if max(xs) - min(xs) < self.drift_span_us:
            return
        ys = list(self._minima.values())
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        sxx = sum((x - mx) ** 2 for x in xs)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
        self.measured_ppm = round(slope * 1e6, 1)
        want = self.measured_ppm if abs(self.measured_ppm) >= self.drift_min_ppm else 0.0
        if abs(want - self.drift_ppm) >= 2.0 or (want == 0.0 and self.drift_ppm != 0.0):
            at = self.to_session_us(decoder_us)  # continuous at this read
            self.anchor_us, self.drift_ppm = decoder_us, want
            self.offset_us = at - decoder_us

    # -- what is kept and shown ---------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "offset_us": self.offset_us,
            "anchor_us": self.anchor_us,
            "drift_ppm": self.drift_ppm,
            "measured_ppm": self.measured_ppm,
        }

    @classmethod
    def restore(cls, d: dict[str, Any]) -> DecoderClock:
        """A map kept in the session's meta (a restart times the next reads exactly as before)."""
        c = cls()
        if isinstance(d.get("offset_us"), int) and d.get("source") in (REPORT, ARRIVAL):
            c.source, c.offset_us = d["source"], d["offset_us"]
            c.anchor_us = int(d.get("anchor_us") or 0)
            c.drift_ppm = float(d.get("drift_ppm") or 0.0)
            c.measured_ppm = d.get("measured_ppm")
        return c
