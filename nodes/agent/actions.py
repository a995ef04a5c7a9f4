"""The actions a planner can ask for: small immutable values, no behaviour.

``clause`` keeps the words the user wrote, for error messages; it is left out
of equality so tests and planners can compare actions by meaning.
``describe()`` is the step's human-readable name in records and errors.

Element actions name their target in one of two ways: by the words a person
would use (``text``/``field``: a label, placeholder, name or visible text,
found the way ``locate`` finds it) or by ``index``, an element of the latest
observation (what an LLM planner uses). An index wins when both are given;
the words then label the step, and with ``fallback`` (set when the rules
planner matched the words to an observed element) they are searched for
again if the indexed element is gone by the time the action runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Fields whose typed text is a secret: their steps show it as MASK (see ``redact``).
SECRET_FIELD = re.compile(
    # Whole words, where "_" and digits separate words too ("user_pass", not "Passport").
    r"(?<![^\W\d_])(?:pass(?:word|wort|wd|code|phrase)?|pwd|pw|pin|secret)(?![^\W\d_])"
    r"|kennwort|mot de passe|contraseña|пароль",
    re.IGNORECASE,
)
MASK = "••••"
# A password inside a description: "..., password: 's3cret'".
SECRET_VALUE = re.compile(
    r"(\b(?:password|passwort|passcode|pass|pwd)\b\s*(?:[:=]|\bis\b)?\s*)"
    r"(\"[^\"]*\"|'[^']*'|“[^”]*”|[^\s,;]+)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Action:
    clause: str = field(default="", compare=False, kw_only=True)

    def describe(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Navigate(Action):
    url: str

    def describe(self) -> str:
        return f"open {self.url}"


@dataclass(frozen=True)
class WaitForLoad(Action):
    def describe(self) -> str:
        return "wait for the page to load"


@dataclass(frozen=True)
class Wait(Action):
    seconds: float

    def describe(self) -> str:
        return f"wait {self.seconds:g} s"


class _ByIndex:
    index: int | None
    fallback: bool

    def _shown_index(self) -> int | None:
        # An index the rules planner found is its own business; the user wrote words.
        return None if self.fallback else self.index


def _target(words: str, index: int | None) -> str:
    if index is None:
        return f'"{words}"'
    return f'[{index}] "{words}"' if words else f"[{index}]"


@dataclass(frozen=True)
class Click(_ByIndex, Action):
    text: str
    index: int | None = None
    fallback: bool = field(default=False, compare=False, kw_only=True)

    def describe(self) -> str:
        return f"click {_target(self.text, self._shown_index())}"


@dataclass(frozen=True)
class Download(_ByIndex, Action):
    """Download a file: click the link or button ``text`` (or ``index``), or open
    ``url``; the step fails if no download starts."""

    text: str = ""
    url: str | None = None
    index: int | None = None
    fallback: bool = field(default=False, compare=False, kw_only=True)

    def describe(self) -> str:
        if self.url is not None:
            return f"download {self.url}"
        return f"download {_target(self.text, self._shown_index())}"


@dataclass(frozen=True)
class ClickAny(Action):
    """A goal phrase ("accept the cookies") as the element texts that would reach it."""

    goal: str
    names: tuple[str, ...]

    def describe(self) -> str:
        return self.goal


NTH_KINDS: tuple[str, ...] = ("link", "button", "result")
_ORDINAL_WORDS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", -1: "last"}


def ordinal(n: int) -> str:
    """ "first", "second", ... "last" (-1), "12th"."""
    if n in _ORDINAL_WORDS:
        return _ORDINAL_WORDS[n]
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@dataclass(frozen=True)
class ClickNth(Action):
    """The n-th (1-based; -1: the last) visible link, button or result of the page's
    content, not of its header, navigation or footer ("click the first result")."""

    kind: str  # one of NTH_KINDS
    n: int

    def describe(self) -> str:
        return f"click the {ordinal(self.n)} {self.kind}"


@dataclass(frozen=True)
class Hover(Action):
    """The mouse over an element named by its text (a menu that opens on hover)."""

    text: str

    def describe(self) -> str:
        return f'hover over "{self.text}"'


@dataclass(frozen=True)
class SortBy(Action):
    """The page's sort control set to ``key`` ("price", "price low to high"): a sort
    drop-down's option, a sort link or button, or a sortable table's column header."""

    key: str

    def describe(self) -> str:
        return f'sort by "{self.key}"'


@dataclass(frozen=True)
class TypeText(_ByIndex, Action):
    field: str
    text: str
    index: int | None = None
    fallback: bool = field(default=False, compare=False, kw_only=True)

    def describe(self) -> str:
        text = MASK if SECRET_FIELD.search(self.field) else self.text
        return f'type "{text}" into {_target(self.field, self._shown_index())}'


@dataclass(frozen=True)
class SetChecked(_ByIndex, Action):
    field: str
    checked: bool = True
    index: int | None = None
    fallback: bool = field(default=False, compare=False, kw_only=True)

    def describe(self) -> str:
        return (
            f"{'check' if self.checked else 'uncheck'} {_target(self.field, self._shown_index())}"
        )


@dataclass(frozen=True)
class UploadFile(_ByIndex, Action):
    """Put one of the task's uploads (``file``: its name) into a file input."""

    field: str
    file: str
    index: int | None = None
    fallback: bool = field(default=False, compare=False, kw_only=True)

    def describe(self) -> str:
        return f'upload "{self.file}" into {_target(self.field, self._shown_index())}'


