"""Extracting data from a page: its text, Markdown or HTML, or a JSON shape a caller
asked for.

Shapes are fixed so that the rules planner can offer them without a model:
links, headings, tables (rows of header -> cell), form fields (label -> value)
and lists. An LLM planner reads the JSON and reshapes it in its answer.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

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

# The main content (its <main>, else its only <article>, else its body), copied without
# what is not shown (hidden menus, scripts, styles, templates), with links and images
# made absolute so that they still work outside the page. Past MAX_DEPTH levels an
# element is copied as its text: the converter recurses once per level. A "|" in a table
# cell is escaped so that it stays in its cell.
_MAIN_HTML_JS = """
({max, depth}) => {
  if (!document.body) return {html: '', cut: false};
  const has = (el) => el && el.innerText && el.innerText.trim();
  const articles = document.querySelectorAll('article');
  const main = [document.querySelector('main'), document.querySelector('[role="main"]'),
                articles.length === 1 ? articles[0] : null].find(has) || document.body;
  const skip = new Set(['script', 'style', 'noscript', 'template', 'svg', 'canvas', 'iframe']);
  const shown = (el) => el.checkVisibility({visibilityProperty: true, opacityProperty: true})
    || getComputedStyle(el).display === 'contents';
  const copy = (el, level, inCell) => {
    const out = el.cloneNode(false);
    const tag = el.localName;
    if (tag === 'a' && el.href) out.setAttribute('href', el.href);
    if (tag === 'img') {
      // An inline image's data URL would be most of the text.
      out.setAttribute('src', el.src && !el.src.startsWith('data:') ? el.src : '');
    }
    const cell = inCell || tag === 'td' || tag === 'th';
    if (level >= depth) {
      out.textContent = el.innerText || '';
      return out;
    }
    for (const child of el.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) {
        out.appendChild(document.createTextNode(
          cell ? child.data.replace(/\\|/g, '\\\\|') : child.data));
      } else if (child.nodeType === Node.ELEMENT_NODE && !skip.has(child.localName)
                 && shown(child)) {
        out.appendChild(copy(child, level + 1, cell));
      }
    }
    return out;
  };
  const html = copy(main, 0, false).outerHTML;
  if (html.length <= max) return {html, cut: false};
  const end = html.lastIndexOf('<', max);  // not in the middle of a tag
  return {html: html.slice(0, end > 0 ? end : max), cut: true};
}
"""
_HTML_JS = """
(max) => {
  const html = (document.doctype ? new XMLSerializer().serializeToString(document.doctype)
                + '\\n' : '') + document.documentElement.outerHTML;
  return {html: html.slice(0, max), cut: html.length > max};
}
"""
# What is read of a page before converting it, so that a huge page stays a bounded cost
# (1 to 2.5 s to convert on one core of the 2-core test machine).
READ_CHARS = 500_000
MAX_DEPTH = 100

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
        read = run_script(page, _HTML_JS, DOCUMENT_CHARS, budget=budget)
        return _document(str(read["html"]), cut=bool(read["cut"]))
    if shape == "markdown":
        args = {"max": READ_CHARS, "depth": MAX_DEPTH}
        read = run_script(page, _MAIN_HTML_JS, args, budget=budget)
        markdown = to_markdown(str(read["html"]))
        budget.check()
        # A page cut before converting: its Markdown ends early, and says where.
        return _document(markdown, cut=bool(read["cut"]), of=f"{READ_CHARS:,} characters of HTML")
    data = run_script(page, _SHAPES_JS, {"shape": shape, "max": MAX_ITEMS}, budget=budget)
    if not data:
        return None
    return json.dumps(data, ensure_ascii=False, indent=2)


def _code_language(pre: Any) -> str | None:
    """A code block's language, from its ``language-x`` class or its code element's."""
    for el in (pre, pre.find("code")):
        for name in (el.get("class") or []) if el is not None else []:
            if name.startswith(("language-", "lang-")):
                return str(name.split("-", 1)[1]) or None
    return None


def to_markdown(html: str) -> str:
    """``html`` as Markdown: ATX headings (``#``), ``-`` bullets, pipe tables (the first
    row as the header when none is marked), fenced code with its language, and no run of
    more than one blank line outside code."""
    text = markdownify(
        html,
        heading_style="ATX",
        bullets="-",
        escape_misc=False,
        table_infer_header=True,
        code_language_callback=_code_language,
    )
    out: list[str] = []
    fenced = False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:
            # Two spaces at the end are a line break (<br>); other trailing blanks go.
            line = line if re.fullmatch(r".*\S {2}", line) else line.rstrip()
            if not line and out and not out[-1]:
                continue
        out.append(line)
    return "\n".join(out).strip()


def _document(text: str, *, cut: bool = False, of: str = "") -> str | None:
    """``text`` cut at DOCUMENT_CHARS; a cut, here or before (at ``of``), says so."""
    if not text.strip():
        return None
    if len(text) > DOCUMENT_CHARS:
        text, cut, of = text[:DOCUMENT_CHARS], True, ""
    return f"{text}\n… (cut at {of or f'{DOCUMENT_CHARS:,} characters'})" if cut else text
