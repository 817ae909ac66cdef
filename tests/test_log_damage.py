"""A damaged log is salvaged and reported (issue 20): on start, what can be read of a damaged session is
loaded, the loss is reported on the session (which lines, found when, why), never silently; a session
with set-aside lines still exports; a 0-byte or unreadable file is listed with its error.

Each kind of damage is made for real: a writer process logs sessions and dies as a `kill -9` would
(os._exit, nothing closed); each test copies the files it left (once per module: one Python start,
not one per test), damages its copy and a service starts on that folder."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.results import replay_lines
from service.sessions.manager import Manager
from service.store import EventStore
from tests.conftest import REPO

ADMIN = {"Authorization": "Bearer admin"}

WRITER = """
import os, sys
from pathlib import Path
from service.sessions.live import LiveSession
data = Path(sys.argv[1])
for spec in sys.argv[2:]:  # name:reads:close|kill, the killed one last
    name, reads, end = spec.split(":")
    s = LiveSession.create(data, name, {"preset": "generic-timed", "kind": "race", "duration_s": 86000,
                                        "min_lap_s": 5}, synchronous="NORMAL")
    s.add_entries([{"type": "entry", "number": str(n), "transponder": str(100 + n)} for n in range(1, 6)])
    s.submit({"type": "signal", "t": 0, "signal": "green"})
    for i in range(int(reads)):  # one transaction each, as decoder reads come
        s.submit({"type": "passing", "t": 10.0 * (i // 5 + 1) + i % 5, "transponder": str(101 + i % 5),
                  "loop": "finish"})
    print(name, s.id, s.store.count(), flush=True)
    if end == "close":
        s.close()
    else:
        os._exit(0)  # as after a kill -9: nothing closed, the WAL not checkpointed
"""
# the sessions the tests damage, each written once per module by one writer process (tests copy their files)
LOGS = {"other": (50, "close"), "tiny": (10, "close"), "big": (2000, "close"), "killed": (600, "kill")}


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> dict[str, tuple[Path, str, int]]:
    """Every session of LOGS logged by another process, the killed one last: name -> (folder, id, lines)."""
    folder = tmp_path_factory.mktemp("logs")
    specs = [f"{name}:{reads}:{end}" for name, (reads, end) in LOGS.items()]
    out = subprocess.run(
        [sys.executable, "-c", WRITER, str(folder), *specs],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    written = {
        name: (folder, sid, int(n)) for name, sid, n in (line.split() for line in out.stdout.splitlines())
    }
    assert set(written) == set(LOGS), out.stderr
    return written


@pytest.fixture
def write_session(logs, data):
    """write_session(name): the files of that logged session copied into the test's data folder, as the
    writer left them (for the killed one: its -wal not checkpointed): (its id, its number of lines)."""

    def copy(name: str) -> tuple[str, int]:
        folder, sid, n = logs[name]
        for f in folder.glob(f"{sid}.*"):
            shutil.copy2(f, data / f.name)
        return sid, n

    return copy


def load(data: Path) -> Manager:
    mgr = Manager(data, "admin", synchronous="NORMAL")
    mgr.load_all()
    return mgr


def laps(mgr: Manager, sid: str) -> int:
    return sum(c.laps for c in mgr.get(sid).engine.cars.values())


@pytest.fixture
def data(tmp_path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d


def test_a_deleted_wal_file_is_found_out_and_reported(data, write_session):
    """The reads after the last checkpoint were only in the -wal file: the log opens without them; the
    number of the last committed line, kept beside the log, shows how many are gone and which."""
    other, _ = write_session("other")
    sid, n = write_session("killed")
    wal = data / f"{sid}.sqlite-wal"
    assert wal.stat().st_size > 0
    wal.unlink()
    mgr = load(data)
    s = mgr.get(sid)
    kept = s.store.count()
    assert 0 < kept < n  # lines were lost...
    [report] = s.damage  # ...and said: which, why, when
    assert report["cause"] == "lost_tail" and report["missing"] == [[kept + 1, n]]
    assert report["lines_missing"] == n - kept == s.header()["log"]["missing"] == s.listing()["missing"]
    assert s.details()["damage"] == [report]
    assert laps(mgr, sid) == kept - 7  # what was read is loaded: each read left is a lap
    assert laps(mgr, other) == 50 and mgr.get(other).damage == []  # the other session is untouched
    # new lines are numbered after the lost ones; a restart reports the same loss once
    s.submit({"type": "passing", "t": 2000.0, "transponder": "101", "loop": "finish"})
    assert max(seq for seq, _ in s.store.texts()) == n + 1
    for x in mgr.sessions.values():
        x.close()
    again = load(data)
    assert again.get(sid).damage == [report] and laps(again, sid) == kept - 7 + 1


def corrupt_a_page(path: Path, where: float) -> None:
    """Overwrite one whole page (4 KiB) at `where` (a fraction of the file) with garbage."""
    size = path.stat().st_size
    page = int(size * where) // 4096
    with open(path, "r+b") as fh:
        fh.seek(page * 4096)
        fh.write(bytes(range(256)) * 16)


@pytest.mark.parametrize("damage", ["bad_page", "truncated"])
def test_a_log_sqlite_cannot_read_whole_is_rebuilt_from_what_can_be_read(data, write_session, damage):
    other, _ = write_session("other")
    sid, n = write_session("big")
    path = data / f"{sid}.sqlite"
    assert not Path(f"{path}-wal").exists()  # closed cleanly: everything is in the file
    if damage == "bad_page":
        corrupt_a_page(path, 0.5)
    else:
        with open(path, "r+b") as fh:
            fh.truncate(int(path.stat().st_size * 0.6))
    mgr = load(data)
    s = mgr.get(sid)
    [report] = s.damage
    assert report["cause"] == "unreadable" and report["error"]
    assert 0 < report["lines_missing"] < n / 2
    assert s.store.count() == n - report["lines_missing"]
    assert laps(mgr, sid) > 0 and laps(mgr, other) == 50
    kept = data / report["kept_as"]
    assert kept.is_file() and not kept.name.endswith(".sqlite")  # kept aside, never loaded as a session
    if damage == "truncated":
        assert report["missing"][-1][1] == n  # the end of the log is what a truncation loses
    # the rebuilt log takes new lines and loads again with the same report, nothing more missing
    s.submit({"type": "passing", "t": 2000.0, "transponder": "101", "loop": "finish"})
    for x in mgr.sessions.values():
        x.close()
    again = load(data)
    assert (
        again.get(sid).damage == [report] and again.get(sid).store.count() == n - report["lines_missing"] + 1
    )


def test_a_zero_byte_or_unreadable_file_is_listed_with_its_error(data, write_session):
    other, _ = write_session("other")
    (data / "empty.sqlite").write_bytes(b"")
    (data / "garbage.sqlite").write_bytes(b"not a database at all " * 200)
    client = TestClient(create_app(data, "admin"), raise_server_exceptions=False)
    with client:
        listed = {s["id"]: s for s in client.get("/api/sessions").json()}
    assert "0 bytes" in listed["empty"]["error"]
    assert listed["garbage"]["error"]
    assert listed[other]["missing"] == 0 and "error" not in listed[other]
    assert (data / "empty.sqlite").stat().st_size == 0  # looked at, not written to


def set_aside_session(data: Path, write_session) -> str:
    """A session whose log holds two lines this version sets aside (written by hand or by an older
    version: not JSON, and a NaN time), and an entry whose driver has an unknown field."""
    sid, _ = write_session("tiny")
    db = sqlite3.connect(data / f"{sid}.sqlite")
    with db:
        for text in (
            "garbage that is not JSON",
            '{"type": "passing", "t": NaN, "transponder": "101", "loop": "finish"}',
            '{"type": "entry", "number": "9", "transponder": "109", "drivers": [{"id": 5, "kg": "heavy"}]}',
            '{"type": "passing", "t": 200.0, "transponder": "109", "loop": "finish"}',
        ):
            db.execute("INSERT INTO events (line, received_at) VALUES (?, 0)", (text,))
    db.close()
    return sid


def test_a_session_with_set_aside_lines_still_exports(data, write_session, tmp_path):
    sid = set_aside_session(data, write_session)
    mgr = load(data)
    s = mgr.get(sid)
    errors = [a["error"] for a in s.set_aside]
    assert len(errors) == 3 and "drivers[0].kg" in errors[2]  # the unknown field is named...
    assert s.engine.cars["9"].laps == 1  # ...and its entry still counts (an older version accepted it)
    for x in mgr.sessions.values():
        x.close()
    with TestClient(create_app(data, "admin")) as client:
        r = client.get(f"/api/sessions/{sid}/export.jsonl", headers=ADMIN)
    assert r.status_code == 200
    assert "garbage that is not JSON" in r.text and '"kg": "heavy"' in r.text  # nothing dropped
    replayed = replay_lines(r.text.splitlines())
    assert sum(c.laps for c in replayed.cars.values()) == sum(c.laps for c in s.engine.cars.values())
    assert any("malformed JSON" in w for w in replayed.warnings) and any(
        "drivers[0].kg" in w for w in replayed.warnings
    )
    out = tmp_path / "record.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "service.cli", "record", str(data / f"{sid}.sqlite"), "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.read_text(encoding="utf-8").count("\n") == r.text.count("\n") + 1  # + its header comment


def test_a_damaged_log_exports_with_its_loss_said(data, write_session, tmp_path):
    sid, n = write_session("killed")
    (data / f"{sid}.sqlite-wal").unlink()
    mgr = load(data)
    report = mgr.get(sid).damage[0]
    for x in mgr.sessions.values():
        x.close()
    out = tmp_path / "record.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "service.cli", "record", str(data / f"{sid}.sqlite"), "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and f"{report['lines_missing']} line(s) missing" in proc.stderr
    assert f"# {report['lines_missing']} line(s) missing from this log" in out.read_text(encoding="utf-8")


def test_the_committed_count_beside_the_log_follows_commits_not_rollbacks(tmp_path):
    store = EventStore(tmp_path / "x.sqlite")
    with store.transaction():
        store.append("{}")
        store.append("{}")
    assert store.committed_seq() == 2
    with pytest.raises(RuntimeError), store.transaction():
        store.append("{}")
        raise RuntimeError("rolled back")
    assert store.committed_seq() == 2
    store.append("{}")  # outside a transaction: committed at once (the rolled-back 3 was never given)
    assert store.committed_seq() == 3
    store.close()
