"""Changing an application's records in free phrasing (nodes/agent/rules/records.py):
the grammar's own steps, compiled without a browser. The phrasings are not the agent
suite's."""

from __future__ import annotations

import pytest

from nodes.agent import plan_instruction
from nodes.agent.actions import ClickAny, SetChecked, TypeText, WaitForText
from shared.errors import InstructionNotUnderstood


def _steps(instruction: str) -> list[str]:
    return [action.describe() for action in plan_instruction(instruction)]


@pytest.mark.parametrize(
    ("instruction", "field", "name"),
    [
        ("create a new category named Gardening", "name", "Gardening"),
        ("Add a tag called 'needs review'", "name", "needs review"),
        ("please set up a team named Night Shift", "name", "Night Shift"),
        ("Open a new ticket titled 'Cannot upload photos'", "title", "Cannot upload photos"),
        ("file a bug: 'Crash on start'", "title", "Crash on start"),
        ("Post a new article with the title 'Hello world'", "title", "Hello world"),
        ("register a new project called Apollo", "name", "Apollo"),
        ("Raise a ticket 'VPN drops every hour'", "title", "VPN drops every hour"),
    ],
)
def test_create_a_record_goes_to_its_form_types_the_name_saves_and_waits_for_it(
    instruction: str, field: str, name: str
) -> None:
    actions = plan_instruction(instruction)
    assert isinstance(actions[0], ClickAny) and isinstance(actions[1], ClickAny)
    assert actions[2] == TypeText(field, name)
    assert isinstance(actions[3], ClickAny) and "Save" in actions[3].names
    # A form sent back with errors does not show the name as text: the run fails there.
    assert actions[4] == WaitForText(name)


def test_create_a_record_on_a_site_opens_it_first() -> None:
    steps = _steps("report a new issue called 'Slow search' on https://bugs.example/tracker/")
    assert steps[0] == "open https://bugs.example/tracker/"
    assert 'type "Slow search" into "title"' in steps


@pytest.mark.parametrize(
    "instruction",
    [
        "Open the page called 'Pricing'",  # a page to open, not a record to create
        "open a new tab",
        "add milk to the basket",
    ],
)
def test_what_is_not_a_new_record(instruction: str) -> None:
    try:
        steps = _steps(instruction)
    except InstructionNotUnderstood:
        return
    assert not any(step.startswith("type ") for step in steps)


@pytest.mark.parametrize(
    ("instruction", "who", "label", "checked"),
    [
        ("make bob an editor", "bob", "editor", True),
        ("Make user carol a superuser", "carol", "superuser", True),
        ("give dave admin rights", "dave", "admin", True),
        ("grant erin staff access", "erin", "staff", True),
        ("promote frank to moderator", "frank", "moderator", True),
        ("deactivate the account of gina", "gina", "Active", False),
        ("disable user hank", "hank", "Active", False),
        ("Re-activate ivan", "ivan", "Active", True),
        ("deactivate judy's account", "judy", "Active", False),
    ],
)
def test_roles_and_flags_tick_the_checkbox_on_the_users_page(
    instruction: str, who: str, label: str, checked: bool
) -> None:
    steps = _steps(instruction)
    assert steps[1] == f'click "{who}"'
    assert SetChecked(label, checked) in plan_instruction(instruction)
    assert steps[-1] == "save"


def test_a_role_after_credentials_in_a_sentence_of_their_own() -> None:
    steps = _steps(
        "The back office is at https://shop.example/admin/, user root, password 'x y z'. "
        "Make kim a staff member."
    )
    assert steps[:3] == [
        "open https://shop.example/admin/",
        'log in as "root" (password ••••)',
        "go to the users",
    ]
    assert "x y z" not in " ".join(steps)


@pytest.mark.parametrize(
    "instruction",
    [
        "Open https://office.example/. Add a tag called 'needs review'. Return the title.",
        "Open https://office.example/. Give dave admin rights",
        "Open https://office.example/. Disable user hank. Accept the cookies",
    ],
)
def test_the_replay_script_of_a_record_change_compiles_to_the_same_steps(
    instruction: str,
) -> None:
    from nodes.agent.rules.replay import render_replay

    actions = plan_instruction(instruction)
    replay = render_replay(actions)
    assert replay.replayable
    assert plan_instruction(replay.script) == actions
