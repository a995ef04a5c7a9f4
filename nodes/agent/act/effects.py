"""Checking that an action which should change something did: honest success.

A click, a goal phrase or Enter in a search box is only done once its effect
shows. Pages answer late (results fetched and rendered hundreds of ms after the
key press, a client-side router that pushes a URL and renders afterwards), so
the agent waits for the effect itself, never for a fixed time, and fails the
step when none came within the action timeout: otherwise a search that never
showed results would let the task "succeed" on the page it started from.

What counts as an effect (the rule docs/agent.md states):

- a navigation: a new document, a URL change (``pushState``, a ``#hash``), a
  main-frame navigation request (even one the guard refuses), or the tab closing;
- a new tab, or a download;
- a change to the DOM (a MutationObserver counts it; the agent's own
  ``data-agent-*`` marks are left out);
- a control changing state: a ``change`` event on a checkbox, radio, drop-down,
  file or range input (not on a text field: Enter "commits" those);
- a dialog (``alert``/``confirm``/``prompt``);
- for a click, its target being a field one types into or its label (focusing
  it is the point; not when the browser focuses a field because a form failed
  its validation) or already the current/selected item (``aria-current``,
  ``aria-selected="true"``: a tab or page link that is already open; a radio
  button that is already chosen).

Enter right after typing is let off when the typing itself already changed the
page (a list filtered as you type, whose Enter does nothing more).

A form the browser refuses to submit (an ``invalid`` event: a required field left
empty) fails the step at once, whatever else the page shows.

A network request alone is not an effect: what it fetched has to show. Once an
effect is seen, the step also waits (bounded by ``SETTLE_CAP_MS``) for the
timers and requests the page started since the action to finish and for the
DOM to stay quiet ``QUIET_MS``, so that a spinner shown at once does not stand
in for the results that replace it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from playwright.sync_api import Error as PlaywrightError

from nodes.agent.loop.script import run_script
from shared.errors import ActionFailed

if TYPE_CHECKING:
    from playwright.sync_api import Download, Frame, Page, Request

    from nodes.agent.loop.session import Session

# The DOM must stay unchanged this long after the last change before a step is done.
QUIET_MS = 60
# After the first effect, how long to wait at most for the rest of it to settle.
SETTLE_CAP_MS = 3000.0
# Timers longer than this are not something a person waits for (polls, idle timeouts).
TIMER_CAP_MS = 2000
# One wait in the page; between two, the agent looks for new tabs and downloads.
CHUNK_MS = 250.0

# Installed once per document (on first use), then reset before each action.
_MARK_JS = """
(timerCap) => {
  const w = window;
  let st = w.__agentEffects;
  if (!st) {
    const now = () => performance.now();
    st = w.__agentEffects = {token: 0, changes: 0, last: 0, live: new Set(), clicked: null,
                             invalid: null, popups: 0, wait: w.setTimeout.bind(w)};
    const bump = () => { st.changes++; st.last = now(); };
    new MutationObserver((records) => {
      if (records.some((r) => r.type !== 'attributes'
                             || !(r.attributeName || '').startsWith('data-agent'))) bump();
    }).observe(document, {subtree: true, childList: true, attributes: true,
                          characterData: true});
    const textual = (t) => t instanceof HTMLTextAreaElement || (t instanceof HTMLInputElement
      && !['checkbox', 'radio', 'file', 'range', 'color', 'button', 'submit', 'reset',
           'image'].includes(t.type));
    document.addEventListener('change', (e) => { if (!textual(e.target)) bump(); }, true);
    document.addEventListener('input', (e) => {
      if (e.target instanceof HTMLTextAreaElement || e.target.isContentEditable) bump();
    }, true);
    document.addEventListener('click', (e) => { st.clicked = e.target; }, true);
    document.addEventListener('invalid', (e) => {
      const f = e.target;
      if (st.invalid) return;
      const name = (f.labels && f.labels[0] && f.labels[0].innerText) || f.name || f.id || '';
      st.invalid = {field: name.replace(/\\s+/g, ' ').trim(), message: f.validationMessage || ''};
    }, true);
    for (const name of ['alert', 'confirm', 'prompt']) {
      const original = w[name];
      w[name] = function (...args) { bump(); return original.apply(this, args); };
    }
    // Work the page starts because of the action: short timers, fetches and XHRs.
    const track = () => { const t = {}; st.live.add(t);
                          return () => { st.live.delete(t); st.last = now(); }; };
    const setT = w.setTimeout, clearT = w.clearTimeout, timers = new Map();
    w.setTimeout = function (fn, delay, ...args) {
      if (typeof fn !== 'function' || Number(delay || 0) > timerCap) {
        return setT.call(this, fn, delay, ...args);
      }
      const done = track();
      const id = setT.call(this, function (...a) { timers.delete(id); done();
                                                   return fn.apply(this, a); }, delay, ...args);
      timers.set(id, done);
      return id;
    };
    w.clearTimeout = function (id) {
      const done = timers.get(id);
      if (done) { timers.delete(id); done(); }
      return clearT.call(this, id);
    };
    if (w.fetch) {
      const f = w.fetch;
      w.fetch = function (...args) {
        const done = track();
        const p = f.apply(this, args);
        p.then(done, done);
        return p;
      };
    }
    const send = XMLHttpRequest.prototype.send;
    XMLHttpRequest.prototype.send = function (...args) {
      const done = track();
      this.addEventListener('loadend', done);
      return send.apply(this, args);
    };
  }
  st.token = Math.random();
  st.changes = 0;
  st.last = performance.now();
  st.live.clear();
  st.clicked = null;
  st.invalid = null;
  st.popups = w.__agentPopups || 0;
  return {token: st.token, url: location.href};
}
"""

_CHECK_JS = """
async ({token, url, waitMs, quietMs, click}) => {
  const st = window.__agentEffects;
  if (!st || st.token !== token) return {state: 'navigated'};
  const editable = (el) => el instanceof Element && (el.isContentEditable
    || el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement
    || (el instanceof HTMLInputElement && !['button', 'submit', 'reset', 'image', 'checkbox',
        'radio', 'hidden'].includes(el.type)));
  const checkedRadio = (el) => el instanceof HTMLInputElement && el.type === 'radio' && el.checked;
  const current = (el) => el instanceof Element && (el.closest(
    '[aria-current]:not([aria-current="false"]), [aria-selected="true"]') !== null
    || checkedRadio(el) || checkedRadio(el.closest('label') && el.closest('label').control));
  const until = performance.now() + waitMs;
  for (;;) {
    // The browser refused to submit a form with an invalid field: nothing will come of it,
    // whatever the page shows about the field.
    if (st.invalid && location.href === url) return {state: 'invalid', invalid: st.invalid};
    // A URL the page pushed is an effect; what the router renders for it may come later.
    const changed = location.href !== url || st.changes > 0
      || (window.__agentPopups || 0) > st.popups
      || (click && !st.invalid && (editable(st.clicked) || current(st.clicked)
          || (st.clicked instanceof Element && st.clicked.closest('label') !== null
              && editable(document.activeElement))));
    const quiet = st.live.size === 0 && performance.now() - st.last >= quietMs;
    if (changed && quiet) return {state: 'done'};
    if (performance.now() >= until) {
      return {state: changed ? 'busy' : 'none', invalid: st.invalid, pending: st.live.size};
    }
    await new Promise((resolve) => st.wait(resolve, 15));
  }
}
"""


class _Watch:
    """Events Playwright reports outside the page: navigations it starts, downloads.

    A navigation counts as an effect once it is under way, but the step waits for it to
    land: its new document committed in the tab (``framenavigated``), or its request
    ended without one (refused, failed, a 204, a download). Until then the tab still
    shows the old document, already loaded, and the next step would read or act on the
    page the action left (a login form posting, then redirecting, on a busy machine)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.navigating = False
        self.downloaded = False
        self._landed = False
        self._ended = False

    @property
    def arrived(self) -> bool:
        """The navigation started meanwhile has landed, or ended without a document."""
        return self._landed or self._ended

    def _main_navigation(self, request: Request) -> bool:
        try:
            return request.is_navigation_request() and request.frame == self.page.main_frame
        except PlaywrightError:  # its frame is gone
            return False

    def _on_request(self, request: Request) -> None:
        try:
            if request.is_navigation_request() and request.frame == self.page.main_frame:
                self.navigating = True
        except PlaywrightError:
            self.navigating = True

    def _on_request_end(self, request: Request) -> None:
        # A redirect's hop ends as its next request starts: that one is still on its way.
        if self._main_navigation(request) and request.redirected_to is None:
            self._ended = True

    def _on_frame_navigated(self, frame: Frame) -> None:
        if frame == self.page.main_frame:
            self._landed = True

    def _on_download(self, download: Download) -> None:
        self.downloaded = True

    _EVENTS = (
        ("request", "_on_request"),
        ("requestfinished", "_on_request_end"),
        ("requestfailed", "_on_request_end"),
        ("framenavigated", "_on_frame_navigated"),
        ("download", "_on_download"),
    )

    def __enter__(self) -> _Watch:
        for event, handler in self._EVENTS:
            self.page.on(event, getattr(self, handler))
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            for event, handler in self._EVENTS:
                self.page.remove_listener(event, getattr(self, handler))
        except PlaywrightError:
            pass  # the page is gone


