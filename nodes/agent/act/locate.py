"""Finding the element a clause talks about, the way a person would.

Candidates are tried in order of how well they match (exact text before
"contains", links and buttons before anything else) and only visible elements
count. Pages render late, so the search is repeated until the action's time
runs out; each probe is a quick one-shot query, the waiting between probes is
``page.wait_for_timeout`` so it stays bounded by the budget.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

from nodes.agent.loop.budget import Budget
from nodes.agent.loop.script import run_script

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

T = TypeVar("T")
POLL_MS = 200.0
# After this long without a visible match, probes may accept weaker matches.
LATE_AFTER_MS = 1000.0

CLICK_ROLES: tuple[str, ...] = ("link", "button", "tab", "menuitem", "checkbox", "radio")
_CLICKABLE = (
    ":is(a, button, summary, [role=button], [role=link], [role=tab], [role=menuitem], "
    "[role=option], input[type=submit], input[type=button])"
)
_FILLABLE = (
    "input:not([type=hidden]):not([type=submit]):not([type=button]):not([type=checkbox])"
    ":not([type=radio]):not([type=image]):not([type=reset]), textarea, "
    "[contenteditable=''], [contenteditable=true]"
)
# Site search boxes, most telling first. A CSS list matches in document order, so
# each is tried on its own: a sidebar's "filter" box (type=search, no form) must
# not win over the search form further down the page.
_SEARCH_FIELDS: tuple[str, ...] = (
    "form :is(input[name=q], input[name=query], input[name=search], input[name=s])",
    "form :is(input[type=search], [role=searchbox])",
    "input[name=q], input[name=query], input[name=search]",
    "input[type=search], [role=searchbox]",
    "input:is([id*=search i], [placeholder*=search i], [aria-label*=search i])",
    # A box with no label, name or placeholder that says search (pydoc's index): the text
    # field of a search landmark, or of a form whose button says search.
    "[role=search] input:is([type=text], :not([type]))",
    "form:has(input[type=submit][value*=search i]) input:is([type=text], :not([type]))",
    "form:has(button:text-matches('search', 'i')) input:is([type=text], :not([type]))",
    "form:has(button[aria-label*=search i]) input:is([type=text], :not([type]))",
)


def css_string(value: str) -> str:
    """A CSS string literal for attribute selectors."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def whole_text(text: str) -> re.Pattern[str]:
    """Case-insensitive match of the whole (whitespace-trimmed) text."""
    return re.compile(rf"^\s*{re.escape(text.strip())}\s*$", re.IGNORECASE)


def poll(page: Page, budget: Budget, probe: Callable[[bool], T | None]) -> T | None:
    """Call ``probe(late)`` until it returns something or the action's time is up."""
    started = time.monotonic()
    stop = started + budget.timeout_ms() / 1000
    while True:
        elapsed_ms = (time.monotonic() - started) * 1000
        last_round = time.monotonic() >= stop
        found = probe(last_round or elapsed_ms >= LATE_AFTER_MS)
        if found is not None or last_round:
            return found
        left_ms = (stop - time.monotonic()) * 1000
        if left_ms > 0:
            page.wait_for_timeout(max(1.0, min(POLL_MS, left_ms)))


def first_visible(candidates: Iterator[Locator]) -> Locator | None:
    for candidate in candidates:
        visible = candidate.filter(visible=True)
        if visible.count() > 0:
            return visible.first
    return None


def click_candidates(page: Page, text: str) -> Iterator[Locator]:
    for role in CLICK_ROLES:
        yield page.get_by_role(role, name=text, exact=True)  # type: ignore[arg-type]
    yield page.locator(_CLICKABLE).filter(has_text=whole_text(text))
    yield page.locator(f"input[type=submit][value={css_string(text)} i]")
    yield page.locator(f"[aria-label={css_string(text)} i]")
    yield page.get_by_text(text, exact=True)
    for role in CLICK_ROLES:
        yield page.get_by_role(role, name=text)  # type: ignore[arg-type]
    yield page.locator(f"{_CLICKABLE}[aria-label*={css_string(text)} i]")


_USER_FIELDS = (
    "input[autocomplete=username]",
    "input[name*=user i]:not([type=hidden])",
    "input[id*=user i]:not([type=hidden])",
    "input[name*=login i]:not([type=hidden])",
    "input[type=email]",
)
_FIELDS_FOR = {
    **dict.fromkeys(("username", "user name", "user", "login", "user id"), _USER_FIELDS),
    **dict.fromkeys(("email", "e mail", "email address"), ("input[type=email]",
                                                          "input[autocomplete=email]")),
    **dict.fromkeys(("password", "pass", "pwd", "pw"), ("input[type=password]",)),
}  # fmt: skip


def field_candidates(page: Page, field: str) -> Iterator[Locator]:
    fillable = page.locator(_FILLABLE)
    css = css_string(field)
    exact = (
        page.get_by_label(field, exact=True),
        page.get_by_placeholder(field, exact=True),
        page.locator(f"[aria-label={css} i]"),
        page.locator(f"[name={css} i]"),
        page.locator(f"[id={css} i]"),
    )
    for candidate in exact:
        yield candidate.and_(fillable)
    for candidate in (page.get_by_label(field), page.get_by_placeholder(field)):
        yield candidate.and_(fillable)
    # "the username" on a form labelled "Email or user name", "the password" on any:
    # what the field is for, as the page declares it.
    for selector in _FIELDS_FOR.get(" ".join(field.lower().replace("-", " ").split()), ()):
        yield page.locator(selector).and_(fillable)
    if "search" in field.lower():
        for selector in _SEARCH_FIELDS:
            yield page.locator(selector)


