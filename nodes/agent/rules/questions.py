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
from nodes.agent.rules.grammar import F, is_quoted, match, word_list
from nodes.agent.rules.inputs import FREE_TEXT
from nodes.agent.rules.split import CLAUSE_VERBS, LATE_VERBS, PLACEHOLDER, Masked
from nodes.agent.rules.urls import plain_url, plainly_a_site, written_as_url
from shared.errors import InstructionNotUnderstood

# "node.js" or "README.md" written without a scheme are files, not hosts.
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
    return plain_url(m.value(token))


# "the title of example.com": what a page has, so the host is a page's.
_PAGE_PARTS = frozenset(
    "title titles link links heading headings text content contents url address table tables"
    " summary page site screenshot list lists fields form images image headline headlines"
    " source description html markdown md".split()
)
_DOCUMENTS = frozenset({"html", "markdown", "md"})


def split_url(clause: str, m: Masked) -> tuple[str, str | None]:
    """The clause without its "at URL" part, and that URL (None when there is none)."""
    rest, url, _ = _split_url(clause, m)
    return rest, url


def _split_url(clause: str, m: Masked) -> tuple[str, str | None, str]:
    """``split_url``, and the URL as written in the clause ("" without one)."""
    for found in re.finditer(
        rf"(?:^|\s+)(?P<prep>{_URL_PREP})\s+{_PAGE_WORDS}(?P<tok>\S+)", clause, F
    ):
        url = explicit_url(found["tok"], m)
        value = m.value(found["tok"]).lower()
        before = clause[: found.start()].split()[-1:] or [""]
        code_name = found["prep"].lower() in ("in", "for") or (
            found["prep"].lower() == "of"
            and (
                before[0].lower() not in _PAGE_PARTS
                # "the html of numpy.sum": a name in code; "the html of example.org"
                or (before[0].lower() in _DOCUMENTS and not plainly_a_site(value))
            )
        )
        if url and code_name and not written_as_url(value):
            # "the value of math.pi", "the width of textwrap.wrap": a name in code, not a
            # host, unless written as an address.
            url = None
        if url:
            rest = f"{clause[: found.start()]} {clause[found.end() :]}"
            return " ".join(rest.split()).strip(" ,:;"), url, m.value(found["tok"])
    return clause, None, ""


def _last_typed_is_free_text(actions: list[a.Action]) -> bool:
    typed = [x for x in actions if isinstance(x, a.TypeText)]
    return bool(typed) and bool(
        FREE_TEXT.search(typed[-1].field) and not re.search(r"website", typed[-1].field, F)
    )


def swallows_url(clause: str, m: Masked, actions: list[a.Action]) -> bool:
    """Whether a rule read the clause's "on URL" as part of an element or a text: "type
    'x' into the search box on URL" as a field named "search box on URL", "search for
    'cats' on URL" as typing "cats on URL". A value that is the URL alone was meant."""
    _, url, written = _split_url(clause, m)
    if url is None:
        return False
    # Typed words may name a site ("Hello from x.test"); not a page address at the end
    # after "on" or "at" ("Fill Name with Ada at https://x.test/form"), nor a search's.
    typing = not re.match(r"search\b", clause.strip(), F) and not (
        written_as_url(written)
        and re.search(rf"\b(?:on|at)\s+(?:the\s+)?(?:page\s+)?{re.escape(written)}\W*$", clause, F)
        # a free-text field's words may end in a link after "at" ("meet at
        # https://zoom.us/j/1"): the last field typed, if it is one
        and not (
            re.search(rf"\bat\s+{re.escape(written)}\W*$", clause, F)
            and _last_typed_is_free_text(actions)
        )
    )
    if (
        not written_as_url(written)
        and re.search(rf"\bfrom\s+{re.escape(written)}", clause, F)
        and len(actions) == 1
        and isinstance(actions[0], a.Click | a.Hover)
        and actions[0].text[:1].isupper()
        and not re.search(r"\bthe\b", clause, F)
    ):
        return False  # "Click Ships from amazon.com": a name that says where from
    for action in actions:
        for name, value in vars(action).items():
            if name in ("url", "clause") or not isinstance(value, str):
                continue  # an address opened is the URL read, not swallowed
            if typing and name == "text" and isinstance(action, a.TypeText):
                continue  # "Fill Message with Hello from x.test": the user's words
            if written in value and value.strip() not in (written, url):
                return True
    return False


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
    rf"{_PREFIX_VERB}(?:\s+(?!.*\b(?:and|then)\b)"
    r"(?:the\s+)?[^,:()]{1,60}?)?"
    r"(?:\s+(?:at|on|from))?\s*:?\s*",
    F,
)


