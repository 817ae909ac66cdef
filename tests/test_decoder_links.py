"""Decoder links are part of the session: stored in its meta, reopened after a crash, resumed from the log.

A real `boucle serve` process is SIGKILLed and restarted on the same data folder; fake P3 decoders
(tests/p3_fake_decoder.py) listen on 127.0.0.1 and keep reading while the service is down.
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.p3_fake_decoder import DECODER_ID, RTC0, FakeDecoder
from tests.service_proc import LOCAL, TOKEN, ServiceProcess, until

ADMIN = {"Authorization": f"Bearer {TOKEN}"}
FAST = "retry_min=0.05&retry_max=0.2"
pytestmark = pytest.mark.timeout(240)
START_S = 60.0  # a start on a busy machine can take more than the default 20 s: a bound, not a target


async def decoders(http: httpx.AsyncClient, sid: str) -> list[dict]:
    r = await http.get(f"/api/sessions/{sid}/decoders")
    assert r.status_code == 200, r.text
    return r.json()


async def logged_passings(http: httpx.AsyncClient, sid: str) -> list[tuple[str, int]]:
    r = await http.get(f"/api/sessions/{sid}/export.jsonl")
    assert r.status_code == 200, r.text
    lines = [json.loads(x) for x in r.text.splitlines() if x.strip()]
    return [(x["decoder"], x["passing_id"]) for x in lines if x["type"] == "passing"]


def restart(svc: ServiceProcess, extra: list[str] | None = None) -> ServiceProcess:
    svc.kill()
    return ServiceProcess(svc.data, port=svc.port, extra=extra if extra is not None else svc.extra).start(
        START_S
    )


async def test_links_from_the_command_line_and_the_page_survive_a_crash_once_each(tmp_path):
    async with FakeDecoder() as finish, FakeDecoder() as pits:
        cli = [f"--decoder=p3tcp://127.0.0.1:{finish.port}?{FAST}=finish"]
        svc = ServiceProcess(tmp_path / "data", extra=cli).start(START_S)
        try:
            async with httpx.AsyncClient(base_url=svc.url, headers=ADMIN, timeout=10) as http:
                sid = (await http.get("/api/sessions")).json()[0][
                    "id"
                ]  # created for the command-line decoder
                r = await http.post(
                    f"/api/sessions/{sid}/decoders",
                    json={
                        "url": f"p3tcp://127.0.0.1:{pits.port}?{FAST}",
                        "loops": {"d1": "pit_in", "d2": "pit_out"},
                        "rtc_zero_us": RTC0,
                    },
                )
                assert r.status_code == 201, r.text
                want = [
                    (f"p3tcp://127.0.0.1:{finish.port}?{FAST}", "finish", {}, None),
                    (f"p3tcp://127.0.0.1:{pits.port}?{FAST}", None, {"d1": "pit_in", "d2": "pit_out"}, RTC0),
                ]

                def links(ds: list[dict]) -> list[tuple]:
                    return [(d["url"], d["loop"], d["loops"], d["rtc_zero_us"]) for d in ds]

                assert links(await decoders(http, sid)) == want
                # the command-line decoder, already stored, must not be added again on a start (here, and
                # on the next start, which moves it)
                svc = restart(svc)
                ds = await until(lambda: _all_connected(http, sid, 2), what="links reopened")
                assert links(ds) == want

                # the command line may move a known decoder to another loop: updated, not doubled
                svc = restart(svc, [cli[0].replace("=finish", "=start")])
                ds = await until(lambda: _all_connected(http, sid, 2), what="links reopened")
                assert [d["loop"] for d in ds] == ["start", None]
                assert links(ds) == [(want[0][0], "start", {}, None), want[1]]
                assert finish.connections >= 3 and pits.connections >= 3  # each process reopened both links

                r = await http.delete(f"/api/sessions/{sid}/decoders/1")
                assert r.status_code == 200 and r.json()["removed"].endswith(f"{pits.port}?{FAST}")
                svc = restart(svc, [])
                ds = await until(lambda: _all_connected(http, sid, 1), what="the remaining link reopened")
                assert [d["url"] for d in ds] == [want[0][0]]
        finally:
            svc.kill()


async def _all_connected(http: httpx.AsyncClient, sid: str, n: int) -> list[dict] | None:
    try:
        ds = await decoders(http, sid)
    except httpx.HTTPError:
        return None
    return ds if len(ds) == n and all(d["state"] == "connected" for d in ds) else None


def test_bad_links_are_refused_before_they_are_stored(tmp_path):
    # no crash here: the service's app in this process (as `boucle serve` builds it, local decoders allowed)
    from fastapi.testclient import TestClient

    from service.app import create_app

    app = create_app(tmp_path / "data", TOKEN, "NORMAL", allow_decoders=LOCAL)
    with TestClient(app, headers=ADMIN) as http:
        sid = http.post("/api/sessions", json={"name": "x", "preset": "generic-timed"}).json()["id"]
        r = http.post(f"/api/sessions/{sid}/decoders", json={"url": "p3tcp://127.0.0.1:9", "loop": "finish"})
        assert r.status_code == 201, (
            r.text
        )  # a good link to the same place is taken: the others fail for what is bad
        assert http.delete(f"/api/sessions/{sid}/decoders/0").status_code == 200
        for body in (
            {"url": "p3tcp://127.0.0.1:9", "rtc_zero_us": "soon"},
            {"url": "p3tcp://127.0.0.1:9", "rtc_zero_us": 1.5},
            {"url": "p3tcp://127.0.0.1:9", "loops": ["finish"]},
            {"url": "p3tcp://127.0.0.1:9", "loops": {"d1": "kitchen"}},
            {"url": "p3tcp://127.0.0.1:9?bogus=1"},
            {"url": "ftp://x"},
            ["p3tcp://x"],
        ):
            r = http.post(f"/api/sessions/{sid}/decoders", json=body)
            assert r.status_code == 400, (body, r.text)
        r = http.get(f"/api/sessions/{sid}/decoders")
        assert r.status_code == 200 and r.json() == [], r.text


async def test_after_a_crash_the_link_fetches_what_the_decoder_read_meanwhile(tmp_path):
    # killed over the last passings: after the restart no higher passing ever comes, so nothing
    # reveals a jump; the restored link resumes from the log's last number and asks for the rest
    async with FakeDecoder() as dec:
        svc = ServiceProcess(tmp_path / "data").start(START_S)
        try:
            async with httpx.AsyncClient(base_url=svc.url, headers=ADMIN, timeout=10) as http:
                sid = (
                    await http.post("/api/sessions", json={"name": "x", "preset": "generic-timed"})
                ).json()["id"]
                r = await http.post(
                    f"/api/sessions/{sid}/decoders",
                    json={
                        "url": f"p3tcp://127.0.0.1:{dec.port}?{FAST}",
                        "loop": "finish",
                        "rtc_zero_us": RTC0,
                    },
                )
                assert r.status_code == 201, r.text
                await until(lambda: dec.writers, what="the service connected")
                dec.emit(5)
                await until(lambda: _count(http, sid, 5), what="5 passings logged")
                svc.kill()
                dec.drop()  # the service's connection is gone anyway; these are read with nobody listening
                dec.emit(6)
                await dec.come_up()
                dec.history.pop(2)  # ...and one logged read the decoder no longer has: not asked for again
                svc = ServiceProcess(svc.data, port=svc.port).start(START_S)
                await until(lambda: dec.writers, what="the restored link connected")
                dec.status()  # the first record names the decoder: the link resumes after its logged reads
                await until(lambda: _count(http, sid, 11), what="the 6 passings read meanwhile")
                got = await logged_passings(http, sid)
                assert sorted(got) == [(DECODER_ID, n) for n in range(1, 12)]  # each once
                (d,) = await decoders(http, sid)
                assert (d["passings"], d["passings_lost"], d["recovering"], d["duplicates"]) == (6, 0, 0, 0)
        finally:
            svc.kill()


async def _count(http: httpx.AsyncClient, sid: str, n: int) -> bool:
    try:
        return len(await logged_passings(http, sid)) >= n
    except httpx.HTTPError:
        return False