@dataclass(frozen=True)
class PressKey(Action):
    key: str  # a Playwright key name, e.g. "Enter"

    def describe(self) -> str:
        return f"press {self.key}"


@dataclass(frozen=True)
class SelectOption(_ByIndex, Action):
    field: str
    value: str
    index: int | None = None
    fallback: bool = field(default=False, compare=False, kw_only=True)

    def describe(self) -> str:
        return f'select "{self.value}" in {_target(self.field, self._shown_index())}'


@dataclass(frozen=True)
class ChangeLanguage(Action):
    language: str

    def describe(self) -> str:
        return f'change the language to "{self.language}"'


@dataclass(frozen=True)
class ChooseSetting(Action):
    """ "change the currency to EUR": a drop-down option or an element with that text."""

    setting: str
    value: str

    def describe(self) -> str:
        return f'change the {self.setting} to "{self.value}"'


@dataclass(frozen=True)
class GoBack(Action):
    def describe(self) -> str:
        return "go back"


@dataclass(frozen=True)
class Reload(Action):
    def describe(self) -> str:
        return "reload the page"


@dataclass(frozen=True)
class Scroll(Action):
    direction: str  # "down" | "up" | "top" | "bottom"

    def describe(self) -> str:
        return (
            f"scroll {self.direction}"
            if self.direction in ("down", "up")
            else (f"scroll to the {self.direction}")
        )


@dataclass(frozen=True)
class ScrollTo(Action):
    text: str

    def describe(self) -> str:
        return f'scroll to "{self.text}"'


@dataclass(frozen=True)
class WaitForText(Action):
    text: str
    gone: bool = False  # wait for it to disappear instead

    def describe(self) -> str:
        return f'wait until "{self.text}" {"disappears" if self.gone else "appears"}'


@dataclass(frozen=True)
class OpenTab(Action):
    url: str

    def describe(self) -> str:
        return f"open {self.url} in a new tab"


@dataclass(frozen=True)
class SwitchTab(Action):
    tab: str  # a 1-based number, "first", "last", "previous", "next", or words of its title/URL

    def describe(self) -> str:
        return (
            f"switch to tab {self.tab}" if self.tab.isdigit() else f'switch to the "{self.tab}" tab'
        )


