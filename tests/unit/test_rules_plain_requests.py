"""Requests as a new user writes them, which the grammar used to refuse or misread: a URL
inside another clause, a named site to search, whether a page shows a text, the page's
heading or first paragraph, what a page is about, submitting, clicking N times. Pure
parsing, no browser."""

from __future__ import annotations

import time

import pytest

from nodes.agent import (
    Click,
    Navigate,
    PressKey,
    Scroll,
    SelectOption,
    Summarize,
    TakeScreenshot,
    TypeText,
    plan_instruction,
)
from nodes.agent.actions import (
    Answer,
    CheckText,
    ClickAny,
    ClickNth,
    Download,
    Extract,
    GoBack,
    Hover,
    LogIn,
    ReturnText,
    SetChecked,
    SortBy,
)
from nodes.agent.questions.passages import Collection, PageContent, find_answer, parse_question
from nodes.agent.rules.replay import render_replay
from shared.errors import InstructionNotUnderstood

E = "https://example.com"
W = "https://en.wikipedia.org/w/index.php?search="


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        (f"Summarize {E}", [Navigate(E), Summarize()]),
        ("summarise x.test/blog/1 for me", [Navigate("https://x.test/blog/1"), Summarize()]),
        (f"Screenshot {E}", [Navigate(E), TakeScreenshot()]),
        (f"Scroll down on {E}", [Navigate(E), Scroll("down")]),
        (
            f"Scroll down on {E} and take a full page screenshot",
            [Navigate(E), Scroll("down"), TakeScreenshot()],
        ),
        (f"take a screenshot of {E}", [Navigate(E), TakeScreenshot()]),
    ],
)
def test_a_url_inside_another_clause_is_opened_first(
    instruction: str, expected: list[object]
) -> None:
    assert plan_instruction(instruction) == expected


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        # Before: the field was "search box on https://duckduckgo.com", never found.
        (
            "Type 'playwright' into the search box on https://duckduckgo.com and press Enter",
            [
                Navigate("https://duckduckgo.com"),
                TypeText("search", "playwright"),
                PressKey("Enter"),
            ],
        ),
        # Before: it typed "cats on https://duckduckgo.com" into the current page.
        (
            "Search for 'cats' on https://duckduckgo.com",
            [Navigate("https://duckduckgo.com"), TypeText("search", "cats"), PressKey("Enter")],
        ),
        (f"click the About link on {E}", [Navigate(E), Click("About")]),
        (
            "select 'Large' from the Size menu at https://shop.test/form",
            [Navigate("https://shop.test/form"), SelectOption("Size", "Large")],
        ),
    ],
)
def test_an_element_is_not_named_after_the_url_it_is_on(
    instruction: str, expected: list[object]
) -> None:
    assert plan_instruction(instruction) == expected


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        # A URL that is the value itself stays a value.
        ("type https://a.test into Website", [TypeText("Website", "https://a.test")]),
        ("type 'on https://a.test' into Notes", [TypeText("Notes", "on https://a.test")]),
        (
            "download the report from https://x.test/r.csv",
            [Download(url="https://x.test/r.csv")],
        ),
        # An opening verb keeps its own rules: no second guess around them.
        ("Open https://a.test and fooble the page", None),
        (f"frobnicate {E}", None),
        (f"compare {E} with https://example.org", None),
    ],
)
def test_urls_that_are_values_or_unknown_clauses_stay_as_they_were(
    instruction: str, expected: list[object] | None
) -> None:
    if expected is None:
        with pytest.raises(InstructionNotUnderstood):
            plan_instruction(instruction)
    else:
        assert plan_instruction(instruction) == expected


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        (
            "Search Wikipedia for Alan Turing and give me his birth date",
            [Navigate(W + "Alan+Turing"), Answer("his birth date")],
        ),
        ("search for Ada Lovelace on wikipedia", [Navigate(W + "Ada+Lovelace")]),
        (
            'look up "C++ & Rust" on Wikipedia, then summarize the page',
            [Navigate(W + "C%2B%2B+%26+Rust"), Summarize()],
        ),
        (
            "search Stack Overflow for celery prefetch",
            [Navigate("https://stackoverflow.com/search?q=celery+prefetch")],
        ),
        (
            "search github for playwright python",
            [Navigate("https://github.com/search?q=playwright+python")],
        ),
        # No site named: the current page's own search box, as before.
        ("search for cats", [TypeText("search", "cats"), PressKey("Enter")]),
    ],
)
def test_a_named_site_is_searched_on_its_own_search_page(
    instruction: str, expected: list[object]
) -> None:
    assert plan_instruction(instruction) == expected


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        ("give me the price of the first book", [Answer("the price of the first book")]),
        ("find the email address", [Answer("the email address")]),
        (
            "find the title of the most expensive book on the first page",
            [Answer("the title of the most expensive book on the first page")],
        ),
        ("fetch me their opening hours", [Answer("their opening hours")]),
    ],
)
def test_a_fact_asked_for_with_a_result_verb_is_a_question(
    instruction: str, expected: list[object]
) -> None:
    assert plan_instruction(instruction) == expected


