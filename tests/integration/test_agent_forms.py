"""Forms as people describe them, in a real Chromium: logging in with credentials
written naturally (and the password nowhere in what the run reports), filling an
order form from a description, and typing into CodeMirror 5, CodeMirror 6 and Monaco
editors and a contenteditable box.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext

from nodes.agent import AgentResult, ScreenshotPolicy, StepRecord, run_agent
from shared.errors import ActionFailed

PASSWORD = "lovelace-1815"


def _run(context: BrowserContext, instruction: str, **kw: Any) -> AgentResult:
    kw.setdefault("deadline", time.monotonic() + 30)
    return run_agent(context, instruction, policy=ScreenshotPolicy(), **kw)


def _reported(steps: list[StepRecord], *texts: str) -> str:
    """Everything a run reports about its steps, and its result or error."""
    fields = [f"{s.action} {s.url} {s.error}" for s in steps]
    return "\n".join([*fields, *texts])


def test_log_in_with_credentials_in_words(context: BrowserContext, base_url: str) -> None:
    steps: list[StepRecord] = []
    result = _run(
        context,
        # The portal has no login form, only a link to one.
        f"Open {base_url}/portal.html and log in with username ada and password {PASSWORD}, "
        "then return the text",
        on_step=steps.append,
    )
    assert result.result.startswith("Welcome back, Ada")
    # The form is sent with GET: the page's URL held the password, the report does not.
    assert "secret=••••" in result.final_url
    reported = _reported(steps, result.result, result.final_url, repr(result))
    assert PASSWORD not in reported
    assert [s.action for s in steps][1] == 'log in as "ada" (password ••••)'
    assert result.final_url.startswith(f"{base_url}/login.html?")


def test_wrong_credentials_fail_without_showing_them(
    context: BrowserContext, base_url: str
) -> None:
    steps: list[StepRecord] = []
    with pytest.raises(ActionFailed, match="did not accept the credentials") as caught:
        _run(
            context,
            f"Open {base_url}/login.html and sign in as ada / 'not-{PASSWORD}'",
            on_step=steps.append,
        )
    assert "Invalid user name or password" in str(caught.value)
    assert f"not-{PASSWORD}" not in _reported(steps, str(caught.value))


def test_order_a_pizza_from_a_description(context: BrowserContext, base_url: str) -> None:
    result = _run(
        context,
        f"Use the order form at {base_url}/pizza.html to order a medium pizza with bacon and "
        "mushrooms for Ada Lovelace, phone 555-0100, delivered at 7:30 pm, note 'ring twice'. "
        "Then return the text.",
    )
    submitted, page = result.result.split("\n\n")
    assert submitted == (
        f"Submitted the form at {base_url}/pizza.html:\n"
        "Customer name: Ada Lovelace\nTelephone: 555-0100\nPizza Size: Medium\n"
        "Pizza Toppings: Bacon, Mushroom\nPreferred delivery time: 19:30\n"
        "Delivery instructions: ring twice"
    )
    assert page.splitlines()[1:] == [
        "custname=Ada Lovelace",
        "custtel=555-0100",
        "custemail=",
        "size=medium",
        "topping=bacon",
        "topping=mushroom",
        "delivery=19:30",
        "comments=ring twice",
    ]


def test_type_into_a_code_editor_and_a_rich_text_box(
    context: BrowserContext, base_url: str
) -> None:
    result = _run(
        context,
        f'Open {base_url}/editor.html. Type \'print("hi")\' into "Code". '
        "Type 'Ring twice' into the Notes box. Click 'Save' and return the text.",
    )
    assert 'Saved code: print("hi")\nSaved notes: Ring twice' in result.result


def _reader(
    context: BrowserContext, editor_js: str
) -> tuple[list[StepRecord], list[tuple[str, str]], Callable[[StepRecord], None]]:
    """The steps of a run, and after each the editor's value (``editor_js``) and the
    page's "#saved" text, with the ``on_step`` callback that records them. The run
    closes its tab when it ends, so the page is read after each step."""
    steps: list[StepRecord] = []
    seen: list[tuple[str, str]] = []

    def read_back(step: StepRecord) -> None:
        steps.append(step)
        page = context.pages[-1]
        seen.append((page.evaluate(editor_js), page.text_content("#saved") or ""))

    return steps, seen, read_back


def test_type_into_a_monaco_editor(context: BrowserContext, base_url: str) -> None:
    code = "def f():\n    return 1"
    steps, seen, read_back = _reader(context, "monaco.editor.getEditors()[0].getValue()")

    result = _run(
        context,
        f"Open {base_url}/monaco.html. Type '{code}' into \"Code\". "
        "Click 'Save' and return the text.",
        on_step=read_back,
    )
    assert steps[1].action == f'type "{code}" into "Code"'
    assert seen[1] == (code, "")
    assert seen[2] == (code, f"Saved code: {code}")
    # The text a run returns has its lines stripped; the page keeps the indent.
    assert "Saved code: def f():\nreturn 1" in result.result


def test_type_into_a_monaco_editor_without_its_global(
    context: BrowserContext, base_url: str
) -> None:
    # No API to call: the keys go to Monaco's hidden textarea, after its own select-all,
    # and the step reads the lines it draws.
    code = "def f():\n    return 1"
    saved: list[str] = []

    def read_back(step: StepRecord) -> None:
        saved.append(context.pages[-1].text_content("#saved") or "")

    result = _run(
        context,
        f"Open {base_url}/monaco.html?bundled. Type '{code}' into \"Code\". "
        "Click 'Save' and return the text.",
        on_step=read_back,
    )
    assert saved[2] == f"Saved code: {code}"  # nothing of the old text left
    assert "Saved code: def f():\nreturn 1" in result.result


def test_type_into_a_codemirror6_editor(context: BrowserContext, base_url: str) -> None:
    # Longer than the viewport: CodeMirror 6 draws only the lines near it, so the
    # step must read the editor's state back, not its text on screen.
    code = "\n".join(f"select {i} from dual;" for i in range(300))
    # The page keeps its view to itself; the bundle's EditorView finds it.
    doc = "CM.EditorView.findFromDOM(document.querySelector('.cm-editor')).state.doc"
    steps, seen, read_back = _reader(context, f"{doc}.toString()")

    result = _run(
        context,
        # The caption names the editor; an aria-labelledby would make it a field to fill.
        f"Open {base_url}/codemirror6.html. Type '{code}' into \"Code\". "
        "Click 'Save' and return the text.",
        on_step=read_back,
    )
    assert [s.error for s in steps] == [None, None, None, None]
    assert seen[1] == (code, "")
    assert seen[2] == (code, f"Saved code: {code}")
    assert result.result.startswith("New query\nCode\n")  # the rest is the long editor


@pytest.mark.parametrize(
    "instruction",
    [
        # Unquoted, as the-internet.herokuapp.com's tomsmith / SuperSecretPassword! is
        # written in every tutorial: the "!" is the password's, not the sentence's.
        "Log in to {base}/login.html with username grace and password cobol-1959!",
        "Go to {base}/login.html, enter grace as the username and cobol-1959! as the "
        "password, then click Sign in",
    ],
)
def test_a_password_ending_in_an_exclamation_mark(
    context: BrowserContext, base_url: str, instruction: str
) -> None:
    steps: list[StepRecord] = []
    result = _run(
        context, instruction.format(base=base_url) + ". Return the text.", on_step=steps.append
    )
    assert result.result.startswith("Welcome back, Grace"), result.result
    assert "cobol-1959" not in _reported(steps, result.result, result.final_url)
