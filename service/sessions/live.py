"""A live session: event log + engine + session clock + decoder links, in one writer.

Every input goes through `submit()`: stamped with the session clock if it has no `t`, checked for
duplicate reads, appended to the durable log, then applied to the engine; the hub is told what
changed. Restarting replays the log into a fresh engine, so a crash loses nothing committed.
The commands (record, penalties, corrections, assign, manual passings...) live here; what the
session shows is `SessionViews` (views.py); decoder reads go through `Intake` (intake.py).
"""

from __future__ import annotations

import gc
import logging
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from decoders import Passing
from decoders.reach import mask_url
from service.decoder_text import describe_said
from service.engine import Engine
from service.engine.engine import ApplyError
from service.engine.events import (
    ACTION_TYPES,
    CORRECTION_TYPES,
    LOOPS,
    READ_TYPES,
    SIGNALS,
    Line,
    LineError,
    PassingLine,
    Timed,
    decode_line,
    encode_line,
    parse_line,
    parse_lines,
)
from service.engine.outcome import DUPLICATE, Outcome
from service.engine.penalties import Penalty
from service.entries import check_entry_list
from service.errors import Invalid, NotFound
from service.i18n import coded
from service.sessions.decoder_clock import DecoderClock
from service.sessions.intake import Intake
from service.sessions.time_bounds import time_refusal
from service.sessions.views import SessionViews, wall_us
from service.store import EventStore

log = logging.getLogger(__name__)

BULK = 1000  # lines in one submit from which the cyclic garbage collector waits for the end


Applied = tuple[dict[str, Any], Outcome]  # a committed line (as logged) and what it did


@dataclass(frozen=True, slots=True)
class Assignment:
    """A transponder given to a car, and the car's transponders that stopped counting (`replace`)."""

    number: str
    transponder: str
    stopped_counting: list[str]
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class ManualPassing:
    """A manual passing as logged: its correction id and the time it was given."""

    id: str | None
    t: float
    estimated: bool
    interpolated: bool
    outcome: Outcome


@dataclass
class DecoderLink:
    """One decoder connection of a session, and how its reads map to the session
    (service/sessions/intake.py)."""

    url: str
    loop: str | None = None  # every read of this connection is this loop (unless the read says)
    loops: dict[str, str] = field(default_factory=dict)  # decoder id -> loop
    rtc_zero_us: int | None = None  # the crew's override: decoder clock at session t = 0; default: learnt
    source: Any = None
    task: Any = None
    error: str | None = None  # why a stored link could not be reopened
    clocks: dict[tuple[str, int], DecoderClock] = field(default_factory=dict)  # (decoder id, epoch) -> map
    kept_clocks: dict[str, dict[str, Any]] = field(
        default_factory=dict
    )  # decoder id -> newest map, in the meta
    counts: defaultdict[str, int] = field(
        default_factory=lambda: defaultdict(int)
    )  # logged, duplicates, kept aside
    waiting: list[Passing] = field(default_factory=list)  # resent reads waiting for their decoder's clock
    origin_us: int = 0  # the session's wall-clock origin (to show a clock offset against the host's)

    def describe(self) -> dict[str, Any]:
        """The link as the timing crew sees it: its URL shown without a password (decoders/reach.py)."""
        st = self.source.status.as_dict() if self.source is not None else {"state": "not started"}
        if self.error:
            st = {**st, "state": "error", "last_error": self.error}
        c = self.counts
        return {
            **self.stored(),
            **describe_said(st),
            "url": mask_url(self.url),
            "received": st.get("passings", 0),
            "passings": c["logged"],
            "session_duplicates": c["duplicates"],
            "refused": c["refused"],
            "late": c["late"],
            "clock_held": c["clock"],
            "waiting_clock": len(self.waiting),
            "clock": self.clock_view(),
        }

    def clock_view(self) -> list[dict[str, Any]]:
        """Each decoder's clock map as the crew sees it: where it comes from, offset against this
        computer's clock (seconds, decoder behind = positive), drift."""
        if self.rtc_zero_us is not None:
            return [
                {
                    "decoder_id": None,
                    "source": "manual",
                    "offset_s": (self.origin_us - self.rtc_zero_us) / 1e6,
                    "drift_ppm": 0.0,
                    "epoch": None,
                }
            ]
        newest: dict[str, tuple[int, DecoderClock]] = {}
        for (decoder_id, epoch), clock in self.clocks.items():
            if clock.ready and epoch >= newest.get(decoder_id, (0, None))[0]:
                newest[decoder_id] = (epoch, clock)
        return [
            {
                "decoder_id": d,
                "epoch": e,
                "source": c.source,
                "offset_s": (self.origin_us + c.offset_us) / 1e6,
                "drift_ppm": c.drift_ppm,
                "measured_ppm": c.measured_ppm,
            }
            for d, (e, c) in sorted(newest.items())
        ]

    def stored(self) -> dict[str, Any]:
        """What the session's meta keeps of this link, to reopen it after a restart."""
        return {
            "url": self.url,
            "loop": self.loop,
            "loops": dict(self.loops),
            "rtc_zero_us": self.rtc_zero_us,
            "clocks": dict(self.kept_clocks),
        }

    @classmethod
    def from_request(cls, body: dict[str, Any]) -> DecoderLink:
        """A decoder link from a request body, every field checked (it is stored and reopened on restart)."""
        url = body.get("url")
        if not isinstance(url, str) or "://" not in url or len(url) > 1000:
            raise Invalid("decoder.needs_url")
        link = cls(url=url)
        link.update(body)
        return link

    def update(self, body: dict[str, Any]) -> None:
        """Loop, loops per decoder id, clock override (`rtc_zero_us`, null: learnt): those given, checked."""
        loop = body.get("loop", self.loop)
        if loop is not None and loop not in LOOPS:
            raise Invalid("decoder.loop", loop=loop, known=", ".join(LOOPS))
        loops = body.get("loops", self.loops) or {}
        if not isinstance(loops, dict) or not all(
            isinstance(k, str) and v in LOOPS for k, v in loops.items()
        ):
            raise Invalid("decoder.loops", known=", ".join(LOOPS))
        zero = body.get("rtc_zero_us", self.rtc_zero_us)
        if zero is not None and (
            isinstance(zero, bool) or not isinstance(zero, int) or not 0 <= zero < 1 << 63
        ):
            raise Invalid("decoder.rtc_zero")
        self.loop, self.loops, self.rtc_zero_us = loop, dict(loops), zero

    @classmethod
    def from_stored(cls, d: dict[str, Any]) -> DecoderLink:
        clocks = d.get("clocks")
        return cls(
            url=str(d["url"]),
            loop=d.get("loop"),
            loops=dict(d.get("loops") or {}),
            rtc_zero_us=d.get("rtc_zero_us"),
            kept_clocks=dict(clocks) if isinstance(clocks, dict) else {},
        )


