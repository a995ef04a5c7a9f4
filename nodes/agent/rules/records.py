"""Clause rules for changing an application's records: "create a group called
Translators", "file a new issue titled '...'", "make ada a staff member", "deactivate
the account of grace".

Same contract as every rules module (see ``grammar``). Each becomes the grammar's own
steps, as a person clicks through a back office, so the replay script repeats it and
every step keeps its honest-success check:

- create: the link to the kind's list or its add form ("Groups", "Create New"), then
  "Add <kind>" / "New <kind>" on the list, the name typed into "Name" (or "Title" for
  what is titled: issues, tickets, posts), the form saved, and the name waited for on
  the page that follows (a form sent back with errors does not show it as text);
- a role or a flag: the users' list, the user's link, the checkbox whose label names
  the role ("Staff status" for staff, "Active" for (de)activate), the form saved.

When a page has none of these, the step fails saying what it looked for.
"""

from __future__ import annotations

from nodes.agent import actions as a
from nodes.agent.rules.grammar import match
from nodes.agent.rules.split import Masked
from nodes.agent.rules.urls import parse_url

_NAME = r"(?P<name>\x00\d+\x00|[^\x00]+?)"
_URL = r"(?:\s+(?:on|at|in|to)\s+(?:the\s+)?(?:[\w-]+\s+){0,2}?(?:at\s+)?(?P<url>\S+))?"
_CREATE_VERB = r"(?:create|add|make|set\s+up|file|report|submit|register|raise|post)"
_KEYS = r"(?:called|named|titled|entitled|with|for)\b"
_KIND = rf"(?P<kind>(?!{_KEYS})[a-z][\w-]*(?:\s+(?!{_KEYS})[a-z][\w-]*)?)"
_CALLED = (
    r"(?:\s+(?P<key>called|named|titled|entitled|with\s+(?:the\s+)?(?P<what>name|title|subject)"
    r"(?:\s+of)?)\s*:?\s*|\s*:\s*|\s+(?=\x00))"
)
# What is titled rather than named (the form's field says "Title").
_TITLED = frozenset(
    "issue issues bug bugs ticket tickets post posts article articles task tasks story stories"
    " page pages topic topics question questions report reports request requests".split()
)
SAVE_NAMES = ("Save", "Submit", "Submit New Entry", "Create", "Save changes", "Add", "OK")


def _plural(kind: str) -> str:
    if kind.endswith("s"):
        return kind
    if kind.endswith("y") and kind[-2:-1] not in "aeiou":
        return kind[:-1] + "ies"
    return kind + "s"


def create_record(clause: str, m: Masked) -> list[a.Action] | None:
    """ "create a group called Translators", "add a new group named 'Editors'", "file a
    new issue titled 'X'", "report a new bug: 'X'", "open a new ticket called X on URL"."""
    found = match(
        rf"{_CREATE_VERB}\s+(?:(?:a|an|one)\s+)?(?:new\s+)?{_KIND}{_CALLED}{_NAME}{_URL}",
        clause,
    ) or match(
        # "open", "start", "log": only "a new <kind>" ("open the page called X" opens it).
        rf"(?:open|start|log|enter|put\s+in)\s+(?:an?\s+)?new\s+{_KIND}{_CALLED}{_NAME}{_URL}",
        clause,
    )
    if found is None:
        return None
    kind = found["kind"].lower()
    if kind.split()[-1] in ("tab", "window", "page") and not found["key"]:
        return None  # "open a new tab: ..." is the tabs' rule
    name = m.value(found["name"]).strip()
    if not name or len(name) > 200:
        return None
    url = None
    if found["url"]:
        url = parse_url(m.value(found["url"]))
        if url is None:
            return None
    last = kind.split()[-1]
    titled = (found["key"] or "").lower() in ("titled", "entitled") or (found["what"] or "") in (
        "title",
        "subject",
    )
    field = "title" if titled or last in _TITLED else "name"
    singular, plural = kind.title(), _plural(kind).title()
    cap = kind.capitalize()
    actions: list[a.Action] = [a.Navigate(url)] if url else []
    return [
        *actions,
        a.ClickAny(
            f"go to the {_plural(kind)}",
            (
                f"Add {kind}",
                f"New {kind}",
                f"Create {kind}",
                f"Create new {kind}",
                "Create New",
                plural,
                _plural(cap),
                singular,
            ),
        ),
        a.ClickAny(
            f"add {'an' if kind[:1] in 'aeiou' else 'a'} {kind}",
            (
                f"Add {kind}",
                f"New {kind}",
                f"Create {kind}",
                f"Create new {kind}",
                f"Add a {kind}",
                f"Add new {kind}",
                "Create New",
                "New",
            ),
        ),
        a.TypeText(field, name),
        a.ClickAny("save", SAVE_NAMES),
        a.WaitForText(name),
    ]


_ROLE = r"(?P<role>[a-z][\w-]*)"
# A user's name, never a pronoun: "give me the text" asks for a result.
_WHO = (
    r"(?!(?:me|us|you|him|her|them|it|everyone|everybody)\b)"
    r"(?P<who>\x00\d+\x00|[\w.@-]+)"
)
_ROLE_TAIL = r"(?:\s+(?:member|user|account|status|rights|access|permissions?|privileges|role))*"


def _flag_steps(who: str, label: str, on: bool) -> list[a.Action]:
    return [
        a.ClickAny("go to the users", ("Users", "Accounts", "Members", "People", "User list")),
        a.Click(who),
        a.SetChecked(label, on),
        a.ClickAny("save", SAVE_NAMES),
    ]


def set_role(clause: str, m: Masked) -> list[a.Action] | None:
    """ "make ada a staff member", "give grace staff status", "grant bob superuser
    rights", "promote ada to superuser", "deactivate the account of grace",
    "activate user bob"."""
    found = (
        match(rf"make\s+(?:user\s+)?{_WHO}\s+(?:an?\s+)?{_ROLE}{_ROLE_TAIL}", clause)
        or match(rf"(?:give|grant)\s+(?:user\s+)?{_WHO}\s+(?:the\s+)?{_ROLE}{_ROLE_TAIL}", clause)
        or match(rf"promote\s+(?:user\s+)?{_WHO}\s+to\s+(?:an?\s+)?{_ROLE}{_ROLE_TAIL}", clause)
    )
    if found:
        role = found["role"].lower()
        if role in ("new", "copy", "list", "screenshot", "note", "change", "backup"):
            return None
        return _flag_steps(m.value(found["who"]), role, True)
    found = match(
        rf"(?P<verb>de-?activate|activate|disable|enable|suspend|block|unblock|re-?activate)\s+"
        rf"(?:the\s+)?(?:(?:user|account|member)\s+(?:of\s+)?)?(?:(?:user|account|member)\s+)?"
        rf"{_WHO}(?:['’]s\s+account)?",
        clause,
    )
    if found:
        verb = found["verb"].lower().replace("-", "")
        on = verb in ("activate", "enable", "unblock", "reactivate")
        return _flag_steps(m.value(found["who"]), "Active", on)
    return None
