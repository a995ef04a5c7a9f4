"""Clause rules for acting on page elements: click, type, keys, drop-downs, checkboxes,
uploads, downloads, language.

Same contract as every rules module (see ``grammar``).
"""

from __future__ import annotations

import re

from nodes.agent import actions as a
from nodes.agent.act.languages import is_known_language
from nodes.agent.rules.grammar import is_quoted, match
from nodes.agent.rules.split import Masked
from nodes.agent.rules.urls import (
    SEARCH_SITE_NAMES,
    parse_url,
    plain_url,
    plainly_a_site,
    search_url,
)

# Fields whose value is free text, where links, "and" and commas are part of what is written.
FREE_TEXT = re.compile(
    r"\b(?:notes?|message|comments?|bio|website|description|feedback|text|body|content"
    r"|reply|review|summary|details|remarks?|about)\b",
    re.IGNORECASE,
)

_FIELD_KIND = (
    r"(?:\s+(?:input\s+field|text\s+field|text\s+box|textbox|textarea|field|box|input|area))?"
)


# Key names that clearly mean a keyboard key even without the word "key";
# "press Home" or "press Tab" more likely means a link or a tab on the page.
_KEYS = {"enter": "Enter", "return": "Enter", "escape": "Escape", "esc": "Escape",
         "backspace": "Backspace", "spacebar": "Space", "space": "Space", "tab": "Tab",
         "delete": "Delete", "home": "Home", "end": "End", "page down": "PageDown",
         "page up": "PageUp", "arrow down": "ArrowDown", "down arrow": "ArrowDown",
         "arrow up": "ArrowUp", "up arrow": "ArrowUp", "arrow left": "ArrowLeft",
         "left arrow": "ArrowLeft", "arrow right": "ArrowRight",
         "right arrow": "ArrowRight"}  # fmt: skip
_ARROWS = frozenset(k for k in _KEYS if "arrow" in k)
_BARE_KEYS = frozenset({"enter", "return", "escape", "esc", "backspace", "spacebar"}) | _ARROWS


_TIMES = {"once": 1, "twice": 2, "three times": 3, "four times": 4, "five times": 5}
MAX_REPEAT = 20
_REPEATED = re.compile(
    r"(?P<rest>.+?)\s+(?:(?P<n>\d{1,2})\s+times|(?P<w>once|twice|(?:three|four|five)\s+times))",
    re.IGNORECASE,
)


def repeated(clause: str) -> tuple[str, int]:
    """The clause without its "3 times" / "twice", and the count (1 without one); a count
    past MAX_REPEAT or of 0 is 0, which no rule accepts."""
    found = _REPEATED.fullmatch(clause.strip())
    if not found:
        return clause, 1
    if found["n"]:
        count = int(found["n"])
    else:
        count = _TIMES[" ".join(found["w"].lower().split())]
    return found["rest"], count if 1 <= count <= MAX_REPEAT else 0


def press_key(clause: str, m: Masked) -> list[a.Action] | None:
    clause, count = repeated(clause)
    found = match(r"(?:press|hit|push)\s+(?:the\s+)?(?P<key>.+?)(?P<suffix>\s+key)?", clause)
    if not found or not count:
        return None
    name = " ".join(m.value(found["key"]).lower().split())
    if name in _KEYS and (found["suffix"] or (name in _BARE_KEYS and not is_quoted(found["key"]))):
        return [a.PressKey(_KEYS[name])] * count
    return None


def sort_by(clause: str, m: Masked) -> list[a.Action] | None:
    """ "sort by price", "sort the results by price from low to high", "order the list
    by date"."""
    found = match(
        r"(?:sort|order|re-?order|rank)\s+(?:the\s+|these\s+|all\s+)?(?:(?:search\s+)?results|list"
        r"|products|items|table|page|listings|offers|hotels|flights)?\s*by\s+(?:the\s+)?(?P<key>.+)",
        clause,
    )
    if not found:
        return None
    return [a.SortBy(m.value(found["key"]).strip())]


