"""Season championships on disk: one JSON file per season ({id, created, season}) in
`DATA/championships/`, written atomically. A damaged file is skipped, never fatal.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

from service.errors import NotFound
from service.jsonfile import write_json


class SeasonBook:
    """Seasons by id, and how many seasons or events were refused (see /api/championships/status)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.seasons: dict[str, dict[str, Any]] = {}
        self.rejected = 0
        if folder.is_dir():
            for path in sorted(folder.glob("c*.json")):
                try:
                    doc = json.loads(path.read_text(encoding="utf-8"))
                    self.seasons[doc["id"]] = doc
                except (ValueError, KeyError, TypeError):
                    continue  # a damaged file must not stop the service

    def get(self, cid: str) -> dict[str, Any]:
        doc = self.seasons.get(cid)
        if doc is None:
            raise NotFound("season.not_found", id=cid)
        return doc

    def add(self, season: dict[str, Any]) -> dict[str, Any]:
        """A new season under a fresh id."""
        cid = f"c{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
        doc = {"id": cid, "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "season": season}
        self.save(doc)
        return doc

    def save(self, doc: dict[str, Any]) -> None:
        self.seasons[doc["id"]] = doc
        write_json(self.folder / f"{doc['id']}.json", doc)

    def naming(self, ref: str) -> list[str]:
        """Names of the seasons with an event that names `ref` (a session or meeting id): deleting
        it would break their standings."""
        out = []
        for doc in self.seasons.values():
            season = doc.get("season") or {}
            for ev in season.get("events") or []:
                if isinstance(ev, dict) and ref in ev.values():
                    out.append(str(season.get("name") or season.get("championship") or doc["id"]))
                    break
        return out

    def delete(self, cid: str) -> None:
        self.get(cid)
        del self.seasons[cid]
        (self.folder / f"{cid}.json").unlink(missing_ok=True)
