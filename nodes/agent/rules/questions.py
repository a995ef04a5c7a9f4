"""Clause rules for free phrasing: questions, "Using <site> at URL, <goal>" and
result requests in other words ("grab the title of URL", "URL: list the links").

Same contract as every rules module (see ``grammar``). A
question becomes the ``answer`` action, run against the page when the plan gets
there (``ask``); a result request in other words becomes the grammar's own
result actions. A URL written in the clause ("... at URL", "URL: ...") is
opened first.
"""

from __future__ import annotations

import re

from nodes.agent import actions as a
from nodes.agent.questions.ranking import STOPWORDS, words
from nodes.agent.rules import reading
from nodes.agent.rules.grammar import F, is_quoted, match
from nodes.agent.rules.split import CLAUSE_VERBS, Masked
from nodes.agent.rules.urls import parse_url
from shared.errors import InstructionNotUnderstood

# "node.js" or "README.md" written without a scheme are files, not hosts.
_FILE_SUFFIXES = frozenset(
    "js py md txt json html htm css ts sh rs go csv pdf xml yaml yml toml php rb java".split()
)
_URL_PREP = r"(?:at|on|in|from|of|off|according\s+to|via|for)"
_PAGE_WORDS = r"(?:the\s+)?(?:(?:web\s*)?(?:page|site|website|url|address|link)\s+)?"
_POLITE_END = re.compile(
    r"(?:\s*,?\s*(?:please|for\s+me|thanks|thank\s+you|if\s+you\s+can|if\s+possible))+$", F
)
_POLITE_START = re.compile(
    r"^(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?|do\s+you\s+know\s+|please\s+)+", F
)


def explicit_url(token: str, m: Masked) -> str | None:
    """The URL a token names, when it plainly is one (not "node.js")."""
    value = m.value(token)
    url = parse_url(value)
    if url is None:
        return None
    if (
        "://" not in value
        and not re.search(r"[/:]", value)
        and not value.lower().startswith("www.")
    ):
        if value.rsplit(".", 1)[-1].lower() in _FILE_SUFFIXES:
            return None
    return url


# "the title of example.com": what a page has, so the host is a page's.
_PAGE_PARTS = frozenset(
    "title titles link links heading headings text content contents url address table tables"
    " summary page site screenshot list lists fields form images image headline headlines"
    " source description".split()
)


def _written_as_url(value: str) -> bool:
    return "://" in value or "/" in value or value.startswith("www.")


def split_url(clause: str, m: Masked) -> tuple[str, str | None]:
    """The clause without its "at URL" part, and that URL (None when there is none)."""
    for found in re.finditer(
        rf"(?:^|\s+)(?P<prep>{_URL_PREP})\s+{_PAGE_WORDS}(?P<tok>\S+)", clause, F
    ):
        url = explicit_url(found["tok"], m)
        value = m.value(found["tok"]).lower()
        before = clause[: found.start()].split()[-1:] or [""]
        code_name = found["prep"].lower() in ("in", "for") or (
            found["prep"].lower() == "of" and before[0].lower() not in _PAGE_PARTS
        )
        if url and code_name and not _written_as_url(value):
            # "the value of math.pi", "the width of textwrap.wrap": a name in code, not a
            # host, unless written as an address.
            url = None
        if url:
            rest = f"{clause[: found.start()]} {clause[found.end() :]}"
            return " ".join(rest.split()).strip(" ,:;"), url
    return clause, None


def _opened(url: str | None, actions: list[a.Action]) -> list[a.Action]:
    return ([a.Navigate(url)] if url else []) + actions


def _parse_goal(goal: str, m: Masked) -> list[a.Action] | None:
    from nodes.agent.rules.planner import parse_clause  # the rules import this module

    try:
        return parse_clause(goal, m)
    except InstructionNotUnderstood:
        return None