@pytest.mark.parametrize(
    "instruction", ["give me a hug", "get started", "give me the title of the result"]
)
def test_result_verbs_without_a_definite_fact_are_not_questions(instruction: str) -> None:
    with pytest.raises(InstructionNotUnderstood):
        plan_instruction(instruction)


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        (
            f"Check if {E} contains the word 'domain'",
            [Navigate(E), CheckText("domain")],
        ),
        (
            'open example.com and check whether the page mentions "illustrative examples"',
            [Navigate(E), CheckText("illustrative examples")],
        ),
        ("Does example.com mention domain?", [Navigate(E), CheckText("domain")]),
        ("does the page say 'Out of stock'", [CheckText("Out of stock")]),
        ("Make sure the page says 'Thank you'", [CheckText("Thank you", expect=True)]),
        (
            "verify that the site at https://a.test/x lists 'Sencha'",
            [Navigate("https://a.test/x"), CheckText("Sencha", expect=True)],
        ),
        ("check that the page says 'hello'", [CheckText("hello", expect=True)]),
        ("check that the page says hello", [CheckText("hello", expect=True)]),
        (
            "Make sure the page says Thank you for your order",
            [CheckText("Thank you for your order", expect=True)],
        ),
        (
            "Check if https://example.com contains Example Domain",
            [Navigate(E), CheckText("Example Domain")],
        ),
        ("Check if the page contains the text hello", [CheckText("hello")]),
    ],
)
def test_whether_a_page_shows_a_text(instruction: str, expected: list[object]) -> None:
    assert plan_instruction(instruction) == expected


@pytest.mark.parametrize(
    "instruction",
    ["check the page has a logo", "does node.js have a logo", "check whether the page contains"],
)
def test_checks_that_are_not_about_a_text(instruction: str) -> None:
    # "check ..." without "that" ticks boxes; a dotted name that is not a site, or no
    # text at all, is not guessed.
    try:
        actions = plan_instruction(instruction)
    except InstructionNotUnderstood:
        return
    assert not any(isinstance(x, CheckText) for x in actions), actions


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        # Before, "Check the title says Welcome" ticked a checkbox named "title says
        # Welcome", and the others were refused.
        ("Check the title says Welcome", [CheckText("Welcome", True, "title")]),
        (
            "Check that the title is Example Domain",
            [CheckText("Example Domain", True, "title", "is")],
        ),
        ("Verify the heading says Welcome", [CheckText("Welcome", True, "heading")]),
        ("make sure the main heading says welcome", [CheckText("welcome", True, "heading")]),
        ("Verify the URL contains /dashboard", [CheckText("/dashboard", True, "url")]),
        ("Assert the current URL includes 'q=cats'", [CheckText("q=cats", True, "url")]),
        (
            "Make sure the URL is https://a.test/x",
            [CheckText("https://a.test/x", True, "url", "is")],
        ),
        ("Does the title contain 'Example'?", [CheckText("Example", False, "title")]),
        ("Is the title Example Domain?", [CheckText("Example Domain", False, "title", "is")]),
        ("Isn't the title 'Welcome'?", [CheckText("Welcome", False, "title", "is")]),
        ("Is the title Lord of the Rings?", [CheckText("Lord of the Rings", False, "title", "is")]),
        ("Verify the URL ends with .html", [CheckText(".html", True, "url", "ends with")]),
        ("Verify the URL starts with https", [CheckText("https", True, "url", "starts with")]),
        ("Verify the title contains the word 'Dash'", [CheckText("Dash", True, "title")]),
        ("Verify the h1 text is 'Dashboard'", [CheckText("Dashboard", True, "heading", "is")]),
        ("Verify the document title is 'Inbox'", [CheckText("Inbox", True, "title", "is")]),
        ("Verify if the title is 'X'", [CheckText("X", False, "title", "is")]),
        (
            "Verify the title says Welcome and the page does not say Error",
            [CheckText("Welcome", True, "title"), CheckText("Error", True, negate=True)],
        ),
        ("Does the URL end with /checkout?", [CheckText("/checkout", False, "url", "ends with")]),
        ("Check if the title starts with 'Ex'", [CheckText("Ex", False, "title", "starts with")]),
        (
            "Ensure the page title doesn't contain 'Error'",
            [CheckText("Error", True, "title", negate=True)],
        ),
        ("Check that the heading is not 'Oops'", [CheckText("Oops", True, "heading", "is", True)]),
        ("Is the title not 'Welcome'?", [CheckText("Welcome", False, "title", "is", True)]),
        ("Make sure the page does not say 'Error'", [CheckText("Error", True, negate=True)]),
        ("Does the page not mention Error?", [CheckText("Error", negate=True)]),
        (
            f"Verify the title of {E} is Example Domain",
            [Navigate(E), CheckText("Example Domain", True, "title", "is")],
        ),
        (
            f"Verify the title is Example Domain on {E}",
            [Navigate(E), CheckText("Example Domain", True, "title", "is")],
        ),
        (
            "Make sure the page title is Example Domain and the heading says Example",
            [
                CheckText("Example Domain", True, "title", "is"),
                CheckText("Example", True, "heading"),
            ],
        ),
        ("Make sure the title says Tom and Jerry", [CheckText("Tom and Jerry", True, "title")]),
        # A capitalised text that starts with a small word is a text: only lower case
        # ("says the right thing", "shows up") is refused.
        ("Verify the title is The Godfather", [CheckText("The Godfather", True, "title", "is")]),
        ("Make sure the heading says In Stock", [CheckText("In Stock", True, "heading")]),
    ],
)
def test_a_check_of_the_title_heading_or_url(instruction: str, expected: list[object]) -> None:
    assert plan_instruction(instruction) == expected


@pytest.mark.parametrize(
    "instruction",
    [
        "Make sure the URL has changed",
        "Check the URL is correct",
        "Make sure the title is correct",
        "Make sure the heading is visible",
        "Verify the address contains London",  # a street address, not the page's
        "Check that the book's title is Dune",
        "Check whether the title says Python or Rust",
        "Check the title checkbox",
        # Found by a review: words after a verb that are no text, or a text and more.
        "Make sure the title shows up",
        "Make sure the title says the right thing",
        "Make sure the heading displays correctly",
        "Verify the title displays properly on mobile",
        "Make sure the title says something meaningful",
        "Make sure the heading says what the product is",
        "Is the title Dune in stock?",
        "Is the title Spanish?",
        "Does the title have 3 words?",
        "Make sure the page does not say anything about refunds",
        "Make sure the page doesn't show errors",
        "Verify the title is Dashboard after login",
        "Verify the heading says Welcome on the home page",
        "Verify that the title is Example Domain and not Error",
    ],
)
def test_checks_of_a_part_that_name_no_text(instruction: str) -> None:
    try:
        actions = plan_instruction(instruction)
    except InstructionNotUnderstood:
        return
    assert not any(isinstance(x, CheckText) for x in actions), actions


