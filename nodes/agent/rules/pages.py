"""Clause rules for opening pages, going back, reloading, scrolling and waiting.

Same contract as every rules module (see ``grammar``). Rules that act on page
elements are in ``inputs``; those that ask for results are in ``reading``.
"""

from __future__ import annotations

import re

from nodes.agent import actions as a
from nodes.agent.rules.grammar import F, is_quoted, match, word_list
from nodes.agent.rules.split import Masked
from nodes.agent.rules.urls import file_or_code_name, parse_url


def open_urls(clause: str, m: Masked) -> list[a.Action] | None:
    found = match(
        r"(?:open|go\s+to|navigate\s+to|visit|load|browse\s+to|head\s+(?:over\s+)?to|read|fetch|check\s+out"
        r"|look\s+at|pull\s+up|bring\s+up|go\s+on|surf\s+to|scrape|crawl)\s+(?:up\s+)?"
        r"(?:the\s+)?(?:(?:web\s*)?(?:page|site|website|url|address|link)\s+)?(?P<urls>.+?)"
        r"(?:\s+(?:in|with|using)\s+(?:the\s+|a\s+)?(?:web\s+)?(?:browser|chrome|chromium))?",
        clause,
    )
    if not found:
        return None
    # "open a.test, b.test and c.test" opens each in turn.
    pieces = re.split(r"\s*,\s*(?:and\s+)?|\s+and\s+", found["urls"].strip(), flags=F)
    if len(pieces) == 1 and parse_url(m.value(pieces[0])) is None:
        # "open json.loads", "open index.html": a link of the page by its text, not a
        # host (its last part is no top-level domain).
        name = m.value(pieces[0]).strip().rstrip(".,;:!?")
        return [a.Click(name)] if file_or_code_name(name) else None
    urls = [parse_url(m.value(p)) for p in pieces if p]
    if not urls or any(u is None for u in urls):
        return None
    return [a.Navigate(u) for u in urls if u]


def bare_url(clause: str, m: Masked) -> list[a.Action] | None:
    # "Open a.test, then b.test": the second clause is only a URL.
    url = parse_url(m.value(clause))
    return [a.Navigate(url)] if url else None


_PAGES_BACK = {"one": 1, "a": 1, "two": 2, "three": 3, "2": 2, "3": 3, "4": 4, "5": 5}


def go_back(clause: str, m: Masked) -> list[a.Action] | None:
    if match(
        r"(?:go|navigate)\s+back(?:\s+to\s+the\s+previous\s+page)?"
        r"|(?:go|return)\s+to\s+the\s+previous\s+page",
        clause,
    ):
        return [a.GoBack()]
    found = match(
        r"(?:go|navigate)\s+back\s+(?P<n>one|a|two|three|[2-5])\s+(?:pages?|steps?)", clause
    )
    return [a.GoBack()] * _PAGES_BACK[found["n"].lower()] if found else None


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
