"""Extracting data from a page: its text, Markdown or HTML, or a JSON shape a caller
asked for.

Shapes are fixed so that the rules planner can offer them without a model:
links, headings, tables (rows of header -> cell), form fields (label -> value)
and lists. An LLM planner reads the JSON and reshapes it in its answer.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from markdownify import markdownify

from nodes.agent.loop.budget import Budget
from nodes.agent.loop.script import run_script
from nodes.agent.observation.summary import read_page, shorten

if TYPE_CHECKING:
    from playwright.sync_api import Page

TEXT_CHARS = 6000
MAX_ITEMS = 100
# Markdown and HTML are documents, not answers to read at a glance: a longer cap, and a
# cut that says so.
DOCUMENT_CHARS = 100_000

# The main content (as the page digest picks it), copied without what is not shown
# (hidden menus, scripts, styles, templates), with links and images made absolute so
# that they still work outside the page.
_MAIN_HTML_JS = """
(max) => {
  const main = ['main', '[role="main"]', 'article']
    .map((sel) => document.querySelector(sel))
    .find((el) => el && el.innerText && el.innerText.trim()) || document.body;
  if (!main) return '';
  const skip = new Set(['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'SVG', 'CANVAS', 'IFRAME']);
  const copy = (el) => {
    const out = el.cloneNode(false);
    if (el.tagName === 'A' && el.href) out.setAttribute('href', el.href);
    if (el.tagName === 'IMG') {
      // An inline image's data URL would be most of the text.
      out.setAttribute('src', el.src && !el.src.startsWith('data:') ? el.src : '');
    }
    for (const child of el.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) out.appendChild(child.cloneNode(false));
      else if (child.nodeType === Node.ELEMENT_NODE && !skip.has(child.tagName.toUpperCase())
               && child.checkVisibility()) out.appendChild(copy(child));
    }
    return out;
  };
  return copy(main).outerHTML.slice(0, max);
}
"""
_HTML_JS = """
(max) => ((document.doctype ? new XMLSerializer().serializeToString(document.doctype) + '\\n'
           : '') + document.documentElement.outerHTML).slice(0, max)
"""
# What is read of a page before converting it, so that a huge page stays a bounded cost.
_READ_CHARS = 2_000_000

_SHAPES_JS = """
({shape, max}) => {
  const clean = (s) => (s || '').replace(/\\s+/g, ' ').trim();
  const shown = (el) => el.checkVisibility();
  const all = (sel) => Array.from(document.querySelectorAll(sel)).filter(shown).slice(0, max);
  if (shape === 'links') {
    return all('a[href]').map((a) => ({text: clean(a.innerText || a.getAttribute('aria-label')),
                                       url: a.href})).filter((l) => l.text);
  }
  if (shape === 'headings') {
    return all('h1, h2, h3, h4, h5, h6').map((h) => ({level: Number(h.tagName[1]),
                                                      text: clean(h.innerText)}));
  }
  if (shape === 'lists') {
    return all('ul, ol').map((l) => Array.from(l.children).map((li) => clean(li.innerText))
                                   .filter(Boolean)).filter((l) => l.length);
  }
  if (shape === 'fields') {
    const out = {};
    for (const el of all('input:not([type=hidden]):not([type=submit]):not([type=button]), '
                         + 'select, textarea')) {
      const name = clean((el.labels && el.labels[0] && el.labels[0].innerText)
        || el.getAttribute('aria-label') || el.placeholder || el.name || el.id);
      if (!name) continue;
      if (el.type === 'checkbox' || el.type === 'radio') {
        if (el.type === 'radio' && !el.checked) continue;
        out[name] = el.type === 'radio' ? el.value : el.checked;
      } else if (el.tagName === 'SELECT') {
        out[name] = Array.from(el.selectedOptions).map((o) => clean(o.label)).join(', ');
      } else {
        out[name] = el.type === 'password' ? '' : el.value;
      }
    }
    return out;
  }
  return all('table').map((table) => {
    const rows = Array.from(table.rows)
      .map((r) => Array.from(r.cells).map((c) => clean(c.innerText)));
    const head = table.tHead && table.tHead.rows.length ? rows.shift()
      : (table.rows.length && Array.from(table.rows[0].cells).every((c) => c.tagName === 'TH')
         ? rows.shift() : null);
    if (!head) return rows;
    const key = (h, i) => h || 'column ' + (i + 1);
    return rows.map((r) => Object.fromEntries(head.map((h, i) => [key(h, i), r[i] ?? ''])));
  });
}
"""


def extract(page: Page, shape: str, budget: Budget) -> str | None:
    """The page's ``shape`` as text or JSON; None when the page has none of it (an
    empty list would read as an answer)."""
    if shape == "text":
        return shorten(read_page(page, budget).text, TEXT_CHARS) or None
    if shape == "html":
        return _document(str(run_script(page, _HTML_JS, _READ_CHARS, budget=budget) or ""))
    if shape == "markdown":
        html = str(run_script(page, _MAIN_HTML_JS, _READ_CHARS, budget=budget) or "")
        return _document(to_markdown(html))
    data = run_script(page, _SHAPES_JS, {"shape": shape, "max": MAX_ITEMS}, budget=budget)
    if not data:
        return None
    return json.dumps(data, ensure_ascii=False, indent=2)


def to_markdown(html: str) -> str:
    """``html`` as Markdown: ATX headings (``#``), ``-`` bullets, tables as pipe tables,
    and no run of more than one blank line."""
    text = markdownify(html, heading_style="ATX", bullets="-", escape_misc=False)
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _document(text: str) -> str | None:
    if not text.strip():
        return None
    if len(text) <= DOCUMENT_CHARS:
        return text
    return text[:DOCUMENT_CHARS] + f"\n… (cut at {DOCUMENT_CHARS:,} characters)"
