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

import dataclasses
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from nodes.agent.questions.ranking import BM25, STOPWORDS, stem, tokens, words
from nodes.agent.questions.values import (
    amount_for,
    authored,
    date_for,
    find_count,
    find_person,
)

# Words that name the page itself or a relation ("who wrote", "when updated"): they
# help ranking but a passage need not contain them.
_WEAK = frozenset(
    stem(w)
    for w in """page site website article post document blog story book guide manual tutorial
    documentation docs table list author wrote written maintain maintained developed founded
    published updated released posted modified date time year day price cost value number
    total sell sold offer stock carry have contain include exist feature available last
    latest recent recently first""".split()
)

_COUNT = re.compile(
    r"(?:how\s+many|(?:what\s+is|what's|whats)\s+the\s+(?:total\s+)?(?:number|count)\s+of"
    r"|count(?:\s+the)?)\s+(?P<target>.+?)"
    r"(?:\s+(?:are|is|were|was|do|does|did|can|could|have|has|there|listed|shown|on|in|at|of"
    r"|from|with|by|for|that|which|who|whose|per|cost|costs|weigh|weighs|above|over|under"
    r"|below|more|less|fewer|greater|higher|lower|cheaper)\b.*)?$",
    re.IGNORECASE,
)
_KINDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.IGNORECASE), kind)
    for p, kind in (
        (
            r"^(?:when\b|(?:what|which)\s+(?:date|day|year|time)\b|since\s+when\b"
            # "what is the release date", "what was the opening day": a date is asked for
            r"|(?:what|which)\s+(?:is|was|are|were)\s+the\s+(?:[\w-]+\s+){1,2}(?:date|day|year)s?"
            r"(?:\s+(?:of|for|on)\b.*)?$)",
            "date",
        ),
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
    limit: int | None = None  # "the top 5 stories": how many items a list answer gives


_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve".split()
    )
} | {"fifteen": 15, "twenty": 20, "thirty": 30, "fifty": 50}
# "the latest posts": a list's first, as pages list them (not a superlative of dates).
_NEWEST = r"latest|newest|most\s+recent|recent|new"
# "the top 5 stories", "what are the first three books", "list the 10 latest posts": a
# list of so many items.
_FIRST_N = re.compile(
    r"^(?:(?:which|what)\s+(?:are|were)\s+|which\s+)?(?:the\s+)?"
    rf"(?:(?:first|top|{_NEWEST})\s+)?"
    r"(?P<n>\d{1,3}|" + "|".join(_NUMBER_WORDS) + r")\s+(?P<rest>(?:[\w-]+\s+){0,2}?[\w-]+s\b.*)$",
    re.IGNORECASE,
)
# "story titles", "book names": the stories, the books (an item shows its title).
_NAMES_OF = re.compile(r"^(?P<what>[\w-]+?)\s+(?:titles|names|headlines)\b", re.IGNORECASE)
MAX_LIMIT = 100
# Words of a list's order, not of its items: "the latest posts", "the top stories".
_RECENT_WORDS = "latest recent newest new top popular trending featured current upcoming"
_RECENT = frozenset(tokens(_RECENT_WORDS))
_WHAT_ARE_THE_NEWEST = re.compile(
    rf"what\s+are\s+the\s+(?P<rest>(?:{'|'.join(_RECENT_WORDS.split())})\s+[\w-]+s)$",
    re.IGNORECASE,
)
_GENERIC_AFTER = re.compile(
    r"^[\w-]+\s+(?=(?:results|items|posts|stories|entries|listings|products|articles)\b)",
    re.IGNORECASE,
)


def _plural(word: str) -> str:
    if word.endswith("s"):
        return word
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    return word + ("es" if re.search(r"(?:x|ch|sh)$", word) else "s")


def _listing(text: str) -> tuple[str, int | None]:
    """A question for so many items ("the top 5 story titles") as a plural question
    ("which stories") and the number; ``text`` as it is otherwise."""
    found = _FIRST_N.match(text)
    asked = _WHAT_ARE_THE_NEWEST.match(text) or re.match(r"which\s+(?P<rest>.+)", text, re.I)
    if found and re.match(r"(?:which|what|the|first|top)\b", text, re.IGNORECASE):
        n: int | None = _NUMBER_WORDS.get(found["n"].lower()) or int(found["n"])
        rest = found["rest"]
    elif asked:
        n, rest = None, asked["rest"]
    else:
        return text, None
    # "the latest posts": the posts; "story titles", "search results": the stories, the
    # results.
    named = re.sub(rf"^(?:{_NEWEST})\s+(?=[\w-]+s\b)", "", rest, flags=re.I)
    named = _GENERIC_AFTER.sub("", _NAMES_OF.sub(lambda m: _plural(m["what"]), named))
    # "with their prices", "and their authors": what an item shows anyway.
    named = re.sub(r"\s+(?:along\s+)?(?:with|and)\s+their\s+.*$", "", named, flags=re.IGNORECASE)
    if n is None and named == rest and text.lower().startswith("which"):
        return text, None
    return f"which {named}", None if n is None else max(1, min(n, MAX_LIMIT))


def parse_question(text: str) -> Question:
    text = " ".join(text.split()).rstrip("?").strip()
    text, limit = _listing(text)
    kind, target = "text", ()
    counted = _COUNT.match(text)
    if counted:
        kind, target = "count", tuple(tokens(counted["target"]))
    else:
        kind = next((k for pattern, k in _KINDS if pattern.search(text)), "text")
    ranking = tuple(dict.fromkeys(tokens(text)))
    required = tuple(t for t in ranking if t not in _WEAK or t in target)
    if compared := _COMPARISON.search(text):
        # "above 50%", "at least 22": a bound a column's number is held to (_meeting),
        # not words a passage has to have.
        bound = set(tokens(text[compared.start("op") : compared.end()]))
        required = tuple(t for t in required if t not in bound)
        if kind == "amount" and _PLURAL_WHICH.match(text):
            kind = "text"  # "which teas cost less than £10": the teas, not a price
    keywords = tuple(dict.fromkeys(w for w in words(text) if w not in STOPWORDS))
    return Question(text, kind, required, ranking, target, keywords, limit)


@dataclass(frozen=True)
class Collection:
    """A list, a table's body rows or a run of sibling articles, and what it is about
    (the heading above it, its caption or label, the line before it, a table's header)."""

    context: str
    items: tuple[str, ...]
    table: bool = False  # a table's rows, each cell labelled with its column's name
    nav: bool = False  # in the page's navigation (a menu, a sidebar), not its content
    box: bool = False  # a table of one row and no header: a box laid out, not a list


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
    section: str = ""  # the start of the text under the same heading
    lines: tuple[str, ...] = ()  # a pair of lines: each of them

    def shown(self, question: Question) -> str:
        """The passage, after its heading when the heading has words of the question
        that the passage lacks ("Sencha: Price: 12"). The heading then answers more than
        the line does, so the start of its section is shown, then the line."""
        if self.labelled or not self.heading:
            return self.text
        missing = set(question.ranking) & set(tokens(self.heading)) - set(tokens(self.text))
        if not missing:
            return self.text
        if not self.section or self.text in self.section:
            return f"{self.heading}: {self.section or self.text}"
        return f"{self.heading}: {self.section} … {self.text}"


def needed(n: int) -> int:
    """How many of ``n`` required stems a passage must contain: all of one or two,
    then three in five."""
    return n if n <= 2 else math.ceil(0.6 * n)


SECTION_CHARS = 300


