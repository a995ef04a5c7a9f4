"""Clause rules for checkboxes, tabs, waiting for text, scrolling to text and extraction.

Same contract as ``phrases``: a masked clause in, actions or None out.
"""

from __future__ import annotations

import re

from nodes.agent import actions as a
from nodes.agent.rules.pages import is_quoted, match
from nodes.agent.rules.split import Masked
from nodes.agent.rules.urls import parse_url

_BOX_KIND = r"(?:\s+(?:checkbox|check\s*box|tick\s*box|box|option|toggle|switch|radio\s+button))?"


def set_checked(clause: str, m: Masked) -> list[a.Action] | None:
    # "check that the page says X" is a question, not a checkbox.
    if match(r"check\s+(?:that|if|whether)\b.*", clause):
        return None
    found = match(
        r"(?P<verb>check|tick|mark|uncheck|untick|unmark|turn\s+on|turn\s+off|switch\s+on"
        r"|switch\s+off|clear)\s+(?:the\s+)?(?:(?:checkbox|check\s*box|box|switch|toggle)\s+)?"
        rf"(?P<field>.+?){_BOX_KIND}",
        clause,
    )
    if not found:
        return None
    verb = " ".join(found["verb"].lower().split())
    # "clear" alone more often means emptying a text field.
    if verb == "clear" and not re.search(
        r"(?:check\s*box|tick\s*box|toggle|switch)$", clause.strip(), re.I
    ):
        return None
    checked = verb in ("check", "tick", "mark", "turn on", "switch on")
    field = m.value(found["field"])
    return [a.SetChecked(field, checked)] if field else None


def clear_field(clause: str, m: Masked) -> list[a.Action] | None:
    found = match(
        r"(?:clear|empty)\s+(?:the\s+)?(?P<field>.+?)(?:\s+(?:field|input|box|text\s*box|textarea))?",
        clause,
    )
    return [a.TypeText(m.value(found["field"]), "")] if found else None


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


_APPEAR = (
    r"to\s+(?:appear|show\s+up|be\s+(?:visible|shown|displayed))"
    r"|appears|shows\s+up|is\s+(?:visible|shown|displayed)"
)
_GONE = r"to\s+(?:disappear|go\s+away|vanish)|disappears|goes\s+away|vanishes|is\s+gone"


def wait_for_text(clause: str, m: Masked) -> list[a.Action] | None:
    found = match(
        r"wait\s+(?:for|until|till)\s+(?:the\s+)?(?:(?:text|message|words?)\s+)?(?P<text>.+?)"
        rf"(?:\s+(?P<appear>{_APPEAR})|\s+(?P<gone>{_GONE}))?",
        clause,
    )
    if not found or not (found["appear"] or found["gone"] or is_quoted(found["text"])):
        return None
    return [a.WaitForText(m.value(found["text"]), gone=bool(found["gone"]))]


def scroll_to(clause: str, m: Masked) -> list[a.Action] | None:
    found = match(
        r"scroll\s+(?:down\s+|up\s+)?(?:to|until\s+you\s+see)\s+(?:the\s+)?(?P<t>.+)", clause
    )
    if not found:
        return None
    return [a.ScrollTo(m.value(found["t"]))]


_SHAPES = {
    "links": "links",
    "link": "links",
    "headings": "headings",
    "headers": "headings",
    "heading": "headings",
    "tables": "tables",
    "table": "tables",
    "rows": "tables",
    "table rows": "tables",
    "table data": "tables",
    "form fields": "fields",
    "form values": "fields",
    "form data": "fields",
    "fields": "fields",
    "field values": "fields",
    "lists": "lists",
    "list": "lists",
    "list items": "lists",
    "bullet points": "lists",
}


def extract_shape(clause: str, m: Masked) -> list[a.Action] | None:
    found = match(
        r"(?:extract|get|return|list|show|collect|give\s+me|output|scrape)\s+(?:me\s+)?(?:all\s+)?"
        r"(?:of\s+)?(?:the\s+)?(?:page's\s+)?(?P<shape>[a-z]+(?:\s+[a-z]+)?)"
        r"(?:\s+(?:on|from|of|in)\s+(?:the|this)\s+(?:page|site))?(?:\s+as\s+json)?",
        clause,
    )
    shape = _SHAPES.get(" ".join(found["shape"].lower().split())) if found else None
    return [a.Extract(shape)] if shape else None


_MODIFIERS = {"ctrl": "Control", "control": "Control", "alt": "Alt", "shift": "Shift",
              "meta": "Meta", "cmd": "Meta", "command": "Meta", "option": "Alt"}  # fmt: skip


def key_combo(clause: str, m: Masked) -> list[a.Action] | None:
    """ "press Ctrl+A", "press F5": chords and function keys by their usual names."""
    found = match(r"(?:press|hit|send|type)\s+(?:the\s+)?(?P<keys>[\w+\- ]+?)(?:\s+keys?)?", clause)
    if not found:
        return None
    parts = [p.strip() for p in re.split(r"\s*[+-]\s*", found["keys"]) if p.strip()]
    if len(parts) > 1 and all(p.lower() in _MODIFIERS for p in parts[:-1]) and len(parts[-1]) == 1:
        return [a.PressKey("+".join([_MODIFIERS[p.lower()] for p in parts[:-1]] + [parts[-1]]))]
    if len(parts) == 1 and re.fullmatch(r"f(?:[1-9]|1[0-2])", parts[0], re.I):
        return [a.PressKey(parts[0].upper())]
    return None
