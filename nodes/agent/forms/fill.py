"""Filling a page's form from a description, submitting it, and saying what was sent.

The form is the one with the most controls (the whole page when it has no
``<form>``). Its controls are read once, marked ``data-agent-ff`` (the agent's marks
do not count as a change of the page) and matched to the description by
``describe.assign``; a value the user gave that no field takes fails the step before
anything is typed. The form is sent with its submit button (or ``requestSubmit``),
which has to change the page (``effects``); the step's result lists each field
with what went into it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nodes.agent import actions as a
from nodes.agent.act.effects import expect_effect
from nodes.agent.forms.describe import Assignment, FormField, assign, parse_description
from nodes.agent.loop.script import run_script
from shared.errors import ActionFailed

if TYPE_CHECKING:
    from nodes.agent.loop.session import Session

_READ_JS = """
() => {
  const visible = (el) => {
    const r = el.getBoundingClientRect(), st = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && st.visibility !== 'hidden' && st.display !== 'none';
  };
  const boxed = (el) => ['radio', 'checkbox'].includes(el.type);
  const usable = (el) => !el.disabled
    && !['hidden', 'submit', 'button', 'reset', 'image', 'file'].includes(el.type)
    && (visible(el) || (boxed(el) && Array.from(el.labels || []).some(visible)));
  const controls = (root) => Array.from(root.querySelectorAll('input, textarea, select'))
    .filter(usable);
  for (const el of document.querySelectorAll('[data-agent-ff]')) {
    el.removeAttribute('data-agent-ff');
  }
  let root = document, most = 0;
  for (const form of document.forms) {
    const n = controls(form).length;
    if (n > most) { most = n; root = form; }
  }
  const text = (s) => (s || '').replace(/\\s+/g, ' ').replace(/[\\s:*]+$/, '').trim();
  const labelOf = (el) => text(Array.from(el.labels || []).map((l) => l.innerText).join(' ')
    || el.getAttribute('aria-label') || el.placeholder || el.title || '');
  const groupOf = (el) => {
    const set = el.closest('fieldset');
    const legend = set && set.querySelector('legend');
    if (legend) return text(legend.innerText);
    const group = el.closest('[role=radiogroup], [role=group]');
    return group ? text(group.getAttribute('aria-label') || '') : '';
  };
  const fields = controls(root).map((el, i) => {
    el.setAttribute('data-agent-ff', String(i));
    return {
      ref: i, kind: el.tagName === 'INPUT' ? el.type : el.tagName.toLowerCase(),
      name: el.name || el.id || '', label: labelOf(el), group: boxed(el) ? groupOf(el) : '',
      value: boxed(el) ? el.value : '',
      options: el.tagName === 'SELECT' ? Array.from(el.options).map((o) => text(o.label)) : [],
      autocomplete: el.getAttribute('autocomplete') || '',
    };
  });
  const say = /submit|order|send|book|place|confirm|continue|reserve|buy|pay|save|register/i;
  const buttons = Array.from(root.querySelectorAll(
    'button:not([type=button]):not([type=reset]), input[type=submit], input[type=image]'))
    .filter(visible);
  const submit = buttons.find((b) => say.test(b.innerText || b.value || '')) || buttons[0];
  if (submit) submit.setAttribute('data-agent-ff', 'submit');
  return {fields: fields, submit: !!submit, form: root !== document};
}
"""
_REQUEST_SUBMIT_JS = "(el) => el.form.requestSubmit()"


def read_form(s: Session) -> tuple[tuple[FormField, ...], bool, bool]:
    """The form's controls, whether it has a submit button and whether it is a <form>."""
    raw = run_script(s.page, _READ_JS, budget=s.budget) or {}
    fields = tuple(
        FormField(
            ref=int(f["ref"]),
            kind=str(f["kind"]),
            name=str(f["name"]),
            label=str(f["label"]),
            group=str(f["group"]),
            value=str(f["value"]),
            options=tuple(str(o) for o in f["options"]),
            autocomplete=str(f["autocomplete"]),
        )
        for f in raw.get("fields") or []
    )
    return fields, bool(raw.get("submit")), bool(raw.get("form"))


def report(url: str, done: list[Assignment]) -> str:
    """ "Submitted the form at URL:" then one line per field, boxes of a group together."""
    lines: dict[str, list[str]] = {}
    for item in done:
        shown = item.field.label if item.field.kind in ("radio", "checkbox") else item.value
        if item.field.kind == "password":
            shown = a.MASK
        lines.setdefault(item.caption, []).append(shown)
    body = "\n".join(f"{caption}: {', '.join(values)}" for caption, values in lines.items())
    return f"Submitted the form at {url}:\n{body}"


def _put(s: Session, item: Assignment) -> None:
    target = s.page.locator(f'[data-agent-ff="{item.field.ref}"]').first
    timeout = s.budget.timeout_ms()
    if item.field.kind in ("radio", "checkbox"):
        if target.is_visible():
            target.check(timeout=timeout)
        else:  # a styled box: the input is hidden behind its label
            target.evaluate("(el) => { if (!el.checked) el.labels[0].click(); }")
    elif item.field.kind == "select":
        target.select_option(label=item.value, timeout=timeout)
    else:
        target.fill(item.value, timeout=timeout)


def fill_form(s: Session, action: a.FillForm) -> str:
    what = "could not fill in the form"
    description = parse_description(action.description)
    fields, has_submit, is_form = read_form(s)
    if not fields:
        raise ActionFailed(f"{what}: the page at {s.page.url} has no form fields")
    done, missed = assign(description, fields)
    if missed:
        named = ", ".join(f'{v.key} "{a.MASK if v.key == "password" else v.value}"' for v in missed)
        raise ActionFailed(f"{what}: no field on the page takes {named}")
    if not done:
        raise ActionFailed(f"{what}: nothing in the description matches a field of the form")
    url = s.page.url
    for item in done:
        _put(s, item)
    if has_submit:
        button = s.page.locator('[data-agent-ff="submit"]').first
        send = lambda: button.click(timeout=s.budget.timeout_ms())  # noqa: E731
    elif is_form:
        first = s.page.locator(f'[data-agent-ff="{done[0].field.ref}"]').first
        send = lambda: first.evaluate(_REQUEST_SUBMIT_JS)  # noqa: E731
    else:
        raise ActionFailed(f"{what}: the fields were filled, but there is no button to send them")
    expect_effect(s, "submit the form", send, click=True)
    s.page.wait_for_load_state("load", timeout=s.budget.timeout_ms())
    return report(url, done)