def select_from(clause: str, m: Masked) -> list[a.Action] | None:
    found = match(
        r"(?:select|choose|pick)\s+(?:the\s+)?(?:option\s+)?(?P<value>.+?)\s+(?P<conn>from|in)\s+"
        r"(?:the\s+)?(?P<field>.+?)(?:\s+(?:dropdown|drop-down|drop\s+down|list|menu|select"
        r"|selector|combo\s*box|field|box))?",
        clause,
    )
    if not found:
        return None
    # "select Sign in" is a click; "in" only separates a value from a field when quoted.
    if found["conn"].lower() == "in" and not (
        is_quoted(found["value"]) or is_quoted(found["field"])
    ):
        return None
    return [a.SelectOption(m.value(found["field"]), m.value(found["value"]))]


_FIELD_WORD = r"\s+(?:field|box|input)"
_FORM_LABELS = (
    r"(?:e-?mail(?:\s+address)?|password|(?:first|last|full|user)\s*name|name|username|phone"
    r"(?:\s+number)?|telephone|mobile|city|address|street|zip(?:\s+code)?|post\s*code|country"
    r"|company|subject|website|age|date\s+of\s+birth|message|comments?|notes?)"
)


def _fill_pairs(field: str, text: str) -> list[str]:
    """The value for ``field``, then "<field> with <value>" pieces for the next fields
    ("Fill Email with X and Password with Y"). A password's own value is never cut. The
    next field is quoted, called a field, a form's usual label or a password field, or,
    after "and" and a field that is not free text, any capitalised name; after a
    free-text field ("Message"), it is written with a capital ("Hi John and Mary with
    love", "Call mom and address with care" are one message). After a comma, only the
    named kinds, and never in a free-text value ("X, Password with Y"; "Dune, Gone with
    the Wind" is one value)."""
    if a.SECRET_FIELD.search(field):
        return [text]
    free = bool(FREE_TEXT.search(field))
    password = r"(?:[\w-]+\s+)?(?:pass\w*|pwd|pw|pin)"
    known = rf"(?i:[\w-]+(?:\s+[\w-]+)?{_FIELD_WORD}|{_FORM_LABELS}|{password})"
    named = rf"(?=[A-Z]){known}" if free else known
    name = named if free else rf"{known}|[A-Z][\w-]*(?:\s+[\w-]+)?"
    # A free-text value keeps its commas ("Please deliver after 5pm, Phone with care").
    comma = (
        "(?!)" if free else rf"\s*,(?:\s*and)?\s+(?=(?:the\s+)?(?:\x00\d+\x00|{named})\s+with\s)"
    )
    found = re.search(rf"\s+and\s+(?=(?:the\s+)?(?:\x00\d+\x00|{name})\s+with\s)|{comma}", text)
    if found is None:
        return [text]
    rest = text[found.end() :]
    return [text[: found.start()], *_fill_pairs(rest.split(" with ", 1)[0], rest)]


def fill_with(clause: str, m: Masked) -> list[a.Action] | None:
    found = match(
        rf"fill(?:\s+(?:in|out))?\s+(?:the\s+)?(?P<field>.+?){_FIELD_KIND}\s+with\s+(?P<text>.+)",
        clause,
    )
    if not found:
        return None
    # "Fill Email with ada@x.test and Password with hunter2": one field each.
    pairs = _fill_pairs(m.value(found["field"]), found["text"])
    typed = [a.TypeText(m.value(found["field"]), m.value(pairs[0]))]
    for pair in pairs[1:]:
        more = match(rf"(?:the\s+)?(?P<field>.+?){_FIELD_KIND}\s+with\s+(?P<text>.+)", pair)
        if more is None:
            return None
        typed.append(a.TypeText(m.value(more["field"]), m.value(more["text"])))
    return typed


