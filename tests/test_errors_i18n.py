"""Refusals carry a stable code and params, and their text is in the caller's language (issue 22):
`?lang=`, else Accept-Language, else English; every code has a text in both catalogues."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from service.app import create_app
from service.errors import NotFound
from service.i18n import error_text
from tests.web_helpers import REPO

CATS = {lang: json.loads((REPO / "web" / "i18n" / f"{lang}.json").read_text(encoding="utf-8")) for lang in ("en", "fr")}


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
    assert fr.json() == {"detail": "aucune séance « nope »", "code": "session.not_found", "params": {"session": "nope"}}
    en = client.get("/api/sessions/nope", headers={"Accept-Language": "de-DE,en-GB;q=0.8"})
    assert en.json()["detail"] == "no session 'nope'"
    assert client.get("/api/sessions/nope?lang=fr").json()["detail"] == "aucune séance « nope »"