@pytest.mark.parametrize(
    "check",
    [
        CheckText("it's here"),
        CheckText("it's here", expect=True),
        CheckText("Error", expect=True, negate=True),
        CheckText("A title", part="title", how="is"),
        CheckText("/login", expect=True, part="url", how="ends with", negate=True),
        CheckText("Welcome", expect=True, part="heading", how="starts with"),
    ],
)
def test_a_check_replays_as_itself(check: CheckText) -> None:
    steps = [Navigate(E), check]
    replay = render_replay(steps)
    assert replay.replayable and replay.why is None
    assert plan_instruction(replay.script) == steps


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        ("Read https://example.com", [Navigate(E)]),
        ("Fetch example.com", [Navigate(E)]),
        ("Open https://example.com in the browser", [Navigate(E)]),
        ("Head over to https://example.com", [Navigate(E)]),
        ("Pull up example.com and give me the main heading", [Navigate(E), ReturnText("heading")]),
        (f"What's the h1 on {E}?", [Navigate(E), ReturnText("heading")]),
        ("get the H1 text", [ReturnText("heading")]),
        ("extract the main heading", [ReturnText("heading")]),
        (f"Grab the first paragraph from {E}", [Navigate(E), ReturnText("paragraph")]),
        ("copy the text of the first paragraph", [ReturnText("paragraph")]),
        ("extract all text", [ReturnText("text")]),
        ("describe it", [Summarize()]),
        ("give me a brief description", [Summarize()]),
        (f"Describe {E}", [Navigate(E), Summarize()]),
        (f"Tell me about {E}", [Navigate(E), Summarize()]),
        (f"What does {E} say?", [Navigate(E), Summarize()]),
        (f"What is on {E}?", [Navigate(E), Summarize()]),
        ("what is this page about", [Summarize()]),
        ("tell me what you see", [Summarize()]),
        ("get the page title and description", [ReturnText("title"), Summarize()]),
        (f"Check {E} for the word 'domain'", [Navigate(E), CheckText("domain")]),
        (
            "fill in the customer name with 'John', and submit the form",
            [TypeText("customer name", "John"), ClickAny("submit the form", ())],
        ),
        # "element", like "button", names the kind (as in "click Add Element" alone).
        ("click Add Element 3 times", [Click("Add")] * 3),
        ("press the More information button twice", [Click("More information")] * 2),
        (
            'Find "Alan Turing" on Wikipedia and tell me when he was born',
            [Navigate(W + "Alan+Turing"), Answer("when he was born")],
        ),
        (
            "Extract the prices from https://shop.test/teas",
            [Navigate("https://shop.test/teas"), Answer("which prices")],
        ),
    ],
)
def test_plain_requests(instruction: str, expected: list[object]) -> None:
    got = plan_instruction(instruction)
    # A goal's element names are the registry's business; its description is the step.
    got = [ClickAny(x.goal, ()) if isinstance(x, ClickAny) else x for x in got]
    assert got == expected


@pytest.mark.parametrize(
    "instruction",
    [
        "what is the value of os.sep?",  # a name in code, not a site: not opened
    ],
)
def test_not_misread(instruction: str) -> None:
    try:
        actions = plan_instruction(instruction)
    except InstructionNotUnderstood:
        return
    assert not any(isinstance(x, Click | Navigate) for x in actions), actions
    assert not any("SetChecked" == type(x).__name__ for x in actions), actions


@pytest.mark.parametrize("what", ["heading", "paragraph"])
def test_heading_and_paragraph_replay_as_themselves(what: str) -> None:
    steps = [Navigate(E), ReturnText(what)]
    replay = render_replay(steps)
    assert replay.replayable and plan_instruction(replay.script) == steps


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        # Before: "go to the users", click "me", check "text", save (a role for user "me").
        ("give me the text", [ReturnText("text")]),
        ("give me the title", [ReturnText("title")]),
        (f"Open {E} and give me all the links", [Navigate(E), Extract("links")]),
        # A user's name still gets the role.
        ("give grace staff status", None),
    ],
)
def test_give_me_is_a_request_not_a_user(instruction: str, expected: list[object] | None) -> None:
    got = plan_instruction(instruction)
    if expected is None:
        assert any(isinstance(x, Click) and x.text == "grace" for x in got), got
    else:
        assert got == expected


TABLE = Collection(
    "planets",
    (
        "name: Mercury | moons: 0 | diameter: 4879",
        "name: Venus | moons: 0 | diameter: 12104",
    ),
    table=True,
)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # Every row, not the first one found.
        ("What are the diameters of the planets", TABLE.items),
    ],
)
def test_a_plural_question_is_answered_by_every_row_or_not_at_all(
    question: str, expected: tuple[str, ...] | None
) -> None:
    content = PageContent(
        url="http://x.test/planets",
        title="planets",
        # A passage that names the diameters but gives none of them (a schema).
        text="CREATE TABLE planets (name TEXT, moons INTEGER, diameter INTEGER, price INTEGER)",
        collections=(TABLE,),
    )
    found = find_answer(parse_question(question), content)
    if expected is None:
        assert found is None or "CREATE TABLE" not in found.passage, found
    else:
        assert found is not None and found.passage.splitlines() == list(expected)


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        ("click the first link", [ClickNth("link", 1)]),
        ("Open the second search result", [ClickNth("result", 2)]),
        ("follow the last link", [ClickNth("link", -1)]),
        ("click the 3rd result", [ClickNth("result", 3)]),
        ("click the first button", [ClickNth("button", 1)]),
        (f"Click the first link on {E}", [Navigate(E), ClickNth("link", 1)]),
        # A name that is an ordinal word, alone, is still a name.
        ("click First", [Click("First")]),
    ],
)
def test_the_nth_link_result_or_button(instruction: str, expected: list[object]) -> None:
    assert plan_instruction(instruction) == expected