FILE_INPUT = "input[type=file]"


def file_input_candidates(page: Page, field: str) -> Iterator[Locator]:
    """File inputs for ``field`` by label, aria-label, name or id. Visibility is not
    asked for: pages often hide the input itself behind a styled label, and Playwright
    sets files on a hidden input as well."""
    inputs = page.locator(FILE_INPUT)
    css = css_string(field)
    for candidate in (
        page.get_by_label(field, exact=True),
        page.locator(f"[aria-label={css} i]"),
        page.locator(f"[name={css} i]"),
        page.locator(f"[id={css} i]"),
        page.get_by_label(field),
    ):
        yield candidate.and_(inputs)


# From each text that holds the words, up through its ancestors to the first one that
# holds a file input: that input, if it is the only one there. An ancestor holding
# several (a form with two uploaders) says nothing about which one the words name.
_FILE_INPUT_NEAR_TEXT_JS = """
(wanted) => {
  const norm = (s) => (s || '').replace(/\\s+/g, ' ').trim().toLowerCase();
  const words = norm(wanted);
  const inputs = Array.from(document.querySelectorAll('input[type=file]'));
  if (!words || !inputs.length || !document.body) return -1;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const parent = walker.currentNode.parentElement;
    if (!parent || ['SCRIPT', 'STYLE', 'NOSCRIPT'].includes(parent.tagName)) continue;
    if (!norm(walker.currentNode.textContent).includes(words)) continue;
    for (let el = parent; el && el !== document.body; el = el.parentElement) {
      const inside = el.querySelectorAll('input[type=file]');
      if (inside.length === 1) return inputs.indexOf(inside[0]);
      if (inside.length > 1) break;
    }
  }
  return -1;
}
"""


def file_input_near_text(page: Page, field: str, budget: Budget) -> Locator | None:
    """The one file input next to the words ``field`` (in the same block), if any."""
    index = run_script(page, _FILE_INPUT_NEAR_TEXT_JS, field, budget=budget)
    return page.locator(FILE_INPUT).nth(int(index)) if index is not None and index >= 0 else None


def first_present(candidates: Iterator[Locator]) -> Locator | None:
    for candidate in candidates:
        if candidate.count() > 0:
            return candidate.first
    return None


def select_candidates(page: Page, field: str) -> Iterator[Locator]:
    css = css_string(field)
    for candidate in (
        page.get_by_label(field, exact=True),
        page.locator(f"select[aria-label={css} i]"),
        page.locator(f"select[name={css} i]"),
        page.locator(f"select[id={css} i]"),
        page.get_by_label(field),
    ):
        yield candidate.and_(page.locator("select"))


_OPTION_INDEX_JS = """
(select, wanted) => {
  const norm = (s) => (s || '').trim().toLowerCase();
  const names = wanted.map(norm);
  return Array.from(select.options).findIndex(
    (o) => names.includes(norm(o.label)) || names.includes(norm(o.textContent))
      || names.includes(norm(o.value)) || names.includes(norm(o.lang)));
}
"""


def option_index(select: Locator, names: tuple[str, ...], budget: Budget) -> int:
    """Index of the first option whose label, value or lang is one of ``names``; -1 if none."""
    return int(select.evaluate(_OPTION_INDEX_JS, list(names), timeout=budget.timeout_ms()))


def select_with_option(
    page: Page, names: tuple[str, ...], budget: Budget
) -> tuple[Locator, int] | None:
    """A visible <select> offering one of ``names``, with that option's index."""
    selects = page.locator("select").filter(visible=True)
    for i in range(min(selects.count(), 20)):
        select = selects.nth(i)
        index = option_index(select, names, budget)
        if index >= 0:
            return select, index
    return None


def language_candidates(page: Page, names: tuple[str, ...], code: str | None) -> Iterator[Locator]:
    """Switcher entries for a language: by visible name, then lang/hreflang, then label."""
    for name in names:
        for role in ("link", "button", "menuitem", "tab"):
            yield page.get_by_role(role, name=whole_text(name))  # type: ignore[arg-type]
        yield page.locator(_CLICKABLE).filter(has_text=whole_text(name))
    if code:
        attrs = ("hreflang", "lang", "data-lang", "data-language", "data-locale")
        css = css_string(code)
        prefix = css_string(code + "-")
        selector = ", ".join(
            f"{_CLICKABLE}[{attr}={css} i], {_CLICKABLE}[{attr}^={prefix} i]" for attr in attrs
        )
        yield page.locator(selector)
    for name in names:
        if len(name) >= 3:  # "En" would match "Enter", "Rus" is long enough
            css = css_string(name)
            yield page.locator(f"{_CLICKABLE}:is([aria-label*={css} i], [title*={css} i])")


def hidden_language_link(
    page: Page, names: tuple[str, ...], code: str | None, budget: Budget
) -> str | None:
    """The href of a switcher link hidden in a closed menu, to open it directly."""
    for candidate in language_candidates(page, names, code):
        links = candidate.and_(page.locator("a[href]"))
        if links.count() > 0:
            href = links.first.get_attribute("href", timeout=budget.timeout_ms())
            if href and not href.startswith(("#", "javascript:")):
                return href
    return None
