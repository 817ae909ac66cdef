"""`boucle record`: a live session's event log exported as a scenario replays to the same results."""

from __future__ import annotations

import json
import subprocess
import sys

from service.results import dumps, replay_file, replay_lines, results
from service.sessions.manager import Manager
from tests.conftest import REPO


def test_recorded_session_replays_to_the_live_results(tmp_path, shared):
    mgr = Manager(tmp_path / "data", "adm")
    lines = (shared / "spec/examples/tiny-race.jsonl").read_text().splitlines()
    parsed = [json.loads(ln) for ln in lines if ln.strip() and not ln.startswith("#")]
    session = mgr.create("recorded", parsed[0])
    for line in parsed[1:]:
        session.submit(line)
    session.engine.finalize()
    live = results(session.engine)
    db = tmp_path / "data" / f"{session.id}.sqlite"
    session.close()

    out = tmp_path / "exported.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "service.cli", "record", str(db), "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"wrote {len(parsed)} lines" in proc.stderr
    replayed = results(replay_file(out))
    assert replayed["warnings"] == ["line 11: unknown transponder 999999 (finish at 77.000 s)"]
    assert dumps({**replayed, "warnings": []}) == dumps({**live, "warnings": []})
    # and the restarted service rebuilds the same state from the same log
    again = Manager(tmp_path / "data", "adm")
    again.load_all()
    engine = again.sessions[session.id].engine
    engine.finalize()
    assert results(engine)["classification"] == live["classification"]
    assert results(replay_lines(lines))["classification"] == live["classification"]


def test_record_reports_a_missing_log(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "service.cli", "record", str(tmp_path / "nope.sqlite")],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "no such session log" in proc.stderr
