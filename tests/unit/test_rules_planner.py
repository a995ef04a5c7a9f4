"""The rules planner's grammar: pure parsing, no browser."""

from __future__ import annotations

import pytest

from nodes.agent import (
    ChangeLanguage,
    ChooseSetting,
    Click,
    ClickAny,
    CloseTab,
    Extract,
    GoBack,
    Navigate,
    Observation,
    OpenTab,
    PressKey,
    Reload,
    ReturnText,
    RulesPlanner,
    Scroll,
    ScrollTo,
    SelectOption,
    SetChecked,
    Summarize,
    SwitchTab,
    TakeScreenshot,
    TypeText,
    Wait,
    WaitForLoad,
    WaitForText,
    plan_instruction,
)
from shared.errors import InstructionNotUnderstood


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        # The public contract's examples.
        (
            "Open https://example.com and summarize the page",
            [Navigate("https://example.com"), Summarize()],
        ),
        (
            "Open https://example.com and return a screenshot of the page.",
            [Navigate("https://example.com"), TakeScreenshot()],
        ),
        (
            "Open https://vk.ru. Wait until the page is loaded. "
            "Then change the site language to English. Return the result.",
            [
                Navigate("https://vk.ru"),
                WaitForLoad(),
                ChangeLanguage("English"),
                ReturnText("text"),
            ],
        ),
    ],
)
def test_contract_examples(instruction: str, expected: list[object]) -> None:
    assert plan_instruction(instruction) == expected


@pytest.mark.parametrize(
    ("instruction", "urls"),
    [
        (
            "open https://a.test/x/y.html?q=1.5&r=a.b#frag",
            ["https://a.test/x/y.html?q=1.5&r=a.b#frag"],
        ),
        ("Go to example.com.", ["https://example.com"]),
        ("navigate to sub.example.co.uk/path/", ["https://sub.example.co.uk/path/"]),
        ("Visit http://localhost:8080/index.html!", ["http://localhost:8080/index.html"]),
        ("load 127.0.0.1:9000", ["http://127.0.0.1:9000"]),
        ("browse to the page 'https://q.test/a b'", None),
        ("Open https://a.test and https://b.test", ["https://a.test", "https://b.test"]),
        ("open a.test, b.test and c.test", ["https://a.test", "https://b.test", "https://c.test"]),
        ("Open a.test, then b.test", ["https://a.test", "https://b.test"]),
        ('open "https://q.test/x"', ["https://q.test/x"]),
        ("open (https://w.test/wiki/A_(b))", ["https://w.test/wiki/A_(b)"]),
        ("OPEN HTTPS://UPPER.TEST", ["HTTPS://UPPER.TEST"]),
    ],
)
def test_open(instruction: str, urls: list[str] | None) -> None:
    if urls is None:
        with pytest.raises(InstructionNotUnderstood):
            plan_instruction(instruction)
    else:
        assert plan_instruction(instruction) == [Navigate(u) for u in urls]


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("wait until the page is loaded", WaitForLoad()),
        ("Wait for the page to load", WaitForLoad()),
        ("wait till it has finished loading", WaitForLoad()),
        ("wait for page load", WaitForLoad()),
        ("wait", WaitForLoad()),
        ("wait 3 seconds", Wait(3)),
        ("wait for 1.5 seconds", Wait(1.5)),
        ("wait 500 ms", Wait(0.5)),
        ("wait a second", Wait(1)),
        ("wait 2s", Wait(2)),
    ],
)
def test_wait(clause: str, expected: object) -> None:
    assert plan_instruction(clause) == [expected]


