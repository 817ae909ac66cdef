"""Domain errors: what a command refuses, said in the domain's words, never in HTTP's.

Commands (`LiveSession`, the meeting service, seasons) raise these; the one place that turns them
into HTTP answers is `service/http_errors.py`. The classes also subclass the matching builtin
(`ValueError`, `LookupError`) so pure code that already catches those keeps working.

Every refusal a person may read carries a stable `code` and its `params`
(`NotFound("session.no_car", number="999")`); the words live in the catalogues
(web/i18n/LANG.json, section `_errors`), so the caller reads them in its own language
(`service.i18n.error_text`). `str(exc)` is the English text, for logs and the command line.
A param may itself be coded (an exception or a `service.i18n.Said`): it is said in the same language
("item 3: <why item 3 is refused>"). Any exception with `code` and `params` attributes renders the same
way (code in `decoders/`, which must not import this module, follows the convention without the class).
A first argument that is not a code (`error.text`) is kept only for texts of third-party code;
tests/test_errors_i18n.py fails on a refusal raised with a literal text.
"""

from __future__ import annotations

import re
from typing import Any

from service.i18n import error_text

CODE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")  # "session.no_car": a catalogue key


class BoucleError(Exception):
    """Base of every refusal a caller can correct (a bug is not a BoucleError).

    `BoucleError("area.what", **params)`: a catalogue code and the values its text names.
    A first argument that is not a code is an untranslated legacy message (code `error.text`).
    """

    def __init__(self, code: str, /, **params: Any) -> None:
        if CODE.match(code):
            self.code, self.params = code, params
        else:
            self.code, self.params = "error.text", {"text": code, **params}
        super().__init__(render(self.code, self.params))


def render(code: str, params: dict[str, Any], lang: str = "en") -> str:
    """The text of a coded refusal in `lang` (the catalogues are read once; see service.i18n)."""
    return error_text(lang, code, params)


class Invalid(BoucleError, ValueError):
    """The request is malformed or breaks a rule of the input (bad field, unknown rule, ...)."""


class TooLarge(Invalid):
    """The request is well formed but bigger than the service accepts at once."""


class NotFound(BoucleError, LookupError):
    """What the request names does not exist (session, car, penalty, correction, meeting...)."""


class Unauthorized(BoucleError):
    """The caller did not say who it is, or with a token nobody issued (HTTP 401, asks for a Bearer token)."""

    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(BoucleError):
    """The caller is known, but the rules give this decision to another role (who signs what)."""


class Conflict(BoucleError):
    """The request is valid but the current state forbids it (already reverted, wrong stage...)."""
