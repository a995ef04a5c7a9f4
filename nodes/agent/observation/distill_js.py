"""The script that distils one frame's DOM into indexed interactive elements.

It runs once per frame and step, so it does everything in one pass and returns
plain data: no element handles cross the wire. Each element it lists is tagged
with ``data-agent-idx`` so that an action by index finds it again with a CSS
selector. The walk removes the previous step's tags as it goes, so a stale
index matches nothing rather than two elements. It also reads (and resets)
how many tabs the document opened, so noticing a new tab costs no extra call.
"""

from __future__ import annotations

INDEX_ATTRIBUTE = "data-agent-idx"

DISTILL_JS = r"""
({start, limit, textLimit}) => {
  const ATTR = 'data-agent-idx';
  const ROLES = new Set(['button', 'link', 'checkbox', 'radio', 'switch', 'tab', 'menuitem',
    'menuitemcheckbox', 'menuitemradio', 'option', 'combobox', 'textbox', 'searchbox',
    'slider', 'spinbutton', 'listbox', 'treeitem']);
  const INPUT_ROLES = {checkbox: 'checkbox', radio: 'radio', submit: 'button', button: 'button',
    reset: 'button', image: 'button', range: 'slider', number: 'spinbutton',
    search: 'searchbox', file: 'button', color: 'button'};
  const clean = (s, n) => {
    s = (s || '').replace(/\s+/g, ' ').trim();
    return s.length > n ? s.slice(0, n - 1) + '…' : s;
  };
  const roleOf = (el) => {
    const explicit = (el.getAttribute('role') || '').split(' ')[0];
    if (ROLES.has(explicit)) return explicit;
    const tag = el.tagName;
    if (tag === 'A') return 'link';
    if (tag === 'BUTTON' || tag === 'SUMMARY') return 'button';
    if (tag === 'SELECT') return el.multiple ? 'listbox' : 'combobox';
    if (tag === 'TEXTAREA') return 'textbox';
    if (tag === 'INPUT') return INPUT_ROLES[(el.type || 'text').toLowerCase()] || 'textbox';
    if (el.isContentEditable) return 'textbox';
    return explicit || 'button';  // onclick / tabindex: something to press
  };
  const isCandidate = (el) => {
    const tag = el.tagName;
    if (tag === 'A') return el.hasAttribute('href') || el.hasAttribute('onclick');
    if (tag === 'INPUT') return (el.type || '').toLowerCase() !== 'hidden';
    if (tag === 'BUTTON' || tag === 'SELECT' || tag === 'TEXTAREA' || tag === 'SUMMARY') {
      return true;
    }
    if (ROLES.has((el.getAttribute('role') || '').split(' ')[0])) return true;
    if (el.isContentEditable && !(el.parentElement && el.parentElement.isContentEditable)) {
      return true;
    }
    return el.hasAttribute('onclick') || (el.tabIndex >= 0 && el.hasAttribute('tabindex'));
  };
  const labelled = (el) => {
    const ids = (el.getAttribute('aria-labelledby') || '').split(/\s+/).filter(Boolean);
    const parts = ids.map((id) => {
      const ref = document.getElementById(id);
      return ref ? ref.innerText || ref.textContent : '';
    });
    return parts.join(' ');
  };
  const nameOf = (el, role) => {
    const direct = el.getAttribute('aria-label') || labelled(el);
    if (clean(direct, 9)) return direct;
    if (el.labels && el.labels.length) {
      const own = Array.from(el.labels).map((l) => l.innerText || l.textContent).join(' ');
      if (clean(own, 9)) return own;
    }
    const tag = el.tagName;
    if (tag === 'INPUT' && ['submit', 'button', 'reset'].includes(el.type)) return el.value;
    if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT') {
      return el.getAttribute('placeholder') || el.getAttribute('title') || el.name || '';
    }
    const text = el.innerText || el.textContent || '';
    if (clean(text, 9)) return text;
    const img = el.querySelector('img[alt]');
    return el.getAttribute('title') || (img ? img.alt : '') || el.getAttribute('name') || '';
  };
  const stateOf = (el, role) => {
    const state = {};
    if (el.disabled || el.getAttribute('aria-disabled') === 'true') state.disabled = true;
    if (role === 'checkbox' || role === 'radio' || role === 'switch'
        || role === 'menuitemcheckbox' || role === 'menuitemradio') {
      state.checked = el.tagName === 'INPUT' ? el.checked
        : el.getAttribute('aria-checked') === 'true';
    }
    const expanded = el.getAttribute('aria-expanded');
    if (expanded !== null) state.expanded = expanded === 'true';
    if (el.getAttribute('aria-selected') === 'true') state.selected = true;
    if (el.tagName === 'SELECT') {
      const opts = Array.from(el.options);
      state.value = opts.filter((o) => o.selected).map((o) => clean(o.label, 60)).join(', ');
      state.options = opts.slice(0, 25).map((o) => clean(o.label, 60));
    } else if (role === 'textbox' || role === 'searchbox' || role === 'spinbutton'
               || role === 'slider') {
      const raw = el.isContentEditable ? el.innerText : el.value;
      state.value = el.type === 'password' && raw ? '••••' : clean(raw, 80);
      if (el.getAttribute('placeholder')) state.placeholder = clean(el.placeholder, 60);
    }
    const href = el.tagName === 'A' ? el.getAttribute('href') : null;
    if (href) state.href = clean(href, 120);
    if (el.getAttribute('target') === '_blank') state.new_tab = true;
    return state;
  };
  const elements = [];
  const seen = new Set();
  const tagged = new Set();
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      // A tag from an earlier look; not one set in this pass (labels come after inputs).
      if (el.hasAttribute(ATTR) && !tagged.has(el)) el.removeAttribute(ATTR);
      if (el.shadowRoot) walk(el.shadowRoot);
      if (elements.length >= limit || !isCandidate(el)) continue;
      // A control inside a listed link or button is pressed through its parent.
      if (el.parentElement && seen.has(el.parentElement.closest('a, button'))) continue;
      // Styled checkboxes hide the input; its label is what a user sees and presses
      // (Playwright's check() on a label acts on the label's control).
      let target = el;
      if (!el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) {
        const label = el.labels && el.labels[0];
        if (!(label && label.checkVisibility())) continue;
        // A hidden text field under a visible label was replaced by an editor
        // (CodeMirror hides its textarea): typing into it would change nothing seen.
        if (el.tagName === 'TEXTAREA' || (el.tagName === 'INPUT'
            && !['checkbox', 'radio', 'file'].includes((el.type || '').toLowerCase()))) continue;
        target = label;
      }
      const role = roleOf(el);
      const index = start + elements.length;
      target.setAttribute(ATTR, String(index));
      tagged.add(target);
      seen.add(el);
      const r = target.getBoundingClientRect();
      elements.push({
        index, role, tag: el.tagName.toLowerCase(), name: clean(nameOf(el, role), 100),
        state: stateOf(el, role),
        in_view: r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth,
      });
    }
  };
  if (document.body) walk(document.body);
  const body = document.body ? document.body.innerText || '' : '';
  // Tabs this document opened since the last look (see session.POPUP_COUNTER_JS).
  const popups = window.__agentPopups || 0;
  window.__agentPopups = 0;
  return {
    popups,
    title: document.title || '',
    text: body.replace(/[ \t]+/g, ' ').replace(/\n\s*\n+/g, '\n').trim().slice(0, textLimit),
    elements,
    more: elements.length >= limit,
    scroll: {y: Math.round(scrollY), height: document.documentElement.scrollHeight,
             viewport: innerHeight},
  };
}
"""
