"""Where and as whom, said apart from the goal (nodes/agent/rules/context.py): pointers
to a page, credentials in a sentence or clause of their own, and the order they take in
the plan. The phrasings are not the agent suite's."""

from __future__ import annotations

import pytest

from nodes.agent import plan_instruction
from nodes.agent.actions import Answer, LogIn, Navigate
from nodes.agent.rules.forms import hide_passwords
from shared.errors import InstructionNotUnderstood

D = "https://docs.example/api.html"


@pytest.mark.parametrize(
    "instruction",
    [
        f"What does parse() return? Reference: {D}",
        f"what does parse() return? check {D}",
        f"What does parse() return? You can find it at {D}",
        f"what does parse() return? it's on {D}",
        f"What does parse() return? The manual lives at {D}",
        f"What does parse() return? Look it up on {D}.",
        f"What does parse() return? {D}",
        f"What does parse() return? source: {D}",
    ],
)
def test_a_page_named_after_the_question_is_opened_before_it(instruction: str) -> None:
    opened, answer = plan_instruction(instruction)
    assert opened == Navigate(D)
    assert isinstance(answer, Answer) and answer.question.lower() == "what does parse() return"


def test_a_page_named_after_a_page_was_opened_stays_where_it_is() -> None:
    actions = plan_instruction("Open https://a.example/. Return the title. Then b.example")
    assert actions[-1] == Navigate("https://b.example")


@pytest.mark.parametrize(
    "instruction",
    [
        "Credentials: root / hunter22. Open https://x.example/admin/ and return the title.",
        "Use root / hunter22 to log in. Open https://x.example/admin/, then return the title.",
        "Login root, pass hunter22. Then open https://x.example/admin/. Return the title.",
    ],
)
def test_credentials_before_any_page_are_used_on_the_first_page_opened(instruction: str) -> None:
    actions = plan_instruction(instruction)
    assert actions[:2] == [Navigate("https://x.example/admin/"), LogIn("root", "hunter22")]


@pytest.mark.parametrize(
    "instruction",
    [
        "My credentials for https://x.example/admin/ are root, password hunter22. "
        "Return the title.",
        "Return the title. The site is at https://x.example/admin/, login root, pass hunter22",
        "Go to https://x.example/admin/ (username: root, password: hunter22) and return the title",
        "Return the title of https://x.example/admin/ - user root, password hunter22",
        "Sign in to https://x.example/admin/ using root / hunter22, then return the title",
    ],
)
def test_credentials_attached_to_a_page_log_in_right_after_it(instruction: str) -> None:
    actions = plan_instruction(instruction)
    assert actions[:2] == [Navigate("https://x.example/admin/"), LogIn("root", "hunter22")]
    assert actions[-1].describe() == "return the title"


@pytest.mark.parametrize(
    "clause",
    [
        "frobnicate with root / hunter22",
        "frobnicate as root/hunter22",
        "frobnicate, password: hunter22",
    ],
)
def test_a_clause_not_understood_is_quoted_without_its_password(clause: str) -> None:
    assert "hunter22" not in hide_passwords(clause)
    with pytest.raises(InstructionNotUnderstood) as failed:
        plan_instruction(f"Open https://x.example/. {clause}")
    assert "hunter22" not in str(failed.value)


@pytest.mark.parametrize(
    ("question", "opened"),
    [
        ("what is the value of os.sep?", None),  # a name in code, not a host
        ("What's the default size of io.buffer?", None),
        ("What's the title of example.org?", "https://example.org"),  # what a page has
    ],
)
def test_a_dotted_name_in_a_question_is_a_host_only_after_what_a_page_has(
    question: str, opened: str | None
) -> None:
    actions = plan_instruction(question)
    navigated = [a.url for a in actions if isinstance(a, Navigate)]
    assert navigated == ([opened] if opened else [])


def test_check_the_site_at_url_then_a_question_is_no_checkbox() -> None:
    actions = plan_instruction("Check the wiki at https://wiki.example/ - who founded it?")
    assert actions == [Navigate("https://wiki.example/"), Answer("who founded it")]
