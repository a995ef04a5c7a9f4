"""The agent suite's tasks: what a new user might ask of four third-party applications.

``{django}``, ``{datasette}``, ``{roundup}``, ``{pydoc}`` in an instruction are the
applications' base URLs (``{roundup}`` ends with ``/``), ``{django_password}`` and
``{ada_password}`` the passwords the apps were set up with. ``style`` is ``grammar``
(the documented rules grammar, docs/agent.md) or ``free`` (as people write);
``difficulty``: ``easy`` (one page, one read), ``medium`` (a click, a search, a login),
``hard`` (several steps, a form, or an answer to find). ``fast`` tasks run in
``make test`` (tests/integration/test_agent_suite.py).

``set`` is ``original`` (the tasks the rules were improved against) or ``heldout``
(written before those improvements, run first on the code as it was, and never tuned
to: the figure that counts). Held-out tasks change the applications too (a group, a
user, an issue), so each set runs on applications of its own. ``plain`` (2026-12-02):
requests as a new user writes them to any site (a URL inside the clause, "describe",
"does ... mention", "the h1", "what are the ..."), written after a phrasing panel on
generic pages had driven the rules' changes, and run on the code before and after them
without changing a task.
"""

from __future__ import annotations

import json
import math
import textwrap
from dataclasses import dataclass

from bench.suite_checks import (
    Apps,
    Check,
    all_of,
    at,
    count_is,
    django_group,
    django_user,
    has_all_links,
    lacks,
    page_title,
    picks,
    roundup_issue,
    rows_hold,
    says,
    says_all,
)

ANSWER_CHARS = 1000  # a free question's answer is a passage, not the page


@dataclass(frozen=True, kw_only=True)
class SuiteTask:
    name: str
    app: str  # django, datasette, roundup, pydoc
    difficulty: str  # easy, medium, hard
    style: str  # grammar, free
    instruction: str
    check: Check
    fast: bool = False
    set: str = "original"  # original, heldout

    def __post_init__(self) -> None:
        assert self.app in ("django", "datasette", "roundup", "pydoc"), self.app
        assert self.difficulty in ("easy", "medium", "hard"), self.difficulty
        assert self.style in ("grammar", "free"), self.style
        assert self.set in ("original", "heldout", "plain"), self.set


def _planets(apps: Apps) -> list[str]:
    assert apps.datasette
    return [row[0] for row in apps.datasette.query("SELECT name FROM planets")]


def _planet_count(apps: Apps) -> str:
    assert apps.datasette
    return str(apps.datasette.query("SELECT count(*) FROM planets")[0][0])


def _missions_to(planet: str):  # type: ignore[no-untyped-def]
    def read(apps: Apps) -> list[str]:
        assert apps.datasette
        rows = apps.datasette.query(
            "SELECT m.name FROM missions m JOIN planets p ON p.id = m.target WHERE p.name = ?",
            planet,
        )
        return [row[0] for row in rows]

    return read


def _mission(column: str, name: str):  # type: ignore[no-untyped-def]
    def read(apps: Apps) -> str:
        assert apps.datasette
        return str(
            apps.datasette.query(f"SELECT {column} FROM missions WHERE name = ?", name)[0][0]
        )

    return read


def _planet(column: str, name: str):  # type: ignore[no-untyped-def]
    def read(apps: Apps) -> str:
        assert apps.datasette
        return str(apps.datasette.query(f"SELECT {column} FROM planets WHERE name = ?", name)[0][0])

    return read


def _most_moons(apps: Apps) -> str:
    assert apps.datasette
    return apps.datasette.query("SELECT name FROM planets ORDER BY moons DESC LIMIT 1")[0][0]


def _fts(term: str):  # type: ignore[no-untyped-def]
    def read(apps: Apps) -> list[str]:
        assert apps.datasette
        rows = apps.datasette.query(
            "SELECT name FROM missions_fts WHERE missions_fts MATCH ? ", term
        )
        return [row[0] for row in rows]

    return read


