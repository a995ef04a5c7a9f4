"""The agent suite's judges (bench/suite_checks.py) and task selection, without a browser."""

from __future__ import annotations

import json

import pytest

from bench.agent_suite import select
from bench.suite_checks import Apps, count_is, has_all_links, lacks, picks, rows_hold, says
from bench.suite_tasks import TASKS
from nodes.agent import AgentResult

APPS = Apps()


def answer(text: str) -> AgentResult:
    return AgentResult(result=text, steps=(), screenshots=(), final_url="http://x.test/")


def test_says_matches_whole_words_and_bounds_an_answer() -> None:
    assert says("8")(APPS, answer("There are 8 planets.")) is None
    assert says("8")(APPS, answer("Launched in 1989, 2.8 km")) == "the answer does not mention '8'"
    assert says("3")(APPS, answer("pi is 3.14")) is not None
    assert says("decoder", "tool")(APPS, answer("json.decoder, json.tool.")) is None
    assert says("in-progress")(APPS, answer("Status: In-Progress")) is None
    long = "Jupiter " + "x" * 2000
    assert says("Jupiter")(APPS, answer(long)) is None
    assert "not a passage" in str(says("Jupiter", within=1000)(APPS, answer(long)))
    assert lacks("ada")(APPS, answer("grace only")) is None
    assert lacks("ada")(APPS, answer("ada and grace")) is not None


def test_picks_refuses_an_answer_that_names_every_candidate() -> None:
    planets = lambda apps: ["Mercury", "Venus", "Jupiter", "Saturn"]  # noqa: E731
    assert picks("Saturn", planets)(APPS, answer("Saturn: 146 moons, Jupiter 95")) is None
    listed = answer("Mercury 0, Venus 0, Jupiter 95, Saturn 146")
    assert "picks none" in str(picks("Saturn", planets)(APPS, listed))
    assert "does not mention" in str(picks("Saturn", planets)(APPS, answer("Jupiter")))


def test_count_is_the_first_number_of_the_answer() -> None:
    assert count_is("5")(APPS, answer("There are 5 issues (ids 1 to 5).")) is None
    wrong = count_is("5")(APPS, answer("10\nIssues 1..5 out of 5"))
    assert wrong == "the answer's first number is 10, not 5"


def test_rows_hold_reads_nested_tables_and_can_require_exactly_those_rows() -> None:
    tables = [[{"a": "x"}], [{"name": "Juno", "n": "1"}, {"name": "Galileo", "n": "2"}]]
    text = "Title: t\n\n" + json.dumps(tables)
    assert rows_hold(lambda apps: ["Juno", "galileo"])(APPS, answer(text)) is None
    assert "no row holds" in str(rows_hold(lambda apps: ["Cassini"])(APPS, answer(text)))
    exactly = rows_hold(lambda apps: ["Juno", "Galileo"], exactly=True)
    assert "should not be there" in str(exactly(APPS, answer(text)))
    assert rows_hold(lambda apps: ["Juno"])(APPS, answer("no json")) == "the answer is not JSON"


def test_has_all_links_compares_with_the_page_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    page = '<a href="/a">A</a> <a href="b.html#top">B</a> <a href="#x">here</a>'
    monkeypatch.setattr("bench.suite_checks.fetch", lambda url: page)
    check = has_all_links(lambda apps: "http://h.test/dir/")
    both = json.dumps([{"url": "http://h.test/a"}, {"url": "http://h.test/dir/b.html"}])
    assert check(APPS, answer(both)) is None
    assert "1 of the page's 2 links" in str(check(APPS, answer("http://h.test/a")))


def test_the_suite_is_large_enough_and_selects_by_field() -> None:
    assert len({t.name for t in TASKS}) == len(TASKS)
    original, heldout = select(TASKS), select(TASKS, task_set="heldout")
    assert len(original) >= 40 and 2 * len(select(TASKS, only=["style=free"])) >= len(original)
    # The held-out set: at least 16 free tasks and 6 grammar ones, on the same apps.
    assert len(select(TASKS, only=["style=free"], task_set="heldout")) >= 16
    assert len(select(TASKS, only=["style=grammar"], task_set="heldout")) >= 6
    assert {t.app for t in heldout} == {t.app for t in original}
    assert len({t.app for t in TASKS}) >= 3
    fast = select(TASKS, "fast")
    assert 4 <= len(fast) <= 6
    hard_roundup = select(TASKS, only=["app=roundup", "difficulty=hard"])
    assert hard_roundup and all(t.app == "roundup" and t.difficulty == "hard" for t in hard_roundup)
    with pytest.raises(ValueError, match="key=value"):
        select(TASKS, only=["colour=blue"])