def _mostly_links(line: str, labels: set[str]) -> bool:
    """A line made of links' texts (a table of contents, a menu bar) is navigation."""
    rest = line.lower()
    inside = sorted((x for x in labels if len(x) >= 3 and x in rest), key=len, reverse=True)
    if len(inside) < 2:
        return False  # "3 users" next to a "Users" link is still text
    for label in inside:
        rest = rest.replace(label, " ")
    return sum(c.isalpha() for c in rest) < 0.2 * sum(c.isalpha() for c in line)


def _with_sections(found: list[_Passage], sections: dict[str, list[str]]) -> list[_Passage]:
    starts: dict[str, str] = {}
    for heading, lines in sections.items():
        start = ""
        for line in lines:
            if start and len(start) + len(line) > SECTION_CHARS:
                break
            start = f"{start} {line}".strip()
        starts[heading] = start
    return [
        p if p.labelled else dataclasses.replace(p, section=starts.get(p.heading, ""))
        for p in found
    ]


def passages(content: PageContent) -> list[_Passage]:
    headings = {h.lower() for h in content.headings}
    # A link's own text is where to go next, not an answer ("Configuring the cache").
    labels = {link.text.lower() for link in content.links}
    found: list[_Passage] = []
    sections: dict[str, list[str]] = {}
    heading, previous = content.title, None
    for raw in content.text.splitlines():
        line = raw.strip()
        if not line or "\t" in line:
            previous = None
            continue
        if line.lower() in headings:
            heading, previous = line, None
            continue
        if line.lower() in labels or _mostly_links(line, labels):
            previous = None
            continue
        found.append(_Passage(line, heading))
        sections.setdefault(heading, []).append(line)
        if previous is not None:
            found.append(_Passage(f"{previous} {line}", heading, lines=(previous, line)))
        previous = line
    for collection in content.collections:
        for item in collection.items:
            cells = [cell.split(": ", 1)[-1].lower() for cell in item.split(" | ")]
            # A table's rows; not a row of nothing but links (a menu).
            if collection.table and not all(cell in labels for cell in cells):
                found.append(_Passage(item, collection.context, not collection.box))
    return _with_sections(found, sections)


def _covered(required: Sequence[str], text_tokens: set[str]) -> int:
    return sum(1 for t in required if t in text_tokens)


def _value(kind: str, text: str, question: Question) -> str | None:
    if kind == "date":
        return date_for(text, question.text, set(question.required))
    if kind == "person":
        return find_person(text, set(question.ranking))
    if kind == "amount":
        return amount_for(text, question.text, set(question.required))
    if kind == "count":
        return find_count(text, question.target)
    return None


_ACTION = re.compile(
    r"(?:add|new|create|edit|delete|remove|view|show|see|change|manage|browse|more|all|back)\b",
    re.IGNORECASE,
)


def _count_collections(question: Question, content: PageContent) -> Found | None:
    """ "how many X": the list or table about X. Its items are filtered by the words of
    the question that some items have and the context does not ("how many green teas")."""
    title = set(tokens(content.title))
    # An item with the very plural the question counts ("Users") names the kind, not one.
    plurals = {w for w in words(question.text) if stem(w) in question.target and w.endswith("s")}
    best: tuple[tuple[int, int, int, int], Found] | None = None
    for collection in content.collections:
        if pager(collection):
            continue
        own = set(tokens(collection.context))
        # "Add user", "View all teas": actions on the kind, not items of it.
        items = tuple(i for i in collection.items if not _ACTION.match(i))
        if not set(question.target) & own:
            items = tuple(i for i in items if not plurals & set(words(i)))
        item_tokens = [set(tokens(i)) for i in items]
        qualifiers = {
            t for t in question.required if t not in own and any(t in it for it in item_tokens)
        }
        matching = [i for i, it in zip(items, item_tokens, strict=True) if qualifiers <= it]
        of_the_kind = matching
        if _condition(question) is not None:
            # "above 50%": the rows whose column says so, from a table that can tell.
            met = _meeting(matching, question) if collection.table else None
            if met is None:
                continue
            matching = met
        # What is counted ("staff users": users) has to be named by the list itself (its
        # heading, or every one of two or more items: "Green tea", "Black tea"), not just
        # by the page's title or by some of its items ("ada User" among "Recent actions";
        # one item alone, "Changed: ada User", says nothing about a list of users).
        head = question.target[-1]
        named_by_items = len(item_tokens) > 1 and all(head in it for it in item_tokens)
        if not of_the_kind or (head not in own and not named_by_items):
            continue
        covered = {t for t in question.required if t in own | title} | qualifiers
        if len(covered) < needed(len(question.required)):
            continue
        # Of lists alike, one in the content before a menu's, and the longer ("Next →"
        # under the same heading as the quotes is no list of quotes).
        rank = (len(covered), -len(qualifiers), int(not collection.nav), len(of_the_kind))
        if best is None or rank > best[0]:
            shown = "; ".join(matching[:10]) + ("; …" if len(matching) > 10 else "")
            about = f"{collection.context}: " if collection.context else ""
            best = (rank, Found(f"{about}{shown or 'none'}", content.url, str(len(matching))))
    return best[1] if best else None


_TOTAL = re.compile(r"(?<![\d.])(\d[\d,]*)\s+(?:rows|records|entries|results|items|matches)\b")


def _count_of_page(question: Question, content: PageContent) -> Found | None:
    """ "how many missions are listed" on a page whose title says missions ("missions:
    8 rows"): the total the page states for its rows, which counts those not shown yet."""
    if not question.target or question.target[-1] not in set(tokens(content.title)):
        return None
    if set(question.required) - set(question.target) - set(tokens(content.title)):
        return None  # "how many missions went to Mars": some of them, not the page's total
    for line in content.text.splitlines():
        found = _TOTAL.search(line)
        if found:
            return Found(line.strip()[:300], content.url, found.group(1).replace(",", ""))
    return None


_ROWS = frozenset(stem(w) for w in ("row", "record", "entry", "line"))
_ITEMS = frozenset(stem(w) for w in ("item", "result", "hit", "element"))


def _count_page_parts(question: Question, content: PageContent) -> Found | None:
    """ "how many links are on the page", "how many rows are in the table", "how many
    results are there": the page's own links or headings, its biggest table or list."""
    if len(question.required) != 1:
        return None
    wanted = question.required[0]
    found: list[str] = []
    if wanted == stem("link"):
        found = [k.text for k in content.links if k.text]
    elif wanted == stem("heading"):
        found = list(content.headings)
    elif wanted in _ROWS | _ITEMS:
        kinds = [c for c in content.collections if c.table or wanted in _ITEMS]
        found = list(max(kinds, key=lambda c: len(c.items)).items) if kinds else []
    if not found:
        return None
    shown = "; ".join(found[:10]) + ("; …" if len(found) > 10 else "")
    return Found(shown, content.url, str(len(found)))


