"""Language of server-made texts, from the same catalogues as the web pages (web/i18n/LANG.json), so a
word is translated in one place:

- `_errors`: the refusals the service answers (code -> text with `{param}` placeholders);
- `_texts`: texts the engine and the service say that the results JSON keeps in English (penalty
  evidence, warnings, unknown-read reasons): `said(code, **params)` is that English string, carrying
  its code and params so a page or a document says it in another language (`text`);
- `_print`: printed meeting pages, result files, standings sheets (English text -> translation);
- top-level keys (`penstate.applied`, `stage.heat1`...): the words pages and documents share (`word`).

A text may be a plural object `{"one": ..., "other": ...}` chosen by its `n` param (French: 0 and 1 are
singular). Placeholders take a few formats: `{x:num}` a number as the language writes it, `{x:types}`
msgspec's type names in words, `{x:@prefix}` the catalogue word `prefix.x`, `{x:list}` items joined,
`{x:or}` / `{x:or@prefix}` a list as "a or b" (each item formatted by what follows `or`), `{x:stage}`
a meeting session key as people say it ("heat1.2" -> "Manche 1 · série 2").
The language: `?lang=` when it is one we have, else the browser's (Accept-Language), else English.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

LANGS = ("fr", "en")
I18N_DIR = Path(__file__).resolve().parent.parent / "web" / "i18n"


@cache
def catalogue(lang: str) -> dict[str, Any]:
    """The whole catalogue of `lang` ({} when missing or unreadable: texts then fall back to English)."""
    try:
        return json.loads((I18N_DIR / f"{lang}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _section(lang: str, key: str) -> dict[str, Any]:
    return catalogue(lang).get(key) or {}


def pick_lang(
    asked: str | None, accept_language: str | None, default: str = "en", strict: bool = False
) -> str:
    """`?lang=` when it is one we have, else the browser's preferred language we have (q-values
    honoured), else `default`. `strict`: an unknown `asked` is refused (a 400 for the caller)."""
    if asked:
        if asked.lower() in LANGS:
            return asked.lower()
        if strict:
            raise UnknownLang(asked)
    prefs = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        prefs.append((-weight, i, tag.strip().lower()[:2]))
    return next((tag for _, _, tag in sorted(prefs) if tag in LANGS), default)


class UnknownLang(ValueError):
    """A `lang` we do not have (a 400). Coded like service.errors' refusals, which import this module."""

    def __init__(self, asked: str) -> None:
        self.code, self.params = "request.lang", {"lang": asked, "known": ", ".join(LANGS)}
        super().__init__(error_text("en", self.code, self.params))


def plural(lang: str, n: Any) -> str:
    """CLDR category of `n`: French says "0 tour", "1 tour", "2 tours"; English "0 laps", "1 lap"."""
    try:
        x = abs(float(n))
    except (TypeError, ValueError):
        return "other"
    if lang == "fr":
        return "one" if x < 2 else "other"
    return "one" if x == 1 else "other"


def _choose(template: Any, lang: str, params: dict[str, Any]) -> str | None:
    if isinstance(template, dict):
        return template.get(plural(lang, params.get("n"))) or template.get("other")
    return template


