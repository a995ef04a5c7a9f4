"""The ``answer`` action: read the page, and a few more of the site, for a question.

The ranking is ``answer``'s (pure); this module reads pages and moves between
them. When the current page has no passage good enough, the agent follows the
link on the same site whose text or path best matches the question, or, when no
link does, types the question's words into the site's search box; at most
``MAX_HOPS`` times. Then it fails, saying what it looked for and where.
"""

from __future__ import annotations

import dataclasses
import re
import time
from typing import TYPE_CHECKING, Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from nodes.agent import actions as a
from nodes.agent.act import interact
from nodes.agent.act.effects import expect_effect
from nodes.agent.act.handlers import open_url
from nodes.agent.loop.script import run_script
from nodes.agent.observation.summary import collapse_whitespace
from nodes.agent.questions.passages import (
    Collection,
    Link,
    PageContent,
    Question,
    find_answer,
    parse_question,
    rank_links,
)
from shared.errors import ActionFailed

if TYPE_CHECKING:
    from nodes.agent.loop.session import Session

# Pages visited besides the first, by link or by the site's search.
MAX_HOPS = 3
MAX_TEXT_CHARS = 200_000
# Links tried in turn when the best ones do not open as pages.
MAX_LINK_TRIES = 3
# How long a search results page may take to show results after it loaded.
SEARCH_SETTLE_MS = 3000

_SEARCH_BOX = (
    "input[type=search], [role=searchbox], input[name=q], input[name=query], "
    "input[name=search], input[name=s], input[placeholder*=search i], input[aria-label*=search i]"
)

