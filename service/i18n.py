"""Language of server-made texts: printed meeting pages, result files, standings sheets (key
`_print`: English text -> translation) and the refusals the service answers (key `_errors`: code ->
text with `{param}` placeholders), from the same catalogues as the web pages (web/i18n/LANG.json),
so a word is translated in one place. French for a French browser (Accept-Language) or `?lang=fr`,
English otherwise.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LANGS = ("fr", "en")
I18N_DIR = Path(__file__).resolve().parent.parent / "web" / "i18n"


@cache
def _section(lang: str, key: str) -> dict[str, str]:
    try:
        doc = json.loads((I18N_DIR / f"{lang}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return dict(doc.get(key) or {})


def _print_catalogue(lang: str) -> dict[str, str]:
    return _section(lang, "_print")


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


class _Keep(dict):
    """Format values: a placeholder the params do not fill stays as written (never a KeyError)."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def error_text(lang: str, code: str, params: dict | None = None) -> str:
    """A refusal's text in `lang` (English when `lang` lacks the code; the code itself when no
    catalogue has it, so a missing text is visible, never an exception)."""
    template = _section(lang, "_errors").get(code) or _section("en", "_errors").get(code)
    if template is None:
        return f"{code} {params}" if params else code
    return template.format_map(_Keep(params or {}))
