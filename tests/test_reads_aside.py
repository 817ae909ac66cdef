"""A refused or late read is never gone: a real `boucle serve`, a real mosquitto, fake P3 decoders.

- The MQTT payload of docs/decoders.md, published verbatim (a 2019 clock, no offset typed), is a
  passing of the session; a payload of 100,000 '[' between valid reads is counted and refused, and
  the link stays up; a read whose transponder the boundary refuses is kept aside with its reason.
- Reads arriving after `finish_session` are kept aside, change nothing until the crew admits them,
  and the admitted log replays to the same results.
- Reads refused for their time (a wrong clock offset typed) are re-admitted once the offset is
  fixed; the session then equals one that accepted them the first time, and so does its replay.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time

import aiomqtt
import httpx
import pytest

from tests.mqtt_broker import mosquitto  # noqa: F401  (pytest fixture)
from tests.p3_fake_decoder import DECODER_ID, RTC0, FakeDecoder
from tests.service_proc import REPO, TOKEN, ServiceProcess, until

ADMIN = {"Authorization": f"Bearer {TOKEN}"}
FAST = "retry_min=0.05&retry_max=0.2"
pytestmark = [pytest.mark.timeout(120)]


def documented_payload() -> tuple[str, bytes]:
    """The topic and the example passing payload exactly as docs/decoders.md shows them."""
    doc = (REPO / "docs" / "decoders.md").read_text(encoding="utf-8")
    topic = re.search(r"publishes to\s+`([^`]+/passing)`", doc).group(1)
    block = re.search(r"```json\n(\{\"transponder\".*?\})\n```", doc, re.S).group(1)
    return topic, block.encode()


async def api(http: httpx.AsyncClient, method: str, path: str, **kw) -> dict | list:
    r = await http.request(method, path, **kw)
    assert r.status_code in (200, 201), (path, r.status_code, r.text)
    return r.json()


async def passings(http: httpx.AsyncClient, sid: str) -> list[dict]:
    r = await http.get(f"/api/sessions/{sid}/export.jsonl")
    return (
        [x for x in map(json.loads, r.text.splitlines()) if x["type"] == "passing"]
        if r.status_code == 200
        else []
    )


def replay_text(text: str, tmp_path) -> dict:
    path = tmp_path / f"replay-{time.monotonic_ns()}.jsonl"
    path.write_text(text, encoding="utf-8")
    r = subprocess.run(
        [sys.executable, "-m", "service.cli", "replay", str(path), "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def rows(res: dict) -> list[tuple]:
    return [
        (r["number"], r["laps"], r["status"], r["total_time_s"], r["best_lap_s"])
        for r in res["classification"]
    ]


@pytest.mark.mqtt
async def test_mqtt_documented_payload_nested_payload_and_late_reads_after_the_finish(mosquitto, tmp_path):  # noqa: F811
    topic, payload = documented_payload()
    prefix = topic.split("/decoder/")[0]
    doc = json.loads(payload)
    with ServiceProcess(tmp_path / "data") as svc:
        async with (
            httpx.AsyncClient(base_url=svc.url, headers=ADMIN, timeout=10) as http,
            aiomqtt.Client(mosquitto.host, mosquitto.port) as pub,
        ):
            sid = (
                await api(
                    http,
                    "POST",
                    "/api/sessions",
                    json={"name": "mqtt", "preset": "generic-timed", "min_lap_s": 0.2},
                )
            )["id"]
            await api(
                http,
                "POST",
                f"/api/sessions/{sid}/entries",
                json=[{"number": "7", "name": "doc", "transponder": doc["transponder"], "category": "x"}],
            )
            await api(
                http,
                "POST",
                f"/api/sessions/{sid}/decoders",
                json={"url": f"mqtt://{mosquitto.host}:{mosquitto.port}/{prefix}?{FAST}"},
            )  # no offset
            await until(lambda: _connected(http, sid), 15, "the MQTT link connected")
            await api(http, "POST", f"/api/sessions/{sid}/events", json={"type": "signal", "signal": "green"})
            await asyncio.sleep(0.3)

            # 1. the documentation's example, verbatim: a passing of the session
            sent_at = time.time_ns() // 1000
            await pub.publish(topic, payload, qos=1)
            got = await until(lambda: _count(http, sid, 1), 15, "the documented passing logged")
            assert (got[0]["transponder"], got[0]["passing_id"], got[0]["loop"]) == (
                "5691251",
                157777,
                "finish",
            )
            (dec,) = await api(http, "GET", f"/api/sessions/{sid}/decoders")
            assert (dec["passings"], dec["refused"], sum(dec["rejected"].values())) == (1, 0, 0)
            assert (await api(http, "GET", f"/api/sessions/{sid}"))["log"]["refused"] == 0

            # 2. 100,000 (and 50,000) '[' between valid reads: counted, refused, the link never goes down
            rtcs: dict[int, int] = {0: doc["rtc_time_us"]}  # read number -> its decoder time

            def read(n: int, rtc: int | None = None) -> bytes:
                rtc = rtcs.setdefault(
                    n, doc["rtc_time_us"] + time.time_ns() // 1000 - sent_at if rtc is None else rtc
                )
                return json.dumps(
                    {**doc, "passing_number": doc["passing_number"] + n, "rtc_time_us": rtc}
                ).encode()

            for n in (1, 2, 3):
                await asyncio.sleep(1.5)
                await pub.publish(topic, read(n), qos=1)
            await pub.publish(topic, b"[" * 100_000, qos=1)  # too big
            await pub.publish(topic, b"[" * 50_000, qos=1)  # small enough, nested far too deep
            for n in (4, 5, 6):
                await asyncio.sleep(1.5)
                await pub.publish(topic, read(n), qos=1)
            await until(lambda: _count(http, sid, 7), 15, "the 6 valid reads around it logged")
            (dec,) = await api(http, "GET", f"/api/sessions/{sid}/decoders")
            assert (dec["rejected"]["size"], dec["rejected"]["json"]) == (1, 1)
            assert dec["reconnects"] == 0 and dec["state"] == "connected"
            assert dec["passings"] == 7 and dec["clock"][0]["source"] == "arrivals"
            assert abs(dec["clock"][0]["offset_s"] - (sent_at - doc["rtc_time_us"]) / 1e6) < 5  # 2019 -> now

            # 3. a transponder the boundary refuses: kept aside with its reason, counted, not a passing
            await pub.publish(
                topic, json.dumps({**json.loads(read(7)), "transponder": "T" * 80}).encode(), qos=1
            )
            await until(lambda: _aside(http, sid, 1), 15, "the refused read kept aside")
            (dec,) = await api(http, "GET", f"/api/sessions/{sid}/decoders")
            head = await api(http, "GET", f"/api/sessions/{sid}")
            assert (dec["refused"], dec["passings"], head["log"]["refused"]) == (1, 7, 1)
            (ref,) = (await api(http, "GET", f"/api/sessions/{sid}/aside"))["reads"]
            assert (ref["kind"], ref["reason"], ref["params"]) == (
                "refused",
                "field",
                {"field": "transponder"},
            )

            # 4. the session is finished; two reads timed mid-race arrive late: kept aside, nothing moves
            mid = (await passings(http, sid))[3]["passing_id"] - doc[
                "passing_number"
            ]  # its neighbours: >= 1.5 s
            await api(
                http,
                "POST",
                f"/api/sessions/{sid}/events",
                json={"type": "signal", "signal": "finish_session"},
            )
            before = await api(http, "GET", f"/api/sessions/{sid}/results")
            for n, dt in ((8, -0.75), (9, 0.75)):  # on the decoder's clock: however late they arrive
                await pub.publish(topic, read(n, rtcs[mid] + round(dt * 1e6)), qos=1)
            await until(lambda: _aside(http, sid, 3), 15, "the late reads kept aside")
            head = await api(http, "GET", f"/api/sessions/{sid}")
            assert (head["log"]["late"], head["closed"]) == (2, True)
            assert await api(http, "GET", f"/api/sessions/{sid}/results") == before
            assert len(await passings(http, sid)) == 7
            late = [
                r
                for r in (await api(http, "GET", f"/api/sessions/{sid}/aside"))["reads"]
                if r["kind"] == "late"
            ]
            assert sorted(r["passing_id"] for r in late) == [157785, 157786] and {
                r["reason"] for r in late
            } == {"closed"}

            # 5. the crew admits them: logged as passings, the classification follows, the replay agrees
            r = await http.post(
                f"/api/sessions/{sid}/aside/admit", json={"ids": [x["id"] for x in late] + [ref["id"]]}
            )
            assert r.status_code == 200, r.text
            res = r.json()
            assert len(res["admitted"]) == 2 and [x["id"] for x in res["refused"]] == [ref["id"]]
            after = await api(http, "GET", f"/api/sessions/{sid}/results")
            assert (
                rows(after) != rows(before)
                and after["classification"][0]["laps"] == before["classification"][0]["laps"] + 2
            )
            assert len(await passings(http, sid)) == 9
            head = await api(http, "GET", f"/api/sessions/{sid}")
            assert (head["log"]["late"], head["log"]["refused"]) == (0, 1)
            export = (await http.get(f"/api/sessions/{sid}/export.jsonl")).text
            assert rows(replay_text(export, tmp_path)) == rows(after)


async def test_reads_refused_for_a_wrong_offset_are_readmitted_and_replay_as_if_accepted(tmp_path):
    with ServiceProcess(tmp_path / "data") as svc:
        async with (
            httpx.AsyncClient(base_url=svc.url, headers=ADMIN, timeout=10) as http,
            FakeDecoder() as wrong_dec,
            FakeDecoder() as right_dec,
        ):
            entries = [
                {"number": str(k), "name": f"car {k}", "transponder": str(5_000_000 + k), "category": "x"}
                for k in range(7)
            ]
            sids = []
            for dec, zero in (
                (wrong_dec, RTC0 - 30 * 86_400_000_000),
                (right_dec, RTC0),
            ):  # 30 days off, right
                sid = (
                    await api(
                        http,
                        "POST",
                        "/api/sessions",
                        json={"name": "x", "preset": "generic-timed", "min_lap_s": 2},
                    )
                )["id"]
                await api(http, "POST", f"/api/sessions/{sid}/entries", json=entries)
                await api(
                    http,
                    "POST",
                    f"/api/sessions/{sid}/events",
                    json={"type": "signal", "signal": "green", "t": 0},
                )
                await api(
                    http,
                    "POST",
                    f"/api/sessions/{sid}/decoders",
                    json={"url": f"{dec.url}?{FAST}", "loop": "finish", "rtc_zero_us": zero},
                )
                sids.append(sid)
            await until(lambda: wrong_dec.writers and right_dec.writers, 10, "both links connected")
            for dec in (wrong_dec, right_dec):
                dec.emit(24)
            wrong, right = sids
            await until(lambda: _count(http, right, 24), 15, "24 passings in the right session")
            await until(lambda: _aside(http, wrong, 24), 15, "24 reads kept aside in the wrong one")
            head = await api(http, "GET", f"/api/sessions/{wrong}")
            (dec,) = await api(http, "GET", f"/api/sessions/{wrong}/decoders")
            assert (
                head["log"]["refused"],
                dec["refused"],
                dec["passings"],
                len(await passings(http, wrong)),
            ) == (24, 24, 0, 0)
            kept = (await api(http, "GET", f"/api/sessions/{wrong}/aside"))["reads"]
            assert {(r["kind"], r["reason"], r["decoder"]) for r in kept} == {("refused", "time", DECODER_ID)}

            # not admissible while the offset is wrong: still refused, nothing logged
            r = await http.post(f"/api/sessions/{wrong}/aside/admit", json={"ids": [kept[0]["id"]]})
            assert r.json()["refused"][0]["reason"] == "time" and not await passings(http, wrong)
            # the crew types the right offset, then admits them all
            r = await http.patch(f"/api/sessions/{wrong}/decoders/0", json={"rtc_zero_us": RTC0})
            assert r.status_code == 200 and r.json()["clock"][0]["source"] == "manual"
            r = await http.post(f"/api/sessions/{wrong}/aside/admit", json={"ids": [x["id"] for x in kept]})
            assert r.status_code == 200 and len(r.json()["admitted"]) == 24 and r.json()["refused"] == []
            head = await api(http, "GET", f"/api/sessions/{wrong}")
            assert head["log"]["refused"] == 0
            # the readmitted reads are the very lines the right session logged
            strip = lambda ps: sorted((p["t"], p["transponder"], p["decoder"], p["passing_id"]) for p in ps)  # noqa: E731
            assert strip(await passings(http, wrong)) == strip(await passings(http, right))
            res_wrong = await api(http, "GET", f"/api/sessions/{wrong}/results")
            res_right = await api(http, "GET", f"/api/sessions/{right}/results")
            assert rows(res_wrong) == rows(res_right) and res_right["classification"][0]["laps"] >= 2
            replays = [
                replay_text((await http.get(f"/api/sessions/{sid}/export.jsonl")).text, tmp_path)
                for sid in (wrong, right)
            ]
            assert replays[0] == replays[1]  # the whole results JSON, penalties and warnings included
            r = await http.patch(f"/api/sessions/{wrong}/decoders/5", json={"rtc_zero_us": 1})
            assert r.status_code == 404 and r.json()["code"] == "reads.no_decoder"


async def _connected(http: httpx.AsyncClient, sid: str) -> bool:
    ds = (await http.get(f"/api/sessions/{sid}/decoders")).json()
    return bool(ds) and all(d["state"] == "connected" for d in ds)


async def _count(http: httpx.AsyncClient, sid: str, n: int) -> list[dict] | None:
    ps = await passings(http, sid)
    return ps if len(ps) >= n else None


async def _aside(http: httpx.AsyncClient, sid: str, n: int) -> bool:
    return len((await http.get(f"/api/sessions/{sid}/aside")).json()["reads"]) >= n
