"""Promotion: the standby becomes the primary, and the race goes on.

1. **Handover or failover.** When the primary still streams its log, it is told to step down first
   (`/api/standby/fence` with the new epoch): it stops its decoder links and refuses writes, and
   the standby copies its last lines before going on (nothing to recover); if it will not step
   down, there is no promotion (`standby.primary_alive`). When the stream is down, the standby goes
   on with what it has.
2. **The new epoch** (the old one + 1) is written to `node.json`, and to the meta of every session
   (`epochs`: from which line this machine writes), before anything is committed. The session clock
   is re-anchored on this machine's clock (`origin_us` minus the measured clock difference), so the
   decoders' clock maps copied from the primary give the same session times here.
3. **The held reads** (listen.py) go through each session's intake like reads from a decoder's
   memory: the ones the primary committed are dropped (decoder, numbering epoch, passing number),
   the others are timed by the copied clock maps and logged, or kept aside as the primary would have.
4. **The decoder links are opened for real**: each resumes from the log's newest number per decoder
   and asks for anything still missing (P3 RESEND; the other protocols' own recovery).
5. Writes are accepted. The old primary is kept as a peer: when it comes back it is told to step down.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from service.errors import Conflict
from service.sessions.live import LiveSession
from service.standby.client import call
from service.standby.listen import commit_held
from service.standby.node import PRIMARY

if TYPE_CHECKING:
    from service.standby.node import Node

log = logging.getLogger("boucle.standby.promote")

HANDOVER_WAIT_S = 10.0  # at most this long to copy a stepping-down primary's last lines


async def promote(node: Node) -> dict[str, Any]:
    """Make this standby the primary (see the module doc); returns what it did, per session."""
    if node.role == PRIMARY:
        raise Conflict("standby.already_primary", epoch=node.epoch)
    async with node.lock:
        if node.role == PRIMARY:
            raise Conflict("standby.already_primary", epoch=node.epoch)
        t0 = time.monotonic()
        epoch, old = node.epoch + 1, node.primary
        follower = node.follower
        handover = False
        if follower is not None and follower.connected and old:
            got = await call(
                f"{old}/api/standby/fence",
                "POST",
                {"epoch": epoch, "node": node.node_id, "primary": node.my_url(old)},
                node.token,
            )
            if got is None or got[0] != 200 or not isinstance(got[1], dict):  # it runs, and did not step down
                raise Conflict("standby.primary_alive", primary=old)
            heads = {str(k): int(v) for k, v in (got[1].get("heads") or {}).items()}
            handover = await follower.wait_for(heads, HANDOVER_WAIT_S)
        await node.stop_following()
        node.role, node.epoch, node.primary, node.stepped_down = PRIMARY, epoch, None, None
        node.save()
        node.add_peer(old)
        sessions = [await take_over(node, s) for s in sorted(node.mgr.sessions.values(), key=lambda s: s.id)]
        node.notify(node.on_primary)
        took = round((time.monotonic() - t0) * 1000)
        log.warning(
            "promoted to primary (epoch %d, %s) in %d ms: %d held reads logged",
            epoch,
            "handover" if handover else "failover",
            took,
            sum(s["logged"] for s in sessions),
        )
        return {"role": PRIMARY, "epoch": epoch, "handover": handover, "took_ms": took, "sessions": sessions}


async def take_over(node: Node, s: LiveSession) -> dict[str, Any]:
    """One session: record the epoch, re-anchor its clock, commit its held reads, open its decoders."""
    head = int(s.store.db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0])
    epochs = [e for e in s.meta.get("epochs") or [] if isinstance(e, dict)]
    epochs.append(
        {
            "epoch": node.epoch,
            "from_seq": head + 1,
            "at_ms": time.time_ns() // 1_000_000,
            "node": node.node_id,
        }
    )
    with s.store.transaction():
        s.store.set_meta("epochs", epochs)
        s.store.set_meta("origin_us", s.origin_us)  # the session clock, on this machine's clock
    s.meta.update(epochs=epochs, origin_us=s.origin_us)
    links = {d.url: d for d in s.stored_decoders()}
    counts = commit_held(s, links)
    for link in links.values():
        try:
            await node.mgr.start_decoder(s, link, save=False)
        except ValueError as exc:  # a stored URL this version cannot open: listed with its error
            link.error = str(exc)
            s.decoders.append(link)
    return {"id": s.id, "from_seq": head + 1, **counts}
