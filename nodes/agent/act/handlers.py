"""The handlers that carry out actions in the current tab (``catalog`` says which is which).

Every handler bounds its Playwright calls with the budget; ``guarded`` turns
whatever Playwright raises into ActionFailed (or DeadlineExceeded when the
time is gone) quoting the step, so callers only ever see shared.errors types.
Handlers that act on what the latest observation listed use ``by_index``.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from nodes.agent import actions as a
from nodes.agent.act import goals, interact, tabs, text
from nodes.agent.act.effects import expect_effect, note_typing, typing_changed_page
from nodes.agent.loop.budget import Budget
from nodes.agent.loop.script import run_script
from nodes.agent.loop.session import Session
from nodes.agent.observation.extract import extract
from nodes.agent.observation.summary import format_summary, format_text, read_page
from shared.egress import UNREACHABLE_HEADER
from shared.errors import ActionFailed, DeadlineExceeded, ValidationError
from shared.uploads import safe_file_name

if TYPE_CHECKING:
    from pathlib import Path

    from playwright.sync_api import Frame, Locator, Page

T = TypeVar("T")
# A wait step is cut in slices this long, between which downloads are held to the cap.
WAIT_SLICE_MS = 250.0


def first_line(exc: PlaywrightError) -> str:
    lines = (exc.message or str(exc)).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def guarded(budget: Budget, what: str, call: Callable[[], T]) -> T:
    """Run ``call``, translating Playwright errors for the step named ``what``."""
    try:
        return call()
    except PlaywrightTimeoutError as exc:
        if budget.expired():
            raise budget.exceeded() from exc
        raise ActionFailed(
            f"could not {what}: timed out after {budget.action_timeout_ms} ms"
        ) from exc
    except PlaywrightError as exc:
        if budget.expired():
            raise budget.exceeded() from exc
        raise ActionFailed(f"could not {what}: {first_line(exc)}") from exc


def settle(page: Page, budget: Budget) -> None:
    """Let a navigation the last action started finish loading, if there was one."""
    try:
        page.wait_for_load_state("load", timeout=budget.timeout_ms())
    except PlaywrightTimeoutError as exc:
        # A page whose load event never fires is still usable; only the deadline matters.
        if budget.expired():
            raise budget.exceeded() from exc


def open_url(s: Session, url: str) -> None:
    """Open ``url`` in the current tab and let it load. A site the node could not reach
    fails the step, as it does without the node's filtering proxy (which answers a
    plain-HTTP request it could not forward with a 502 page that Chromium would show)."""
    s.guard.check_navigation(url)
    response = s.page.goto(url, wait_until="domcontentloaded", timeout=s.budget.timeout_ms())
    if response is not None and response.status == 502:
        if response.headers.get(UNREACHABLE_HEADER.lower()):
            raise ActionFailed(f"could not open {url}: the site could not be reached")
    settle(s.page, s.budget)


def navigate(s: Session, action: a.Navigate) -> None:
    open_url(s, action.url)


def wait_for_load(s: Session, action: a.WaitForLoad) -> None:
    budget = s.budget
    s.page.wait_for_load_state("load", timeout=budget.timeout_ms())
    try:
        # Pages that render with scripts after "load" are usually done once the network is quiet.
        s.page.wait_for_load_state("networkidle", timeout=budget.timeout_ms(cap_ms=2000))
    except PlaywrightTimeoutError:
        budget.check()


def wait(s: Session, action: a.Wait) -> None:
    wanted_ms = action.seconds * 1000
    left_ms = s.budget.left_ms()
    if wanted_ms > left_ms:
        # Waiting would only end at the deadline; fail now instead of idling until then.
        raise DeadlineExceeded(
            f"timed out: cannot wait {action.seconds:g} s with {max(0, round(left_ms))} ms left"
        )
    # In slices, so that a download the page started meanwhile is held to its cap.
    until = time.monotonic() + wanted_ms / 1000
    while (slice_ms := min((until - time.monotonic()) * 1000, WAIT_SLICE_MS)) > 0:
        s.page.wait_for_timeout(slice_ms)
        if s.downloads is not None:
            s.downloads.enforce_cap()


def wait_for_text(s: Session, action: a.WaitForText) -> None:
    text.wait_for_text(s.page, action.text, action.gone, s.budget)


def press_key(s: Session, action: a.PressKey) -> None:
    # Through the focused element (the body if none) rather than page.keyboard: a
    # locator's press waits for a navigation it starts, such as Enter submitting a form.
    focused = s.page.locator(":focus").or_(s.page.locator("body")).last

    def press() -> None:
        focused.press(action.key, timeout=s.budget.timeout_ms())

    typed_changed = typing_changed_page(s)
    if action.key == "Enter" and not typed_changed:
        # Enter submits or searches: its result has to show (see effects).
        # The field may sit in a frame: the frames are watched too.
        expect_effect(s, action.describe(), press, click=False, frames=s.page.frames[1:])
    else:
        press()
    settle(s.page, s.budget)


def go_back(s: Session, action: a.GoBack) -> None:
    if s.page.go_back(wait_until="load", timeout=s.budget.timeout_ms()) is None:
        raise ActionFailed("could not go back: there is no previous page")


def reload(s: Session, action: a.Reload) -> None:
    s.page.reload(wait_until="load", timeout=s.budget.timeout_ms())


_SCROLL_JS = {
    "down": "() => window.scrollBy(0, window.innerHeight * 0.9)",
    "up": "() => window.scrollBy(0, -window.innerHeight * 0.9)",
    "top": "() => window.scrollTo(0, 0)",
    "bottom": "() => window.scrollTo(0, document.documentElement.scrollHeight)",
}


def scroll(s: Session, action: a.Scroll) -> None:
    run_script(s.page, _SCROLL_JS[action.direction], budget=s.budget)
    # Lazy-loading pages fetch content on scroll; give them a moment.
    s.page.wait_for_timeout(s.budget.timeout_ms(cap_ms=300))


def scroll_to(s: Session, action: a.ScrollTo) -> None:
    text.scroll_to(s.page, action.text, s.budget)


def summarize(s: Session, action: a.Summarize) -> str:
    return format_summary(read_page(s.page, s.budget))


# The page's main heading (its first visible h1) or first paragraph with text.
_FIRST_TEXT_JS = """(what) => {
  const selector = what === 'heading' ? 'h1, [role=heading][aria-level="1"]' : 'p';
  for (const el of document.querySelectorAll(selector)) {
    const text = (el.innerText || '').replace(/[ \\t]+/g, ' ').trim();
    if (text && el.checkVisibility()) return text;
  }
  return '';
}"""


def return_text(s: Session, action: a.ReturnText) -> str:
    if action.what == "url":
        return s.page.url
    if action.what in a.RETURN_NAMES:
        settle(s.page, s.budget)
        found = guarded(
            s.budget, action.describe(), lambda: s.page.evaluate(_FIRST_TEXT_JS, action.what)
        )
        if not found:
            name = "h1 heading" if action.what == "heading" else "paragraph with text"
            raise ActionFailed(
                f"could not {action.describe()}: the page at {s.page.url} has no {name}"
            )
        return str(found)
    digest = read_page(s.page, s.budget)
    found = digest.title if action.what == "title" else format_text(digest)
    if not found:
        # Never something else in its place: an empty answer is no answer.
        raise ActionFailed(
            f"could not {action.describe()}: the page at {digest.url} has no {action.what}"
        )
    return found


_PAGE_TEXT_JS = "() => [document.title, document.body ? document.body.innerText : ''].join(' ')"


def _spaced_letter(ch: str) -> bool:
    """A letter or digit of a script that puts spaces between words (not CJK)."""
    return bool(ch) and ch.isalnum() and unicodedata.east_asian_width(ch) not in ("W", "F")


def check_text(s: Session, action: a.CheckText) -> str:
    """ "yes" or "no", with the text and what was read; a "verify that" fails on a no."""
    settle(s.page, s.budget)
    what = action.describe()
    if action.part == "page":
        shown = [guarded(s.budget, what, lambda: s.page.evaluate(_PAGE_TEXT_JS))]
    elif action.part == "title":
        shown = [guarded(s.budget, what, s.page.title)]
    elif action.part == "heading":
        shown = guarded(s.budget, what, lambda: s.page.evaluate(_HEADINGS_JS))
    else:
        shown = [s.page.url]
    found = any(_check_matches(str(x), action) for x in shown)
    held = found != action.negate
    if action.part == "page" and action.how == "contains":
        where = "is on" if found else "is not on"
        said = f'"{action.text}" {where} the page at {s.page.url}'
    else:
        said = _check_report(action, shown, s.page.url, found)
    if action.expect and not held:
        raise ActionFailed(said)
    return f"{'yes' if held else 'no'}: {said}"


# The page's top headings: its visible <h1>s, or without one its first <h2>.
_HEADINGS_JS = """() => {
  const shown = (e) => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
  const texts = (sel) => [...document.querySelectorAll(sel)].filter(shown)
    .map((e) => e.innerText.replace(/\\s+/g, ' ').trim()).filter(Boolean);
  const top = texts('h1, [role=heading][aria-level="1"]');
  return top.length ? top : texts('h2, [role=heading][aria-level="2"]').slice(0, 1);
}"""


def _check_matches(shown: str, action: a.CheckText) -> bool:
    """Whether ``shown`` (a title, heading, URL or the page's text) passes the check,
    case and spacing aside; a URL's scheme and last "/" aside where they do not matter."""
    have, want = _comparable(shown), _comparable(action.text)
    if action.part == "url":
        have, want = unquote(have), unquote(want)
        if not re.search(r"[?#]", want) and action.how in ("is", "ends with"):
            have = re.split(r"[?#]", have, maxsplit=1)[0]  # "ends with /login": the path's end
        if action.how == "is" and want.startswith("/"):
            # "the URL is /login": its path (and query), on whatever host
            have = re.sub(r"^[a-z][\w+.-]*://[^/?#]*", "", have) or "/"
        if action.how == "is":
            have, want = have.rstrip("/"), want.rstrip("/")
        elif action.how == "ends with" and not want.endswith("/"):
            have = have.rstrip("/")  # "/login" on ".../login/"; "ends with /" as written
        if action.how in ("is", "starts with"):
            # "www." aside; the scheme too, unless the text starts with one ("https")
            have = re.sub(r"^(https?://)?www\.", r"\1", have)
            want = re.sub(r"^(https?://)?www\.", r"\1", want)
            if not want.startswith("http"):
                have = re.sub(r"^https?://", "", have)
        if action.how == "contains":
            return want in have
    if action.how == "is":
        # "the heading is Welcome" on a page whose heading says "Welcome!"
        return have.rstrip(".!?:") == want.rstrip(".!?:")
    if action.how == "starts with":
        return have.startswith(want)
    if action.how == "ends with":
        return have.endswith(want)
    # Whole words: "art" is not on a page that says "start"; but an end that is no
    # letter of a spaced script ("%", "#1", "ありがとう") needs no word break.
    before = r"(?<!\w)" if _spaced_letter(want[:1]) else ""
    after = r"(?!\w)" if _spaced_letter(want[-1:]) else ""
    return bool(re.search(before + re.escape(want) + after, have))


# Marks that are written one way and shown another: curly quotes, dashes, spaces of no width.
_PLAIN_MARKS = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-",
                              "\u200b": None, "\u00ad": None})  # fmt: skip