def type_as(clause: str, m: Masked) -> list[a.Action] | None:
    """ "enter tomsmith as the username and 'x y' as the password": each value (one
    word, or quoted) into the field the words after "as" name."""
    found = match(r"(?:type|enter|input|put|fill\s+in)\s+(?P<pairs>.+)", clause)
    if not found or re.search(r"\s(?:into|in\s+the)\s", clause, re.IGNORECASE):
        return None  # "Type John as first name into the Name field": type_into's
    typed: list[a.Action] = []
    for pair in re.split(r"\s*,\s*(?:and\s+)?|\s+and\s+", found["pairs"], flags=re.IGNORECASE):
        one = match(
            r"(?P<value>\x00\d+\x00|[^\s\x00]+)\s+as\s+(?:the\s+|my\s+|your\s+)?"
            rf"(?P<field>[^\x00]+?){_FIELD_KIND}",
            pair,
        )
        if not one or one["field"].lower() in ("well", "usual", "before", "above", "follows"):
            return None
        typed.append(a.TypeText(m.value(one["field"]), m.value(one["value"])))
    return typed


def type_into(clause: str, m: Masked) -> list[a.Action] | None:
    verbs = r"(?:type|enter|fill\s+in|fill|input|write|put|insert)"
    # "into" is unambiguous, so it is tried first: 'type Sign in into Login'.
    for connector in (r"into", r"in|to|inside"):
        found = match(
            rf"{verbs}\s+(?P<text>.+?)\s+(?:{connector})\s+(?:the\s+)?(?P<field>.+?){_FIELD_KIND}",
            clause,
        )
        if found:
            return [a.TypeText(m.value(found["field"]), m.value(found["text"]))]
    return None


_FILE_FIELD_KIND = (
    r"(?:\s+(?:file\s+)?(?:input|field|box|button|picker|chooser|control|upload|area))?"
)


def upload_file(clause: str, m: Masked) -> list[a.Action] | None:
    """ "Upload report.pdf into 'Attachment'", "upload the file report.pdf to the
    Attachment field", "attach 'report.pdf' to 'CV'": one of the task's uploads, by
    name, into the file input with that label, name or nearby text."""
    found = match(
        r"(?:upload|attach)\s+(?:the\s+)?(?:file\s+)?(?P<file>.+?)\s+"
        r"(?:into|to|in|onto|for|using|via)\s+(?:the\s+)?(?P<field>.+?)" + _FILE_FIELD_KIND,
        clause,
    )
    if not found:
        return None
    file, field = m.value(found["file"]).strip(), m.value(found["field"]).strip()
    return [a.UploadFile(field, file)] if file and field else None


def search_site(clause: str, m: Masked) -> list[a.Action] | None:
    """ "search Wikipedia for Alan Turing", "look up 'Ada Lovelace' on Wikipedia": the
    named site's own search page (see ``urls.SEARCH_SITES``)."""
    site = rf"(?:the\s+)?(?P<site>{SEARCH_SITE_NAMES})(?:\s+(?:site|website))?"
    found = match(rf"(?:search|query)\s+{site}\s+(?:for|about)\s+(?P<text>.+)", clause) or match(
        rf"(?:search|look\s+up|query|find)\s+(?:for\s+)?(?P<text>.+?)\s+(?:on|in|using|with|via)"
        rf"\s+{site}",
        clause,
    )
    if not found:
        return None
    if re.match(
        # ... and "find the price on Amazon", "find out ...": the words of a question
        r"(?:find|look\s+up)\s+(?:for\s+)?(?:(?:his|her|its|their|this|that|out)\b"
        r"|the\s+(?:price|prices|cost|answer|definition|meaning|population|ratings?|reviews?"
        r"|capital|height|age|birth\s*date|release\s+date)\s+(?:on|in|of)\s)",
        clause,
        re.I,
    ):
        # "find his birth date on Wikipedia", "look up the population of France on
        # Wikipedia": a fact, asked of the page at hand
        return None
    words = m.value(found["text"]).strip()
    return [a.Navigate(search_url(found["site"], words))] if words else None