@pytest.mark.parametrize(
    "step", [ClickNth("result", 1), ClickNth("link", -1), ClickNth("button", 12)]
)
def test_nth_clicks_replay_as_themselves(step: object) -> None:
    replay = render_replay([Navigate(E), step])  # type: ignore[list-item]
    assert replay.replayable and plan_instruction(replay.script) == [Navigate(E), step]


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        (
            "enter tomsmith as the username and SuperSecretPassword! as the password",
            [TypeText("username", "tomsmith"), TypeText("password", "SuperSecretPassword!")],
        ),
        (
            "enter 'Ada Lovelace' as the full name, 555 as phone",
            [TypeText("full name", "Ada Lovelace"), TypeText("phone", "555")],
        ),
        ("Press the down arrow three times", [PressKey("ArrowDown")] * 3),
        ("hit Enter twice", [PressKey("Enter")] * 2),
        ("press the left arrow", [PressKey("ArrowLeft")]),
        (
            "click the link that says More information",
            [Click("More information")],
        ),
        ("click the button labelled 'Save draft'", [Click("Save draft")]),
        ("Go back two pages", [GoBack(), GoBack()]),
    ],
)
def test_typing_keys_clicks_and_going_back(instruction: str, expected: list[object]) -> None:
    assert plan_instruction(instruction) == expected


@pytest.mark.parametrize(
    ("instruction", "password"),
    [
        ("Log in with username tomsmith and password SuperSecretPassword!", "SuperSecretPassword!"),
        (
            "log in with username tomsmith and password SuperSecretPassword!.",
            "SuperSecretPassword!",
        ),
        ("Sign in as ada / s3cret! then return the title", "s3cret!"),
        # A capital after the mark starts a new sentence: quote such a password.
        ("Log in as ada, pass s3cret! Now click Settings.", "s3cret"),
        ("Log in with username ada and password 's3cret.'", "s3cret."),
        # A "." stays the sentence's.
        ("Log in with username ada and password s3cret. Return the title", "s3cret"),
    ],
)
def test_a_password_keeps_its_exclamation_mark(instruction: str, password: str) -> None:
    login = next(x for x in plan_instruction(instruction) if isinstance(x, LogIn))
    assert login.password == password


@pytest.mark.parametrize(
    "instruction",
    [
        "Open a.test! Then return the title.",  # an exclamation, not a password's
        "Open https://a.test/wow! Then return the title",
    ],
)
def test_other_exclamation_marks_still_end_a_sentence(instruction: str) -> None:
    assert [type(x) for x in plan_instruction(instruction)] == [Navigate, ReturnText]


@pytest.mark.parametrize("instruction", ["type hello as well", "check the page for broken links"])
def test_not_a_field_nor_a_checkbox(instruction: str) -> None:
    try:
        actions = plan_instruction(instruction)
    except InstructionNotUnderstood:
        return
    assert not any(type(x).__name__ in ("TypeText", "SetChecked") for x in actions), actions


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        ("Hover over the Products menu", [Hover("Products")]),
        ("move the mouse over 'Help' and click Contact", [Hover("Help"), Click("Contact")]),
        ("mouse over Settings", [Hover("Settings")]),
    ],
)
def test_hover(instruction: str, expected: list[object]) -> None:
    actions = plan_instruction(instruction)
    assert actions == expected
    replay = render_replay(actions)
    assert replay.replayable and plan_instruction(replay.script) == expected


# Found by a review of the changes above, each read wrongly by a first version of them.
@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        # A bare host opened by a rule is the URL read, not an element named after it.
        (
            "Go to the docs at docs.example and find the links",
            [Navigate("https://docs.example"), Extract("links")],
        ),
        ("Open the site at example.com", [Navigate(E)]),
        ("Download the report from a.test/r.csv", [Download(url="https://a.test/r.csv")]),
        (
            "Check the shop at shop.example - how many teas are there?",
            [Navigate("https://shop.example"), Answer("how many teas are there")],
        ),
        # A URL inside a typed text is the text's.
        (
            "Type visit https://a.test today into the Message field",
            [TypeText("Message", "visit https://a.test today")],
        ),
        # Checkbox labels that start like a page's parts.
        ("Check Price alerts", [SetChecked("Price alerts")]),
        ("Check the Status checkbox", [SetChecked("Status")]),
        # "and" before the late verbs splits only before an object.
        # "and submit" at the end submits ("Fill Name with Ada and submit").
        ("Fill the Name field with Ada and submit", [TypeText("Name", "Ada"), ClickAny("", ())]),
        (
            "Type Please read and verify into the Notes field",
            [TypeText("Notes", "Please read and verify")],
        ),
        # A split whose second piece nobody reads is taken back.
        (
            "Fill the Notes field with call Bob and verify the invoice",
            [TypeText("Notes", "call Bob and verify the invoice")],
        ),
    ],
)
def test_review_regressions(instruction: str, expected: list[object]) -> None:
    got = plan_instruction(instruction)
    assert [ClickAny("", ()) if isinstance(x, ClickAny) else x for x in got] == expected


@pytest.mark.parametrize(
    "instruction",
    [
        # Not one text to look for: a yes or no would be a guess.
        "Does the page have a login form?",
        "Check if the page has loaded",
        "Does the page mention 'x' or 'y'?",
        "Does the page say that shipping is free?",
        # A place to go, not a fact to find.
        "Show me the pricing page",
        "Get the download link for Linux",
    ],
)
def test_review_not_guessed(instruction: str) -> None:
    with pytest.raises(InstructionNotUnderstood):
        plan_instruction(instruction)