def number(lang: str, value: Any) -> str:
    """A number as `lang` writes it: 864000.0 -> "864000", 2.5 -> "2,5" in French ("2.5" in English)."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    s = str(int(x)) if x.is_integer() and abs(x) < 1e15 else f"{x:g}" if abs(x) >= 1e15 else repr(x)
    return s.replace(".", ",") if lang == "fr" else s


def word(lang: str, key: str, default: str | None = None, n: Any = None) -> str:
    """A top-level catalogue word (`penstate.applied`, `stage.heat1`): `lang`'s, else English's, else
    `default` (else the key)."""
    v = catalogue(lang).get(key)
    if v is None:
        v = catalogue("en").get(key)
    if isinstance(v, dict):
        v = v.get(plural(lang, n)) or v.get("other")
    return v if isinstance(v, str) else (default if default is not None else key)


def stage_label(lang: str, key: Any, series_count: int | None = None) -> str:
    """A meeting session key as people say it: "heat1.2" -> "Manche 1 · série 2" / "Heat 1 · series 2",
    "semis.1" -> "Demi-finale 1", "final" -> "Finale", "practice1" -> "Essais 1" (`stage.*` words).
    `series_count` 1: the stage has one series, not named. An unknown key stays as it is."""
    stage, _, series = str(key).partition(".")
    base = catalogue(lang).get(f"stage.{stage}") or catalogue("en").get(f"stage.{stage}")
    if not isinstance(base, str):
        m = re.fullmatch(r"([a-z]+?)(\d+)", stage)
        template = word(lang, f"stage.{m.group(1)}_n", "") if m else ""
        if not template:
            return str(key)
        base = template.format(n=m.group(2))
    if not series or series_count == 1:
        return base
    if stage == "semis":
        return word(lang, "stage.semi_n").format(n=series)
    return f"{base} · {word(lang, 'stage.series_n').format(n=series)}"


def is_coded(v: Any) -> bool:
    return isinstance(getattr(v, "code", None), str) and isinstance(getattr(v, "params", None), dict)


class Coded:
    """A code and its params, not raised: a reason inside a refusal ("item 3: <why>"), said in the
    language of the text that holds it. `str()` is the English text."""

    __slots__ = ("code", "params")

    def __init__(self, code: str, params: dict[str, Any] | None = None) -> None:
        self.code, self.params = code, params or {}

    def __str__(self) -> str:
        return error_text("en", self.code, self.params)

    def __repr__(self) -> str:
        return f"Coded({self.code!r}, {self.params!r})"


class _Value:
    """A param as a placeholder formats it (the formats of the module doc; a coded value is said in
    the same language and section)."""

    __slots__ = ("v", "lang", "section")

    def __init__(self, v: Any, lang: str, section: str) -> None:
        self.v, self.lang, self.section = v, lang, section

    def __format__(self, spec: str) -> str:
        v, lang = self.v, self.lang
        if is_coded(v):
            return _render(self.section, lang, v.code, v.params)
        if isinstance(v, dict) and isinstance(v.get("code"), str):  # a coded param as JSON carries it
            return _render(self.section, lang, v["code"], v.get("params") or {})
        if spec.startswith("or") and isinstance(v, list | tuple):  # "a or b", each item formatted by the rest
            joiner = f" {_Value('or', lang, self.section).__format__('@type')} "
            return joiner.join(_Value(x, lang, self.section).__format__(spec[2:]) for x in v)
        if spec == "num":
            return number(lang, v)
        if spec == "stage":
            return stage_label(lang, v)
        if spec == "types":  # msgspec's "float | null"
            words = _section(lang, "_errors")
            parts = [
                words.get(f"type.{p}") or _section("en", "_errors").get(f"type.{p}") or p
                for p in str(v).split(" | ")
            ]
            return f" {words.get('type.or', 'or')} ".join(parts)
        if spec.startswith("@"):  # a word of this section, else of the pages
            key = f"{spec[1:]}.{v}"
            for sec in dict.fromkeys((self.section, "_errors")):
                found = _section(lang, sec).get(key) or _section("en", sec).get(key)
                if isinstance(found, str):
                    return found
            return word(lang, key, str(v))
        if spec in ("list", "semi") and isinstance(v, list | tuple):  # "a, b" / "a; b" ("a ; b" in French)
            joiner = ", " if spec == "list" else " ; " if lang == "fr" else "; "
            return joiner.join(_Value(x, lang, self.section).__format__("") for x in v)
        return format(v, spec)

    def __str__(self) -> str:
        return self.__format__("")


class _Params(dict):
    """format_map's mapping: values wrapped in `_Value`; a placeholder no param fills stays as written."""

    def __init__(self, params: dict[str, Any], lang: str, section: str) -> None:
        super().__init__(params)
        self.lang, self.section = lang, section

    def __getitem__(self, key: str) -> Any:
        if key in self:
            return _Value(dict.__getitem__(self, key), self.lang, self.section)
        return _Missing(key)


