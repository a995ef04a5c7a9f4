"""Where and as whom, said apart from the goal: "docs: URL", "see URL", "look it up at
URL", "the data is at URL", "Admin: URL, login admin, pass ...", "Credentials: admin /
...", "My login for URL is ...", "(user ada, password ...)" after any clause.

``pointer`` and ``with_credentials`` are clause rules (see ``grammar``);
``in_order`` puts such context where it belongs once the whole plan is compiled: a
page named after the question that reads it is opened first, and credentials given
before any page is opened are used on the first page the plan opens.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from nodes.agent import actions as a
from nodes.agent.rules.forms import parse_credentials
from nodes.agent.rules.grammar import F
from nodes.agent.rules.split import Masked
from nodes.agent.rules.urls import parse_url

_POINTER = re.compile(
    r"(?!(?:what|which|how|who|whom|whose|when|where|why|is|are|does|do)\b)(?:please\s+)?(?:"
    r"(?:see|check|consult|try|visit|use|at|on|from|via)\b"
    r"|look\s+(?:it\s+|this\s+|that\s+|them\s+)?up\s+(?:at|on|in)"
    r"|look\s+(?:at|on|in)|(?:read|check|see)\s+(?:it\s+)?(?:at|on|in)"
    r"|(?:you(?:['’]ll|\s+will)?\s+(?:can\s+)?find\s+(?:it|them|this|that|the\s+[\w-]+)"
    r"|it['’]s|it\s+is|they['’]re|they\s+are)\s+(?:at|on|in|here:?)"
    r"|(?:(?:the|my|our|its)\s+)?(?:[\w-]+\s+){0,2}?(?:is|are|lives?|can\s+be\s+found|sits?)"
    r"\s+(?:at|on|in|under|here:?)"
    r"|(?:(?:the|my|our)\s+)?(?:[\w-]+\s+){0,2}?[\w-]+\s*:"
    r")\s*(?:the\s+)?(?:(?:web\s*)?(?:page|site|url|link)\s+)?(?P<tok>\S+)(?P<tail>.*)",
    F,
)
_TAIL_LEAD = re.compile(r"^[\s,;:(–—-]*(?:and\s+)?(?:with\s+|using\s+)?", F)


def _strict_url(token: str, m: Masked) -> str | None:
    value = m.value(token)
    url = parse_url(value)
    # "docs: json.dumps" names no page: a pointer's URL is written as one.
    if url is None or not ("://" in value or "/" in value or value.lower().startswith("www.")):
        return None
    return url


def credentials_in(tail: str, m: Masked) -> a.LogIn | None:
    text = _TAIL_LEAD.sub("", tail).strip().rstrip(")").strip()
    if not text:
        return None
    found = parse_credentials(text, m)
    return a.LogIn(*found) if found else None


def pointer(clause: str, m: Masked) -> list[a.Action] | None:
    """ "docs: URL", "see URL", "look it up at URL", "the data is at URL", "Admin: URL,
    login admin, pass s3cret"."""
    found = _POINTER.fullmatch(clause.strip())
    if found is None:
        return None
    url = _strict_url(found["tok"], m)
    if url is None:
        return None
    tail = found["tail"].strip()
    if not tail:
        return [a.Navigate(url)]
    login = credentials_in(tail, m)
    return [a.Navigate(url), login] if login else None


_CRED_START = re.compile(
    r"(?:\s*[(,;–—]\s*|\s+-\s+|\s+)(?=\(?\s*(?:with|using|as|user(?:\s*name)?|login|credentials?"
    r"|e-?mail|account|pass(?:word)?)\b)",
    F,
)


def with_credentials(
    clause: str, m: Masked, parse: Callable[[str, Masked], list[a.Action] | None]
) -> list[a.Action] | None:
    """A clause with credentials attached ("open a new issue called X on URL - user ada,
    password s3cret", "Using the admin at URL (username: admin, password: s3cret)"):
    the rest of the clause, then the log-in right after the page it opens."""
    for cut in _CRED_START.finditer(clause):
        login = credentials_in(clause[cut.start() :], m)
        if login is None:
            continue
        head = clause[: cut.start()].strip(" ,;(")
        actions = parse(head, m) if head else []
        if actions is None:
            return None
        opened = 0
        while opened < len(actions) and isinstance(actions[opened], a.Navigate):
            opened += 1
        return [*actions[:opened], login, *actions[opened:]]
    return None


def _is_context(actions: list[a.Action]) -> bool:
    return bool(actions) and all(isinstance(x, (a.Navigate, a.LogIn)) for x in actions)


def _opens(actions: list[a.Action]) -> bool:
    return any(isinstance(x, (a.Navigate, a.OpenTab)) for x in actions)


def in_order(groups: list[list[a.Action]]) -> list[list[a.Action]]:
    """The clauses' actions with context moved where it belongs:

    - a clause that only opens a page (and logs in), after clauses that read or act on
      a page when none was opened before it, goes first ("When was Cassini launched?
      See URL");
    - a log-in given before any page is opened goes after the first clause that opens
      one ("Credentials: admin / s3cret. Go to URL and make grace a superuser")."""
    groups = [g for g in groups if g]
    for i, group in enumerate(groups):
        if i and _is_context(group) and _opens(group) and not any(_opens(g) for g in groups[:i]):
            # with the log-ins that follow it ("Admin: URL, login admin, pass s3cret")
            end = i + 1
            while end < len(groups) and all(isinstance(x, a.LogIn) for x in groups[end]):
                end += 1
            groups = [*groups[i:end], *groups[:i], *groups[end:]]
            break
    first_open = next((i for i, g in enumerate(groups) if _opens(g)), None)
    if first_open:
        early = [g for g in groups[:first_open] if all(isinstance(x, a.LogIn) for x in g)]
        if early:
            opening = groups[first_open]
            cut = next(
                (j for j, x in enumerate(opening) if not isinstance(x, (a.Navigate, a.OpenTab))),
                len(opening),
            )
            before = [g for g in groups[:first_open] if g not in early]
            logins = [x for g in early for x in g]
            groups = [
                *before,
                [*opening[:cut], *logins, *opening[cut:]],
                *groups[first_open + 1 :],
            ]
    return groups


def check_site(clause: str, m: Masked) -> list[a.Action] | None:
    """ "Check the docs at URL - what's the value of math.e?": a site, then a goal, not a
    checkbox to tick."""
    from nodes.agent.rules.questions import site_prefix  # questions imports the planner

    if not re.match(
        r"(?:check|see|consult)\s+(?:out\s+)?(?:the\s+)?[\w' -]{0,60}?\b(?:at|on)\s",
        clause.strip(),
        F,
    ):
        return None
    return site_prefix(clause, m)
