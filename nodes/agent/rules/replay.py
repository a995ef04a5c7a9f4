"""The replay script: the steps a run took, written back in the rules grammar.

Submitted as a task, the script runs the same steps with the rules planner, no model
needed. Each action is rendered from its fields, not from the words the user wrote, so
a step the LLM planner took by element index comes out with the element's accessible
name (``click [5] "Send"`` becomes ``Click "Send"``), which is how the rules find it.

A script may not be replayable as it stands; ``Replay.why`` says why:
- text typed into a password field is left out (passwords never go into ``info``): the
  script holds ``<password>`` in its place, for the user to put back;
- an element without a usable name (an icon button with no label, a name cut short in
  the observation) cannot be named in words;
- an action the grammar has no phrasing for (the script still lists the others); steps
  the rules compiled from the user's words are written as those words instead, unless
  they may hold a password.
The model's own answer (``done``'s text) is not a step: a replay returns what its steps
read (``Return the text``...), or the summary of the page it ends on.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

from nodes.agent import actions as a

PASSWORD_PLACEHOLDER = "<password>"
# "password: x", "with the password 'x'": a secret written in an instruction's words.
_SECRET_IN_WORDS = re.compile(
    r"(?P<word>\b(?:pass(?:word|wort|phrase|code)|pwd|kennwort|mot de passe|contrase[ñn]a)\b)"
    r"(?P<gap>\s*(?:\bis\b|:|=)\s*|\s+)"
    r"(?P<value>\"[^\"]*\"|'[^']*'|“[^”]*”|«[^»]*»|[^\s,;.\"'“”«»]+)",
    re.IGNORECASE,
)
# "hunter2 as the password": the value before the key word.
_SECRET_BEFORE_WORDS = re.compile(
    # from a word's start only: tried inside a long token, the search took seconds
    r"(?<![^\s,;.()\"'“”«»])(?P<value>\"[^\"]*\"|'[^']*'|“[^”]*”|«[^»]*»|[^\s,;.\"'“”«»]+)"
    r"(?P<rest>\s+as\s+(?:the\s+|my\s+|your\s+)?(?:pass(?:word|wort|phrase|code)?|pwd|pw)\b)",
    re.IGNORECASE,
)
# The quotes the rules read literally, tried in this order (split.mask_quotes).
_QUOTES = (('"', '"'), ("'", "'"), ("“", "”"), ("«", "»"))
_EXTRACT_PHRASES = {
    "text": "Return the text",  # the rules read it the same way as extract(text)
    "links": "Extract all links",
    "headings": "Extract the headings",
    "tables": "Extract the tables",
    "fields": "Extract the form fields",
    "lists": "Extract the lists",
    "markdown": "Return the page as Markdown",
    "html": "Return the HTML",
}
_SCROLLS = {"down": "Scroll down", "up": "Scroll up", "top": "Scroll to the top",
            "bottom": "Scroll to the bottom"}  # fmt: skip
_RETURNS = {"text": "Return the text", "title": "Return the title", "url": "Return the url",
            "heading": "Return the main heading",
            "paragraph": "Return the first paragraph"}  # fmt: skip
_TAB_WORDS = ("first", "last", "previous", "next", "new")
# Playwright's key names as the rules' ``press the ... key`` reads them (``inputs``).
_KEY_WORDS = {"enter": "Enter", "escape": "Escape", "backspace": "Backspace", "space": "space",
              "tab": "Tab", "delete": "Delete", "home": "Home", "end": "End",
              "pagedown": "page down", "pageup": "page up", "arrowdown": "arrow down",
              "arrowup": "arrow up", "arrowleft": "arrow left",
              "arrowright": "arrow right"}  # fmt: skip
_CHORD = re.compile(r"(?:(?:Control|Shift|Alt|Meta)\+)+\S|F(?:[1-9]|1[0-2])")


class Unphrasable(ValueError):
    """The step cannot be written in the grammar; the message says why."""


@dataclass(frozen=True, kw_only=True)
class Replay:
    script: str
    replayable: bool
    why: str | None = None  # why the script does not repeat the run as it stands

    def as_info(self) -> dict[str, Any]:
        return {"script": self.script, "replayable": self.replayable, "why": self.why}


def is_secret_field(name: str) -> bool:
    return bool(a.SECRET_FIELD.search(name))


def redact(words: str) -> str:
    """An instruction's words with the value after "password" (quoted, or one word)
    replaced by the placeholder, for words that go into ``info``."""
    words = _SECRET_IN_WORDS.sub(lambda m: f"{m['word']}{m['gap']}{PASSWORD_PLACEHOLDER}", words)
    return _SECRET_BEFORE_WORDS.sub(lambda m: f"{PASSWORD_PLACEHOLDER}{m['rest']}", words)


def literal(text: str) -> str:
    """``text`` in the first quotes it does not contain; Unphrasable if it contains all."""
    for opening, closing in _QUOTES:
        if opening not in text and closing not in text:
            return f"{opening}{text}{closing}"
    raise Unphrasable("its text holds every kind of quote")


def quote(text: str) -> str:
    """A name (of an element, a tab, an option...) in quotes; it cannot be empty."""
    if not text.strip():
        raise Unphrasable("it has no name to find it by")
    return literal(text)


def name(action: a.Action, words: str) -> str:
    """The quoted name of the element ``action`` acts on. One the model chose by index
    has the name the observation gave it, which ends with "…" when it was cut short."""
    chosen = getattr(action, "index", None) is not None and not getattr(action, "fallback", True)
    if chosen and words.endswith("…"):
        raise Unphrasable(f'its name "{words}" was cut short')
    return quote(words)


def _seconds(seconds: float) -> str:
    return f"Wait {seconds:g} seconds" if seconds >= 1 else f"Wait {round(seconds * 1000)} ms"


def _tab(tab: str) -> str:
    if tab.isdigit():
        return f"Switch to tab {tab}"
    if tab in _TAB_WORDS:
        return f"Switch to the {tab} tab"
    return f"Switch to the tab {quote(tab)}"


def _key(key: str) -> str:
    if key.lower() in _KEY_WORDS:
        return f"Press the {_KEY_WORDS[key.lower()]} key"
    if _CHORD.fullmatch(key):
        return f"Press {key}"
    raise Unphrasable(f"the rules grammar has no phrasing for the key {key}")


def _type(action: a.TypeText) -> str:
    if not action.text:
        return f"Clear the {name(action, action.field)} field"
    text = PASSWORD_PLACEHOLDER if is_secret_field(action.field) else action.text
    return f"Type {literal(text)} into {name(action, action.field)}"


def _download(action: a.Download) -> str:
    return (
        f"Download {action.url}"
        if action.url is not None
        else f"Download {name(action, action.text)}"
    )


def _close(action: a.CloseTab) -> str:
    return "Close the tab" if action.tab == "current" else f"Close tab {action.tab}"


_PHRASES: dict[type, Callable[[Any], str]] = {
    a.Navigate: lambda x: f"Open {x.url}",
    a.OpenTab: lambda x: f"Open {x.url} in a new tab",
    a.GoBack: lambda x: "Go back",
    a.Reload: lambda x: "Reload the page",
    a.Click: lambda x: f"Click {name(x, x.text)}",
    a.ClickAny: lambda x: _goal(x),
    a.ClickNth: lambda x: f"Click the {a.ordinal(x.n)} {x.kind}",
    a.Hover: lambda x: f"Hover over {quote(x.text)}",
    a.SortBy: lambda x: f"Sort by {quote(x.key)}",
    a.TypeText: _type,
    a.PressKey: lambda x: _key(x.key),
    a.SelectOption: lambda x: f"Select {quote(x.value)} from the {name(x, x.field)} dropdown",
    a.SetChecked: lambda x: f"{'Check' if x.checked else 'Uncheck'} {name(x, x.field)}",
    a.UploadFile: lambda x: f"Upload {quote(x.file)} into {name(x, x.field)}",
    a.Scroll: lambda x: _SCROLLS[x.direction],
    a.ScrollTo: lambda x: f"Scroll to {quote(x.text)}",
    a.Wait: lambda x: _seconds(x.seconds),
    a.WaitForLoad: lambda x: "Wait until the page is loaded",
    a.WaitForText: lambda x: (
        f"Wait until {quote(x.text)} disappears"
        if x.gone
        else f"Wait for {quote(x.text)} to appear"
    ),
    a.SwitchTab: lambda x: _tab(x.tab),
    a.CloseTab: _close,
    a.ChangeLanguage: lambda x: f"Change the site language to {quote(x.language)}",
    a.ChooseSetting: lambda x: f"Change the {x.setting} to {quote(x.value)}",
    a.Summarize: lambda x: "Summarize the page",
    a.ReturnText: lambda x: _RETURNS[x.what],
    a.Extract: lambda x: _EXTRACT_PHRASES[x.shape],
    a.TakeScreenshot: lambda x: "Take a screenshot",
    a.Download: _download,
    a.LogIn: lambda x: f"Log in as {quote(x.user)} with password {PASSWORD_PLACEHOLDER}",
    a.FillForm: lambda x: f"Fill in the form with {_form_words(x.description)}",
    a.Answer: lambda x: f"Answer {quote(x.question)}",
    a.CheckText: lambda x: (
        f"{'Make sure' if x.expect else 'Check whether'} the {x.part.replace('url', 'URL')} "
        f"{a.check_verb(x.how, x.negate)} {quote(x.text)}"
    ),
}


def _goal(action: a.ClickAny) -> str:
    """A goal phrase ("Accept the cookies"), when the rules read it back as the same
    goal; the steps of a longer phrase ("go to the groups" of "create a group called
    X") are written as that phrase instead (``_clause_instead``)."""
    from nodes.agent.rules.planner import plan_instruction  # the planner's rules use this
    from shared.errors import InstructionNotUnderstood

    said = action.goal[:1].upper() + action.goal[1:]
    try:
        back = plan_instruction(said)
    except InstructionNotUnderstood:
        back = []
    if back != [action]:
        raise Unphrasable("the goal is a step of a longer phrase")
    return said


def _form_words(description: str) -> str:
    """A form's description as the rules read it back (unquoted: its own quotes, such as
    a note's, stay literal), with a password in it replaced by the placeholder."""
    return a.SECRET_VALUE.sub(lambda found: found[1] + PASSWORD_PLACEHOLDER, description)


def phrase(action: a.Action) -> str:
    """One clause of the grammar for ``action``; Unphrasable when there is none."""
    render = _PHRASES.get(type(action))
    if render is None:
        raise Unphrasable("the rules grammar has no phrasing for it")
    return render(action)


def is_secret(action: a.Action) -> TypeGuard[a.TypeText]:
    """Whether the action typed a password (its text must not be shown)."""
    return isinstance(action, a.TypeText) and is_secret_field(action.field)


def _holds_secret(action: a.Action) -> bool:
    if is_secret(action):
        return True
    return any(
        a.SECRET_FIELD.search(f.name) or "credential" in f.name for f in dataclasses.fields(action)
    )


def _groups(taken: Sequence[a.Action]) -> list[list[tuple[int, a.Action]]]:
    """The steps (numbered from 1) in runs that one clause of the rules compiled to;
    a step without a clause (the model's) is a run of its own."""
    groups: list[list[tuple[int, a.Action]]] = []
    for number, action in enumerate(taken, start=1):
        if isinstance(action, a.Done):
            continue
        if groups and action.clause and groups[-1][-1][1].clause == action.clause:
            groups[-1].append((number, action))
        else:
            groups.append([(number, action)])
    return groups


def _clause_instead(group: list[tuple[int, a.Action]]) -> str | None:
    """The user's words for steps the rules compiled from them, when some step has no
    phrasing of its own (a phrase this module does not know yet): those words compile
    to the same steps. Never words that may hold a password."""
    words = group[0][1].clause
    if not words or any(_holds_secret(action) for _, action in group):
        return None
    return words if redact(words) == words else None


def render_replay(taken: Sequence[a.Action]) -> Replay:
    """The script for the actions a run took (the successful steps, in order)."""
    clauses: list[str] = []
    problems: list[str] = []
    for group in _groups(taken):
        phrased: list[tuple[int, a.Action, str | Unphrasable]] = []
        for number, action in group:
            try:
                phrased.append((number, action, phrase(action)))
            except Unphrasable as exc:
                phrased.append((number, action, exc))
        words = None
        if any(isinstance(said, Unphrasable) for _, _, said in phrased):
            words = _clause_instead(group)
        if words is not None:
            clauses.append(words)
            continue
        for number, action, said in phrased:
            if isinstance(said, Unphrasable):
                what = f'type into "{action.field}"' if is_secret(action) else action.describe()
                problems.append(f"step {number} ({what}) is left out: {said}")
                continue
            clauses.append(said)
            if is_secret(action):
                problems.append(
                    f'the password typed into "{action.field}" is left out: put it in place '
                    f"of {PASSWORD_PLACEHOLDER}"
                )
            elif PASSWORD_PLACEHOLDER in said:
                problems.append(
                    f"the password of step {number} ({action.describe()}) is left out: put it "
                    f"in place of {PASSWORD_PLACEHOLDER}"
                )
    script = "".join(f"{clause}. " for clause in clauses).strip()
    return Replay(script=script, replayable=not problems, why="; ".join(problems) or None)