_PLURAL_WHICH = re.compile(
    r"(?:which|what)\s+(?:of\s+the\s+)?(?!(?:does|is|was|has|it's|this|its|comes|makes|happens"
    r"|means|goes|says|looks|seems|works|causes|takes|needs)\b)[\w-]+s\b"
    # "which Rust repositories are trending", "which Dell laptops are there": a word
    # before the plural, which is then followed by a verb of the plural or nothing more
    # ("which country hosts the Olympics" is no plural).
    r"|(?:which|what)\s+(?P<adj>[\w-]+)\s+(?P<noun>[\w-]+s)"
    r"(?=\s+(?:are|were|have|had|do|did|can|will|cost|sell|offer|include|support|use|run"
    r"|ship|there|listed|available|on|in|from|with|under|over|for)\b|\s*$)",
    re.IGNORECASE,
)
MAX_ROWS = 20
# "which prices", "what are the prices", "the prices of the teas": every value of a kind,
# not the first one found.
_PLURAL_VALUES = re.compile(
    r"^(?:(?:which|what)\s+(?:are\s+|were\s+)?)?(?:all\s+)?(?:of\s+)?(?:the\s+)?"
    r"(?:prices|costs|dates|years|authors|names|values|amounts)\b"
    # "what are the diameters of the planets": the rows, when a row answers as well as
    # any passage (a prose page's "what are the requirements" keeps its passage)
    r"|^(?:which|what)\s+(?:are|were)\s+(?:all\s+)?(?:of\s+)?the\s+[\w-]+s\b",
    re.IGNORECASE,
)


_ASKED_FOR = re.compile(
    r"(?:what|which)\s+(?P<noun>[^\W\d_][\w-]*)"
    r"|how\s+(?!many\b|much\b|to\b|do\b|does\b|did\b|can\b|come\b)(?P<adj>[^\W\d_][\w-]*)"
    r"\s+(?:is|are|was|were)\b",
    re.IGNORECASE,
)


def _asked_for(question: Question) -> str | None:
    """What a "what X ...", "which X ..." or "how X is ..." question asks for (the stem
    of X: "priority", "urgent"), which its answer has to name; None for other questions
    ("what is ...")."""
    if question.kind != "text" or not (found := _ASKED_FOR.match(question.text)):
        return None
    plural = _PLURAL_WHICH.match(question.text)
    if plural and plural["noun"]:
        found = plural  # "which Rust repositories": repositories, the Rust ones
    noun = (found["noun"] or found["adj"]).lower()
    if noun in STOPWORDS:
        return None
    stems = tokens(noun)
    return stems[0] if stems else None