# "open the contact page at x.test", "open the first article on URL": a page of the site,
# not the site (whose home page would open). A log-in page is left to the log-in step,
# which finds its way there.
_A_PAGE_OF_IT = re.compile(
    r"\b(?:pages?|links?|results?|articles?|posts?|buttons?|tabs?|first|second|third|last"
    r"|next)\b",
    F,
)
_LOG_IN = r"\b(?:log\s*-?\s*in|login|sign\s*-?\s*in|signin)"


def site_prefix(clause: str, m: Masked) -> list[a.Action] | None:
    """ "Using the docs at URL, find out X", "On URL, click Y", "open the shop at URL",
    "On the Acme docs (URL), ..."."""
    text = clause.strip()
    for token in re.finditer(r"\S+", text):
        url = explicit_url(token.group(), m)
        if url is None:
            continue
        # Only the first URL of the clause can be the site's.
        head = text[: token.start()]
        # "Use the docs at URL to find out X", "Open the shop at URL and count the teas".
        goal = re.sub(r"^(?:to|and|then)\s+", "", text[token.end() :].strip(" ,:;-–—"), flags=F)
        if not _PREFIX_HEAD.fullmatch(head):
            return None
        # "open the login page on URL and log in as ...": the site, whose log-in step
        # finds its way to that page
        if _A_PAGE_OF_IT.search(head) and not re.search(rf"{_LOG_IN}\s+page\b", head, F):
            return None
        if not goal:
            return [a.Navigate(url)]
        rest = _parse_goal(goal, m)
        return _opened(url, rest) if rest is not None else None
    return None


def url_in_clause(clause: str, m: Masked) -> list[a.Action] | None:
    """ "Summarize URL", "Scroll down on URL", "take a full page screenshot of URL": a
    clause no other rule read, with one URL in it, as the URL opened and then the clause
    without it; None unless that rest is itself understood."""
    rest, url = split_url(clause, m)
    # Or right after the verb: "summarize URL", "screenshot URL for me".
    direct = None if url else re.fullmatch(r"(?P<verb>[\w-]+)\s+(?P<tok>\S+)(?P<rest>.*)", clause)
    if direct and not re.fullmatch(_OPENING, direct["verb"], F):
        url = explicit_url(direct["tok"], m)
        rest = f"{direct['verb']}{direct['rest']}"
    if url is None:
        return None
    rest = " ".join(rest.strip(" ,:;").split())
    if not rest or re.search(r"\b(?:and|then)\b", rest, F):
        return None  # only a URL (bare_url), or more than one goal around it
    if any(explicit_url(t, m) for t in rest.split()):
        return None  # another URL: not guessed which is meant
    found = _parse_goal(rest, m)
    if found is None or any(isinstance(x, a.ClickAny | a.Navigate) for x in found):
        return None  # a guessed way to a goal, or a page to open: not on top of a URL
    return _opened(url, found)


# Verbs that open their object: a URL after them is read by the rules that open pages.
_OPENING = r"open|visit|load|browse|navigate|go|head|goto|use|using|see|check"


_VERB = re.compile(
    r"^(?:i(?:\s+(?:want|need|would\s+like)|['’]d\s+like)\s+(?:to\s+)?)?"
    r"(?:give\s+me|show\s+me|send\s+me|fetch(?:\s+me)?|grab(?:\s+me)?|find(?:\s+me)?"
    r"|pull(?:\s+out)?|read(?:\s+out)?|list|get(?:\s+me)?|return|extract|show|collect|scrape"
    r"|print|output|copy|tell\s+me|display|dump|retrieve|see|have|what\s+(?:is|are)|what's|whats"
    # "I want the links", "I'd like a screenshot": a wish is the request itself.
    r"|(?<=^)i(?:\s+(?:want|need|would\s+like)|['’]d\s+like)(?!\s+to\b))"
    r"\b\s*",
    F,
)
_ON_THE_PAGE = re.compile(
    r"\s+(?:on|from|of|in|at)\s+(?:the|this)\s+(?:current\s+)?(?:web\s*)?(?:page|site|website)$", F
)