def _comparable(text: str) -> str:
    """``text`` with case, spacing and the ways of writing a letter or mark aside."""
    text = unicodedata.normalize("NFKC", text).translate(_PLAIN_MARKS)
    return " ".join(text.split()).casefold()


def _check_report(action: a.CheckText, shown: list[Any], url: str, found: bool) -> str:
    """What a check read and found: 'the title "Example Domain" does not contain "X"',
    'of the headings "A", "B", one is "B"'."""
    if action.part == "url":
        return f'the URL "{url}" {a.check_verb(action.how, not found)} "{action.text}"'
    if not shown:
        return f'the page at {url} has no {action.part}, so none {action.how} "{action.text}"'
    if len(shown) == 1:
        said = f'the {action.part} "{shown[0]}" {a.check_verb(action.how, not found)}'
        return f'{said} "{action.text}"'
    quoted = ", ".join(f'"{x}"' for x in shown[:5]) + (", ..." if len(shown) > 5 else "")
    one = "one" if found else "none"
    return f'of the {action.part}s {quoted}, {one} {action.how} "{action.text}"'


def extract_data(s: Session, action: a.Extract) -> str:
    if action.shape not in a.EXTRACT_SHAPES:
        raise ActionFailed(
            f"could not extract {action.shape!r}: ask for one of {', '.join(a.EXTRACT_SHAPES)}"
        )
    found = extract(s.page, action.shape, s.budget)
    if found is None:
        raise ActionFailed(
            f"could not {action.describe()}: the page at {s.page.url} has no {action.shape}"
        )
    return found


