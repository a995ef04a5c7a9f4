"""Cutting an instruction into clauses without cutting inside quotes or URLs.

Quoted strings are first replaced by placeholders, so the sentence and clause
splitters (and the clause rules) never see an "and" or "." that the user put
inside quotes; ``Masked.restore`` gives back the exact words the user wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Opening quote -> the closing quotes accepted for it. Curly quotes are often
# mismatched by keyboards and editors, so either curly form closes them.
_QUOTES: dict[str, str] = {
    '"': '"',
    "“": "”“",
    "”": "”“",
    "„": "“”",
    "«": "»",
    "'": "'",
    "‘": "’‘",
}
# Apostrophes ("don't", "user's") must not open a single-quoted string.
_SINGLE = frozenset("'‘")
_OPENS_AFTER = frozenset(" \t\n([{:,;")

PLACEHOLDER = re.compile(r"\x00(\d+)\x00")

# Verbs that may start a clause; " and " / ", " only split before one of them
# so that 'click Terms and Conditions' stays one clause.
CLAUSE_VERBS: tuple[str, ...] = (
    "open", "go", "navigate", "visit", "load", "browse", "head", "wait", "click", "press",
    "tap", "hit", "select", "choose", "pick", "push", "type", "enter", "fill", "input",
    "write", "put", "insert", "change", "switch", "set", "translate", "summarize",
    "summarise", "sum", "give", "provide", "make", "produce", "create", "return", "get",
    "extract", "show", "output", "print", "tell", "report", "take", "capture", "grab",
    "save", "send", "screenshot", "search", "reload", "refresh", "scroll", "then", "please",
    "finally", "check", "uncheck", "tick", "untick", "turn", "close", "accept", "reject",
    "decline", "dismiss", "log", "sign", "list", "collect", "scrape",
    "clear", "upload", "attach",
    "download", "login", "use", "order", "find", "fetch", "count",
    "file", "deactivate", "activate", "promote", "grant", "demote",
)  # fmt: skip
# Verbs that start a clause only after a comma, or after "and" when an object follows
# ("..., and submit the form", "... and read the page"): "Click Review and submit",
# "Type Please read and verify into Notes" stay one clause.
LATE_VERBS = "describe|submit|verify|ensure|copy|read|hover"
_VERB_ALT = "|".join(CLAUSE_VERBS)
# A question starts a clause only after a comma: "click Who we are and what we do" is one.
_QUESTION_ALT = "what|which|how|who|when|where"

_SENTENCE_END = re.compile(r"[.!?;]+(?=\s|$)|\n+")
_ABBREVIATIONS = frozenset({"e.g", "i.e", "vs", "cf", "approx", "etc"})
_LIST_MARKER = re.compile(r"^[ \t]*(?:\d{1,2}[.)]|[-*•])[ \t]+", re.MULTILINE)
_CLAUSE_SEP = re.compile(
    r"\s*,\s*(?:and\s+)?then\b\s*"  # ", then" / ", and then"
    r"|\s+and\s+then\b\s*"
    r"|\s+then\s+"
    rf"|\s*,\s*(?:and\s+)?(?=(?:{_VERB_ALT}|{_QUESTION_ALT})\b)"
    rf"|\s+and\s+(?=(?:{_VERB_ALT})\b)"
    # after a comma, unless the verb is the typed text's ("Urgent, read before Monday")
    rf"|\s*,\s*(?:and\s+)?(?=(?:{LATE_VERBS})\b(?!\s+(?:before|after|by|until|later|first"
    r"|now|soon|carefully|again|more|aloud|through)\b))"
    rf"|\s+and\s+(?=(?:{LATE_VERBS})(?:\s+(?:the|this|that|it|its|my|over|on)\b|\s*$))"
    # "... and add a new group named X"; "find the tea and add it to the basket" stays one.
    r"|\s*,?\s+and\s+(?=add\s+(?:an?\s+)?new\b)",
    re.IGNORECASE,
)
_LEADING_FILLER = re.compile(
    r"^(?:(?:then|please|finally|and|also|next|now|first|lastly|kindly|after\s+that)\b[\s,:]*)+",
    re.IGNORECASE,
)
_TRAILING_JUNK = re.compile(r"[\s,.!?;:]+$")


@dataclass(frozen=True)
class Masked:
    """Text with quoted strings replaced by ``\\x00<n>\\x00`` placeholders."""

    text: str
    quotes: tuple[tuple[str, str], ...]  # (inner text, original including quote marks)

    def restore(self, fragment: str) -> str:
        return PLACEHOLDER.sub(lambda m: self.quotes[int(m.group(1))][1], fragment)

    def value(self, fragment: str) -> str:
        """A fragment's meaning: a lone placeholder becomes its inner text."""
        fragment = fragment.strip()
        whole = PLACEHOLDER.fullmatch(fragment)
        if whole:
            return self.quotes[int(whole.group(1))][0]
        return PLACEHOLDER.sub(lambda m: self.quotes[int(m.group(1))][0], fragment)


