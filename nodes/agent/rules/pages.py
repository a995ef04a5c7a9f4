"""Clause rules for opening pages, waiting and asking for results.

Each takes a masked clause (quoted strings replaced by placeholders, see
``split``) and returns actions, or None when the clause is not of its kind.
Matching is case-insensitive; values keep the user's own spelling.
Rules that act on page elements are in ``phrases_input``.
"""

from __future__ import annotations

import re

from nodes.agent import actions as a
from nodes.agent.rules.split import PLACEHOLDER, Masked
from nodes.agent.rules.urls import parse_url

F = re.IGNORECASE | re.DOTALL


def match(pattern: str, clause: str) -> re.Match[str] | None:
    return re.fullmatch(pattern, clause.strip(), F)


def word_list(fragment: str) -> list[str]:
    return re.findall(r"[\w'’-]+", fragment.lower())


def is_quoted(fragment: str) -> bool:
    return PLACEHOLDER.fullmatch(fragment.strip()) is not None


def open_urls(clause: str, m: Masked) -> list[a.Action] | None:
    found = match(
        r"(?:open|go\s+to|navigate\s+to|visit|load|browse\s+to|head\s+to)\s+(?:up\s+)?"
        r"(?:the\s+)?(?:(?:web\s*)?(?:page|site|website|url|address|link)\s+)?(?P<urls>.+)",
        clause,
    )
    if not found:
        return None
    # "open a.test, b.test and c.test" opens each in turn.
    pieces = re.split(r"\s*,\s*(?:and\s+)?|\s+and\s+", found["urls"].strip(), flags=F)
    urls = [parse_url(m.value(p)) for p in pieces if p]
    if not urls or any(u is None for u in urls):
        return None
    return [a.Navigate(u) for u in urls if u]


def bare_url(clause: str, m: Masked) -> list[a.Action] | None:
    # "Open a.test, then b.test": the second clause is only a URL.
    url = parse_url(m.value(clause))
    return [a.Navigate(url)] if url else None


def go_back(clause: str, m: Masked) -> list[a.Action] | None:
    if match(
        r"(?:go|navigate)\s+back(?:\s+to\s+the\s+previous\s+page)?"
        r"|(?:go|return)\s+to\s+the\s+previous\s+page",
        clause,
    ):
        return [a.GoBack()]
    return None


def reload(clause: str, m: Masked) -> list[a.Action] | None:
    if match(r"(?:reload|refresh)(?:\s+the\s+(?:page|site|website))?", clause):
        return [a.Reload()]
    return None


def scroll(clause: str, m: Masked) -> list[a.Action] | None:
    found = match(
        r"scroll\s+(?:the\s+page\s+)?(?:(?P<dir>down|up)|to\s+(?:the\s+)?(?P<end>bottom|top|end))"
        r"(?:\s+of\s+the\s+page)?",
        clause,
    )
    if not found:
        return None
    end = (found["end"] or "").lower()
    direction = found["dir"].lower() if found["dir"] else ("top" if end == "top" else "bottom")
    return [a.Scroll(direction)]


_LOAD_WORDS = frozenset({"load", "loads", "loaded", "loading", "ready"})
_WAIT_FILLER = frozenset(
    {"the", "page", "site", "website", "it", "is", "has", "to", "be", "been", "fully",
     "completely", "finished", "finishes", "finish", "done", "everything", "content", "page's"}
)  # fmt: skip


def wait_for_load(clause: str, m: Masked) -> list[a.Action] | None:
    found = match(r"wait(?:\s+(?:until|till|for|while)\s+(?P<rest>[\w\s'’]+))?", clause)
    if not found:
        return None
    words = word_list(found["rest"] or "load")
    if words and words[-1] in _LOAD_WORDS and set(words) <= _WAIT_FILLER | _LOAD_WORDS:
        return [a.WaitForLoad()]
    return None


_NUMBER_WORDS = {"a": 1.0, "an": 1.0, "one": 1.0, "two": 2.0, "three": 3.0, "five": 5.0}


