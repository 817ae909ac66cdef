"""Language of server-made documents (printed meeting pages, result files, standings sheets): the
same catalogues as the web pages (web/i18n/LANG.json, key `_print`: English text -> translation),
so a word is translated in one place. French for a French browser (Accept-Language) or `?lang=fr`, English otherwise.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LANGS = ("fr", "en")
I18N_DIR = Path(__file__).resolve().parent.parent / "web" / "i18n"


@cache
def _print_catalogue(lang: str) -> dict[str, str]:
    try:
        doc = json.loads((I18N_DIR / f"{lang}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return dict(doc.get("_print") or {})


def pick_lang(asked: str | None, accept_language: str | None, default: str = "en", strict: bool = False) -> str:
    """`?lang=` when it is one we have, else the browser's preferred language we have (q-values
    honoured), else `default`. `strict`: an unknown `asked` is a ValueError (a 400 for the caller)."""
    if asked:
        if asked.lower() in LANGS:
            return asked.lower()
        if strict:
            raise ValueError(f"lang must be one of {', '.join(LANGS)}")
    prefs = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        prefs.append((-weight, i, tag.strip().lower()[:2]))
    return next((tag for _, _, tag in sorted(prefs) if tag in LANGS), default)


def print_text(lang: str, english: str, **values: object) -> str:
    """The document text in `lang` (the English text is the key), placeholders filled."""
    text = _print_catalogue(lang).get(english, english)
    return text.format(**values) if values else text