@pytest.mark.parametrize(
    "instruction",
    [
        "Open shop.example and tell me what paypal.com charges",
        "What is the difference between example.com and example.org?",
    ],
)
def test_a_site_named_in_a_question_is_not_opened(instruction: str) -> None:
    opened = [x.url for x in plan_instruction(instruction) if isinstance(x, Navigate)]
    assert opened in ([], ["https://shop.example"]), opened


def test_odd_input_is_refused_not_crashed_nor_slow() -> None:
    with pytest.raises(InstructionNotUnderstood):
        plan_instruction("x\x000\x00 fooble")  # a NUL names no quote
    # A hang guard, not a speed measure: before, 20,000 spaces took over 10 minutes.
    started = time.monotonic()
    with pytest.raises(InstructionNotUnderstood):
        plan_instruction("check" + " " * 20000)
    assert time.monotonic() - started < 5


def test_a_prose_pages_plural_question_keeps_its_passage() -> None:
    content = PageContent(
        url="http://x.test/doc",
        title="Doc",
        text="Requirements\nThe requirements are Python 3.11 and a browser.",
    )
    found = find_answer(parse_question("What are the requirements?"), content)
    assert found is not None and found.passage == "The requirements are Python 3.11 and a browser."


# Found by a second review, of the n-th clicks, passwords, hover and the first fixes.
@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        ("Fill the Name field with Ada and submit", ["type", "submit the form"]),
        ("Find the cheapest tea and submit", ["answer", "submit the form"]),
        ("What is the password policy? Summarize it.", ["answer", "summarize the page"]),
        ("Click Named Entities", ['click "Named Entities"']),
        ("Click the Saying Goodbye link", ['click "Saying Goodbye"']),
        ("Click First Post", ['click "First Post"']),
        ("Click the First Article", ['click "First Article"']),
        ("Give me the author of the page", ['answer "the author of the page"']),
        ("Get the price of the first result", ['answer "the price of the first result"']),
        ("Type hello   world into Notes", ['type "hello   world" into "Notes"']),
        (
            "Type John as first name into the Name field",
            ['type "John as first name" into "Name"'],
        ),
    ],
)
def test_second_review_regressions(instruction: str, expected: list[str]) -> None:
    said = [x.describe() for x in plan_instruction(instruction)]
    assert [d if d in expected else d.split(" ")[0] for d in said] == expected


@pytest.mark.parametrize(
    "instruction",
    [
        # A comma or "then" the user wrote is not taken back: the piece stays refused.
        "Fill the Notes field with hi, then save",
        # A page of the site, not the site: only its home page would open.
        "Go to the contact page on example.com",
        "Open the pricing page at x.test",
        "hover over",
    ],
)
def test_second_review_not_guessed(instruction: str) -> None:
    with pytest.raises(InstructionNotUnderstood):
        plan_instruction(instruction)


@pytest.mark.parametrize(
    ("instruction", "secret"),
    [
        ("enter hunter2 as my pw", "hunter2"),
        ("enter ada as the username and hunter2 as the password and frobnicate", "hunter2"),
        ("enter hunter2! as your password", "hunter2"),
    ],
)
def test_a_password_typed_into_its_field_shows_nowhere(instruction: str, secret: str) -> None:
    try:
        actions = plan_instruction(instruction)
    except InstructionNotUnderstood as exc:
        assert secret not in exc.message
        return
    assert secret not in " ".join(x.describe() for x in actions)
    assert secret not in render_replay(actions).script


def test_a_long_run_of_refused_pieces_is_not_slow() -> None:
    # A hang guard: each refused piece was once tried joined to the one before.
    started = time.monotonic()
    with pytest.raises(InstructionNotUnderstood):
        plan_instruction("search for x" + ", then y" * 2000)
    assert time.monotonic() - started < 5


# Found by a third review, of the session's start against its end (1,764 instructions).
@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        ("Fill Message with Hello from x.test", ['type "Hello from x.test" into "Message"']),
        (
            "Type I found you via google.com into Source",
            ['type "I found you via google.com" into "Source"'],
        ),
        ("Click Review and submit", ['click "Review and submit"']),
        (
            "Fill Name with Ada, then click Review and submit",
            ['type "Ada" into "Name"', 'click "Review and submit"'],
        ),
        (
            "Fill Notes with Urgent, read before Monday",
            ['type "Urgent, read before Monday" into "Notes"'],
        ),
        ("Type 'hunter2' into the password field!", ['type "••••" into "password"']),
        ("Click the Buy pass button!", ['click "Buy pass"']),
        (
            "Fill Email with ada@x.test and Password with hunter2, then submit",
            ['type "ada@x.test" into "Email"', 'type "••••" into "Password"', "submit the form"],
        ),
        (
            "Open https://en.wikipedia.org/wiki/Alan_Turing and find his birth date on Wikipedia",
            [
                "open https://en.wikipedia.org/wiki/Alan_Turing",
                'answer "his birth date on Wikipedia"',
            ],
        ),
        ("Check Status", ['check "Status"']),
        ("Check Status and click Save", ['check "Status"', 'click "Save"']),
        (
            "Open the login page on example.com and log in as ada / hunter2",
            ["open https://example.com", 'log in as "ada" (password ••••)'],
        ),
    ],
)
def test_third_review_regressions(instruction: str, expected: list[str]) -> None:
    assert [x.describe() for x in plan_instruction(instruction)] == expected


@pytest.mark.parametrize(
    "instruction",
    ["Show me the cart", "Get the settings", "Does the page mention Python or Rust?"],
)
def test_third_review_not_guessed(instruction: str) -> None:
    with pytest.raises(InstructionNotUnderstood):
        plan_instruction(instruction)