def _planets_with_moons_over(count: int):  # type: ignore[no-untyped-def]
    def read(apps: Apps) -> list[str]:
        assert apps.datasette
        return [
            r[0] for r in apps.datasette.query("SELECT name FROM planets WHERE moons > ?", count)
        ]

    return read


def _agencies(apps: Apps) -> list[str]:
    assert apps.datasette
    return [row[0] for row in apps.datasette.query("SELECT DISTINCT agency FROM missions")]


def _django_users(apps: Apps) -> list[str]:
    assert apps.django
    return [row[0] for row in apps.django.query("SELECT username FROM auth_user")]


def _django_user_count(apps: Apps) -> str:
    return str(len(_django_users(apps)))


def _django_email(username: str):  # type: ignore[no-untyped-def]
    def read(apps: Apps) -> str:
        assert apps.django
        return apps.django.query("SELECT email FROM auth_user WHERE username = ?", username)[0][0]

    return read


def _issue(field: str, title_start: str):  # type: ignore[no-untyped-def]
    def read(apps: Apps) -> str:
        assert apps.roundup
        for issue in apps.roundup.issues():
            if str(issue["title"]).startswith(title_start):
                return str(issue[field])
        raise AssertionError(f"no issue {title_start!r}")

    return read


def _issue_titles(apps: Apps) -> list[str]:
    assert apps.roundup
    return [str(issue["title"]) for issue in apps.roundup.issues()]


def _roundup_names(table: str, column: str):  # type: ignore[no-untyped-def]
    def read(apps: Apps) -> list[str]:
        assert apps.roundup
        return [row[0] for row in apps.roundup.query(f"SELECT {column} FROM {table}")]

    return read


_statuses = _roundup_names("_status", "_name")
_priorities = _roundup_names("_priority", "_name")
_tracker_users = _roundup_names("_user", "_username")


def _issue_count(apps: Apps) -> str:
    return str(len(_issue_titles(apps)))


def _json_version(apps: Apps) -> str:
    return json.__version__


def _mission_count(apps: Apps) -> str:
    assert apps.datasette
    return str(apps.datasette.query("SELECT count(*) FROM missions")[0][0])


DJANGO_LOGIN = (
    "Open {django}/admin/login/. Type 'admin' into 'Username'. "
    "Type '{django_password}' into 'Password'. Click 'Log in'. "
)
ROUNDUP_LOGIN = (
    "Open {roundup}. Type 'ada' into '__login_name'. "
    "Type '{ada_password}' into '__login_password'. Press Enter. "
)

