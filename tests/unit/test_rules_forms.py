"""The rules planner's forms, without a browser: credentials written any usual way,
form descriptions read into values and matched to a form's fields, and passwords kept
out of step descriptions."""

from __future__ import annotations

import pytest

from nodes.agent import actions as a
from nodes.agent.forms.describe import (
    Description,
    FormField,
    Value,
    assign,
    meaning_of,
    normalize_time,
    parse_description,
)
from nodes.agent.loop.redact import Redactor
from nodes.agent.rules.planner import plan_instruction
from shared.errors import InstructionNotUnderstood

URL = "http://localhost:8000/login"


@pytest.mark.parametrize(
    ("instruction", "user", "password"),
    [
        ("Log in (user ada, password s3cret)", "ada", "s3cret"),
        ("Sign in as ada / s3cret", "ada", "s3cret"),
        ("sign in as ada/s3cret", "ada", "s3cret"),
        ("Log in with username ada and password s3cret", "ada", "s3cret"),
        ("log in with user name 'ada' and the password 'two words'", "ada", "two words"),
        ("Login: ada, pass: s3cret", "ada", "s3cret"),
        ("login with email ada@example.com, password: s3cret", "ada@example.com", "s3cret"),
        ("Log in with the credentials ada:s3cret", "ada", "s3cret"),
        ("credentials ada:se:cret", "ada", "se:cret"),
        ("Use the account ada (password s3cret)", "ada", "s3cret"),
        (
            "Sign in as ada@example.com with password 'p@ss, word!'",
            "ada@example.com",
            "p@ss, word!",
        ),
        ("log in to the admin site as admin with password hunter22", "admin", "hunter22"),
        ("Sign-in using username=ada password=s3cret", "ada", "s3cret"),
        ("authenticate as ada with pwd s3cret", "ada", "s3cret"),
    ],
)
def test_credentials_in_any_usual_form(instruction: str, user: str, password: str) -> None:
    assert plan_instruction(instruction) == [a.LogIn(user, password)]


@pytest.mark.parametrize(
    "instruction",
    [
        f"Log into {URL} as ada with password s3cret",
        f"log in at {URL} as ada / s3cret",
        f"Open {URL} and log in as ada / s3cret",
        f"Open {URL}, login: ada, pass: s3cret",
        f"Go to {URL}. Use the account ada (password s3cret).",
    ],
)
def test_credentials_at_a_url(instruction: str) -> None:
    assert plan_instruction(instruction) == [a.Navigate(URL), a.LogIn("ada", "s3cret")]


def test_log_in_without_credentials_is_still_the_goal_phrase() -> None:
    (action,) = plan_instruction("Log in")
    assert isinstance(action, a.ClickAny) and action.goal == "log in"


@pytest.mark.parametrize(
    "instruction", ["Sign in with Google", "log in as ada", "use the search box to find tea"]
)
def test_no_password_no_login(instruction: str) -> None:
    try:
        actions = plan_instruction(instruction)
    except InstructionNotUnderstood:
        return
    assert not any(isinstance(x, a.LogIn) for x in actions)


def test_the_password_is_in_no_description_or_repr() -> None:
    (login,) = plan_instruction("Sign in as ada / s3cret")
    assert login.describe() == 'log in as "ada" (password ••••)'
    assert "s3cret" not in repr(login)  # not the password, nor the clause that holds it
    typed = plan_instruction("Type 's3cret' into 'Password'")[0]
    assert typed.describe() == 'type "••••" into "Password"'
    assert plan_instruction("Type 'ada' into 'User'")[0].describe() == 'type "ada" into "User"'


def test_the_redactor_masks_what_a_page_echoes() -> None:
    redactor = Redactor()
    redactor.learn(a.Navigate("http://x.test/"))
    redactor.learn(a.LogIn("ada", "p@ss word!"))
    redactor.learn(a.TypeText("PIN", "12"))  # too short to mask everywhere
    masked = redactor.mask("/login?secret=p%40ss+word%21 and p%40ss%20word%21: p@ss word! 12")
    assert masked == "/login?secret=•••• and ••••: •••• 12"


@pytest.mark.parametrize(
    "instruction",
    [
        "Use the order form at http://localhost:8000/pizza.html to order a medium pizza "
        "with bacon for Ada Lovelace, phone 555-0100",
        "Open http://localhost:8000/pizza.html and order a medium pizza with bacon for "
        "Ada Lovelace, phone 555-0100",
    ],
)
def test_order_clauses(instruction: str) -> None:
    navigate, fill = plan_instruction(instruction)
    assert navigate == a.Navigate("http://localhost:8000/pizza.html")
    assert fill == a.FillForm("order a medium pizza with bacon for Ada Lovelace, phone 555-0100")