def search_for(clause: str, m: Masked) -> list[a.Action] | None:
    # "search python.org for tutorials": that site's search box, not "python.org for ...".
    site = match(r"search\s+(?:on\s+|in\s+)?(?P<site>\S+)\s+for\s+(?P<text>.+)", clause)
    name = m.value(site["site"]) if site else ""
    url = plain_url(name) if site and plainly_a_site(name) else None
    if site and url:
        return [a.Navigate(url), a.TypeText("search", m.value(site["text"])), a.PressKey("Enter")]
    # "search the docs for 'pickle'", "search this site for X": where to search (the
    # page's own search box), then the words.
    scoped = match(
        r"search\s+(?:in\s+|on\s+|through\s+)?(?:the|this|these|our)\s+(?:[\w-]+\s+){0,2}?"
        r"(?:docs|documentation|site|website|page|wiki|forum|forums|blog|store|shop|catalog"
        r"|catalogue|manual|reference|help(?:\s+center|\s+centre)?|knowledge\s+base|archive"
        r"|archives|faq|issues|repository|repo|database)\s+for\s+(?P<text>.+)",
        clause,
    )
    found = scoped or match(
        r"search\s+(?:for\s+)?(?P<text>.+?)(?:\s+on\s+the\s+(?:page|site))?", clause
    )
    if not found:
        return None
    return [a.TypeText("search", m.value(found["text"])), a.PressKey("Enter")]


def change_language(clause: str, m: Masked) -> list[a.Action] | None:
    scope = r"(?:(?:the\s+)?(?:site|page|website|web\s*site|interface|ui|display)(?:'s|’s)?\s+)?"
    found = match(
        rf"(?:change|switch|set|toggle)\s+(?:the\s+)?{scope}(?:language|locale)\s+(?:to|into)\s+"
        r"(?:the\s+)?(?P<lang>.+?)(?:\s+(?:language|version|locale))?",
        clause,
    )
    if found:
        return [a.ChangeLanguage(m.value(found["lang"]))]
    # "switch to English", "translate the page into the German version"
    found = match(
        rf"(?:switch|change|translate)\s+{scope}(?:to|into)\s+(?:the\s+)?(?P<lang>.+?)"
        r"(?P<suffix>\s+(?:language|version|locale))?",
        clause,
    )
    if found and (found["suffix"] or is_known_language(m.value(found["lang"]))):
        return [a.ChangeLanguage(m.value(found["lang"]))]
    return None


_CLICK_KIND = r"(?:link|button|tab|menu\s+item|item|option|icon|menu|entry|element)"


_NTH = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1}
_NTH_KIND = {"link": "link", "button": "button", "result": "result", "search result": "result",
             "article": "result", "post": "result", "story": "result", "entry": "result",
             "item": "result", "hit": "result"}  # fmt: skip


def hover(clause: str, m: Masked) -> list[a.Action] | None:
    """ "hover over Products", "move the mouse over the 'Help' menu", "mouse over X"."""
    found = match(
        r"(?:hover(?:\s+(?:the\s+)?(?:mouse|cursor|pointer))?(?:\s+(?:over|on|above))?"
        r"|(?:move|put|place)\s+(?:the\s+)?(?:mouse|cursor|pointer)\s+(?:over|on|onto|above)"
        r"|mouse\s*over)\s+(?:the\s+)?(?P<target>.+?)"
        r"(?:\s+(?:menu|link|button|tab|item|icon|entry))?",
        clause,
    )
    if not found:
        return None
    target = m.value(found["target"]).strip()
    if not target or target.lower() in ("over", "on", "above", "it", "here"):
        return None
    return [a.Hover(target)]


def click_nth(clause: str, m: Masked) -> list[a.Action] | None:
    """ "click the first link", "open the second search result", "follow the last
    link": the n-th of the page's content (not of its header or navigation)."""
    found = match(
        r"(?:click|tap|press|open|follow|visit|select|choose|pick|go\s+to)(?:\s+(?:on|into))?"
        # "the" and a lower-case ordinal: "Click First Post" names a link
        r"\s+the\s+(?:very\s+)?(?-i:(?P<nth>first|second|third|fourth|fifth|last|\d{1,2}(?:st|nd|rd|th)))"
        r"\s+(?P<kind>link|button|result|search\s+result|article|post|story|entry|item|hit)"
        r"(?:\s+(?:in\s+the\s+list|on\s+the\s+page|in\s+the\s+results))?",
        clause,
    )
    if not found:
        return None
    word = found["nth"].lower()
    n = _NTH.get(word) or int(re.sub(r"\D", "", word))
    return [a.ClickNth(_NTH_KIND[" ".join(found["kind"].lower().split())], n)] if n else None