def wait_seconds(clause: str, m: Masked) -> list[a.Action] | None:
    found = match(
        r"wait\s+(?:for\s+)?(?:about\s+)?(?P<n>\d+(?:[.,]\d+)?|an?|one|two|three|five)\s*"
        r"(?:more\s+)?(?P<unit>seconds?|secs?|s|milliseconds?|ms|minutes?|mins?)",
        clause,
    )
    if not found:
        return None
    n = found["n"].lower()
    value = _NUMBER_WORDS.get(n) or float(n.replace(",", "."))
    unit = found["unit"].lower()
    if unit in ("ms", "millisecond", "milliseconds"):
        value /= 1000
    elif unit.startswith("min"):
        value *= 60
    return [a.Wait(value)]


_SHOT_WORDS = frozenset({"screenshot", "screen-shot", "snapshot", "screencap"})
_SHOT_FILLER = frozenset(
    {"a", "an", "the", "full", "full-page", "page", "of", "this", "whole", "entire", "final",
     "result", "site", "website", "it", "webpage", "web", "current", "resulting", "too",
     "also", "me", "png", "screen", "shot", "capture", "page's", "full-size"}
)  # fmt: skip


def screenshot(clause: str, m: Masked) -> list[a.Action] | None:
    found = match(
        r"(?:(?:return|take|capture|make|get|grab|save|send|give|attach|provide|show|create"
        r"|produce)\s+)?(?P<rest>.+)",
        clause,
    )
    if not found:
        return None
    rest = re.sub(r"screen\s+(?:shot|capture)", "screenshot", found["rest"], flags=F)
    words = word_list(rest)
    if any(w in _SHOT_WORDS for w in words) and set(words) <= _SHOT_WORDS | _SHOT_FILLER:
        return [a.TakeScreenshot()]
    return None


_SUMMARY_FILLER = frozenset(
    {"the", "this", "that", "current", "web", "page", "site", "website", "content", "contents",
     "result", "results", "text", "article", "it", "its", "main", "of", "for", "me", "page's",
     "a", "an", "short", "brief", "quick", "summary", "briefly", "up"}
)  # fmt: skip


def summarize(clause: str, m: Masked) -> list[a.Action] | None:
    verb = (
        r"summari[sz]e|sum\s+up"
        r"|(?:give|provide|write|make|produce|create|return|get|show|output)(?=.*\bsummary\b)"
    )
    found = match(rf"(?:{verb})(?P<rest>(?:\s+[\w'’-]+)*)", clause)
    if found and set(word_list(found["rest"])) <= _SUMMARY_FILLER:
        return [a.Summarize()]
    return None


_TITLE_WORDS = frozenset({"title", "headline"})
_URL_WORDS = frozenset({"url", "address", "link", "location"})
_RESULT_WORDS = frozenset({"result", "results"})
_TEXT_WORDS = frozenset({"result", "results", "text", "content", "contents", "page", "body"})
_RETURN_FILLER = frozenset(
    {"the", "page", "page's", "current", "final", "resulting", "its", "of", "this", "site",
     "website", "web", "visible", "full", "whole", "main", "entire", "me", "back", "it",
     "webpage", "that", "opened", "new"}
)  # fmt: skip


def return_text(clause: str, m: Masked) -> list[a.Action] | None:
    found = match(
        r"(?:return|get|extract|show|give|output|print|tell|report|copy)(?P<rest>(?:\s+[\w'’-]+)+)",
        clause,
    )
    if not found:
        return None
    words = set(word_list(found["rest"]))
    if not words <= _RETURN_FILLER | _TITLE_WORDS | _URL_WORDS | _TEXT_WORDS:
        return None
    if words & _RESULT_WORDS and words & (_TITLE_WORDS | _URL_WORDS):
        # "the title of the result" is a result's title, not the page's: not understood
        # beats answering with the page's title.
        return None
    for keys, what in ((_TITLE_WORDS, "title"), (_URL_WORDS, "url"), (_TEXT_WORDS, "text")):
        if words & keys:
            return [a.ReturnText(what)]
    return None
