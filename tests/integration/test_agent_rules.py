"""The rules planner's grammar against a real Chromium and the local test pages:
checkboxes, tabs, search, slow pages, goal phrases, extraction, and the template's
limits (steps, allowed domains, blocked resource types).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext

from nodes.agent import AgentResult, ScreenshotPolicy, StepLimitReached, StepRecord, run_agent
from nodes.agent.loop.budget import Budget
from nodes.agent.observation.extract import DOCUMENT_CHARS, READ_CHARS, extract
from shared.errors import ActionFailed

Run = Callable[..., AgentResult]


@pytest.fixture()
def run(context: BrowserContext) -> Run:
    def _run(instruction: str, template: dict[str, Any] | None = None, **kw: Any) -> AgentResult:
        kw.setdefault("deadline", time.monotonic() + 45)
        return run_agent(context, instruction, policy=ScreenshotPolicy(), template=template, **kw)

    return _run


def test_checkboxes_radios_and_switches(run: Run, base_url: str) -> None:
    result = run(
        f"Open {base_url}/checks.html. Uncheck 'Subscribe to the newsletter'. "
        "Check 'I accept the terms', tick 'Text me offers' and choose 'Large'. "
        "Turn on the 'Dark mode' switch. Click 'Save preferences'. Return the text."
    )
    assert "/form_result.html?" in result.final_url
    query = result.final_url.split("?", 1)[1]
    assert "newsletter" not in query
    assert "terms=accepted" in query and "sms=yes" in query  # sms: a styled, hidden input
    assert "size=large" in query and "theme=dark" in query
    assert "accepted" in result.result and "large" in result.result


def test_tabs(run: Run, base_url: str, context: BrowserContext) -> None:
    result = run(
        f"Open {base_url}/tabs.html. Click 'Open help in a new tab' and return the title. "
        "Switch to the first tab. Click 'Pop up page two'. Return the title. "
        "Close the tab. Return the URL. Switch to tab 2 and return the text."
    )
    assert result.result.split("\n\n") == [
        "Help Center",
        "Links Page Two",
        f"{base_url}/tabs.html",  # closing the pop-up returns to the tab that opened it
        "Help Center\nOpening hours: Monday to Friday, 9:00 to 17:00.\nClose this help",
    ]
    assert context.pages == []  # the run closes every tab it opened


def test_open_in_new_tab_and_close_it(run: Run, base_url: str) -> None:
    result = run(
        f"Open {base_url}/index.html, open {base_url}/contact.html in a new tab, "
        "get the title, close the tab and return the title"
    )
    assert result.result == "Contact\n\nAgent Test Home"


def test_search_box(run: Run, base_url: str) -> None:
    result = run(f"Open {base_url}/search.html and search for 'berry'. Return the text.")
    assert '1 results for "berry"' in result.result and "Blackberry" in result.result
    assert result.final_url.endswith("search.html?q=berry")


def test_search_box_without_label_is_the_one_whose_form_says_search(
    run: Run, base_url: str
) -> None:
    result = run(f"Go to {base_url}/search_unlabeled.html, search for plums and return the text")
    assert "Searched for plums" in result.result


def test_create_a_record_clicks_through_a_back_office(run: Run, base_url: str) -> None:
    result = run(f"Open {base_url}/backoffice.html and create a new group named Reviewers")
    assert result.final_url.endswith("backoffice.html?view=saved&name=Reviewers")
    assert [step.action for step in result.steps][1:] == [
        "go to the groups",
        "add a group",
        'type "Reviewers" into "name"',
        "save",
        'wait until "Reviewers" appears',
    ]


def test_a_record_the_form_refuses_fails_with_the_pages_reason(run: Run, base_url: str) -> None:
    with pytest.raises(ActionFailed, match="the page says: A group with that name already"):
        run(f"Open {base_url}/backoffice.html. Add a group called Admins.")


def test_slow_script_and_slow_server(run: Run, base_url: str) -> None:
    result = run(
        f"Open {base_url}/slow.html. Wait until 'Loading…' disappears. "
        "Click 'Show details', wait for 'Details shown' to appear and return the text. "
        "Then click 'A slow server page' and return the text."
    )
    first, second = result.result.split("\n\n")
    assert "Revenue grew by 12 percent." in first and "Details shown" in first
    assert "This page took 1500 ms to answer." in second


def test_waiting_for_text_is_bounded(run: Run, base_url: str) -> None:
    steps: list[StepRecord] = []
    with pytest.raises(ActionFailed, match='wait until "Never there" appears'):
        run(
            f"Open {base_url}/slow.html and wait for 'Never there' to appear",
            on_step=steps.append,
            action_timeout_ms=800,
        )
    assert [s.ok for s in steps] == [True, False]


def test_goal_phrases(run: Run, base_url: str) -> None:
    result = run(
        f"Open {base_url}/shop.html. Accept the cookies. Change the currency to EUR. "
        "Set the sort order to Price. Return the text. Go to the next page and return the title."
    )
    text, title = result.result.split("\n\n")
    assert "Prices in EUR." in text and "Sorted by price" in text
    assert "We use cookies" not in text  # the banner went away
    assert title == "Tea Shop, page 2"


def test_go_to_a_page_by_its_link_text(run: Run, base_url: str) -> None:
    result = run(f"Open {base_url}/shop.html, go to the contact page and return the text")
    assert result.final_url == f"{base_url}/contact.html"
    assert "Write to tea@shop.test." in result.result


def test_extract_shapes(run: Run, base_url: str) -> None:
    result = run(f"Open {base_url}/shop.html. Extract the table. Extract all links.")
    table, links = (json.loads(part) for part in result.result.split("\n\n"))
    assert table == [
        [
            {"Tea": "Sencha", "Origin": "Japan", "Price": "12"},
            {"Tea": "Darjeeling", "Origin": "India", "Price": "9"},
        ]
    ]
    assert {"text": "Contact us", "url": f"{base_url}/contact.html"} in links


def test_the_page_as_markdown_and_as_html(run: Run, base_url: str) -> None:
    markdown = run(f"Open {base_url}/shop.html and return the page as Markdown").result
    # The main content only: a heading, a pipe table, an absolute link; not the menu,
    # the hidden currency list, the cookie banner or the script.
    assert markdown.startswith("# Teas\n\nPrices in GBP.")
    assert "| Tea | Origin | Price |" in markdown and "| Sencha | Japan | 12 |" in markdown
    assert f"[Next ›]({base_url}/shop_2.html)" in markdown
    for absent in ("Contact us", "EUR", "cookies", "setCurrency", "<"):
        assert absent not in markdown

    html = run(f"Get the HTML of {base_url}/shop.html").result
    assert html.startswith('<!DOCTYPE html>\n<html lang="en"><head>')
    assert "function setCurrency(code)" in html and html.endswith("</html>")


MARKUP = """<!doctype html><html><body><nav>Menu</nav><main>
<h1>Notes</h1>
<p>10 Downing St<br>London</p>
<div style="display: contents"><p>Inside a contents box</p></div>
<p style="visibility: hidden">Hidden menu</p><p style="opacity: 0">Faded menu</p>
<pre><code class="language-python">a = 1


