"""P3 frames of a simulated decoder, and its answers to client requests (RESEND, GET_TIME)."""

from __future__ import annotations

from decoders.p3 import codec
from simulator.emit.base import Feed, SimPassing


def passing_frame(feed: Feed, p: SimPassing) -> bytes:
    tr = int(p.transponder) if p.transponder.isdigit() else None
    return codec.encode(
        codec.PassingRecord(
            passing_number=p.number,
            transponder=tr,
            rtc_time_us=p.rtc_time_us,
            strength=p.strength,
            hits=p.hits,
            flags=0,
            tran_code=None if tr is not None else p.transponder[:8],
            decoder_id=feed.decoder_id,
        )
    )


def status_frame(feed: Feed, noise: int = 38, temperature: int = 24) -> bytes:
    return codec.encode(
        codec.StatusRecord(
            noise=noise, gps=0, temperature=temperature, input_voltage=120, decoder_id=feed.decoder_id
        )
    )


class RequestHandler:
    """Reads a client's byte stream and returns the frames a decoder would answer with."""

    def __init__(self, feed: Feed) -> None:
        self.feed = feed
        self.decoder = codec.P3StreamDecoder()

    def feed_bytes(self, chunk: bytes) -> list[bytes]:
        out: list[bytes] = []
        for rec in self.decoder.feed(chunk):
            if isinstance(rec, codec.ResendRecord) and rec.from_number is not None:
                until = rec.until_number if rec.until_number is not None else rec.from_number
                for p in self.feed.range(rec.from_number, until):
                    out.append(passing_frame(self.feed, p))
                    self.feed.resent += 1
            elif isinstance(rec, codec.GetTimeRecord):
                now = self.feed.rtc_now_us()
                if now is None:  # the race clock has not started: no answer yet (the client asks again)
                    continue
                out.append(
                    codec.encode(
                        codec.GetTimeRecord(
                            rtc_time_us=now, flags=0, utc_time_us=now, decoder_id=self.feed.decoder_id
                        )
                    )
                )
        return out
