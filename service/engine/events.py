"""Scenario lines (shared/spec/scenario.md) as typed, fully checked values: the one input boundary.

Every line, from any source (REST, WebSocket, decoders, MQTT, a replayed file or log), is converted
here once into a `Line` struct: numbers finite and in range, strings where strings are expected,
known types, loops, signals and presets, bounded sizes. What fails raises `LineError` naming the
field, and is never logged nor applied. The engine then reads typed fields only; it wraps each
accepted timed line in an `Event` (integer-microsecond time, arrival sequence).

The line classes are the one table of event types: each says whether it is a header, about one
car, a correction, a loop crossing (`read`), a race-control car action, and whose job it is
(`staff`, from which service/auth.py derives who may send it). Other modules use the sets derived
here (`READ_TYPES`, `ACTION_TYPES`, `CORRECTION_TYPES`...), never their own lists of tags.

msgspec does the conversion (chosen over pydantic on `bench/boundary.py`: several times faster on
the replay benchmark, and it rejects NaN/Infinity and bad types with a path to the field).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, Union

import msgspec
from msgspec import Meta, Struct

from service.errors import Conflict, Invalid, NotFound
from service.i18n import Coded, said
from service.timeutil import s_to_us

MAX_T_S = 10 * 24 * 3600.0  # ten days of session clock either side of t = 0
MAX_EXTRAS = 40  # extra (override) fields a header line may carry
MAX_DEPTH = 8  # nesting of an override value

Time = Annotated[float, Meta(ge=-MAX_T_S, le=MAX_T_S)]  # bounds also reject NaN and infinities
Amount = Annotated[float, Meta(ge=0, le=1e6)]
Count = Annotated[int, Meta(ge=0, le=1_000_000)]
Ident = Annotated[str, Meta(min_length=1, max_length=64)]
IdentOrInt = Ident | Annotated[int, Meta(ge=0, le=2**53)]  # car numbers, transponders may come as numbers
Text = Annotated[str, Meta(max_length=500)]
LOOPS = ("finish", "pit_in", "pit_out", "start", "refuel")  # the named loops; sectors are split1..split99
Loop = Annotated[str, Meta(pattern=rf"^({'|'.join(LOOPS)}|split[1-9][0-9]?)$")]
RuleId = Annotated[str, Meta(pattern=r"^[A-Z][A-Z0-9]{0,7}(-[A-Z0-9]{1,12}){0,4}$")]
CorrectionId = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]  # "c12": a correction, for `revert`
Role = Literal["admin", "race_control", "timing"]  # who decided (from the token), set by the live session
PresetName = Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9-]{0,47}$")]
Kind = Literal["practice", "qualifying", "race", "heat", "semi", "final"]
Signal = Literal[
    "green",
    "yellow",
    "sc",
    "red",
    "resume",
    "chequered",
    "stop_category",
    "start_procedure",
    "start_lights_green",
    "finish_session",
]
SIGNALS = frozenset(Signal.__args__)


class LineError(Invalid):
    """A line that cannot become an event, or would change nothing: a catalogue code and params
    (service/errors.py); `str()` is the English text replay warnings keep. The subclasses say why in
    the domain's words (service/http_errors.py maps each class to its answer)."""


class UnknownTarget(LineError, NotFound):
    """The line names what the session does not have: a penalty, a correction, a warned lap."""


class NoEffect(LineError, Conflict):
    """The line's target is in a state where it would change nothing (reverted, confirmed, taken...)."""


def _as_str(v: Any) -> Any:
    return str(v) if isinstance(v, int) else v


class Line(Struct, tag_field="type", kw_only=True, omit_defaults=True):
    """One scenario line. Subclasses are the line types; `type` is their tag."""

    header: ClassVar[bool] = False
    car: ClassVar[bool] = False  # about one car, found by `number`
    correction: ClassVar[bool] = False  # a crew/race-control correction: has an `id` a `revert` can name
    read: ClassVar[bool] = False  # a crossing of a loop (decoder read or typed by hand)
    action: ClassVar[bool] = False  # a race-control action on one car (its own endpoint, /cars/N/ACTION)
    #: whose job the line is (service/auth.py): "race_control", "timing", "admin", or "staff" (any
    #: staff role; a revert also needs the role of the correction it undoes)
    staff: ClassVar[str] = "race_control"

    def to_dict(self) -> dict[str, Any]:
        return msgspec.to_builtins(self)


