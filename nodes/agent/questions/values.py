"""Pulling one value out of a passage: a date, a person's name, an amount, a count.

Each returns None rather than a guess: the passage is still the answer then.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from nodes.agent.questions.ranking import STOPWORDS, stem

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_DATES = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?\b",  # ISO
        rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+\d{{4}}\b",  # 3 March 2024
        rf"\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b",  # March 3, 2024
        r"\b\d{1,2}[/.]\d{1,2}[/.]\d{4}\b",  # 03/03/2024
        rf"\b{_MONTH}\s+\d{{4}}\b",  # March 2024
        r"\b(?:in|since|from|on|year)\s+(1\d{3}|20\d{2})\b",  # in 1998, in 1232
        # Days and times, for "when does it open": "Monday to Friday, 9:00 to 17:00".
        r"\b(?:(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day|weekdays|daily)\b"
        r"(?:\s*(?:to|-|–|and)\s*(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day)?"
        r"(?:,?\s*(?:from\s+)?\d{1,2}(?::\d{2})?\s*(?:am|pm)?(?:\s*(?:to|-|–)\s*"
        r"\d{1,2}(?::\d{2})?\s*(?:am|pm)?)?)?",
        r"\b\d{1,2}(?::\d{2})\s*(?:am|pm)?(?:\s*(?:to|-|–)\s*\d{1,2}(?::\d{2})?\s*(?:am|pm)?)?",
    )
)


def find_date(text: str) -> str | None:
    for pattern in _DATES:
        found = pattern.search(text)
        if found:
            return found.group(found.lastindex or 0)
    return None


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    value: str


def _date_spans(text: str) -> list[_Span]:
    """Every date or time of ``text``, the likeliest forms first (``_DATES``' order)."""
    spans: list[_Span] = []
    for pattern in _DATES:
        for found in pattern.finditer(text):
            group = found.lastindex or 0
            start, end = found.span(group)
            if not any(start < o.end and o.start < end for o in spans):
                spans.append(_Span(start, end, found.group(group).strip()))
    return spans


# "Best grinder under $200", "orders over $50": a bound, not what something costs.
_BOUND_BEFORE = re.compile(
    r"(?:\b(?:under|over|below|above|(?:less|more)\s+than|up\s+to|at\s+least)\s*)$", re.I
)


# "Was $189.99", "$189.99 $149.99 Save $40.00": a former price beside the current one.
_FORMER_BEFORE = re.compile(
    r"\b(?:was|originally|before|list\s+price|rrp|msrp|regular(?:\s+price)?)\s*:?\s*$", re.I
)
_SAVING_AFTER = re.compile(r"^\s*(?:\(?-\s?\d+\s?%|(?:you\s+)?save\b|\d+\s?%\s+off\b)", re.I)
_FORMER_ASKED = re.compile(
    r"\b(?:was|original(?:ly)?|before|former|old|list\s+price|rrp|msrp|regular|save|saving|discount)",
    re.I,
)


def _amount_spans(text: str, asked: str = "") -> list[_Span]:
    spans = [
        _Span(m.start(), m.end(), m.group().strip())
        for m in _AMOUNT.finditer(text)
        if not _BOUND_BEFORE.search(text[max(0, m.start() - 16) : m.start()])
    ]
    if _FORMER_ASKED.search(asked):
        return spans
    # The current price, not the struck-through one before it.
    former = {
        i
        for i, span in enumerate(spans)
        if _FORMER_BEFORE.search(text[max(0, span.start - 20) : span.start])
        or (
            i + 1 < len(spans)
            and not text[span.end : spans[i + 1].start].strip()
            and _SAVING_AFTER.match(text[spans[i + 1].end :])
        )
    }
    return [span for i, span in enumerate(spans) if i not in former]


# How far (characters) a value may follow the word of the question that labels it.
_LABEL_REACH = 40


def _picked(
    spans: list[_Span], text: str, question_text: str, labels: Collection[str]
) -> str | None:
    """The value the question asks for among several: not one the question itself
    writes ("when does the 08:40 train arrive": not 08:40), and the one right after a
    word of the question ("Sunrise 07:28 · Sunset 19:36" for "what time is sunset");
    else the first. None when every value is the question's own."""
    fresh = [
        s
        for s in spans
        if not re.search(rf"(?<![\w.,]){re.escape(s.value)}(?![\w.,])", question_text, re.I)
    ]
    if not fresh:
        return None
    ends = [m.end() for m in re.finditer(r"[^\W_]+", text) if stem(m.group().lower()) in labels]
    best: tuple[int, int] | None = None
    for i, span in enumerate(fresh):
        gaps = [span.start - end for end in ends if 0 <= span.start - end <= _LABEL_REACH]
        if gaps and (best is None or min(gaps) < best[0]):
            best = (min(gaps), i)
    return fresh[best[1] if best else 0].value


def date_for(text: str, question_text: str, labels: Collection[str]) -> str | None:
    """``find_date``, for a question: see ``_picked``."""
    return _picked(_date_spans(text), text, question_text, labels)


def amount_for(text: str, question_text: str, labels: Collection[str]) -> str | None:
    """``find_amount``, for a question: see ``_picked``; a bound ("under $200") is no
    amount of the thing."""
    spans = _amount_spans(text, question_text)
    if spans:
        return _picked(spans, text, question_text, labels)
    if _AMOUNT.search(text):
        return None  # only bounds
    return find_amount(text)


# A name: capitalised words (initials too), with the particles names carry.
_NAME = (
    r"(?:[A-Z][\w'’.-]*\.?|(?:de|van|von|der|da|di|le|la|du|bin|al)(?=\s+[A-Z]))"
    r"(?:\s+(?:[A-Z][\w'’.-]*\.?|(?:de|van|von|der|da|di|le|la|du|bin|al)(?=\s+[A-Z])))*"
)
_CUES = re.compile(
    r"(?i:\b(?:written|posted|created|made|maintained|developed|founded|published|edited|run"
    r"|led|managed|signed|designed|built|drawn|painted|composed|directed)\s+by"
    r"|\bby|\b(?:author|authors|writer|maintainer|owner|founder|editor|creator|contact|ceo"
    r"|director|manager|lead|chair|president|head)s?\s*[:\-–—]|(?<!\w)—|(?<!\w)–)"
    # One name or several: "by Steve Klabnik, Carol Nichols, and Chris Krycho".
    rf"\s+(?P<name>{_NAME}(?:\s*,\s*(?:and\s+)?{_NAME}|\s+and\s+{_NAME})*)"
)
_TITLE_CASE = re.compile(rf"(?<![\w.])(?P<name>{_NAME})")


_AUTHORED = re.compile(
    r"(?i:\b(?:written|posted|published|edited|authored)\s+by\b|^\s*by\s+(?-i:[A-Z])"
    r"|\b(?:authors?|writer)\s*[:\-–—])"
)


def authored(text: str) -> bool:
    """Whether the text says who wrote something: "Written by", "By Ada", "Author:"."""
    return _AUTHORED.search(text) is not None


def credited(text: str) -> str | None:
    """A name the text credits: after "by", "Author:", "—" and the like."""
    found = _CUES.search(text)
    return found["name"].rstrip(".") if found else None


def find_person(text: str, question_stems: Collection[str] = ()) -> str | None:
    """A name the text credits; else one written as a name (two to four capitalised
    words, not acronyms, not "The ...") that is not made of the question's own words."""
    name = credited(text)
    if name:
        return name
    for found in _TITLE_CASE.finditer(text):
        parts = found["name"].split()
        if not 2 <= len(parts) <= 4 or parts[0].lower() in STOPWORDS:
            continue
        if any(p.isupper() and len(p) > 2 for p in parts):
            continue  # "HTML", "API": not a name
        if not any(stem(p.lower()) in question_stems for p in parts):
            return found["name"].rstrip(".")
    return None


_CURRENCY = r"(?:[$€£¥₹]|EUR|USD|GBP|CHF|JPY|dollars?|euros?|pounds?)"
_NUMBER = r"\d[\d,.' ]*\d|\d"
# "€48m", "$1.2 billion": the scale is part of the amount.
_SCALE = r"(?:\s?(?:bn|m|k|million|billion|thousand)(?![A-Za-z]))?"
_AMOUNT = re.compile(
    rf"{_CURRENCY}\s?(?:{_NUMBER}){_SCALE}|(?:{_NUMBER})\s?{_CURRENCY}(?![A-Za-z])",
    re.IGNORECASE,
)
_LABELLED = re.compile(
    rf"\b(?:price|cost|total|fee|amount)\b[^\d\n]{{0,12}}(?P<n>{_NUMBER})", re.IGNORECASE
)


def find_amount(text: str) -> str | None:
    found = _AMOUNT.search(text)
    if found:
        return found.group().strip()
    labelled = _LABELLED.search(text)
    if labelled:
        return labelled["n"]
    # A lone number (or percentage), not part of a word or a measure: "14-day", "25°F",
    # "1Password".
    numbers = re.findall(r"\d+(?:[.,]\d+)?", text)
    alone = re.findall(r"(?<![\w.,-])\d+(?:[.,]\d+)?%?(?![\w°.,-])", text)
    return alone[0] if len(numbers) == 1 and alone else None


_WORD_NUMBERS = {
    "no": 0, "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_IRREGULAR_PLURALS = frozenset(
    "people children men women staff data media feet teeth mice geese sheep fish".split()
)
# Words that join a number to something else than what it counts ("4 people with
# bananas", "2 cups of flour").
_LINKING = frozenset(
    "of with and or for in on at from to by per the a an than as into about each every"
    " their his her its our your my".split()
)
_COUNT_NUMBER = r"\d+(?:,\d{3})*(?!\d)|" + "|".join(_WORD_NUMBERS)


def find_count(text: str, target: Collection[str]) -> str | None:
    """A number written next to what is counted: "42 members", "42 active members",
    "Members: 42", "members (42)", "three teas"."""
    if not target:
        return None
    # Both forms, in the text's order; searched apart, so that "Ingredients: 3" does not
    # hide "3 very ripe bananas".
    number_first = re.finditer(
        # What is counted starts with a letter: in "24 of 2,486 homes", "of 2" is no
        # count, and must not eat the "2" of 2,486.
        rf"\b(?P<n>{_COUNT_NUMBER})\s+(?P<what>[^\W\d][\w-]*(?:\s+[^\W\d][\w-]*){{0,2}})"
        r"(?P<what2>)(?P<n2>)",
        text,
        re.IGNORECASE,
    )
    label_first = re.finditer(
        r"(?P<n>)(?P<what>)\b(?P<what2>[^\W\d][\w-]*)\s*(?::|\(|=)\s*(?P<n2>\d[\d,]*)\b",
        text,
        re.IGNORECASE,
    )
    for found in sorted([*number_first, *label_first], key=lambda f: f.start()):
        n = (found["n"] or found["n2"]).lower()
        following = (found["what"] or found["what2"]).split()
        if found["n"] and re.fullmatch(r"1[89]\d\d|20\d\d", n) and following[0][:1].isupper():
            continue  # "Rust 2024 Edition" is a year in a name
        counted = next((w for w in reversed(following) if stem(w.lower()) in target), None)
        if counted is None:
            continue
        # "3 very ripe bananas"; not "4 people with bananas": only words that describe
        # the counted thing may stand between the number and it.
        if any(w.lower() in _LINKING for w in following[: following.index(counted)]):
            continue
        # Two or more of a thing are written in the plural ("2024 edition idioms" is no
        # count); "one of the teas" is not a count either.
        value = str(_WORD_NUMBERS[n]) if n in _WORD_NUMBERS else n.replace(",", "")
        plural = counted.lower().endswith("s") or counted.lower() in _IRREGULAR_PLURALS
        if found["n"] and value not in ("0", "1") and not plural:
            continue
        return value
    return None