# innerText keeps only rendered text and puts each block on its own line; a table's
# rows come as tab-separated lines, which the labelled rows below replace.
_CONTENT_JS = """
({max, search}) => {
  const clean = (s) => (s || '').replace(/\\s+/g, ' ').trim();
  const shown = (el) => el.checkVisibility();
  const meta = document.querySelector('meta[name="description" i]');
  const headings = [];
  const collections = [];
  let heading = '';
  const context = (el, own) => {
    const before = el.previousElementSibling;
    const lead = before && !/^(UL|OL|TABLE|H\\d)$/.test(before.tagName)
      && clean(before.innerText).length <= 120 ? clean(before.innerText) : '';
    return [heading, el.getAttribute('aria-label'), own, lead].filter(Boolean).join(' — ');
  };
  // An item's text, with a struck-through price marked as the old one ("(was $1,499)").
  const itemText = (el) => {
    let text = el.innerText || '';
    for (const old of el.querySelectorAll('del, s, strike')) {
      const was = (old.innerText || '').trim();
      if (was) text = text.replace(was, ' (was ' + was + ') ');
    }
    // A link cut short ("A Light in the ...") by its title ("A Light in the Attic").
    for (const link of el.querySelectorAll('a[title]')) {
      const cut = clean(link.innerText);
      const start = cut.replace(/\\s*(?:\\.\\.\\.|…)$/, '');
      const full = clean(link.title);
      if (start && start !== cut && full.startsWith(start)) text = text.replace(cut, full);
    }
    // What a button does ("Add to basket", "Compare") is no part of the item; a disabled
    // one says its state ("Sold out") and stays.
    for (const b of el.querySelectorAll('button, input[type=submit], input[type=button]')) {
      const said = clean(b.innerText || b.value);
      if (said && said.length <= 30 && said.length * 3 < text.length && !b.disabled
          && b.getAttribute('aria-disabled') !== 'true') text = text.replace(said, ' ');
    }
    // Two inline elements side by side with no space between run together in innerText
    // ("Developer Tools" "Open Source" as "Developer ToolsOpen Source", tags "proxmox"
    // "zfs" as "proxmoxzfs"): a space where a letter meets a letter. Not between digits
    // or signs, where a price is written in parts ("28" "." "80").
    for (const a of el.querySelectorAll('*')) {
      const b = a.nextSibling;
      if (!b || b.nodeType !== 1) continue;
      const left = clean(a.innerText);
      const right = clean(b.innerText);
      if (!/\\p{L}$/u.test(left) || !/^\\p{L}/u.test(right)) continue;
      if (!getComputedStyle(a).display.startsWith('inline')
          || !getComputedStyle(b).display.startsWith('inline')) continue;
      text = text.replace(left + right, left + ' ' + right);
    }
    return clean(text);
  };
  // A list in the page's navigation (a sidebar's categories, a menu) is not what the
  // page lists.
  const inNav = (el) => !!el.closest(
    'nav, aside, header, footer, [role=navigation], [role=banner], [role=contentinfo],'
    + ' [role=complementary], [role=tablist], [role=menubar], [role=menu]');
  // A layout table that gives each record a few rows (Hacker News: a story's title row,
  // then its points and comments): the rows of one record as one item, when the same
  // kind of row starts a record every 2 or 3 rows.
  const records = (trs) => {
    const full = trs.filter((r) => clean(r.innerText));
    const kind = (r) => (r.getAttribute('class') || '').trim() + '/' + r.cells.length;
    const starts = full.map((r, i) => (kind(r) === kind(full[0]) ? i : -1)).filter((i) => i >= 0);
    if (starts.length < 3) return null;
    const gap = starts[1] - starts[0];
    if (gap < 2 || gap > 3 || starts.some((at, k) => k && at - starts[k - 1] !== gap)) return null;
    return starts.map((at) => full.slice(at, at + gap).map((r) => Array.from(r.cells)
      .map((c) => clean(c.innerText)).filter(Boolean).join(' | ')).join(' | '));
  };
  const articleParents = new Set();
  for (const el of document.querySelectorAll('h1, h2, h3, h4, h5, h6, ul, ol, table, article')) {
    if (!shown(el)) continue;
    if (/^H\\d$/.test(el.tagName)) {
      heading = clean(el.innerText);
      headings.push(heading);
      continue;
    }
    if (el.tagName === 'ARTICLE') {
      if (el.parentElement && !articleParents.has(el.parentElement)) {
        const items = Array.from(el.parentElement.children)
          .filter((c) => c.tagName === 'ARTICLE' && shown(c)).map(itemText);
        if (items.length > 1) {
          collections.push({context: context(el.parentElement, ''), items, nav: inNav(el)});
        }
        articleParents.add(el.parentElement);
      }
      continue;
    }
    if (el.tagName === 'TABLE') {
      // A table around a table that holds most of its text lays the page out (Hacker
      // News); the table inside is read on its own.
      const size = (t) => (t.innerText || '').length;
      if (Array.from(el.querySelectorAll('table')).some((t) => size(t) * 2 > size(el))) continue;
      const rows = Array.from(el.rows)
        .map((r) => Array.from(r.cells).map((c) => clean(c.innerText)));
      const first = el.rows[0];
      const hasHead = (el.tHead && el.tHead.rows.length)
        || (first && Array.from(first.cells).every((c) => c.tagName === 'TH'));
      // Column names as written: innerText would give them in CSS capitals.
      const head = hasHead
        ? (rows.shift(), Array.from(first.cells).map((c) => clean(c.textContent))) : null;
      // A row of one cell across a table of several columns heads a group of rows
      // (Roundup's "critical"): it is not one of the items.
      const items = rows.filter((r) => r.some(Boolean) && !(r.length === 1 && head
        && head.length > 1)).map((r) => r
        .map((c, i) => (c && head && head[i] ? head[i] + ': ' : '') + c).filter(Boolean)
        .join(' | '));
      const caption = el.caption ? clean(el.caption.innerText) : '';
      const grouped = head ? null : records(Array.from(el.rows));
      if (grouped) {
        collections.push({context: context(el, caption), items: grouped, nav: inNav(el)});
        continue;
      }
      // The column names are in each row already ("Price: 12").
      // A table of one row and no header lays out a box (a job's card): its cells are
      // one passage, not a row of a list.
      collections.push({context: context(el, caption), items, table: true,
                        box: !head && items.length < 2});
      continue;
    }
    const items = Array.from(el.children).filter((c) => c.tagName === 'LI' && shown(c))
      .map(itemText).filter(Boolean);
    if (items.length) collections.push({context: context(el, ''), items, nav: inNav(el)});
  }
  // The heading before an element in the page's order (for what is found after the walk).
  const headingBefore = (el) => {
    for (let node = el; node && node !== document.body; node = node.parentElement) {
      for (let sib = node.previousElementSibling; sib; sib = sib.previousElementSibling) {
        if (/^H\\d$/.test(sib.tagName)) return clean(sib.innerText);
        const inner = sib.querySelectorAll('h1, h2, h3, h4, h5, h6');
        if (inner.length) return clean(inner[inner.length - 1].innerText);
      }
    }
    return '';
  };
  // Cards: a run of three or more siblings mostly alike (tag and first class), mostly
  // with a price, as shops lay out their products in <div>s.
  const money = /[$€£¥₹]\\s?\\d|\\d\\s?(?:[$€£¥₹]|EUR|USD|GBP)\\b/;
  for (const parent of document.querySelectorAll('div, section, main')) {
    const kids = Array.from(parent.children);
    if (kids.length < 3 || kids.length > 300 || articleParents.has(parent)) continue;
    const kind = (c) => c.tagName + '.' + (c.getAttribute('class') || '').trim().split(/\\s+/)[0];
    const counts = new Map();
    for (const c of kids) counts.set(kind(c), (counts.get(kind(c)) || 0) + 1);
    const [common, n] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
    if (/^(LI|ARTICLE|TR|SCRIPT|STYLE|TEMPLATE)[.]/.test(common) || n < 3
        || n * 3 < kids.length * 2) continue;
    // A card is small: a box of hundreds of elements is a section of the page.
    if (kids.some((c) => kind(c) === common && c.getElementsByTagName('*').length > 200)) continue;
    const alike = kids.filter((c) => kind(c) === common && shown(c));
    const priced = alike.filter((c) => money.test(c.textContent || ''));
    // Or records without prices (quotes, search results, posts): boxes of one class,
    // each of a few elements and some words.
    const unpriced = /[.]./.test(common) && alike.every((c) => c.getElementsByTagName('*').length
      <= 100 && clean(c.innerText).length >= 20 && clean(c.innerText).length <= 1000);
    if (priced.length * 3 < alike.length * 2 && !unpriced) continue;
    const items = alike.map(itemText).filter(Boolean);
    const before = parent.previousElementSibling;
    const lead = before && !money.test(before.textContent || '')
      && clean(before.innerText).length <= 120 ? clean(before.innerText) : '';
    const about = [headingBefore(parent), parent.getAttribute('aria-label'), lead]
      .filter(Boolean);
    if (items.length >= 3) {
      collections.push({context: about.join(' — '), items, nav: inNav(parent)});
    }
  }
  // A record's edit form says its values in its fields ("Email address" on a user's
  // page): each filled field, with its label, is a labelled row.
  const fields = [];
  for (const f of document.querySelectorAll('input, select, textarea')) {
    if (!shown(f) || /^(hidden|password|submit|button|reset|checkbox|radio|file|image|search)$/i
      .test(f.type || '')) continue;
    const value = f.tagName === 'SELECT'
      ? clean(f.selectedOptions[0] ? f.selectedOptions[0].text : '') : clean(f.value);
    if (!value || /^-.*-$/.test(value)) continue;
    const label = clean((f.labels && f.labels[0] ? f.labels[0].innerText : '')
      || f.getAttribute('aria-label') || f.placeholder || f.name).replace(/:$/, '');
    if (label) fields.push(label + ': ' + value.slice(0, 300));
  }
  if (fields.length) collections.push({context: 'form', items: fields.slice(0, 100), table: true});
  const links = Array.from(document.querySelectorAll('a[href]')).filter(shown).slice(0, 500)
    .map((l) => ({text: clean(l.innerText || l.getAttribute('aria-label') || l.title),
                  url: l.href}));
  const box = Array.from(document.querySelectorAll(search)).find(shown);
  return {
    title: document.title || '',
    description: meta ? clean(meta.getAttribute('content')) : '',
    text: (document.body ? document.body.innerText : '').slice(0, max),
    headings, collections: collections.slice(0, 100), links, search: !!box,
  };
}
"""