def _result(clause: str, m: Masked) -> list[a.Action] | None:
    for rule in (
        reading.summarize,
        reading.screenshot,
        reading.extract_shape,
        reading.page_document,
    ):
        found = rule(clause, m)
        if found is not None:
            return found
    return reading.return_text(clause, m)


def _as_result(
    clause: str, m: Masked, *, verbless: bool = True, page_named: bool = False
) -> list[a.Action] | None:
    """A result request in other words, as the grammar's result actions; without a verb
    ("the links on URL") only when ``verbless``. ``page_named``: a URL was given."""
    text = _ON_THE_PAGE.sub("", _POLITE_START.sub("", clause.strip()))
    verb = _VERB.match(text)
    if verb is None and not verbless:
        return None
    if verb and re.match(r"what", verb.group(), F) and not page_named and _only_documents(clause):
        return None  # "what is markdown?", "what's the DOM?": a question, not the page's
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
        document = isinstance(got[0], a.Extract) and got[0].shape in ("markdown", "html")
        if found and document and set(word_list(part)) & reading.BACK_REFERENCE:
            return None  # "the title, formatted as markdown": the title's format, not the page
        found.extend(got)
    return found


def _only_documents(text: str) -> bool:
    """Whether ``text`` names Markdown or HTML, and not the page ("the page's HTML")."""
    return bool(
        re.search(r"\b(?:markdown|md|html5?|xhtml|dom)\b", text, F)
        and not re.search(r"\b(?:page|site|website|webpage|source)\b", text, F)
    )


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
    found = _as_result(rest_text, m, verbless=url is not None, page_named=url is not None)
    return _opened(url, found) if found is not None else None


_WH = r"(?:what|what's|whats|which|how|who|whom|whose|when|where|why)\b"
_ASKING = (
    r"(?:find\s+out|figure\s+out|work\s+out|look\s+up|tell\s+me|let\s+me\s+know"
    r"|i(?:\s+(?:want|need|would\s+like)|['’]d\s+like)\s+to\s+know|answer(?:\s+the\s+question)?"
    r"|i\s+(?:need|want|(?:would|['’]d)\s+like)(?=\s+(?:the|to\s+know)\b)"
    r"|find|determine|look\s+for|check|see|say)"
)
_HAS = r"(?:contains?|has|have|includes?|mentions?|says?|shows?|displays?|lists?)"
_SUBJECT = (
    r"(?P<subj>(?:the|this)\s+(?:current\s+)?(?:web\s*)?(?:page|site|website|result)"
    r"|it|\S+\.\S+)"
)
_WORDING = r"(?:(?:the\s+)?(?:words?|text|phrase|string|term|sentence|message)\s+)?"
# "does not", before a check's verb ("make sure the page does not say 'Error'").
_NOT = r"(?P<neg>(?:does\s+not|doesn['’]t|do\s+not|don['’]t)\s+)?"
_CHECKS = (
    (False, rf"(?:check|see|find\s+out|tell\s+me|let\s+me\s+know|determine)\s+(?:if|whether)"
     rf"\s+{_SUBJECT}\s+(?:still\s+|actually\s+|really\s+)?{_NOT}{_HAS}\s+{_WORDING}"
     r"(?P<text>.+)"),
    (False, rf"(?:does|do)\s+{_SUBJECT}\s+(?P<neg>not\s+)?{_HAS}\s+{_WORDING}(?P<text>.+)"),
    (True, rf"(?:verify|make\s+sure|ensure|assert|confirm|check)\s+(?:that\s+)?"
     rf"{_SUBJECT}\s+{_NOT}{_HAS}\s+{_WORDING}(?P<text>.+)"),
    (False, rf"(?:check|scan|search|look\s+through)\s+{_SUBJECT}\s+for\s+(?:the\s+|any\s+)?"
     r"(?:words?|text|phrase|string|term|mentions?\s+of)\s+(?P<text>.+)"),
)  # fmt: skip


