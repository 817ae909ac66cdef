"""Documents (PDF, CSV, printable HTML, exports) built off the event loop, once per version.

Drawing a PDF takes tens of milliseconds of pure Python; eight people asking for one at once used
to hold the event loop for seconds, so decoder reads reached the live screens late. Here:

- the data a document needs is taken on the loop (the engine is not thread-safe, and reading it
  is cheap); drawing it runs in a worker: a process for PDFs (no GIL shared with the loop, and a
  lower CPU priority than the service's), a thread for the light text documents;
- at most `workers` documents are drawn at once (all cores but the loop's); more wait their turn
  without holding the loop;
- a document is kept by its key, which names the session's version (`version_of`: a new log line
  makes a new version), so a flood of the same request draws it once; identical requests that
  arrive while it is being drawn wait for that one drawing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any

log = logging.getLogger(__name__)

# documents drawn at once: all cores but one (the event loop's), one on a two-core track laptop
WORKERS = max(1, min(4, (os.cpu_count() or 2) - 1))
NICE = 10  # worker processes yield the CPU to the service's own process (decoder reads, live streams)
KEPT = 64  # documents kept (a results PDF is ~50 KB)


def _background() -> None:
    """A document worker process runs at a lower priority than the service: drawing waits, reads don't."""
    with contextlib.suppress(OSError):
        os.nice(NICE)


def version_of(session: Any) -> tuple[int, int]:
    """A session's version: its engine and the number of lines it applied (every logged line adds one)."""
    return id(session.engine), session.engine.mark()


class Documents:
    """The service's document workers and their cache (one per app)."""

    def __init__(self, workers: int = WORKERS, kept: int = KEPT, processes: bool = True) -> None:
        self.workers, self.kept, self.processes = workers, kept, processes
        self._cache: OrderedDict[Hashable, Any] = OrderedDict()
        self._pending: dict[Hashable, asyncio.Future] = {}
        self._gate: asyncio.Semaphore | None = None
        self.built = 0  # documents drawn (cache misses)
        self.served = 0  # documents answered

    async def get(
        self, key: Hashable, prepare: Callable[[], tuple], draw: Callable[..., Any], process: bool = False
    ) -> Any:
        """The document `key`: kept, or `draw(*prepare())` with `prepare` run here on the loop (it
        reads the session) and `draw` in a worker. `process`: a worker process (`draw` and its
        arguments must pickle: a module-level function of plain data), else a thread."""
        self.served += 1
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        pending = self._pending.get(key)
        if pending is not None:  # the same document is being drawn: share it
            return await asyncio.shield(pending)
        fut = asyncio.get_running_loop().create_future()
        self._pending[key] = fut
        try:
            value = await self.run(draw, *prepare(), process=process)
        except Exception as exc:
            fut.set_exception(exc)
            fut.exception()  # retrieved (no warning when nobody else waited)
            raise
        except BaseException:
            fut.cancel()
            raise
        finally:
            self._pending.pop(key, None)
        fut.set_result(value)
        self._cache[key] = value
        while len(self._cache) > self.kept:
            self._cache.popitem(last=False)
        return value

    async def run(self, draw: Callable[..., Any], *args: Any, process: bool = False) -> Any:
        """`draw(*args)` in a worker, at most `workers` at once (not kept)."""
        if self._gate is None:
            self._gate = asyncio.Semaphore(self.workers)
        loop = asyncio.get_running_loop()
        async with self._gate:
            self.built += 1
            if not (process and self.processes):
                return await asyncio.to_thread(draw, *args)
            try:
                return await loop.run_in_executor(self._process_pool(), partial(draw, *args))
            except BrokenProcessPool:  # a worker died (killed, out of memory): a new pool, once
                log.warning("document worker process died: starting a new one")
                close()
                return await loop.run_in_executor(self._process_pool(), partial(draw, *args))

    def _process_pool(self) -> Executor:
        global _POOL
        if _POOL is None:  # one per process, whichever app asks (tests make many apps)
            # spawn, not fork: the service has threads (SQLite, timers) a fork would copy mid-use
            _POOL = ProcessPoolExecutor(
                WORKERS, mp_context=multiprocessing.get_context("spawn"), initializer=_background
            )
        return _POOL


def close() -> None:
    """Stop the worker processes (at the service's shutdown; a new one starts if asked again)."""
    global _POOL
    if _POOL is not None:
        _POOL.shutdown(wait=False, cancel_futures=True)
        _POOL = None


_POOL: ProcessPoolExecutor | None = None
