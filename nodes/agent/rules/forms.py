"""Clause rules for logging in with credentials and for filling a form from a description.

Same contract as ``nodes.agent.rules.pages``: a masked clause in, actions or None out.
Credentials come in many shapes, all understood with or without quotes:

    log in (user ada, password s3cret)          sign in as ada / s3cret
    log in with username ada and password s3cret
    log into https://x.test/login as ada with password s3cret
    login: ada, pass: s3cret                    log in with the credentials ada:s3cret
    use the account ada (password s3cret)

A password with spaces, or ending in ".", must be quoted; a "!" or "?" at its end is
the password's ("password SuperSecretPassword!"), not the end of the sentence.
"""

from __future__ import annotations

import re

from nodes.agent import actions as a
from nodes.agent.forms.describe import parse_description
from nodes.agent.rules.grammar import match
from nodes.agent.rules.split import Masked
from nodes.agent.rules.urls import parse_url

_I = re.IGNORECASE
_LOGIN_VERB = (
    r"(?:log\s*-?\s*in(?:to)?|log\s+on(?:to)?|sign\s*-?\s*in(?:to)?|sign\s+on|authenticate"
    r"|use|using|with)"
)
_VALUE = r"(?:\x00\d+\x00|[^\s,;()]+)"
# A user name stops at "/" and ":", which separate it from the password in "ada/s3cret".
_USER_VALUE = r"(?:\x00\d+\x00|[^\s,;()/:]+)"
_USER_KEY = r"(?:user\s*-?\s*name|user|login|e-?mail(?:\s+address)?|account|login\s+name)"
# A value as the user wrote it (quotes not masked yet), as far as the parse reads it: the
# "," or ")" after it is the sentence's, and stays.
_SHOWN_VALUE = r"(?:\"[^\"]*\"|'[^']*'|“[^”]*”|[^\s,;()]+)"
PASS_KEY = r"(?:password|passwort|pass\s*word|passcode|pass|pwd|pw)"
_IS = r"\s*(?:[:=]|\bis\b)?\s*"
_FILLER = frozenset(
    {"with", "and", "using", "the", "my", "your", "a", "an", "credentials", "credential",
     "account", "as", "following", "these", "those", "details", "of", "user", "in", "to"}
)  # fmt: skip


def parse_credentials(text: str, m: Masked) -> tuple[str, str] | None:
    """(user, password) from the words after "log in", or None unless both are there
    and nothing else is left but filler words."""
    text = f" {text} "
    password = re.search(rf"\b{PASS_KEY}\b{_IS}(?P<v>{_VALUE})", text, _I)
    if password is not None:
        rest = text[: password.start()] + " " + text[password.end() :]
        user = re.search(
            rf"(?:\b{_USER_KEY}\b{_IS}|\bas\s+(?:(?:the\s+)?{_USER_KEY}\s+)?|^\s*:\s*)"
            rf"(?P<v>{_USER_VALUE})",
            rest,
            _I,
        )
        if user is None:
            return None
        values = (user["v"], password["v"])
        rest = rest[: user.start()] + " " + rest[user.end() :]
    else:
        pair = re.search(
            rf"(?:\bas\b|\bcredentials?\b|\b{_USER_KEY}\b|\bwith\b|\busing\b|^(?!\s*(?:the\s+)?credentials?\b))\s*:?\s*"
            rf"(?P<u>{_USER_VALUE})\s*[/:]\s*(?P<p>{_VALUE})",
            text,
            _I,
        )
        if pair is None:
            return None
        values = (pair["u"], pair["p"])
        rest = text[: pair.start()] + " " + text[pair.end() :]
    if not set(re.findall(r"[^\W\d]+", rest.lower())) <= _FILLER:
        return None
    user_value, password_value = (m.value(v).strip() for v in values)
    if not user_value or not password_value:
        return None
    return user_value, password_value


_MY_LOGIN = re.compile(
    r"(?:my|the|our|your)\s+(?:login|log-in|credentials?|account|user\s*name|details)"
    r"\s+(?:for|at|on|to)\s+(?:the\s+)?(?:[\w-]+\s+){0,2}?(?:at\s+)?(?P<url>\S+)"
    r"\s+(?:is|are)\s*:?\s*(?P<rest>.+)",
    _I | re.DOTALL,
)
_SITE_AT = re.compile(r"^(?:the\s+)?[\w' -]{0,60}?\b(?:at|on)\s+(?P<tok>\S+)\s*", _I)


