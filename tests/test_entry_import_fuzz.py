"""Any file at all to the entry import (issue 22): random bytes, club-like text in any encoding and
separator, huge fields, damaged or hostile workbooks, any options. The reader answers entries or a
coded refusal, never a crash; over HTTP never a 5xx, and a refused file logs nothing."""

from __future__ import annotations

import io
import json
import zipfile
from collections import Counter

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from service.entries import read_entries
from service.entry_columns import FIELDS
from service.errors import BoucleError
from tests.fuzzing import EXAMPLES
from tests.web_helpers import ADMIN, LiveServer

SEEN: Counter[str] = Counter()  # outcomes of the reader: entries read, or which refusal
HEADERS = [
    "N°",
    "Nom",
    "Prénom",
    "Pilote",
    "Pilote 2",
    "Poids (kg)",
    "Poids 2",
    "Catégorie",
    "Transpondeur",
    "Équipe",
    "Club",
    "Licence",
    "number",
    "drivers",
    "Team",
    "Weight",
    "",
    "Remarques",
]
cells = st.one_of(
    st.sampled_from(
        HEADERS + ["Éloïse LEFÈVRE", "68,5", "68.5", "7", "007", "", "a:b:c|d", "d1:Ann:x", '"', "\r"]
    ),
    st.text(max_size=20),
    st.integers(-5, 10**9).map(str),
    st.builds(lambda n: "x" * n, st.sampled_from([499, 501, 65, 131_073])),
)
rows = st.lists(st.lists(cells, max_size=8), max_size=12)
separators = st.sampled_from([";", ",", "\t", "|", " "])
encodings = st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16", "latin-1"])


@st.composite
def club_text(draw) -> bytes:
    sep = draw(separators)
    text = "\n".join(sep.join(row) for row in draw(rows))
    return text.encode(draw(encodings), errors="replace")


@st.composite
def club_file(draw) -> bytes:
    """A plausible entry list (a number column, known headers, numbered rows), text or workbook:
    enough of the examples read as entries, so the fuzzing reaches the whole reader."""
    header = ["N°", *draw(st.lists(st.sampled_from(HEADERS[1:]), max_size=6))]
    body = [
        [
            str(draw(st.integers(1, 999))),
            *draw(st.lists(cells, min_size=len(header) - 1, max_size=len(header) - 1)),
        ]
        for _ in range(draw(st.integers(1, 6)))
    ]
    if draw(st.booleans()):
        return _workbook([header, *body])
    sep = draw(st.sampled_from([";", ",", "\t"]))
    return "\n".join(sep.join(r) for r in [header, *body]).encode(draw(encodings), errors="replace")


def _workbook(values: list[list[str]]) -> bytes:
    book = openpyxl.Workbook()
    for row in values:
        book.active.append([ILLEGAL_CHARACTERS_RE.sub("", v[:1000]) for v in row])  # what Excel can hold
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


GOOD_XLSX = _workbook([["N°", "Nom", "Poids"], ["1", "A", "68,5"]])


@st.composite
def damaged_xlsx(draw) -> bytes:
    data = bytearray(draw(st.sampled_from([GOOD_XLSX])))
    for _ in range(draw(st.integers(1, 8))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data[: draw(st.integers(4, len(data)))])


@st.composite
def odd_zip(draw) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        names = ["xl/workbook.xml", "[Content_Types].xml", "xl/worksheets/sheet1.xml", "mimetype", "x"]
        for name in draw(st.lists(st.sampled_from(names), max_size=4, unique=True)):
            z.writestr(
                name,
                draw(st.binary(max_size=200)) if draw(st.booleans()) else b"<a>" + b"<b/>" * 50 + b"</a>",
            )
    return buf.getvalue()


files = st.one_of(
    st.binary(max_size=3000),
    club_text(),
    club_file(),
    damaged_xlsx(),
    odd_zip(),
    rows.map(lambda r: _workbook([[str(c) for c in row] for row in r])),
)
queries = st.just({}) | st.fixed_dictionaries(
    {},
    optional={
        "mapping": st.one_of(
            st.text(max_size=20),
            st.dictionaries(
                st.sampled_from(HEADERS + ["1", "2", "9"]),
                st.sampled_from([*FIELDS, "last_name.2", "x", None, ""]),
                max_size=3,
            ).map(json.dumps),
        ),
        "encoding": st.sampled_from(["utf-8", "windows-1252", "utf-16", "klingon", ""]),
        "separator": st.sampled_from([";", ",", "tab", "|", "??"]),
        "header": st.sampled_from(["0", "1", "3", "99", "x", "-1"]),
        "skip": st.sampled_from(["2", "2,3", "a", ""]),
        "sheet": st.sampled_from(["Sheet", "Engagés"]),
    },
)
ctypes = st.sampled_from(
    [
        "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "text/plain",
        "application/octet-stream",
        "",
    ]
)


@settings(max_examples=EXAMPLES * 3, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(body=files, query=queries, ctype=ctypes)
def test_any_file_is_read_or_refused_with_a_code(body, query, ctype):
    try:
        reading = read_entries(body, ctype, query)
        json.dumps(reading.describe("fr"))
        lines = reading.lines()
    except BoucleError as exc:
        assert exc.code.startswith(("entries.", "error.")), exc.code
        SEEN[exc.code] += 1
        return
    SEEN["read"] += 1
    assert len(lines) == len(reading.entries)
    for e in reading.entries:
        assert e["number"] and isinstance(e["line"], int)


def test_the_fuzzing_reached_both_the_entries_and_the_refusals():
    """Runs after the fuzz test: some files were read as entries, others refused for several reasons."""
    assert SEEN["read"] > 0 and len(SEEN) > 4, SEEN


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = LiveServer(tmp_path_factory.mktemp("import-fuzz")).start()
    s.sid = s.post("/api/sessions", {"name": "fuzz", "preset": "generic-timed", "kind": "race"})["id"]
    yield s
    s.stop()


@settings(max_examples=EXAMPLES // 2, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(body=files, query=queries, ctype=ctypes, preview=st.booleans())
def test_any_file_over_http_is_2xx_or_4xx_and_a_refusal_logs_nothing(srv, body, query, ctype, preview):
    store = srv.app.state.manager.get(srv.sid).store
    before = store.count()
    path = f"/api/sessions/{srv.sid}/entries" + ("/preview" if preview else "")
    r = srv.http.post(
        path,
        content=body,
        params=query,
        headers={"Authorization": f"Bearer {ADMIN}", "Content-Type": ctype, "Accept-Language": "fr"},
    )
    assert r.status_code < 500, (body[:80], query, r.text)
    assert isinstance(r.json(), dict)
    if preview or r.status_code >= 400:
        assert store.count() == before
    else:
        assert store.count() == before + r.json()["entries"]
