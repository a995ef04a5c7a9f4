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
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

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

# The main content (its visible <main>, else its article when one holds most of the
# articles' text, else a #content/#main box, else its body), copied without what is not
# shown (hidden menus, scripts, styles, templates, aria-hidden text, skip links; text for
# screen readers stays: "4.6 out of 5 stars"; a closed <details> is opened), with links
# and images made absolute (a lazy image's data-src too) so that they still work outside
# the page. Code beside its line numbers is kept alone; a ticked box in a list says [x];
# a drop-down says its choice; inline elements laid out apart (buttons, flex items) are
# kept apart by a space. Past MAX_DEPTH levels an element is copied as its text: the
# converter recurses once per level. A "|" in a table cell is escaped so that it stays
# in its cell.
_MAIN_HTML_JS = """
({max, depth}) => {
  if (!document.body) return {html: '', cut: false};
  const seen = (el) => el && el.checkVisibility() && el.innerText && el.innerText.trim();
  const articles = Array.from(document.querySelectorAll('article')).filter(seen);
  const size = (el) => el.innerText.length;
  const total = articles.reduce((n, el) => n + size(el), 0);
  const lead = articles.find((el) => size(el) > total / 2);
  const main = [...document.querySelectorAll('main, [role="main"]')].find(seen) || lead
    || [...document.querySelectorAll('#content, #main-content, #main')].find(seen)
    || document.body;
  const skip = new Set(['script', 'style', 'noscript', 'template', 'svg', 'canvas', 'iframe']);
  const unread = new RegExp('(?:^|\\\\s)(?:skip-link|skip-to-content|linenos?'
    + '|line-numbers?-rows|hljs-ln-numbers|gutter)(?:\\\\s|$)');
  const inline = new Set(['span', 'a', 'label', 'b', 'strong', 'em', 'i', 'img', 'small',
                          'time', 'code', 'button']);
  const shown = (el, opened) => {
    if (el.hidden || el.getAttribute('aria-hidden') === 'true') return false;
    if (unread.test(el.getAttribute('class') || '')) return false;
    if (opened) return getComputedStyle(el).display !== 'none';
    return el.checkVisibility({visibilityProperty: true})
      || getComputedStyle(el).display === 'contents';
  };
  const source = (img) => {
    const lazy = img.getAttribute('data-src') || img.getAttribute('data-lazy-src');
    const src = lazy ? new URL(lazy, document.baseURI).href : img.currentSrc || img.src;
    return src && !src.startsWith('data:') ? src : '';
  };
  const copy = (el, level, inCell, opened) => {
    const tag = el.localName;
    if (tag === 'select') {  // its choice, not every option
      return document.createTextNode(el.selectedOptions.length
        ? ' ' + Array.from(el.selectedOptions).map((o) => o.label).join(', ') + ' ' : '');
    }
    if (tag === 'input' && el.type === 'checkbox' && el.closest('li')) {
      return document.createTextNode(el.checked ? '[x] ' : '[ ] ');
    }
    if (tag === 'table' && el.querySelector('pre')
        && (el.matches('.highlighttable, .hljs-ln')
            || el.querySelector('td.linenos, td.gutter, td.code'))) {
      // Code laid out in a table beside its line numbers: the code alone.
      const out = document.createElement('div');
      for (const pre of el.querySelectorAll('pre')) {
        if (!pre.closest('.linenos, .gutter')) {
          out.appendChild(copy(pre, level + 1, false, opened));
        }
      }
      return out;
    }
    const out = el.cloneNode(false);
    if (tag === 'a' && el.href) out.setAttribute('href', el.href);
    if (tag === 'img') out.setAttribute('src', source(el));
    if (tag === 'details') out.setAttribute('open', '');
    if (tag === 'pre') {  // its language, which the box around it may say (highlight-python)
      for (const box of [el, el.querySelector('code'), el.parentElement,
                         el.parentElement && el.parentElement.parentElement]) {
        const found = box && (box.getAttribute('class') || '').match(
          /(?:^|\\s)(?:language|lang|highlight-source|highlight)-([\\w+#.-]+)/);
        if (found && !['default', 'none', 'text', 'plaintext'].includes(found[1])) {
          out.setAttribute('class', 'language-' + found[1]);
          break;
        }
      }
    }
    const cell = inCell || tag === 'td' || tag === 'th';
    const open = opened || (tag === 'details' && !el.open);
    if (level >= depth) {
      out.textContent = el.innerText || el.textContent || '';
      return out;
    }
    for (const child of el.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) {
        out.appendChild(document.createTextNode(
          cell ? child.data.replace(/\\|/g, '\\\\|') : child.data));
      } else if (child.nodeType === Node.ELEMENT_NODE && !skip.has(child.localName)
                 && shown(child, open)) {
        out.appendChild(copy(child, level + 1, cell, open));
        if (inline.has(child.localName) && !open
            && getComputedStyle(child).display !== 'inline') {
          out.appendChild(document.createTextNode(' '));  // laid out apart: "Mon Tue"
        }
      }
    }
    return out;
  };
  const html = copy(main, 0, false, false).outerHTML;
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
RENDER_WAIT_MS = 2000

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
    if shape in ("html", "markdown"):
        _rendered(page, budget)
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


def _rendered(page: Page, budget: Budget) -> None:
    """Let a page that renders with scripts after its load event finish (the network
    quiet, at most RENDER_WAIT_MS): a document is read whole, not as its empty shell."""
    try:
        page.wait_for_load_state("networkidle", timeout=budget.timeout_ms(cap_ms=RENDER_WAIT_MS))
    except PlaywrightTimeoutError:
        budget.check()


def _code_language(pre: Any) -> str | None:
    """A code block's language, from the ``language-x`` class the page's copy gives it
    (from the block, its code element or the box around it: ``highlight-python``)."""
    for name in pre.get("class") or []:
        if name.startswith("language-"):
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