def log_in(clause: str, m: Masked) -> list[a.Action] | None:
    """A clause that logs in with credentials, optionally at a URL first."""
    clause = clause.strip()
    if clause.startswith("(") and clause.endswith(")"):
        clause = clause[1:-1]
    mine = _MY_LOGIN.fullmatch(clause)
    if mine is not None and (url := parse_url(m.value(mine["url"]))) is not None:
        rest = mine["rest"]
        credentials = parse_credentials(rest, m) or parse_credentials(f"user {rest}", m)
        return [a.Navigate(url), a.LogIn(*credentials)] if credentials else None
    found = match(
        rf"(?P<verb>{_LOGIN_VERB})\b\s*(?:(?:to|into|onto|on|at)\s+)?(?P<rest>.*)", clause
    )
    if found is None:
        found = match(r"(?P<verb>)(?P<rest>(?:the\s+)?(?:credentials?|user\s*name)\b.*)", clause)
        if found is None:
            return None
    rest = found["rest"]
    url = None
    first = rest.split(maxsplit=1)
    site = _SITE_AT.match(rest)
    if first and (candidate := parse_url(m.value(first[0]))) is not None:
        url, rest = candidate, (first[1] if len(first) > 1 else "")
    elif (
        site
        and "/" in m.value(site["tok"])
        and (candidate := parse_url(m.value(site["tok"]))) is not None
    ):
        # "log in to the tracker at URL (user ada, password s3cret)"
        url, rest = candidate, rest[site.end() :]
    elif found["verb"].lower() not in ("use", "using", "with", ""):
        # "log in to the admin site as ada / s3cret": the site's name says nothing more.
        rest = re.sub(
            r"^(?!as\b|with\b|using\b)[\w' -]+?\s+(?=as\b|with\b|using\b|\()", "", rest, flags=_I
        )
    # "use ada / s3cret to log in"
    rest = re.sub(r"\s+to\s+(?:log|sign)\s*-?\s*(?:in|on)(?:\s+with)?\s*$", "", rest, flags=_I)
    credentials = parse_credentials(rest, m)
    if credentials is None and re.fullmatch(r"log\s*-?\s*in", found["verb"], _I):
        credentials = parse_credentials(f"user {rest}", m)  # "login admin, pass s3cret"
    if credentials is None:
        return None
    actions: list[a.Action] = [a.Navigate(url)] if url else []
    return [*actions, a.LogIn(*credentials)]


def fill_form(clause: str, m: Masked) -> list[a.Action] | None:
    """ "use the order form at URL to order a medium pizza for Ada, phone ...", "fill in
    the form with name Ada, email ada@x.test", "order a large pizza with bacon for Ada",
    "book a table for Ada at 19:30": the whole description goes to ``FillForm``, which
    reads the form at run time."""
    found = match(
        r"(?:use|fill\s+(?:in|out)|fill|complete|submit|send)\s+(?:the\s+|an?\s+)?"
        r"(?:[\w-]+\s+){0,2}?form(?:\s+(?:at|on)\s+(?P<url>\S+))?"
        r"(?:\s+(?:to|and|with|for)\s+|\s*:\s*)(?P<desc>.+)",
        clause,
    )
    url = None
    if found is not None:
        if found["url"]:
            url = parse_url(m.value(found["url"]))
            if url is None:
                return None
    else:
        found = match(
            r"(?P<desc>(?:order|book|reserve)\s+(?!(?:the\s+)?(?:\w+\s+)?by\b).+)", clause
        )
        if found is None:
            return None
    description = m.restore(found["desc"]).strip()
    parsed = parse_description(description)
    if not parsed.values and not parsed.words:
        return None
    return [*([a.Navigate(url)] if url else []), a.FillForm(description)]


def hide_passwords(clause: str) -> str:
    """A clause to quote in an error, with what looks like a password masked: the value
    after a password key word, or after "as <user> /" and "credentials <user>:"."""
    # "Password with hunter2": the value, not the "with"
    clause = re.sub(
        rf"(\b{PASS_KEY}\b{_IS}(?:with\s+)?){_SHOWN_VALUE}", rf"\1{a.MASK}", clause, flags=_I
    )
    clause = re.sub(
        rf"(\b(?:as|credentials?)\s*:?\s*{_USER_VALUE}\s*[/:]\s*){_SHOWN_VALUE}",
        rf"\1{a.MASK}",
        clause,
        flags=_I,
    )
    # "hunter2 as the password": the value before the key word.
    clause = re.sub(
        rf"(?<![^\s,;()]){_SHOWN_VALUE}(\s+as\s+(?:the\s+|my\s+|your\s+)?{PASS_KEY}\b)",
        rf"{a.MASK}\1",
        clause,
        flags=_I,
    )
    # "with admin / s3cret", "admin / s3cret": a pair written apart by " / " (a URL's
    # slashes have no spaces around them).
    return re.sub(
        rf"(\b{_USER_VALUE}\s+/\s+)(?!{re.escape(a.MASK)}){_SHOWN_VALUE}",
        rf"\1{a.MASK}",
        clause,
        flags=_I,
    )