def _several(said: str, clause: str) -> bool:
    """Whether an unquoted text is a list of texts (or a text and a role) rather than one."""
    if re.search(r"\b(?:words?|text|phrase|string|term)\b", clause, F):
        return False  # "the phrase Terms and Conditions": one, by the user's word
    return bool(
        re.search(r"\bor\b", said, F)
        # "Ada Lovelace as an author": a text and a role (not "Logged in as Ada")
        or re.match(r"(?:[A-Z]\w*\s+)*[A-Z]\w*\s+as\s+an?\s", said)
        or (re.search(r",(?!\d)", said) and re.search(r"\band\b", said, F))
        or (said == said.lower() and re.search(r"\band\b", said))
    )


def check_text(clause: str, m: Masked) -> list[a.Action] | None:
    """ "Check if URL contains the word 'domain'", "does the page mention 'Free
    shipping'?" (yes or no), "make sure the page says 'Thank you'" (fails on a no)."""
    text, url = split_url(_POLITE_END.sub("", _POLITE_START.sub("", clause.strip())), m)
    for expect, pattern in _CHECKS:
        found = match(pattern, text)
        if found is None:
            continue
        if (
            expect
            and found.group(0).lower().startswith("check")
            and not re.match(r"check\s+that\b", text, F)
        ):
            return None  # "check the page has ..." reads as a checkbox too often
        subject = found["subj"]
        site = explicit_url(subject, m) if "." in subject else None
        if "." in subject and (site is None or url is not None):
            return None  # "does node.js have ..." is not a page
        said = found["text"].strip(" .,;:!?")
        if (
            not is_quoted(said)
            and (
                # "does the page have a login form", "check if the page has loaded", "does it
                # say that shipping is free", "mention 'x' or 'y'": not one text to look for.
                # Unquoted, a text is named ("the word domain"), said, shown or mentioned
                # ("says Welcome", "mention pricing"), or capitalised ("contains Example Domain").
                PLACEHOLDER.search(said)
                or re.match(
                    r"(?:an?|any|some|that|the|if|whether|more|no|anything|something|nothing"
                    r"|everything)\b",
                    said,
                    F,
                )
                # "doesn't show errors": a kind of thing, not a text, unless capitalised
                or (found.groupdict().get("neg") and not said[:1].isupper())
                # "Python or Rust", "cats, dogs and birds": several texts, not one ("Terms
                # and Conditions", "Welcome back, Ada", "1,000 results" are one)
                or _several(said, found.group(0))
                or not (
                    re.search(
                        r"\b(?:words?|text|phrase|string|term|mentions?|says?|shows?|displays?"
                        r"|reads?)\b",
                        found.group(0),
                        F,
                    )
                    or said[:1].isupper()
                )
            )
        ):
            return None
        wanted = m.value(said).strip()
        if not wanted:
            return None
        negate = bool(found.groupdict().get("neg"))
        return _opened(site or url, [a.CheckText(wanted, expect=expect, negate=negate)])
    return None


# "verify that the title is 'Example Domain'", "does the URL contain /login?", "make sure
# the heading does not say Error": a check of one part of the page.
_PART = (
    r"(?:the\s+)?(?:(?:web\s*)?page(?:['’]s)?\s+|site(?:['’]s)?\s+|tab(?:['’]s)?\s+"
    r"|browser(?:['’]s)?\s+|current\s+)?"
    r"(?P<part>(?:document\s+)?title|(?:main\s+|top\s+|first\s+)?(?:heading|headline|h1)"
    r"(?:\s+text)?|url|(?<=page\s)address|(?<=current\s)address)"
    r"(?:\s+of\s+(?:the|this)\s+(?:current\s+)?(?:web\s*)?page"
    r"|\s+(?:of|on|at)\s+(?P<site>\S+\.\S+))?"
)
_PART_VERB = (
    r"(?:(?P<is>isn['’]t|is\s+not|(?:is|equals?|match(?:es)?)(?:\s+(?:exactly|equal\s+to))?"
    r"|(?:reads|says)\s+exactly)"
    r"|(?P<starts>(?:starts?|begins?)\s+with)|(?P<ends>ends?\s+with)"
    r"|(?P<has>contains?|includes?|has|have|mentions?|says?|reads?|shows?|displays?))"
)
_PART_CHECKS = (
    (True, rf"(?:verify|make\s+sure|ensure|assert|confirm|check|validate)\s+(?:that\s+)?"
     rf"{_PART}\s+{_NOT}{_PART_VERB}\s+{_WORDING}(?P<text>.+)"),
    (False, rf"(?:check|see|find\s+out|tell\s+me|let\s+me\s+know|determine|verify)\s+"
     rf"(?:if|whether)\s+{_PART}\s+{_NOT}{_PART_VERB}\s+{_WORDING}(?P<text>.+)"),
    # "doesn't the title say X?" asks whether it does
    (False, rf"(?:does|do|doesn['’]t|don['’]t)\s+{_PART}\s+(?P<not>not\s+)?{_PART_VERB}"
     r"\s+(?P<text>.+)"),
    (False, rf"(?:is|isn['’]t)\s+{_PART}\s+(?P<not>not\s+)?(?:exactly\s+)?(?P<is>)(?P<text>.+)"),
)  # fmt: skip
# Words a check's unquoted text may follow in lower case ("the heading says welcome").
_SAYS = frozenset("mention mentions say says show shows display displays read reads".split())