def test_fill_in_the_form_with_a_description() -> None:
    assert plan_instruction("Fill in the contact form with name Ada, email 'ada@x.test'") == [
        a.FillForm("name Ada, email 'ada@x.test'")
    ]
    assert plan_instruction("Book a table for Ada at 19:30") == [
        a.FillForm("Book a table for Ada at 19:30")
    ]
    # A field named with "with" is still typing into that field.
    assert plan_instruction("Fill the Name field with Ada") == [a.TypeText("Name", "Ada")]
    # "order" is a sort here, not an order form to fill.
    assert plan_instruction("order the results by price") == [a.SortBy("price")]


def test_a_description_read_into_values_and_words() -> None:
    parsed = parse_description(
        "a medium pizza with bacon and onions for Ada Lovelace, phone 555-0100, "
        "e-mail ada@example.com, delivered at 7:30 pm, note 'ring twice, then wait'"
    )
    assert set(parsed.values) == {
        Value("name", "Ada Lovelace"),
        Value("phone", "555-0100"),
        Value("email", "ada@example.com"),
        Value("time", "19:30"),
        Value("comments", "ring twice, then wait"),
    }
    assert parsed.words == ("medium", "pizza", "bacon", "onions")


def test_keys_the_user_names_and_bare_values() -> None:
    parsed = parse_description("Size: large; crust = thin, +44 20 7946 0958, on 2026-12-24")
    assert set(parsed.values) == {
        Value("size", "large"),
        Value("crust", "thin"),
        Value("phone", "+44 20 7946 0958"),
        Value("date", "2026-12-24"),
    }
    # "for delivery" names nobody; "at 7" is no time of day.
    assert parse_description("for delivery at 7").values == ()


@pytest.mark.parametrize(
    ("written", "time"),
    [(("19", "30", None), "19:30"), (("7", "30", "pm"), "19:30"), (("12", None, "am"), "00:00")],
)
def test_times_of_day(written: tuple[str, str | None, str | None], time: str) -> None:
    assert normalize_time(*written) == time


PIZZA = (
    FormField(ref=0, kind="text", name="custname", label="Customer name"),
    FormField(ref=1, kind="tel", name="custtel", label="Telephone"),
    FormField(ref=2, kind="email", name="custemail", label="E-mail address"),
    FormField(ref=3, kind="radio", name="size", label="Small", group="Pizza Size", value="small"),
    FormField(ref=4, kind="radio", name="size", label="Medium", group="Pizza Size", value="medium"),
    FormField(ref=5, kind="radio", name="size", label="Large", group="Pizza Size", value="large"),
    FormField(ref=6, kind="checkbox", name="topping", label="Bacon", group="Pizza Toppings"),
    FormField(ref=7, kind="checkbox", name="topping", label="Extra Cheese", group="Pizza Toppings"),
    FormField(ref=8, kind="checkbox", name="topping", label="Onion", group="Pizza Toppings"),
    FormField(ref=9, kind="time", name="delivery", label="Preferred delivery time"),
    FormField(ref=10, kind="textarea", name="comments", label="Delivery instructions"),
    FormField(ref=11, kind="select", name="crust", label="Crust", options=("Thin", "Deep pan")),
)


def _assigned(description: str) -> tuple[dict[int, str], list[Value]]:
    done, missed = assign(parse_description(description), PIZZA)
    return {x.field.ref: x.value for x in done}, missed


def test_values_go_to_fields_of_their_meaning() -> None:
    done, missed = _assigned(
        "a medium pizza with bacon, onions and cheese for Ada, phone 555-0100, "
        "at 19:30, note 'ring twice', deep pan"
    )
    assert done == {
        0: "Ada",
        1: "555-0100",
        4: "on",
        6: "on",
        7: "on",
        8: "on",
        9: "19:30",
        10: "ring twice",
        11: "Deep pan",
    }
    assert missed == []


def test_a_key_the_user_names_chooses_an_option() -> None:
    done, _ = _assigned("size: large, crust: thin, for Ada")
    assert done == {0: "Ada", 5: "on", 11: "Thin"}