@pytest.mark.parametrize(
    ("clause", "text"),
    [
        ('click "Sign in"', "Sign in"),
        ("click on the 'Sign in' link", "Sign in"),
        ("Click the “Sign in” button", "Sign in"),
        ("click the Sign in button", "Sign in"),
        ("click on About", "About"),
        ("press the Submit button", "Submit"),
        ("tap Menu", "Menu"),
        ("select the Pricing tab", "Pricing"),
        ("choose Dark mode", "Dark mode"),
        ('click the link "About us"', "About us"),
        ("click Terms and Conditions", "Terms and Conditions"),
        ('press "Enter"', "Enter"),  # quoted: a control's label, not the key
    ],
)
def test_click(clause: str, text: str) -> None:
    assert plan_instruction(clause) == [Click(text)]


@pytest.mark.parametrize(
    ("clause", "field", "text"),
    [
        ('type "hello" into "Search"', "Search", "hello"),
        ('enter "a@b.c" in the "Email" field', "Email", "a@b.c"),
        ("type 'salt and pepper' into the 'Ingredients' box", "Ingredients", "salt and pepper"),
        ('fill "x" into the Name input', "Name", "x"),
        ("input “42” in Age", "Age", "42"),
        ("write hello world into the Message field", "Message", "hello world"),
        ("type Sign in into Login", "Login", "Sign in"),
        ('fill the "City" field with "London"', "City", "London"),
        ("fill in the 'Email' field with 'a@b.c'", "Email", "a@b.c"),
        ('fill in Name with "Ada"', "Name", "Ada"),
        ('type "then and." into "Notes"', "Notes", "then and."),
    ],
)
def test_type(clause: str, field: str, text: str) -> None:
    assert plan_instruction(clause) == [TypeText(field, text)]


def test_search_types_and_presses_enter() -> None:
    assert plan_instruction('search for "cheap flights"') == [
        TypeText("search", "cheap flights"),
        PressKey("Enter"),
    ]


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("press Enter", PressKey("Enter")),
        ("hit the return key", PressKey("Enter")),
        ("press the Tab key", PressKey("Tab")),
        ("press Escape", PressKey("Escape")),
        ("select 'Blue' from the 'Colour' dropdown", SelectOption("Colour", "Blue")),
        ('choose "Large" in "Size"', SelectOption("Size", "Large")),
        ("select Sign in", Click("Sign in")),
        ("go back", GoBack()),
        ("reload the page", Reload()),
        ("refresh", Reload()),
        ("scroll down", Scroll("down")),
        ("scroll to the bottom of the page", Scroll("bottom")),
        ("scroll to top", Scroll("top")),
    ],
)
def test_keys_selects_and_navigation(clause: str, expected: object) -> None:
    assert plan_instruction(clause) == [expected]


@pytest.mark.parametrize(
    ("clause", "language"),
    [
        ("change the site language to English", "English"),
        ("switch the language to EN", "EN"),
        ("set the page's language to Deutsch", "Deutsch"),
        ("change language to 'Français'", "Français"),
        ("switch to English", "English"),
        ("switch to the English version", "English"),
        ("translate the page into German", "German"),
    ],
)
def test_change_language(clause: str, language: str) -> None:
    assert plan_instruction(clause) == [ChangeLanguage(language)]


def test_switch_to_something_that_is_not_a_language_is_not_understood() -> None:
    with pytest.raises(InstructionNotUnderstood, match='"switch to the dashboard"'):
        plan_instruction("switch to the dashboard")


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("summarize the page", Summarize()),
        ("Summarise it", Summarize()),
        ("give me a summary", Summarize()),
        ("give a short summary of the page", Summarize()),
        ("return a summary of the page", Summarize()),
        ("return the title", ReturnText("title")),
        ("get the page title", ReturnText("title")),
        ("return the url", ReturnText("url")),
        ("show me the current URL", ReturnText("url")),
        ("return the result", ReturnText("text")),
        ("extract the text of the page", ReturnText("text")),
        ("show the page content", ReturnText("text")),
        ("return the page", ReturnText("text")),
        ("return a screenshot of the page", TakeScreenshot()),
        ("take a screenshot", TakeScreenshot()),
        ("capture a full-page screenshot", TakeScreenshot()),
        ("show me a screen shot of the page", TakeScreenshot()),
        ("screenshot the page", TakeScreenshot()),
    ],
)
def test_results(clause: str, expected: object) -> None:
    assert plan_instruction(clause) == [expected]