def nothing(s: Session, action: a.Action) -> None:
    # Screenshots are taken by the runner, which knows the policy; Done ends the run there.
    return None


def _element(s: Session, index: int) -> Locator:
    target = s.element(index)
    if target.count() == 0:
        raise ActionFailed(f"element [{index}] is no longer on the page; look again")
    return target.first


def _on_element(
    s: Session, action: Any, act: Callable[[Locator, float], None], by_words: Callable[[], None]
) -> None:
    """Act on ``action.index`` if it has one, else find the element by its words."""
    if action.index is None:
        by_words()
    elif not action.fallback:
        act(_element(s, action.index), s.budget.timeout_ms())
    else:
        url = s.page.url
        try:
            act(s.element(action.index).first, s.budget.timeout_ms())
        except PlaywrightError:
            s.budget.check()
            # Search again only if the element was replaced since the observation (a
            # re-render): an action that ran and then failed must not run twice.
            if s.page.url != url or s.element(action.index).count() > 0:
                raise
            by_words()


def _frame_of(s: Session, index: int | None) -> list[Frame]:
    """The frame an indexed element is in, when it is a child frame, to watch it too."""
    frame = s.element_frames.get(index) if index is not None else None
    return [frame] if frame is not None and frame is not s.page.main_frame else []