def _context_gone(exc: PlaywrightError) -> bool:
    message = exc.message or ""
    return any(s in message for s in ("context was destroyed", "Target page", "closed", "detached"))


# Besides the main frame, at most this many child frames are watched (as observed).
MAX_FRAMES = 5


def expect_effect(
    s: Session,
    what: str,
    act: Callable[[], None],
    *,
    click: bool,
    frames: Sequence[Frame] = (),
) -> None:
    """Run ``act`` (the action named ``what``) and wait for its effect; fail without one.

    ``click``: the action is a click, for which focusing a field or pressing the item
    that is already current is effect enough (see the module docstring). ``frames``:
    child frames the action may change too (the main frame is always watched)."""
    page = s.page
    budget = s.budget
    s.typing_mark = None  # marking again resets what it would compare with
    watched: list[tuple[Frame, dict[str, Any]]] = []
    for frame in [page.main_frame, *[f for f in frames if f != page.main_frame][:MAX_FRAMES]]:
        try:
            watched.append((frame, run_script(frame, _MARK_JS, TIMER_CAP_MS, budget=budget)))
        except PlaywrightError:
            continue  # a frame that cannot run scripts (navigating, a PDF viewer) is not watched
    if not watched:
        act()
        return
    tabs = len(s.context.pages)
    with _Watch(page) as watch:
        act()
        # The effect gets its own action timeout: finding the element may have used one.
        outcome = _wait(s, watch, watched, tabs, time.monotonic(), click)
    if outcome is not None:
        raise ActionFailed(_nothing_happened(what, outcome, round(budget.action_timeout_ms)))


