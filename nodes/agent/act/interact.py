"""Clicking, typing, choosing options, checking boxes and switching languages on a page.

Each function finds its element with ``locate`` and raises ActionFailed
quoting what the user asked for when nothing on the page fits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from nodes.agent.act import locate
from nodes.agent.act.languages import lookup_language
from nodes.agent.forms import editors
from nodes.agent.loop.budget import Budget
from shared.errors import ActionFailed, AgentError

if TYPE_CHECKING:
    from pathlib import Path

    from playwright.sync_api import Locator, Page

Act = Callable[[], None]


def not_found(budget: Budget, message: str) -> AgentError:
    # A search cut short by the deadline is a timeout, not a missing element.
    return budget.exceeded() if budget.expired() else ActionFailed(message)


def select_index(select: Locator, index: int, budget: Budget) -> Act:
    def act() -> None:
        select.select_option(index=index, timeout=budget.timeout_ms())

    return act


def hover(page: Page, text: str, budget: Budget) -> None:
    """Move the mouse over the element a click on ``text`` would find, or any visible
    element with that text (a menu's label is often a plain span)."""

    def probe(late: bool) -> Act | None:
        candidates = locate.click_candidates(page, text)
        target = locate.first_visible(candidates)
        if target is None and late:
            target = locate.first_visible(iter([page.get_by_text(text, exact=True)]))
        if target is not None:
            found = target
            return lambda: found.hover(timeout=budget.timeout_ms())
        return None

    act = locate.poll(page, budget, probe)
    if act is None:
        raise not_found(budget, f'could not hover over "{text}": nothing on the page says so')
    act()


# The option of a <select> whose words hold all the key's words ("price low to high" in
# "Price: Low to High"); -1 for none. Only a select that says it sorts is used.
_SORT_OPTION_JS = """
(select, key) => {
  const words = (s) => (s || '').toLowerCase().match(/[\\p{L}\\p{N}]+/gu) || [];
  const filler = new Set(['by', 'the', 'from', 'to', 'a', 'an', 'in', 'order', 'sort']);
  const wanted = words(key).filter((w) => !filler.has(w));
  if (!wanted.length) return -1;
  return Array.from(select.options).findIndex((o) => {
    const have = new Set(words(o.label || o.textContent).concat(words(o.value)));
    return wanted.every((w) => have.has(w));
  });
}
"""
_SORTS_JS = """
(select) => /sort|order/i.test([select.name, select.id, select.getAttribute('aria-label'),
  ...(select.labels ? Array.from(select.labels).map((l) => l.innerText) : [])].join(' '))
"""


def sort_by(page: Page, key: str, budget: Budget) -> None:
    """Set the page's sort control to ``key``: an option of a sort drop-down, a "Sort by
    <key>" link or button (or "<key>" in a sort menu), or a column header."""

    def probe(late: bool) -> Act | None:
        selects = page.locator("select").filter(visible=True)
        for i in range(min(selects.count(), 20)):
            select = selects.nth(i)
            index = int(select.evaluate(_SORT_OPTION_JS, key, timeout=budget.timeout_ms()))
            if index >= 0 and select.evaluate(_SORTS_JS, timeout=budget.timeout_ms()):
                chosen, at = select, index
                return lambda: chosen.select_option(index=at, timeout=budget.timeout_ms())
        names = (f"Sort by {key}", f"Sort by: {key}", key)
        for name in names:
            target = locate.first_visible(locate.click_candidates(page, name))
            if target is not None and (name != key or _sorts(target, budget)):
                return lambda: target.click(timeout=budget.timeout_ms())
        header = locate.first_visible(
            iter([page.locator("th, [role=columnheader]").filter(has_text=locate.whole_text(key))])
        )
        if header is not None:
            return lambda: header.click(timeout=budget.timeout_ms())
        return None

    act = locate.poll(page, budget, probe)
    if act is None:
        raise not_found(budget, f'could not sort by "{key}": no sort control on the page offers it')
    act()


def _sorts(target: Locator, budget: Budget) -> bool:
    """Whether a control named by the bare key is a sort control: in a sort menu, or a
    link whose address sorts ("?sort=price")."""
    return bool(
        target.evaluate(
            "(el) => /sort|order/i.test((el.getAttribute('href') || '') + ' '"
            " + (el.closest('[class*=sort i], [id*=sort i], [aria-label*=sort i]') ? 'sort' : ''))",
            timeout=budget.timeout_ms(),
        )
    )


def click(page: Page, text: str, budget: Budget) -> None:
    def probe(late: bool) -> Act | None:
        target = locate.first_visible(locate.click_candidates(page, text))
        if target is not None:
            return lambda: target.click(timeout=budget.timeout_ms())
        # "select Blue" on a page whose only "Blue" is an option of a drop-down.
        if late:
            found = locate.select_with_option(page, (text,), budget)
            if found is not None:
                return select_index(*found, budget)
        return None

    act = locate.poll(page, budget, probe)
    if act is None:
        raise not_found(budget, f'could not click "{text}": no link or button with that text')
    act()


def type_text(page: Page, field: str, text: str, budget: Budget) -> None:
    def probe(late: bool) -> Act | None:
        target = locate.first_visible(locate.field_candidates(page, field))
        if target is not None:
            return lambda: target.fill(text, timeout=budget.timeout_ms())
        # A code editor or rich-text box: its label names a hidden field or none at all.
        return editors.find_editor(page, field, text, budget)

    act = locate.poll(page, budget, probe)
    if act is None:
        raise not_found(
            budget,
            f'could not type into "{field}": no input field or editor with that label, '
            "placeholder or name",
        )
    act()


def upload_file(page: Page, field: str, path: Path, budget: Budget) -> None:
    """Into the file input named ``field`` (label, name, id, or the words next to it);
    failing that, through the file chooser that the button or link ``field`` opens."""

    def probe(late: bool) -> Act | None:
        target = locate.first_present(locate.file_input_candidates(page, field))
        target = target or locate.file_input_near_text(page, field, budget)
        if target is not None:
            found = target
            return lambda: found.set_input_files(path, timeout=budget.timeout_ms())
        opener = locate.first_visible(locate.click_candidates(page, field)) if late else None
        if opener is not None:
            return lambda: _through_file_chooser(page, opener, field, path, budget)
        return None

    act = locate.poll(page, budget, probe)
    if act is None:
        raise not_found(
            budget,
            f'could not upload into "{field}": no file input with that label, name or '
            "nearby text, and no button of that name",
        )
    act()


def _through_file_chooser(
    page: Page, opener: Locator, field: str, path: Path, budget: Budget
) -> None:
    try:
        with page.expect_file_chooser(timeout=budget.timeout_ms(cap_ms=5000)) as chooser:
            opener.click(timeout=budget.timeout_ms())
    except PlaywrightTimeoutError as exc:
        if budget.expired():
            raise budget.exceeded() from exc
        raise ActionFailed(
            f'could not upload into "{field}": clicking it opened no file chooser'
        ) from exc
    chooser.value.set_files(path, timeout=budget.timeout_ms())


def select_option(page: Page, field: str, value: str, budget: Budget) -> None:
    select = locate.poll(
        page, budget, lambda late: locate.first_visible(locate.select_candidates(page, field))
    )
    if select is None:
        raise not_found(
            budget, f'could not select "{value}" in "{field}": no drop-down with that label or name'
        )
    index = locate.option_index(select, (value,), budget)
    if index < 0:
        raise ActionFailed(f'could not select "{value}" in "{field}": no such option')
    select.select_option(index=index, timeout=budget.timeout_ms())


_LANG_JS = "() => (document.documentElement.lang || '').toLowerCase()"


def change_language(page: Page, language: str, budget: Budget) -> None:
    lang = lookup_language(language)

    def probe(late: bool) -> Act | None:
        target = locate.first_visible(locate.language_candidates(page, lang.names, lang.code))
        if target is not None:
            return lambda: target.click(timeout=budget.timeout_ms())
        found = locate.select_with_option(
            page, lang.names + ((lang.code,) if lang.code else ()), budget
        )
        if found is not None:
            return select_index(*found, budget)
        if not late:
            return None
        # Switchers often sit in a closed drop-down menu: follow the link directly.
        href = locate.hidden_language_link(page, lang.names, lang.code, budget)
        if href is not None:
            url = urljoin(page.url, href)

            def follow() -> None:
                page.goto(url, wait_until="load", timeout=budget.timeout_ms())

            return follow
        current = page.locator("html").evaluate(_LANG_JS, timeout=budget.timeout_ms())
        if lang.code and (current == lang.code or current.startswith(lang.code + "-")):
            return lambda: None  # the page is already in that language
        return None

    act = locate.poll(page, budget, probe)
    if act is None:
        raise not_found(
            budget, f'could not change the language to "{language}": no language switcher found'
        )
    act()


_CHECKABLE = (
    "input[type=checkbox], input[type=radio], [role=checkbox], [role=radio], [role=switch], "
    "[role=menuitemcheckbox]"
)


def check_candidates(page: Page, field: str) -> list[Locator]:
    checkable = page.locator(_CHECKABLE)
    css = locate.css_string(field)
    return [
        page.get_by_role("checkbox", name=field, exact=True),
        page.get_by_role("switch", name=field, exact=True),
        page.get_by_role("radio", name=field, exact=True),
        page.get_by_label(field, exact=True).and_(checkable),
        page.locator(f"[name={css} i], [id={css} i]").and_(checkable),
        page.get_by_label(field).and_(checkable),
        page.get_by_role("checkbox", name=field),
    ]


def set_checked(page: Page, field: str, checked: bool, budget: Budget) -> None:
    def probe(late: bool) -> Act | None:
        target = locate.first_visible(iter(check_candidates(page, field)))
        if target is not None:
            return lambda: target.set_checked(checked, timeout=budget.timeout_ms())
        if late:
            # Styled checkboxes hide the input and show its label: press the label.
            hidden = page.get_by_label(field).and_(page.locator(_CHECKABLE))
            label = page.get_by_text(field, exact=True).filter(visible=True)
            if hidden.count() > 0 and label.count() > 0:
                if hidden.first.is_checked(timeout=budget.timeout_ms()) == checked:
                    return lambda: None
                return lambda: label.first.click(timeout=budget.timeout_ms())
        return None

    act = locate.poll(page, budget, probe)
    if act is None:
        verb = "check" if checked else "uncheck"
        raise not_found(budget, f'could not {verb} "{field}": no checkbox with that label or name')
    act()
