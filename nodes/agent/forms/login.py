"""Logging in: find the login form's fields, fill them, submit, and check it worked.

The password field is the visible ``input[type=password]`` (the one marked
``autocomplete=current-password`` first); the user field is the text or email input of
the same form that looks most like one (``autocomplete=username``/``email``, its
type, a name, id or label with user, login, email, account), before the password in
the page. The form is sent with its submit button (one whose text says log in, sign
in, continue... first), else with Enter in the password field, and that has to
change the page (``effects``). When the page that follows still asks for a password
and says the credentials were wrong, the step fails with the page's words.

A page without a password field is handled as people do: a two-step form (user name,
"Next", then the password), or a "Log in"/"Sign in" link to follow first.
Nothing here puts the password into an error: the runner masks it everywhere too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nodes.agent import actions as a
from nodes.agent.act import locate
from nodes.agent.act.effects import expect_effect
from nodes.agent.loop.script import run_script
from shared.errors import ActionFailed

if TYPE_CHECKING:
    from playwright.sync_api import Locator

    from nodes.agent.loop.session import Session

LOGIN_LINKS: tuple[str, ...] = ("Log in", "Sign in", "Login", "Log on", "Sign on", "Sign In")

# Marks the fields with data-agent-login (the agent's own marks do not count as a change
# of the page); returns which of user, password and submit it found.
_MARK_JS = """
() => {
  const visible = (el) => {
    const r = el.getBoundingClientRect(), st = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && st.visibility !== 'hidden' && st.display !== 'none';
  };
  const usable = (el) => visible(el) && !el.disabled && !el.readOnly;
  for (const el of document.querySelectorAll('[data-agent-login]')) {
    el.removeAttribute('data-agent-login');
  }
  const words = (el) => [el.name, el.id, el.autocomplete, el.placeholder,
    el.getAttribute('aria-label'), ...Array.from(el.labels || []).map((l) => l.innerText)]
    .join(' ');
  const passwords = Array.from(document.querySelectorAll('input[type=password]')).filter(usable);
  const password = passwords.find((el) => /current-password/i.test(el.autocomplete))
    || passwords.find((el) => !/new-password/i.test(el.autocomplete)) || passwords[0];
  const scope = (password && password.form) || document;
  const texts = Array.from(scope.querySelectorAll('input')).filter(
    (el) => ['text', 'email', 'tel', 'search'].includes(el.type) && usable(el));
  let user = null, best = 0;
  for (const el of texts) {
    let score = 1;
    if (/\\b(username|email)\\b/i.test(el.autocomplete)) score += 10;
    if (el.type === 'email') score += 6;
    if (/user|login|e-?mail|account|ident|name/i.test(words(el))) score += 5;
    if (/search|query/i.test(words(el)) || el.type === 'search') score -= 8;
    if (password) {
      const before = el.compareDocumentPosition(password) & Node.DOCUMENT_POSITION_FOLLOWING;
      score += before ? 2 : -3;
    } else if (score < 6) {
      continue;  // without a password field, only a field that clearly is the user name
    }
    if (score > best) { best = score; user = el; }
  }
  const say = new RegExp('log *-?\\s*in|sign *-?\\s*in|log *on|continue|next|submit'
    + '|enter|go$|weiter|connexion|anmelden', 'i');
  const label = (el) => (el.innerText || el.value || el.getAttribute('aria-label') || '').trim();
  const form = (password || user || {}).form;
  const inForm = form ? Array.from(form.querySelectorAll(
    'button:not([type=button]):not([type=reset]), input[type=submit], input[type=image]'))
    .filter(visible) : [];
  const anywhere = Array.from(document.querySelectorAll(
    'button, input[type=submit], input[type=button], [role=button]'))
    .filter((el) => visible(el) && say.test(label(el)));
  const submit = inForm.find((el) => say.test(label(el))) || inForm[0]
    || (form ? null : anywhere[0]) || null;
  if (user) user.setAttribute('data-agent-login', 'user');
  if (password) password.setAttribute('data-agent-login', 'password');
  if (submit) submit.setAttribute('data-agent-login', 'submit');
  return {user: !!user, password: !!password, submit: !!submit};
}
"""

# After submitting: a page that still asks for a password and says why not.
_REJECTED_JS = """
() => {
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  if (!Array.from(document.querySelectorAll('input[type=password]')).some(visible)) return null;
  const text = (document.body && document.body.innerText) || '';
  const why = new RegExp('[^\\n]*(?:invalid|incorrect|wrong|failed|not match|didn.t match'
    + '|try again|not recogni[sz]ed|denied|unknown user|bad credentials|enter (?:the|a) correct'
    + '|correct (?:user ?name|email|password))[^\\n]*', 'i');
  const found = text.match(why);
  return found ? found[0].trim().slice(0, 200) : null;
}
"""


def _marked(s: Session, which: str) -> Locator:
    return s.page.locator(f'[data-agent-login="{which}"]').first


def _find(s: Session, *, follow_links: bool) -> dict[str, Any] | str | None:
    """The fields found (once there is a password field, or late, a user field alone),
    or "link" for a login link to follow first."""

    def probe(late: bool) -> dict[str, Any] | str | None:
        found = run_script(s.page, _MARK_JS, budget=s.budget) or {}
        if found.get("password") or (late and found.get("user")):
            return dict(found)
        if late and follow_links:
            link = locate.first_visible(
                c for name in LOGIN_LINKS for c in locate.click_candidates(s.page, name)
            )
            if link is not None:
                return "link"
        return None

    return locate.poll(s.page, s.budget, probe)


def _submit(s: Session, action: a.LogIn, found: dict[str, Any], field: str) -> None:
    budget = s.budget
    if found.get("submit"):
        target = _marked(s, "submit")
        expect_effect(
            s, action.describe(), lambda: target.click(timeout=budget.timeout_ms()), click=True
        )
    else:
        target = _marked(s, field)
        expect_effect(
            s,
            action.describe(),
            lambda: target.press("Enter", timeout=budget.timeout_ms()),
            click=False,
        )
    s.page.wait_for_load_state("load", timeout=budget.timeout_ms())


def log_in(s: Session, action: a.LogIn) -> None:
    budget = s.budget
    what = f'could not log in as "{action.user}"'
    found = _find(s, follow_links=True)
    if found == "link":
        link = locate.first_visible(
            c for name in LOGIN_LINKS for c in locate.click_candidates(s.page, name)
        )
        if link is not None:
            expect_effect(
                s,
                "open the login page",
                lambda: link.click(timeout=budget.timeout_ms()),
                click=True,
            )
            s.page.wait_for_load_state("load", timeout=budget.timeout_ms())
        found = _find(s, follow_links=False)
    if not isinstance(found, dict):
        raise ActionFailed(f"{what}: the page has no login form (no password field)")
    if not found.get("password"):
        # Two steps: the user name first, then the password on the next screen.
        _marked(s, "user").fill(action.user, timeout=budget.timeout_ms())
        _submit(s, action, found, "user")
        found = _find(s, follow_links=False)
        if not isinstance(found, dict) or not found.get("password"):
            raise ActionFailed(f"{what}: no password field came after the user name")
        found = {**found, "user": False}
    if found.get("user"):
        _marked(s, "user").fill(action.user, timeout=budget.timeout_ms())
    _marked(s, "password").fill(action.password, timeout=budget.timeout_ms())
    _submit(s, action, found, "password")
    rejected = run_script(s.page, _REJECTED_JS, budget=budget)
    if rejected:
        raise ActionFailed(f'{what}: the site did not accept the credentials ("{rejected}")')
