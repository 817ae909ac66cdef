"""Domain errors: what a command refuses, said in the domain's words, never in HTTP's.

Commands (`LiveSession`, the meeting service, seasons) raise these; the one place that turns them
into HTTP answers is `service/http_errors.py`. The classes also subclass the matching builtin
(`ValueError`, `LookupError`) so pure code that already catches those keeps working.
"""

from __future__ import annotations


class BoucleError(Exception):
    """Base of every refusal a caller can correct (a bug is not a BoucleError)."""


class Invalid(BoucleError, ValueError):
    """The request is malformed or breaks a rule of the input (bad field, unknown rule, ...)."""


class TooLarge(Invalid):
    """The request is well formed but bigger than the service accepts at once."""


class NotFound(BoucleError, LookupError):
    """What the request names does not exist (session, car, penalty, correction, meeting...)."""


class Forbidden(BoucleError):
    """The caller is known, but the rules give this decision to another role (who signs what)."""


class Conflict(BoucleError):
    """The request is valid but the current state forbids it (already reverted, wrong stage...)."""


class Unavailable(BoucleError):
    """The service cannot record anything right now (the event log cannot be written)."""
