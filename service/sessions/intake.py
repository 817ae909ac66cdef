"""Decoder reads on their way into a session: clock alignment, kept-aside reads, an unwritable log.

Every read a decoder link hands over ends in exactly one place, and the source is told whether it
is safe (`Source._emit`'s answer):
- **logged** as a `passing` line, its session time `t` decided here once and written with it
  (replay never asks the clock estimate again);
- **already had**: the same (decoder, epoch, number) is in the log or kept aside;
- **waiting for its decoder's clock** (in memory): a resent read that comes before any evidence of
  its decoder's clock (no report, no live read yet, no map kept from before a restart) is timed
  and taken as soon as there is one. A *live* read is never held: its own arrival is evidence, so
  the first read of a new link is timed at once from when it arrived (the map then only moves on
  clear evidence, see service/sessions/decoder_clock.py);
- **kept aside** in the session's SQLite file (table `aside`, not the log) with its reason:
  refused by the boundary (`time`, `field`, `engine`), arrived after the session was finished
  (`closed`), or timed more than 2 s *after* it arrived by its decoder's clock map (`clock`: its
  clock was set forward, or the read is bogus; once a second read confirms the new clock, these are
  re-timed and logged by themselves). The crew admits the others once the cause is fixed;
  admission logs the ordinary passing line the read makes with the decoder's current clock map;
- **not stored** (the log cannot be written, e.g. a full disk): the answer is False, so the source
  asks its decoder again (P3 RESEND) or keeps a copy; `log_errors` counts it, kept in the
  session's meta as soon as the log takes writes again, as is the first number each decoder ever
  handed over (so a restart also asks for reads older than the first one logged).
"""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from decoders import Passing
from decoders.tracking import Logged
from service.engine.engine import ApplyError
from service.engine.events import MAX_T_S, LineError
from service.errors import NotFound
from service.sessions.decoder_clock import DISAGREE, STEPPED, DecoderClock

if TYPE_CHECKING:
    from collections import defaultdict

    from service.engine import Engine
    from service.engine.outcome import Outcome
    from service.store import EventStore


class DecoderLink(Protocol):
    """What the intake reads and keeps on one decoder link (`service/sessions/live.py`'s `DecoderLink`)."""

    url: str
    loop: str | None
    loops: dict[str, str]
    rtc_zero_us: int | None
    source: Any
    clocks: dict[tuple[str, int], DecoderClock]
    kept_clocks: dict[str, dict[str, Any]]
    counts: defaultdict[str, int]
    waiting: list[Passing]


class LiveSession(Protocol):
    """What the intake sees of its session (`service/sessions/live.py`'s `LiveSession`): the log, the
    engine, the clock, the links, and `submit` (the one writer)."""

    id: str
    meta: dict[str, Any]
    store: EventStore
    engine: Engine
    origin_us: int
    rate: float

    @property
    def decoders(self) -> Sequence[DecoderLink]: ...

    def save_decoders(self) -> None: ...

    def submit(self, line: Any) -> Outcome: ...


log = logging.getLogger(__name__)

WAITING_MAX = 20_000  # reads one link may hold while its decoder's clock is unknown
MAX_DECODERS = 1000  # decoder ids whose first number the meta keeps
REFUSED, LATE, CLOCK = "refused", "late", "clock"  # kinds of kept-aside reads


def aside_key(decoder: str, epoch: int, number: int | None) -> str | None:
    return None if number is None else f"{decoder}|{epoch}|{number}"


def refusal_reason(exc: Exception) -> tuple[str, dict[str, Any]]:
    """A boundary refusal as a catalogue reason (`reads.reason.*`) and the field it names."""
    if isinstance(exc, ApplyError):
        return "engine", {}
    m = re.search(r"'([a-z_]+)'", str(exc))
    field = m.group(1) if m else "line"
    return ("time", {}) if field == "t" else ("field", {"field": field})


