"""De-duplication, gaps and numbering epochs by (decoder id, passing number). Pure: the caller passes time.

A decoder numbers its passings 1, 2, 3...; a jump means passings were missed (link down) and
can be asked for again (P3 RESEND). A number seen twice with the same transponder and time is a
duplicate (a resend we already had). A decoder that reboots starts numbering again (at 1): its
numbers no longer name the reads we have. So a number seen again with a *different* read, or a
lower number than the newest one whose decoder time is *later*, starts a new **epoch**: the reads
of the new epoch are never duplicates of the old one's, and gaps are asked for within the new epoch.
The epoch travels with each read (`Passing.epoch`) and is logged with it, so it survives a restart.

After a service restart the tracker is new: `baseline` (set by the service) gives, per decoder
id, what the session holds of its newest epoch (`Logged`: numbers with their transponders, and the
first number ever handed to the session), so the first number seen is compared with what was
logged, holes left in the log are asked for (also before the first logged read), instead of the
first number becoming the new baseline.

A read the service could not store (its log cannot be written) is `unstored`: forgotten as seen,
and asked for again (never given up) once the service can store reads again.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Logged:
    """What the session holds of one decoder's newest epoch: where a link resumes after a restart."""

    epoch: int = 1
    reads: dict[int, str | None] = field(
        default_factory=dict
    )  # passing number -> transponder (None: unknown)
    first: int | None = None  # lowest number ever handed to the session in this epoch (maybe never stored)


Baseline = Callable[[str], "Logged | Iterable[int]"]


@dataclass(frozen=True, slots=True)
class _FromLog:
    """A number the session holds: only its transponder is known (the decoder time is not logged)."""

    transponder: str | None

    def same(self, fingerprint: object) -> bool:
        return self.transponder is None or (
            isinstance(fingerprint, tuple) and bool(fingerprint) and fingerprint[0] == self.transponder
        )


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
    restarted: bool = False  # this read starts a new numbering epoch (the decoder rebooted)
    recovered: bool = False  # this passing was missing (in a gap, or given up) and came back
    refetched: bool = False  # this passing had come but could not be stored; here it is again
    epoch: int = 1


