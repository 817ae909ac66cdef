"""Fuzzing the write endpoints (issue 10): any JSON value gets a 2xx or a 4xx, never a 5xx, and after
each batch a restart loads the session to the same classification. Bounded example counts."""

from __future__ import annotations

import json
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.engine.events import BY_TAG
from service.session import LiveSession
from service.store import EventStore
from tests.test_api_hardening import ADMIN, Track

WRITES = ["/events", "/entries", "/signal", "/penalties", "/penalties/p1/waive", "/penalties/p1/approve",
          "/cars/1/refuel", "/cars/1/driver_change", "/cars/1/weight_check", "/cars/2/ballast_check",
          "/assign", "/manual_passing", "/invalidate", "/decoders"]  # fmt: skip
FIELDS = sorted({f for cls in BY_TAG.values() for f in cls.__struct_fields__} | {"type", "url", "loops", "rule"})

scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=12)
near = (st.sampled_from(sorted(BY_TAG)) | st.sampled_from(["finish", "green", "101", "1", "LM-UNSPORTING", "p1"])
        | st.floats(-1e9, 1e9) | st.integers(-5, 500))  # fmt: skip
values = st.recursive(scalars | near, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=6), c, max_size=4),
                      max_leaves=12)  # fmt: skip
lines = st.dictionaries(st.sampled_from(FIELDS), values | near, max_size=7)
STATUSES: dict[int, int] = {}
bodies = st.one_of(values, lines, st.lists(lines, max_size=3))


@pytest.fixture(scope="module")
def track(tmp_path_factory) -> Track:
    return Track(tmp_path_factory.mktemp("fuzz") / "data")


def reloaded(track: Track) -> dict:
    """The session as a restart would load it, from its log (beside the live one)."""
    live = track.client.app.state.manager.get(track.sid)
    store = EventStore(live.store.path)
    try:
        again = LiveSession(store, store.get_meta())
        assert again.set_aside == []
        return again.results(detail=True)  # as /results answers (flags, decisions)
    finally:
        store.close()


@settings(max_examples=int(os.environ.get("BOUCLE_FUZZ_EXAMPLES", "120")), deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(batch=st.lists(st.tuples(st.sampled_from(WRITES), bodies), min_size=1, max_size=6))
def test_any_json_to_any_write_endpoint_is_2xx_or_4xx_and_replays(track, batch):
    for path, body in batch:
        raw = json.dumps(body, allow_nan=True)
        r = track.post(path, None, raw=raw)
        assert r.status_code < 500, (path, raw, r.status_code, r.text)
        STATUSES[r.status_code // 100] = STATUSES.get(r.status_code // 100, 0) + 1
    live = track.results()
    again = reloaded(track)
    assert again["classification"] == live["classification"]
    assert again["penalties"] == live["penalties"]


def test_the_fuzzing_reached_the_engine():
    """Runs after the fuzz test: some generated lines were accepted, not only refused."""
    assert STATUSES.get(2, 0) > 0 and STATUSES.get(4, 0) > 0, STATUSES


def test_openapi_operations_never_answer_5xx(tmp_path):
    """schemathesis generates calls from the service's own OpenAPI spec, a few per operation."""
    app = Track(tmp_path / "data").client.app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30
    failures = []
    for op in operations:

        @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=op.as_strategy())
        def call(case):
            response = case.call(headers=ADMIN)
            if response.status_code >= 500:
                failures.append((case.method, case.formatted_path, response.status_code, response.text[:200]))

        call()
    assert failures == []
