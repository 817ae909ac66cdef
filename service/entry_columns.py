"""Which column of a club's entry list is which field: French and English headers, any order, case
or accents (`N°`, `Numéro`, `Dossard`, `Nom`, `Prénom`, `Pilote 2`, `Poids (kg)`, `Écurie`...), and
the crew's own choice on top (`?mapping=`).

A field is a name of FIELDS; a driver's field may carry the driver's slot: `last_name.2` is the
second driver's last name (`Nom pilote 2`), a bare `last_name` the row's own driver. Pure.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from service.errors import Invalid
from service.text import fold

# entry fields, then the fields of one driver (a slot); `drivers` is the packed `id:name:kg|...` column
ENTRY_FIELDS = (
    "number",
    "name",
    "team",
    "category",
    "transponder",
    "vehicle",
    "wave",
    "division",
    "grid",
    "drivers",
)
DRIVER_FIELDS = ("driver", "first_name", "last_name", "weight_kg", "licence", "club", "nationality")
FIELDS = ENTRY_FIELDS + DRIVER_FIELDS
MAX_SLOT = 50  # drivers of one car (the entry line's limit)

_SYNONYMS = {  # headers as `field_of` folds them: no accents, lower case, no "de/du/of", no "(kg)"
    "number": "no|n|nr|nro|num|numero|number|dossard|no dossard|numero dossard|dossard no|no course|"
    "numero course|no voiture|numero voiture|race no|race number|car no|car number|start no|"
    "start number|bib|bib no|bib number|plate|plaque|competitor no|entry no|kart no",
    "name": "name|entry name|nom engage|engage|equipage|nom equipage|display name|nom affiche|entry",
    "team": "equipe|ecurie|team|nom equipe|team name|entrant|concurrent|nom ecurie",
    "category": "categorie|cat|categ|classe|class|category|groupe|group",
    "transponder": "transpondeur|transponder|transp|puce|no puce|chip|chip id|tag|tag id|tx|no transpondeur|"
    "numero transpondeur|transponder no|transponder number|transponder id",
    "vehicle": "vehicule|voiture|auto|marque|modele|marque modele|marque type|vehicle|car|make|model|"
    "make model|chassis|machine|moto",
    "wave": "vague|wave",
    "division": "division|div",
    "grid": "grille|grid|place grille|position grille|grid position|position depart|starting position",
    "drivers": "drivers",
    "driver": "pilote|pilotes|conducteur|driver|rider|coureur|nom prenom|prenom nom|nom complet|full name|"
    "driver name|nom prenom pilote|identite",
    "first_name": "prenom|prenom pilote|first name|firstname|given name|forename|driver first name",
    "last_name": "nom|nom pilote|nom famille|last name|lastname|surname|family name|driver last name",
    "weight_kg": "poids|poids pilote|weight|masse|driver weight|kg",
    "licence": (
        "licence|license|no licence|numero licence|licence no|licence number|license number|lic|no lic"
    ),
    "club": "club|asa|association|asso|club asa",
    "nationality": "nationalite|nat|nation|pays|country|nationality",
}
_PHRASES = {phrase: name for name, phrases in _SYNONYMS.items() for phrase in phrases.split("|")}
_KEYWORDS = (  # a header no phrase matches, by a word it holds (first match wins: "N° licence" is a licence)
    ("licence", "licence"),
    ("license", "licence"),
    ("transpondeur", "transponder"),
    ("transponder", "transponder"),
    ("puce", "transponder"),
    ("poids", "weight_kg"),
    ("weight", "weight_kg"),
    ("prenom", "first_name"),
    ("categorie", "category"),
    ("category", "category"),
    ("classe", "category"),
    ("equipe", "team"),
    ("ecurie", "team"),
    ("team", "team"),
    ("club", "club"),
    ("vehicule", "vehicle"),
    ("dossard", "number"),
    ("numero", "number"),
    ("pilote", "driver"),
    ("driver", "driver"),
)
_STOP = {"de", "du", "des", "d", "la", "le", "l", "the", "of", "en", "et", "and", "kg", "kgs"}
_ORDINAL = re.compile(r"^(\d{1,2})(?:er|re|e|eme|nd|rd|st|th)?$")


def field_of(header: str) -> tuple[str | None, int | None]:
    """The field a header names and its driver slot: `"Nom pilote 2"` -> ("last_name", 2)."""
    text = fold(header.replace("°", "o").replace("#", " no "))
    text = re.sub(r"([a-z])(\d)", r"\1 \2", re.sub(r"[^a-z0-9]+", " ", text))
    words = [w for w in text.split() if w not in _STOP] or text.split()
    slot = None
    for at in (-1, 0):  # "Pilote 2", "2e pilote"
        m = _ORDINAL.match(words[at]) if len(words) > 1 else None
        if m and 1 <= int(m.group(1)) <= MAX_SLOT:
            slot = int(m.group(1))
            del words[at]
            if words and words[-1] in ("no", "n"):  # "Pilote n° 2"
                words.pop()
            break
    phrase = " ".join(words)
    name = _PHRASES.get(phrase)
    if name is None:
        name = next((f for kw, f in _KEYWORDS if kw in words or kw + "s" in words), None)
    if name is None or (name in ENTRY_FIELDS and slot not in (None, 1)):
        return None, None  # unknown, or an entry field numbered past 1 ("Transpondeur 2"): shown, not read
    return name, slot


def target(name: str, slot: int | None) -> str:
    """The field as the API names it: a driver field of slot 2 is `last_name.2`, slot 1 is bare."""
    return f"{name}.{slot}" if slot and slot > 1 else name


def parse_target(value: object) -> tuple[str, int | None] | None:
    """A field the crew chose (`"last_name.2"`, `null` or `""` to ignore the column)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Invalid("entries.mapping_field", field=str(value)[:40], fields=", ".join(FIELDS))
    name, _, slot = value.strip().partition(".")
    ok = name in FIELDS and (
        not slot or (name in DRIVER_FIELDS and slot.isdigit() and 1 <= int(slot) <= MAX_SLOT)
    )
    if not ok:
        raise Invalid("entries.mapping_field", field=value[:40], fields=", ".join(FIELDS))
    if name in DRIVER_FIELDS:
        return name, int(slot) if slot else 1
    return name, None


