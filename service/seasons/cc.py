"""Cross-country helpers on results rows (RULES.md section 4), shared by the engine adapters,
the season rules, the API and the CLI:

- `by_category_rows`: CC-CLASSES category classifications extracted from a scratch.
- `kids_aggregate`: CC-KIDS most laps then least time over both endurances.
- `start_lines`: CC-SPRINT sprint test ranking -> start lines (waves); `kids_grid` the CC-KIDS
  start groups from the special test(s) or from endurance 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from service.errors import Invalid
from service.presets import norm
from service.timeutil import s_to_us, us_to_s

NO_TIME = ("dns", "dsq")


def _us(row: dict[str, Any]) -> int | None:
    if row.get("total_time_us") is not None:
        return int(row["total_time_us"])
    t = row.get("total_time_s")
    return None if t is None else s_to_us(float(t))


def _natural(number: str) -> tuple[int, str]:
    return (int(number) if number.isdigit() else 0, number)


def by_category_rows(
    rows: Sequence[dict[str, Any]], order: Iterable[str] = ()
) -> dict[str, list[dict[str, Any]]]:
    """CC-CLASSES: each category's rows in scratch order, `category_position` renumbered in it.

    Categories named in `order` (the preset's `category_order`) come first, then as met.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    names = {norm(c): c for c in order}
    for c in names.values():
        out[c] = []
    for r in rows:
        key = names.setdefault(norm(r.get("category")), str(r.get("category") or ""))
        out.setdefault(key, []).append(dict(r))
    for cat_rows in out.values():
        for i, r in enumerate(cat_rows, 1):
            r["category_position"] = i
    return {k: v for k, v in out.items() if v}


def kids_aggregate(endurances: Sequence[Sequence[dict[str, Any]]]) -> list[dict[str, Any]]:
    """CC-KIDS: most laps then least time over both endurances.

    A rider counts an endurance only if classified in it (took the flag there); a rider classified
    in neither is `not_classified`. Rows carry `total_time_us` (engine) or `total_time_s` (results
    JSON); laps are after lap penalties.
    """
    per: dict[str, dict[str, Any]] = {}
    for no, rows in enumerate(endurances, 1):
        for r in rows:
            number = str(r["number"])
            t = _us(r)
            a = per.setdefault(
                number,
                {
                    "number": number,
                    "name": r.get("name") or "",
                    "category": r.get("category") or "",
                    "laps": 0,
                    "total_time_us": 0,
                    "counted": [],
                },
            )
            a[f"endurance{no}"] = {
                "status": r.get("status"),
                "laps": r.get("laps"),
                "total_time_s": us_to_s(t),
            }
            if r.get("status") == "classified" and t is not None:
                a["laps"] += int(r.get("laps") or 0)
                a["total_time_us"] += t
                a["counted"].append(no)
    rows_ = sorted(
        per.values(), key=lambda a: (not a["counted"], -a["laps"], a["total_time_us"], *_natural(a["number"]))
    )
    by_cat: dict[str, int] = {}
    for i, a in enumerate(rows_, 1):
        a["position"] = i
        a["status"] = "classified" if a["counted"] else "not_classified"
        c = norm(a["category"])
        by_cat[c] = by_cat.get(c, 0) + 1
        a["category_position"] = by_cat[c]
        a["total_time_s"] = us_to_s(a.pop("total_time_us"))
    return rows_


def _chunks(numbers: list[str], size: int, first_line: int, ordered: bool) -> list[dict[str, Any]]:
    return [
        {"line": first_line + i, "ordered": ordered, "numbers": numbers[k : k + size]}
        for i, k in enumerate(range(0, len(numbers), size))
    ]


def start_lines(
    sprint: Sequence[dict[str, Any]],
    entries: Sequence[dict[str, Any]] = (),
    line_size: int = 20,
    ranked_lines: int = 2,
    last: Iterable[str] = ("Licence une manifestation", "Soft"),
) -> list[dict[str, Any]]:
    """CC-SPRINT: lines 1 and 2 in sprint-test order; the other sprint riders line up freely on the
    next lines; riders without a sprint time take the line after them; Soft and one-event
    licences (no sprint test) the last lines, reserved for them.

    **Decision:** a line holds `line_size` bikes (a wave of 12-25, CC-WAVES); the "free" lines are
    filled in sprint order (the order inside a free line does not change any time: the wave's offset
    is the same for all of it). Each line is one wave (`wave` = line number).
    """
    if line_size < 1:
        raise Invalid("season.line_size")
    late = {norm(c) for c in last}
    cat = {str(e["number"]): e.get("category") for e in entries}
    cat.update({str(r["number"]): r.get("category") for r in sprint if str(r["number"]) not in cat})
    timed = [
        str(r["number"])
        for r in sprint
        if r.get("status") not in NO_TIME
        and r.get("best_lap_s")
        and norm(cat.get(str(r["number"]))) not in late
    ]
    seen = set(timed)
    everyone = [str(e["number"]) for e in entries] or [str(r["number"]) for r in sprint]
    untimed = [n for n in everyone if n not in seen and norm(cat.get(n)) not in late]
    reserved = [n for n in everyone if n not in seen and norm(cat.get(n)) in late]
    head = timed[: ranked_lines * line_size]
    lines = _chunks(head, line_size, 1, True)
    lines += _chunks(timed[len(head) :], line_size, len(lines) + 1, False)
    lines += _chunks(untimed, line_size, len(lines) + 1, False)
    lines += _chunks(reserved, line_size, len(lines) + 1, False)
    return lines


def kids_grid(tests: Sequence[Sequence[dict[str, Any]]], group_size: int = 5) -> list[dict[str, Any]]:
    """CC-KIDS endurance 1 start groups (2-5 riders every 5 s) in the order of the special test(s)
    cumulated: riders with a time in every test by total time, then the others in listed order."""
    total: dict[str, int] = {}
    order: list[str] = []
    for rows in tests:
        for r in rows:
            n = str(r["number"])
            if n not in total:
                total[n] = 0
                order.append(n)
    timed = set(order)
    for rows in tests:
        ok = {str(r["number"]): r for r in rows if r.get("status") not in NO_TIME and r.get("best_lap_s")}
        timed &= set(ok)
        for n, r in ok.items():
            total[n] += s_to_us(float(r["best_lap_s"]))
    done = sorted(timed, key=lambda n: (total[n], order.index(n)))
    return _chunks(done + [n for n in order if n not in timed], group_size, 1, True)


def kids_second_grid(endurance1: Sequence[dict[str, Any]], group_size: int = 5) -> list[dict[str, Any]]:
    """CC-KIDS endurance 2 groups in endurance 1's order; an abandon starts after the classified."""
    done = [str(r["number"]) for r in endurance1 if r.get("status") == "classified"]
    rest = [str(r["number"]) for r in endurance1 if r.get("status") != "classified"]
    return _chunks(done + rest, group_size, 1, True)
