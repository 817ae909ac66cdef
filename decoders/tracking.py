"""De-duplication and gap bookkeeping by (decoder id, passing number). Pure: the caller passes time.

A decoder numbers its passings 1, 2, 3...; a jump means passings were missed (link down) and
can be asked for again (P3 RESEND). A number seen twice with the same transponder and time is a
duplicate (a resend we already had); seen twice with a *different* read means the decoder
restarted its numbering, so history for it is reset rather than dropping real passings.

After a service restart the tracker is new: `baseline` (set by the service) gives, per decoder
id, the passing numbers already in the session's log, so the first number seen is compared with
what was logged (and holes left in the log are asked for) instead of becoming the new baseline.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

Baseline = Callable[[str], Iterable[int]]


@dataclass(slots=True)
class Gap:
    decoder_id: str
    first: int
    last: int
    missing: set[int]
    requests: int = 0
    last_request: float | None = None


@dataclass(slots=True)
class Observation:
    duplicate: bool = False
    new_gap: Gap | None = None
    gaps_closed: int = 0
    restarted: bool = False
    recovered: bool = False  # this passing was missing (in a gap, or given up) and came back


@dataclass(slots=True)
class _Track:
    highest: int | None = None
    seen: OrderedDict = field(default_factory=OrderedDict)  # number -> fingerprint (None: logged), oldest first
    gaps: list[Gap] = field(default_factory=list)
    given_up: set[int] = field(default_factory=set)  # counted lost; un-counted if they still arrive


class PassingTracker:
    """Remembers the last `window` passing numbers per decoder; gaps wider than `max_gap` are clipped
    to their most recent `max_gap` numbers (older ones are reported lost, not requested)."""

    def __init__(self, window: int = 50_000, max_gap: int = 2_000, baseline: Baseline | None = None) -> None:
        self.window = window
        self.max_gap = max_gap
        self.baseline = baseline
        self._tracks: dict[str, _Track] = {}
        self.lost = 0  # passings given up on (clipped or never resent)
        self.recovered = 0  # missing passings that came back (resent)

    # -- per-decoder state -------------------------------------------------------------------------
    def _track(self, decoder_id: str) -> _Track:
        track = self._tracks.get(decoder_id)
        if track is None:
            track = self._tracks[decoder_id] = _Track()
            if self.baseline is not None:
                try:
                    numbers = sorted(set(self.baseline(decoder_id)))
                except Exception:  # the service's log is the truth, but a failing lookup must not kill the link
                    log.exception("decoder %s: cannot read the logged passing numbers", decoder_id or "?")
                    numbers = []
                self._seed(track, decoder_id, numbers)
        return track

    def _seed(self, track: _Track, decoder_id: str, numbers: list[int]) -> None:
        """Resume from the log: newest logged number, and the holes between logged numbers as gaps."""
        if not numbers:
            return
        track.highest = numbers[-1]
        for n in numbers[-self.window:]:
            track.seen[n] = None
        for a, b in zip(numbers, numbers[1:], strict=False):
            if b - a - 1 > self.max_gap:  # a jump that wide is a renumbered decoder, not missed reads
                log.warning("decoder %s: logged passing numbers jump from %d to %d; not asking for them",
                            decoder_id or "?", a, b)
            elif b > a + 1:
                track.gaps.append(Gap(decoder_id, a + 1, b - 1, set(range(a + 1, b))))
        if track.gaps:
            log.info("decoder %s: %d passings missing from the log, will ask for them", decoder_id or "?",
                     sum(len(g.missing) for g in track.gaps))

    def knows(self, decoder_id: str) -> bool:
        return decoder_id in self._tracks

    def highest(self, decoder_id: str) -> int | None:
        """Newest passing number received or logged for this decoder (seeds it from the log first)."""
        return self._track(decoder_id).highest

    def decoders(self) -> list[str]:
        return list(self._tracks)

    # -- passings --------------------------------------------------------------------------------
    def observe(self, decoder_id: str, number: int, fingerprint: object) -> Observation:
        track = self._track(decoder_id)
        obs = Observation()
        if number in track.seen:
            prior = track.seen[number]
            if prior is None or prior == fingerprint:  # None: logged before a restart, read unknown
                obs.duplicate = True
                return obs
            log.warning("decoder %s reused passing number %d for another read: numbering restarted",
                        decoder_id or "?", number)
            self.lost += sum(len(g.missing) for g in track.gaps)
            track = self._tracks[decoder_id] = _Track()
            obs.restarted = True
        track.seen[number] = fingerprint
        while len(track.seen) > self.window:
            track.seen.popitem(last=False)
        if number in track.given_up:
            track.given_up.discard(number)
            self.lost -= 1
            self.recovered += 1
            obs.recovered = True
        if track.highest is None:
            track.highest = number
            return obs
        if number > track.highest + 1:
            first, last = track.highest + 1, number - 1
            if last - first + 1 > self.max_gap:
                self.lost += last - first + 1 - self.max_gap
                self._give_up(track, range(first, last - self.max_gap + 1))
                first = last - self.max_gap + 1
            gap = Gap(decoder_id, first, last, set(range(first, last + 1)))
            track.gaps.append(gap)
            obs.new_gap = gap
        if number > track.highest:
            track.highest = number
            return obs
        for gap in track.gaps:
            if number in gap.missing:
                gap.missing.discard(number)
                self.recovered += 1
                obs.recovered = True
                if not gap.missing:
                    obs.gaps_closed += 1
                break
        track.gaps = [g for g in track.gaps if g.missing]
        return obs

    def _give_up(self, track: _Track, numbers: Iterable[int]) -> None:
        for n in numbers:
            if len(track.given_up) >= self.window:
                break
            track.given_up.add(n)

    def pending(self) -> list[Gap]:
        """Gaps still missing passings, oldest first."""
        return [g for t in self._tracks.values() for g in t.gaps]

    def outstanding(self, decoder_id: str | None = None) -> int:
        """Passings still missing and asked for (all decoders, or one)."""
        tracks = self._tracks.values() if decoder_id is None else [self._tracks.get(decoder_id) or _Track()]
        return sum(len(g.missing) for t in tracks for g in t.gaps)

    def due(self, now: float, retry_after: float, max_requests: int) -> list[tuple[str, int, int]]:
        """(decoder_id, from, until) to request now; gaps past `max_requests` are given up."""
        out = []
        for track in self._tracks.values():
            keep = []
            for gap in track.gaps:
                if gap.last_request is not None and now - gap.last_request < retry_after:
                    keep.append(gap)
                    continue
                if gap.requests >= max_requests:
                    log.warning("decoder %s: passings %d..%d not resent after %d requests, giving up",
                                gap.decoder_id or "?", min(gap.missing), max(gap.missing), gap.requests)
                    self.lost += len(gap.missing)
                    self._give_up(track, gap.missing)
                    continue
                gap.requests += 1
                gap.last_request = now
                out.append((gap.decoder_id, min(gap.missing), max(gap.missing)))
                keep.append(gap)
            track.gaps = keep
        return out

    def rearm(self) -> None:
        """After a reconnect, ask for every pending gap at once (the old request may be lost)."""
        for gap in self.pending():
            gap.last_request = None
