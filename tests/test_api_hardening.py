"""The API under bad requests (issue 10): clear 4xx, nothing logged, restarts load the same state,
roles as docs/api.md, no 500 anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import create_app

TOKEN = "admin-secret"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


class Track:
    """A service on a data folder, restartable; a small race with two laps done. `client`: a service
    already running on that folder (shared by a module's tests): the race is a new session in it."""

    def __init__(self, data: Path, client: TestClient | None = None) -> None:
        self.data = data
        self.client = client or self.start()
        r = self.client.post(
            "/api/sessions", json={"name": "t", "preset": "lemans-270-2h", "kind": "race"}, headers=ADMIN
        )
        assert r.status_code == 201, r.text
        self.sid, self.tokens = r.json()["id"], r.json()["tokens"]
        self.base = f"/api/sessions/{self.sid}"
        entries = [
            {
                "number": str(n),
                "name": f"T{n}",
                "transponder": str(100 + n),
                "category": "Sport",
                "drivers": [
                    {"id": "a", "name": "Ann", "weight_kg": 80},
                    {"id": "b", "name": "Bob", "weight_kg": 82},
                ],
            }
            for n in (1, 2, 3)
        ]
        assert self.post("/entries", entries).status_code == 200
        assert self.post("/signal", {"signal": "green", "t": 0}).status_code == 200
        for lap in (1, 2):
            for n in (1, 2, 3):
                line = {"type": "passing", "t": 60.0 * lap + n, "transponder": str(100 + n), "loop": "finish"}
                assert self.post("/events", line).status_code == 200

    def start(self) -> TestClient:
        return TestClient(create_app(self.data, TOKEN, "NORMAL"), raise_server_exceptions=False)

    def post(self, path: str, body, headers=None, raw: str | None = None):
        h = headers or ADMIN
        if raw is not None:
            return self.client.post(
                self.base + path, content=raw, headers={**h, "content-type": "application/json"}
            )
        return self.client.post(self.base + path, json=body, headers=h)

    def logged(self) -> int:
        return self.client.app.state.manager.get(self.sid).store.count()

    def results(self, client: TestClient | None = None) -> dict:
        # as staff: the public reads are rate-limited per address (service/ratelimit.py)
        return (client or self.client).get(f"{self.base}/results", headers=ADMIN).json()

    def restart(self) -> TestClient:
        self.client.app.state.manager.get(self.sid).close()
        self.client = self.start()
        return self.client


@pytest.fixture
def fresh(tmp_path) -> Track:
    """A service of its own, for the tests that restart it or write into its data folder."""
    return Track(tmp_path / "data")


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> TestClient:
    """One service for the module (building the app is most of a test's cost): each test has its own
    session in it, so none sees another's state."""
    return TestClient(
        create_app(tmp_path_factory.mktemp("shared") / "data", TOKEN, "NORMAL"), raise_server_exceptions=False
    )


@pytest.fixture
def track(service) -> Track:
    return Track(service.app.state.manager.data_dir, service)


SURVIVORS: dict[str, tuple[str, dict]] = {}  # the bad requests' sessions, to load again after a restart


RAW_BAD = [  # (endpoint, raw body): each used to be logged, answered 500, or both
    ("/events", '{"type": "passing", "t": NaN, "transponder": "101", "loop": "finish"}'),
    ("/events", '{"type": "passing", "t": Infinity, "transponder": "101", "loop": "finish"}'),
    ("/events", '{"type": "invalidate", "t": 5, "transponder": "101", "target_t": "abc"}'),
    ("/events", '{"type": "invalidate", "t": 5, "transponder": "101", "target_t": [1]}'),
    ("/events", '{"type": "entry", "number": "9", "drivers": 5}'),
    ("/events", '{"type": "entry", "number": "9", "drivers": ["ann"]}'),
    ("/events", '{"type": "session", "preset": "nope"}'),
    ("/events", '{"type": "session", "preset": "generic-timed", "duration_s": "long"}'),
    ("/events", '{"type": "session", "preset": "../../../elsewhere/evil"}'),
    ("/events", '{"type": "refuel", "t": 5, "number": "99"}'),
    ("/penalties", '{"number": "1", "rule": "LM-UNSPORTING", "seconds": NaN}'),
    ("/penalties", '{"number": "1", "rule": "LM-UNSPORTING", "seconds": "ten"}'),
    ("/penalties/p1/waive", "[1, 2]"),
    ("/penalties/p1/waive", '"x"'),
    ("/cars/1/refuel", "[1]"),
    ("/cars/1/refuel", '"abc"'),
    ("/cars/1/weight_check", '{"kg": NaN}'),
    ("/decoders", '{"url": "p3tcp://127.0.0.1:1", "loops": [1, 2]}'),
    ("/decoders", '{"url": "p3tcp://127.0.0.1:1", "rtc_zero_us": "soon"}'),
    ("/assign", "[]"),
    ("/manual_passing", '{"number": "1", "t": NaN}'),
    ("/entries", '[{"number": "7"}, {"number": "8", "drivers": 5}]'),
    ("/events", "[" * 5000 + "]" * 5000),
    ("/events", '{"type": "entry", "number": "9", "x": ' + "[" * 30 + "]" * 30 + "}"),
]


@pytest.mark.parametrize(("path", "raw"), RAW_BAD, ids=[f"{i}{p}" for i, (p, _) in enumerate(RAW_BAD)])
def test_a_bad_request_is_a_4xx_and_never_logged(track, path, raw):
    before, res = track.logged(), track.results()
    r = track.post(path, None, raw=raw)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    assert r.json()["detail"]
    assert track.logged() == before
    assert track.results() == res
    SURVIVORS[track.sid] = (f"{path} {raw[:60]}", res)  # restarted below, with the others (one restart)


def test_after_a_restart_each_bad_request_session_loads_the_same(service):
    """Runs after the bad requests: a restart of their service loads each of their sessions to the
    results it had before its bad request, nothing set aside."""
    assert len(SURVIVORS) == len(RAW_BAD), "run with test_a_bad_request_is_a_4xx_and_never_logged"
    mgr = service.app.state.manager
    for sid in SURVIVORS:
        mgr.get(sid).close()
    client = TestClient(create_app(mgr.data_dir, TOKEN, "NORMAL"), raise_server_exceptions=False)
    for sid, (case, res) in SURVIVORS.items():
        assert client.get(f"/api/sessions/{sid}/results", headers=ADMIN).json() == res, case
        got = client.get(f"/api/sessions/{sid}", headers=ADMIN).json()
        assert got["set_aside"] == [], (case, got)


def test_the_message_names_the_field(track):
    r = track.post(
        "/events", None, raw='{"type": "invalidate", "t": 5, "transponder": "101", "target_t": "abc"}'
    )
    assert r.status_code == 400 and "'target_t'" in r.json()["detail"]
    r = track.post("/penalties", None, raw='{"number": "1", "rule": "LM-UNSPORTING", "seconds": -3}')
    assert r.status_code == 400 and "'seconds'" in r.json()["detail"]


def test_a_nan_penalty_cannot_freeze_the_public_board(track):
    assert (
        track.post(
            "/penalties", None, raw='{"number": "2", "rule": "LM-UNSPORTING", "seconds": NaN}'
        ).status_code
        == 400
    )
    c = track.client
    assert c.get(f"{track.base}/results").status_code == 200
    assert c.get(f"{track.base}/export.csv").status_code == 200
    assert c.get(f"{track.base}/classification").status_code == 200
    r = track.post("/penalties", {"number": "2", "rule": "LM-UNSPORTING", "seconds": 10})
    assert r.status_code == 201 and r.json()["seconds"] == 10.0
    row = next(x for x in track.results()["classification"] if x["number"] == "2")
    assert row["penalty_seconds"] == 10.0


def test_roles_the_timing_crew_cannot_rewrite_the_session(track):
    timing = {"Authorization": f"Bearer {track.tokens['timing']}"}
    r = track.post(
        "/events", {"type": "session", "preset": "lemans-270-2h", "duration_s": 60}, headers=timing
    )
    assert r.status_code == 403
    r = track.post(
        "/events",
        {"type": "session", "preset": "lemans-270-2h", "kind": "race", "rules": {"LM-STOPS": False}},
        headers=timing,
    )
    assert r.status_code == 403
    assert (
        track.post(
            "/events", {"type": "passing", "t": 190, "transponder": "101", "loop": "finish"}, headers=timing
        ).status_code
        == 200
    )


@pytest.mark.parametrize("token", ["é", "🏁" * 40, "x" * 5000, "\x00", TOKEN + "é"])
def test_any_malformed_token_is_a_401_and_a_token_in_a_url_is_never_read(track, token):
    bearer = {"Authorization": b"Bearer " + token.encode("utf-8")}
    r = track.client.post(f"{track.base}/signal", headers=bearer, json={"signal": "yellow"})
    assert r.status_code == 401
    assert track.client.get("/api/whoami", headers=bearer).status_code == 401
    # in a URL (logged by every proxy): refused whatever it is, the right token included (issue 21)
    for tok in (token, TOKEN):
        r = track.client.post(f"{track.base}/signal", params={"token": tok}, json={"signal": "yellow"})
        assert r.status_code == 400 and r.json()["code"] == "auth.token_in_url"


def test_bodies_are_bounded(track):
    r = track.post(
        "/events", None, raw=json.dumps({"type": "entry", "number": "9", "name": "x" * (5 * 1024 * 1024)})
    )
    assert r.status_code == 413


def test_ten_thousand_entries_in_one_request_and_one_transaction(fresh):
    track = fresh
    entries = [
        {"number": str(1000 + i), "name": f"Kart {i}", "transponder": str(900000 + i)} for i in range(10_000)
    ]
    before = track.logged()
    r = track.post("/entries", entries)
    assert r.status_code == 200 and r.json()["entries"] == 10_000
    assert track.logged() == before + 10_000
    entries[-1]["drivers"] = 5  # one bad item: the whole list is refused, nothing logged
    r = track.post("/entries", [{**e, "number": "x" + e["number"]} for e in entries])
    assert r.status_code == 400 and "item 10000" in r.json()["detail"]
    assert track.logged() == before + 10_000
    client = track.restart()
    assert len(client.app.state.manager.get(track.sid).engine.cars) == 10_003


def test_a_broken_session_file_does_not_stop_the_others(fresh):
    track = fresh
    res = track.results()
    (track.data / "zz-broken.sqlite").write_bytes(b"this is not a database" * 100)
    client = track.restart()
    listed = client.get("/api/sessions").json()
    assert any(s["id"] == "zz-broken" and s["error"] for s in listed)
    assert track.results(client) == res


def test_session_files_are_private(track):
    for path in track.data.glob("*.sqlite*"):
        assert path.stat().st_mode & 0o077 == 0, path


def test_an_entry_list_as_an_uploaded_csv_file(track):
    csv = "number,name,transponder,category,drivers\n41,Kart 41,9041,Sport,a:Ann:70\n"
    r = track.client.post(
        f"{track.base}/entries", files={"file": ("entries.csv", csv, "text/csv")}, headers=ADMIN
    )
    assert r.status_code == 200 and r.json()["entries"] == 1
    assert track.client.app.state.manager.get(track.sid).engine.cars["41"].drivers == [
        {"id": "a", "name": "Ann", "weight_kg": 70.0}
    ]
    r = track.client.post(f"{track.base}/entries", files={"other": ("x.csv", csv, "text/csv")}, headers=ADMIN)
    assert r.status_code == 400 and "'file'" in r.json()["detail"]