def _wait(
    s: Session,
    watch: _Watch,
    watched: list[tuple[Frame, dict[str, Any]]],
    tabs: int,
    started: float,
    click: bool,
) -> dict[str, Any] | None:
    """None once the effect showed (or is showing); else the page's last state."""
    page, budget = s.page, s.budget
    first_effect: float | None = None
    state: dict[str, Any] = {}
    while True:
        if page.is_closed() or watch.downloaded:
            return None
        if len(s.context.pages) != tabs or (s.downloads is not None and s.downloads.pending):
            return None
        now = time.monotonic()
        left = budget.action_timeout_ms - (now - started) * 1000
        if watch.navigating:
            # An effect already; wait for its document to land (see ``_Watch``), for as
            # long as the action timeout lasts: a slow server's page is still loading.
            if watch.arrived or left <= 0:
                return None
            try:
                page.wait_for_timeout(min(CHUNK_MS, left, budget.timeout_ms()))
            except PlaywrightError as exc:
                if _context_gone(exc):
                    return None
                raise
            budget.check()
            continue
        if first_effect is not None:
            left = min(left, SETTLE_CAP_MS - (now - first_effect) * 1000)
        if left <= 0:
            return None if first_effect is not None else state
        chunk = min(CHUNK_MS, left, budget.timeout_ms())
        states = []
        # Child frames are asked how they are at once; the main frame waits a chunk.
        for n, (frame, mark) in enumerate(reversed(watched)):
            wait_ms = chunk if n == len(watched) - 1 else 0
            arg = {**mark, "waitMs": wait_ms, "quietMs": QUIET_MS, "click": click}
            try:
                states.append(frame.evaluate(_CHECK_JS, arg))
            except PlaywrightError as exc:
                if _context_gone(exc):
                    return None  # a new document replaced the one acted on: navigated
                raise
        kinds = {st["state"] for st in states}
        if kinds & {"navigated", "done"}:
            return None
        refused = [st for st in states if st["state"] == "invalid"]
        if refused:
            return refused[0]
        if "busy" in kinds and first_effect is None:
            first_effect = time.monotonic()
        state = states[-1]
        budget.check()


def note_typing(s: Session) -> None:
    """Mark the page before text goes into a field, so that an Enter right after can
    tell whether the typing changed the page already (a list filtered as you type)."""
    frame = s.page.main_frame
    try:
        s.typing_mark = (frame, run_script(frame, _MARK_JS, TIMER_CAP_MS, budget=s.budget))
    except PlaywrightError:
        s.typing_mark = None


def typing_changed_page(s: Session) -> bool:
    """Whether the page changed since ``note_typing``: then Enter need not change it."""
    typed, s.typing_mark = s.typing_mark, None
    if typed is None or typed[0] is not s.page.main_frame:
        return False
    frame, mark = typed
    try:
        state = frame.evaluate(_CHECK_JS, {**mark, "waitMs": 0, "quietMs": 0, "click": False})
    except PlaywrightError:
        return False
    return bool(state["state"] != "none")


def _nothing_happened(what: str, state: dict[str, Any], timeout_ms: int) -> str:
    invalid = state.get("invalid")
    if invalid:
        field = f'"{invalid["field"]}"' if invalid.get("field") else "a field"
        reason = f": {invalid['message']}" if invalid.get("message") else ""
        return f"could not {what}: the form was not submitted, {field} is not valid{reason}"
    waited = " (requests it started are still running)" if state.get("pending") else ""
    return (
        f"could not {what}: nothing happened within {timeout_ms} ms{waited}; the page "
        "neither navigated nor changed"
    )