def check_part(clause: str, m: Masked) -> list[a.Action] | None:
    """ "Verify that the title is 'Example Domain'", "check the URL contains /login",
    "does the heading say Welcome?": a check of the page's title, top heading or URL."""
    text = _POLITE_END.sub("", _POLITE_START.sub("", clause.strip())).rstrip(" ?")
    for i, (expect, pattern) in enumerate(_PART_CHECKS):
        found = match(pattern, text)
        if found is None:
            continue
        named = found["part"].lower()
        part = next(p for p in ("title", "url", "heading") if p in named or p == "heading")
        part = "url" if named.endswith("address") else part
        site = explicit_url(found["site"], m) if found["site"] else None
        if found["site"] and (site is None or not plainly_a_site(m.value(found["site"]))):
            return None  # "the title of numpy.sum is ..."
        said = found["text"].strip()
        # "the title is X and the heading says Y": two checks in one clause.
        # "... and the page does not say Y": the second a check of the page.
        more = re.search(
            rf"\s*(?:,\s*)?\band\s+(?:that\s+)?(?=(?:{_PART}|{_SUBJECT})\s+{_NOT}{_PART_VERB}\s)",
            said,
            F,
        )
        if more:
            lead = "make sure" if expect else "check whether"
            first = check_part(text[: found.start("text")] + said[: more.start()], m)
            rest = f"{lead} {said[more.end() :]}"
            second = check_part(rest, m) or check_text(rest, m)
            return first + second if first and second else None
        tail = re.fullmatch(r"(?P<said>.+?)\s+(?:on|at)\s+(?P<tok>\S+)", said, F)
        if tail and site is None and explicit_url(tail["tok"], m):
            said, site = tail["said"], explicit_url(tail["tok"], m)
        # The sentence's end, not the text's: "ends with .html" keeps its dot.
        said = re.sub(r"(?<=\w)\.$", "", said.rstrip(" ,;:"))
        groups = found.groupdict()
        how = next(h for h in ("is", "starts", "ends", "has") if groups.get(h) is not None)
        verb = (groups.get("has") or "").lower()
        if not _checkable(said, part, how, verb, m, asked=i >= 2):
            return None
        negate = bool(
            groups.get("neg")
            or groups.get("not")
            or re.match(r"isn|is\s+not", groups.get("is") or "", F)
        )
        how = {"has": "contains", "starts": "starts with", "ends": "ends with"}.get(how, how)
        check = a.CheckText(m.value(said).strip(), expect=expect, part=part, how=how, negate=negate)
        return _opened(site, [check])
    return None


def _checkable(said: str, part: str, how: str, verb: str, m: Masked, asked: bool) -> bool:
    """Whether the words after a part's verb are one text to check for, as written
    (``asked``: in a question, "is the title Dune in stock?", which only quotes make one)."""
    if not m.value(said).strip():
        return False
    if is_quoted(said):
        return True
    if PLACEHOLDER.search(said):
        return False  # partly quoted
    if part == "url":
        # "the URL contains /login", "the URL is https://a.test/x", "starts with https";
        # not "the URL has changed" or "the URL is correct".
        if " " in said or verb not in ("", "contain", "contains", "include", "includes"):
            return False
        return how not in ("is", "starts") or bool(re.search(r"[/.:]|^https?$", said, F))
    if asked and (how == "is" and not _a_name(said) or verb in ("has", "have")):
        return False  # "is the title Spanish?", "does the title have 3 words?"
    return not (
        _NOT_A_TEXT.match(said)
        or _MORE_THAN_A_TEXT.search(said)
        or _several(said, said)
        or verb in ("has", "have")
        # capitalised, a number, or a short text said or shown ("says welcome back")
        or not (
            said[:1].isupper() or said[:1].isdigit() or (verb in _SAYS and len(said.split()) <= 3)
        )
    )


