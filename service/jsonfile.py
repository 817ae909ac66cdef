"""JSON files written atomically: the meetings', the calendar's and the seasons' (a crash mid-write
leaves the old file whole)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_json(path: Path, value: Any, private: bool = False) -> None:
    """`value` as indented UTF-8 JSON: a temp file beside `path`, then `os.replace`. `private`: 0600,
    for a file that holds tokens."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600 if private else 0o666)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(value, ensure_ascii=False, indent=1))
    if private:
        os.chmod(tmp, 0o600)  # a temp file left by an earlier run keeps its mode through O_CREAT
    os.replace(tmp, path)
