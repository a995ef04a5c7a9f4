"""Typing into code editors and rich-text widgets, which are no input fields.

CodeMirror 5 hides the field a label names (the ``<textarea>`` it replaced) and takes
keys in a tiny off-screen textarea under its own display; CodeMirror 6, Monaco, Quill,
ProseMirror and plain ``contenteditable`` boxes have no field at all. ``find_editor``
finds the editor a label, aria-label, placeholder, title or nearby caption names; the
text goes in through the editor's own API where the page exposes one (CodeMirror 5's
``.CodeMirror.CodeMirror``, ``monaco.editor``, CodeMirror 6's view), else by focusing
it, selecting what it holds and inserting the text as a keyboard would. The step reads
the editor back and fails if the text is not there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from nodes.agent.loop.script import run_script
from shared.errors import ActionFailed

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from nodes.agent.loop.budget import Budget

_FIND_JS = """
(wanted) => {
  const norm = (s) => (s || '').replace(/\\s+/g, ' ').replace(/[\\s:*]+$/, '').trim().toLowerCase();
  const words = norm(wanted);
  for (const el of document.querySelectorAll('[data-agent-editor]')) {
    el.removeAttribute('data-agent-editor');
  }
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const roots = [];
  const selector = '.CodeMirror, .cm-editor, .monaco-editor, .ql-editor, .ProseMirror, '
    + '[contenteditable=""], [contenteditable=true], [contenteditable=plaintext-only]';
  for (const el of document.querySelectorAll(selector)) {
    // Document order: an editor comes before the editable parts inside it.
    if (visible(el) && !roots.some((r) => r.contains(el))) roots.push(el);
  }
  const namesOf = (root) => {
    const names = [];
    const inner = root.querySelector('[contenteditable], textarea');
    for (const el of [root, inner, root.previousElementSibling]) {
      if (!el) continue;
      names.push(el.getAttribute('aria-label'), el.getAttribute('title'),
                 el.getAttribute('placeholder'), el.getAttribute('data-placeholder'));
      if (el.tagName === 'TEXTAREA' && el !== inner) names.push(el.name, el.id);
      for (const id of (el.getAttribute('aria-labelledby') || '').split(/\\s+/)) {
        const label = id && document.getElementById(id);
        if (label) names.push(label.innerText);
      }
      for (const label of el.labels || []) names.push(label.innerText);
    }
    // A caption just before the editor or one of its first few ancestors.
    for (let el = root, depth = 0; el && depth < 3; el = el.parentElement, depth++) {
      const before = el.previousElementSibling;
      if (before && before.tagName !== 'TEXTAREA') {
        const text = norm(before.innerText);
        if (text && text.length <= 60) { names.push(text); break; }
      }
    }
    return names.filter(Boolean).map(norm);
  };
  const named = roots.map((root) => [root, namesOf(root)]);
  const exact = named.filter(([, names]) => names.includes(words)).map(([root]) => root);
  const loose = named.filter(([, names]) => names.some((n) => n.includes(words)))
    .map(([root]) => root);
  const found = exact[0] || (loose.length === 1 ? loose[0] : null);
  if (!found) return null;
  found.setAttribute('data-agent-editor', '1');
  if (found.CodeMirror && found.CodeMirror.setValue) return 'codemirror5';
  if (found.classList.contains('monaco-editor')) return 'monaco';
  if (found.classList.contains('cm-editor')) return 'codemirror6';
  return 'editable';
}
"""

# CodeMirror 6's view, from the DOM, put where a script says /* CM6_VIEW */: its content
# node holds a ``cmTile`` (as in @codemirror/view 6.43) or a ``cmView`` (older releases) whose
# ``view`` (or ``rootView.view``) is the EditorView.
_CM6_VIEW_JS = """
  const CM6_VIEW = (root) => {
    const content = root.querySelector('.cm-content');
    const tile = content && (content.cmTile || content.cmView);
    const view = tile && (tile.view || (tile.rootView && tile.rootView.view));
    return view && view.dispatch && view.state ? view : null;
  };"""

# Through the editor's API; false when the page does not expose one.
_SET_BY_API_JS = """
(root, [kind, text]) => {
  /* CM6_VIEW */
  if (kind === 'codemirror5') {
    const cm = root.CodeMirror;
    cm.setValue(text);
    if (cm.save) cm.save();  // into the <textarea> the form sends
    return true;
  }
  if (kind === 'monaco' && window.monaco && monaco.editor && monaco.editor.getEditors) {
    const editor = monaco.editor.getEditors().find((e) => root.contains(e.getDomNode())
      || e.getDomNode() === root || (e.getDomNode() && e.getDomNode().contains(root)));
    if (editor) { editor.setValue(text); return true; }
  }
  if (kind === 'codemirror6') {
    const view = CM6_VIEW(root);
    if (view) {
      view.dispatch({changes: {from: 0, to: view.state.doc.length, insert: text}});
      return true;
    }
  }
  return false;
}
""".replace("/* CM6_VIEW */", _CM6_VIEW_JS)

_SELECT_ALL_JS = """
(root) => {
  const target = root.matches('[contenteditable], [contenteditable] *') ? root
    : root.querySelector('.cm-content, [contenteditable], textarea') || root;
  target.focus();
  if (target.tagName === 'TEXTAREA') { target.select(); return; }
  const range = document.createRange();
  range.selectNodeContents(target);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}
"""

_READ_JS = """
(root, kind) => {
  /* CM6_VIEW */
  if (kind === 'codemirror5') return root.CodeMirror.getValue();
  if (kind === 'monaco' && window.monaco && monaco.editor && monaco.editor.getEditors) {
    const editor = monaco.editor.getEditors().find((e) => root.contains(e.getDomNode())
      || e.getDomNode() === root || (e.getDomNode() && e.getDomNode().contains(root)));
    if (editor) return editor.getValue();
  }
  // Monaco without its global: its lines, drawn in any order, each placed by its top.
  const lines = kind === 'monaco' && root.querySelector('.view-lines');
  if (lines) {
    return Array.from(lines.children)
      .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
      .map((line) => line.textContent.replace(/\\u00a0/g, ' ')).join('\\n');
  }
  // CodeMirror 6 draws only the lines near the viewport: its DOM misses the rest.
  const view = kind === 'codemirror6' && CM6_VIEW(root);
  if (view) return view.state.doc.toString();
  const content = root.querySelector('.cm-content') || root;
  return content.innerText;
}
""".replace("/* CM6_VIEW */", _CM6_VIEW_JS)


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def find_editor(page: Page, field: str, text: str, budget: Budget) -> Callable[[], None] | None:
    """How to type ``text`` into the editor ``field`` names, or None if there is none."""
    kind = run_script(page, _FIND_JS, field, budget=budget)
    if not kind:
        return None
    root = page.locator("[data-agent-editor]").first

    def type_into_editor() -> None:
        timeout = budget.timeout_ms()
        if not root.evaluate(_SET_BY_API_JS, [kind, text], timeout=timeout):
            root.evaluate(_SELECT_ALL_JS, timeout=timeout)
            if kind == "monaco":
                # Selecting its hidden textarea's text selects nothing in the editor.
                page.keyboard.press("ControlOrMeta+A")
            page.keyboard.insert_text(text)
        typed = str(root.evaluate(_READ_JS, kind, timeout=timeout) or "")
        if not _same(typed, text):
            raise ActionFailed(
                f'could not type into "{field}": the editor holds "{typed[:80]}" afterwards'
            )

    return type_into_editor