# Words that start no text to look for ("says something meaningful", "shows up"), in
# lower case: "The Godfather", "In Stock", "Up" are texts.
_NOT_A_TEXT = re.compile(
    r"(?:an?|any|some|that|the|if|whether|more|no|not|empty|blank|anything|something|nothing"
    r"|everything|what|how|up|correctly|properly|correct|right|fine|ok|okay|well|on|in|at"
    r"|as|like|only|when|after|before|with|without|under)\b"
)
# A text with a condition or a place after it ("Dashboard after login", "Welcome on the
# home page", "Example Domain and not Error"): not one text, unless quoted.
_MORE_THAN_A_TEXT = re.compile(
    r"\s(?:after|before|when|once|while|but|and\s+not|(?:on|in)\s+(?:the|this|a|mobile)\b)\b", F
)


def _a_name(said: str) -> bool:
    """Capitalised words, as a title is written ("Example Domain", "Lord of the Rings");
    not one word ("Spanish") or a name and a state ("Dune in stock")."""
    said_words = said.split()
    small = {"of", "the", "a", "an", "and", "to", "in", "for", "on", "at", "by", "with"}
    return (
        len(said_words) >= 2
        and said_words[-1][:1].isupper()
        and all(w[:1].isupper() or w[:1].isdigit() or w in small for w in said_words)
    )


# "give me his birth date", "get the price of the first book": a fact asked for with a
# result verb, once the grammar's results (title, links, ...) did not read it; only with
# a definite object ("give me a hug" is not a question).
_FETCHING = r"(?:(?:give|show|get|fetch|grab|send)\s+me|get|fetch|grab|retrieve|look\s+up)"
# The object's head noun ("the download link for Linux": link) names a place to go.
_PLACE_WORDS = frozenset(
    "page pages link links url result results site section tab button cart basket settings"
    " dashboard inbox checkout profile account docs documentation faq form menu home homepage"
    " screen view panel window dialog".split()
)


def _places(q: str) -> bool:
    head = re.split(r"\s+(?:of|for|on|in|from|at|to|with|about)\s+", q.strip(), maxsplit=1)[0]
    return head.split()[-1].lower() in _PLACE_WORDS if head.split() else False


_SHAPE_QUESTION = re.compile(
    r"(?:what|which)\s+(?P<shape>links|headings|tables|lists|form\s+fields|fields)\s+"
    r"(?:are|is|does|do|can)\b.*",
    F,
)
# Read as a page's title or address, never searched for in its text.
_RESULT_ONLY = frozenset({"title", "url", "address", "result", "results", "link"})
_PAGE_ITSELF = frozenset({"page", "site", "website", "web", "webpage", "current"})


# "find the cheapest tea and add it to the basket" is a goal with a deed in it, not a
# question: a passage cannot do the deed, so the clause is left to a model (or fails).
_DEED = re.compile(
    r"\b(?:and|then)\s+(?:then\s+)?(?:also\s+)?(?:"
    + "|".join(CLAUSE_VERBS)
    + "|"
    + LATE_VERBS
    + r"|add|buy|purchase|pay|put|remove|delete|create|save|book|edit|change|set|post|"
    r"reply|comment|rename|move|copy|share|like|follow|subscribe|apply|register|assign|"
    r"sort|filter|rank|compare|print|email|mark|start|stop|enable|disable|update|fill|"
    r"write|pick|visit|navigate|archive|approve|reject|cancel|close|reopen|send|invite)\b",
    re.IGNORECASE,
)


_SMALL_NUMBERS = "one|two|three|four|five|six|seven|eight|nine|ten|twelve|fifteen|twenty|fifty"