class LiveSession(SessionViews):
    """One session's single writer: every command and every decoder read goes through `submit`; what
    it shows is `SessionViews`' (views.py)."""

    def __init__(self, store: EventStore, meta: dict[str, Any]) -> None:
        self.store = store
        self.meta = meta
        self.id: str = meta["id"]
        self.name: str = meta.get("name", self.id)
        self.origin_us: int = int(meta["origin_us"])  # wall clock at session t = 0
        self.rate: float = float(meta.get("clock_rate", 1.0))  # >1 only for accelerated simulations
        self.engine = Engine()
        self.listeners: list[Callable[[list[Applied]], None]] = []  # told of every committed batch
        self.feed: deque[dict[str, Any]] = deque(maxlen=500)  # newest raw reads, for the timing crew
        self.decoders: list[DecoderLink] = []
        self.counters = {"duplicates_dropped": 0, "rejected": 0}
        self.set_aside: list[dict[str, Any]] = []  # logged lines this version rejects: kept, not applied
        self.guard: Callable[[], None] | None = (
            None  # raises while this machine may not write (service/standby)
        )
        self.damage: list[dict[str, Any]] = list(
            meta.get("damage") or []
        )  # lines the log lost (store.open_log)
        self._load()
        self.intake = Intake(self)  # decoder reads: clocks, kept-aside reads, an unwritable log

    def _load(self) -> None:
        """Replay the log. A line the current code rejects is set aside with a warning, never fatal."""
        n = 0
        decoded: list[tuple[int, str, Line | LineError]] = []
        notes: list[str] = []  # fields an older version accepted and this one leaves out (named)
        for seq, text in self.store.texts():
            try:
                decoded.append((seq, text, decode_line(text, notes)))
            except LineError as exc:
                decoded.append((seq, text, exc))
            if notes:
                self.set_aside.append({"seq": seq, "error": notes.pop(), "line": text[:300], "applied": True})
        # the log's reverts undo their targets from the start: one pass, however many reverts
        self.engine.revert_in_advance([x for _, _, x in decoded if isinstance(x, Line)])
        for seq, text, line in decoded:
            try:
                if isinstance(line, LineError):
                    raise line
                self.engine.apply_line(line)
            except (LineError, ApplyError) as exc:
                self.set_aside.append(
                    {"seq": seq, "error": str(exc), "error_said": coded(exc), "line": text[:300]}
                )
                log.warning("session %s: log line %d set aside: %s", self.id, seq, exc)
                continue
            n += 1
        self.set_aside.sort(key=lambda a: a["seq"])
        if n:
            log.info("session %s: replayed %d logged events", self.id, n)

    # -- creation ------------------------------------------------------------------------------
    @classmethod
    def create(
        cls, data_dir: Path, name: str, session_line: dict[str, Any], synchronous: str = "FULL"
    ) -> LiveSession:
        line = parse_line({**session_line, "type": "session"})  # checked before any file is made
        sid = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
        store = EventStore(data_dir / f"{sid}.sqlite", synchronous)
        meta = {
            "id": sid,
            "name": name or sid,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "origin_us": wall_us(),
            "tokens": {"race_control": secrets.token_urlsafe(18), "timing": secrets.token_urlsafe(18)},
        }
        for k, v in meta.items():
            store.set_meta(k, v)
        session = cls(store, meta)
        session.submit(line)
        return session

    # -- clock -----------------------------------------------------------------------------------
    def set_clock(self, origin_us: int, rate: float = 1.0) -> None:
        """Re-anchor the session clock (the demo runs a simulated race faster than real time)."""
        self.origin_us, self.rate = origin_us, rate
        for link in self.decoders:  # learnt clock maps were against the old session clock
            link.clocks.clear()
            link.kept_clocks.clear()
            link.origin_us = origin_us
        self.meta.update(origin_us=origin_us, clock_rate=rate)
        self.store.set_meta("origin_us", origin_us)
        self.store.set_meta("clock_rate", rate)

    # -- the one writer ----------------------------------------------------------------------------
    def submit(self, line: Line | dict[str, Any]) -> Outcome:
        """Validate, log and apply one line. Returns what the engine made of it (a resend dropped
        before the log is a `duplicate` outcome that changed nothing).

        Raises LineError (a 4xx for the caller) for a line that is invalid or would have no effect,
        ApplyError when the engine cannot apply it; either way nothing is logged and the state is
        as before.
        """
        done = self.submit_many([line])
        return done[0] if done else Outcome(status=DUPLICATE)

    def submit_many(self, raw: list[Line | dict[str, Any]]) -> list[Outcome]:
        """Several lines (an entry list) validated first, then logged in one transaction, or none.
        Returns one outcome per line logged (resent reads dropped before the log have none)."""
        if self.guard is not None:
            self.guard()
        lines = []
        try:
            typed = parse_lines(raw)
        except LineError:
            self.counters["rejected"] += 1
            raise
        for line in typed:
            if isinstance(line, Timed) and line.t is None:
                line.t = self.now_t()
            if isinstance(line, PassingLine) and self._already_seen(line):
                self.counters["duplicates_dropped"] += 1
                self._feed(line.to_dict(), "resent duplicate")
                continue
            lines.append(line)
        if not lines:
            return []
        engine, mark = self.engine, self.engine.mark()
        applied: list[Applied] = []
        bulk = len(lines) > BULK and gc.isenabled()
        if bulk:  # an entry list builds ~15 containers per car: no full collections in the middle
            gc.disable()
        try:
            with self.store.transaction():
                for line in lines:
                    refusal = engine.refusal(line) or time_refusal(line, engine, self.now_t)
                    if refusal is not None:
                        raise refusal
                    outcome = engine.apply_line(line)
                    d = line.to_dict()
                    self.store.append(encode_line(d))
                    applied.append((d, outcome))
        except BaseException as exc:
            if engine.mark() > mark:
                engine.rollback(mark)
            if isinstance(exc, LineError):
                self.counters["rejected"] += 1
            raise
        finally:
            if bulk:
                gc.enable()
        self._committed(applied)
        return [outcome for _, outcome in applied]

    def _committed(self, applied: list[Applied]) -> None:
        """Committed lines: the raw-reads feed, then every listener (the hub, a standby's stream)."""
        for d, outcome in applied:
            if d["type"] in READ_TYPES:
                self._feed(d, outcome.read_state)
        for fn in self.listeners:  # the lines are committed: a failing listener must not undo the answer
            try:
                fn(applied)
            except Exception:  # noqa: BLE001
                log.exception("session %s: listener %r failed", self.id, fn)

    def apply_logged(self, rows: list[tuple[int, str]]) -> None:
        """Lines another machine committed (a standby's copy, service/standby/): logged as they are,
        at their sequence numbers, then applied like a restart's replay (one this version rejects is
        set aside); listeners are told as for `submit`."""
        with self.store.transaction():
            for seq, text in rows:
                self.store.insert_at(seq, text)
        applied: list[Applied] = []
        for seq, text in rows:
            try:
                line = decode_line(text)
                outcome = self.engine.apply_line(line)
            except (LineError, ApplyError) as exc:
                self.set_aside.append({"seq": seq, "error": str(exc), "line": text[:300]})
                continue
            applied.append((line.to_dict(), outcome))
        self._committed(applied)

    # -- commands: what routers, the demo and meetings call (domain objects in, domain objects out) --
    def record(self, line: dict[str, Any], by: str | None = None) -> Outcome:
        """One line through the single writer; `by` (the caller's role) is kept on corrections."""
        if by is not None and line.get("type") in CORRECTION_TYPES | {"revert"}:
            line = {**line, "by": by}
        return self.submit(line)

    def add_entries(self, lines: list[Line], replace: bool = False) -> int:
        """An entry list, all or nothing (one log transaction). Returns the number of entries.

        A transponder belongs to one car: a list that gives one twice, or one that counts for
        another car already, is refused naming the numbers, unless `replace` (as `assign`): then
        the entry takes it and the other car stops counting it.
        """
        check_entry_list(lines, self.engine.by_transponder, replace)
        self.submit_many(lines)
        return len(lines)

    def signal(self, fields: dict[str, Any]) -> Outcome:
        """A flag or start-procedure signal (`signal` must be one of SIGNALS)."""
        sig = fields.get("signal")
        if not isinstance(sig, str) or sig not in SIGNALS:
            shown = sig if isinstance(sig, str) else None
            known = ", ".join(sorted(SIGNALS))
            raise (
                Invalid("signal.unknown", signal=shown, known=known)
                if shown
                else Invalid("signal.missing", known=known)
            )
        return self.record({"type": "signal", **{k: v for k, v in fields.items() if k != "type"}})

    def add_penalty(self, fields: dict[str, Any], by: str | None = None) -> tuple[Penalty | None, Outcome]:
        """Race control's penalty (a RULES.md ID, or `other` with a note). Returns the penalty it made."""
        if not fields.get("number") or not fields.get("rule"):
            raise Invalid("penalty.needs_number_rule")
        outcome = self.record(
            {"type": "penalty", **{k: v for k, v in fields.items() if k not in ("type", "by")}}, by
        )
        made = [
            p for p in self.engine.penalties.all() if p.source is not None and p.source == outcome.correction
        ]
        return (made[0] if made else None), outcome

    def waive(self, pid: str, note: str = "", by: str | None = None) -> Penalty:
        self.penalty(pid)
        self.record({"type": "waive", "penalty_id": pid, **({"note": note} if note else {})}, by)
        return self.penalty(pid)

    def approve(self, pid: str, fields: dict[str, Any], by: str | None = None) -> Penalty:
        """Apply a proposed penalty with the amount race control chose (default: the proposal's)."""
        self.record({"type": "approve", "penalty_id": pid, **fields}, by)
        return self.penalty(pid)

    def revert(self, target: Any, note: Any = None, by: str | None = None) -> Outcome:
        return self.record({"type": "revert", "target": target, **({"note": note} if note else {})}, by)

    def confirm(
        self, target: Any, note: Any = None, by: str | None = None, *, number: Any = None, lap_t: Any = None
    ) -> Outcome:
        """Confirm a manual passing (`target`, its correction id) or a lap the lap-time checks warned
        about (`number` and `lap_t`, the time of the crossing that ends it): it may then be a record."""
        what = {"target": target} if number is None and lap_t is None else {"number": number, "lap_t": lap_t}
        return self.record({"type": "confirm", **what, **({"note": note} if note else {})}, by)

    def car_action(self, number: str, action: str, fields: dict[str, Any], by: str | None = None) -> Outcome:
        """mechanical, refuel, driver_change, weight_check, ballast_check or grid_move on one car."""
        if action not in ACTION_TYPES:
            raise NotFound("action.unknown", action=action, known=", ".join(sorted(ACTION_TYPES)))
        self.car(number)
        fields = {k: v for k, v in fields.items() if k not in ("type", "number", "by")}
        return self.record({"type": action, "number": number, **fields}, by)

    def assign(
        self, number: Any, transponder: Any, replace: Any = False, by: str | None = None
    ) -> Assignment:
        """The car counts this transponder too (a spare); `replace` makes its others stop counting."""
        car = self.engine.cars.get(str(number))
        if car is None or not transponder:
            raise Invalid("assign.needs")
        if not isinstance(replace, bool):
            raise Invalid("assign.replace")
        tr = str(transponder)
        stops = [t for t in (car.transponder, *car.spares) if t and t != tr] if replace else []
        outcome = self.record(
            {
                "type": "assign",
                "number": car.number,
                "transponder": transponder,
                **({"replace": True} if replace else {}),
            },
            by,
        )
        return Assignment(car.number, tr, stops, outcome)

    def manual_passing(self, fields: dict[str, Any], by: str | None = None) -> ManualPassing:
        """A missed read. Without `t` its time is estimated from the car's pace and flagged `estimated`;
        with `t`, `estimated`/`interpolated` say the crew checked Boucle's estimate."""
        number = str(fields.get("number"))
        if number not in self.engine.cars:
            raise Invalid("manual.needs_number")
        line: dict[str, Any] = {
            "type": "manual_passing",
            "number": number,
            "loop": fields.get("loop") or "finish",
        }
        if fields.get("t") is not None:
            line["t"] = fields["t"]
            if fields.get("estimated") is True:
                line["estimated"] = True
            if fields.get("interpolated") is True:
                line["interpolated"] = True
        else:
            line["t"], line["estimated"] = self.estimate(number)["t"], True
        outcome = self.record(line, by)
        cid = outcome.correction
        return ManualPassing(
            cid,
            self.engine.corrections[cid]["t"],
            bool(line.get("estimated")),
            bool(line.get("interpolated")),
            outcome,
        )

    def invalidate(self, fields: dict[str, Any], by: str | None = None) -> Outcome:
        """A read that was not a real crossing of that car (it stays in the log, flagged)."""
        if not fields.get("transponder") or fields.get("target_t") is None:
            raise Invalid("invalidate.needs")
        return self.record(
            {
                "type": "invalidate",
                "transponder": str(fields["transponder"]),
                "loop": fields.get("loop") or "finish",
                "target_t": fields["target_t"],
            },
            by,
        )

    def _already_seen(self, line: PassingLine) -> bool:
        """A resend after a reconnect is dropped before the log (nothing counted or stored twice)."""
        if line.passing_id is None:
            return False
        return self.engine.has_read(line.decoder or "", str(line.passing_id), line.epoch)

    def _feed(self, line: dict[str, Any], state: str) -> None:
        tr = line.get("transponder")
        car = (
            self.engine.by_transponder.get(str(tr))
            if tr is not None
            else self.engine.cars.get(str(line.get("number")))
        )
        self.feed.append(
            {
                "t": line.get("t"),
                "transponder": tr,
                "loop": line.get("loop"),
                "number": car.number if car else line.get("number"),
                "decoder": line.get("decoder"),
                "passing_id": line.get("passing_id"),
                "strength": line.get("strength"),
                "hits": line.get("hits"),
                "state": state,
                "manual": line.get("type") == "manual_passing",
            }
        )

    # -- decoders ------------------------------------------------------------------------------------
    def stored_decoders(self) -> list[DecoderLink]:
        """The decoder links this session had when it was last saved (reopened on restart)."""
        return [
            DecoderLink.from_stored(d)
            for d in self.meta.get("decoders") or []
            if isinstance(d, dict) and d.get("url")
        ]

    def save_decoders(self) -> None:
        """Store the links in the session's meta: a restart reopens exactly these."""
        self.meta["decoders"] = [link.stored() for link in self.decoders]
        self.store.set_meta("decoders", self.meta["decoders"])

    def on_passing(self, link: DecoderLink, p: Passing) -> bool:
        """A decoder read: logged, kept aside or already had (True), or not stored (False).
        See service/sessions/intake.py."""
        return self.intake.passing(link, p)

    def belongs_to(self, meeting: dict[str, Any]) -> None:
        """The meeting that opened this session ({id, key, name, division}, kept in the log's meta): pages
        name the session as people do ("Manche 1 · série 2"), whatever the language."""
        self.meta["meeting"] = meeting
        self.store.set_meta("meeting", meeting)

    def close(self) -> None:
        self.store.close()
