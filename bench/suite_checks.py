"""How the agent suite judges a run: what its answer must say, or what must have changed.

A check gets the running applications and the agent's result and returns None when the
task was done, or what is wrong. Expected values are read from the applications
themselves (their databases, their pages) when the check runs, not copied into the task.
"""

from __future__ import annotations

import html
import json
import re
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

from nodes.agent import AgentResult
from tests.sites.datasette_site import Datasette
from tests.sites.django_admin import DjangoAdmin
from tests.sites.roundup_tracker import USERS, Roundup


@dataclass(frozen=True)
class Apps:
    """The applications a run of the suite started; those it did not need are None."""

    django: DjangoAdmin | None = None
    datasette: Datasette | None = None
    roundup: Roundup | None = None
    pydoc: str | None = None

    def placeholders(self) -> dict[str, str]:
        """What a task's instruction may name: ``{roundup}``, ``{django_password}``..."""
        values: dict[str, str] = {}
        if self.django:
            values.update(django=self.django.base_url, django_password=self.django.password)
        if self.datasette:
            values.update(datasette=self.datasette.base_url)
        if self.roundup:
            values.update(roundup=self.roundup.base_url, ada_password=USERS["ada"])
        if self.pydoc:
            values.update(pydoc=self.pydoc)
        return values

    def secrets(self) -> list[str]:
        """Passwords a task hands the agent: none may come back in its answer or steps."""
        values = self.placeholders()
        return [values[k] for k in ("django_password", "ada_password") if k in values]


Check = Callable[[Apps, AgentResult], "str | None"]
Value = str | Callable[[Apps], str]


def at(template: str) -> Callable[[Apps], str]:
    """A URL of one of the apps: ``at("{roundup}issue1")``."""
    return lambda apps: template.format(**apps.placeholders())


def _value(value: Value, apps: Apps) -> str:
    return value(apps) if callable(value) else value


def _mentions(text: str, value: str) -> bool:
    """``value`` in ``text`` as a whole word, any case: "8" is not found in "1989" nor
    in "2.8", but "decoder" is in "json.decoder"."""
    pattern = r"(?<![\w-])(?<!\d\.)" + re.escape(value) + r"(?![\w-])(?!\.\d)"
    return re.search(pattern, text, re.IGNORECASE) is not None


def says(*values: Value, within: int | None = None) -> Check:
    """The answer mentions every value; with ``within``, in at most that many characters
    (an answer to a question is a passage, not the whole page that holds it)."""

    def check(apps: Apps, result: AgentResult) -> str | None:
        text = result.result
        for value in values:
            wanted = _value(value, apps)
            if not _mentions(text, wanted):
                return f"the answer does not mention {wanted!r}"
        if within is not None and len(text) > within:
            return f"the answer is {len(text)} characters long, not a passage of <= {within}"
        return None

    return check


def count_is(value: Value, *, within: int | None = None) -> Check:
    """The answer to a "how many" question: its first number is the count (a passage
    that holds the count somewhere after another number does not answer)."""

    def check(apps: Apps, result: AgentResult) -> str | None:
        wanted = _value(value, apps)
        problem = says(wanted, within=within)(apps, result)
        first = re.search(r"\d+", result.result)
        if not problem and first and first.group() != wanted:
            problem = f"the answer's first number is {first.group()}, not {wanted}"
        return problem

    return check


def picks(value: Value, among: Callable[[Apps], list[str]], *, within: int | None = None) -> Check:
    """The answer names ``value`` and at most one other of the candidates ``among`` reads
    (a comparison may name one): a list of them all does not pick one."""

    def check(apps: Apps, result: AgentResult) -> str | None:
        wanted = _value(value, apps)
        problem = says(wanted, within=within)(apps, result)
        others = {c for c in among(apps) if c != wanted and _mentions(result.result, c)}
        if not problem and len(others) > 1:
            problem = f"the answer names {wanted!r} but also {sorted(others)}: it picks none"
        return problem

    return check


def says_all(read: Callable[[Apps], list[str]], *, within: int | None = None) -> Check:
    """The answer mentions every value ``read`` finds in the application."""

    def check(apps: Apps, result: AgentResult) -> str | None:
        return says(*read(apps), within=within)(apps, result)

    return check


def lacks(*values: Value) -> Check:
    def check(apps: Apps, result: AgentResult) -> str | None:
        for value in values:
            unwanted = _value(value, apps)
            if _mentions(result.result, unwanted):
                return f"the answer mentions {unwanted!r}, which it should not"
        return None

    return check


def all_of(*checks: Check) -> Check:
    def check(apps: Apps, result: AgentResult) -> str | None:
        for one in checks:
            problem = one(apps, result)
            if problem:
                return problem
        return None

    return check