TASKS: tuple[SuiteTask, ...] = (
    # --- Datasette: a data browser over solar.db --------------------------------------
    SuiteTask(
        name="datasette-title",
        app="datasette",
        difficulty="easy",
        style="grammar",
        instruction="Open {datasette}/solar/planets. Return the title.",
        check=says(lambda apps: f"{_planet_count(apps)} rows"),
        fast=True,
    ),
    SuiteTask(
        name="datasette-table-json",
        app="datasette",
        difficulty="medium",
        style="grammar",
        instruction="Open {datasette}/solar/planets and extract the table as JSON.",
        check=rows_hold(_planets, lambda apps: [_planet("moons", "Jupiter")(apps)]),
    ),
    SuiteTask(
        name="datasette-click-table",
        app="datasette",
        difficulty="medium",
        style="grammar",
        instruction="Go to {datasette}/solar. Click 'missions'. Return the title.",
        check=says(page_title(at("{datasette}/solar/missions"))),
    ),
    SuiteTask(
        name="datasette-row-page",
        app="datasette",
        difficulty="easy",
        style="grammar",
        instruction="Visit {datasette}/solar/planets/5, then return the text.",
        check=says("Jupiter", _planet("diameter_km", "Jupiter")),
    ),
    SuiteTask(
        name="datasette-full-text-search",
        app="datasette",
        difficulty="hard",
        style="grammar",
        instruction=(
            "Open {datasette}/solar/missions. Search for 'Jupiter'. Extract the table as JSON."
        ),
        check=rows_hold(_fts("Jupiter"), exactly=True),
    ),
    SuiteTask(
        name="datasette-filter",
        app="datasette",
        difficulty="hard",
        style="grammar",
        instruction=(
            "Open {datasette}/solar/planets. Select 'moons' from '_filter_column', "
            "select '>' from '_filter_op' and type '10' into '_filter_value'. Click 'Apply'. "
            "Extract the table as JSON."
        ),
        check=rows_hold(_planets_with_moons_over(10), exactly=True),
    ),
    SuiteTask(
        name="datasette-how-many-planets",
        app="datasette",
        difficulty="easy",
        style="free",
        instruction="how many planets are in the table at {datasette}/solar/planets?",
        check=count_is(_planet_count, within=ANSWER_CHARS),
        fast=True,
    ),
    SuiteTask(
        name="datasette-diameter",
        app="datasette",
        difficulty="medium",
        style="free",
        instruction="What's the diameter of Mars at {datasette}/solar/planets ?",
        check=says(_planet("diameter_km", "Mars"), within=ANSWER_CHARS),
    ),
    SuiteTask(
        name="datasette-most-moons",
        app="datasette",
        difficulty="hard",
        style="free",
        instruction="which planet has the most moons? the data is at {datasette}/solar/planets",
        check=picks(_most_moons, _planets, within=ANSWER_CHARS),
    ),
    SuiteTask(
        name="datasette-launch-year",
        app="datasette",
        difficulty="medium",
        style="free",
        instruction="When was Cassini launched? See {datasette}/solar/missions",
        check=says(_mission("launched", "Cassini"), within=ANSWER_CHARS),
    ),
    SuiteTask(
        name="datasette-links",
        app="datasette",
        difficulty="easy",
        style="free",
        instruction="give me all the links on {datasette}/solar",
        check=has_all_links(at("{datasette}/solar")),
    ),
    SuiteTask(
        name="datasette-missions-to-mars",
        app="datasette",
        difficulty="hard",
        style="free",
        instruction="list the missions that went to Mars, according to {datasette}/solar/missions",
        check=says_all(_missions_to("Mars"), within=ANSWER_CHARS),
    ),
    SuiteTask(
        name="datasette-agency",
        app="datasette",
        difficulty="hard",
        style="free",
        instruction="Using the database at {datasette}, find out which agency built Juno.",
        check=picks(_mission("agency", "Juno"), _agencies, within=ANSWER_CHARS),
    ),
    # --- Django's admin ---------------------------------------------------------------
    SuiteTask(
        name="django-log-in",
        app="django",
        difficulty="easy",
        style="grammar",
        instruction=DJANGO_LOGIN + "Return the title.",
        check=says("Site administration"),
    ),
    SuiteTask(
        name="django-search-users",
        app="django",
        difficulty="medium",
        style="grammar",
        instruction=DJANGO_LOGIN + "Click 'Users'. Search for 'grace'. Return the text.",
        check=all_of(says(_django_email("grace")), lacks(_django_email("ada"))),
    ),
    SuiteTask(
        name="django-users-table",
        app="django",
        difficulty="medium",
        style="grammar",
        instruction=DJANGO_LOGIN + "Click 'Users', then extract the table as JSON.",
        check=rows_hold(_django_users),
    ),
    SuiteTask(
        name="django-add-group",
        app="django",
        difficulty="medium",
        style="grammar",
        instruction=DJANGO_LOGIN
        + "Click 'Groups'. Click 'Add group'. Type 'Reviewers' into 'Name'. Click 'Save'.",
        check=django_group("Reviewers"),
    ),
    SuiteTask(
        name="django-rename-user",
        app="django",
        difficulty="hard",
        style="grammar",
        instruction=DJANGO_LOGIN
        + "Click 'Users'. Click 'grace'. Fill the 'First name' field with 'Grace' and "
        "type 'Hopper' into 'Last name'. Click 'Save'. Return the text.",
        check=all_of(
            django_user("grace", first_name="Grace", last_name="Hopper"),
            says("was changed successfully"),
        ),
    ),
    SuiteTask(
        name="django-add-user",
        app="django",
        difficulty="hard",
        style="grammar",
        instruction=DJANGO_LOGIN + "Click 'Users'. Click 'Add user'. Type 'linus' into 'Username'. "
        "Type 'penguin-pass-1991' into 'Password'. "
        "Type 'penguin-pass-1991' into 'Password confirmation'. Click 'Save'.",
        check=django_user("linus", is_active=1),
    ),
    SuiteTask(
        name="django-count-users",
        app="django",
        difficulty="medium",
        style="free",
        instruction="log in to {django}/admin/ (user admin, password {django_password}) "
        "and tell me how many users there are",
        check=count_is(_django_user_count, within=ANSWER_CHARS),
    ),
    SuiteTask(
        name="django-email-of",
        app="django",
        difficulty="hard",
        style="free",
        instruction="What's grace's email address? The admin is at {django}/admin/, "
        "username admin, password {django_password}",
        check=says(_django_email("grace"), within=ANSWER_CHARS),
    ),
    SuiteTask(
        name="django-create-group",
        app="django",
        difficulty="medium",
        style="free",
        instruction="sign in at {django}/admin/login/ as admin / {django_password} and "
        "create a group called Translators",
        check=django_group("Translators"),
    ),
    SuiteTask(
        name="django-make-staff",
        app="django",
        difficulty="hard",
        style="free",
        instruction="Please make ada a staff member. Admin: {django}/admin/, "
        "login admin, pass {django_password}",
        check=django_user("ada", is_staff=1),
    ),
    SuiteTask(
        name="django-deactivate",
        app="django",
        difficulty="hard",
        style="free",
        instruction="Log into the Django admin at {django}/admin/ with username admin and "
        "password {django_password}, then deactivate the account of grace.",
        check=django_user("grace", is_active=0),
    ),
    SuiteTask(
        name="django-login-links",
        app="django",
        difficulty="easy",
        style="free",
        instruction="Give me all the links on {django}/admin/login/",
        check=has_all_links(at("{django}/admin/login/")),
    ),
    # --- Roundup: an issue tracker ----------------------------------------------------
    SuiteTask(
        name="roundup-title",
        app="roundup",
        difficulty="easy",
        style="grammar",
        instruction="Open {roundup}. Return the title.",
        check=says(page_title(at("{roundup}"))),
    ),
    SuiteTask(
        name="roundup-issue-page",
        app="roundup",
        difficulty="easy",
        style="grammar",
        instruction="Open {roundup}issue3 and return the text",
        check=says(_issue("title", "Add a dark"), "Many of us work at night"),
        fast=True,
    ),
    SuiteTask(
        name="roundup-click-issue",
        app="roundup",
        difficulty="medium",
        style="grammar",
        instruction="Open {roundup}. Click 'Login page crashes on empty password'. "
        "Return the text.",
        check=says("a traceback"),  # from issue 1's message (tests/sites/roundup_tracker.py)
    ),
    SuiteTask(
        name="roundup-search",
        app="roundup",
        difficulty="medium",
        style="grammar",
        instruction="Open {roundup}. Search for 'CSV'. Return the text.",
        check=all_of(says(_issue("title", "Export to CSV")), lacks(_issue("title", "Add a dark"))),
    ),
    SuiteTask(
        name="roundup-show-all",
        app="roundup",
        difficulty="medium",
        style="grammar",
        instruction="Open {roundup}. Click 'Show All'. Extract the table as JSON.",
        check=rows_hold(_issue_titles),
    ),
    SuiteTask(
        name="roundup-file-issue",
        app="roundup",
        difficulty="hard",
        style="grammar",
        instruction=ROUNDUP_LOGIN
        + "Click 'Create New'. Type 'Dark mode resets after logout' into 'title'. "
        "Select 'bug' from 'priority'. Click 'Submit New Entry'.",
        check=roundup_issue("Dark mode resets after logout", creator="ada"),
    ),
    SuiteTask(
        name="roundup-status",
        app="roundup",
        difficulty="medium",
        style="free",
        instruction="what's the status of issue 2 on the tracker at {roundup} ?",
        check=picks(_issue("status", "Export to CSV"), _statuses, within=ANSWER_CHARS),
    ),
    SuiteTask(
        name="roundup-assignee",
        app="roundup",
        difficulty="medium",
        style="free",
        instruction="Who is issue 1 at {roundup} assigned to?",
        check=picks(_issue("assignedto", "Login page"), _tracker_users, within=ANSWER_CHARS),
    ),
    SuiteTask(
        name="roundup-priority",
        app="roundup",
        difficulty="hard",
        style="free",
        instruction="how urgent is the login crash on {roundup}? what priority does it have",
        check=picks(_issue("priority", "Login page"), _priorities, within=ANSWER_CHARS),
    ),
    SuiteTask(
        name="roundup-count",
        app="roundup",
        difficulty="medium",
        style="free",
        instruction="How many issues are there in {roundup} ?",
        check=count_is(_issue_count, within=ANSWER_CHARS),
    ),
    SuiteTask(
        name="roundup-links",
        app="roundup",
        difficulty="easy",
        style="free",
        instruction="give me all the links on {roundup}issue1",
        check=has_all_links(at("{roundup}issue1")),
    ),
    SuiteTask(
        name="roundup-new-issue",
        app="roundup",
        difficulty="hard",
        style="free",
        instruction="log in to the tracker at {roundup} (user ada, password {ada_password}) "
        "and file a new issue titled 'Printing cuts off the page footer'",
        check=roundup_issue("Printing cuts off the page footer", creator="ada"),
    ),
    # --- pydoc: Python's documentation server ----------------------------------------
    SuiteTask(
        name="pydoc-title",
        app="pydoc",
        difficulty="easy",
        style="grammar",
        instruction="Open {pydoc}/json.html. Return the title.",
        check=says(page_title(at("{pydoc}/json.html"))),
        fast=True,
    ),
    SuiteTask(
        name="pydoc-click-module",
        app="pydoc",
        difficulty="medium",
        style="grammar",
        instruction="Open {pydoc}/. Click 'textwrap'. Return the title.",
        check=says(page_title(at("{pydoc}/textwrap.html"))),
    ),
    SuiteTask(
        name="pydoc-links",
        app="pydoc",
        difficulty="medium",
        style="grammar",
        instruction="Open {pydoc}/json.html. Extract all links.",
        check=has_all_links(at("{pydoc}/json.html")),
    ),
    SuiteTask(
        name="pydoc-search",
        app="pydoc",
        difficulty="medium",
        style="grammar",
        instruction="Go to {pydoc}/ and search for 'shlex'. Return the text.",
        # The results page says "shlex- A lexical ..." (pydoc writes no space before "-").
        check=says("A lexical analyzer class for simple shell-like syntaxes"),
    ),
    SuiteTask(
        name="pydoc-json-version",
        app="pydoc",
        difficulty="medium",
        style="free",
        instruction="Using the docs at {pydoc}, find out what version of the json module "
        "is installed",
        check=says(_json_version, within=ANSWER_CHARS),
        fast=True,
    ),
    SuiteTask(
        name="pydoc-default-width",
        app="pydoc",
        difficulty="medium",
        style="free",
        instruction="what's the default width of textwrap.wrap? docs: {pydoc}/textwrap.html",
        check=says(str(textwrap.TextWrapper().width), within=ANSWER_CHARS),
    ),
    SuiteTask(
        name="pydoc-what-does",
        app="pydoc",
        difficulty="medium",
        style="free",
        instruction="what does shlex.quote do? look it up at {pydoc}/shlex.html",
        check=says("shell-escaped", within=ANSWER_CHARS),
    ),
    SuiteTask(
        name="pydoc-submodules",
        app="pydoc",
        difficulty="hard",
        style="free",
        instruction="Which submodules does the json package have? {pydoc}/json.html",
        check=says("decoder", "encoder", "scanner", "tool", within=ANSWER_CHARS),
    ),
    SuiteTask(
        name="pydoc-pi",
        app="pydoc",
        difficulty="hard",
        style="free",
        instruction="In the Python docs at {pydoc}/ , what is the value of math.pi?",
        check=says(repr(math.pi), within=ANSWER_CHARS),
    ),
    # --- Held-out tasks (set="heldout") ------------------------------------------------
    # Written before the rules were improved against the tasks above, run first on the
    # code as it was, and never tuned to: `--set heldout`.
    SuiteTask(
        name="ho-datasette-missions-title",
        app="datasette",
        difficulty="easy",
        style="grammar",
        instruction="Go to {datasette}/solar/missions and return the title.",
        check=says(lambda apps: f"{_mission_count(apps)} rows"),
        set="heldout",
    ),
    SuiteTask(
        name="ho-datasette-search-mars",
        app="datasette",
        difficulty="hard",
        style="grammar",
        instruction="Open {datasette}/solar/missions. Search for 'Mars'. "
        "Extract the table as JSON.",
        check=rows_hold(_fts("Mars"), exactly=True),
        set="heldout",
    ),
    SuiteTask(
        name="ho-django-add-group",
        app="django",
        difficulty="medium",
        style="grammar",
        instruction=DJANGO_LOGIN
        + "Click 'Groups'. Click 'Add group'. Type 'Auditors' into 'Name'. Click 'Save'.",
        check=django_group("Auditors"),
        set="heldout",
    ),
    SuiteTask(
        name="ho-roundup-click-issue",
        app="roundup",
        difficulty="medium",
        style="grammar",
        instruction="Open {roundup}. Click 'Search ignores accents', then return the text.",
        check=says("misses café"),
        set="heldout",
    ),
    SuiteTask(
        name="ho-pydoc-title",
        app="pydoc",
        difficulty="easy",
        style="grammar",
        instruction="Visit {pydoc}/shlex.html and return the title.",
        check=says(page_title(at("{pydoc}/shlex.html"))),
        set="heldout",
    ),
    SuiteTask(
        name="ho-pydoc-search",
        app="pydoc",
        difficulty="medium",
        style="grammar",
        instruction="Open {pydoc}/. Search for 'textwrap'. Return the text.",
        check=says("Text wrapping and filling"),
        set="heldout",
    ),
    SuiteTask(
        name="ho-datasette-count-missions",
        app="datasette",
        difficulty="easy",
        style="free",
        instruction="how many missions are listed at {datasette}/solar/missions?",
        check=count_is(_mission_count, within=ANSWER_CHARS),
        set="heldout",
    ),
    SuiteTask(
        name="ho-datasette-venera-agency",
        app="datasette",
        difficulty="medium",
        style="free",
        instruction="Which agency launched Venera 7? Data: {datasette}/solar/missions",
        check=picks(_mission("agency", "Venera 7"), _agencies, within=ANSWER_CHARS),
        set="heldout",
    ),
    SuiteTask(
        name="ho-datasette-saturn-moons",
        app="datasette",
        difficulty="medium",
        style="free",
        instruction="Could you tell me how many moons Saturn has? {datasette}/solar/planets",
        check=count_is(_planet("moons", "Saturn"), within=ANSWER_CHARS),
        set="heldout",
    ),
    SuiteTask(
        name="ho-datasette-galileo-year",
        app="datasette",
        difficulty="medium",
        style="free",
        instruction="I need the year Galileo was launched, from {datasette}/solar/missions",
        check=says(_mission("launched", "Galileo"), within=ANSWER_CHARS),
        set="heldout",
    ),
    SuiteTask(
        name="ho-datasette-neptune",
        app="datasette",
        difficulty="medium",
        style="free",
        instruction="According to {datasette}/solar/planets, what is Neptune's diameter?",
        check=says(_planet("diameter_km", "Neptune"), within=ANSWER_CHARS),
        set="heldout",
    ),
    SuiteTask(
        name="ho-datasette-links",
        app="datasette",
        difficulty="easy",
        style="free",
        instruction="show me every link on {datasette}/solar/planets",
        check=has_all_links(at("{datasette}/solar/planets")),
        set="heldout",
    ),
    SuiteTask(
        name="ho-django-new-group",
        app="django",
        difficulty="medium",
        style="free",
        instruction="Sign in to {django}/admin/ with admin / {django_password} and add a "
        "new group named Editors",
        check=django_group("Editors"),
        set="heldout",
    ),
    SuiteTask(
        name="ho-django-staff-status",
        app="django",
        difficulty="hard",
        style="free",
        instruction="My login for {django}/admin/ is admin, password {django_password}. "
        "Please give grace staff status.",
        check=django_user("grace", is_staff=1),
        set="heldout",
    ),
    SuiteTask(
        name="ho-django-ada-email",
        app="django",
        difficulty="hard",
        style="free",
        instruction="Using the admin at {django}/admin/ (username: admin, password: "
        "{django_password}), what is ada's email?",
        check=says(_django_email("ada"), within=ANSWER_CHARS),
        set="heldout",
    ),
    SuiteTask(
        name="ho-django-superuser",
        app="django",
        difficulty="hard",
        style="free",
        instruction="Credentials: admin / {django_password}. Go to {django}/admin/ and "
        "make grace a superuser.",
        check=django_user("grace", is_superuser=1),
        set="heldout",
    ),
    SuiteTask(
        name="ho-django-list-users",
        app="django",
        difficulty="medium",
        style="free",
        instruction="log into {django}/admin/login/ as admin with password "
        "{django_password} and list the users",
        check=says_all(_django_users),
        set="heldout",
    ),
    SuiteTask(
        name="ho-roundup-assignee",
        app="roundup",
        difficulty="medium",
        style="free",
        instruction="Who's assigned to issue 4 on {roundup}?",
        check=picks(_issue("assignedto", "Search ignores"), _tracker_users, within=ANSWER_CHARS),
        set="heldout",
    ),
    SuiteTask(
        name="ho-roundup-priority",
        app="roundup",
        difficulty="medium",
        style="free",
        instruction="what priority is issue 3 at {roundup}",
        check=picks(_issue("priority", "Add a dark"), _priorities, within=ANSWER_CHARS),
        set="heldout",
    ),
    SuiteTask(
        name="ho-roundup-dark-theme-status",
        app="roundup",
        difficulty="hard",
        style="free",
        instruction="what is the status of the dark theme issue at {roundup} ?",
        check=picks(_issue("status", "Add a dark"), _statuses, within=ANSWER_CHARS),
        set="heldout",
    ),
    SuiteTask(
        name="ho-roundup-open-issue",
        app="roundup",
        difficulty="hard",
        style="free",
        instruction="Open a new issue called 'Emails arrive twice' on {roundup} - user ada, "
        "password {ada_password}",
        check=roundup_issue("Emails arrive twice", creator="ada"),
        set="heldout",
    ),
    SuiteTask(
        name="ho-roundup-report-bug",
        app="roundup",
        difficulty="hard",
        style="free",
        instruction="Sign in to {roundup} as ada, password {ada_password}. Then report a "
        "new bug: 'Sidebar overlaps the footer'.",
        check=roundup_issue("Sidebar overlaps the footer", creator="ada"),
        set="heldout",
    ),
    SuiteTask(
        name="ho-pydoc-dedent",
        app="pydoc",
        difficulty="medium",
        style="free",
        instruction="What does textwrap.dedent do? see {pydoc}/textwrap.html",
        check=says("common leading whitespace", within=ANSWER_CHARS),
        set="heldout",
    ),
    SuiteTask(
        name="ho-pydoc-dumps",
        app="pydoc",
        difficulty="medium",
        style="free",
        instruction="according to {pydoc}/json.html, what does json.dumps return?",
        # json.dump's docstring says "JSON formatted stream" too: the str is dumps'.
        check=says("dumps", "JSON formatted ``str``", within=ANSWER_CHARS),
        set="heldout",
    ),
    SuiteTask(
        name="ho-pydoc-links",
        app="pydoc",
        difficulty="easy",
        style="free",
        instruction="find the links on {pydoc}/shlex.html for me",
        check=has_all_links(at("{pydoc}/shlex.html")),
        set="heldout",
    ),
    SuiteTask(
        name="ho-pydoc-math-e",
        app="pydoc",
        difficulty="hard",
        style="free",
        instruction="Check the docs at {pydoc}/ - what's the value of math.e?",
        check=says(repr(math.e), within=ANSWER_CHARS),
        set="heldout",
    ),
    # --- Plain requests (set="plain") -------------------------------------------------
    SuiteTask(
        name="pl-datasette-describe",
        app="datasette",
        difficulty="easy",
        style="free",
        instruction="Describe {datasette}/solar/planets",
        check=says("planets", within=4000),
        set="plain",
    ),
    SuiteTask(
        name="pl-datasette-mention",
        app="datasette",
        difficulty="easy",
        style="free",
        instruction="Does {datasette}/solar/planets mention 'Neptune'?",
        check=says('yes: "Neptune"'),
        set="plain",
    ),
    SuiteTask(
        name="pl-datasette-search-on",
        app="datasette",
        difficulty="medium",
        style="free",
        instruction="Search for 'Mars' on {datasette}/solar/missions and give me the text",
        check=says_all(_fts("Mars")),
        set="plain",
    ),
    SuiteTask(
        name="pl-datasette-h1",
        app="datasette",
        difficulty="easy",
        style="free",
        instruction="What's the h1 on {datasette}/solar/missions?",
        check=says("missions", within=200),
        set="plain",
    ),
    SuiteTask(
        name="pl-datasette-diameters",
        app="datasette",
        difficulty="hard",
        style="free",
        instruction="What are the diameters of the planets at {datasette}/solar/planets?",
        check=says_all(lambda apps: [_planet("diameter_km", n)(apps) for n in _planets(apps)]),
        set="plain",
    ),
    SuiteTask(
        name="pl-pydoc-mention",
        app="pydoc",
        difficulty="easy",
        style="free",
        instruction="Check whether {pydoc}/json.html mentions 'JSONDecodeError'",
        check=says('yes: "JSONDecodeError"'),
        set="plain",
    ),
    SuiteTask(
        name="pl-pydoc-search-on",
        app="pydoc",
        difficulty="medium",
        style="free",
        instruction="Search for 'textwrap' on {pydoc}/ and return the text",
        check=says("textwrap"),
        set="plain",
    ),
    SuiteTask(
        name="pl-roundup-about",
        app="roundup",
        difficulty="easy",
        style="free",
        instruction="Tell me about {roundup}issue1",
        check=says(_issue("title", "")),
        set="plain",
    ),
    SuiteTask(
        name="pl-roundup-check",
        app="roundup",
        difficulty="medium",
        style="free",
        instruction="Open {roundup}issue2 and make sure the page says 'ada'",
        check=says('yes: "ada"'),
        set="plain",
    ),
    SuiteTask(
        name="pl-django-mention",
        app="django",
        difficulty="medium",
        style="free",
        instruction=DJANGO_LOGIN + "Does the page mention 'Groups'?",
        check=says('yes: "Groups"'),
        set="plain",
    ),
    SuiteTask(
        name="pl-django-about",
        app="django",
        difficulty="hard",
        style="free",
        instruction=DJANGO_LOGIN + "Click 'Users' and tell me what the page is about",
        check=says("grace"),
        set="plain",
    ),
)
