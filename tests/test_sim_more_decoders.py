"""End to end: a race played as Protime (pty, UDP), Race Result and Wiclax decoders, with link cuts
and damaged messages, into a real `boucle serve`: every read logged exactly once, results equal
to `boucle replay` of the race's scenario.

The simulator's decoders stamp reads with their time of day; the service maps them with the
link's `rtc_zero_us` = the announced `rtc_base_us` (set explicitly, so this holds whatever the
automatic clock alignment does). Damaged messages come back by the protocol's own recovery:
Protime repeats (stop-and-wait), Race Result fetches by number, Wiclax rewinds.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from simulator import model, scenario
from simulator.emit import play
from simulator.emit.faults import fit_race
from tests.service_proc import TOKEN, ServiceProcess
from tests.sim_helpers import KeptUp, post_played_line, replay, rows, scenario_passings

ADMIN = {"Authorization": f"Bearer {TOKEN}"}
pytestmark = pytest.mark.timeout(120)
FAST = {  # the sources' timers, shortened to the speed of the race
    "protime": "retry_min=0.05&retry_max=0.2",
    "rrs": "retry_min=0.05&retry_max=0.2&poll=0.3&fetch_retry=0.5",
    "wiclax": "retry_min=0.05&retry_max=0.2&rewind_delay=0.3",
}


def cut_links(race: model.Race) -> model.Race:
    """The finish decoder's link down over 4 of its reads, pit_out's over its last one."""
    fin = [r.t for r in race.reads if r.decoder == "finish"]
    out = [r.t for r in race.reads if r.decoder == "pit_out"]
    race.outages = [("finish", fin[10] - 0.01, fin[13] + 0.01), ("pit_out", out[-1] - 0.01, out[-1] + 0.01)]
    return race


async def unlinked(http: httpx.AsyncClient, sid: str) -> None:
    """The service is shared by the module: a race's links stop retrying when it is over, passed or not."""
    for i in reversed(range(len((await http.get(f"/sessions/{sid}/decoders")).json()))):
        await http.delete(f"/sessions/{sid}/decoders/{i}")


async def run_live(
    race: model.Race, svc: ServiceProcess, target: str, speed: float
) -> tuple[dict, list, list]:
    lines = [json.loads(x) for x in scenario.lines(race) if x.startswith("{")]
    head = lines[0]
    async with httpx.AsyncClient(base_url=f"{svc.url}/api", headers=ADMIN, timeout=10) as http:
        r = await http.post(
            "/sessions", json={"name": "more decoders", **{k: v for k, v in head.items() if k != "type"}}
        )
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        try:
            r = await http.post(f"/sessions/{sid}/entries", json=[x for x in lines if x["type"] == "entry"])
            assert r.status_code == 200, r.text
            pending: list[asyncio.Task] = []
            fast = FAST[target.split(":")[0].split("+")[0].split("?")[0]]

            def announce(info: dict) -> None:
                url = info["url"] + ("&" if "?" in info["url"] else "?") + fast
                link = {"url": url, "loop": info["loop"], "rtc_zero_us": info["rtc_base_us"]}
                pending.append(asyncio.create_task(http.post(f"/sessions/{sid}/decoders", json=link)))

            async def on_event(line: dict) -> None:
                r = await post_played_line(http, f"/sessions/{sid}/events", line)
                assert r.status_code == 200, r.text

            async def all_in() -> (
                bool
            ):  # the decoders stay up until every read is in (their resends answered)
                return sum(
                    d["passings"] for d in (await http.get(f"/sessions/{sid}/decoders")).json()
                ) >= len(race.reads)

            await play(
                race,
                [KeptUp(target, all_in, timeout_s=30)],
                speed=speed,
                announce=announce,
                wait_clients_s=15,
                linger_s=0.0,
                status_every_s=0.3,
                on_event=on_event,
            )
            for t in pending:
                assert (await t).status_code == 201
            end_t = round(max(r.t for r in race.reads) + 1.0, 6)
            r = await http.post(
                f"/sessions/{sid}/events", json={"type": "signal", "signal": "finish_session", "t": end_t}
            )
            assert r.status_code == 200, r.text
            decoders = (await http.get(f"/sessions/{sid}/decoders")).json()
            log = (await http.get(f"/sessions/{sid}/export.jsonl")).text.splitlines()
            logged = sorted(
                (o["t"], o["transponder"], o["loop"]) for o in map(json.loads, log) if o["type"] == "passing"
            )
            res = (await http.get(f"/sessions/{sid}/results")).json()
            return res, decoders, logged
        finally:
            await unlinked(http, sid)


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    """One service for the module's races, each in a session of its own."""
    svc = ServiceProcess(tmp_path_factory.mktemp("more-decoders") / "data").start(
        timeout=60
    )  # a busy machine starts it slowly
    yield svc
    svc.stop()


@pytest.mark.parametrize(
    "target",
    [
        "protime?corrupt=0.03&seed=5",
        "protime+udp://127.0.0.1:0?corrupt=0.03&seed=6",
        "rrs://127.0.0.1:0?corrupt=0.05&seed=7",
        "wiclax://127.0.0.1:0?corrupt=0.05&seed=8",
    ],
)
def test_a_race_through_each_protocol_with_cuts_and_damage_equals_the_replay(target, svc, tmp_path):
    p = model.Params(closed_pit_mechanical=0.4, short_stop=0.15, duplicate_read=0.05)
    race = cut_links(fit_race(model.generate("lemans-270-2h", 6, 17, p, duration_s=900.0), [target]))
    want = replay(race, tmp_path)
    got, decoders, logged = asyncio.run(run_live(race, svc, target, speed=400))
    assert logged == scenario_passings(race)  # every read in the log, exactly once
    assert sum(d["passings"] for d in decoders) == len(race.reads)
    damaged = sum(
        n
        for d in decoders
        for reason, n in d["rejected"].items()
        if reason in ("checksum", "length", "format", "time", "fields")
    )
    assert damaged > 0 and sum(d["reconnects"] for d in decoders) + ("protime" in target) > 0
    assert rows(got) == rows(want)
    pens = lambda res: sorted((x["number"], x["rule"], x["laps"], x["t"]) for x in res["penalties"])  # noqa: E731
    assert pens(got) == pens(want) != []