@dataclass(slots=True)
class _Track:
    epoch: int = 1
    highest: int | None = None
    highest_time: int | None = None  # decoder time of `highest`, when it came in this process
    seen: OrderedDict = field(
        default_factory=OrderedDict
    )  # number -> fingerprint (or _FromLog), oldest first
    gaps: list[Gap] = field(default_factory=list)
    given_up: set[int] = field(default_factory=set)  # counted lost; un-counted if they still arrive
    unstored: set[int] = field(default_factory=set)  # came, could not be stored: asked again, never given up
    unstored_asked: float | None = None


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
                    logged = self.baseline(decoder_id)
                    if not isinstance(logged, Logged):
                        logged = Logged(reads=dict.fromkeys(logged))
                except (
                    Exception
                ):  # the service's log is the truth, but a failing lookup must not kill the link
                    log.exception("decoder %s: cannot read the logged passing numbers", decoder_id or "?")
                    logged = Logged()
                self._seed(track, decoder_id, logged)
        return track

    def _seed(self, track: _Track, decoder_id: str, logged: Logged) -> None:
        """Resume from the log: its newest epoch, newest number, and the holes in it as gaps."""
        track.epoch = max(1, logged.epoch)
        numbers = sorted(logged.reads)
        if logged.first is not None and (not numbers or logged.first < numbers[0]):
            if not numbers:  # handed to the session, none stored: resume (probe) from the first on
                track.highest = logged.first - 1
            else:  # read before the first stored one (the log could not be written then)
                first = max(logged.first, numbers[0] - self.max_gap)
                track.gaps.append(Gap(decoder_id, first, numbers[0] - 1, set(range(first, numbers[0]))))
        if not numbers:
            return
        track.highest = numbers[-1]
        for n in numbers[-self.window :]:
            track.seen[n] = _FromLog(logged.reads[n])
        for a, b in zip(numbers, numbers[1:], strict=False):
            if b - a - 1 > self.max_gap:  # a jump that wide is a renumbered decoder, not missed reads
                log.warning(
                    "decoder %s: logged passing numbers jump from %d to %d; not asking for them",
                    decoder_id or "?",
                    a,
                    b,
                )
            elif b > a + 1:
                track.gaps.append(Gap(decoder_id, a + 1, b - 1, set(range(a + 1, b))))
        if track.gaps:
            log.info(
                "decoder %s: %d passings missing from the log, will ask for them",
                decoder_id or "?",
                sum(len(g.missing) for g in track.gaps),
            )

    def knows(self, decoder_id: str) -> bool:
        return decoder_id in self._tracks

    def highest(self, decoder_id: str) -> int | None:
        """Newest passing number received or logged for this decoder (seeds it from the log first)."""
        return self._track(decoder_id).highest

    def epoch(self, decoder_id: str) -> int:
        """The numbering epoch this decoder is in (1 until it reboots; seeded from the log)."""
        return self._track(decoder_id).epoch

    def decoders(self) -> list[str]:
        return list(self._tracks)

    # -- passings --------------------------------------------------------------------------------
    def observe(
        self, decoder_id: str, number: int, fingerprint: object, time_us: int | None = None
    ) -> Observation:
        """One numbered read. `fingerprint` tells two reads apart (e.g. (transponder, decoder time));
        `time_us`, the read's decoder time, lets a lower number with a later time reveal a reboot."""
        track = self._track(decoder_id)
        obs = Observation(epoch=track.epoch)
        prior = track.seen.get(number)
        if number in track.seen:
            if prior.same(fingerprint) if isinstance(prior, _FromLog) else prior == fingerprint:
                obs.duplicate = True
                return obs
            track = self._restart(decoder_id, track, f"reused passing number {number} for another read")
        elif (
            track.highest is not None
            and number < track.highest
            and time_us is not None
            and track.highest_time is not None
            and time_us > track.highest_time
            and number not in track.unstored
            and number not in track.given_up
            and not any(number in g.missing for g in track.gaps)
        ):
            track = self._restart(
                decoder_id, track, f"passing number {number} after {track.highest}, read later"
            )
        if track.epoch != obs.epoch:
            obs.restarted, obs.epoch = True, track.epoch
        track.seen[number] = fingerprint
        while len(track.seen) > self.window:
            track.seen.popitem(last=False)
        if number in track.unstored:
            track.unstored.discard(number)
            obs.refetched = True
        if number in track.given_up:
            track.given_up.discard(number)
            self.lost -= 1
            self.recovered += 1
            obs.recovered = True
        if track.highest is None or number > track.highest:
            first = 1 if obs.restarted else (track.highest + 1 if track.highest is not None else number)
            if number > first:
                last = number - 1
                if last - first + 1 > self.max_gap:
                    self.lost += last - first + 1 - self.max_gap
                    self._give_up(track, range(first, last - self.max_gap + 1))
                    first = last - self.max_gap + 1
                gap = Gap(decoder_id, first, last, set(range(first, last + 1)))
                track.gaps.append(gap)
                obs.new_gap = gap
            track.highest = number
            track.highest_time = time_us
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

    def _restart(self, decoder_id: str, track: _Track, why: str) -> _Track:
        """The decoder rebooted: a new epoch. What it held of the old one is gone: pending gaps are lost."""
        log.warning("decoder %s %s: numbering restarted, epoch %d", decoder_id or "?", why, track.epoch + 1)
        self.lost += sum(len(g.missing) for g in track.gaps) + len(track.unstored)
        self._tracks[decoder_id] = _Track(epoch=track.epoch + 1)
        return self._tracks[decoder_id]

    def unstored(self, decoder_id: str, number: int) -> None:
        """This read came but the service could not store it: ask for it again once it can."""
        track = self._track(decoder_id)
        track.seen.pop(number, None)
        if len(track.unstored) < self.window:
            track.unstored.add(number)
        else:
            self.lost += 1

    def unstored_count(self) -> int:
        return sum(len(t.unstored) for t in self._tracks.values())

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

    def due(
        self, now: float, retry_after: float, max_requests: int, writable: bool = True
    ) -> list[tuple[str, int, int]]:
        """(decoder_id, from, until) to request now; gaps past `max_requests` are given up.
        Unstored reads are asked for again while the service can store them (`writable`), and only
        the first of them, rarely, while it cannot (its answer tells whether it can again)."""
        out = []
        for track in self._tracks.values():
            keep = []
            for gap in track.gaps:
                if gap.last_request is not None and now - gap.last_request < retry_after:
                    keep.append(gap)
                    continue
                if gap.requests >= max_requests:
                    log.warning(
                        "decoder %s: passings %d..%d not resent after %d requests, giving up",
                        gap.decoder_id or "?",
                        min(gap.missing),
                        max(gap.missing),
                        gap.requests,
                    )
                    self.lost += len(gap.missing)
                    self._give_up(track, gap.missing)
                    continue
                gap.requests += 1
                gap.last_request = now
                out.append((gap.decoder_id, min(gap.missing), max(gap.missing)))
                keep.append(gap)
            track.gaps = keep
            wait = retry_after if writable else 5 * retry_after
            if track.unstored and (track.unstored_asked is None or now - track.unstored_asked >= wait):
                track.unstored_asked = now
                decoder_id = next((d for d, t in self._tracks.items() if t is track), "")
                numbers = sorted(track.unstored)
                out += [(decoder_id, a, b) for a, b in _ranges(numbers if writable else numbers[:1])]
        return out

    def rearm(self) -> None:
        """After a reconnect, ask for every pending gap at once (the old request may be lost)."""
        for gap in self.pending():
            gap.last_request = None
        for track in self._tracks.values():
            track.unstored_asked = None


def _ranges(numbers: list[int], limit: int = 64) -> list[tuple[int, int]]:
    """Sorted numbers as (first, last) runs, at most `limit` of them (the rest on the next turn)."""
    out: list[tuple[int, int]] = []
    for n in numbers:
        if out and n == out[-1][1] + 1:
            out[-1] = (out[-1][0], n)
        elif len(out) < limit:
            out.append((n, n))
        else:
            break
    return out
