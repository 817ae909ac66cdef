"""The live service as a real process: crash recovery (SIGKILL), WebSocket snapshot/deltas/resume, auth."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.service_proc import TOKEN, ServiceProcess, bearer, ws_token

ADMIN = {"Authorization": f"Bearer {TOKEN}"}


def make_session(base: str, **over) -> tuple[str, dict]:
    with httpx.Client() as http:
        return _make_session(http, base, **over)


def _make_session(http: httpx.Client, base: str, **over) -> tuple[str, dict]:
    r = http.post(
        f"{base}/api/sessions",
        json={"name": "live test", "preset": "generic-timed", "duration_s": 3600, "min_lap_s": 20, **over},
        headers=ADMIN,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    csv = "number,name,transponder,category,drivers\n" + "".join(
        f"{n},Team {n},{1000 + n},{'Sport' if n % 2 else 'Amateur'},d{n}a:Ann:70|d{n}b:Bob:75\n"
        for n in range(1, 6)
    )
    r = http.post(
        f"{base}/api/sessions/{body['id']}/entries",
        content=csv,
        headers={**ADMIN, "content-type": "text/csv"},
    )
    assert r.json() == {"ok": True, "entries": 5}
    assert (
        http.post(
            f"{base}/api/sessions/{body['id']}/signal", json={"signal": "green", "t": 0.0}, headers=ADMIN
        ).status_code
        == 200
    )
    return body["id"], body["tokens"]


def post_passing(
    base: str, sid: str, n: int, lap: int, pid: int, http: httpx.Client | None = None
) -> httpx.Response:
    """One read of car n as its decoder would send it (through `http`, kept alive, when given)."""
    line = {
        "type": "passing",
        "t": 50.0 * lap + n,
        "transponder": str(1000 + n),
        "loop": "finish",
        "decoder": "0a0b0c0d",
        "passing_id": pid,
    }
    return (http or httpx).post(f"{base}/api/sessions/{sid}/events", json=line, headers=ADMIN)


def test_sigkill_mid_race_then_restart_gives_the_same_state(tmp_path):
    data = tmp_path / "data"
    svc = ServiceProcess(data).start()
    try:
        sid, _ = make_session(svc.url)
        pid = 0
        with httpx.Client() as http:  # one connection for the 40 reads, as a decoder link would
            for lap in range(1, 9):
                for n in range(1, 6):
                    pid += 1
                    assert post_passing(svc.url, sid, n, lap, pid, http).status_code == 200
        before = httpx.get(f"{svc.url}/api/sessions/{sid}/results").json()
        assert [r["laps"] for r in before["classification"]] == [8] * 5
    finally:
        svc.kill()  # no clean shutdown: the process dies between two requests

    svc = ServiceProcess(data, port=svc.port).start()
    try:
        after = httpx.get(f"{svc.url}/api/sessions/{sid}/results").json()
        assert after["classification"] == before["classification"]
        with httpx.Client() as http:
            # The decoder reconnects and resends its last reads: dropped, nothing is counted twice.
            for lap, n, p in [(8, 1, 36), (8, 2, 37), (7, 5, 35)]:
                assert post_passing(svc.url, sid, n, lap, p, http).status_code == 200
            # ...and the race goes on.
            for n in range(1, 6):
                pid += 1
                post_passing(svc.url, sid, n, 9, pid, http)
        res = httpx.get(f"{svc.url}/api/sessions/{sid}/results").json()
        assert [r["laps"] for r in res["classification"]] == [9] * 5
        log = httpx.get(f"{svc.url}/api/sessions/{sid}/export.jsonl", headers=ADMIN).text.splitlines()
        passings = [json.loads(ln) for ln in log if '"passing"' in ln]
        assert len(passings) == 45 and len({p["passing_id"] for p in passings}) == 45
    finally:
        svc.stop()


def test_writes_need_a_token_and_the_right_role(tmp_path):
    with ServiceProcess(tmp_path / "data") as svc, httpx.Client() as http:
        sid, tokens = make_session(svc.url)
        base = f"{svc.url}/api/sessions/{sid}"
        r = http.post(f"{base}/penalties", json={"number": "1", "rule": "LM-UNSPORTING", "laps": 1})
        assert r.status_code == 401 and "Bearer" in r.json()["detail"]
        r = http.post(
            f"{base}/penalties",
            json={"number": "1", "rule": "LM-UNSPORTING", "laps": 1},
            headers={"Authorization": "Bearer nope"},
        )
        assert r.status_code == 401
        timing = {"Authorization": f"Bearer {tokens['timing']}"}
        rc = {"Authorization": f"Bearer {tokens['race_control']}"}
        assert http.post(f"{base}/signal", json={"signal": "red"}, headers=timing).status_code == 403
        assert http.post(f"{base}/signal", json={"signal": "green"}, headers=timing).status_code == 200
        assert http.post(f"{base}/signal", json={"signal": "red"}, headers=rc).status_code == 200
        assert http.post(f"{base}/signal", json={"signal": "purple"}, headers=rc).status_code == 400
        # generic-timed has no rules: a rule ID from elsewhere needs the explicit "other" choice and a note
        r = http.post(
            f"{base}/penalties", json={"number": "3", "rule": "LM-UNSPORTING", "laps": 1}, headers=rc
        )
        assert r.status_code == 400 and "other" in r.json()["detail"]
        r = http.post(
            f"{base}/penalties",
            json={"number": "3", "rule": "LM-UNSPORTING", "laps": 1, "other": True, "note": "blocking"},
            headers=rc,
        )
        assert r.status_code == 201 and r.json()["id"] == "p1"
        assert (
            http.post(f"{base}/penalties", json={"number": "99", "rule": "X"}, headers=rc).status_code == 400
        )
        assert http.post(f"{base}/events", content=b"{not json", headers=rc).status_code == 400
        assert http.post(f"{base}/manual_passing", json={"number": "2"}, headers=rc).status_code == 403
        assert http.post(f"{base}/manual_passing", json={"number": "2"}, headers=timing).status_code == 200
        assert http.get(f"{base}/passings", headers=timing).json()[0]["manual"] is True
        assert http.post(f"{svc.url}/api/sessions", json={}, headers=rc).status_code == 403
        assert http.get(f"{base}/results").status_code == 200  # spectators read freely
        assert http.get(f"{svc.url}/api/whoami", headers=rc).json() == {
            "role": "race_control",
            "session": sid,
        }


async def _recv(ws, timeout=5.0) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


@pytest.mark.asyncio
async def test_websocket_snapshot_deltas_and_resume(tmp_path):
    with ServiceProcess(tmp_path / "data") as svc:
        sid, tokens = make_session(svc.url)
        ws_base = svc.url.replace("http", "ws") + f"/ws/sessions/{sid}"
        async with httpx.AsyncClient(base_url=svc.url, headers=ADMIN) as http:

            async def passing(n, lap, pid):
                line = {
                    "type": "passing",
                    "t": 50.0 * lap + n,
                    "transponder": str(1000 + n),
                    "loop": "finish",
                    "decoder": "d",
                    "passing_id": pid,
                }
                assert (await http.post(f"/api/sessions/{sid}/events", json=line)).status_code == 200

            # the live stream refuses spectators
            with pytest.raises(ConnectionClosed) as closed:
                async with websockets.connect(ws_base + "?stream=live") as ws:
                    await ws.recv()
            assert closed.value.rcvd.code == 4401

            # a second race-control screen stays connected the whole time
            observer = await websockets.connect(
                f"{ws_base}?stream=live", additional_headers=bearer(tokens["race_control"])
            )
            await _recv(observer)
            # a browser's way: the token as a subprotocol (web/js/auth.js), the server answers "boucle"
            async with websockets.connect(
                f"{ws_base}?stream=live", subprotocols=ws_token(tokens["race_control"])
            ) as ws:
                assert ws.subprotocol == "boucle"
                snap = await _recv(ws)
                assert snap["type"] == "snapshot" and len(snap["rows"]) == 5
                seq = snap["seq"]
                versions = {r["number"]: r["v"] for r in snap["rows"]}
                for pid, n in enumerate([3, 1, 2], 1):
                    await passing(n, 1, pid)
                    d = await _recv(ws)
                    assert d["type"] == "delta" and d["seq"] == seq + 1
                    seq = d["seq"]
                    # lean deltas: each row a patch at the next row version, with only what changed
                    patches = {r["number"]: r for r in d["rows"]}
                    for num, p in patches.items():
                        assert p["v"] == versions[num] + 1
                        versions[num] = p["v"]
                    assert patches[str(n)]["laps"] == 1 and "name" not in patches[str(n)]
                    assert all("laps" not in p for num, p in patches.items() if num != str(n))
                    assert d["passings"][0]["transponder"] == str(1000 + n)
            last = seq
            # this screen drops off; three more passings happen meanwhile
            for pid, n in enumerate([4, 5, 3], 4):
                await passing(n, 1 if n != 3 else 2, pid)
            async with websockets.connect(
                f"{ws_base}?stream=live&since={last}", additional_headers=bearer(tokens["timing"])
            ) as ws:
                missed = [await _recv(ws) for _ in range(3)]
                assert [m["seq"] for m in missed] == [last + 1, last + 2, last + 3]
                assert [m["passings"][0]["transponder"] for m in missed] == ["1004", "1005", "1003"]
                await ws.send(json.dumps({"type": "snapshot"}))
                snap = await _recv(ws)
                assert snap["type"] == "snapshot" and snap["seq"] == last + 3
                assert snap["rows"][0]["number"] == "3" and snap["rows"][0]["laps"] == 2
            await observer.close()
            # a resume from a sequence the server no longer has gives a snapshot
            async with websockets.connect(f"{ws_base}?stream=spectator&since=999999") as ws:
                assert (await _recv(ws))["type"] == "snapshot"


@pytest.mark.asyncio
async def test_spectator_stream_is_coalesced(tmp_path):
    with ServiceProcess(tmp_path / "data") as svc:
        sid, _ = make_session(svc.url)
        async with websockets.connect(svc.url.replace("http", "ws") + f"/ws/sessions/{sid}") as ws:
            snap = await _recv(ws)
            async with httpx.AsyncClient(base_url=svc.url, headers=ADMIN) as http:
                for lap in range(1, 5):
                    for n in range(1, 6):
                        line = {
                            "type": "passing",
                            "t": 50.0 * lap + n,
                            "transponder": str(1000 + n),
                            "loop": "finish",
                        }
                        await http.post(f"/api/sessions/{sid}/events", json=line)
            msgs = []
            while True:
                try:
                    msgs.append(await _recv(ws, timeout=0.6))
                except TimeoutError:
                    break
            assert [m["seq"] for m in msgs] == list(range(snap["seq"] + 1, snap["seq"] + 1 + len(msgs)))
            assert 1 <= len(msgs) < 20  # 20 passings, far fewer messages
            gaps = [b["server_ms"] - a["server_ms"] for a, b in zip(msgs, msgs[1:], strict=False)]
            assert all(g >= 95 for g in gaps), gaps
            final = {}
            for m in [snap, *msgs]:
                final.update({r["number"]: r for r in m["rows"]})
            assert all(final[str(n)]["laps"] == 4 for n in range(1, 6))