def read_content(s: Session) -> tuple[PageContent, bool]:
    """The page as ``answer`` reads it, and whether it has a search box."""
    raw: dict[str, Any] = run_script(
        s.page, _CONTENT_JS, {"max": MAX_TEXT_CHARS, "search": _SEARCH_BOX}, budget=s.budget
    )
    text = "\n".join(
        line if "\t" in line else collapse_whitespace(line)
        for line in str(raw.get("text") or "").splitlines()
    )
    content = PageContent(
        url=s.page.url,
        title=collapse_whitespace(str(raw.get("title") or "")),
        text=text,
        headings=tuple(str(h) for h in raw.get("headings") or ()),
        collections=tuple(
            Collection(
                str(c.get("context") or ""),
                tuple(str(i) for i in c.get("items") or ()),
                table=bool(c.get("table")),
                nav=bool(c.get("nav")),
                box=bool(c.get("box")),
            )
            for c in raw.get("collections") or ()
        ),
        links=tuple(
            Link(str(k.get("text") or ""), str(k.get("url") or "")) for k in raw.get("links") or ()
        ),
        description=str(raw.get("description") or ""),
    )
    return content, bool(raw.get("search"))


def _open_first(s: Session, links: list[Link], visited: list[str]) -> bool:
    """Open the first of ``links`` that opens as a page; one that does not (a file, an
    error) is noted as visited and the next one tried."""
    for link in links[:MAX_LINK_TRIES]:
        try:
            open_url(s, link.url)
            return True
        except PlaywrightTimeoutError:
            raise
        except PlaywrightError:
            s.budget.check()
            visited.append(link.url)
    return False