_PREFIX_VERB = (
    r"(?:using|use|with|on|in|at|from|via|through|according\s+to|open|visit|go\s+to|head\s+to"
    r"|check|see|consult|look\s+(?:at|in)|search"
    r"|navigate\s+to)"
)
# What may come before the URL: "Using the Acme docs at", "On", "In the shop (".
_PREFIX_HEAD = re.compile(
    rf"{_PREFIX_VERB}(?:\s+(?!.*\b(?:and|then)\b)(?:the\s+)?[^,:()]{{1,60}}?)?"
    r"(?:\s+(?:at|on|from))?\s*:?\s*",
    F,
)


def site_prefix(clause: str, m: Masked) -> list[a.Action] | None:
    """ "Using the docs at URL, find out X", "On URL, click Y", "open the shop at URL",
    "On the Acme docs (URL), ..."."""
    text = clause.strip()
    for token in re.finditer(r"\S+", text):
        url = explicit_url(token.group(), m)
        if url is None:
            continue
        # Only the first URL of the clause can be the site's.
        if not _PREFIX_HEAD.fullmatch(text[: token.start()]):
            return None
        # "Use the docs at URL to find out X", "Open the shop at URL and count the teas".
        goal = re.sub(r"^(?:to|and|then)\s+", "", text[token.end() :].strip(" ,:;-–—"), flags=F)
        if not goal:
            return [a.Navigate(url)]
        rest = _parse_goal(goal, m)
        return _opened(url, rest) if rest is not None else None
    return None


_VERB = re.compile(
    r"^(?:i(?:\s+(?:want|need|would\s+like)|['’]d\s+like)\s+(?:to\s+)?)?"
    r"(?:give\s+me|show\s+me|send\s+me|fetch(?:\s+me)?|grab(?:\s+me)?|find(?:\s+me)?"
    r"|pull(?:\s+out)?|read(?:\s+out)?|list|get(?:\s+me)?|return|extract|show|collect|scrape"
    r"|print|output|copy|tell\s+me|display|dump|retrieve|see|have|what\s+(?:is|are)|what's|whats)"
    r"\b\s*",
    F,
)
_ON_THE_PAGE = re.compile(
    r"\s+(?:on|from|of|in|at)\s+(?:the|this)\s+(?:current\s+)?(?:web\s*)?(?:page|site|website)$", F
)


def _result(clause: str, m: Masked) -> list[a.Action] | None:
    for rule in (reading.summarize, reading.screenshot, reading.extract_shape):
        found = rule(clause, m)
        if found is not None:
            return found
    return reading.return_text(clause, m)


def _as_result(clause: str, m: Masked, *, verbless: bool = True) -> list[a.Action] | None:
    """A result request in other words, as the grammar's result actions; without a verb
    ("the links on URL") only when ``verbless``."""
    text = _ON_THE_PAGE.sub("", _POLITE_START.sub("", clause.strip()))
    verb = _VERB.match(text)
    if verb is None and not verbless:
        return None
    text = text[verb.end() :] if verb else text
    if not text:
        return None
    whole = _result(f"get {text}", m)
    if whole is not None:
        return whole
    # "the links and the title": each part a result of its own.
    parts = [p for p in re.split(r"\s*,\s*(?:and\s+)?|\s+and\s+", text, flags=F) if p]
    if len(parts) < 2:
        return None
    found: list[a.Action] = []
    for part in parts:
        got = _result(f"get {part}", m)
        if got is None:
            return None
        found.extend(got)
    return found


def reworded(clause: str, m: Masked) -> list[a.Action] | None:
    """ "give me all the links on URL", "the links on URL, please", "URL: list the
    links", "find the links on the page"."""
    text = _POLITE_END.sub("", clause.strip())
    lead = re.fullmatch(r"(?P<tok>\S+?)\s*(?::|—|–|-)\s+(?P<rest>.+)", text, F)
    url = explicit_url(lead["tok"], m) if lead else None
    if lead and url:
        rest = _parse_goal(lead["rest"], m)
        return _opened(url, rest) if rest is not None else None
    rest_text, url = split_url(text, m)
    found = _as_result(rest_text, m, verbless=url is not None)
    return _opened(url, found) if found is not None else None


