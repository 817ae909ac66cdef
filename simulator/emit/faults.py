"""What the Protime, Race Result and Wiclax playback targets share: fault options and time fitting.

Their URLs take `corrupt=P` (a message damaged on the wire with probability P, so the decoder's
checksum or fields fail and the client must ask again) and `seed=S` (the fault stream, so a run
is reproducible). These protocols send milliseconds, and Protime 6-digit transponders:
`fit_race` makes a race fit them before it is played or written (`boucle simulate` does it for
the targets it plays), so the scenario file and the decoders say the same thing.
"""

from __future__ import annotations

import random
import re
from urllib.parse import parse_qsl, urlsplit

from simulator.model import Race

MS_SCHEMES = ("protime", "protime+udp", "rrs", "wiclax")


def fault_options(url: str) -> tuple[random.Random, float]:
    """(the fault stream, corrupt probability) of a playback URL; ValueError for anything else."""
    opts = dict(parse_qsl(urlsplit(url).query))
    unknown = set(opts) - {"corrupt", "seed"}
    if unknown:
        raise ValueError(f"{url!r}: unknown option(s) {', '.join(sorted(unknown))} (known: corrupt, seed)")
    try:
        corrupt, seed = float(opts.get("corrupt", 0.0)), int(opts.get("seed", 0))
    except ValueError:
        raise ValueError(f"{url!r}: corrupt is a probability, seed a whole number") from None
    if not 0.0 <= corrupt < 1.0:
        raise ValueError(f"{url!r}: corrupt must be in [0, 1)")
    return random.Random(seed), corrupt


def damage(msg: bytes, rng: random.Random, field: slice) -> bytes:
    """The message with one byte of `field` replaced by one that cannot be read there."""
    i = rng.randrange(field.start, field.stop)
    return msg[:i] + b"#" + msg[i + 1 :]


def fit_race(race: Race, targets: list[str]) -> Race:
    """Make `race` say only what the played protocols can (in place): read times to the
    millisecond; with a Protime target, transponders renumbered to 6 digits (cars in entry order
    from 100001, then the stray transponders that are read)."""
    schemes = {re.split(r"[:?]", t, maxsplit=1)[0].lower() for t in targets}
    if schemes & set(MS_SCHEMES):
        for r in race.reads:
            r.t = round(r.t, 3)
    if schemes & {"protime", "protime+udp"}:
        renumber: dict[str, str] = {}
        for tr in [c.transponder for c in race.cars] + [r.transponder for r in race.reads]:
            if tr not in renumber:
                renumber[tr] = str(100_001 + len(renumber))
        for c in race.cars:
            c.transponder = renumber[c.transponder]
        for r in race.reads:
            r.transponder = renumber[r.transponder]
    return race