class Intake:
    """The decoder side of one `LiveSession` (see the module doc)."""

    def __init__(self, session: LiveSession) -> None:
        self.s = session
        meta = session.meta
        self.log_errors = int(meta.get("log_errors") or 0)  # reads that could not be written, ever
        self.first_reads: dict[str, dict[str, int]] = dict(
            meta.get("first_reads") or {}
        )  # decoder -> epoch -> n
        self.unwritable: dict[str, Any] | None = (
            None  # {"since_ms": wall ms, "error": text} while writes fail
        )
        self._meta_due: set[str] = set()  # meta keys to write once the log takes writes again
        self._counts = session.store.aside_counts()  # (link, kind, admitted) -> kept-aside reads

    def attach(self, link: DecoderLink) -> None:
        """A link joins the session: its row counts the reads of it still kept aside."""
        for (url, kind, admitted), n in self._counts.items():
            if url == link.url and not admitted:
                link.counts[kind] = n

    # -- the map of a decoder's clock ---------------------------------------------------------------
    def arrival_us(self, host_us: int | None = None) -> int:
        """Session time (µs) of a host wall-clock moment (now by default)."""
        host = time.time_ns() // 1000 if host_us is None else host_us
        return round((host - self.s.origin_us) * self.s.rate)

    def clock(self, link: DecoderLink, decoder_id: str, epoch: int) -> DecoderClock:
        """The map this link uses for a decoder (and epoch): the crew's `rtc_zero_us`, else learnt."""
        if link.rtc_zero_us is not None:
            manual = DecoderClock()
            manual.set_manual(link.rtc_zero_us)
            return manual
        clock = link.clocks.get((decoder_id, epoch))
        if clock is None:
            kept = link.kept_clocks.get(decoder_id) or {}
            clock = DecoderClock.restore(kept) if kept.get("epoch") == epoch else DecoderClock()
            link.clocks[(decoder_id, epoch)] = clock
        return clock

    def _observe(
        self, link: DecoderLink, decoder_id: str, epoch: int, decoder_us: int, arrival_us: int, report: bool
    ) -> tuple[DecoderClock, str]:
        clock = self.clock(link, decoder_id, epoch)
        before = (clock.source, clock.offset_us, clock.drift_ppm)
        verdict = clock.observe(decoder_us, arrival_us, report)
        if (clock.source, clock.offset_us, clock.drift_ppm) != before and link.rtc_zero_us is None:
            link.kept_clocks[decoder_id] = {"epoch": epoch, **clock.state()}
            self._save_meta("decoders")  # a restart times the next reads with the same map
        if verdict == STEPPED:
            self._retime_clock_aside(link, decoder_id, epoch)
        return clock, verdict

    def on_clock(self, link: DecoderLink, decoder_id: str, decoder_us: int, host_us: int) -> None:
        """A clock report of a decoder on this link (P3 GET_TIME, an MQTT status time...)."""
        epoch = link.source.tracker.epoch(decoder_id) if link.source is not None else 1
        self._observe(link, decoder_id, epoch, decoder_us, self.arrival_us(host_us), report=True)
        self._release(link)

    # -- one read ----------------------------------------------------------------------------------
    def passing(self, link: DecoderLink, p: Passing) -> bool:
        """Take one decoder read (see the module doc); False only when it could not be stored."""
        numbered = p.passing_number is not None
        key = aside_key(p.decoder_id, p.epoch, p.passing_number)
        if numbered and (
            self.s.engine.has_read(p.decoder_id, str(p.passing_number), p.epoch)
            or self.s.store.aside_has(key)
        ):
            link.counts["duplicates"] += 1
            return True
        if numbered:
            self._note_first(p)
        verdict = ""
        if p.live:
            _, verdict = self._observe(link, p.decoder_id, p.epoch, p.rtc_time_us, self.arrival_us(), False)
        clock = self.clock(link, p.decoder_id, p.epoch)
        if not clock.ready:  # a resent read before anything tells its decoder's clock
            if len(link.waiting) >= WAITING_MAX:
                return False
            link.waiting.append(p)
            return True
        self._release(link)
        if verdict == DISAGREE:
            line = self.line(link, p, clock)
            return self._aside(link, p, line, CLOCK, "clock", {}, "read timed more than 2 s after it arrived")
        return self._take(link, p, clock)

    def _release(self, link: DecoderLink) -> None:
        """Take the reads that waited for their decoder's clock, now that it is known (one the log
        cannot take yet waits on: its source was told it is safe)."""
        if link.waiting:
            waiting, link.waiting = link.waiting, []
            for p in waiting:
                clock = self.clock(link, p.decoder_id, p.epoch)
                if not clock.ready or not self._take(link, p, clock):
                    link.waiting.append(p)

    def line(self, link: DecoderLink, p: Passing, clock: DecoderClock) -> dict[str, Any]:
        """The passing line a read makes: its loop, and its time on the session clock (decided once)."""
        line: dict[str, Any] = {
            "type": "passing",
            "t": round(clock.to_session_us(p.rtc_time_us) / 1e6, 6),
            "transponder": p.transponder,
            "loop": p.loop or link.loops.get(p.decoder_id) or link.loop or "finish",
            "decoder": p.decoder_id,
        }
        if p.passing_number is not None:
            line["passing_id"] = p.passing_number
            if p.epoch > 1:
                line["epoch"] = p.epoch
        if p.strength is not None:
            line["strength"] = p.strength
        if p.hits is not None:
            line["hits"] = p.hits
        return line

    def _take(self, link: DecoderLink, p: Passing, clock: DecoderClock) -> bool:
        line = self.line(link, p, clock)
        if self.s.engine.closed:  # a finished session changes only when the crew admits a read
            return self._aside(link, p, line, LATE, "closed", {}, "the session is finished")
        if not -MAX_T_S <= line["t"] <= MAX_T_S:
            return self._aside(
                link, p, line, REFUSED, "time", {}, f"t = {line['t']:.3f} s is outside ±{MAX_T_S:.0f} s"
            )
        try:
            self.s.submit(line)
        except (LineError, ApplyError) as exc:  # refused by the boundary: kept with its reason
            reason, params = refusal_reason(exc)
            return self._aside(link, p, line, REFUSED, reason, params, str(exc))
        except sqlite3.Error as exc:
            self._not_written(exc)
            return False
        self._written()
        link.counts["logged"] += 1  # in the log (the engine may still call it a duplicate crossing)
        return True

    def _aside(
        self,
        link: DecoderLink,
        p: Passing,
        line: dict[str, Any],
        kind: str,
        reason: str,
        params: dict[str, Any],
        detail: str,
    ) -> bool:
        key = aside_key(p.decoder_id, p.epoch, p.passing_number)
        read = {
            "decoder": p.decoder_id,
            "transponder": p.transponder,
            "rtc_time_us": p.rtc_time_us,
            "passing_number": p.passing_number,
            "epoch": p.epoch,
            "loop": p.loop,
            "live": p.live,
            "params": params,
        }
        try:
            new = self.s.store.keep_aside(kind, reason, detail, read, line, link.url, key)
        except sqlite3.Error as exc:
            self._not_written(exc)
            return False
        self._written()
        if new is not None:
            link.counts[kind] += 1
            self._counts[(link.url, kind, False)] = self._counts.get((link.url, kind, False), 0) + 1
            log.warning("session %s: decoder read kept aside (%s, %s): %s", self.s.id, kind, reason, detail)
        return True

    # -- the crew admits --------------------------------------------------------------------------
    def admit(self, ids: list[int]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Log kept-aside reads as the passing lines they make now (re-timed by their decoder's
        current clock map when their link is still here). Returns (admitted, still refused)."""
        rows = (
            {r["id"]: r for r in self.s.store.aside(f"id IN ({', '.join('?' * len(ids))})", tuple(ids))}
            if ids
            else {}
        )
        missing = [aid for aid in ids if aid not in rows]
        if missing:
            raise NotFound("reads.no_aside", id=missing[0])
        done, refused = [], []
        for row in sorted(
            rows.values(), key=lambda r: (r["line"].get("t", 0), r["id"])
        ):  # logged in time order
            aid = row["id"]
            if row["admitted_at"] is not None:
                done.append({"id": aid, "t": row["line"]["t"]})
                continue
            line = self._retimed(row)
            if not -MAX_T_S <= line["t"] <= MAX_T_S:
                refused.append({"id": aid, "reason": "time", "params": {}})
                continue
            try:
                self.s.submit(line)  # an explicit crew action: also after the session is finished
            except (LineError, ApplyError) as exc:
                reason, params = refusal_reason(exc)
                refused.append({"id": aid, "reason": reason, "params": params, "detail": str(exc)})
                continue
            self.s.store.admitted(aid, line)
            self._written()
            url, kind = row["link"], row["kind"]
            self._counts[(url, kind, False)] = max(0, self._counts.get((url, kind, False), 0) - 1)
            self._counts[(url, kind, True)] = self._counts.get((url, kind, True), 0) + 1
            for link in self.s.decoders:
                if link.url == url:
                    link.counts[kind] = max(0, link.counts[kind] - 1)
            done.append({"id": aid, "t": line["t"]})
        return done, refused

    def _retimed(self, row: dict[str, Any]) -> dict[str, Any]:
        read, line = row["read"], dict(row["line"])
        link = next((ln for ln in self.s.decoders if ln.url == row["link"]), None)
        if link is not None:
            clock = self.clock(link, read["decoder"], int(read.get("epoch") or 1))
            if clock.ready:
                line["t"] = round(clock.to_session_us(int(read["rtc_time_us"])) / 1e6, 6)
        return line

    def _retime_clock_aside(self, link: DecoderLink, decoder_id: str, epoch: int) -> None:
        """The clock stepped as reads kept aside for their time said: log them with the new map."""
        rows = self.s.store.aside("kind = ? AND link = ? AND admitted_at IS NULL", (CLOCK, link.url), 1000)
        ids = [
            r["id"] for r in rows if r["read"]["decoder"] == decoder_id and r["read"].get("epoch", 1) == epoch
        ]
        if ids:
            try:
                done, _ = self.admit(sorted(ids))
            except sqlite3.Error as exc:
                self._not_written(exc)
                return
            log.info(
                "session %s: %d reads of decoder %s logged after its clock stepped",
                self.s.id,
                len(done),
                decoder_id or "?",
            )

    def aside(self, limit: int = 200) -> dict[str, Any]:
        """What the crew sees: counts by kind (waiting / admitted) and the newest kept-aside reads."""
        counts: dict[str, dict[str, int]] = {}
        for (_, kind, admitted), n in self._counts.items():
            c = counts.setdefault(kind, {"pending": 0, "admitted": 0})
            c["admitted" if admitted else "pending"] += n
        reads = []
        for r in self.s.store.aside(limit=limit):
            line, read = r["line"], r["read"]
            car = self.s.engine.by_transponder.get(str(line.get("transponder")))
            reads.append(
                {
                    "id": r["id"],
                    "kind": r["kind"],
                    "reason": r["reason"],
                    "params": read.get("params") or {},
                    "detail": r["detail"],
                    "t": line.get("t"),
                    "transponder": line.get("transponder"),
                    "number": car.number if car else None,
                    "loop": line.get("loop"),
                    "decoder": read.get("decoder"),
                    "passing_id": read.get("passing_number"),
                    "epoch": read.get("epoch", 1),
                    "link": r["link"],
                    "received_ms": round(r["received_at"] * 1000),
                    "admitted": r["admitted_at"] is not None,
                }
            )
        return {"counts": counts, "reads": reads}

    # -- what survives a restart -------------------------------------------------------------------
    def logged(self, decoder_id: str) -> Logged:
        """What the session holds of a decoder's newest epoch (log and kept-aside reads): where its link
        resumes (`decoders.tracking.Logged`)."""
        epochs: dict[int, dict[int, str | None]] = {}
        for ev in self.s.engine.events:
            line = ev.line
            if ev.type == "passing" and line.decoder == decoder_id and str(line.passing_id).isdigit():
                epochs.setdefault(line.epoch or 1, {})[int(line.passing_id)] = line.transponder
        for r in self.s.store.aside("read_key LIKE ?", (f"{decoder_id}|%",)):
            read = r["read"]
            if read.get("decoder") == decoder_id and read.get("passing_number") is not None:
                epochs.setdefault(int(read.get("epoch") or 1), {})[int(read["passing_number"])] = read[
                    "transponder"
                ]
        first = {int(e): n for e, n in (self.first_reads.get(decoder_id) or {}).items()}
        epoch = max([1, *epochs, *first])
        return Logged(epoch, epochs.get(epoch, {}), first.get(epoch))

    def _note_first(self, p: Passing) -> None:
        if len(p.decoder_id) > 64 or (
            p.decoder_id not in self.first_reads and len(self.first_reads) >= MAX_DECODERS
        ):
            return  # not a decoder id the log takes, or a flood of made-up ids (MQTT): not kept
        epochs = self.first_reads.setdefault(p.decoder_id, {})
        n, e = p.passing_number, str(p.epoch)
        if n is not None and (e not in epochs or n < epochs[e]):
            epochs[e] = n
            self._save_meta("first_reads")

    def _save_meta(self, key: str) -> None:
        self._meta_due.add(key)
        if self.unwritable is None:
            self._flush_meta()

    def _flush_meta(self) -> None:
        values = {"log_errors": self.log_errors, "first_reads": self.first_reads}
        try:
            for key in sorted(self._meta_due):
                if key == "decoders":
                    self.s.save_decoders()
                else:
                    self.s.store.set_meta(key, values[key])
                self._meta_due.discard(key)
        except sqlite3.Error as exc:
            self._not_written(exc)

    def _not_written(self, exc: Exception) -> None:
        self.log_errors += 1
        self._meta_due.add("log_errors")
        if self.unwritable is None:
            self.unwritable = {"since_ms": time.time_ns() // 1_000_000, "error": str(exc)}
            log.error(
                "session %s: the log cannot be written (%s): reads are kept by the decoders and "
                "asked for again",
                self.s.id,
                exc,
            )

    def _written(self) -> None:
        if self.unwritable is not None:
            log.info("session %s: the log takes writes again", self.s.id)
            self.unwritable = None
        if self._meta_due:
            self._flush_meta()

    def header(self) -> dict[str, Any]:
        """The session header's share: kept-aside reads waiting, reads not written, the condition now."""
        pending = dict.fromkeys((REFUSED, LATE, CLOCK), 0)
        for (_, kind, admitted), n in self._counts.items():
            if not admitted:
                pending[kind] = pending.get(kind, 0) + n
        waiting = sum(len(link.waiting) for link in self.s.decoders)
        unstored = sum(link.source.status.unstored for link in self.s.decoders if link.source is not None)
        return {
            **pending,
            "log_errors": self.log_errors,
            "unwritable": self.unwritable,
            "waiting_clock": waiting,
            "unstored": unstored,
        }