@pytest.mark.parametrize(
    "clause",
    ["return the title of the result", "get the url of the results", "show the results title"],
)
def test_a_results_title_is_not_the_pages(clause: str) -> None:
    # Answering with the page's own title would be a wrong answer claimed as success.
    with pytest.raises(InstructionNotUnderstood):
        plan_instruction(clause)


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        ("Open a.test, then summarize the page", [Navigate("https://a.test"), Summarize()]),
        ("open a.test then return the title", [Navigate("https://a.test"), ReturnText("title")]),
        (
            "open a.test and then click About and return the url",
            [Navigate("https://a.test"), Click("About"), ReturnText("url")],
        ),
        (
            "Please open a.test. Finally, return the title, please.",
            [Navigate("https://a.test"), ReturnText("title")],
        ),
        ("1. Open a.test\n2. Summarize it", [Navigate("https://a.test"), Summarize()]),
        (
            "Open a.test; click Next! Then return the title?",
            [Navigate("https://a.test"), Click("Next"), ReturnText("title")],
        ),
        (
            'type "Hello. Then wait, and open x.test" into "Note" and press Enter',
            [TypeText("Note", "Hello. Then wait, and open x.test"), PressKey("Enter")],
        ),
        ("Don't forget: click 'Save'", None),
        ("open https://e.test/v1.2/x, e.g. wait 2 seconds", None),
    ],
)
def test_splitting(instruction: str, expected: list[object] | None) -> None:
    if expected is None:
        with pytest.raises(InstructionNotUnderstood):
            plan_instruction(instruction)
    else:
        assert plan_instruction(instruction) == expected


def test_actions_keep_the_clause_as_written() -> None:
    actions = plan_instruction("Open https://a.test and click on the 'Sign in' button.")
    assert [a.clause for a in actions] == ["Open https://a.test", "click on the 'Sign in' button"]


@pytest.mark.parametrize(
    ("instruction", "quoted"),
    [
        ("Open https://a.test and fooble the page", "fooble the page"),
        ("Open https://a.test. Dance a little.", "Dance a little"),
        ('Then Frobnicate "the x and y" widget', 'Frobnicate "the x and y" widget'),
        ("click", "click"),
        ("open the pod bay doors", "open the pod bay doors"),
    ],
)
def test_unknown_clause_is_quoted(instruction: str, quoted: str) -> None:
    with pytest.raises(InstructionNotUnderstood) as caught:
        plan_instruction(instruction)
    assert caught.value.message == f'could not understand "{quoted}"'


@pytest.mark.parametrize("instruction", ["", "   ", "Please.", "then, and"])
def test_empty_instruction(instruction: str) -> None:
    with pytest.raises(InstructionNotUnderstood, match="empty"):
        plan_instruction(instruction)


def test_planner_hands_out_actions_in_order() -> None:
    planner = RulesPlanner("open a.test and summarize the page")
    seen = Observation(url="about:blank", steps_done=0)
    assert planner.next_actions(seen, ()) == [Navigate("https://a.test")]
    assert planner.next_actions(seen, ()) == [Summarize()]
    assert planner.next_actions(seen, ()) == []


def test_planner_fails_at_construction_for_unknown_clauses() -> None:
    with pytest.raises(InstructionNotUnderstood, match='"hop"'):
        RulesPlanner("open a.test. hop")


def test_screenshot_policy_rejects_unknown_modes() -> None:
    from nodes.agent import ScreenshotPolicy
    from shared.errors import ValidationError

    assert ScreenshotPolicy().mode is None
    assert ScreenshotPolicy(mode="every_step").full_page is True
    with pytest.raises(ValidationError, match="sometimes"):
        ScreenshotPolicy(mode="sometimes")


