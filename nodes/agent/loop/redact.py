"""Keeping the secrets a task types (passwords) out of what a run reports.

A step's description never shows a password (``LogIn`` and typing into a password
field describe it as ``MASK``), but a page may echo it back: in a URL (a login form
sent with GET), in an error, in the text a step returns. The runner passes every
step record and the result through ``Redactor.mask`` with the secrets of the
actions run so far.
"""

from __future__ import annotations

from urllib.parse import quote, quote_plus

from nodes.agent import actions as a
from nodes.agent.forms.describe import parse_description

# Shorter secrets would blank out ordinary words and digits all over the report;
# the step descriptions hide them anyway.
MIN_SECRET_CHARS = 3


def secrets_of(action: a.Action) -> tuple[str, ...]:
    if isinstance(action, a.LogIn):
        return (action.password,)
    if isinstance(action, a.TypeText) and a.SECRET_FIELD.search(action.field):
        return (action.text,)
    if isinstance(action, a.FillForm):
        values = parse_description(action.description).values
        return tuple(v.value for v in values if v.key == "password")
    return ()


class Redactor:
    def __init__(self) -> None:
        self._secrets: list[str] = []

    def learn(self, action: a.Action) -> None:
        for secret in secrets_of(action):
            if len(secret) < MIN_SECRET_CHARS:
                continue
            # As typed, and as a form sent with GET puts it in a URL.
            for form in (secret, quote(secret, safe=""), quote_plus(secret)):
                if form not in self._secrets:
                    self._secrets.append(form)
            self._secrets.sort(key=len, reverse=True)  # "abc1" before "abc"

    def mask(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, a.MASK)
        return text

    def mask_optional(self, text: str | None) -> str | None:
        return None if text is None else self.mask(text)