def click(s: Session, action: a.Click) -> None:
    expect_effect(
        s,
        action.describe(),
        lambda: _on_element(
            s,
            action,
            lambda el, timeout: el.click(timeout=timeout),
            lambda: interact.click(s.page, action.text, s.budget),
        ),
        click=True,
        frames=_frame_of(s, action.index),
    )
    settle(s.page, s.budget)


# The content's links, buttons or results in document order (not the header's, the
# navigation's, the footer's nor a search form's); the n-th one is marked for the click.
# A result is a link with at least two words, once per address.
_NTH_JS = """([kind, n, mark]) => {
  const chrome = 'header, nav, footer, aside, [role=navigation], [role=banner], '
    + '[role=contentinfo], [role=search]';
  const selector = kind === 'button'
    ? 'button, [role=button], input[type=submit], input[type=button]' : 'a[href]';
  const name = (el) => (el.innerText || el.value || el.getAttribute('aria-label') || '').trim();
  const here = location.href.split('#')[0];
  const seen = new Set();
  const found = [];
  for (const el of document.querySelectorAll(selector)) {
    if (!el.checkVisibility() || !name(el) || el.closest(chrome)) continue;
    if (kind !== 'button') {
      const to = el.href.split('#')[0];
      if (to === here || /^(javascript|mailto|tel):/i.test(el.href)) continue;
      if (kind === 'result') {
        if (name(el).split(/\\s+/).length < 2 || seen.has(to)) continue;
        seen.add(to);
      }
    }
    found.push(el);
  }
  document.querySelectorAll('[' + mark + ']').forEach((el) => el.removeAttribute(mark));
  const el = found[n > 0 ? n - 1 : found.length + n];
  if (!el) return [found.length, null];
  el.setAttribute(mark, '');
  return [found.length, name(el).slice(0, 80)];
}"""
_NTH_MARK = "data-browsing-nth"


def click_nth(s: Session, action: a.ClickNth) -> str | None:
    what = action.describe()
    settle(s.page, s.budget)
    count, name = guarded(
        s.budget, what, lambda: s.page.evaluate(_NTH_JS, [action.kind, action.n, _NTH_MARK])
    )
    if name is None:
        kinds = action.kind if count == 1 else f"{action.kind}s"
        raise ActionFailed(f"could not {what}: the page at {s.page.url} has {count} {kinds}")
    target = s.page.locator(f"[{_NTH_MARK}]").first
    expect_effect(
        s,
        what,
        lambda: guarded(s.budget, what, lambda: target.click(timeout=s.budget.timeout_ms())),
        click=True,
    )
    settle(s.page, s.budget)
    return None


# How long a menu that opens on hover may take to show.
HOVER_SETTLE_MS = 300


def hover(s: Session, action: a.Hover) -> None:
    interact.hover(s.page, action.text, s.budget)
    s.page.wait_for_timeout(min(HOVER_SETTLE_MS, s.budget.timeout_ms()))


def sort_by(s: Session, action: a.SortBy) -> None:
    expect_effect(
        s,
        action.describe(),
        lambda: interact.sort_by(s.page, action.key, s.budget),
        click=False,
    )
    settle(s.page, s.budget)


def click_any(s: Session, action: a.ClickAny) -> None:
    expect_effect(
        s,
        action.describe(),
        lambda: goals.click_any(s.page, action.goal, action.names, s.budget),
        click=True,
    )
    settle(s.page, s.budget)


