"""`LineSplitter`: a byte stream cut into lines whatever the read sizes, for the text codecs.

Protime (CR LF), Race Result (LF) and Wiclax (CR) decoders send lines. A line longer than
`limit` is line noise: it comes out as None (the codec counts it) and is dropped up to its end,
even when it arrives over many reads, so any chunking of the same bytes gives the same lines
(tests/test_decoders_fuzz.py). `hold(buf, start)`: bytes at the start of a line that cannot hold
its end (Protime's binary configuration may contain CR LF).
"""

from __future__ import annotations

from collections.abc import Callable


class LineSplitter:
    def __init__(self, end: bytes, limit: int, hold: Callable[[bytearray, int], int] | None = None) -> None:
        self.end, self.limit, self.hold = end, limit, hold
        self.buf = bytearray()
        self.skipping = False  # inside an over-long line, dropping up to its end

    def reset(self) -> None:
        """A new link: nothing of the old one's partial line carries over."""
        self.buf.clear()
        self.skipping = False

    def feed(self, chunk: bytes) -> list[bytes | None]:
        """The lines completed by `chunk` (without their end), in order; None for an over-long one."""
        self.buf += chunk
        out: list[bytes | None] = []
        start, n = 0, len(self.end)
        while True:
            skip = 0 if self.skipping or self.hold is None else self.hold(self.buf, start)
            end = self.buf.find(self.end, start + skip)
            if end < 0:
                break
            if not self.skipping:
                line = bytes(self.buf[start:end])
                out.append(line if len(line) <= self.limit else None)
            self.skipping = False
            start = end + n
        del self.buf[:start]
        if self.skipping:
            del self.buf[: len(self.buf) - (n - 1)]  # keep what may be the first bytes of the end
        elif len(self.buf) > self.limit + n - 1:  # longer than a line can be, even before its end
            out.append(None)
            self.skipping = True
            del self.buf[: len(self.buf) - (n - 1)]
        return out
