"""Simulated decoders publishing to an MQTT broker in Boucle's JSON passing format.

`mqtt://HOST:PORT/PREFIX` publishes each read to `PREFIX/decoder/<decoder_id>/passing` and the
periodic status to `PREFIX/decoder/<decoder_id>/status`. One connection per decoder, so an outage
of one decoder (its connection dropped) leaves the others on air; what is read during an outage
is lost for MQTT clients (MQTT has no resend).
"""

from __future__ import annotations

import contextlib
import json
import logging
from urllib.parse import urlsplit

import aiomqtt

from simulator.emit.base import Feed, SimPassing, Target

log = logging.getLogger("boucle.simulator.mqtt")


def passing_payload(feed: Feed, p: SimPassing) -> bytes:
    return json.dumps(
        {
            "transponder": p.transponder,
            "rtc_time_us": p.rtc_time_us,
            "passing_number": p.number,
            "strength": p.strength,
            "hits": p.hits,
            "loop": feed.loop,
        }
    ).encode()


class MqttTarget(Target):
    def __init__(self, url: str) -> None:
        u = urlsplit(url)
        if not u.hostname:
            raise ValueError(f"{url!r}: expected mqtt://HOST:PORT/PREFIX")
        self.url = url
        self.host = u.hostname
        self.port = u.port or 1883
        self.prefix = u.path.strip("/") or "boucle"
        self.username, self.password = u.username, u.password
        self.clients_: dict[str, aiomqtt.Client] = {}
        self.stacks: dict[str, contextlib.AsyncExitStack] = {}
        self.failed = 0

    def topic(self, feed: Feed, what: str) -> str:
        return f"{self.prefix}/decoder/{feed.decoder_id}/{what}"

    async def _connect(self, feed: Feed) -> None:
        stack = contextlib.AsyncExitStack()
        client = aiomqtt.Client(
            self.host,
            self.port,
            username=self.username,
            password=self.password,
            identifier=f"boucle-sim-{feed.decoder_id}",
            timeout=5,
        )
        await stack.enter_async_context(client)
        self.clients_[feed.key], self.stacks[feed.key] = client, stack

    async def _disconnect(self, feed: Feed) -> None:
        self.clients_.pop(feed.key, None)
        stack = self.stacks.pop(feed.key, None)
        if stack:
            with contextlib.suppress(Exception):
                await stack.aclose()

    async def start(self, feeds: list[Feed]) -> list[dict]:
        infos = []
        for f in feeds:
            await self._connect(f)
            infos.append(
                {
                    "decoder_id": f.decoder_id,
                    "loop": f.loop,
                    "rtc_base_us": f.rtc_base_us,
                    "url": f"mqtt://{self.host}:{self.port}/{self.prefix}",
                    "topic": self.topic(f, "passing"),
                    "passings": len(f.passings),
                }
            )
        return infos

    async def _publish(self, feed: Feed, what: str, payload: bytes, qos: int) -> None:
        client = self.clients_.get(feed.key)
        if client is None:
            return
        try:
            await client.publish(self.topic(feed, what), payload, qos=qos, timeout=5)
        except (TimeoutError, aiomqtt.MqttError) as e:
            self.failed += 1
            log.warning("publish to %s failed: %s", self.topic(feed, what), e)

    async def passing(self, feed: Feed, p: SimPassing) -> None:
        await self._publish(feed, "passing", passing_payload(feed, p), 1)

    async def status(self, feed: Feed) -> None:
        now = feed.rtc_now_us()
        payload = json.dumps(
            {"noise": 38, "temperature": 24, **({"rtc_time_us": now} if now is not None else {})}
        ).encode()
        await self._publish(feed, "status", payload, 0)

    async def down(self, feed: Feed) -> None:
        await self._disconnect(feed)

    async def up(self, feed: Feed) -> None:
        try:
            await self._connect(feed)
        except aiomqtt.MqttError as e:
            log.warning("reconnect of %s failed: %s", feed.decoder_id, e)

    async def stop(self) -> None:
        for key in list(self.stacks):
            self.clients_.pop(key, None)
            with contextlib.suppress(Exception):
                await self.stacks.pop(key).aclose()
