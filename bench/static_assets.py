"""Bytes a first visit downloads for each page, raw and gzip-compressed as service/static.py sends
them, and the share a repeat visit saves (assets cached forever under their versioned names)."""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path

from service.static import ASSET_REF, WebAssets

WEB = Path(__file__).resolve().parent.parent / "web"
IMPORT = re.compile(r"""(?:import|from)\s*(?:[^"';]*?from\s*)?["'](\./[^"']+)["']""")


def closure(assets: WebAssets, page: str) -> list[str]:
    """The page, its CSS/JS/icon, every module those import, and the catalogue of one language."""
    todo = [m.group(2) for m in ASSET_REF.finditer(assets.assets[page].body.decode())] + ["i18n/fr.json"]
    seen: list[str] = []
    while todo:
        name = todo.pop()
        if name in seen or name not in assets.assets:
            continue
        seen.append(name)
        if name.endswith(".js"):
            base = name.rsplit("/", 1)[0]
            todo += [f"{base}/{m[2:]}" for m in IMPORT.findall(assets.assets[name].body.decode())]
    return seen


def main() -> None:
    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        assets = WebAssets(WEB)
        runs.append(time.perf_counter() - t0)
    print(f"startup: read + gzip every file of web/ in {statistics.median(runs) * 1000:.0f} ms (median of 5)")
    print(f"{'page':<20}{'files':>6}{'raw kB':>9}{'gzip kB':>9}{'ratio':>7}")
    for page in sorted(assets.pages):
        files = [page, *closure(assets, page)]
        raw = sum(len(assets.assets[f].body) for f in files)
        sent = len(assets.pages[page].gz or assets.pages[page].body) + sum(
            len(assets.assets[f].gz or assets.assets[f].body) for f in files[1:]
        )
        print(f"{page:<20}{len(files):>6}{raw / 1000:>9.1f}{sent / 1000:>9.1f}{sent / raw:>7.2f}")
    print("repeat visit: only the page itself is fetched again (no-cache + ETag: 304); assets are immutable")


if __name__ == "__main__":
    main()