@dataclass
class Column:
    index: int  # 1-based
    header: str
    name: str | None = None  # the field
    slot: int | None = (
        None  # a driver field's driver: 1 (the row's own, or the first), 2...; None for an entry field
    )
    auto: bool = True  # False: the crew chose it
    sample: str = ""  # the column's first value

    @property
    def field(self) -> str | None:
        return target(self.name, self.slot) if self.name else None

    def describe(self) -> dict[str, object]:
        return {
            "index": self.index,
            "header": self.header,
            "field": self.field,
            "auto": self.auto,
            "sample": self.sample,
        }


def auto_columns(headers: list[str]) -> list[Column]:
    """Columns as their headers say; a driver field seen again goes to the next driver
    (`Nom;Prénom;Nom;Prénom`), an entry field seen again is left out."""
    cols, used = [], set()
    for i, header in enumerate(headers, 1):
        name, slot = field_of(header) if header else (None, None)
        col = Column(i, header)
        if name in DRIVER_FIELDS and slot is None:
            slot = next(s for s in range(1, MAX_SLOT + 2) if (name, s) not in used)
        key = (name, slot if name in DRIVER_FIELDS else None)
        if name and key not in used and (slot or 0) <= MAX_SLOT:
            col.name, col.slot = key
            used.add(key)
        cols.append(col)
    return cols


def parse_mapping(text: str | None) -> dict[str, object]:
    """`?mapping=` as JSON: {"column header" or "3" (1-based position): "field" or null}."""
    if not text:
        return {}
    try:
        mapping = json.loads(text)
    except (ValueError, RecursionError):
        raise Invalid("entries.mapping_json") from None
    if not isinstance(mapping, dict) or len(mapping) > 500:
        raise Invalid("entries.mapping_json")
    return mapping


def apply_mapping(cols: list[Column], mapping: dict[str, object]) -> list[Column]:
    """The crew's choices over the automatic ones; a field chosen for a column leaves any other
    column that had it automatically; chosen twice by the crew is refused."""
    chosen: dict[int, tuple[str, int | None] | None] = {}
    for key, value in mapping.items():
        chosen[_column_of(cols, key).index] = parse_target(value)
    taken: dict[tuple[str, int], int] = {}
    for index, t in chosen.items():
        if t is None:
            continue
        k = (t[0], t[1] or 1)
        if k in taken:
            raise Invalid("entries.mapping_twice", field=target(*t), columns=f"{taken[k]}, {index}")
        taken[k] = index
    for col in cols:
        if col.index in chosen:
            t = chosen[col.index]
            col.name, col.slot = t if t else (None, None)
            col.auto = False
        elif col.name and (col.name, col.slot or 1) in taken:
            col.name = col.slot = None
    return cols


def _column_of(cols: list[Column], key: str) -> Column:
    k = key.strip()
    if k.isdigit() and 1 <= int(k) <= len(cols):
        return cols[int(k) - 1]
    for match in (lambda c: c.header == k, lambda c: fold(c.header) == fold(k)):
        found = [c for c in cols if match(c)]
        if found:
            return found[0]
    raise Invalid(
        "entries.mapping_column", column=k[:100], columns=", ".join(c.header or str(c.index) for c in cols)
    )


def find_header(rows: list[tuple[int, list[str]]], asked: int | None = None) -> int | None:
    """The position in `rows` of the header row: the line asked (0: no header), else the first of
    the first 20 non-blank rows that names a number and another field, else the best named, else
    the first non-blank row. None: the file has no non-blank row."""
    filled = [i for i, (_, cells) in enumerate(rows) if any(cells)]
    if asked is not None:
        if asked == 0:
            return -1
        found = [i for i in filled if rows[i][0] == asked]
        if not found:
            raise Invalid("entries.bad_header_line", line=asked)
        return found[0]
    if not filled:
        return None
    best, best_named = filled[0], 1
    for i in filled[:20]:
        named = {c.name for c in auto_columns(rows[i][1]) if c.name}
        if "number" in named and len(named) >= 2:
            return i
        if len(named) > best_named:
            best, best_named = i, len(named)
    return best