_WH = r"(?:what|what's|whats|which|how|who|whom|whose|when|where|why)\b"
_ASKING = (
    r"(?:find\s+out|figure\s+out|work\s+out|look\s+up|tell\s+me|let\s+me\s+know"
    r"|i(?:\s+(?:want|need|would\s+like)|['’]d\s+like)\s+to\s+know|answer(?:\s+the\s+question)?"
    r"|i\s+(?:need|want|(?:would|['’]d)\s+like)(?=\s+(?:the|to\s+know)\b)"
    r"|find|determine|look\s+for|check|see|say)"
)
_SHAPE_QUESTION = re.compile(
    r"(?:what|which)\s+(?P<shape>links|headings|tables|lists|form\s+fields|fields)\s+"
    r"(?:are|is|does|do|can)\b.*",
    F,
)
# Read as a page's title or address, never searched for in its text.
_RESULT_ONLY = frozenset({"title", "url", "address", "result", "results", "link"})


# "find the cheapest tea and add it to the basket" is a goal with a deed in it, not a
# question: a passage cannot do the deed, so the clause is left to a model (or fails).
_DEED = re.compile(
    r"\b(?:and|then)\s+(?:then\s+)?(?:also\s+)?(?:"
    + "|".join(CLAUSE_VERBS)
    + r"|add|buy|purchase|pay|put|remove|delete|create|save|book|edit|change|set|post|"
    r"reply|comment|rename|move|copy|share|like|follow|subscribe|apply|register|assign|"
    r"sort|filter|rank|compare|print|email|mark|start|stop|enable|disable|update|fill|"
    r"write|pick|visit|navigate|archive|approve|reject|cancel|close|reopen|send|invite)\b",
    re.IGNORECASE,
)


def _question_text(clause: str) -> str | None:
    text = _POLITE_START.sub("", clause.strip())
    if _DEED.search(text):
        return None
    if re.match(_WH, text, F):
        return text
    listed = match(
        r"(?:list|name|enumerate)\s+(?:all\s+|every\s+)?(?:of\s+)?(?:the\s+)?"
        r"(?P<x>[^\W\d_][\w-]*s)(?:\s+(?:that|which|who))?(?P<rest>(?:\s+.+)?)",
        text,
    )
    if listed:
        # "list the missions that went to Mars": which missions went to Mars.
        return f"which {listed['x']}{listed['rest']}"
    counted = match(r"count\s+(?:the\s+)?(?:number\s+of\s+)?(?P<x>.+)", text)
    if counted:
        return f"how many {counted['x']}"
    asked = match(rf"{_ASKING}\s*:?\s+(?:about\s+)?(?P<q>.+)", text)
    if not asked or re.match(r"(?:if|whether|that)\b", asked["q"], F):
        return None  # yes/no questions and "check that ..." are not answered by a passage
    if re.match(_WH, asked["q"], F):
        return asked["q"]
    meaning = {w for w in words(asked["q"]) if w not in STOPWORDS}
    if not meaning or meaning & _RESULT_ONLY or asked.group(0).lower().startswith(("see", "say")):
        return None
    return asked["q"]


def question(clause: str, m: Masked) -> list[a.Action] | None:
    """ "How many teas are listed on URL?", "who wrote the article at URL", "find out
    how to configure the cache", "tell me the opening hours"."""
    text = _POLITE_END.sub("", clause.strip())
    rest, url = split_url(text, m)
    asked = _question_text(rest)
    if asked is None:
        return None
    shape = _SHAPE_QUESTION.fullmatch(asked)
    as_result = _result(f"get the {shape['shape']}", m) if shape else _as_result(asked, m)
    if as_result is not None and (shape or re.match(r"what\b|what's|whats", asked, F)):
        return _opened(url, as_result)
    # 'answer "How many teas are listed"' (how a step names itself) asks the quoted question.
    written = m.value(asked) if is_quoted(asked) else m.restore(asked)
    return _opened(url, [a.Answer(written.strip(" ,:;"))])