# Checkboxes, tabs, waiting for text, goals and extraction.


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("check 'Remember me'", SetChecked("Remember me", True)),
        ("tick the box 'I agree'", SetChecked("I agree", True)),
        ("uncheck the Newsletter checkbox", SetChecked("Newsletter", False)),
        ("untick 'Send me offers'", SetChecked("Send me offers", False)),
        ("turn off the 'Dark mode' switch", SetChecked("Dark mode", False)),
        ("turn on Notifications", SetChecked("Notifications", True)),
        ("clear the Subscribe checkbox", SetChecked("Subscribe", False)),
        ("clear the search field", TypeText("search", "")),
        ("switch to the second tab", SwitchTab("second")),
        ("switch to tab 2", SwitchTab("2")),
        ("go back to the first tab", SwitchTab("first")),
        ("switch to the new tab", SwitchTab("new")),
        ("switch to the tab 'Help'", SwitchTab("Help")),
        ("close the tab", CloseTab("current")),
        ("close this tab", CloseTab("current")),
        ("close tab 2", CloseTab("2")),
        ("open https://a.test/x in a new tab", OpenTab("https://a.test/x")),
        ("wait for 'Results' to appear", WaitForText("Results")),
        ("wait until Loading disappears", WaitForText("Loading", gone=True)),
        ("wait for the text 'Done'", WaitForText("Done")),
        ("scroll to 'Contact'", ScrollTo("Contact")),
        ("scroll down to the footer", ScrollTo("footer")),
        ("extract all links", Extract("links")),
        ("get the headings", Extract("headings")),
        ("extract the table as JSON", Extract("tables")),
        ("list the form fields", Extract("fields")),
        ("press Ctrl+A", PressKey("Control+A")),
        ("press F5", PressKey("F5")),
        ("go to the previous page", GoBack()),
        ("change the currency to EUR", ChooseSetting("currency", "EUR")),
        ("set the sort order to 'Newest'", ChooseSetting("sort order", "Newest")),
    ],
)
def test_more_clauses(clause: str, expected: object) -> None:
    assert plan_instruction(clause) == [expected]


@pytest.mark.parametrize(
    ("clause", "goal", "first_name"),
    [
        ("accept the cookies", "accept the cookies", "Accept all"),
        ("reject all cookies", "reject the cookies", "Reject all"),
        ("log in", "log in", "Log in"),
        ("sign out", "log out", "Log out"),
        ("go to the next page", "go to the next page", "Next"),
        ("go home", "go to the home page", "Home"),
        ("close the dialog", "close the dialog", "Close"),
        ("open the menu", "open the menu", "Menu"),
        ("go to the contact page", "go to the contact page", "contact"),
        ('open the "Terms of use" page', "go to the Terms of use page", "Terms of use"),
    ],
)
def test_goal_phrases(clause: str, goal: str, first_name: str) -> None:
    (action,) = plan_instruction(clause)
    assert isinstance(action, ClickAny)
    assert action.goal == goal and action.names[0] == first_name


@pytest.mark.parametrize("clause", ["check that it works", "switch to the dashboard"])
def test_questions_and_unknown_targets_are_not_guessed(clause: str) -> None:
    with pytest.raises(InstructionNotUnderstood):
        plan_instruction(clause)


def test_new_verbs_split_clauses() -> None:
    assert plan_instruction("Open a.test, check 'Remember me' and click Sign in") == [
        Navigate("https://a.test"),
        SetChecked("Remember me", True),
        Click("Sign in"),
    ]


def test_a_failed_step_ends_a_rules_run() -> None:
    from nodes.agent import StepRecord
    from shared.errors import ActionFailed

    planner = RulesPlanner("open a.test and summarize the page")
    seen = Observation(url="about:blank", steps_done=0)
    planner.next_actions(seen, ())
    failed = StepRecord(index=1, action="open", url="", ok=False, error="boom", duration_ms=1)
    with pytest.raises(ActionFailed, match="boom"):
        planner.next_actions(seen, (failed,))
