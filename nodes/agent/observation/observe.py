"""Looking at the current tab: URL, title, short text, indexed elements, frames, tabs.

One script call per frame (see ``distill_js``). Observing must never end a
run: a page caught mid-navigation is looked at again once, and after that the
planner gets what could be read (at least the URL) rather than an exception.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from playwright.sync_api import Error as PlaywrightError

from nodes.agent.loop.script import run_script
from nodes.agent.loop.session import Session
from nodes.agent.observation.distill_js import DISTILL_JS
from nodes.agent.types import Element, Observation, Tab

if TYPE_CHECKING:
    from playwright.sync_api import Frame

MAX_ELEMENTS = 200
MAX_FRAMES = 5
TEXT_CHARS = 2000
FRAME_TEXT_CHARS = 500


def _distill(frame: Frame, session: Session, start: int) -> dict | None:
    budget = session.budget
    args = {"start": start, "limit": MAX_ELEMENTS - start + 1, "textLimit": TEXT_CHARS}
    try:
        return run_script(frame, DISTILL_JS, args, budget=budget)
    except PlaywrightError:
        budget.check()
        return None


def _elements(raw: dict[str, Any], frame_number: int) -> list[Element]:
    return [
        Element(
            index=int(e["index"]),
            role=str(e["role"]),
            name=str(e["name"]),
            tag=str(e["tag"]),
            frame=frame_number,
            in_view=bool(e.get("in_view", True)),
            state=dict(e.get("state") or {}),
        )
        for e in raw.get("elements") or []
    ]


def _tabs(session: Session) -> tuple[Tab, ...]:
    tabs = session.tabs()
    if len(tabs) < 2:
        return ()  # one tab: nothing to choose between, and titles cost a round trip each
    out = []
    for number, page in enumerate(tabs, start=1):
        try:
            title = page.title()
        except PlaywrightError:
            title = ""
        out.append(Tab(index=number, url=page.url, title=title, current=page is session.page))
    return tuple(out)


def observe(
    session: Session,
    *,
    steps_done: int,
    last_error: str | None = None,
    extracted: Sequence[str] = (),
    max_steps: int = 0,
) -> Observation:
    main = _distill(session.page.main_frame, session, 1) or {}
    if main.get("popups") or session.has_new_tabs():
        # The last action opened a tab (Chromium reports it a little late): look there.
        session.follow_tabs(expect_new=bool(main.get("popups")))
        main = _distill(session.page.main_frame, session, 1) or {}
    page = session.page
    elements = _elements(main, 0)
    session.element_frames = {e.index: page.main_frame for e in elements}
    frames: list[str] = []
    text = str(main.get("text") or "")
    for child in page.frames[1:]:
        if len(frames) >= MAX_FRAMES or len(elements) >= MAX_ELEMENTS:
            break
        if child.is_detached() or child.url in ("", "about:blank"):
            continue
        raw = _distill(child, session, len(elements) + 1)
        if not raw or not raw.get("elements"):
            continue
        frames.append(child.url)
        if raw.get("text"):
            text += f"\n[frame {len(frames)}] " + str(raw["text"])[:FRAME_TEXT_CHARS]
        found = _elements(raw, len(frames))
        elements.extend(found)
        session.element_frames.update({e.index: child for e in found})
    return Observation(
        url=page.url,
        steps_done=steps_done,
        title=str(main.get("title") or ""),
        text=text,
        elements=tuple(elements),
        more_elements=bool(main.get("more")) or len(elements) >= MAX_ELEMENTS,
        frames=tuple(frames),
        tabs=_tabs(session),
        scroll=dict(main.get("scroll") or {}),
        last_error=last_error,
        extracted=tuple(extracted),
        max_steps=max_steps,
        uploads=tuple(session.files),
    )
