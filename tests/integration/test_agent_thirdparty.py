"""The rules planner on a third-party application: Django's admin site, installed from
PyPI and run locally. Its pages were not written for these tests: labels end in
colons, the search box is labelled by an icon, Save has look-alike buttons.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import BrowserContext

from nodes.agent import AgentResult, ScreenshotPolicy, StepRecord, run_agent
from shared.errors import ActionFailed
from tests.sites.django_admin import DjangoAdmin, serve_django_admin


@pytest.fixture(scope="module")
def admin() -> Iterator[DjangoAdmin]:
    with serve_django_admin() as server:
        yield server


@pytest.fixture()
def run(context: BrowserContext, admin: DjangoAdmin) -> Callable[[str], AgentResult]:
    login = (
        f"Open {admin.base_url}/admin/login/. Type '{admin.username}' into 'Username'. "
        f"Type '{admin.password}' into 'Password'. Click 'Log in'. "
    )

    def _run(instruction: str) -> AgentResult:
        return run_agent(
            context,
            login + instruction,
            policy=ScreenshotPolicy(),
            deadline=time.monotonic() + 60,
        )

    return _run


def test_log_in_navigate_and_search(run: Callable[[str], AgentResult]) -> None:
    result = run("Click 'Users'. Search for 'grace'. Return the text.")
    assert "/admin/auth/user/?q=grace" in result.final_url
    assert "1 result" in result.result and "grace@example.test" in result.result
    assert "ada@example.test" not in result.result


def test_edit_a_user_with_checkboxes(run: Callable[[str], AgentResult]) -> None:
    result = run(
        "Click 'Users'. Click 'ada'. Uncheck 'Active'. Check 'Staff status'. "
        "Click 'Save'. Return the text. Click 'ada'. List the form fields."
    )
    saved, fields = result.result.split("\n\n", 1)
    assert "The user “ada” was changed successfully." in saved
    values = json.loads(fields)
    assert values["Active"] is False and values["Staff status"] is True
    assert values["Superuser status"] is False and values["Username:"] == "ada"


def test_add_a_group_and_go_back(run: Callable[[str], AgentResult]) -> None:
    result = run(
        "Click 'Groups'. Click 'Add group'. Type 'Editors' into 'Name'. Click 'Save'. "
        "Return the text. Go back. Return the title."
    )
    saved, title = result.result.split("\n\n")
    assert "The group “Editors” was added successfully." in saved
    assert title.startswith("Add group")


def test_log_in_with_credentials_in_words(context: BrowserContext, admin: DjangoAdmin) -> None:
    def run(instruction: str, steps: list[StepRecord]) -> AgentResult:
        return run_agent(
            context,
            instruction,
            policy=ScreenshotPolicy(),
            deadline=time.monotonic() + 60,
            on_step=steps.append,
        )

    steps: list[StepRecord] = []
    with pytest.raises(ActionFailed, match="did not accept the credentials") as caught:
        run(
            f"Log into {admin.base_url}/admin/login/ as {admin.username} / 'x{admin.password}'",
            steps,
        )
    assert "Please enter the correct username and password" in str(caught.value)
    result = run(
        f"Open {admin.base_url}/admin/login/ and sign in with username {admin.username} and "
        f"password '{admin.password}'. Return the title.",
        steps,
    )
    assert result.result.startswith("Site administration")
    reported = " ".join(f"{s.action} {s.url} {s.error}" for s in steps) + str(caught.value)
    assert admin.password not in reported


def test_questions_find_their_page(run: Callable[[str], AgentResult]) -> None:
    # From the admin's index, whose "Users" row is a menu and not an answer, to the list.
    result = run("How many users are there? What is the email address of grace?")
    count, email = result.result.split("\n\n")
    assert count.splitlines()[:2] == ["3", "3 users"]
    assert "Email address: grace@example.test" in email.splitlines()[0]
    assert result.final_url.endswith("/admin/auth/user/")