class Timed(Line, kw_only=True):
    t: Time | None = None  # None only until the live session stamps it with its clock


class CarLine(Timed, kw_only=True):
    car: ClassVar[bool] = True
    number: IdentOrInt

    def __post_init__(self) -> None:
        self.number = _as_str(self.number)


class PassingLine(Timed, tag="passing", kw_only=True):
    read: ClassVar[bool] = True
    staff: ClassVar[str] = "timing"
    transponder: IdentOrInt
    loop: Loop
    strength: Count | None = None
    hits: Count | None = None
    decoder: Ident | None = None
    passing_id: IdentOrInt | None = None
    epoch: Annotated[int, Meta(ge=1, le=1_000_000)] | None = None  # the decoder's numbering epoch: a reboot
    # numbers again from 1 in the next one; absent = the first (logged only from 2 on: older logs
    # replay unchanged)

    def __post_init__(self) -> None:
        self.transponder = _as_str(self.transponder)


class SignalLine(Timed, tag="signal", kw_only=True):
    signal: Signal
    category: Text | None = None
    note: Text | None = None


class DriverChangeLine(CarLine, tag="driver_change", kw_only=True):
    action: ClassVar[bool] = True
    correction: ClassVar[bool] = True
    driver: IdentOrInt
    id: CorrectionId | None = None
    by: Role | None = None

    def __post_init__(self) -> None:
        self.number, self.driver = _as_str(self.number), _as_str(self.driver)


class RefuelLine(CarLine, tag="refuel", kw_only=True):
    action: ClassVar[bool] = True


class MechanicalLine(CarLine, tag="mechanical", kw_only=True):
    action: ClassVar[bool] = True
    note: Text | None = None


class GridMoveLine(CarLine, tag="grid_move", kw_only=True):
    action: ClassVar[bool] = True


class WeightCheckLine(CarLine, tag="weight_check", kw_only=True):
    action: ClassVar[bool] = True
    driver: IdentOrInt | None = None
    kg: Annotated[float, Meta(gt=0, le=500)]

    def __post_init__(self) -> None:
        self.number, self.driver = _as_str(self.number), _as_str(self.driver)


class BallastCheckLine(CarLine, tag="ballast_check", kw_only=True):
    action: ClassVar[bool] = True
    ok: bool | Annotated[int, Meta(ge=0, le=1)] | Annotated[str, Meta(max_length=8)] = True

    def __post_init__(self) -> None:
        """Scenario writers send a bool, 0/1 or "false"/"no": kept as a plain bool from here on."""
        self.number = _as_str(self.number)
        if isinstance(self.ok, str):
            word = self.ok.strip().lower()
            if word not in ("true", "yes", "1", "false", "no", "0"):
                raise ValueError("field.true_false")  # a code: _why() reads it back
            self.ok = word in ("true", "yes", "1")
        self.ok = bool(self.ok)


class ManualPassingLine(CarLine, tag="manual_passing", kw_only=True):
    """A missed read added by hand. `estimated`: Boucle computed the time from the car's pace (the crew
    checked it); `interpolated`: Boucle split a too-long lap evenly. Such laps, like typed ones, are
    flagged and never best laps until `confirm`ed. Extends scenario.md."""

    read: ClassVar[bool] = True
    staff: ClassVar[str] = "timing"
    correction: ClassVar[bool] = True
    loop: Loop = "finish"
    estimated: bool = False
    interpolated: bool = False  # placed inside a too-long lap, between two decoder crossings
    id: CorrectionId | None = None
    by: Role | None = None


class PenaltyLine(CarLine, tag="penalty", kw_only=True):
    rule: RuleId = "MANUAL"
    laps: Annotated[int, Meta(ge=0, le=10_000)] | None = None
    seconds: Amount | None = None
    best_lap_seconds: Amount | None = None
    dsq: bool | None = None
    note: Text | None = None
    evidence: Text | None = None
    offence: Literal["line", "tape"] | None = None  # CC-LINE: start line changed, or course tape broken
    other: bool = False  # race control chose "other": a rule outside the session's rule set (needs a note)
    correction: ClassVar[bool] = True
    id: CorrectionId | None = None
    by: Role | None = None