def click(clause: str, m: Masked) -> list[a.Action] | None:
    found = match(
        r"(?:click|press|tap|hit|select|choose|pick|push)(?:\s+(?:on|at))?\s+(?:the\s+)?"
        rf"(?:(?:link|button|tab)\s+)?(?P<target>.+?)(?:\s+{_CLICK_KIND})?",
        clause,
    )
    if not found:
        return None
    target, count = repeated(found["target"].strip())
    if count != 1:
        target = re.sub(rf"\s+{_CLICK_KIND}$", "", target, flags=re.IGNORECASE)
    # "the link that says More information", "the button labelled Save"
    said = re.fullmatch(
        rf"(?:{_CLICK_KIND}\s+)?(?:that\s+says|that\s+reads|with\s+the\s+(?:text|label))"
        r"\s+(?P<t>.+)",
        target,
        re.IGNORECASE,
    )
    if said is None and re.search(
        rf"\b{_CLICK_KIND}\s+(?:saying|labell?ed|called|named)\s", clause, re.IGNORECASE
    ):
        # "the button labelled Save"; not "Click Named Entities"
        said = re.fullmatch(
            rf"(?:{_CLICK_KIND}\s+)?(?:saying|labell?ed|called|named)\s+(?P<t>.+)",
            target,
            re.IGNORECASE,
        )
    if said:
        target = said["t"]
    target = m.value(target).strip()
    if not target or not count or _ORDINAL.search(clause):
        # "click the first link": an ordinal is not a name to look for on the page.
        return None
    return [a.Click(target)] * count


_ORDINAL = re.compile(
    r"^\S+(?:\s+(?:on|at))?\s+(?:the\s+)?(?:very\s+)?(?:first|second|third|fourth|fifth|last"
    r"|\d+(?:st|nd|rd|th))\s+(?:one|results?|links?|buttons?|items?|entry|entries|options?"
    r"|search\s+results?)\b",
    re.IGNORECASE,
)


def download(clause: str, m: Masked) -> list[a.Action] | None:
    """ "download 'Export CSV'", "download the file report.csv", "download
    https://a.test/r.csv": a quoted or plain link text, or a URL (a full one, or an
    unquoted host with a path)."""
    found = match(
        r"download\s+(?:the\s+)?(?:(?:file|link|report|document)\s+)?"
        r"(?:(?:from|at|behind|under)\s+)?(?:the\s+)?(?:(?:link|button)\s+)?(?P<what>.+?)"
        r"(?:\s+(?:link|button))?",
        clause,
    )
    if not found:
        return None
    what = m.value(found["what"]).strip()
    if not what:
        return None
    url = parse_url(what)
    full = what.lower().startswith(("http://", "https://"))
    if url is not None and (full or ("/" in what and not is_quoted(found["what"]))):
        return [a.Download(url=url)]
    return [a.Download(text=what)]


_BOX_KIND = r"(?:\s+(?:checkbox|check\s*box|tick\s*box|box|option|toggle|switch|radio\s+button))?"


_PARTS = (
    r"(?:title|text|url|address|links?|headings?|price|prices|content|contents|status|result"
    r"|results|value|date|time|number|name|summary)"
)


def set_checked(clause: str, m: Masked) -> list[a.Action] | None:
    # "check that the page says X" is a question, not a checkbox; nor is "check the
    # title" or "check the price of X".
    if (
        match(r"check\s+(?:that|if|whether)\b.*", clause)
        or match(
            # after "the", or written in lower case ("Check Status" is a checkbox's label),
            # and the whole object or one of something (not "Check Price alerts")
            rf"check\s+(?:out\s+)?(?:the\s+(?:page'?s?\s+)?(?:{_PARTS})|(?-i:{_PARTS}))"
            r"(?:\s+(?:of|on|in|at|for|from)\b.*)?",
            clause,
        )
        # "Check Price of the book": a question, whatever the case
        or match(rf"check\s+(?:{_PARTS})\s+(?:of|on|in|at|for|from)\b.*", clause)
        or match(r"check\s+(?:the\s+|this\s+)?(?:page|site|website|url|link)s?\s+for\b.*", clause)
    ):
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
