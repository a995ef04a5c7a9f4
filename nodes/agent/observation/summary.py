"""Reading a page's title, description and main text, and shortening them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nodes.agent.loop.budget import Budget
from nodes.agent.loop.script import run_script

if TYPE_CHECKING:
    from playwright.sync_api import Page

MAX_TEXT_CHARS = 1500

# innerText only returns rendered text, so hidden menus and scripts are left out.
# <main>/<article> skip navigation and footers when the page marks them up.
_DIGEST_JS = """
() => {
  const meta = document.querySelector(
    'meta[name="description" i], meta[property="og:description" i]');
  const pick = (sel) => {
    const el = document.querySelector(sel);
    return el && el.innerText && el.innerText.trim() ? el.innerText : null;
  };
  const text = pick('main') || pick('[role="main"]') || pick('article')
    || (document.body ? document.body.innerText : '') || '';
  return {
    title: document.title || '',
    description: meta ? (meta.getAttribute('content') || '') : '',
    text: text,
  };
}
"""


@dataclass(frozen=True)
class PageDigest:
    url: str
    title: str
    description: str
    text: str  # whitespace collapsed, not shortened


def collapse_whitespace(text: str) -> str:
    """One space between words, one newline between non-empty lines."""
    lines = (re.sub(r"\s+", " ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def shorten(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    # End on a word boundary unless that would throw most of the text away.
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space > limit * 0.8:
        cut = cut[:space]
    return cut.rstrip() + "…"


def read_page(page: Page, budget: Budget) -> PageDigest:
    raw = run_script(page, _DIGEST_JS, budget=budget)
    return PageDigest(
        url=page.url,
        title=collapse_whitespace(str(raw.get("title") or "")),
        description=collapse_whitespace(str(raw.get("description") or "")),
        text=collapse_whitespace(str(raw.get("text") or "")),
    )


def format_summary(digest: PageDigest) -> str:
    head = [f"Title: {digest.title or '(untitled)'}"]
    if digest.description:
        head.append(f"Description: {digest.description}")
    body = shorten(digest.text)
    return "\n".join(head) + (f"\n\n{body}" if body else "")


def format_text(digest: PageDigest) -> str:
    return shorten(digest.text)
