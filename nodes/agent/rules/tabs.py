"""Clause rules for tabs: opening a page in a new tab, switching to and closing tabs.

Same contract as every rules module (see ``grammar``).
"""

from __future__ import annotations

from nodes.agent import actions as a
from nodes.agent.rules.grammar import match
from nodes.agent.rules.split import Masked
from nodes.agent.rules.urls import parse_url

_POSITIONS = r"first|second|third|fourth|fifth|last|previous|next|new|newest|latest|other|original"


def switch_tab(clause: str, m: Masked) -> list[a.Action] | None:
    found = match(
        rf"(?:switch|go|change|move)\s+(?:back\s+)?to\s+(?:the\s+)?(?:(?P<pos>{_POSITIONS})\s+tab"
        r"|tab\s+(?:number\s+|no\.?\s*|#)?(?P<n>\d+)"
        r"|tab\s+(?:titled\s+|named\s+|called\s+)?(?P<name>\x00\d+\x00))",
        clause,
    )
    if not found:
        return None
    which = found["pos"] or found["n"] or m.value(found["name"])
    return [a.SwitchTab(which.lower() if found["pos"] else which)]


def close_tab(clause: str, m: Masked) -> list[a.Action] | None:
    found = match(
        rf"close\s+(?:the\s+)?(?:(?:current|this|active)\s+)?(?:(?P<pos>{_POSITIONS})\s+)?tab"
        r"(?:\s+(?:number\s+|no\.?\s*|#)?(?P<n>\d+))?",
        clause,
    )
    if not found:
        return None
    return [a.CloseTab((found["pos"] or found["n"] or "current").lower())]


def open_in_new_tab(clause: str, m: Masked) -> list[a.Action] | None:
    found = match(
        r"open\s+(?:the\s+)?(?:(?:page|site|url|link)\s+)?(?P<url>\S+)\s+in\s+a\s+new\s+tab",
        clause,
    )
    if not found:
        found = match(r"open\s+a\s+new\s+tab\s+(?:with|at|for)\s+(?P<url>\S+)", clause)
    url = parse_url(m.value(found["url"])) if found else None
    return [a.OpenTab(url)] if url else None
