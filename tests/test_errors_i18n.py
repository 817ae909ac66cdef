"""Refusals carry a stable code and params, and their text is in the caller's language (issue 22):
`?lang=`, else Accept-Language, else English; every code has a text in both catalogues."""

from __future__ import annotations

import ast
import json
import re
import sys

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.errors import NotFound
from service.i18n import error_text
from tests.web_helpers import REPO

CATS = {
    lang: json.loads((REPO / "web" / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))
    for lang in ("en", "fr")
}


def test_every_error_code_has_a_text_in_both_languages():
    assert set(CATS["en"]["_errors"]) == set(CATS["fr"]["_errors"])
    assert all(CATS["fr"]["_errors"].values())


def test_a_coded_refusal_renders_in_each_language_and_keeps_unfilled_placeholders():
    exc = NotFound("session.not_found", session="x1")
    assert (exc.code, exc.params, str(exc)) == ("session.not_found", {"session": "x1"}, "no session 'x1'")
    assert error_text("fr", "session.not_found", {"session": "x1"}) == "aucune séance « x1 »"
    assert error_text("fr", "session.not_found", {}) == "aucune séance « {session} »"
    assert error_text("fr", "no.such_code", {"a": 1}) == "no.such_code {'a': 1}"


def test_the_caller_reads_the_refusal_in_its_language(tmp_path):
    client = TestClient(create_app(tmp_path, "tok"), raise_server_exceptions=False)
    fr = client.get("/api/sessions/nope", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    assert fr.status_code == 404
    assert fr.json() == {
        "detail": "aucune séance « nope »",
        "code": "session.not_found",
        "params": {"session": "nope"},
    }
    en = client.get("/api/sessions/nope", headers={"Accept-Language": "de-DE,en-GB;q=0.8"})
    assert en.json()["detail"] == "no session 'nope'"
    assert client.get("/api/sessions/nope?lang=fr").json()["detail"] == "aucune séance « nope »"


# ---- no refusal left without a code -----------------------------------------------------------------

REFUSALS = {
    "BoucleError",
    "Invalid",
    "NotFound",
    "Conflict",
    "Forbidden",
    "TooLarge",
    "Unauthorized",
    "LineError",
    "UnknownTarget",
    "NoEffect",
    "ApplyError",
    "MeetingError",
    "SeasonError",
    "ImportProblem",
    "PresetError",
    "DecoderUrlError",
}
PLAIN = {"ValueError", "HTTPException", "RuntimeError", "LookupError", "KeyError", "Exception"}
# Texts no HTTP caller reads: command-line arguments of the operator, invariants of internal code.
PLAIN_ALLOWED = {
    ("service/broadcast.py", "--publish wants"),
    ("service/broadcast.py", "MQTT prefix"),  # `boucle serve` args
    ("service/outputs/rmonitor_server.py", "--rmonitor expects"),
    ("service/outputs/rmonitor_server.py", "--rmonitor-encoding expects"),
    ("service/ratelimit.py", "--rate-limits takes"),
    ("service/ratelimit.py", "{rate!r} is not a rate"),
    # codecs' own parse errors: caught inside the codec and counted as a reject reason, never answered
    ("decoders/daytime.py", "no time "),
    ("decoders/daytime.py", "time of day "),
    ("decoders/wiclax/codec.py", "{text!r} is not dd-mm"),
    ("service/store.py", "no such session log"),
    ("service/store.py", "empty file (0 bytes)"),  # `boucle record FILE`
    ("service/embedded_broker.py", "mosquitto exited"),  # the demo's own broker
    ("service/nats_cluster.py", "nats-server "),  # the demo's own cluster
    ("service/engine/events.py", "field."),  # a code raised inside msgspec, read back by events._why
    ("decoders/p3/codec.py", "tag 0x"),
    ("decoders/p3/codec.py", "record too long"),  # encoder misuse
}


def _name(func: ast.expr) -> str | None:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _codes(arg: ast.expr | None) -> list[str] | None:
    """The catalogue codes a refusal's first argument can be (None: not a code, e.g. an f-string)."""
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return [arg.value]
    if isinstance(arg, ast.IfExp):
        a, b = _codes(arg.body), _codes(arg.orelse)
        return None if a is None or b is None else a + b
    if (
        isinstance(arg, ast.Attribute) and arg.attr == "code"
    ):  # re-raised as another class: X(exc.code, **exc.params)
        return []
    return None


def refusal_sites() -> tuple[list[str], list[str]]:
    """(problems, codes used): every refusal class built in service/ and decoders/ must be given a
    catalogue code; plain exceptions with a text only where PLAIN_ALLOWED says no caller reads them."""
    problems, used = [], []
    for path in sorted([*(REPO / "service").rglob("*.py"), *(REPO / "decoders").rglob("*.py")]):
        rel = str(path.relative_to(REPO))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = _name(node.func)
            first = node.args[0] if node.args else None
            if name in REFUSALS:
                codes = _codes(first)
                if codes is None:
                    problems.append(f"{rel}:{node.lineno}: {ast.unparse(node)[:90]}")
                used += codes or []
            elif name in PLAIN and isinstance(first, ast.Constant | ast.JoinedStr):
                text = first.value if isinstance(first, ast.Constant) else ast.unparse(first)[2:]
                if not any(rel == f and str(text).startswith(p) for f, p in PLAIN_ALLOWED):
                    problems.append(f"{rel}:{node.lineno}: {ast.unparse(node)[:90]}")
            elif name in ("said", "Coded") and isinstance(first, ast.Constant):
                used.append(first.value)
    return problems, used


def test_every_refusal_is_raised_with_a_catalogue_code():
    problems, used = refusal_sites()
    assert problems == []
    assert len(used) > 250  # really read the sources
    known = set(CATS["en"]["_errors"]) | set(CATS["en"]["_texts"])
    assert sorted({c for c in used if c not in known}) == []


def test_the_scan_catches_a_legacy_refusal(tmp_path, monkeypatch):
    bad = tmp_path / "service" / "x.py"
    bad.parent.mkdir()
    bad.write_text(
        'from service.errors import Invalid\nraise Invalid(f"no car {n!r}")\nraise ValueError("oops")\n'
    )
    (tmp_path / "decoders").mkdir()
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    problems, _ = refusal_sites()
    assert [p.split(":")[1] for p in problems] == ["2", "3"]


def _placeholders(template) -> set[str]:
    texts = template.values() if isinstance(template, dict) else [template]
    return {m for t in texts for m in re.findall(r"(?<!\{)\{(\w+)(?::[^}]*)?\}", t)}


@pytest.mark.parametrize("section", ["_errors", "_texts"])
def test_both_languages_fill_the_same_params(section):
    assert set(CATS["en"][section]) == set(CATS["fr"][section])
    differ = {
        code: (_placeholders(en), _placeholders(CATS["fr"][section][code]))
        for code, en in CATS["en"][section].items()
        if _placeholders(en) - {"n"} != _placeholders(CATS["fr"][section][code]) - {"n"}
    }
    assert differ == {}


def test_decoder_url_errors_say_in_english_what_the_catalogue_says():
    """decoders/ cannot import the catalogue: its English text and the catalogue's must agree."""
    from decoders.errors import DecoderUrlError
    from decoders.sources import open_source

    for url in (
        "ftp://x",
        "p3tcp://",
        "serial://",
        "mqtt://host",
        "p3tcp://h?bogus=1",
        "p3tcp://h?idle=x",
        "protime+udp://h?baud=9",
        "rrs://h?loops=x",
        "wiclax://h",
    ):
        with pytest.raises(DecoderUrlError) as info:
            open_source(url)
        assert str(info.value) == error_text("en", info.value.code, info.value.params)
        assert error_text("fr", info.value.code, info.value.params).startswith(f"{url} :")


# ---- French and English callers, a sample per router --------------------------------------------------

FR, EN = {"Accept-Language": "fr-FR,fr;q=0.9"}, {"Accept-Language": "en-GB,en;q=0.9"}
TOKEN = {"Authorization": "Bearer tok"}


@pytest.fixture
def client(tmp_path):
    with TestClient(create_app(tmp_path, "tok"), raise_server_exceptions=False) as c:
        sid = c.post(
            "/api/sessions",
            json={"name": "R", "session": {"preset": "generic-timed", "kind": "race"}},
            headers=TOKEN,
        ).json()["id"]
        c.post(f"/api/sessions/{sid}/entries", json=[{"number": "1", "transponder": "101"}], headers=TOKEN)
        c.sid = sid
        yield c


def both(client, method: str, path: str, **kw) -> tuple[dict, dict]:
    """The same refused request from a French and an English caller: (French answer, English answer)."""
    out, extra = [], kw.pop("headers", {})
    for head in (FR, EN):
        r = client.request(method, path, headers={**head, **extra}, **kw)
        assert 400 <= r.status_code < 500, (path, r.status_code, r.text)
        out.append(r.json())
    fr, en = out
    assert (fr["code"], fr["params"]) == (en["code"], en["params"]) and fr["detail"] != en["detail"]
    return fr, en


def test_sessions_router_in_french_and_english(client):
    s = f"/api/sessions/{client.sid}"
    fr, en = both(client, "POST", f"{s}/decoders", json={"loop": "finish"}, headers=TOKEN)
    assert en["detail"] == "a decoder needs a 'url' such as p3tcp://HOST:5403"
    assert fr["detail"] == "un décodeur a besoin d'une adresse (« url ») comme p3tcp://HÔTE:5403"
    fr, en = both(client, "POST", f"{s}/cars/999/mechanical", json={}, headers=TOKEN)
    assert (en["detail"], fr["detail"]) == (
        "no car '999' in this session",
        "aucune voiture « 999 » dans cette séance",
    )
    fr, en = both(
        client,
        "POST",
        f"{s}/events",
        json={"type": "passing", "t": -1e9, "transponder": "101", "loop": "finish"},
        headers=TOKEN,
    )
    assert en["detail"] == "passing: 't': Expected float >= -864000.0"
    assert fr["detail"] == "passage : « t » doit être un nombre ≥ -864000"
    assert en["code"] == "line.field" and en["params"]["why"] == {
        "code": "field.bound",
        "params": {"kind": "float", "op": ">=", "bound": "-864000.0"},
    }
    fr, en = both(client, "POST", f"{s}/decoders", json={"url": "ftp://x"}, headers=TOKEN)
    assert fr["detail"].startswith("ftp://x : type d'adresse de décodeur inconnu")
    fr, _ = both(client, "GET", f"{s}/results.csv?decimal=dot")
    assert fr["detail"] == "le séparateur décimal (« decimal ») doit être « comma » ou « point »"


def test_auth_and_limits_in_french_and_english(client):
    s = f"/api/sessions/{client.sid}"
    fr, en = both(client, "POST", f"{s}/signal", json={"signal": "green"})
    assert (en["detail"], fr["detail"]) == (
        "authentication required: send 'Authorization: Bearer <token>'",
        "authentification requise : envoyer « Authorization: Bearer <jeton> »",
    )
    fr, en = both(
        client, "POST", f"{s}/signal", content=b"{NaN", headers={**TOKEN, "Content-Type": "application/json"}
    )
    assert fr["detail"].startswith("le corps de la requête n'est pas du JSON valide")
    fr, en = both(client, "GET", "/api/sessions/x/results.pdf?lang=de")
    assert fr["code"] in ("session.not_found", "request.lang")


def test_meetings_and_seasons_routers_in_french_and_english(client):
    fr, en = both(client, "GET", "/api/meetings/nope")
    assert (en["detail"], fr["detail"]) == ("no meeting 'nope'", "aucun meeting « nope »")
    fr, en = both(
        client, "POST", "/api/meetings", json={"preset": "autocross", "entries": "x"}, headers=TOKEN
    )
    assert fr["code"] == "meeting.needs_entries" and "inscriptions" in fr["detail"]
    fr, en = both(client, "GET", "/api/championships/nope")
    assert (en["detail"], fr["detail"]) == ("no championship 'nope'", "aucun championnat « nope »")
    fr, en = both(
        client, "POST", "/api/championships", json={"championship": "x", "events": []}, headers=TOKEN
    )
    assert fr["detail"].startswith("championnat inconnu « x »")


def test_links_outputs_and_parameters_in_french_and_english(client):
    s = f"/api/sessions/{client.sid}"
    fr, en = both(client, "GET", f"{s}/qr/bogus.svg")
    assert en["detail"].startswith("no staff page for 'bogus'") and fr["detail"].startswith(
        "aucune page d'équipe pour « bogus »"
    )
    fr, en = both(client, "POST", f"{s}/passings/import?offset_s=abc", content=b"x", headers=TOKEN)
    assert (en["code"], en["params"]) == ("request.param_type", {"field": "offset_s", "kind": "float"})
    assert (en["detail"], fr["detail"]) == ("'offset_s' must be float", "« offset_s » doit être un nombre")
    fr, en = both(
        client, "POST", f"{s}/passings/import", content=b"transponder,time\n101,25:61:00\n", headers=TOKEN
    )
    assert fr["detail"] == "ligne 2 : l'heure « 25:61:00 » n'est pas de la forme HH:MM:SS[.fff]"