def _closing_index(text: str, start: int, opener: str) -> int:
    closers = _QUOTES[opener]
    for j in range(start, len(text)):
        if text[j] in closers:
            # A single-quote closer must end a word, not sit inside one.
            if opener in _SINGLE and j + 1 < len(text) and text[j + 1].isalnum():
                continue
            return j
    return -1


def mask_quotes(text: str) -> Masked:
    # A NUL is the placeholders' own mark: one in the input would name a quote that is
    # not there.
    text = text.replace("\x00", " ")
    out: list[str] = []
    quotes: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        ch = text[i]
        can_open = ch in _QUOTES and (ch not in _SINGLE or i == 0 or text[i - 1] in _OPENS_AFTER)
        end = _closing_index(text, i + 1, ch) if can_open else -1
        if end == -1:
            out.append(ch)
            i += 1
            continue
        out.append(f"\x00{len(quotes)}\x00")
        quotes.append((text[i + 1 : end], text[i : end + 1]))
        i = end + 1
    masked = _keep_password_marks("".join(out), quotes)
    # A long run of blanks outside quotes means one (such runs made some rules' patterns
    # take minutes); short ones are the user's, typed as written.
    spaced = re.sub(r"[ \t\r\f\v]{40,}", " ", masked.text)
    return Masked(re.sub(r"\s{40,}", "\n", spaced), masked.quotes)


# An unquoted password that ends in "!" ("password SuperSecretPassword!",
# "SuperSecretPassword! as the password"): the mark is the password's, not the end of a
# sentence, so the value is masked like a quoted one; unless a capital follows it, which
# starts a new sentence ("password s3cret! Now click Settings"). A password ending in
# "." or "?", or in "!" before a new sentence, must be quoted.
_MARKED = (
    # not the kind of element the word names ("into the password field!")
    r"(?P<v>(?!(?:field|box|input|button|tab|page|area|link|menu|textbox|form)!)"
    r"[^\s,;()\x00]*[^\s,;()\x00!?.]!+)(?=[,;).]|\s+(?-i:(?![A-Z]))|$)"
)
_PASSWORD_WORD = r"(?:password|passwort|passcode|pass|pwd|pw)"
_MARKED_PASSWORDS = (
    re.compile(rf"\b{_PASSWORD_WORD}\b\s*(?:[:=]|\bis\b)?\s*{_MARKED}", re.IGNORECASE),
    re.compile(
        rf"(?:^|\s){_MARKED}\s+as\s+(?:the\s+|my\s+|your\s+)?{_PASSWORD_WORD}\b", re.IGNORECASE
    ),
    # "as ada / s3cret!", "credentials: ada/s3cret!"
    re.compile(rf"\b(?:as|credentials?:?|login:?|with)\s+[^\s/:]+\s*/\s*{_MARKED}", re.IGNORECASE),
)


def _keep_password_marks(text: str, quotes: list[tuple[str, str]]) -> Masked:
    for pattern in _MARKED_PASSWORDS:
        parts: list[str] = []
        last = 0
        for found in pattern.finditer(text):
            parts += [text[last : found.start("v")], f"\x00{len(quotes)}\x00"]
            quotes.append((found["v"], found["v"]))
            last = found.end("v")
        text = "".join(parts) + text[last:]
    return Masked(text, tuple(quotes))


def _sentences(text: str) -> list[str]:
    parts: list[str] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        words = text[start : m.start()].split()
        if m.group().startswith(".") and words and words[-1].lower() in _ABBREVIATIONS:
            continue
        parts.append(text[start : m.start()])
        start = m.end()
    parts.append(text[start:])
    return parts


def split_clauses(masked_text: str) -> list[str]:
    """Masked clauses in order, with leading fillers and end punctuation removed."""
    text = _LIST_MARKER.sub("", masked_text)
    clauses: list[str] = []
    for sentence in _sentences(text):
        for part in _CLAUSE_SEP.split(sentence):
            part = _TRAILING_JUNK.sub("", _LEADING_FILLER.sub("", part.strip()))
            if part:
                clauses.append(part)
    return clauses
