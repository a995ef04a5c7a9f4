"""Vision: a screenshot of the viewport, with the element indices drawn on it, for the
LLM planner's observation.

Text alone misses what layout says (which button is the primary one, what an icon
means, a picture the task is about). With the template's ``vision`` set, each
observation carries a JPEG of the viewport on which every listed element of the main
frame wears its index in a small label, so that the model can tie what it sees to the
numbers it acts with. The labels are a temporary overlay (one ``pointer-events: none``
element, removed right after the shot); the page's own DOM is not otherwise touched.

The image is bounded: a JPEG at ``QUALITIES[0]`` first, at lower qualities while it is
larger than ``MAX_IMAGE_BYTES``, and none at all if it still is. A screenshot that
fails (a page in the middle of navigating) is skipped: the text observation still goes.

``vision``: ``off`` (the default: images cost tokens, and not every model takes them),
``on`` (a server that rejects images fails the task), ``auto`` (images until the server
rejects them, then text only).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from playwright.sync_api import Error as PlaywrightError

from nodes.agent.observation.distill_js import INDEX_ATTRIBUTE

if TYPE_CHECKING:
    from nodes.agent.loop.session import Session

VISION_MODES = ("off", "on", "auto")
MAX_IMAGE_BYTES = 300_000
QUALITIES = (70, 45, 25)
SHOT_TIMEOUT_MS = 5000
OVERLAY_ID = "__browsing_agent_labels"

_DRAW_JS = """
({attr, id}) => {
  const layer = document.createElement('div');
  layer.id = id;
  layer.style.cssText = 'position:fixed;inset:0;pointer-events:none;z-index:2147483647';
  for (const el of document.querySelectorAll('[' + attr + ']')) {
    const r = el.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0 || r.bottom < 0 || r.right < 0
        || r.top > innerHeight || r.left > innerWidth) continue;
    const box = document.createElement('div');
    box.style.cssText = 'position:fixed;border:2px solid #e5007d;box-sizing:border-box;'
      + `left:${r.left}px;top:${r.top}px;width:${r.width}px;height:${r.height}px`;
    const tag = document.createElement('span');
    tag.textContent = el.getAttribute(attr);
    tag.style.cssText = 'position:absolute;left:-2px;top:-2px;background:#e5007d;color:#fff;'
      + 'font:bold 11px/13px sans-serif;padding:0 3px';
    box.appendChild(tag);
    layer.appendChild(box);
  }
  document.documentElement.appendChild(layer);
}
"""
_REMOVE_JS = "(id) => { const layer = document.getElementById(id); if (layer) layer.remove(); }"


def viewport_image(session: Session) -> str | None:
    """A data URL of the labelled viewport, or None when none could be taken in bounds."""
    page = session.page
    budget = session.budget
    budget.check()
    try:
        page.evaluate(_DRAW_JS, {"attr": INDEX_ATTRIBUTE, "id": OVERLAY_ID})
        try:
            for quality in QUALITIES:
                jpeg = page.screenshot(
                    type="jpeg",
                    quality=quality,
                    timeout=budget.timeout_ms(SHOT_TIMEOUT_MS),
                    animations="disabled",
                )
                if len(jpeg) <= MAX_IMAGE_BYTES:
                    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()
            return None
        finally:
            page.evaluate(_REMOVE_JS, OVERLAY_ID)
    except PlaywrightError:
        budget.check()  # the deadline is the task's; anything else only costs the picture
        return None
