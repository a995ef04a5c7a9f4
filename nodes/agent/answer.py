"""Answering a question from a page's text, extractively and without a model.

The page is cut into passages (lines of its visible text, pairs of lines, the
rows of its tables, each with the heading above it), ranked against the
question with BM25 (``ranking``), and the best passage is kept only if it
covers enough of the question's words: an irrelevant passage must never pass
for an answer. Some questions want a value besides the passage: a number for
"how many" (counting the list or table that matches, or a number written next
to the thing counted), a date for "when", a name for "who", an amount for
"how much". Everything here is pure; ``ask`` reads the pages and moves between them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from nodes.agent.ranking import BM25, STOPWORDS, stem, tokens, words
from nodes.agent.values import find_amount, find_count, find_date, find_person

# Words that name the page itself or a relation ("who wrote", "when updated"): they
# help ranking but a passage need not contain them.
_WEAK = frozenset(
    stem(w)
    for w in """page site website article post document blog story author wrote written
    created made maintain maintained developed founded published updated released posted
    modified date time year day price cost value number total sell sold offer stock carry
    have contain include exist feature available last latest recent recently first""".split()
)

_COUNT = re.compile(
    r"(?:how\s+many|(?:what\s+is|what's|whats)\s+the\s+(?:total\s+)?(?:number|count)\s+of"
    r"|count(?:\s+the)?)\s+(?P<target>.+?)"
    r"(?:\s+(?:are|is|were|was|do|does|did|can|could|have|has|there|listed|shown|on|in|at|of"
    r"|from|with|by|for|that|which|who|whose|per)\b.*)?$",
    re.IGNORECASE,
)
_KINDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.IGNORECASE), kind)
    for p, kind in (
        (r"^(?:when\b|(?:what|which)\s+(?:date|day|year|time)\b|since\s+when\b)", "date"),
        (r"^(?:who|whom|whose)\b|^(?:what|which)\s+(?:person|people)\b", "person"),
        (r"^how\s+much\b|\b(?:price|cost)s?\b", "amount"),
    )
)


@dataclass(frozen=True)
class Question:
    text: str  # as the user wrote it, for messages
    kind: str  # "count" | "date" | "person" | "amount" | "text"
    required: tuple[str, ...]  # stems a passage has to cover (enough of)
    ranking: tuple[str, ...]  # every stem, for BM25
    target: tuple[str, ...] = ()  # "count": the stems of what is counted
    keywords: tuple[str, ...] = ()  # the meaningful words as written, for a site search


def parse_question(text: str) -> Question:
    text = " ".join(text.split()).rstrip("?").strip()
    kind, target = "text", ()
    counted = _COUNT.match(text)
    if counted:
        kind, target = "count", tuple(tokens(counted["target"]))
    else:
        kind = next((k for pattern, k in _KINDS if pattern.search(text)), "text")
    ranking = tuple(dict.fromkeys(tokens(text)))
    required = tuple(t for t in ranking if t not in _WEAK or t in target)
    keywords = tuple(dict.fromkeys(w for w in words(text) if w not in STOPWORDS))
    return Question(text, kind, required, ranking, target, keywords)


@dataclass(frozen=True)
class Collection:
    """A list, a table's body rows or a run of sibling articles, and what it is about
    (the heading above it, its caption or label, the line before it, a table's header)."""

    context: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class Link:
    text: str
    url: str


@dataclass(frozen=True)
class PageContent:
    url: str
    title: str
    text: str  # the visible text, one block per line (table rows are in collections)
    headings: tuple[str, ...] = ()
    collections: tuple[Collection, ...] = ()
    links: tuple[Link, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Found:
    passage: str
    url: str
    value: str | None = None

    def render(self) -> str:
        source = f"(source: {self.url})"
        if self.value is None:
            return f"{self.passage}\n{source}"
        return f"{self.value}\n{self.passage}\n{source}"


@dataclass(frozen=True)
class _Passage:
    text: str
    heading: str  # ranked with the passage; shown before it unless ``labelled``
    labelled: bool = False  # a table row, whose cells carry their column names

    def shown(self, question: Question) -> str:
        """The passage, after its heading when the heading has words of the question
        that the passage lacks ("Sencha: Price: 12")."""
        if self.labelled or not self.heading:
            return self.text
        missing = set(question.ranking) & set(tokens(self.heading)) - set(tokens(self.text))
        return f"{self.heading}: {self.text}" if missing else self.text


def needed(n: int) -> int:
    """How many of ``n`` required stems a passage must contain: all of one or two,
    then three in five."""
    return n if n <= 2 else math.ceil(0.6 * n)


def passages(content: PageContent) -> list[_Passage]:
    headings = {h.lower() for h in content.headings}
    # A link's own text is where to go next, not an answer ("Configuring the cache").
    labels = {link.text.lower() for link in content.links}
    found: list[_Passage] = []
    heading, previous = content.title, None
    for raw in content.text.splitlines():
        line = raw.strip()
        if not line or "\t" in line:
            previous = None
            continue
        if line.lower() in headings:
            heading, previous = line, None
            continue
        if line.lower() in labels:
            previous = None
            continue
        found.append(_Passage(line, heading))
        if previous is not None:
            found.append(_Passage(f"{previous} {line}", heading))
        previous = line
    for collection in content.collections:
        for item in collection.items:
            cells = [cell.split(": ", 1)[-1].lower() for cell in item.split(" | ")]
            # A table's labelled rows; not a row of nothing but links (a menu).
            if ": " in item and not all(cell in labels for cell in cells):
                found.append(_Passage(item, collection.context, True))
    return found


def _covered(required: Sequence[str], text_tokens: set[str]) -> int:
    return sum(1 for t in required if t in text_tokens)


def _value(kind: str, text: str, question: Question) -> str | None:
    if kind == "date":
        return find_date(text)
    if kind == "person":
        return find_person(text, set(question.ranking))
    if kind == "amount":
        return find_amount(text)
    if kind == "count":
        return find_count(text, question.target)
    return None


def _count_collections(question: Question, content: PageContent) -> Found | None:
    """ "how many X": the list or table about X. Its items are filtered by the words of
    the question that some items have and the context does not ("how many green teas")."""
    title = set(tokens(content.title))
    # An item with the very plural the question counts ("Users") names the kind, not one.
    plurals = {w for w in words(question.text) if stem(w) in question.target and w.endswith("s")}
    best: tuple[tuple[int, int], Found] | None = None
    for collection in content.collections:
        own = set(tokens(collection.context))
        items = collection.items
        if not set(question.target) & own:
            items = tuple(i for i in items if not plurals & set(words(i)))
        item_tokens = [set(tokens(i)) for i in items]
        qualifiers = {
            t for t in question.required if t not in own and any(t in it for it in item_tokens)
        }
        matching = [i for i, it in zip(items, item_tokens, strict=True) if qualifiers <= it]
        # What is counted ("staff users": users) has to be named by the list itself, not
        # just by the page's title.
        if not matching or question.target[-1] not in own | qualifiers:
            continue
        covered = {t for t in question.required if t in own | title} | qualifiers
        if len(covered) < needed(len(question.required)):
            continue
        rank = (len(covered), -len(qualifiers))
        if best is None or rank > best[0]:
            shown = "; ".join(matching[:10]) + ("; …" if len(matching) > 10 else "")
            about = f"{collection.context}: " if collection.context else ""
            best = (rank, Found(f"{about}{shown}", content.url, str(len(matching))))
    return best[1] if best else None


def _count_page_parts(question: Question, content: PageContent) -> Found | None:
    """ "how many links are on the page": the page's own links or headings."""
    parts = {stem("link"): content.links and [k.text for k in content.links if k.text]}
    parts[stem("heading")] = list(content.headings)
    found = parts.get(question.required[0]) if len(question.required) == 1 else None
    if not found:
        return None
    shown = "; ".join(found[:10]) + ("; …" if len(found) > 10 else "")
    return Found(shown, content.url, str(len(found)))


def find_answer(question: Question, content: PageContent) -> Found | None:
    """The passage (and value) that answers ``question`` on this page, or None."""
    candidates = passages(content)
    if not question.required and question.kind == "text":
        # "what is this page about": the page's own description or first paragraph.
        lead = content.description or next((p.text for p in candidates if len(p.text) >= 40), "")
        return Found(lead, content.url) if lead else None
    docs = [tokens(f"{p.heading} {p.text}") for p in candidates]
    bm25 = BM25(docs)
    need = needed(len(question.required))
    # The site's name in its title ("who runs the shop" on "Tea Shop") counts towards
    # the coverage, as long as the passage has some of the question's words itself.
    title = set(tokens(content.title))
    scored = []
    for i, p in enumerate(candidates):
        own = _covered(question.required, set(docs[i]))
        covered = _covered(question.required, set(docs[i]) | title)
        score = bm25.score(question.ranking, i)
        if covered >= need and (own or not question.required) and score > 0:
            scored.append((covered, score, -len(p.text), p))
    scored.sort(key=lambda s: s[:3], reverse=True)
    if question.kind == "count":
        for *_, p in scored:
            value = find_count(p.text, question.target)
            if value is not None:
                return Found(p.shown(question), content.url, value)
        return _count_collections(question, content) or _count_page_parts(question, content)
    for *_, p in scored[:8]:
        value = _value(question.kind, p.shown(question), question)
        if value is not None:
            return Found(p.shown(question), content.url, value)
    if question.kind in ("person", "date"):
        return None  # a "who" with no name, a "when" with no date, is no answer
    return Found(scored[0][3].shown(question), content.url) if scored else None


_FILE = re.compile(
    r"\.(?:pdf|zip|gz|tgz|bz2|xz|7z|rar|tar|csv|xlsx?|docx?|pptx?|odt|ods|png|jpe?g|gif|svg"
    r"|webp|mp[34]|mov|avi|exe|msi|dmg|deb|rpm|whl|iso|bin)$",
    re.IGNORECASE,
)


def rank_links(question: Question, content: PageContent, visited: Sequence[str]) -> list[Link]:
    """Links on the same site worth following for the question, most promising first."""
    host = urlsplit(content.url).hostname
    seen = {u.split("#")[0] for u in visited}
    scored: list[tuple[int, int, Link]] = []
    for order, link in enumerate(content.links):
        parts = urlsplit(link.url)
        target = link.url.split("#")[0]
        if parts.scheme not in ("http", "https") or parts.hostname != host or target in seen:
            continue
        if _FILE.search(parts.path):
            continue  # a download, not a page to read
        # The query too: a filter's link is often only "Yes", to "?is_staff=1".
        found = set(tokens(f"{link.text} {parts.path} {parts.query}".replace("_", " ")))
        score = 2 * _covered(question.required, found) + _covered(question.ranking, found)
        if score:
            scored.append((score, -order, link))
    scored.sort(key=lambda s: s[:2], reverse=True)
    return list(dict.fromkeys(link for *_, link in scored))