def json_rows(rows: Callable[[Apps, list[dict[str, Any]]], str | None]) -> Check:
    """The answer is JSON (or ends with it): a list of rows, or of tables of rows."""

    def check(apps: Apps, result: AgentResult) -> str | None:
        text = result.result
        start = min((i for i in (text.find("["), text.find("{")) if i >= 0), default=-1)
        try:
            data = json.loads(text[start:]) if start >= 0 else None
        except ValueError:
            data = None
        if data is None:
            return "the answer is not JSON"
        found = _flatten_rows(data)
        if not found:
            return "the JSON has no rows"
        return rows(apps, found)

    return check


def _flatten_rows(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, dict):
        data = next((v for v in data.values() if isinstance(v, list)), [data])
    rows: list[dict[str, Any]] = []
    for item in data if isinstance(data, list) else []:
        if isinstance(item, dict):
            rows.append(item)
        elif isinstance(item, list):
            rows.extend(r for r in item if isinstance(r, dict))
    return rows


def cells(row: dict[str, Any]) -> list[str]:
    """A row's cell texts, stripped, whatever the columns are called."""
    return [str(v).strip() for v in row.values()]


def rows_hold(*columns: Callable[[Apps], list[str]], exactly: bool = False) -> Check:
    """Every value each callable reads from the app is a cell of some row; with
    ``exactly``, every row holds one of them (nothing else was returned)."""

    def judge(apps: Apps, rows: list[dict[str, Any]]) -> str | None:
        for column in columns:
            wanted = column(apps)
            all_cells = {c.lower() for row in rows for c in cells(row)}
            missing = [w for w in wanted if w.lower() not in all_cells]
            if missing:
                return f"no row holds {missing}"
            if exactly:
                extra = [
                    r
                    for r in rows
                    if not {w.lower() for w in wanted} & set(map(str.lower, cells(r)))
                ]
                if extra:
                    return f"rows that should not be there: {extra[:2]}"
        return None

    return json_rows(judge)


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode("utf-8", "replace")


def page_title(url: Value) -> Callable[[Apps], str]:
    """The ``<title>`` of a page as an anonymous visitor sees it."""

    def read(apps: Apps) -> str:
        found = re.search(r"<title>(.*?)</title>", fetch(_value(url, apps)), re.S | re.I)
        assert found, f"{url} has no title"
        return " ".join(html.unescape(found.group(1)).split())

    return read


class _Links(HTMLParser):
    def __init__(self, base: str) -> None:
        super().__init__()
        self.base, self.urls = base, set[str]()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href and not href.startswith(("#", "javascript:", "mailto:")):
            url = urljoin(self.base, href)
            if url.startswith("http"):
                self.urls.add(url.split("#")[0])


def has_all_links(url: Value) -> Check:
    """The answer names every http(s) link of the page (as an anonymous visitor gets it)."""

    def check(apps: Apps, result: AgentResult) -> str | None:
        page = _value(url, apps)
        parser = _Links(page)
        parser.feed(fetch(page))
        answer = html.unescape(result.result).replace("\\/", "/")
        missing = sorted(u for u in parser.urls if u not in answer)
        if missing:
            return (
                f"{len(missing)} of the page's {len(parser.urls)} links are missing: {missing[:3]}"
            )
        return None

    return check


def effect(read: Callable[[Apps], str | None]) -> Check:
    """A side effect in the application: ``read`` returns what is missing, or None."""

    def check(apps: Apps, result: AgentResult) -> str | None:
        return read(apps)

    return check


def django_user(username: str, **fields: object) -> Check:
    def read(apps: Apps) -> str | None:
        assert apps.django
        columns = ", ".join(fields) or "id"
        rows = apps.django.query(f"SELECT {columns} FROM auth_user WHERE username = ?", username)
        if not rows:
            return f"there is no user {username!r}"
        for (name, wanted), got in zip(fields.items(), rows[0], strict=True):
            if got != wanted:
                return f"the user {username!r} has {name} = {got!r}, not {wanted!r}"
        return None

    return effect(read)


def django_group(name: str) -> Check:
    def read(apps: Apps) -> str | None:
        assert apps.django
        found = apps.django.query("SELECT id FROM auth_group WHERE name = ?", name)
        return None if found else f"there is no group {name!r}"

    return effect(read)


def roundup_issue(title: str, creator: str) -> Check:
    def read(apps: Apps) -> str | None:
        assert apps.roundup
        rows = apps.roundup.query(
            "SELECT u._username FROM _issue i JOIN _user u ON u.id = i._creator WHERE i._title = ?",
            title,
        )
        if not rows:
            return f"there is no issue {title!r}"
        if rows[0][0] != creator:
            return f"the issue {title!r} was filed by {rows[0][0]!r}, not {creator!r}"
        return None

    return effect(read)