@dataclass(frozen=True)
class CloseTab(Action):
    tab: str = "current"  # as for SwitchTab, or "current"

    def describe(self) -> str:
        return "close the tab" if self.tab == "current" else f"close tab {self.tab}"


@dataclass(frozen=True)
class Summarize(Action):
    def describe(self) -> str:
        return "summarize the page"


@dataclass(frozen=True)
class ReturnText(Action):
    what: str = "text"  # "text" | "title" | "url" | "heading" | "paragraph"

    def describe(self) -> str:
        return f"return the {RETURN_NAMES.get(self.what, self.what)}"


# How a step names what it returned, where the field's value is not the words.
RETURN_NAMES = {"heading": "main heading", "paragraph": "first paragraph"}


EXTRACT_SHAPES: tuple[str, ...] = (
    "text", "links", "headings", "tables", "fields", "lists", "markdown", "html"
)  # fmt: skip


@dataclass(frozen=True)
class Extract(Action):
    """Data from the page: its text, its main content as Markdown, its HTML, or JSON for
    one of the other ``EXTRACT_SHAPES``."""

    shape: str = "text"

    def describe(self) -> str:
        return f"extract the {self.shape}"


@dataclass(frozen=True)
class Answer(Action):
    """Answer a question from the page, or from the pages of its site it leads to
    (``ask``): the passage that answers it, and a value where one can be read."""

    question: str

    def describe(self) -> str:
        return f'answer "{self.question}"'


@dataclass(frozen=True)
class CheckText(Action):
    """Whether the page shows ``text`` (case and spacing aside): answered yes or no; or,
    when ``expect`` ("make sure the page says ..."), a failure when it does not.

    ``part`` narrows the check to the title, the top "heading" or the "url" ("verify
    that the title is X"; "page" is the whole page), ``how`` compares ("contains", "is",
    "starts with", "ends with"), and ``negate`` turns the check round ("make sure the
    page does not say 'Error'")."""

    text: str
    expect: bool = False
    part: str = "page"
    how: str = "contains"
    negate: bool = False

    def describe(self) -> str:
        verb = "verify that" if self.expect else "check whether"
        return f'{verb} the {self.part} {check_verb(self.how, self.negate)} "{self.text}"'


def check_verb(how: str, negate: bool = False) -> str:
    """The words of a check: "contains", "does not contain", "is not", "starts with"."""
    if not negate:
        return how
    if how == "is":
        return "is not"
    first, _, rest = how.partition(" ")
    return " ".join(["does not", first.removesuffix("s"), rest]).strip()


@dataclass(frozen=True)
class Done(Action):
    """The planner is finished: ``text`` is the result (or why it failed)."""

    text: str = ""
    success: bool = True

    def describe(self) -> str:
        return "done" if self.success else "give up"


@dataclass(frozen=True)
class TakeScreenshot(Action):
    def describe(self) -> str:
        return "take a screenshot"


@dataclass(frozen=True)
class LogIn(Action):
    """Fill the page's login form (user name or email, and password) and submit it.
    The password never shows: not in ``describe``, not in ``repr``."""

    user: str
    password: str = field(repr=False)
    # The user's words hold the password too.
    clause: str = field(default="", compare=False, kw_only=True, repr=False)

    def describe(self) -> str:
        return f'log in as "{self.user}" (password {MASK})'


@dataclass(frozen=True)
class FillForm(Action):
    """Fill the page's form from a description of what to order or send, and submit it."""

    description: str
    # The user's words may hold a password, as the description may (masked in describe).
    clause: str = field(default="", compare=False, kw_only=True, repr=False)

    def _shown(self) -> str:
        return SECRET_VALUE.sub(lambda found: found[1] + MASK, self.description)

    def describe(self) -> str:
        return f'fill in the form: "{self._shown()}"'

    def __repr__(self) -> str:
        return f"FillForm(description={self._shown()!r})"