# What a results page says around the words searched for: "Results for "x y"", "No
# results found for x y", "Showing 1-10 of 42 results for: x y", "You searched for x y".
_ECHO_WORDS = frozenset(
    "results result for search searched searching searches you your showing show shown no"
    " found matching match matches matched about of items item hits query did not any sorry"
    " we couldn't couldnt find nothing try again page pages all in top related".split()
)


def _echoes(line: str, terms: str) -> bool:
    """Whether a line of a results page only repeats the words searched for. Such a line
    holds every word of the question the search typed, so it would pass for an answer."""
    pattern = r"\W*".join(re.escape(word) for word in terms.split())
    rest, n = re.subn(pattern, " ", line, flags=re.IGNORECASE)
    if not n:
        return False
    words = re.findall(r"[^\W_]+(?:'[^\W_]+)?", rest.lower())
    return all(word in _ECHO_WORDS or word.isdigit() for word in words)


def without_echo(content: PageContent, terms: str) -> PageContent:
    """A results page without the lines that repeat the search's own words."""
    if not terms.strip():
        return content
    kept = [line for line in content.text.splitlines() if not _echoes(line, terms)]
    return dataclasses.replace(
        content,
        title="" if _echoes(content.title, terms) else content.title,
        text="\n".join(kept),
        headings=tuple(h for h in content.headings if not _echoes(h, terms)),
    )


def _search(s: Session, question: Question) -> str:
    """Type the question's words into the site's search box; the words typed."""
    terms = " ".join(question.keywords)
    interact.type_text(s.page, "search", terms, s.budget)
    box = s.page.locator(":focus").or_(s.page.locator("body")).last
    # Results may render late (an asynchronous widget): wait for the page to change.
    expect_effect(
        s,
        f'search for "{terms}"',
        lambda: box.press("Enter", timeout=s.budget.timeout_ms()),
        click=False,
    )
    try:
        s.page.wait_for_load_state("load", timeout=s.budget.timeout_ms())
    except PlaywrightTimeoutError:
        s.budget.check()
    return terms


def _read_results(
    s: Session, question: Question, visited: list[str], terms: str
) -> tuple[PageContent, bool]:
    """A search results page, once it shows something to go on: results often arrive
    after the page has loaded, from a script. Its echo of the words searched for is left
    out ("Results for "humidity right"" is no answer to "what is the humidity right now")."""
    until = time.monotonic() + SEARCH_SETTLE_MS / 1000
    while True:
        content, has_search = read_content(s)
        content = without_echo(content, terms)
        if time.monotonic() >= until or find_answer(question, content) is not None:
            return content, has_search
        if rank_links(question, content, [*visited, content.url]):
            return content, has_search
        s.page.wait_for_timeout(s.budget.timeout_ms(cap_ms=250))


def answer_question(s: Session, action: a.Answer) -> str:
    question = parse_question(action.question)
    visited: list[str] = []
    searched = just_searched = False
    terms = ""
    for hop in range(MAX_HOPS + 1):
        content, has_search = (
            _read_results(s, question, visited, terms) if just_searched else read_content(s)
        )
        just_searched = False
        visited.append(content.url)
        found = find_answer(question, content)
        if found is not None:
            return found.render()
        if hop == MAX_HOPS:
            break
        links = rank_links(question, content, visited)
        if links and _open_first(s, links, visited):
            continue
        if has_search and not searched and question.keywords:
            searched = just_searched = True
            try:
                terms = _search(s, question)
            except ActionFailed:
                break  # the search showed nothing: the error below says what was looked for
        else:
            break
    others = [u for u in dict.fromkeys(visited) if u != visited[0]]
    also = f" (also looked at {', '.join(others)})" if others else ""
    raise ActionFailed(f'could not find an answer to "{action.question}" on {visited[0]}{also}')