def choose_setting(s: Session, action: a.ChooseSetting) -> None:
    expect_effect(
        s,
        action.describe(),
        lambda: goals.choose_setting(s.page, action.setting, action.value, s.budget),
        click=True,
    )
    settle(s.page, s.budget)


def change_language(s: Session, action: a.ChangeLanguage) -> None:
    interact.change_language(s.page, action.language, s.budget)
    settle(s.page, s.budget)


def type_text(s: Session, action: a.TypeText) -> None:
    note_typing(s)
    _on_element(
        s,
        action,
        lambda el, timeout: el.fill(action.text, timeout=timeout),
        lambda: interact.type_text(s.page, action.field, action.text, s.budget),
    )


def _upload_path(s: Session, action: a.UploadFile) -> Path:
    """The local file of the upload the action names: by its stored name, whatever the
    case, or as the gateway would have stored the name the user wrote."""
    files = s.files
    wanted = action.file.strip()
    by_case = {name.casefold(): path for name, path in files.items()}
    try:
        stored_as = safe_file_name(wanted).casefold()
    except ValidationError:
        stored_as = ""
    found = files.get(wanted) or by_case.get(wanted.casefold()) or by_case.get(stored_as)
    if found is not None:
        return found
    listed = (
        f"its uploads are {', '.join(sorted(files))}"
        if files
        else 'it lists none: upload the file first and add "uploads": ["<id>"] to the task'
    )
    raise ActionFailed(
        f'could not upload "{wanted}": the task has no upload of that name ({listed})'
    )


def upload_file(s: Session, action: a.UploadFile) -> None:
    path = _upload_path(s, action)
    _on_element(
        s,
        action,
        lambda el, timeout: el.set_input_files(path, timeout=timeout),
        lambda: interact.upload_file(s.page, action.field, path, s.budget),
    )


def _select_by_label_or_value(target: Locator, value: str, timeout: float, budget: Budget) -> None:
    try:
        target.select_option(label=value, timeout=min(timeout, budget.timeout_ms(cap_ms=2000)))
    except PlaywrightTimeoutError:
        # Models often send the option's value rather than its label.
        target.select_option(value, timeout=timeout)


def select_option(s: Session, action: a.SelectOption) -> None:
    _on_element(
        s,
        action,
        lambda el, timeout: _select_by_label_or_value(el, action.value, timeout, s.budget),
        lambda: interact.select_option(s.page, action.field, action.value, s.budget),
    )
    settle(s.page, s.budget)


def set_checked(s: Session, action: a.SetChecked) -> None:
    _on_element(
        s,
        action,
        lambda el, timeout: el.set_checked(action.checked, timeout=timeout),
        lambda: interact.set_checked(s.page, action.field, action.checked, s.budget),
    )


# How long a download action waits for its click or URL to start a download.
DOWNLOAD_START_MS = 5000.0


def download(s: Session, action: a.Download) -> None:
    collector = s.downloads
    what = action.url or f'"{action.text}"'
    if collector is None:
        raise ActionFailed(f"could not download {what}: this agent does not keep downloads")
    if action.url is not None:
        s.guard.check_navigation(action.url)
        try:
            s.page.goto(action.url, wait_until="commit", timeout=s.budget.timeout_ms())
        except PlaywrightError as exc:
            # A URL that answers with a file aborts the navigation, as Playwright says.
            if "download is starting" not in first_line(exc).lower():
                raise
        else:  # the URL opened a page, where there was a file to expect
            raise ActionFailed(f"could not download {what}: it is a web page, not a file")
    elif action.index is not None:
        _on_element(s, action, lambda el, timeout: el.click(timeout=timeout), lambda: None)
    else:
        interact.click(s.page, action.text, s.budget)
    waited_ms = 0.0
    while not collector.pending and waited_ms < DOWNLOAD_START_MS:
        s.budget.check()
        s.page.wait_for_timeout(50)
        waited_ms += 50
    if not collector.pending:
        raise ActionFailed(f"could not download {what}: no download started")


def open_tab(s: Session, action: a.OpenTab) -> None:
    tabs.open_tab(s, action.url)


def switch_tab(s: Session, action: a.SwitchTab) -> None:
    tabs.switch_tab(s, action.tab)


def close_tab(s: Session, action: a.CloseTab) -> None:
    tabs.close_tab(s, action.tab)
