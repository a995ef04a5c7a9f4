"""Clause rules for asking for results: screenshots, summaries, the title or text, extracts.

Same contract as every rules module (see ``grammar``).
"""

from __future__ import annotations

import re

from nodes.agent import actions as a
from nodes.agent.rules.grammar import F, match, word_list
from nodes.agent.rules.split import Masked

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
     "a", "an", "short", "brief", "quick", "summary", "briefly", "up", "description",
     "overview", "what", "you", "see", "in", "words", "few"}
)  # fmt: skip


_ABOUT_SUBJECT = r"(?:it|this|that|(?:the|this)\s+(?:web\s*)?(?:page|site|website|article|post))"
# "what is this page about", "tell me what the site says", "what do you see".
_ABOUT = re.compile(
    r"(?:(?:tell\s+me|explain|say|describe)\s+)?(?:"
    rf"what(?:'s|\s+is|\s+are)?\s+{_ABOUT_SUBJECT}(?:\s+(?:is|are))?\s+(?:all\s+)?about"
    rf"|what\s+(?:does|do)\s+{_ABOUT_SUBJECT}\s+(?:say|show|contain|tell\s+(?:me|us))"
    rf"|what\s+{_ABOUT_SUBJECT}\s+(?:says|shows|contains)"
    r"|what\s+(?:do\s+)?you\s+(?:can\s+)?see(?:\s+(?:on|in)\s+(?:it|the\s+page))?"
    r"|what(?:'s|\s+is)\s+on\s+(?:the|this)\s+(?:page|screen)"
    rf"|tell\s+me\s+(?:something\s+|more\s+)?about\s+{_ABOUT_SUBJECT}"
    r")",
    re.IGNORECASE,
)


def summarize(clause: str, m: Masked) -> list[a.Action] | None:
    verb = (
        r"summari[sz]e|sum\s+up|describe"
        r"|(?:give|provide|write|make|produce|create|return|get|show|output)"
        r"(?=.*\b(?:summary|description|overview)\b)"
    )
    found = match(rf"(?:{verb})(?P<rest>(?:\s+[\w'’-]+)*)", clause)
    if found and set(word_list(found["rest"])) <= _SUMMARY_FILLER:
        return [a.Summarize()]
    if _ABOUT.fullmatch(clause.strip()):
        return [a.Summarize()]
    return None


_TITLE_WORDS = frozenset({"title", "headline"})


_URL_WORDS = frozenset({"url", "address", "link", "location"})


_RESULT_WORDS = frozenset({"result", "results"})


_TEXT_WORDS = frozenset({"result", "results", "text", "content", "contents", "page", "body"})


_RETURN_FILLER = frozenset(
    {"the", "page", "page's", "current", "final", "resulting", "its", "of", "this", "site",
     "website", "web", "visible", "full", "whole", "main", "entire", "me", "back", "it",
     "webpage", "that", "opened", "new", "all"}
)  # fmt: skip
_HEADING_WORDS = frozenset({"heading", "h1", "header"})
_PARAGRAPH_WORDS = frozenset({"paragraph"})
# "the text of the first paragraph", "the h1 text", "the top heading"
_FIRST_FILLER = frozenset({"first", "top", "opening", "text", "main", "primary", "big", "page"})


def return_text(clause: str, m: Masked) -> list[a.Action] | None:
    found = match(
        r"(?:return|get|extract|show|give|output|print|tell|report|copy|read)"
        r"(?P<rest>(?:\s+[\w'’-]+)+)",
        clause,
    )
    if not found:
        return None
    words = set(word_list(found["rest"]))
    for keys, what in ((_HEADING_WORDS, "heading"), (_PARAGRAPH_WORDS, "paragraph")):
        if words & keys and words <= _RETURN_FILLER | _FIRST_FILLER | keys:
            return [a.ReturnText(what)]
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


_MARKDOWN_WORDS = frozenset({"markdown", "md"})
_HTML_WORDS = frozenset({"html", "dom", "html5", "xhtml"})
# "source" is the page's HTML only beside one of these ("the page source"); "the source
# code of github.com/psf/requests" is a repository's.
_SOURCE_OF = frozenset({"page", "page's", "webpage", "html"})
_DOCUMENT_FILLER = _RETURN_FILLER | _TEXT_WORDS | frozenset(
    {"as", "in", "to", "into", "format", "formatted", "code", "raw", "a", "an",
     "document", "version", "complete", "rendered", "article", "source"}
)  # fmt: skip
# Words of a clause that may mean the result asked for before it, not the page ("...
# summarize it and return it as markdown"): see ``planner``.
BACK_REFERENCE = frozenset({"it", "them", "that", "this", "those", "these", "formatted"})
PAGE_NOUNS = frozenset(
    {"page", "page's", "webpage", "site", "website", "content", "contents", "body", "document",
     "source"}
)  # fmt: skip


def page_document(clause: str, m: Masked) -> list[a.Action] | None:
    """ "return the page as Markdown", "convert it to markdown", "get the HTML",
    "show me the page source": the page's main content as Markdown, or its whole HTML."""
    found = match(
        r"(?:return|get|extract|show|give|output|print|copy|read|convert|turn|export|scrape"
        r"|fetch|grab|dump|provide|send)(?P<rest>(?:\s+[\w'’-]+)+)",
        clause,
    )
    if not found:
        return None
    order = word_list(found["rest"])
    words = set(order)
    if not words <= _DOCUMENT_FILLER | _MARKDOWN_WORDS | _HTML_WORDS:
        return None
    if "code" in words and "source" not in words and not words & _HTML_WORDS:
        return None  # "give me the code in markdown": some code, not the page
    html = bool(words & _HTML_WORDS) or ("source" in words and bool(words & _SOURCE_OF))
    if words & _MARKDOWN_WORDS:
        into = [i for i, w in enumerate(order) if w in ("to", "into", "as", "in")]
        if html and into and order[into[-1] + 1 :] and order[-1] in _HTML_WORDS:
            return None  # "convert markdown to HTML": the other way round
        return [a.Extract("markdown")]
    return [a.Extract("html")] if html else None


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
        r"(?:extract|get|return|list|show|collect|give\s+me|output|scrape)\s+(?:me\s+)?(?:all\s+|every\s+|each\s+)?"
        r"(?:of\s+)?(?:the\s+)?(?:page's\s+)?(?P<shape>[a-z]+(?:\s+[a-z]+)?)"
        r"(?:\s+(?:on|from|of|in)\s+(?:the|this)\s+(?:page|site))?(?:\s+as\s+json)?",
        clause,
    )
    shape = _SHAPES.get(" ".join(found["shape"].lower().split())) if found else None
    return [a.Extract(shape)] if shape else None
