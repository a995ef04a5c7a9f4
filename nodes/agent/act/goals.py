"""Goals rather than elements: "accept the cookies", "change the currency to EUR".

Each goal comes as the element texts that usually reach it; the first visible
element whose text, label or title matches one of them is clicked. Same
contract as ``interact``: raise ActionFailed quoting the user's words when nothing fits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nodes.agent.act import interact, locate
from nodes.agent.act.interact import Act, not_found
from nodes.agent.loop.budget import Budget
from nodes.agent.loop.script import run_script

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

GOAL_ATTRIBUTE = "data-agent-goal"

# One pass over the clickable elements for all the names a goal may go by:
# exact text first, then text that starts with a name, then text containing
# one; the match is tagged so a locator can click it.
_FIND_GOAL_JS = """
({names, attr}) => {
  const norm = (s) => (s || '').replace(/\\s+/g, ' ').trim().toLowerCase();
  const wanted = names.map(norm);
  for (const old of document.querySelectorAll('[' + attr + ']')) old.removeAttribute(attr);
  const sel = 'a, button, summary, label, [role=button], [role=link], [role=tab], '
    + '[role=menuitem], [role=option], input[type=submit], input[type=button], [onclick]';
  const found = Array.from(document.querySelectorAll(sel)).filter((el) => el.checkVisibility())
    .map((el) => [el, [el.innerText, el.getAttribute('aria-label'), el.value,
                       el.getAttribute('title')].map(norm).filter(Boolean)]);
  const tests = [(t, w) => t === w, (t, w) => t.startsWith(w + ' '),
                 (t, w) => w.length > 3 && t.includes(w)];
  for (const test of tests) {
    for (const w of wanted) {
      const hit = found.find(([, texts]) => texts.some((t) => test(t, w)));
      if (hit) { hit[0].setAttribute(attr, '1'); return w; }
    }
  }
  return null;
}
"""


def click_any(page: Page, goal: str, names: tuple[str, ...], budget: Budget) -> None:
    def probe(late: bool) -> Act | None:
        target = _find_goal(page, names, budget)
        if target is None:
            return None
        return lambda: target.click(timeout=budget.timeout_ms())

    act = locate.poll(page, budget, probe)
    if act is None:
        tried = ", ".join(f'"{n}"' for n in names[:4])
        raise not_found(budget, f"could not {goal}: nothing on the page says {tried}")
    act()


def _find_goal(page: Page, names: tuple[str, ...], budget: Budget) -> Locator | None:
    hit = run_script(
        page, _FIND_GOAL_JS, {"names": list(names), "attr": GOAL_ATTRIBUTE}, budget=budget
    )
    return None if hit is None else page.locator(f"[{GOAL_ATTRIBUTE}]").first


def choose_setting(page: Page, setting: str, value: str, budget: Budget) -> None:
    """A drop-down for the setting, any drop-down offering the value, or the value's
    text to click; menus that hide the choices are opened by clicking the setting."""
    opened = False

    def probe(late: bool) -> Act | None:
        nonlocal opened
        select = locate.first_visible(locate.select_candidates(page, setting))
        if select is not None and (index := locate.option_index(select, (value,), budget)) >= 0:
            return interact.select_index(select, index, budget)
        found = locate.select_with_option(page, (value,), budget)
        if found is not None:
            return interact.select_index(*found, budget)
        target = _find_goal(page, (value,), budget)
        if target is not None:
            return lambda: target.click(timeout=budget.timeout_ms())
        if late and not opened:
            menu = _find_goal(page, (setting,), budget)
            if menu is not None:
                opened = True
                menu.click(timeout=budget.timeout_ms())
        return None

    act = locate.poll(page, budget, probe)
    if act is None:
        raise not_found(
            budget, f'could not change the {setting} to "{value}": no such choice on the page'
        )
    act()