class _Missing:
    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key

    def __format__(self, spec: str) -> str:
        return "{" + self.key + (":" + spec if spec else "") + "}"


def _template(section: str, lang: str, code: str, params: dict[str, Any]) -> str | None:
    for lg in (lang, "en"):
        for sec in (section, "_errors") if section == "_texts" else (section,):  # a text may say a refusal
            template = _choose(_section(lg, sec).get(code), lg, params)
            if template is not None:
                return template
    return None


def _render(section: str, lang: str, code: str, params: dict[str, Any] | None) -> str:
    params = params or {}
    template = _template(section, lang, code, params)
    if template is None:
        return f"{code} {params}" if params else code
    return template.format_map(_Params(params, lang, section))


def error_text(lang: str, code: str, params: dict | None = None) -> str:
    """A refusal's text in `lang` (English when `lang` lacks the code; the code itself when no
    catalogue has it, so a missing text is visible, never an exception)."""
    return _render("_errors", lang, code, params)


def text(lang: str, code: str, params: dict | None = None) -> str:
    """A `_texts` text (evidence, warnings, reasons) in `lang`."""
    return _render("_texts", lang, code, params)


class Said(str):
    """An English text as the results JSON keeps it, with the `code` and `params` that say it in
    another language (pages: `serverText`; documents: `say`). Compares and serialises as the string."""

    code: str
    params: dict[str, Any]


_SAID: dict[tuple, Said] = {}  # rule statuses say the same few texts on every classification


def said(code: str, /, **params: Any) -> Said:
    """The English `_texts` text of `code`, carrying its code and params (see `Said`). Texts already
    said are reused (a Said is never changed once made)."""
    try:
        key = (code, *params.items())
        found = _SAID.get(key)
    except TypeError:  # a list param: not hashable, not cached
        key, found = None, None
    if found is not None:
        return found
    s = Said(text("en", code, params))
    s.code, s.params = code, params
    if key is not None:
        if len(_SAID) >= 8192:
            _SAID.clear()
        _SAID[key] = s
    return s


def said_of(coded_value: Any) -> Said:
    """A refusal (or any coded value) as a `Said`: a warning that says why a line was set aside."""
    return said(coded_value.code, **coded_value.params)


def say(lang: str, value: Any) -> str:
    """A server text in `lang`: a `Said` (or a `{"code", "params"}` object) translated, anything else
    as it is (free text typed by a person is never translated)."""
    if is_coded(value):
        return text(lang, value.code, value.params)
    if isinstance(value, dict) and isinstance(value.get("code"), str):
        return text(lang, value["code"], value.get("params") or {})
    return "" if value is None else str(value)


def json_params(params: dict[str, Any]) -> dict[str, Any]:
    """Params as JSON: scalars as they are, a coded param as its own `{code, params}`, else its text."""
    out: dict[str, Any] = {}
    for k, v in params.items():
        if is_coded(v):
            out[k] = {"code": v.code, "params": json_params(v.params)}
        elif isinstance(v, int | float | str | bool) or v is None:
            out[k] = v
        elif isinstance(v, list | tuple):
            out[k] = [json_params({"x": x})["x"] for x in v]
        else:
            out[k] = str(v)
    return out


def coded(value: Any) -> dict[str, Any] | None:
    """`{"code", "params"}` of a `Said` for the pages (web/js/i18n.js `serverText` says it), None for
    a plain text."""
    if not is_coded(value):
        return None
    if isinstance(value, Said):  # made once per Said (they are reused: `said`)
        if "_json" not in value.__dict__:
            value._json = {"code": value.code, "params": json_params(value.params)}
        return value._json
    return {"code": value.code, "params": json_params(value.params)}


def print_text(lang: str, english: str, **values: object) -> str:
    """The document text in `lang` (the English text is the key), placeholders filled; a plural
    object is chosen by `n`."""
    template = _choose(_section(lang, "_print").get(english), lang, values)
    if template is None:
        template = _choose(_section("en", "_print").get(english), "en", values) or english
    return template.format(**values) if values else template
