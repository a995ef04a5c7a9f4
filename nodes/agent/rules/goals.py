"""Clause rules for goals rather than elements: "accept the cookies", "go to the
contact page", "change the currency to EUR".

Each goal becomes the element texts that usually reach it; the executor clicks
the first visible element whose text, label or title matches one of them.
"""

from __future__ import annotations

from nodes.agent import actions as a
from nodes.agent.act.languages import is_known_language
from nodes.agent.rules.grammar import match
from nodes.agent.rules.split import Masked

# (pattern, the step's description, element texts in order of preference)
_FIXED: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        r"(?:accept|allow|agree\s+to|ok|okay)\s+(?:all\s+)?(?:the\s+)?cookies?(?:\s+banner)?",
        "accept the cookies",
        ("Accept all", "Accept all cookies", "Allow all", "Accept cookies", "Accept",
         "I agree", "Agree", "Allow", "OK", "Got it"),
    ),
    (
        r"(?:reject|decline|refuse|deny)\s+(?:all\s+)?(?:the\s+)?(?:optional\s+|non-essential\s+)?"
        r"cookies?",
        "reject the cookies",
        ("Reject all", "Reject", "Decline all", "Decline", "Only necessary",
         "Necessary cookies only", "Refuse", "Deny"),
    ),
    (
        r"(?:log|sign)\s*(?:in|on)",
        "log in",
        ("Log in", "Sign in", "Login", "Log on", "Sign on", "Continue"),
    ),
    (r"(?:log|sign)\s*(?:out|off)", "log out", ("Log out", "Sign out", "Logout", "Log off")),
    (
        r"(?:submit|send)(?:\s+(?:the|this|my)\s+(?:form|order|request|message|application))?"
        r"|submit\s+it",
        "submit the form",
        ("Submit", "Send", "Submit order", "Place order", "Save", "Continue", "OK"),
    ),
    (
        r"(?:go\s+to|open|show|load)\s+(?:the\s+)?next\s+page(?:\s+of\s+results)?|next\s+page",
        "go to the next page",
        ("Next", "Next page", "Next ›", "Next »", "›", "»", "→", "Older", "More results"),
    ),
    (
        r"go\s+home|(?:go\s+to|open|return\s+to|navigate\s+to)\s+(?:the\s+)?"
        r"(?:home\s*page|home|start\s+page|main\s+page|front\s+page)",
        "go to the home page",
        ("Home", "Homepage", "Home page", "Start", "Main page"),
    ),
    (
        r"(?:close|dismiss)\s+(?:the\s+)?(?:dialog|popup|pop-up|modal|banner|overlay|notice)",
        "close the dialog",
        ("Close", "×", "✕", "✖", "Dismiss", "No thanks", "Not now", "Got it", "OK"),
    ),
    (
        r"open\s+(?:the\s+)?(?:main\s+|navigation\s+|site\s+)?menu",
        "open the menu",
        ("Menu", "Open menu", "Main menu", "Navigation", "☰"),
    ),
)  # fmt: skip


def goal(clause: str, m: Masked) -> list[a.Action] | None:
    for pattern, description, names in _FIXED:
        if match(pattern, clause):
            return [a.ClickAny(description, names)]
    return None


def page_goal(clause: str, m: Masked) -> list[a.Action] | None:
    """ "go to the contact page", "open the pricing section": a link or tab named so."""
    found = match(
        r"(?:go\s+to|navigate\s+to|open|visit)\s+(?:the\s+)?(?:site's\s+)?"
        r"(?P<name>(?:[\w'’-]+\s+){0,2}?[\w'’-]+|\x00\d+\x00)\s+(?:page|section|tab|area|screen)",
        clause,
    )
    if not found:
        return None
    name = m.value(found["name"])
    return [a.ClickAny(f"go to the {name} page", (name, f"{name} page"))]


def choose_setting(clause: str, m: Masked) -> list[a.Action] | None:
    """ "change the currency to EUR", "set the sort order to 'Newest'"."""
    found = match(
        r"(?:change|set|switch)\s+(?:the\s+)?(?P<setting>(?:[\w'’-]+\s+){0,3}?[\w'’-]+|\x00\d+\x00)"
        r"\s+to\s+(?:the\s+)?(?P<value>.+)",
        clause,
    )
    if not found:
        return None
    setting, value = m.value(found["setting"]), m.value(found["value"])
    if setting.lower() in ("it", "this", "that") or is_known_language(setting):
        return None
    return [a.ChooseSetting(setting, value)]
