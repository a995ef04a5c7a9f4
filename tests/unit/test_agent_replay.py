"""The replay script: steps written back in the rules grammar, without a browser."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from nodes.agent import actions as a
from nodes.agent.rules.planner import plan_instruction
from nodes.agent.rules.replay import PASSWORD_PLACEHOLDER, redact, render_replay

# Every family of the grammar (docs/agent.md), as a user would write it.
INSTRUCTIONS = [
    "Open https://example.com. Go to example.org. Open a.test, b.test and c.test.",
    "Open http://127.0.0.1:8000/form.html?x=1&y=2 in a new tab. Switch to tab 2. "
    'Switch to the first tab. Switch to the tab "Help". Close the tab. Close tab 2.',
    "Go back. Reload the page. Scroll down. Scroll up. Scroll to the top. "
    'Scroll to the bottom of the page. Scroll to "Contact".',
    'Click "Sign in". Press the Submit button. Click Terms and Conditions.',
    'Type "Ada" into "Full name". Enter "a@b.c" in the "Email" field. '
    'Fill the "City" field with \'London\'. Search for "cheap flights".',
    'Select "Blue" from the "Favourite colour" dropdown. Check "I accept the terms". '
    "Uncheck 'Subscribe to the newsletter'. Upload report.pdf into 'Attachment'.",
    "Press Enter. Hit the return key. Press the Tab key. Press Escape. Press Ctrl+A. Press F5. "
    "Press the page down key.",
    'Wait until the page is loaded. Wait 3 seconds. Wait 500 ms. Wait for "Results" to appear. '
    'Wait until "Loading…" disappears.',
    "Accept the cookies. Reject all cookies. Log in. Log out. Go to the next page. Go home. "
    'Close the dialog. Open the menu. Go to the contact page. Open the "Terms of use" page.',
    "Change the site language to Deutsch. Change the currency to EUR. "
    'Set the sort order to "Newest".',
    "Return the text. Return the title. Show me the current URL. Summarize the page. "
    "Extract all links. Get the headings. Extract the table as JSON. List the form fields. "
    "Take a full-page screenshot.",
    'Download "Annual report". Download https://example.com/a.pdf.',
    'Type \'He said "hi"\' into "Message". Click “Don\'t "panic"”.',
    'Clear the "Email" field. Clear the search field.',
    "How many teas are listed on https://shop.example/? Using the docs at "
    "https://docs.example/, find out how to configure the cache.",
]


@pytest.mark.parametrize("instruction", INSTRUCTIONS)
def test_a_rules_run_replays_as_the_same_plan(instruction: str) -> None:
    plan = plan_instruction(instruction)
    replay = render_replay(plan)
    assert replay.replayable and replay.why is None, replay
    assert plan_instruction(replay.script) == plan, replay.script


def test_steps_by_index_are_written_with_the_elements_names() -> None:
    taken = [
        a.Navigate("http://127.0.0.1:8000/form.html"),
        a.TypeText("Full name", "Ada", index=1),
        a.SelectOption("Favourite colour", "Blue", index=4),
        a.SetChecked("I agree", False, index=6),
        a.Click("Send", index=5),
        a.PressKey("Enter"),
        a.Extract("text"),
        a.Extract("tables"),
        a.Done("Form received", success=True),
    ]
    replay = render_replay(taken)
    assert replay.script == (
        "Open http://127.0.0.1:8000/form.html. "
        'Type "Ada" into "Full name". '
        'Select "Blue" from the "Favourite colour" dropdown. '
        'Uncheck "I agree". '
        'Click "Send". '
        "Press the Enter key. "
        "Return the text. "
        "Extract the tables."
    )
    assert replay.replayable
    assert [type(x) for x in plan_instruction(replay.script)] == [
        a.Navigate, a.TypeText, a.SelectOption, a.SetChecked, a.Click, a.PressKey,
        a.ReturnText, a.Extract,
    ]  # fmt: skip


def test_a_password_is_never_written_and_the_script_says_so() -> None:
    taken = [a.TypeText("Username", "ada", index=1), a.TypeText("Password", "hunter2", index=2)]
    replay = render_replay(taken)
    assert "hunter2" not in str(replay.as_info())
    assert (
        replay.script
        == f'Type "ada" into "Username". Type "{PASSWORD_PLACEHOLDER}" into "Password".'
    )
    assert not replay.replayable
    assert (
        replay.why is not None and '"Password"' in replay.why and PASSWORD_PLACEHOLDER in replay.why
    )
    # "Mot de passe", "PIN", "Passwort" are passwords too.
    for field in ("Mot de passe", "PIN", "Passwort", "Your passcode"):
        assert "s3cr3t" not in render_replay([a.TypeText(field, "s3cr3t")]).script


@dataclass(frozen=True)
class Teleport(a.Action):
    where: str

    def describe(self) -> str:
        return f"teleport to {self.where}"


def test_a_step_the_grammar_cannot_say_is_left_out_with_the_reason() -> None:
    taken = [
        a.Navigate("https://a.test/"),
        a.Click("", index=3),  # an icon button without a name
        a.Click("A very long link text that the observation cut…", index=4),
        a.PressKey("PrintScreen"),
        Teleport("b"),
        a.Click("Next"),
    ]
    replay = render_replay(taken)
    assert replay.script == 'Open https://a.test/. Click "Next".'
    assert not replay.replayable and replay.why is not None
    assert "step 2 (click [3]) is left out: it has no name to find it by" in replay.why
    assert "was cut short" in replay.why
    assert "no phrasing for the key PrintScreen" in replay.why
    assert "step 5 (teleport to b) is left out: the rules grammar has no phrasing" in replay.why


def test_a_run_without_steps_has_an_empty_script() -> None:
    replay = render_replay([a.Done("nothing to do")])
    assert replay.as_info() == {"script": "", "replayable": True, "why": None}


@pytest.mark.parametrize(
    ("words", "shown"),
    [
        ("log in as ada with password hunter2", "log in as ada with password <password>"),
        ('password: "a b c", then click', "password: <password>, then click"),
        ("use passcode=1234.", "use passcode=<password>."),
        ("Mot de passe 'x y'", "Mot de passe <password>"),
        ('Type "x" into "Password"', 'Type "x" into "Password"'),  # a field's name only
        ("reset my password", "reset my password"),
    ],
)
def test_a_password_in_the_users_words_is_redacted(words: str, shown: str) -> None:
    assert redact(words) == shown


@dataclass(frozen=True)
class Fill(a.Action):
    """A phrase this module has no phrasing for yet (another rule's own action)."""

    form: str

    def describe(self) -> str:
        return f"fill the {self.form} form"


@dataclass(frozen=True)
class LogIn(a.Action):
    user: str
    password: str

    def describe(self) -> str:
        return f"log in as {self.user}"


def test_steps_the_rules_compiled_fall_back_to_the_users_words() -> None:
    words = "order a medium pizza for Ada"
    taken = [
        a.Navigate("http://pizza.test/", clause="Open http://pizza.test/"),
        Fill("order", clause=words),
        a.Click("Order", clause=words),  # the same clause's steps: its words once
        a.ReturnText("text", clause="Return the text"),
    ]
    replay = render_replay(taken)
    assert replay.script == f"Open http://pizza.test/. {words}. Return the text."
    assert replay.replayable
    # Never words that may hold a password: the step is left out instead.
    secret = render_replay([LogIn("ada", "hunter2", clause="sign in as ada / hunter2")])
    assert secret.script == "" and not secret.replayable
    assert "hunter2" not in str(secret.as_info())
    said = render_replay([Fill("login", clause="log in with password hunter2")])
    assert "hunter2" not in str(said.as_info()) and not said.replayable


def test_a_form_filled_from_a_description_replays_as_the_same_plan() -> None:
    plan = plan_instruction(
        "Order a medium pizza with bacon for Ada Lovelace, phone 555-0100, "
        "delivered at 19:30, note 'ring twice'"
    )
    replay = render_replay(plan)
    assert replay.replayable and replay.why is None, replay
    assert plan_instruction(replay.script) == plan, replay.script


def test_a_log_in_with_credentials_is_written_without_its_password() -> None:
    plan = plan_instruction("Open http://127.0.0.1:8000/login.html and log in as ada / s3cr3t-pw")
    replay = render_replay(plan)
    assert "s3cr3t-pw" not in replay.script and not replay.replayable, replay
    assert f'Log in as "ada" with password {PASSWORD_PLACEHOLDER}' in replay.script
    assert "put it in place of <password>" in (replay.why or "")
    filled_in = replay.script.replace(PASSWORD_PLACEHOLDER, "s3cr3t-pw")
    assert plan_instruction(filled_in) == plan, filled_in