# Found by a fourth review, of the third one's fixes.
@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        # A password's value is never cut, nor ordinary text into made-up fields.
        ("Fill Password with salt and pepper with rice", ['type "••••" into "Password"']),
        (
            "Fill Notes with bread and butter with jam",
            ['type "bread and butter with jam" into "Notes"'],
        ),
        (
            "Fill Name with Ada at https://x.test/form and submit",
            ["open https://x.test/form", 'type "Ada" into "Name"', "submit the form"],
        ),
        ("Select Small from Size and submit", ['select "Small" in "Size"', "submit the form"]),
        ("Press Enter and submit", ["press Enter", "submit the form"]),
        (
            "Does the page say Terms and Conditions?",
            ['check whether the page contains "Terms and Conditions"'],
        ),
        (
            "Check that the page says 1,000 results",
            ['verify that the page contains "1,000 results"'],
        ),
        (
            "Does the page say Welcome back, Ada?",
            ['check whether the page contains "Welcome back, Ada"'],
        ),
        ("Show me the price of the book", ['answer "the price of the book"']),
        ("Find a laptop on Amazon", ["open https://www.amazon.com/s?k=a+laptop"]),
        (
            "Look up the population of France on Wikipedia",
            ['answer "the population of France on Wikipedia"'],
        ),
        ("Check Price of the book", ['answer "Price of the book"']),
    ],
)
def test_fourth_review_regressions(instruction: str, expected: list[str]) -> None:
    assert [x.describe() for x in plan_instruction(instruction)] == expected


@pytest.mark.parametrize(
    "instruction",
    [
        "Check if the page contains cats, dogs and birds",
        "Open the catalog page at x.test and count the teas",  # "catalog" is no "log in"
        "Fill Name with Ada, submit form",
        "Search for laptops, verify results appear",
    ],
)
def test_fourth_review_not_guessed(instruction: str) -> None:
    with pytest.raises(InstructionNotUnderstood):
        plan_instruction(instruction)


# Found by a fifth review, of the session's start against its end (3,043 instructions).
@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        (
            "Fill Notes with meet at https://zoom.us/j/123",
            ['type "meet at https://zoom.us/j/123" into "Notes"'],
        ),
        (
            "Open https://x.test/p/1 and find the price on Amazon",
            ["open https://x.test/p/1", 'answer "the price on Amazon"'],
        ),
        ("Find out the price on Amazon", ['answer "the price on Amazon"']),
        (
            "Fill the Message field with Hi John and Mary with love",
            ['type "Hi John and Mary with love" into "Message"'],
        ),
        (
            "Fill Message with Hi team, read the attached report before the meeting",
            ['type "Hi team, read the attached report before the meeting" into "Message"'],
        ),
        ("Click Ships from amazon.com", ['click "Ships from amazon.com"']),
    ],
)
def test_fifth_review_regressions(instruction: str, expected: list[str]) -> None:
    assert [x.describe() for x in plan_instruction(instruction)] == expected


def test_fifth_review_leaks_and_slowness() -> None:
    with pytest.raises(InstructionNotUnderstood) as caught:
        plan_instruction(
            "Fill Email with ada@x.test and Password with hunter2 at https://x.test/login"
        )
    assert "hunter2" not in caught.value.message
    with pytest.raises(InstructionNotUnderstood):
        plan_instruction("Does the page list Ada Lovelace as an author?")  # not a text search
    # A hang guard: the value before "as the password" was searched from every position.
    started = time.monotonic()
    with pytest.raises(InstructionNotUnderstood):
        plan_instruction("Frobnicate " + "a" * 20000)
    assert time.monotonic() - started < 3  # 0.05 s here; 1.7 s at 12,000 before


# Found by a sixth review, of the fifth one's fixes (3,161 instructions).
@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        (
            "Fill Email with ada@x.test and Confirm Password with hunter2",
            ['type "ada@x.test" into "Email"', 'type "••••" into "Confirm Password"'],
        ),
        (
            "Fill Name with Ada and Message with Hello",
            ['type "Ada" into "Name"', 'type "Hello" into "Message"'],
        ),
        (
            "Fill Message with Call mom and address with care",
            ['type "Call mom and address with care" into "Message"'],
        ),
        (
            "Find the cheapest laptop on Amazon",
            ["open https://www.amazon.com/s?k=the+cheapest+laptop"],
        ),
        (
            "Look up the weather in London on Google",
            ["open https://www.google.com/search?q=the+weather+in+London"],
        ),
        (
            "Check that the page says Logged in as Ada",
            ['verify that the page contains "Logged in as Ada"'],
        ),
    ],
)
def test_sixth_review_regressions(instruction: str, expected: list[str]) -> None:
    assert [x.describe() for x in plan_instruction(instruction)] == expected


@pytest.mark.parametrize(
    ("instruction", "secret"),
    [("Enter ada,hunter2 as the password and frobnicate", "hunter2"),
     ("Enter ada;hunter2 as the password and frobnicate", "hunter2")],
)  # fmt: skip
def test_sixth_review_password_in_errors(instruction: str, secret: str) -> None:
    with pytest.raises(InstructionNotUnderstood) as caught:
        plan_instruction(instruction)
    assert secret not in caught.value.message


