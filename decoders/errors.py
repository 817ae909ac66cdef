"""Refusals of the decoders package, with a catalogue code and params like the service's errors.

`decoders/` never imports `service/`, so this class follows the convention of service/errors.py
without its base class: `code` names a text in the `_errors` section of web/i18n/LANG.json and
`params` the values it names; `service/http_errors.py` renders any exception with both in the
caller's language. It is a `ValueError`, so callers that catch those keep working.
"""

from __future__ import annotations

from typing import Any

from decoders.reach import mask_url

_ENGLISH = {  # str(exc), for logs and the command line: the same texts as web/i18n/en.json `_errors`
    "decoder.url_expected": "{url}: expected {form}",
    "decoder.url_unknown_option": "{url}: unknown option {option} (known: {known})",
    "decoder.url_not_number": "{url}: option {option}={value} is not a number",
    "decoder.url_other_link": "{url}: option {option} is for another kind of link",
    "decoder.url_scheme": "{url}: unknown decoder URL scheme (use {schemes})",
    "decoder.url_loops": (
        "{url}: loops: '{part}' is not NAME:LOOP with LOOP one of {loops} (or - to leave it out)"
    ),
}


class DecoderUrlError(ValueError):
    """A decoder URL this package cannot open, said with a code the catalogues translate."""

    def __init__(self, code: str, /, **params: Any) -> None:
        if isinstance(params.get("url"), str):  # never a password in a refusal, a log or an answer
            params["url"] = mask_url(params["url"])
        self.code, self.params = code, params
        super().__init__(_ENGLISH.get(code, code).format(**params))
