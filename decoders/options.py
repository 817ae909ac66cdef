"""URL options of the Protime, Race Result and Wiclax sources, refused with coded errors.

`query` reads `?name=value` options by type (an unknown option is an error, not ignored);
`LoopMap` reads `loops=STA:finish,BOX:pit_in,B01:-`, which names the Boucle loop of each
channel, loop id or antenna a decoder reports (`-`: not used, counted). A read whose key is not
mapped goes to the map's default: the link's own loop (`=LOOP`, None here) or ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from decoders.errors import DecoderUrlError

LOOP = re.compile(r"finish|pit_in|pit_out|start|refuel|split[1-9][0-9]?")  # the scenario's loops
IGNORE = "-"
COMMON = {"retry_min": float, "retry_max": float, "idle": float}


def query(url: str, allowed: dict[str, type]) -> dict:
    out = {}
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if key not in allowed:
            raise DecoderUrlError(
                "decoder.url_unknown_option", url=url, option=key, known=", ".join(sorted(allowed))
            )
        kind = allowed[key]
        try:
            out[key] = value.lower() in ("1", "true", "yes", "on") if kind is bool else kind(value)
        except ValueError:
            raise DecoderUrlError("decoder.url_not_number", url=url, option=key, value=value) from None
    return out


def host_port(url: str, default: int | None, form: str) -> tuple[str, int]:
    """HOST and PORT of a network decoder URL (`default` when the URL names no port)."""
    parts = urlsplit(url)
    try:
        port = parts.port if parts.port is not None else default
    except ValueError:
        port = None
    if not parts.hostname or port is None:
        raise DecoderUrlError("decoder.url_expected", url=url, form=form)
    return parts.hostname, port


@dataclass(frozen=True)
class LoopMap:
    """Decoder key (channel, loop id, antenna) -> Boucle loop; None: the link's loop; `-`: ignored."""

    mapping: dict[str, str | None] = field(default_factory=dict)
    default: str | None = None  # for keys not in `mapping`: None (the link's loop) or IGNORE

    @classmethod
    def parse(
        cls, url: str, spec: str | None, base: dict[str, str | None] | None = None, default: str | None = None
    ) -> LoopMap:
        mapping = dict(base or {})
        for part in filter(None, (spec or "").split(",")):
            key, _, loop = part.strip().rpartition(":")
            if not key or not (loop == IGNORE or LOOP.fullmatch(loop)):
                raise DecoderUrlError(
                    "decoder.url_loops",
                    url=url,
                    part=part,
                    loops="finish, pit_in, pit_out, start, refuel, split1...",
                )
            mapping[key.upper()] = loop
        return cls(mapping, default)

    def loop(self, key: str) -> str | None:
        """The loop of a read with this key: a name, None (the link's loop) or IGNORE."""
        return self.mapping.get(key.upper(), self.default)