@pytest.mark.parametrize(
    "instruction",
    [
        "Fill Name with Ada, verify the total is 5",
        "Enter 5 into Quantity, ensure the price updates",
    ],
)
def test_sixth_review_not_guessed(instruction: str) -> None:
    with pytest.raises(InstructionNotUnderstood):
        plan_instruction(instruction)


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        (f"Open {E} and return the page as markdown", [Navigate(E), Extract("markdown")]),
        (f"Convert {E} to Markdown", [Navigate(E), Extract("markdown")]),
        (f"Scrape {E} as markdown", [Navigate(E), Extract("markdown")]),
        (f"Get the markdown of {E}", [Navigate(E), Extract("markdown")]),
        ("Give me the content in markdown format", [Extract("markdown")]),
        ("convert the HTML to markdown", [Extract("markdown")]),
        (f"Return the full HTML of {E}", [Navigate(E), Extract("html")]),
        (f"Grab me the HTML source of {E}", [Navigate(E), Extract("html")]),
        ("Return the page source", [Extract("html")]),
        ("Show me the source code of the page", [Extract("html")]),
        ("Get the raw html", [Extract("html")]),
    ],
)
def test_the_page_as_markdown_or_html(instruction: str, expected: list[object]) -> None:
    actions = plan_instruction(instruction)
    assert actions == expected
    replay = render_replay(actions)
    assert replay.replayable and plan_instruction(replay.script) == expected


@pytest.mark.parametrize(
    "instruction",
    ["What is the source of the claim?", "Return the source", "Find the source code link"],
)
def test_a_source_is_not_the_pages_html(instruction: str) -> None:
    try:
        actions = plan_instruction(instruction)
    except InstructionNotUnderstood:
        return
    assert Extract("html") not in actions, actions


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        # Before: all of "a@b.c, Password with x" was typed into Email, password shown.
        (
            "Fill Email with a@b.c, Password with x",
            [TypeText("Email", "a@b.c"), TypeText("Password", "x")],
        ),
        (
            "Fill Name with Ada, Email with a@b.c, and 'Password' with pw",
            [TypeText("Name", "Ada"), TypeText("Email", "a@b.c"), TypeText("Password", "pw")],
        ),
        # A free-text field's value keeps its comma unless a capitalised field follows.
        ("Fill Message with Hi, thanks with love", [TypeText("Message", "Hi, thanks with love")]),
    ],
)
def test_fields_listed_with_commas(instruction: str, expected: list[object]) -> None:
    assert plan_instruction(instruction) == expected


def test_a_hosts_markdown_or_html_but_not_a_code_names_source() -> None:
    assert plan_instruction("Get the HTML of example.org") == [
        Navigate("https://example.org"),
        Extract("html"),
    ]
    assert Navigate("https://numpy.sum") not in plan_instruction(
        "What is the source code of numpy.sum"
    )


# Found by a review of the Markdown/HTML and comma rules, each misread by their first version.
@pytest.mark.parametrize(
    "instruction",
    [
        "What is markdown?",
        "What's HTML5?",
        "What is the DOM?",
        "What are markdown and html?",
        "Get the html of numpy.sum",
        "Give me the code in markdown",
        "Get the source code of github.com/psf/requests",
        "Convert markdown to HTML",
        "Render the markdown",
    ],
)
def test_not_the_pages_markdown_or_html(instruction: str) -> None:
    try:
        actions = plan_instruction(instruction)
    except InstructionNotUnderstood:
        return
    assert not any(isinstance(x, Extract) for x in actions), actions
    assert Navigate("https://numpy.sum") not in actions


@pytest.mark.parametrize(
    "instruction",
    [
        "Summarize the page and return it as markdown",
        "Extract the table and return it as markdown",
        f"Find the pricing on {E} and return it as markdown",
    ],
)
def test_a_result_before_is_not_reformatted_as_the_page(instruction: str) -> None:
    with pytest.raises(InstructionNotUnderstood, match="cannot reformat the result before it"):
        plan_instruction(instruction)


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        (
            "Search shop.example for 'python'",
            [Navigate("https://shop.example"), TypeText("search", "python"), PressKey("Enter")],
        ),
        (
            "Fill Search with Dune, Gone with the Wind",
            [TypeText("Search", "Dune, Gone with the Wind")],
        ),
        # A password's value is never cut, wherever its field comes.
        (
            "Fill Email with a@b.c, Password with Tom, Jerry with cheese1",
            [TypeText("Email", "a@b.c"), TypeText("Password", "Tom, Jerry with cheese1")],
        ),
        (
            "Fill Name with Ada, Message with Hi, Thanks with love",
            [TypeText("Name", "Ada"), TypeText("Message", "Hi, Thanks with love")],
        ),
    ],
)
def test_review_of_commas_and_search(instruction: str, expected: list[object]) -> None:
    assert plan_instruction(instruction) == expected


# Found by a second review (4,547 instructions against the session's start).
def test_second_review_of_search_fills_and_documents() -> None:
    # A code name is no site to open: its words are searched on the page at hand.
    assert plan_instruction("Search os.path for join")[0] == TypeText("search", "os.path for join")
    assert plan_instruction("Fill Notes with Please deliver after 5pm, Phone with care") == [
        TypeText("Notes", "Please deliver after 5pm, Phone with care")
    ]
    with pytest.raises(InstructionNotUnderstood, match="cannot reformat"):
        plan_instruction("Summarize the article, output in markdown")
    assert Extract("markdown") not in plan_instruction("Find the markdown file")
    assert plan_instruction(
        "Check that the page says Welcome, then return this page as markdown"
    ) == [CheckText("Welcome", expect=True), Extract("markdown")]


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        ("Sort by price", [SortBy("price")]),
        ("sort the results by price from low to high", [SortBy("price from low to high")]),
        (f"Open {E}, order the list by date", [Navigate(E), SortBy("date")]),
        # Not typed into the search box with the words before it.
        (
            "Search for tea, then sort the results by price",
            [TypeText("search", "tea"), PressKey("Enter"), SortBy("price")],
        ),
    ],
)
def test_sort(instruction: str, expected: list[object]) -> None:
    actions = plan_instruction(instruction)
    assert actions == expected
    replay = render_replay(actions)
    assert replay.replayable and plan_instruction(replay.script) == expected