MAX_PASSAGE_CHARS = 600
_ASSIGNMENT = re.compile(r"\s*[A-Za-z_][\w.]*\s*=\s*\S")
_SIGNATURE = re.compile(r"[\w.]+\s*\([^()]*\)(?:\s*->\s*[\w.\[\], ]+)?")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z`(\[])|\n+")
_SUPERLATIVE = re.compile(
    # "at least 22", "at most 3": a bound, not an extreme
    r"(?<!\bat\s)\b(?P<sup>most|fewest|least|largest|biggest|smallest|highest|lowest|greatest|maximum"
    r"|minimum|oldest|newest|earliest|latest|longest|shortest|heaviest|lightest)\b"
    r"(?:\s+(?:number\s+of\s+)?(?P<col>[^\W\d_][\w-]*))?",
    re.IGNORECASE,
)
_SMALLEST = frozenset(
    "fewest least smallest lowest minimum oldest earliest shortest lightest".split()
)
_IN_TIME = frozenset("oldest newest earliest latest".split())
# "the cheapest tea", "the most expensive laptop": the price column is meant.
_PRICED = re.compile(
    r"\b(?:(?P<low>cheapest|least\s+expensive|lowest[\s-]priced|most\s+affordable)"
    r"|priciest|costliest|most\s+expensive|highest[\s-]priced)\b",
    re.IGNORECASE,
)
# Questions about an extreme that do not ask for its row: why it is one, how many are
# above it, which of two named ones is.
_NOT_PICKING = re.compile(
    r"^(?:why|how\s+come|what\s+makes)\b|\b(?:of|between)\s+\S+\s+(?:and|or)\s+\S", re.IGNORECASE
)
_PRICE_COLUMNS = frozenset(tokens("price prices cost costs fee fees"))
# A price column with one of these is some other charge than the thing's price.
_OTHER_CHARGES = frozenset(
    tokens("shipping delivery joining standing setup set-up installation postage handling tax")
    + tokens("deposit was old original previous")
)
_CURRENCY = r"(?:[A-Z]{1,3}\$|[$€£¥₹]|\b[A-Z]{3}\b|(?i:usd|eur|gbp))"
_PER = (
    r"(?:\s*(?:/|per\s+|a\s+)\s*(?:month|mo|year|yr|night|day|week|hour|hr|user|person|kg|g|lb"
    r"|oz|l|litre|liter|item|unit|piece|each)\b\.?)"
)


_AMOUNT = rf"(?:{_CURRENCY}\s*)?\d[\d.,]*(?:\s*{_CURRENCY})?"


def _amount(value: str) -> float | None:
    value = re.sub(rf"^{_CURRENCY}\s*|\s*{_CURRENCY}$", "", value.strip())
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})*,\d{1,2}", value):
        value = value.replace(".", "").replace(",", ".")  # a decimal comma: "8,50"
    found = re.fullmatch(r"-?\d[\d,]*(?:\.\d+)?", value)
    return float(found.group().replace(",", "")) if found else None


def _number(value: str) -> tuple[float, float] | None:
    """The number in a cell, as its least and greatest value: "1,024", "-3.5", "12.4k",
    an amount ("£12.50", "12 EUR", "8,50 €", "US$ 5", "$9/month", "from £3", "Free"), or
    a range ("£18–£25"); None for anything else."""
    value = re.sub(rf"{_PER}$", "", value.strip(), flags=re.IGNORECASE)
    value = re.sub(r"^(?:from|starting\s+at|only)\s+", "", value, flags=re.IGNORECASE)
    if value.lower() == "free":
        return (0.0, 0.0)
    # "12.4k" views, "2.9M" ratings, as sites shorten counts
    short = re.fullmatch(r"(\d{1,3}(?:\.\d+)?)\s?([kKmM])", value)
    if short:
        number = float(short[1]) * (1000 if short[2] in "kK" else 1_000_000)
        return (number, number)
    span = re.fullmatch(rf"(?P<a>{_AMOUNT})\s*(?:–|—|-|to)\s*(?P<b>{_AMOUNT})", value)
    if span:
        low, high = _amount(span["a"]), _amount(span["b"])
        return (low, high) if low is not None and high is not None and low <= high else None
    one = _amount(value)
    return None if one is None else (one, one)


def _cells(item: str) -> dict[str, str]:
    return dict(
        (label.strip(), value.strip())
        for label, sep, value in (c.partition(": ") for c in item.split(" | "))
        if sep
    )


def _label_tokens(label: str) -> set[str]:
    return set(tokens(label.replace("_", " ")))


# "how many days have a chance of rain above 50%", "which teas cost less than £10": a
# number compared with a column's.
_COMPARISON = re.compile(
    r"(?P<what>(?:[^\W\d_][\w-]*\s+){1,5}?)"
    r"(?P<op>above|over|more\s+than|greater\s+than|higher\s+than|at\s+least|below|under"
    r"|less\s+than|lower\s+than|fewer\s+than|at\s+most|cheaper\s+than)\s+"
    r"(?P<n>(?:[$€£]\s?)?-?\d[\d,]*(?:\.\d+)?)\s?(?:%|°\w?|[$€£])?(?![\w.])",
    re.IGNORECASE,
)
_AT_LEAST = ("at least",)
_ABOVE = ("above", "over", "more than", "greater than", "higher than")
_AT_MOST = ("at most",)


@dataclass(frozen=True)
class _Condition:
    words: frozenset[str]  # what the compared column is named by
    op: str
    number: float
    phrase: str  # as the question writes it


def _condition(question: Question) -> _Condition | None:
    found = _COMPARISON.search(question.text)
    if not found:
        return None
    words = frozenset(tokens(found["what"])) - set(question.target[:1])  # not the counted
    number = _amount(found["n"].replace(" ", ""))
    if number is None:
        return None
    op = " ".join(found["op"].lower().split())
    return _Condition(words, op, number, found.group().strip())


def _meets(row: str, condition: _Condition) -> bool | None:
    """Whether a table row's cell that the condition names holds; None when the row has
    no such cell with a number (the condition cannot be told from it)."""
    for label, value in _cells(row).items():
        if not condition.words & _label_tokens(label):
            continue
        leading = re.match(r"\s*(?:[$€£]\s?)?(-?\d[\d,]*(?:\.\d+)?)", value)
        if leading is None:
            continue
        number = float(leading.group(1).replace(",", ""))
        if condition.op in _AT_LEAST:
            return number >= condition.number
        if condition.op in _AT_MOST:
            return number <= condition.number
        if condition.op in _ABOVE:
            return number > condition.number
        return number < condition.number
    return None


def _meeting(rows: Sequence[str], question: Question) -> list[str] | None:
    """The rows that meet the question's comparison (all of them without one); None
    when some row cannot tell: counting or listing every row would ignore it."""
    condition = _condition(question)
    if condition is None:
        return list(rows)
    met = [_meets(row, condition) for row in rows]
    if not condition.words or any(m is None for m in met):
        return None
    return [row for row, m in zip(rows, met, strict=True) if m]


def _column(labels: Sequence[str], wanted: set[str], priced: bool, asked: set[str]) -> str | None:
    """The one column ``wanted`` names; for a price, not another charge ("Shipping cost"),
    and among several, the one the question's words name too ("Annual cost")."""
    found = [k for k in labels if wanted & _label_tokens(k)]
    if priced:
        found = [k for k in found if not _OTHER_CHARGES & _label_tokens(k)]
    if len(found) > 1:
        found = [k for k in found if (_label_tokens(k) - wanted) & asked] or found
    return found[0] if len(found) == 1 else None


def _superlative(question: Question, content: PageContent) -> Found | None:
    """ "which planet has the most moons", "the cheapest tea": the table row with the
    greatest (or least) number in the column the question names, or in its price
    column, among the rows that have the question's other words where some rows have
    them ("the cheapest Dell laptop"). None when no table has one such column, when
    several tables could answer and none is named, or on a tie: a passage that says
    "most" answers nothing."""
    priced = _PRICED.search(question.text)
    found = _SUPERLATIVE.search(question.text)
    if priced:
        wanted, smallest = set(_PRICE_COLUMNS), priced["low"] is not None
        said = set(tokens(priced.group()))
    else:
        assert found is not None
        wanted = set(tokens(found["col"] or ""))
        smallest = found["sup"].lower() in _SMALLEST
        said = set(tokens(found.group()))
        if found["sup"].lower() in _IN_TIME and wanted & _PRICE_COLUMNS:
            return None  # "the latest price": a date's, not the greatest price
    if not wanted:
        return None
    asked = set(question.ranking)
    title = set(tokens(content.title))
    paid = bool(priced and re.search(r"\b(?:paid|non-free|premium)\b", question.text, re.I))
    answers: list[tuple[int, Found]] = []
    for collection in content.collections:
        if not collection.table or collection.context == "form":
            continue  # a form's fields ("Min price", "Max price") are no table of things
        rows = [(item, _cells(item)) for item in collection.items]
        labels = list(dict.fromkeys(k for _, cells in rows for k in cells))
        column = _column(labels, wanted, bool(priced), asked)
        if column is None:
            continue
        own = set(tokens(collection.context)) | {t for k in labels for t in _label_tokens(k)}
        values = [set(tokens(" ".join(cells.values()))) for _, cells in rows]
        # Words some rows have and others not narrow the rows: "Dell", "to Paris".
        narrowing = {
            t
            for t in question.required
            if t not in own | title | said
            and any(t in v for v in values)
            and not all(t in v for v in values)
        }
        numbered = []
        for (item, cells), have in zip(rows, values, strict=True):
            if not narrowing <= have or not cells.get(column):
                continue
            number = _number(cells[column])
            if number is not None and paid and number[1] == 0:
                continue  # "the cheapest paid plan": not the free one
            if number is None and re.fullmatch(r"[-—–?]|n/?a|none|tbd", cells[column].lower()):
                continue  # no price given
            if number is None:
                if priced:
                    break  # a price not read ("on request"): no cheapest to name
                continue
            numbered.append((number[0] if smallest else number[1], item, cells))
        else:
            if len(numbered) < 2:
                continue
            pick = min if smallest else max
            best = pick(numbered, key=lambda r: r[0])
            if sum(r[0] == best[0] for r in numbered) > 1:
                return None  # a tie picks nothing
            value = _asked_value(question, best[2], column, bool(priced), said)
            named = len(asked & set(tokens(collection.context)) - said)
            answers.append((named, Found(best[1], content.url, value)))
    if not answers and priced:
        answers = _cards(question, content, smallest, said, paid)
    if not answers:
        return None
    answers.sort(key=lambda a: a[0], reverse=True)
    if len(answers) > 1 and answers[0][0] == answers[1][0]:
        return None  # several tables could answer, and none is named more than the others
    return answers[0][1]


# "$1,299.99", "US$ 5", "12,50 €", "12 EUR"; not "13 $1,299" (a model's number, then a price)
_CARD_PRICE = re.compile(
    r"[A-Z]{0,3}[$€£¥₹]\s?\d[\d.,]*|\d[\d.,]*\s?(?:[$€£¥₹](?!\s?\d)|(?:EUR|USD|GBP)\b)"
)
# An amount after one of these is not what the thing costs now: "(was $1,499)", "Save $200",
# "up to $500,000" of cover.
_NOT_THE_PRICE = re.compile(
    r"\b(?:was|save|saves|reg\.?|regular(?:\s+price)?|list\s+price|rrp|compare\s+at|delivery"
    r"|shipping|(?:price\s+)?cut|reduced(?:\s+by)?|hoa|fees?|deposit|up\s+to|coverage|cover"
    r"|over|above|under|below)\s*:?\s*$",
    re.IGNORECASE,
)
# A card for something no one can buy any more (a shop's "Out of stock" may come back).
_GONE = re.compile(r"\b(?:sold\s+out|no\s+longer\s+available)\b|^sold\b", re.I)
_FREE = re.compile(
    r"(?<![\w-])free(?![\w-])(?!\s+(?:cancellation|shipping|delivery|returns?|trial))", re.I
)


def _card_price(text: str) -> tuple[float, str, str] | None:
    """The price a card (a product or plan in a list or grid) shows now, with its
    currency: its first amount that is no old price, saving or delivery charge; "Free"
    on a card with no amount."""
    for found in _CARD_PRICE.finditer(text):
        before = text[max(0, found.start() - 20) : found.start()]
        after = text[found.end() : found.end() + 6]
        if _NOT_THE_PRICE.search(before) or re.match(r"\s*off\b", after, re.IGNORECASE):
            continue
        amount = found.group().rstrip(".,")
        currency = re.sub(r"[\d.,\s]", "", amount)
        digits = re.sub(r"[^\d.,]", "", amount)
        if "€" in currency and re.fullmatch(r"\d{1,3}(?:\.\d{3})+", digits):
            digits = digits.replace(".", "")  # "2.850 €": a thousands dot
        number = _number(digits)
        if number is not None:
            return number[0], amount, currency
    if _FREE.search(text):
        return 0.0, "Free", ""
    return None


# "how much RAM does ...": a measure named after "how much", not the price.
_HOW_MUCH_OF = re.compile(
    r"how\s+much\s+(?!(?:is|are|was|were|does|do|did|will|would|the|a|an|it|this|that)\b)\w",
    re.IGNORECASE,
)


def _card_words(item: str, numbered: dict[str, str]) -> set[str]:
    """A card's words; a number the question gives with its word ("7-seat") only where
    the card has the two together ("7 seats")."""
    words = set(tokens(item))
    for number, word in numbered.items():
        if not re.search(rf"(?<![\d.]){number}\s*-?\s*{re.escape(word[:4])}", item, re.IGNORECASE):
            words.discard(number)
    return words


def _cards(
    question: Question, content: PageContent, smallest: bool, said: set[str], paid: bool
) -> list[tuple[int, Found]]:
    """ "the cheapest laptop" on a page of product cards (a list, a run of articles or of
    boxes alike): the card with the least (or greatest) price, among the cards that have
    the question's other words where some cards have them. No answer from a list where a
    card shows no price ("Let's talk", unless sold out, or free), where the cards' prices
    are in several currencies, or where a word that the title or heading says too (so
    that it may mean all the cards) changes the answer when it narrows the cards; and
    none when a bigger list of things for sale could not answer."""
    found: list[tuple[int, Found, int]] = []
    silent = 0  # the size of the biggest list of things for sale that could not answer
    title = set(tokens(content.title))
    # "7-seat": the number with its word, not a "7.6" rating.
    numbered = {n: w for n, w in re.findall(r"(?<![\d.])(\d+)\s*-?\s*([^\W\d_]+)", question.text)}
    for collection in content.collections:
        if collection.table or len(collection.items) < 2:
            continue
        heading = set(tokens(collection.context.split(" — ")[0]))
        have = [_card_words(item, numbered) for item in collection.items]
        # Every word, the weak ones too: "the cheapest manual grinder".
        asked = {t for t in question.ranking if t not in said | _PRICE_COLUMNS | _PRESENCE}
        if any(not any(t in h for h in have) for t in asked - heading - title):
            continue  # "the cheapest 3-bedroom home" where no card says bedroom
        narrowing = {
            t for t in asked if any(t in h for h in have) and not all(t in h for h in have)
        }
        prices = [_card_price(item) for item in collection.items]
        if sum(p is not None for p in prices) < 2:
            continue
        picks: set[tuple[tuple[float, str, str], str] | None] = set()
        for narrow in (narrowing, narrowing - heading - title):
            chosen = [
                (price, item)
                for price, item, h in zip(prices, collection.items, have, strict=True)
                if narrow <= h and not _GONE.search(item) and not (paid and price and price[0] == 0)
            ]
            if not chosen and narrow != narrowing - heading - title:
                continue  # no card has the title's word ("laptop" on MacBooks): it names all
            if any(price is None for price, _ in chosen) and not smallest:
                picks.add(None)  # "Let's talk" may be the dearest
                continue
            rows = [(price, item) for price, item in chosen if price is not None]
            # One card left is no comparison: the words may have matched by chance ("tour
            # tote" for "the cheapest show on the tour").
            if len(rows) < 2 or len({price[2] for price, _ in rows}) > 1:
                picks.add(None)  # too few, or prices in several currencies
                continue
            pick = min if smallest else max
            best = pick(rows, key=lambda r: r[0][0])
            ties = sum(r[0][0] == best[0][0] for r in rows)
            picks.add(None if ties > 1 else best)
        if None in picks or len(picks) != 1:
            silent = max(silent, len(collection.items))
            continue
        ((price, item),) = picks
        # "how much is the cheapest X": its price; "how much RAM does it have": not that.
        measure = _HOW_MUCH_OF.match(question.text)
        value = price[1] if question.kind == "amount" and not measure else None
        # A run of three tabs ("Cheapest $412") gives way to the nine cards beside it.
        named = len(set(question.ranking) & heading - said - title) * 1000 + len(collection.items)
        found.append((named, Found(item, content.url, value), len(collection.items)))
    # When the products could not tell, a smaller list beside them (add-ons, a filter's
    # price ranges, a carousel) must not answer in their place.
    return [(named, answer) for named, answer, size in found if size >= silent]


def _asked_value(
    question: Question, cells: dict[str, str], column: str, priced: bool, said: set[str]
) -> str | None:
    """An amount question's value from the chosen row: the cell of a column it names
    ("how much RAM does the cheapest laptop have"), else the price ("how much is the
    cheapest tea"; the price cell of "the highest rated laptop"); None otherwise."""
    if question.kind != "amount":
        return None
    # The thing picked is no measure of it: "car" in "how much is the cheapest car".
    after = re.search(rf"{_PRICED.pattern}|{_SUPERLATIVE.pattern}", question.text, re.I)
    thing = re.match(r"\s*([\w-]+)", question.text[after.end() :]) if after else None
    asked = set(question.ranking) - said - _PRICE_COLUMNS - set(tokens(thing[1] if thing else ""))
    # A measure, not the thing's name ("Tea: Darjeeling" for "the cheapest tea").
    named = [
        k
        for k in cells
        if k != column and _label_tokens(k) & asked and re.match(r"[\d$€£¥₹.,-]", cells[k])
    ]
    if named:
        return cells[named[0]]
    if priced or _label_tokens(column) & _PRICE_COLUMNS:
        return cells[column]
    price = _column(list(cells), set(_PRICE_COLUMNS), True, set(question.ranking))
    return cells[price] if price else None


def _focused(found: Found, question: Question) -> Found | None:
    """A passage cut to the sentences that answer, when it is too long to be one (a
    module's whole documentation on one line); None when no sentence has the question's
    words."""
    sentences = [x.strip() for x in _SENTENCE.split(found.passage) if x.strip()]
    asked = set(question.ranking)
    # Words as written count twice: "dumps" is not "dump", though both stem alike.
    exact = {w for w in words(question.text) if w not in STOPWORDS}
    scores = [len(asked & set(tokens(x))) + 2 * len(exact & set(words(x))) for x in sentences]
    if not scores or max(scores) == 0:
        return None
    start = scores.index(max(scores))
    shown = sentences[start][:MAX_PASSAGE_CHARS]
    for more in sentences[start + 1 :]:
        if len(shown) + len(more) + 1 > MAX_PASSAGE_CHARS:
            break
        shown = f"{shown} {more}"
    if found.value is not None and found.value not in shown:
        return None
    return Found(("… " if start else "") + shown + " …", found.url, found.value)


_VALUE_OF = re.compile(
    r"\bvalues?\s+(?:of|for)\s+(?:the\s+)?(?:constant\s+|variable\s+)?(?P<name>[A-Za-z_][\w.]*\w)",
    re.IGNORECASE,
)


def _assigned(question: Question, content: PageContent) -> Found | None:
    """ "what is the value of math.pi": a line that sets it, "pi = 3.141592653589793"."""
    found = _VALUE_OF.search(question.text)
    if found is None:
        return None
    name = found["name"]
    names = {name, name.rsplit(".", 1)[-1]}
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    setting = re.compile(rf"(?<![\w.])(?:{alternatives})\s*=\s*(?P<v>[^\s,;]+)")
    for line in content.text.splitlines():
        hit = setting.search(line)
        if hit:
            start = max(0, hit.start() - 100)
            return Found(line[start : hit.end() + 200].strip(), content.url, hit["v"])
    return None


_WHAT_DOES = re.compile(
    r"what\s+(?:does|do|did|is)\s+(?:the\s+)?(?:function\s+|method\s+)?"
    r"(?P<name>[A-Za-z_][\w.]*)(?:\(\))?\s+(?:do|does|return|returns|mean|for|used\s+for)\b",
    re.IGNORECASE,
)


def _described(question: Question, content: PageContent) -> Found | None:
    """ "what does textwrap.dedent do": the line where the page documents ``dedent(...)``
    and what follows it (reference docs put the description after the signature)."""
    found = _WHAT_DOES.match(question.text)
    if found is None:
        return None
    name = found["name"].rsplit(".", 1)[-1]
    signature = re.compile(rf"(?<![\w.]){re.escape(name)}\s*\(")
    lines = content.text.splitlines()
    for i, line in enumerate(lines):
        hit = signature.search(line)
        if hit is None or line[: hit.start()].strip(" :-•*") not in (
            "",
            found["name"][: -len(name)].rstrip("."),
        ):
            continue
        shown = line[hit.start() :].strip()
        for more in lines[i + 1 : i + 4]:
            if (
                len(shown) >= 200
                or re.search(r"[.!?]$", shown)  # the description's first sentence is said
                or signature.search(more)
                or _SIGNATURE.match(more.strip())
                or _ASSIGNMENT.match(more)
                or len(more.split()) < 2  # the next section's heading ("Data")
            ):
                break
            shown = f"{shown}\n{more.strip()}"
        if len(shown.split()) < 4:
            continue  # a signature with nothing after it
        return Found(shown[:MAX_PASSAGE_CHARS], content.url)
    return None


def find_answer(question: Question, content: PageContent) -> Found | None:
    """The passage (and value) that answers ``question`` on this page, or None."""
    described = _described(question, content)
    if described is not None:
        return described
    nth = _nth_item(question, content)
    if nth is not None:
        return nth
    if _VALUE_OF.search(question.text):
        # Only a line that sets it says a value; a passage that names it does not.
        return _assigned(question, content)
    if _NOT_PICKING.search(question.text) or question.kind == "count":
        pass  # "why is Gyokuro the most expensive tea": a passage, if any
    elif _PRICED.search(question.text) or (
        _SUPERLATIVE.search(question.text) and question.kind == "amount"
    ):
        # "which tea has the lowest price": a row; "what is the cheapest plan" on a page
        # that says so in prose: its passage, which has to say "cheapest" too.
        row = _superlative(question, content)
        if row is not None:
            return row
        said = _PRICED.search(question.text) or _SUPERLATIVE.search(question.text)
        assert said is not None
        extreme = set(tokens(said.group())) - _PRICE_COLUMNS
        found = _find_answer(question, content)
        if found is None or not extreme <= set(tokens(found.passage)):
            return None
        return found
    elif _SUPERLATIVE.search(question.text) and question.kind in ("text", "person"):
        return _superlative(question, content)
    found = _find_answer(question, content)
    if found is None or max(map(len, found.passage.splitlines() or [""])) <= MAX_PASSAGE_CHARS:
        return found  # rows and lines, each short already
    if question.kind == "count" and found.value is not None:
        # A count of long items ("5" quotes): the number stands, the items shown are cut.
        return Found(found.passage[:MAX_PASSAGE_CHARS].rstrip() + " …", found.url, found.value)
    return _focused(found, question)


_CELL_VALUE = {
    "date": re.compile(r"1\d{3}|20\d{2}"),
    "person": re.compile(r"[^\W\d_][\w.@-]{1,39}"),
    # "£34.00", "$59.88/yr", "12,50 €", "12": an amount, not "30 days" nor "Keeper: $5"
    "amount": re.compile(
        r"(?:[A-Z]{0,3}[$€£¥₹]\s?)?\d[\d.,]*(?:\s?(?:[$€£¥₹]|EUR|USD|GBP))?(?:\s*/\s*\w+)?"
    ),
}


def _only_signature(lines: Sequence[str]) -> bool:
    """Lines that name a function ("dedent(text)", "Functions dedent(text)") and say
    nothing of what it does."""
    rest = [line for line in lines if not _SIGNATURE.fullmatch(line.strip())]
    return len(rest) < len(lines) and not any(len(line.split()) >= 3 for line in rest)


def _labelled_cell(question: Question, passage: _Passage) -> str | None:
    """ "When was Cassini launched" on a row "launched: 1997", "who is issue 4 assigned
    to" on a row "Assigned To | ada": the value of the cell the question's words label
    (a year for "when", a single name for "who")."""
    shape = _CELL_VALUE.get(question.kind)
    if not passage.labelled or shape is None:
        return None
    asked = set(question.ranking)
    cells = [c.strip() for c in passage.text.split(" | ")]
    pairs = [c.partition(": ")[::2] for c in cells if ": " in c]
    # A row of label and value cells side by side ("Assigned To | ada | Keywords |").
    pairs += list(zip(cells, cells[1:], strict=False))
    named = [
        (len(asked & _label_tokens(label)), value.strip())
        for label, value in pairs
        if shape.fullmatch(value.strip())
        and not (question.kind == "person" and asked & set(tokens(value)))
    ]
    # The cell whose label says most of the question ("Original price" over "Price"),
    # the first of equals.
    best = max(named, key=lambda n: n[0], default=(0, ""))
    return best[1] if best[0] else None


def _find_answer(question: Question, content: PageContent) -> Found | None:
    candidates = passages(content)
    # What the page's title says the page is about ("Rust" in the Rust book, "shop" on the
    # "Tea Shop") is given: a passage need not repeat it. What is counted must be named.
    title = set(tokens(content.title))
    untitled = [t for t in question.required if t not in title or t in question.target]
    # ... unless the title is all the question says ("how to configure the cache" on
    # "Configuring the cache"): then the passage has to say it again.
    required = untitled or list(question.required)
    if not required and question.kind == "text" and not _PLURAL_WHICH.match(question.text):
        # "what is this page about": the page's own description or first paragraph.
        lead = content.description or next((p.text for p in candidates if len(p.text) >= 40), "")
        return Found(lead, content.url) if lead else None
    # A row's labels are column names: "diameter_km" says diameter.
    docs = [
        tokens(f"{p.heading} {p.text.replace('_', ' ') if p.labelled else p.text}")
        for p in candidates
    ]
    if question.kind == "person":
        # "by Grace Hopper" says who wrote it, as "author" would.
        docs = [
            d + ["author"] if authored(p.text) else d for d, p in zip(docs, candidates, strict=True)
        ]
    bm25 = BM25(docs)
    need = needed(len(required))
    asked = set(question.ranking)
    named = _asked_for(question)
    scored: list[tuple[int, float, int, _Passage]] = []
    for i, p in enumerate(candidates):
        if any(not set(tokens(part)) - asked for part in p.lines or (p.text,)):
            continue  # a line that only repeats the question ("priority") tells nothing
        if _only_signature(p.lines or (p.text,)):
            continue  # "dedent(text)" names a function; the line after it says what it does
        if all(_ASSIGNMENT.match(line) for line in p.lines or (p.text,)):
            continue  # "__all__ = ['quote', ...]" sets names, it says what none of them does
        if (
            named is not None
            and named not in (tokens(p.text) if p.labelled else docs[i])
            # The rows of the table a page is named for ("missions: 8 rows") are missions.
            and not (p.labelled and _PLURAL_WHICH.match(question.text) and named in title)
        ):
            # "what priority does issue 1 have": a passage (a table row: one of its cells)
            # that names no priority, whatever the table is about.
            continue
        covered = _covered(required, set(docs[i]))
        score = bm25.score(question.ranking, i)
        if covered >= need and score > 0:
            scored.append((covered, score, -len(p.text), p))
    scored.sort(key=lambda s: s[:3], reverse=True)
    if question.kind == "count":
        if not question.target:
            return None  # "how many are there": of what?
        # A number the question writes is not its count: "how many 4-credit courses"
        # is not answered by "4 Credits".
        asked = set(re.findall(r"\d[\d,]*", question.text))
        # What is counted is the plural the question writes ("4-credit courses": courses,
        # not credits; "how many moons Saturn has": moons), else its last word.
        plurals = {stem(w) for w in words(question.text) if w.endswith("s")}
        counted = [t for t in question.target if t in plurals][:1] or list(question.target[-1:])
        # A passage's "12 teas" is no count of those above a bound: only a table can tell.
        compared = _condition(question) is not None
        for *_, p in [] if compared else scored:
            value = find_count(p.text, counted)
            if value is not None and value not in asked:
                return Found(p.shown(question), content.url, value)
        return (
            _count_of_page(question, content)
            or _count_collections(question, content)
            or _count_page_parts(question, content)
        )
    if _PLURAL_VALUES.match(question.text) and any(
        p.labelled and covered == scored[0][0] for covered, *_, p in scored
    ):
        # "what are the prices": each row's, as "which teas are from Japan" below.
        return _rows(question, scored, candidates, content)
    for *_, p in scored[:8]:
        # A row's cell the question names ("Bottle: £34.00") before its first amount.
        value = _labelled_cell(question, p) if question.kind == "amount" else None
        if value is None:
            value = _value(question.kind, p.shown(question), question)
        if value is None:
            value = _labelled_cell(question, p)
        if value is not None:
            return Found(p.shown(question), content.url, value)
    if question.kind in ("person", "date"):
        return None  # a "who" with no name, a "when" with no date, is no answer
    # A filled form's fields are one record's, not a list ("Job title: software" in a
    # job board's search form is no job).
    listing = [x for x in scored if x[3].heading != "form"]
    if _PLURAL_WHICH.match(question.text) and not any(p.labelled for *_, p in listing):
        # "which Dell laptops are there", "list the ingredients": the cards or items of
        # a list about them, when no table row answers.
        wanted = set(question.ranking) - title - _PRESENCE
        return _listed(question, content, wanted, named, title) or _main_list(
            question, content, wanted, named
        )
    if not scored:
        return None
    best = scored[0]
    if _PLURAL_WHICH.match(question.text):
        # "which teas are from Japan": every row that answers as well as the best
        # passage and says so in its cells; "which missions went to Mars": rows that
        # say so, not one passage. "Which planets have rings" is not answered by a
        # "Rings" column that every row has, whatever its cells say.
        extra = set(required) - title - ({named} if named else set())
        if (condition := _condition(question)) is not None:
            extra -= set(tokens(condition.phrase))  # a column's number, told by _rows
        rows = [
            x
            for x in listing
            if x[3].labelled
            and x[0] == best[0]
            and _cells_say(x[3].text, extra, bool(_NEGATED.search(question.text)))
        ]
        return _rows(question, rows, candidates, content) if rows else None
    return Found(best[3].shown(question), content.url)


# Words that say a thing is there, not which one: "which teas are listed / sold / shown".
_PRESENCE = frozenset(
    tokens("list listed available sell sold offer offered show shown exist there here page site")
)


def _listed(
    question: Question, content: PageContent, wanted: set[str], named: str | None, title: set[str]
) -> Found | None:
    """The items of the list (or run of cards) about what a plural question names (its
    heading, the page's title or every item names it), that have the question's other
    words; None for a negated question ("which laptops are not in stock": an item's
    "Out of stock" would say "stock" too), and when two lists answer alike."""
    if _NEGATED.search(question.text) or named is None:
        return None
    predicate = re.search(
        r"\b(?:are|is|were|have|has|had|include|includes|offer|offers|come\s+with)\s+(?:an?\s+|the\s+)?"
        r"(?P<p>.+)$",
        question.text,
        re.IGNORECASE,
    )
    phrase = predicate["p"].lower().strip() if predicate and len(predicate["p"].split()) > 1 else ""
    found: list[tuple[int, int, list[str]]] = []
    for collection in content.collections:
        if collection.table or len(collection.items) < 2:
            continue
        own = set(tokens(collection.context))
        have = [set(tokens(item)) for item in collection.items]
        # About them by its heading and label, not by a sentence before it ("Add-ons —
        # Available on any paid plan" is no list of plans; "Filter — Brand" lists brands).
        parts = collection.context.split(" — ")
        if len(parts) > 1 and len(parts[-1].split()) >= 4:
            parts = parts[:-1]
        heading = tokens(" ".join(parts))
        if named not in set(heading) | title and not all(named in h for h in have):
            continue
        if collection.nav and named not in heading:
            continue  # a sidebar's filters that say "products": not the products
        # "the latest topics": the list's order says which are the latest, unless some
        # items say so.
        words = {w for w in wanted - own - {named} if w not in _RECENT or any(w in h for h in have)}
        chosen = [item for item, h in zip(collection.items, have, strict=True) if words <= h]
        # The question's own words, as written, where some items have them: "out of
        # stock" is not "In stock".
        said = [
            item
            for item in collection.items
            if phrase and re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", item.lower())
        ]
        chosen = said or chosen
        if words and len(chosen) == len(collection.items):
            continue  # all of them: "out of stock" where each says "In stock" or not
        if chosen:
            # A list under a heading that names it ("Ingredients", "Laptops") beats one
            # the title names; a longer list a shorter one (the products beside a
            # filter's "32GB RAM (2)", or a product's own list of specs).
            headed = int(named in heading and len(heading) <= 3)
            # A menu's or a sidebar's list only when the content has none.
            found.append((int(not collection.nav), headed, len(collection.items), chosen))
    found.sort(key=lambda f: f[:3], reverse=True)
    if not found or (len(found) > 1 and found[0][:3] == found[1][:3]):
        return None
    return Found("\n".join(found[0][3][: _most(question)]), content.url)


def _most(question: Question) -> int:
    """How many items a list answer gives: as many as asked for, else ``MAX_ROWS``."""
    return question.limit or MAX_ROWS


def _main_list(
    question: Question, content: PageContent, wanted: set[str], named: str | None
) -> Found | None:
    """The page's own list of things, for "which stories" or "the top 5 stories" asked
    of a page that names them nowhere (a news site's front page, a shop's products):
    the collection in the content (not a menu) with the most text, of three items or
    more and some words each. Only for a bare list: "which stories are about Rust" is
    not answered by every story."""
    if named not in _LIST_NOUNS or wanted - _LIST_NOUNS - _RECENT or _NEGATED.search(question.text):
        return None  # "which monitors" on a page of laptops: none
    lists = _content_lists(content, words_each=4)
    if not lists:
        return None
    lists.sort(key=lambda c: sum(map(len, c.items)), reverse=True)
    if len(lists) > 1 and sum(map(len, lists[1].items)) * 2 > sum(map(len, lists[0].items)):
        return None  # two lists of about the same size: which one is meant is not known
    return Found("\n".join(lists[0].items[: _most(question)]), content.url)


def _content_lists(content: PageContent, words_each: int) -> list[Collection]:
    """The lists of the page's content (not its menus, a form's fields or a pager) of
    three items or more, with ``words_each`` words an item on average."""
    return [
        c
        for c in content.collections
        if not c.nav and c.context != "form" and len(c.items) >= 3 and not pager(c)
        and sum(len(i.split()) for i in c.items) >= words_each * len(c.items)
    ]  # fmt: skip


_ORDINALS = {
    w: i + 1
    for i, w in enumerate(
        "first second third fourth fifth sixth seventh eighth ninth tenth".split()
    )
} | {"last": -1}
# "the price of the first book", "who posted the 2nd story": one item of a list.
_NTH = re.compile(
    r"\bthe\s+(?P<n>"
    + "|".join(_ORDINALS)
    + r"|(?:[1-9]|10)(?:st|nd|rd|th))\s+(?P<noun>[^\W\d_][\w-]*)\b"
    r"(?!\s+of\s)",  # "the first half of the year"
    re.IGNORECASE,
)


def _nth_item(question: Question, content: PageContent) -> Found | None:
    """ "What is the price of the first book": the first item of the list of books,
    and its price. The list is named by a heading or the page's title in the plural
    ("Books to Scrape"), or the noun names any list's items ("the second result",
    "the first story"), when it is the content's biggest; else no answer here (the
    page's "first iPhone" is no item of a list)."""
    said = _NTH.search(question.text)
    if said is None:
        return None
    ordinal = said["n"].lower()
    n = _ORDINALS.get(ordinal) or int(ordinal[:-2])
    noun = said["noun"].lower()
    stem_ = stem(noun)
    plural = _plural(noun)
    titled = re.search(rf"(?<!\w){re.escape(plural)}(?!\w)", content.title, re.IGNORECASE)
    generic = stem_ in _LIST_NOUNS
    lists = _content_lists(content, words_each=3)
    headed = [c for c in lists if stem_ in tokens(c.context.split(" — ")[0])]
    if headed:
        chosen = headed[0]
    elif (titled or generic) and lists:
        chosen = max(lists, key=lambda c: sum(map(len, c.items)))
    else:
        return None
    if n > len(chosen.items):
        return None
    item = chosen.items[n - 1 if n > 0 else -1]
    row = _Passage(item, chosen.context, labelled=chosen.table)
    if question.kind == "amount" and not chosen.table:
        price = _card_price(item)
        value = price[1] if price else None
    elif question.kind == "count":
        # "how many points does the third story have": a number the item gives its target
        value = find_count(item, question.target) if question.target else None
    elif question.kind == "person" and not chosen.table:
        # "who is the guest on the third episode": the name after "Guest", not the
        # host's before it; without such a word, the name the item credits.
        role = set(question.ranking) - {stem_} - set(tokens(ordinal)) - _CREDITS
        after = next(
            (w.end() for w in re.finditer(r"[\w'-]+", item) if stem(w.group().lower()) in role),
            None,
        )
        if role and after is None:
            return None
        value = find_person(item[after or 0 :], set(question.ranking))
    else:
        value = _labelled_cell(question, row) or _value(question.kind, item, question)
    if value is None and question.kind != "text":
        return None  # "who wrote the first book" on a card that names no one
    return Found(item, content.url, value)


# Words that ask who made an item, which the name it credits answers ("by Jane Austen").
_CREDITS = frozenset(
    tokens(
        "said say says wrote write writes written author authored posted post posts published"
        " publish made make created create built build by sang sung"
    )
)

_PAGE_LINK = re.compile(
    r"\d{1,4}|next|prev(?:ious)?|first|last|older|newer|more|[«»‹›<>→←…]+|\.\.\.", re.IGNORECASE
)


def pager(collection: Collection) -> bool:
    """A list of links to pages of results ("1", "2", "Next ›"): no list of things."""
    said = [re.sub(r"\s*[«»‹›<>→←]+\s*", " ", i).strip() for i in collection.items]
    return sum(bool(_PAGE_LINK.fullmatch(i) or not i) for i in said) * 2 > len(said)


# What the items of a page's list are called, besides the words the page uses.
_LIST_NOUNS = frozenset(
    tokens(
        "item items entry entries result results story stories post posts article articles"
        " title titles name names headline headlines link links product products listing"
        " listings thing things record records row rows"
    )
)


_YES = frozenset({"yes", "y", "true", "✓", "✔", "included", "available"})
_NO = frozenset({"no", "n", "false", "✗", "✘", "-", "—", "not included", "unavailable"})
_NEGATED = re.compile(r"\b(?:no|not|without|don't|doesn't|do\s+not|does\s+not|lack)\b", re.I)


def _cells_say(row: str, wanted: set[str], negated: bool) -> bool:
    """Whether a row's cells, not only its column names, have one of ``wanted`` (all
    rows do when nothing is wanted); a yes/no column that ``wanted`` names says it by
    its yes ("which planets have rings": "Rings: Yes"), or its no when ``negated``."""
    if not wanted:
        return True
    cells = _cells(row)
    for label, value in cells.items():
        if wanted & _label_tokens(label) and value.lower() in _YES | _NO:
            return (value.lower() in _YES) != negated
    return bool(wanted & set(tokens(" ".join(cells.values()))))


def _rows(
    question: Question,
    scored: list[tuple[int, float, int, _Passage]],
    candidates: list[_Passage],
    content: PageContent,
) -> Found | None:
    """Every table row that answers as well as the best row, in the page's order."""
    best = max(covered for covered, *_, p in scored if p.labelled)
    chosen = {id(p) for covered, *_, p in scored if p.labelled and covered == best}
    rows = _meeting([p.text for p in candidates if id(p) in chosen], question)
    if not rows:  # a comparison no row meets, or that the rows cannot tell
        return None
    return Found("\n".join(list(dict.fromkeys(rows))[: _most(question)]), content.url)


_FILE = re.compile(
    r"\.(?:pdf|zip|gz|tgz|bz2|xz|7z|rar|tar|csv|xlsx?|docx?|pptx?|odt|ods|png|jpe?g|gif|svg"
    r"|webp|mp[34]|mov|avi|exe|msi|dmg|deb|rpm|whl|iso|bin|json|xml|rss|atom|ya?ml)$",
    re.IGNORECASE,
)


_EXPORT = re.compile(r"(?:^|&)(?:_?format=(?:json|csv|xml)|@action=export)", re.IGNORECASE)


def rank_links(question: Question, content: PageContent, visited: Sequence[str]) -> list[Link]:
    """Links on the same site worth following for the question, most promising first."""
    host = urlsplit(content.url).hostname
    seen = {u.split("#")[0] for u in visited}
    numbered = [
        (re.escape(w.lower()), n) for w, n in re.findall(r"([^\W\d_]+)\s*#?\s*(\d+)", question.text)
    ]
    scored: list[tuple[int, int, Link]] = []
    for order, link in enumerate(content.links):
        parts = urlsplit(link.url)
        target = link.url.split("#")[0]
        if parts.scheme not in ("http", "https") or parts.hostname != host or target in seen:
            continue
        if _FILE.search(parts.path) or _EXPORT.search(parts.query):
            continue  # a download or a machine's format, not a page to read
        # The query too: a filter's link is often only "Yes", to "?is_staff=1".
        found = set(tokens(f"{link.text} {parts.path} {parts.query}".replace("_", " ")))
        score = 2 * _covered(question.required, found) + _covered(question.ranking, found)
        # "issue 1" is the page at .../issue1 or .../issue/1 (Roundup, most trackers).
        path = parts.path.lower()
        score += 10 * sum(
            bool(re.search(rf"(?:^|/){w}[/_-]?{n}(?:$|[/.?])", path)) for w, n in numbered
        )
        if score:
            scored.append((score, -order, link))
    scored.sort(key=lambda s: s[:2], reverse=True)
    return list(dict.fromkeys(link for *_, link in scored))
