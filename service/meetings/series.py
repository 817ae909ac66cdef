"""Who runs with whom: practice series (AX-PRACTICE) and heat series mixing (AX-HEAT1, AX-MIX)."""

from __future__ import annotations

from collections.abc import Sequence

from service.errors import Invalid

PRACTICE_SERIES_MAX = 10  # AX-PRACTICE: at most 10 cars per practice series
HEAT_SERIES_MAX = 15  # AX-HEAT1: at most 15 cars per heat series


def series_count(n: int, max_size: int) -> int:
    """Fewest series of at most ``max_size`` cars that hold ``n`` cars (0 cars -> 0 series)."""
    if max_size < 1:
        raise Invalid("series.size")
    return -(-n // max_size) if n > 0 else 0


def practice_series(entry_order: Sequence[str], max_size: int = PRACTICE_SERIES_MAX) -> list[list[str]]:
    """AX-PRACTICE: cut the official entry list into series as equal as possible.

    The regulation's example (25 -> 8, 8, 9) puts the larger series last, so the remainder
    goes to the last series. Both practice sessions use the same series (003 art. 7.1.2).
    """
    k = series_count(len(entry_order), max_size)
    if k == 0:
        return []
    base, extra = divmod(len(entry_order), k)
    sizes = [base + (1 if i >= k - extra else 0) for i in range(k)]
    out: list[list[str]] = []
    start = 0
    for size in sizes:
        out.append(list(entry_order[start : start + size]))
        start += size
    return out


def mix(ranking: Sequence[str], n_series: int) -> list[list[str]]:
    """AX-MIX / AX-HEAT1: deal an overall ranking into ``n_series`` series.

    Ranks go in blocks of ``2 * n``: the first ``n`` straight (rank 1 -> B1, 2 -> B2, ...), the
    next ``n`` rotated by one so B1 takes the block's second, ..., the last series its first.
    For two series that swaps 3/4, 7/8...: B1 = 1, 4, 5, 8, ...; B2 = 2, 3, 6, 7, ...
    For three series: B1 = 1, 5, 7, 11, ...; B2 = 2, 6, 8, 12, ...; B3 = 3, 4, 9, 10, ...
    (the tables of 003 art. 7.3.1.2). Each series stays in rank order, i.e. grid order.
    """
    if n_series < 1:
        raise Invalid("series.count")
    out: list[list[str]] = [[] for _ in range(n_series)]
    for idx, number in enumerate(ranking):
        block_pos = idx % (2 * n_series)
        if block_pos < n_series:
            series = block_pos
        else:
            series = (block_pos - n_series - 1) % n_series
        out[series].append(number)
    return out


def heat_series(
    ranking: Sequence[str], max_size: int = HEAT_SERIES_MAX, n_series: int | None = None
) -> list[list[str]]:
    """AX-HEAT1 / AX-MIX: the series of a heat from the previous ranking (practice for heat 1).

    One series keeps the ranking order ("rangement dans l'ordre du classement"); more series
    are mixed. ``n_series`` overrides the count (e.g. Super Sprint run in three series).
    """
    k = n_series if n_series is not None else series_count(len(ranking), max_size)
    if k <= 1:
        return [list(ranking)] if ranking else []
    return mix(ranking, k)