def test_ordering_a_thing_is_no_sort() -> None:
    with pytest.raises(InstructionNotUnderstood):
        plan_instruction("Order pizza by phone")


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        ("I want the page as markdown", [Extract("markdown")]),
        ("I need the links on example.com", [Navigate(E), Extract("links")]),
        ("I'd like a screenshot of example.com", [Navigate(E), TakeScreenshot()]),
        # A wish that is no result stays a question.
        ("I want to know the price of Sencha", [Answer("the price of Sencha")]),
        ("I want the cheapest laptop", [Answer("the cheapest laptop")]),
    ],
)
def test_a_wish_is_the_request(instruction: str, expected: list[object]) -> None:
    assert plan_instruction(instruction) == expected


@pytest.mark.parametrize(
    ("shown", "check", "passes"),
    [
        ("Example  Domain", CheckText("example domain", part="title", how="is"), True),
        ("Example Domain", CheckText("Example", part="title", how="is"), False),
        ("Example Domain", CheckText("Exam", part="title"), False),  # whole words
        ("Example Domain", CheckText("exam", part="title", how="starts with"), True),
        ("https://a.test/x/", CheckText("a.test/x", part="url", how="is"), True),
        ("https://www.a.test/x", CheckText("a.test/x", part="url", how="is"), True),
        ("https://a.test/x", CheckText("http://a.test/x", part="url", how="is"), False),
        ("https://a.test/x?q=1", CheckText("/x?q=1", part="url", how="is"), True),
        ("https://a.test/login/", CheckText("/login", part="url", how="ends with"), True),
        ("https://a.test/dashboard-v2", CheckText("dashboard", part="url"), True),
        ("https://a.test/x", CheckText("a.test", part="url", how="starts with"), True),
        # Found by a review: the scheme is kept when the text names it, "/" as written,
        # the query aside when the text has none, percent-escapes and marks as shown.
        ("https://a.test/", CheckText("https", part="url", how="starts with"), True),
        ("https://a.test/login", CheckText("/", part="url", how="ends with"), False),
        ("https://a.test/?utm=1", CheckText("https://a.test/", part="url", how="is"), True),
        ("https://a.test/login?next=%2F", CheckText("/login", part="url", how="ends with"), True),
        ("https://a.test/s?q=Hello%20World", CheckText("q=Hello World", part="url"), True),
        ("https://www.a.test/", CheckText("https://a.test", part="url", how="is"), True),
        ("Don’t panic", CheckText("Don't panic", part="title", how="is"), True),
        ("Welcome!", CheckText("Welcome", part="heading", how="is"), True),
        ("A\u200bB – C", CheckText("AB - C", part="title", how="is"), True),
    ],
)
def test_how_a_check_compares(shown: str, check: CheckText, passes: bool) -> None:
    from nodes.agent.act.handlers import _check_matches

    assert _check_matches(shown, check) is passes


# Found by an outside review on pages imitating real sites: a file or a name in code was
# opened as a host ("https://README.md", "https://json.loads").
def test_a_file_name_on_an_open_page_is_a_link_and_a_code_name_is_no_host() -> None:
    repo = "https://github.com/acme/fastgrid"
    assert plan_instruction(f"Go to {repo} and open README.md, then tell me the license") == [
        Navigate(repo),
        Click("README.md"),
        Answer("the license"),
    ]
    assert plan_instruction(f"Open {repo} and then open CHANGELOG.md")[1] == Click("CHANGELOG.md")
    docs = "https://docs.python.org/3/library/json.html"
    assert plan_instruction(f"Open {docs} and open json.loads")[1] == Click("json.loads")
    for question in (
        "in which version was the encoding argument removed from json.loads",
        "what you get back from json.dumps",
    ):
        assert plan_instruction(f"Open {docs} and tell me {question}") == [
            Navigate(docs),
            Answer(question),
        ]
    with pytest.raises(InstructionNotUnderstood):  # before: https://numpy.sum opened
        plan_instruction("Open https://numpy.org/doc and return the title of numpy.sum")


@pytest.mark.parametrize(
    ("written", "url", "after_a_page"),
    [
        # A site while no page is open; once one is, a file name is its link.
        ("lib.rs", "https://lib.rs", Click("lib.rs")),
        ("999.md", "https://999.md", Navigate("https://999.md")),
        ("example.com", "https://example.com", Navigate("https://example.com")),
        # Special-use names of test and intranet sites are hosts.
        ("shop.test", "https://shop.test", Navigate("https://shop.test")),
        ("wiki.corp", "https://wiki.corp", Navigate("https://wiki.corp")),
        ("bücher.de", "https://bücher.de", Navigate("https://bücher.de")),
        ("https://README.md", "https://README.md", Navigate("https://README.md")),
        ("localhost:8000/a.html", "http://localhost:8000/a.html", None),
    ],
)
def test_a_host_is_a_name_under_a_top_level_domain(
    written: str, url: str, after_a_page: object
) -> None:
    assert plan_instruction(f"Open {written}") == [Navigate(url)]
    second = plan_instruction(f"Open https://x.org and then open {written}")[1]
    assert second == (after_a_page or Navigate(url))


@pytest.mark.parametrize(
    ("clause", "words"),
    [
        ("search the docs for 'pickle'", "pickle"),  # before: "the docs for pickle" typed
        ("search this site for pricing", "pricing"),
        ("search the Python documentation for asyncio", "asyncio"),
        ("search the forum for login issues", "login issues"),
        ("search for the cheapest flight for two", "the cheapest flight for two"),
    ],
)
def test_search_where_for_what_types_only_what(clause: str, words: str) -> None:
    assert plan_instruction(f"Open https://x.org and {clause}")[1:] == [
        TypeText("search", words),
        PressKey("Enter"),
    ]
