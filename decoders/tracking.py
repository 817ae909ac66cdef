"""De-duplication and gap bookkeeping by (decoder id, passing number). Pure: the caller passes time.

A decoder numbers its passings 1, 2, 3...; a jump means passings were missed (link down) and
can be asked for again (P3 RESEND). A number seen twice with the same transponder and time is a
duplicate (a resend we already had); seen twice with a *different* read means the decoder
restarted its numbering, so history for it is reset rather than dropping real passings.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


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


@dataclass(slots=True)
class _Track:
    highest: int | None = None
    seen: OrderedDict = field(default_factory=OrderedDict)  # number -> fingerprint, oldest first
    gaps: list[Gap] = field(default_factory=list)


class PassingTracker:
    """Remembers the last `window` passing numbers per decoder; gaps wider than `max_gap` are clipped
    to their most recent `max_gap` numbers (older ones are reported lost, not requested)."""

    def __init__(self, window: int = 50_000, max_gap: int = 2_000) -> None:
        self.window = window
        self.max_gap = max_gap
        self._tracks: dict[str, _Track] = {}
        self.lost = 0  # passings given up on (clipped or never resent)

    def observe(self, decoder_id: str, number: int, fingerprint: object) -> Observation:
        track = self._tracks.setdefault(decoder_id, _Track())
        obs = Observation()
        prior = track.seen.get(number)
        if prior is not None:
            if prior == fingerprint:
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
        if track.highest is None:
            track.highest = number
            return obs
        if number > track.highest + 1:
            first, last = track.highest + 1, number - 1
            if last - first + 1 > self.max_gap:
                self.lost += last - first + 1 - self.max_gap
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
                if not gap.missing:
                    obs.gaps_closed += 1
                break
        track.gaps = [g for g in track.gaps if g.missing]
        return obs

    def pending(self) -> list[Gap]:
        """Gaps still missing passings, oldest first."""
        return [g for t in self._tracks.values() for g in t.gaps]

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