b = 2</code></pre>
<table><tr><td>a | b</td><td>x</td></tr><tr><td>c</td><td>d</td></tr></table>
<div>DEEP</div>
</main></body></html>"""


def test_markdown_keeps_what_a_reader_sees(context: BrowserContext) -> None:
    page = context.new_page()
    deep = "<div>" * 400 + "bottom of a deep page" + "</div>" * 400
    page.set_content(MARKUP.replace("<div>DEEP</div>", deep))
    budget = Budget(time.monotonic() + 30, 15_000)
    markdown = extract(page, "markdown", budget)
    assert markdown is not None
    assert markdown.startswith("# Notes\n\n10 Downing St  \nLondon\n\nInside a contents box")
    assert "Hidden" not in markdown and "Menu" not in markdown
    assert "Faded menu" in markdown  # transparent until scrolled to, as fade-ins are
    assert "```python\na = 1\n\n\nb = 2\n```" in markdown  # code blocks as they are
    assert "| a \\| b | x |\n| --- | --- |\n| c | d |" in markdown
    assert markdown.endswith("bottom of a deep page")  # no RecursionError at 400 levels

    # A page bigger than what is read says where it was cut; so does long HTML.
    item = "<p>" + "<span>" * 12 + "lorem ipsum" + "</span>" * 12 + "</p>"  # little text
    page.set_content("<main>" + item * (2 * READ_CHARS // len(item)) + "</main>")
    markdown = extract(page, "markdown", budget)
    assert markdown is not None and markdown.endswith(
        f"lorem ipsum\n… (cut at {READ_CHARS:,} characters of HTML)"
    )
    html = extract(page, "html", budget)
    assert html is not None and html.endswith(f"\n… (cut at {DOCUMENT_CHARS:,} characters)")
    page.close()


SITE_PARTS = """<!doctype html><html><body>
<a class="skip-link" href="#story">Skip to content</a><nav>Home News</nav>
<article id="story"><h1>Storm</h1>
<p>Winds rose.<span aria-hidden="true">★★</span><span class="sr-only">2 stars</span></p>
<div style="display: flex"><button>Accept all</button><button>Reject all</button></div>
<ul><li><input type="checkbox" checked disabled> Done</li><li><input type="checkbox"> Todo</li></ul>
<label>Colour <select><option>Red</option><option selected>Black</option></select></label>
<details><summary>More</summary><p>Folded body</p></details>
<img alt="Beach" data-src="img/beach.jpg" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<table class="highlighttable"><tr><td class="linenos"><pre>1\n2</pre></td>
<td class="code"><div class="highlight-python"><pre>a = 1\nb = 2</pre></div></td></tr></table>
<p id="late"></p>
</article>
<article><h2>Related</h2><p>Other story</p></article>
<script>setTimeout(() => { document.getElementById("late").textContent = "Rendered late"; }, 300);
</script>
</body></html>"""


def test_markdown_of_a_site_as_sites_are_built(context: BrowserContext, base_url: str) -> None:
    page = context.new_page()
    page.route(
        f"{base_url}/parts.html", lambda r: r.fulfill(body=SITE_PARTS, content_type="text/html")
    )
    page.goto(f"{base_url}/parts.html")
    markdown = extract(page, "markdown", Budget(time.monotonic() + 30, 15_000))
    assert markdown is not None
    # The article that holds most of the articles' text, without the page's chrome.
    assert markdown.startswith("# Storm\n\nWinds rose.2 stars\n"), markdown
    for absent in ("Skip to", "Home", "★", "Related", "Red"):
        assert absent not in markdown, absent
    assert "Accept all Reject all" in markdown
    assert "- [x] Done\n- [ ] Todo" in markdown
    assert "Colour Black" in markdown and "Folded body" in markdown
    assert f"![Beach]({base_url}/img/beach.jpg)" in markdown
    assert "```python\na = 1\nb = 2\n```" in markdown and "1\n2" not in markdown
    assert markdown.endswith("Rendered late")  # rendered 300 ms after the load event
    page.close()


def test_max_steps_is_checked_before_any_page_opens(run: Run, base_url: str) -> None:
    with pytest.raises(StepLimitReached, match="needs 3 steps; the template allows 2"):
        run(
            f"Open {base_url}/index.html, click Links and return the title",
            {"planner": "rules", "max_steps": 2},
        )


def test_allowed_domains_refuse_other_hosts(run: Run, base_url: str) -> None:
    other = base_url.replace("127.0.0.1", "localhost")
    only_local = {"planner": "rules", "allowed_domains": ["localhost"]}
    with pytest.raises(ActionFailed, match="127.0.0.1 is not among the allowed domains"):
        run(f"Open {base_url}/index.html", only_local)
    # A redirect is not routed; the run notices where it ended up and leaves.
    steps: list[StepRecord] = []
    with pytest.raises(ActionFailed, match="was blocked: not among the allowed domains"):
        run(
            f"Open {other}/redirect?to={base_url}/index.html and return the text",
            only_local,
            on_step=steps.append,
        )
    assert steps[-1].url == "about:blank"
    # Without the list the same task works.
    assert (
        "Welcome" in run(f"Open {other}/redirect?to={base_url}/index.html, return the text").result
    )


def test_allowed_domains_refuse_a_link_to_another_host(
    run: Run, base_url: str, context: BrowserContext
) -> None:
    page = context.new_page()
    page.goto(f"{base_url.replace('127.0.0.1', 'localhost')}/index.html")
    page.set_content(f'<a href="{base_url}/index.html">Elsewhere</a>')
    steps: list[StepRecord] = []
    with pytest.raises(ActionFailed, match=f"navigation to {base_url}/index.html was blocked"):
        run(
            "Click 'Elsewhere'", {"allowed_domains": ["localhost"]}, page=page, on_step=steps.append
        )
    assert not steps[-1].ok


@pytest.mark.parametrize(("blocked", "title"), [([], "Image loaded"), (["image"], "Image blocked")])
def test_blocked_resource_types(run: Run, base_url: str, blocked: list[str], title: str) -> None:
    template = {"planner": "rules", "blocked_resource_types": blocked}
    result = run(f"Open {base_url}/image.html. Wait 0.3 seconds. Return the title.", template)
    assert result.result == title


def test_a_url_inside_a_clause_is_opened_first(run: Run, base_url: str) -> None:
    # Before, the field was "search box on URL" and the text "berry on URL", on a blank page.
    result = run(f"Search for 'berry' on {base_url}/search.html, then return the text")
    assert '1 results for "berry"' in result.result and "Blackberry" in result.result
    summary = run(f"Summarize {base_url}/index.html")
    assert summary.final_url == f"{base_url}/index.html"
    assert "Welcome to the test site" in summary.result


def test_whether_a_page_shows_a_text(run: Run, base_url: str) -> None:
    yes = run(f"Check if {base_url}/index.html contains the words 'welcome   TO the test'")
    assert yes.result == f'yes: "welcome   TO the test" is on the page at {base_url}/index.html'
    no = run(f"Open {base_url}/index.html. Does the page mention 'Blackberry'?")
    assert no.result == f'no: "Blackberry" is not on the page at {base_url}/index.html'
    # Whole words: the page says "riverbank", not "river"; but a script without spaces
    # between words, or a text ending in a sign, needs no word break.
    part = run(f"Open {base_url}/index.html. Does the page mention 'river'?")
    assert part.result.startswith('no: "river" is not on the page')
    for text in ("ありがとうございます", "50%"):
        found = run(f"Open {base_url}/results.html. Does the page mention '{text}'?")
        assert found.result.startswith(f'yes: "{text}" is on the page'), found.result
    # "make sure" is a condition of success: a no fails the task.
    with pytest.raises(ActionFailed, match='"Blackberry" is not on the page at'):
        run(f"Open {base_url}/index.html and make sure the page says 'Blackberry'")
    sure = run(f"Open {base_url}/search.html and make sure the page says 'fruit'")
    assert sure.result == f'yes: "fruit" is on the page at {base_url}/search.html'  # the <h1>


def test_checks_of_the_title_heading_and_url(run: Run, base_url: str) -> None:
    page = f"{base_url}/index.html"
    # The title is "Agent Test Home", the one <h1> "Welcome to the test site".
    yes = run(f"Open {page} and verify that the title is 'agent test  HOME'")
    assert yes.result == 'yes: the title "Agent Test Home" is "agent test  HOME"'
    with pytest.raises(ActionFailed, match='the title "Agent Test Home" is not "Agent Test"$'):
        run(f"Open {page} and verify that the title is 'Agent Test'")
    starts = run(f"Open {page}. Does the title start with 'Agent'?")
    assert starts.result == 'yes: the title "Agent Test Home" starts with "Agent"'
    heading = run(f"Open {page} and check the heading says Welcome")
    assert heading.result == 'yes: the heading "Welcome to the test site" contains "Welcome"'
    with pytest.raises(
        ActionFailed, match='the heading "Welcome to the test site" contains "test"'
    ):
        run(f"Open {page} and make sure the heading does not say 'test'")
    url = run(f"Open {page} and make sure the URL ends with /index.html")
    assert url.result == f'yes: the URL "{page}" ends with "/index.html"'
    no = run(f"Open {page}. Does the URL contain 'search'?")
    assert no.result == f'no: the URL "{page}" does not contain "search"'
    absent = run(f"Open {page} and make sure the page does not say 'Blackberry'")
    assert absent.result == f'yes: "Blackberry" is not on the page at {page}'
    with pytest.raises(ActionFailed, match=f'"Welcome" is on the page at {page}'):
        run(f"Open {page} and make sure the page does not say 'Welcome'")


def test_plain_requests_for_a_part_of_the_page(run: Run, base_url: str) -> None:
    heading = run(f"What's the h1 on {base_url}/index.html?")
    assert heading.result == "Welcome to the test site"
    first = run(f"Grab the first paragraph from {base_url}/index.html")
    assert first.result == "This page exists so the agent has something predictable to read."
    about = run(f"What is {base_url}/index.html about?")
    assert about.result.startswith("Title: Agent Test Home")
    assert "the quick brown fox" in about.result.lower()
    # A page with no h1 says so instead of answering with something else.
    with pytest.raises(ActionFailed, match="has no h1 heading"):
        run(f"Open {base_url}/tall.html and extract the main heading")


def test_submit_and_click_n_times(run: Run, base_url: str) -> None:
    sent = run(f"Open {base_url}/form.html, type Ada into Full name and submit the form")
    assert "/form_result.html?name=Ada" in sent.final_url
    counted = run(f"Open {base_url}/counter.html, click Add item 3 times and read the page")
    assert "Items: 3" in counted.result and "Item 3" in counted.result


def test_every_price_of_a_table_not_the_first(run: Run, base_url: str) -> None:
    # Before: "12" and Sencha's row alone, claimed as the prices.
    prices = run(f"Extract the prices from {base_url}/shop.html")
    rows = prices.result.splitlines()
    assert rows[:2] == [
        "Tea: Sencha | Origin: Japan | Price: 12",
        "Tea: Darjeeling | Origin: India | Price: 9",
    ], prices.result


def test_the_cheapest_row_and_every_row_of_a_kind(run: Run, base_url: str) -> None:
    # Before: "could not find an answer" for both.
    cheapest = run(f"What is the cheapest tea on {base_url}/shop.html?")
    assert cheapest.result.splitlines()[0] == "Tea: Darjeeling | Origin: India | Price: 9"
    teas = run(f"Open {base_url}/shop.html and list the teas")
    assert teas.result.splitlines()[:2] == [
        "Tea: Sencha | Origin: Japan | Price: 12",
        "Tea: Darjeeling | Origin: India | Price: 9",
    ], teas.result


def test_the_cheapest_product_card(run: Run, base_url: str) -> None:
    # Cards in <div>s, an old price struck through and a saving beside the price.
    cheapest = run(f"What is the cheapest laptop on {base_url}/cards.html?")
    assert cheapest.result.startswith("Lenovo IdeaPad Slim 3 $429.99 (was $499.99)")
    dell = run(f"Open {base_url}/cards.html and tell me how much the cheapest Dell laptop is")
    assert dell.result.splitlines()[:2][0] == "$549.99"
    dearest = run(f"Which is the most expensive laptop on {base_url}/cards.html?")
    assert dearest.result.startswith("Apple MacBook Pro 14 $1,999.00")
    # Which of them: the cards that say so, "Out of stock" as written (each says "stock").
    dells = run(f"Which laptops are from Dell on {base_url}/cards.html?")
    assert [line.split(" $")[0] for line in dells.result.splitlines()[:-1]] == [
        "Dell XPS 13",
        "Dell Inspiron 15",
    ]
    out = run(f"Open {base_url}/cards.html. Which laptops are out of stock?")
    assert out.result.splitlines()[0].startswith("Apple MacBook Pro 14")
    assert len(out.result.splitlines()) == 2  # the card, then its source


def test_the_nth_link_result_or_button_of_the_content(run: Run, base_url: str) -> None:
    page = f"{base_url}/results.html"
    # Not the header's "Home page", the navigation, the search form nor "Skip to results".
    first = run(f"Open {page} and click the first result")
    assert first.final_url == f"{base_url}/shop.html?from=result"
    # A result's second link to the same address is not the next result.
    second = run(f"Click the second search result on {page}")
    assert second.final_url == f"{base_url}/contact.html?from=result"
    last = run(f"Open {page}, click the last link")
    assert last.final_url == f"{base_url}/index.html?from=result"  # not the footer's
    pressed = run(f"Open {page}, click the first button and return the text")
    assert "Subscribed" in pressed.result
    with pytest.raises(
        ActionFailed, match="could not click the fifth result: the page at .* has 3 results"
    ):
        run(f"Open {page} and click the fifth result")


def test_hover_opens_a_menu(run: Run, base_url: str) -> None:
    result = run(f"Open {base_url}/hover.html, hover over the Products menu and click Teas")
    assert result.final_url == f"{base_url}/shop.html?from=menu"
    with pytest.raises(ActionFailed, match='could not click "Teas"'):  # hidden until then
        run(f"Open {base_url}/hover.html and click Teas", action_timeout_ms=1000)


def test_sort_by_a_drop_down_a_link_or_a_column(run: Run, base_url: str) -> None:
    # A sort drop-down's option ("Sort order": Name, Price).
    shop = run(f"Open {base_url}/shop.html, sort by price and return the text")
    assert "Sorted by price" in shop.result
    # A "Sort by:" bar of links, by the bare key.
    flights = run(f"Open {base_url}/sorting.html and sort the results by duration")
    assert flights.final_url == f"{base_url}/sorting.html?sort=duration"
    # A sortable table's header.
    table = run(f"Open {base_url}/sorting.html, sort the table by Airline and extract the table")
    assert "Order: column 0" not in table.result  # the table alone is extracted
    assert json.loads(table.result)[0][0] == {"Airline": "EasyJet", "Departs": "07:40"}
    # Nothing to sort with: a clear failure, not a claimed success.
    with pytest.raises(ActionFailed, match='could not sort by "rating"'):
        run(f"Open {base_url}/sorting.html and sort by rating", action_timeout_ms=1000)