class WaiveLine(Timed, tag="waive", kw_only=True):
    correction: ClassVar[bool] = True
    penalty_id: Ident
    note: Text | None = None
    id: CorrectionId | None = None
    by: Role | None = None


class ApproveLine(Timed, tag="approve", kw_only=True):
    """Race control approves a proposed penalty with the amount it chose: the penalty keeps its id and
    evidence and becomes `applied` (extends scenario.md)."""

    correction: ClassVar[bool] = True
    penalty_id: Ident
    laps: Annotated[int, Meta(ge=0, le=10_000)] | None = None
    seconds: Amount | None = None
    best_lap_seconds: Amount | None = None
    dsq: bool | None = None
    note: Text | None = None
    id: CorrectionId | None = None
    by: Role | None = None


class AssignLine(Timed, tag="assign", kw_only=True):
    """The timing crew gives a car a transponder, in addition to its own (a spare) unless `replace`
    (then the car's other transponders stop counting from here). Extends scenario.md."""

    staff: ClassVar[str] = "timing"
    correction: ClassVar[bool] = True
    transponder: IdentOrInt
    number: IdentOrInt
    replace: bool = False
    id: CorrectionId | None = None
    by: Role | None = None

    def __post_init__(self) -> None:
        self.number, self.transponder = _as_str(self.number), _as_str(self.transponder)


class ConfirmLine(Timed, tag="confirm", kw_only=True):
    """Race control confirms a manual passing (`target`, its correction id), or a decoder lap the
    lap-time checks warned about (`number` and `lap_t`, the time of the crossing that ends it): such
    laps may then be best laps, qualifying times, fastest laps. Extends scenario.md."""

    correction: ClassVar[bool] = True
    target: CorrectionId | None = None
    number: IdentOrInt | None = None
    lap_t: Time | None = None
    note: Text | None = None
    id: CorrectionId | None = None
    by: Role | None = None

    def __post_init__(self) -> None:
        self.number = _as_str(self.number)
        by_lap = (self.number, self.lap_t)
        if (self.target is None and None in by_lap) or (self.target is not None and by_lap != (None, None)):
            raise ValueError("field.confirm_target")  # said by _why (catalogue _errors)


class RevertLine(Timed, tag="revert", kw_only=True):
    """Undo one correction, named by its id; both stay in the log. Extends scenario.md."""

    staff: ClassVar[str] = "staff"
    target: CorrectionId
    note: Text | None = None
    id: CorrectionId | None = None
    by: Role | None = None


class InvalidateLine(Timed, tag="invalidate", kw_only=True):
    staff: ClassVar[str] = "timing"
    correction: ClassVar[bool] = True
    transponder: IdentOrInt
    loop: Loop = "finish"
    target_t: Time
    id: CorrectionId | None = None
    by: Role | None = None

    def __post_init__(self) -> None:
        self.transponder = _as_str(self.transponder)