def test_a_value_no_field_takes_is_reported() -> None:
    done, missed = _assigned("for Ada, address: 1 Main Street, email: not-an-email")
    assert done == {0: "Ada"}
    assert missed == [Value("address", "1 Main Street"), Value("email", "not-an-email")]


def test_field_meanings() -> None:
    assert [meaning_of(f) for f in PIZZA if f.kind not in ("radio", "checkbox", "select")] == [
        "name",
        "phone",
        "email",
        "time",
        "comments",
    ]
    assert meaning_of(FormField(ref=0, kind="text", autocomplete="tel")) == "phone"
    assert assign(Description((), ("pizza",)), PIZZA) == ([], [])


@pytest.mark.parametrize(
    ("instruction", "quoted"),
    [
        # A clause that names a password is not quoted at all: where the password ends
        # in words the rules did not read is not known ("Fill Password with Tom and Jerry
        # with cheese1 at URL" showed "Jerry with cheese1").
        ("log in as ada with the password 's3cret' twice", None),
        ("log in (user ada, password s3cret) fast and open it", None),
        ("Fill Password with Tom and s3cret with cheese at https://x.test/login", None),
        ("Type R2 and s3cret into Password at https://x.test/login", None),
        # Without the word, a pair is quoted with its password masked.
        ("sign in as ada / s3cret quickly", "as ada / ••••"),
    ],
)
def test_a_clause_not_understood_is_quoted_without_its_password(
    instruction: str, quoted: str | None
) -> None:
    with pytest.raises(InstructionNotUnderstood) as caught:
        plan_instruction(instruction)
    assert "s3cret" not in str(caught.value)
    if quoted is None:
        assert "the clause that gives a password (not quoted here" in str(caught.value)
    else:
        assert quoted in str(caught.value)


def test_a_booking_with_a_date_in_words_and_a_number_of_people() -> None:
    parsed = parse_description("a table for 4 people on 24th December 2026 at 8 pm for Ada")
    assert set(parsed.values) == {
        Value("quantity", "4"),
        Value("date", "2026-12-24"),
        Value("time", "20:00"),
        Value("name", "Ada"),
    }
    assert parse_description("on Dec 3, 2026").values == (Value("date", "2026-12-03"),)
    booking = (
        FormField(ref=0, kind="text", name="who", label="Your name"),
        FormField(ref=1, kind="number", name="guests", label="Number of guests"),
        FormField(ref=2, kind="date", name="day", label="Day"),
        FormField(ref=3, kind="time", name="at", label="Arrival"),
    )
    done, missed = assign(parsed, booking)
    assert [(x.field.ref, x.value) for x in done] == [
        (0, "Ada"),
        (1, "4"),
        (2, "2026-12-24"),
        (3, "20:00"),
    ]
    # A form with no field for how many is no reason to fail.
    assert assign(parse_description("2 pizzas for Ada"), PIZZA) == (
        assign(parse_description("pizzas for Ada"), PIZZA)
    )


def test_a_signup_description_with_a_password() -> None:
    (fill,) = plan_instruction(
        "Fill in the signup form with email ada@x.test, password 'p@ss: word', name Ada"
    )
    assert "p@ss" not in fill.describe() and "p@ss" not in repr(fill)
    assert fill.describe() == 'fill in the form: "email ada@x.test, password ••••, name Ada"'
    signup = (
        FormField(ref=0, kind="text", name="full_name", label="Full name"),
        FormField(ref=1, kind="email", name="email", label="Email"),
        FormField(ref=2, kind="password", name="pw1", label="Password"),
        FormField(ref=3, kind="password", name="pw2", label="Repeat it"),
    )
    done, missed = assign(parse_description(fill.description), signup)
    assert [(x.field.ref, x.value) for x in done] == [
        (0, "Ada"),
        (1, "ada@x.test"),
        (2, "p@ss: word"),
        (3, "p@ss: word"),  # the confirmation too
    ]
    assert missed == []
    redactor = Redactor()
    redactor.learn(fill)
    assert redactor.mask("echo: p@ss: word") == "echo: ••••"


@pytest.mark.parametrize(
    ("field", "secret"),
    [("Password", True), ("user_pass", True), ("PIN", True), ("Passport number", False),
     ("Passenger name", False), ("Spin speed", False)],
)  # fmt: skip
def test_which_fields_take_secrets(field: str, secret: bool) -> None:
    typed = a.TypeText(field, "Ada Lovelace")
    assert ("Ada Lovelace" not in typed.describe()) is secret