def _question_text(clause: str) -> str | None:
    text = _POLITE_START.sub("", clause.strip())
    if _DEED.search(text):
        return None
    if re.match(_WH, text, F):
        return text
    listed = match(
        r"(?:list|name|enumerate|extract|collect|scrape|gather"
        r"|(?:(?:give|show)\s+me|get|fetch|grab|find)(?=\s+(?:all|every)\b))"
        r"\s+(?:all\s+|every\s+)?(?:of\s+)?(?:the\s+)?(?:(?:first|top)\s+(?=\S+s\b|\d|[a-z]+\s))?"
        rf"(?P<n>(?:\d{{1,3}}|{_SMALL_NUMBERS})\s+)?"
        r"(?P<x>(?:[^\W\d_][\w-]*\s+){0,2}?(?!(?:as|is|was|has|this|its|his|us|does|thus|plus)\b)"
        r"[^\W\d_][\w-]*s)(?:\s+(?:that|which|who))?"
        r"(?P<rest>(?:\s+.+)?)",
        text,
    )
    if listed:
        # "list the missions that went to Mars": which missions went to Mars; "list the
        # top 5 stories": the top 5 stories (the answer gives 5).
        if listed["n"]:
            return f"the first {listed['n']}{listed['x']}{listed['rest']}"
        return f"which {listed['x']}{listed['rest']}"
    counted = match(r"count\s+(?:the\s+)?(?:number\s+of\s+)?(?P<x>.+)", text)
    if counted:
        return f"how many {counted['x']}"
    asked = match(rf"{_ASKING}\s*:?\s+(?:about\s+)?(?P<q>.+)", text)
    if asked is None:
        asked = match(rf"{_FETCHING}\s+(?P<q>(?:the|his|her|its|their)\s+(?:(?!\band\b).)+)", text)
        if asked and _places(asked["q"]):
            return None  # "show me the pricing page", "get the download link": a place to go
    if not asked or re.match(r"(?:if|whether|that)\b", asked["q"], F):
        return None  # yes/no questions and "check that ..." are not answered by a passage
    if re.match(_WH, asked["q"], F):
        return asked["q"]
    meaning = {w for w in words(asked["q"]) if w not in STOPWORDS}
    # "the title of the result" is read, not searched for; "the title of the cheapest
    # book" and "the email address" are searched for.
    if not meaning - _RESULT_ONLY - _PAGE_ITSELF:
        return None
    if asked.group(0).lower().startswith(("see", "say")):
        return None
    return asked["q"]


def question(clause: str, m: Masked) -> list[a.Action] | None:
    """ "How many teas are listed on URL?", "who wrote the article at URL", "find out
    how to configure the cache", "tell me the opening hours"."""
    text = _POLITE_END.sub("", clause.strip())
    rest, url = split_url(text, m)
    if url is None:
        # "What does example.com say?", "how many links does https://a.test have": the
        # URL is the page asked about.
        sites = [t for t in re.finditer(r"\S+", rest) if explicit_url(t.group(), m)]
        if len(sites) == 1:  # "the difference between a.com and b.org": not guessed
            token = sites[0]
            value = m.value(token.group())
            probe = f"{rest[: token.start()]}the page{rest[token.end() :]}"
            if plainly_a_site(value) and reading.summarize(probe, m):
                return _opened(explicit_url(token.group(), m), [a.Summarize()])
            if written_as_url(value):
                # "how many links does https://a.test have": that page; "what paypal.com
                # charges" is about the site, maybe asked of another page.
                url, rest = explicit_url(token.group(), m), probe
    asked = _question_text(rest)
    if asked is None:
        return None
    if not {w for w in words(asked) if w not in STOPWORDS} - {"there", "here"}:
        # "What is on URL?", "what's there at URL": the page itself, summarized.
        return _opened(url, [a.Summarize()]) if url else None
    shape = _SHAPE_QUESTION.fullmatch(asked)
    as_result = (
        _result(f"get the {shape['shape']}", m)
        if shape
        else _as_result(asked, m, page_named=url is not None)
    )
    if as_result is not None and (shape or re.match(r"what\b|what's|whats", asked, F)):
        return _opened(url, as_result)
    # 'answer "How many teas are listed"' (how a step names itself) asks the quoted question.
    written = m.value(asked) if is_quoted(asked) else m.restore(asked)
    return _opened(url, [a.Answer(written.strip(" ,:;"))])