class Driver(Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    id: IdentOrInt
    name: Text | None = None
    weight_kg: Annotated[float, Meta(gt=0, le=500)] | None = None

    def __post_init__(self) -> None:
        self.id = _as_str(self.id)


class Wave(Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    wave: IdentOrInt
    offset_s: Annotated[float, Meta(ge=0, le=MAX_T_S)] = 0.0


# Typed objects inside header lines: an unknown field in them is refused with its name (a typo such as
# "kg" for "weight_kg" must not be ignored); only the header lines themselves take extra fields.
NESTED: dict[str, type[Struct]] = {"drivers": Driver, "waves": Wave}


class Header(Line, kw_only=True):
    """`session` and `entry` lines: typed known fields plus checked extra fields (preset overrides)."""

    header: ClassVar[bool] = True
    staff: ClassVar[str] = "timing"  # the entry list is the timing crew's; `session` is the organiser's
    extras: dict[str, Any] = {}  # filled by `parse_line`, never read from the input

    def to_dict(self) -> dict[str, Any]:
        d = msgspec.to_builtins(self)
        extras = d.pop("extras", None) or {}
        return {**d, **extras}


class SessionLine(Header, tag="session", kw_only=True):
    staff: ClassVar[str] = "admin"  # preset, duration and rules are the organiser's, not the crew's
    preset: PresetName = "generic-timed"
    kind: Kind | None = None
    duration_s: Annotated[float, Meta(gt=0, le=MAX_T_S)] | None = None
    laps: Annotated[int, Meta(ge=1, le=100_000)] | None = None
    track_length_m: Annotated[float, Meta(gt=0, le=1e6)] | None = None
    min_lap_s: Annotated[float, Meta(ge=0, le=86_400)] | None = None
    waves: Annotated[list[Wave], Meta(max_length=100)] | None = None
    cc_window_s: Annotated[float, Meta(ge=0, le=MAX_T_S)] | None = None
    category_order: Annotated[list[Text], Meta(max_length=100)] | None = None
    rules: Annotated[dict[RuleId, dict[str, Any] | bool], Meta(max_length=100)] | None = None


class EntryLine(Header, tag="entry", kw_only=True):
    number: IdentOrInt
    name: Text = ""
    transponder: Annotated[str, Meta(max_length=64)] | Annotated[int, Meta(ge=0, le=2**53)] = ""
    category: Text = ""
    drivers: Annotated[list[Driver], Meta(max_length=50)] | None = None
    wave: IdentOrInt | None = None
    division: Text | None = None
    grid: IdentOrInt | None = None

    def __post_init__(self) -> None:
        self.number, self.transponder = _as_str(self.number).strip(), _as_str(self.transponder).strip()
        if not self.number:
            raise ValueError("field.number_empty")


LINE_TYPES: tuple[type[Line], ...] = (
    SessionLine,
    EntryLine,
    PassingLine,
    SignalLine,
    DriverChangeLine,
    RefuelLine,
    MechanicalLine,
    GridMoveLine,
    WeightCheckLine,
    BallastCheckLine,
    ManualPassingLine,
    PenaltyLine,
    WaiveLine,
    InvalidateLine,
    ApproveLine,
    AssignLine,
    ConfirmLine,
    RevertLine,
)
AnyLine = Union[LINE_TYPES]  # noqa: UP007 - the one list above, as the tagged union msgspec decodes
BY_TAG: dict[str, type[Line]] = {cls.__struct_config__.tag: cls for cls in LINE_TYPES}
_TAG_OF: dict[type[Line], str] = {cls: tag for tag, cls in BY_TAG.items()}  # faster than __struct_config__
HEADER_TYPES = frozenset(k for k, c in BY_TAG.items() if c.header)
CAR_TYPES = frozenset(k for k, c in BY_TAG.items() if c.car and k != "penalty")  # penalties: by number too
CORRECTION_TYPES = frozenset(k for k, c in BY_TAG.items() if c.correction)
READ_TYPES = frozenset(k for k, c in BY_TAG.items() if c.read)
ACTION_TYPES = frozenset(k for k, c in BY_TAG.items() if c.action)
_FIELDS = {tag: frozenset(cls.__struct_fields__) | {"type"} for tag, cls in BY_TAG.items()}
_decoder = msgspec.json.Decoder(AnyLine)


def _check_extra(key: str, value: Any, depth: int = 0) -> None:
    """An override value: JSON scalars (finite numbers), lists and objects of them, bounded."""
    if depth > MAX_DEPTH:
        raise LineError("line.extra_deep", key=key)
    if value is None or isinstance(value, bool | str):
        if isinstance(value, str) and len(value) > 500:
            raise LineError("line.extra_long", key=key)
        return
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise LineError("line.extra_finite", key=key)
        return
    if isinstance(value, list | dict):
        if len(value) > 200:
            raise LineError("line.extra_items", key=key)
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for k, v in items:
            _check_extra(f"{key}.{k}", v, depth + 1)
        return
    raise LineError("line.extra_value", key=key)


_MSGSPEC = (  # msgspec's messages -> (code, params): said in the caller's language, same English
    (re.compile(r"^Expected `([^`]+)` of length (>=|<=) (\S+)$"), "field.length", ("kind", "op", "bound")),
    (re.compile(r"^Expected `([^`]+)` (>=|>|<=|<) (\S+)$"), "field.bound", ("kind", "op", "bound")),
    (re.compile(r"^Expected `([^`]+)` matching regex '(.*)'$"), "field.pattern", ("kind", "pattern")),
    (re.compile(r"^Expected `([^`]+)`, got `([^`]+)`$"), "field.type", ("kind", "got")),
    (re.compile(r"^Invalid enum value '(.*)'$"), "field.enum", ("value",)),
    (re.compile(r"^Object missing required field `([^`]+)`$"), "field.missing", ("field",)),
    (re.compile(r"^Object contains unknown field `([^`]+)`$"), "field.unknown", ("field",)),
    (re.compile(r"^(field\.[a-z_]+)$"), None, ()),  # a code raised by a __post_init__ above
)


def _why(tag: str, exc: Exception) -> LineError:
    """msgspec's "Expected `float` >= 0 - at `$.seconds`" as a coded refusal naming the field: the same
    English as before ("penalty: 'seconds': Expected float >= 0"), "pénalité : « seconds » doit être un
    nombre ≥ 0" in French."""
    text, path = str(exc), None
    m = re.match(r"^Object contains unknown field `(.*)` - at `\$\.?(.*)`$", text)
    if m:  # inside a typed object (a driver, a wave): name the field where it is
        field = f"{m.group(2)}.{m.group(1)}" if m.group(2) else m.group(1)
        return LineError("line.field", line=tag, field=field, why=Coded("field.unknown_here"))
    m = re.match(r"^(.*) - at `\$\.?(.*)`$", text, re.S)
    if m:
        text, path = m.group(1), m.group(2) or "line"
    why = Coded("field.text", {"text": text.replace("`", "")})
    for pattern, code, names in _MSGSPEC:
        if m := pattern.match(text):
            why = Coded(code or m.group(1), dict(zip(names, m.groups(), strict=False)))
            break
    if path is None:
        return LineError("line.why", line=tag, why=why)
    return LineError("line.field", line=tag, field=path, why=why)


def _extras(tag: str, obj: dict[str, Any]) -> dict[str, Any]:
    known = _FIELDS[tag]
    extras = {k: v for k, v in obj.items() if k not in known}
    if len(extras) > MAX_EXTRAS:
        raise LineError("line.too_many_fields", line=tag)
    for k, v in extras.items():
        if not isinstance(k, str) or len(k) > 64:
            raise LineError("line.field_name", line=tag)
        _check_extra(k, v)
    return extras


def _finish(line: Line, obj: dict[str, Any] | None) -> Line:
    if isinstance(line, Header):
        if obj is not None:
            line.extras = _extras(line.__struct_config__.tag, obj)
        if isinstance(line, SessionLine):
            _check_session(line)
    return line


def _check_session(line: SessionLine) -> None:
    """The preset is looked up by name in the catalogue, and overrides keep the preset's types."""
    from service.presets import PresetError, resolve

    try:
        resolve(line.to_dict())
    except PresetError as exc:
        raise LineError(exc.code, **exc.params) from exc
    for rid, params in (line.rules or {}).items():
        if isinstance(params, dict):
            _check_extra(f"rules.{rid}", params)


def parse_line(obj: Any) -> Line:
    """Convert one decoded JSON value into a typed line, or raise LineError naming the field."""
    if isinstance(obj, Line):
        return obj
    if not isinstance(obj, dict):
        raise LineError("line.not_object")
    tag = obj.get("type")
    cls = BY_TAG.get(tag) if isinstance(tag, str) else None
    if cls is None:
        raise LineError("line.unknown_type_known", type=tag, known=", ".join(sorted(BY_TAG)))
    try:
        line = msgspec.convert({k: v for k, v in obj.items() if k != "extras"}, cls)  # the class: 10x a union
    except (msgspec.ValidationError, ValueError, TypeError) as exc:
        raise _why(tag, exc) from None
    return _finish(line, obj)


def parse_lines(items: list[Any]) -> list[Line]:
    """Several lines (an entry list): all converted, or LineError naming the first bad item."""
    if len(items) == 1:
        return [parse_line(items[0])]
    out = []
    for i, item in enumerate(items):
        try:
            out.append(parse_line(item))
        except LineError as exc:
            raise LineError("line.item", item=i + 1, why=exc) from None
    return out


def _without_unknown(obj: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The line without the unknown fields of its nested objects, and their names ("drivers[0].kg")."""
    dropped: list[str] = []
    out = dict(obj)
    for key, cls in NESTED.items():
        items = obj.get(key)
        if not isinstance(items, list):
            continue
        known = set(cls.__struct_fields__)
        kept = []
        for i, item in enumerate(items):
            if isinstance(item, dict):
                dropped += [f"{key}[{i}].{k}" for k in item if k not in known]
                item = {k: v for k, v in item.items() if k in known}
            kept.append(item)
        out[key] = kept
    return out, dropped


def decode_line(text: str | bytes, salvage: list[str] | None = None) -> Line:
    """Decode and convert one JSON text line (the fast path of replay and log loading).

    `salvage` (replaying a log or a file): a line that older versions accepted with unknown fields in
    its nested objects is read without them, and what was left out is described in that list, rather
    than the whole line (an entry: a car) being set aside."""
    try:
        line = _decoder.decode(text)
    except msgspec.ValidationError as exc:
        try:
            obj = msgspec.json.decode(text)
        except (msgspec.DecodeError, RecursionError):
            obj = None
        tag = obj.get("type") if isinstance(obj, dict) else None
        if isinstance(tag, str) and tag not in BY_TAG:
            raise LineError("line.unknown_type", type=tag) from None
        if salvage is not None and isinstance(obj, dict) and BY_TAG.get(tag, Line).header:
            cleaned, dropped = _without_unknown(obj)
            if dropped:
                line = parse_line(cleaned)  # still refused if something else is wrong
                salvage.append(said("warn.unknown_fields_left_out", line=tag, fields=", ".join(dropped)))
                return line
        raise _why(tag or "line", exc) from None
    except (msgspec.DecodeError, RecursionError) as exc:
        try:  # Python's reader takes NaN/Infinity (older logs have them): name the field instead
            obj = json.loads(text)
        except (ValueError, RecursionError):
            raise LineError("line.malformed", error=str(exc)) from None
        parse_line(obj)  # raises, naming the field
        raise LineError("line.not_strict", error=str(exc)) from None
    return _finish(line, msgspec.json.decode(text) if isinstance(line, Header) else None)


def encode_line(line: Line | dict[str, Any]) -> str:
    """The canonical text of a line in the log (a line, or its `to_dict()`): what replays to it."""
    return msgspec.json.encode(line.to_dict() if isinstance(line, Line) else line).decode()


@dataclass(slots=True)
class Event:
    """An accepted timed line as the engine holds it: the typed line plus engine bookkeeping."""

    line: Timed
    type: str
    t: int  # session clock, microseconds
    seq: int  # arrival order, breaks ties between equal times
    number: str | None = None  # car, once resolved
    loop: str | None = None
    transponder: str | None = None
    passing_key: tuple | None = None  # (decoder, passing_id) when the source numbers its reads
    cid: str | None = None  # the correction id (see Engine._name), for corrections

    @property
    def sort_key(self) -> tuple[int, int]:
        return (self.t, self.seq)


def read_key(decoder: str | None, passing_id: Any, epoch: int | None = None) -> tuple:
    """What names one numbered decoder read: (decoder, number), and its epoch after a reboot."""
    key = (decoder or "", str(passing_id))
    return key if epoch is None or epoch == 1 else (*key, epoch)


def make_event(line: Timed, seq: int) -> Event:
    """Wrap a typed timed line for the engine (its `t` must be set)."""
    if line.t is None:
        raise LineError("line.missing_t", line=line.__struct_config__.tag)
    ev = Event(line, _TAG_OF[type(line)], s_to_us(line.t), seq)
    if isinstance(line, PassingLine):
        ev.transponder, ev.loop = line.transponder, line.loop
        if line.passing_id is not None:
            ev.passing_key = read_key(line.decoder, line.passing_id, line.epoch)
    elif isinstance(line, CarLine):
        ev.number = line.number
        if isinstance(line, ManualPassingLine):
            ev.loop = line.loop
    return ev
