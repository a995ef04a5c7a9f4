"""Every action the agent can take, declared once (see ``registry``).

The order is the order of the LLM tools and of the rows in the docs' table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nodes.agent import actions as a
from nodes.agent.act import handlers as h
from nodes.agent.forms.fill import fill_form
from nodes.agent.forms.login import log_in
from nodes.agent.questions.ask import answer_question
from nodes.agent.registry import ActionSpec, BadReply, Param, Registry, Tool

INDEX = Param(
    kind="integer",
    description="The element's number in the observation's list, e.g. 3 for [3].",
    required=True,
)
URL = Param(kind="string", description="An http(s) URL.", required=True)


def _input_text(args: Mapping[str, Any], element: str) -> list[a.Action]:
    typed: list[a.Action] = [a.TypeText(element, args["text"], index=args["index"])]
    return typed + ([a.PressKey("Enter")] if args.get("press_enter") else [])


def _wait(args: Mapping[str, Any], element: str) -> list[a.Action]:
    if args.get("text"):
        return [a.WaitForText(args["text"])]
    return [a.Wait(min(30.0, max(0.0, float(args.get("seconds", 1)))))]


def _download(args: Mapping[str, Any], element: str) -> list[a.Action]:
    if "index" in args:
        return [a.Download(element, index=args["index"])]
    if not args.get("url"):
        raise BadReply("download: give the index of a link or button, or a url")
    return [a.Download(url=args["url"])]


REGISTRY = Registry(
    ActionSpec(
        action=a.Navigate,
        handler=h.navigate,
        docs_row="navigate",
        tool=Tool(
            name="navigate",
            description="Open a URL in the current tab.",
            params={"url": URL},
            build=lambda args, _: [a.Navigate(args["url"])],
        ),
        phrasings=("Open https://example.com", "Go to example.com"),
    ),
    ActionSpec(
        action=a.GoBack,
        handler=h.go_back,
        docs_row="go back",
        tool=Tool(
            name="go_back",
            description="Go back to the previous page in this tab.",
            build=lambda args, _: [a.GoBack()],
        ),
        phrasings=("Go back", "Go back to the previous page"),
    ),
    ActionSpec(
        action=a.Reload,
        handler=h.reload,
        docs_row="reload",
        llm_note="(none)",
        phrasings=("Reload the page",),
    ),
    ActionSpec(
        action=a.Click,
        handler=h.click,
        docs_row="click",
        tool=Tool(
            name="click",
            description="Click an element.",
            params={"index": INDEX},
            build=lambda args, element: [a.Click(element, index=args["index"])],
        ),
        phrasings=('Click "Sign in"', "Press the Submit button"),
        resolvable=True,
        opens_tabs=True,
        downloads=True,
    ),
    ActionSpec(
        action=a.ClickNth,
        handler=h.click_nth,
        docs_row="click",
        llm_note="(by `click`)",
        phrasings=("Click the first link", "Open the second search result"),
        opens_tabs=True,
        downloads=True,
    ),
    ActionSpec(
        action=a.Hover,
        handler=h.hover,
        docs_row="hover",
        phrasings=("Hover over 'Products'", "Move the mouse over the Help menu"),
    ),
    ActionSpec(
        action=a.SortBy,
        handler=h.sort_by,
        docs_row="sort",
        llm_note="(by `select_option` or `click`)",
        phrasings=("Sort by price", "Sort the results by price from low to high"),
    ),
    ActionSpec(
        action=a.ClickAny,
        handler=h.click_any,
        docs_row="reach a goal by a click",
        llm_note="(by `click`)",
        phrasings=("Accept the cookies", "Go to the next page", "Go to the contact page"),
        opens_tabs=True,
        downloads=True,
    ),
    ActionSpec(
        action=a.TypeText,
        handler=h.type_text,
        docs_row="input text",
        tool=Tool(
            name="input_text",
            description="Replace the text of an input field; optionally press Enter after it.",
            params={
                "index": INDEX,
                "text": Param(kind="string", description="The text.", required=True),
                "press_enter": Param(kind="boolean"),
            },
            build=_input_text,
        ),
        phrasings=('Type "Ada" into "Full name"',),
        resolvable=True,
    ),
    ActionSpec(
        action=a.PressKey,
        handler=h.press_key,
        docs_row="send keys",
        tool=Tool(
            name="send_keys",
            description=(
                "Press keys in the focused element, e.g. Enter, Escape, Tab, ArrowDown, Control+a."
            ),
            params={
                "keys": Param(
                    kind="string",
                    description="A key or a combination joined with +.",
                    required=True,
                )
            },
            build=lambda args, _: [a.PressKey(args["keys"])],
        ),
        phrasings=("Press Enter", "Press Ctrl+A", "Hit the Escape key"),
        opens_tabs=True,
        downloads=True,
    ),
    ActionSpec(
        action=a.SelectOption,
        handler=h.select_option,
        docs_row="select an option",
        tool=Tool(
            name="select_option",
            description="Choose an option of a drop-down (combobox) by its label.",
            params={
                "index": INDEX,
                "option": Param(
                    kind="string", description="The option's label as listed.", required=True
                ),
            },
            build=lambda args, element: [
                a.SelectOption(element, args["option"], index=args["index"])
            ],
        ),
        phrasings=('Select "Blue" from the "Colour" dropdown',),
        resolvable=True,
    ),
    ActionSpec(
        action=a.SetChecked,
        handler=h.set_checked,
        docs_row="check / uncheck",
        tool=Tool(
            name="set_checked",
            description="Check or uncheck a checkbox, radio button or switch.",
            params={
                "index": INDEX,
                "checked": Param(
                    kind="boolean", description="true to check, false to uncheck.", required=True
                ),
            },
            build=lambda args, element: [
                a.SetChecked(element, args["checked"], index=args["index"])
            ],
        ),
        phrasings=('Check "I agree"', "Uncheck the Newsletter checkbox"),
        resolvable=True,
    ),
    ActionSpec(
        action=a.UploadFile,
        handler=h.upload_file,
        docs_row="upload one of the task's files",
        tool=Tool(
            name="upload_file",
            description=(
                "Put one of the task's files into a file input (listed as a button, often "
                '"Choose File"); the observation lists the files you can upload.'
            ),
            params={
                "index": INDEX,
                "name": Param(
                    kind="string", description="The file's name, as listed.", required=True
                ),  # fmt: skip
            },
            build=lambda args, element: [a.UploadFile(element, args["name"], index=args["index"])],
        ),
        phrasings=("Upload report.pdf into 'Attachment'",),
    ),
    ActionSpec(
        action=a.ChangeLanguage,
        handler=h.change_language,
        docs_row="change the site's language",
        llm_note="(by the element tools)",
        phrasings=("Change the language to German",),
    ),
    ActionSpec(
        action=a.ChooseSetting,
        handler=h.choose_setting,
        docs_row="change a setting",
        llm_note="(by the element tools)",
        phrasings=("Change the currency to EUR",),
        opens_tabs=True,
    ),
    ActionSpec(
        action=a.Scroll,
        handler=h.scroll,
        docs_row="scroll",
        tool=Tool(
            name="scroll",
            description="Scroll the page.",
            params={
                "direction": Param(
                    kind="string", required=True, enum=("down", "up", "top", "bottom")
                )
            },
            build=lambda args, _: [a.Scroll(args["direction"])],
        ),
        phrasings=("Scroll down", "Scroll to the bottom"),
    ),
    ActionSpec(
        action=a.ScrollTo,
        handler=h.scroll_to,
        docs_row="scroll",
        phrasings=('Scroll to "Contact"',),
    ),
    ActionSpec(
        action=a.Wait,
        handler=h.wait,
        docs_row="wait",
        tool=Tool(
            name="wait",
            description="Wait for some seconds, or until a text appears on the page.",
            params={
                "seconds": Param(kind="number", description="At most 30."),
                "text": Param(kind="string", description="Text to wait for."),
            },
            build=_wait,
        ),
        phrasings=("Wait 2 seconds",),
    ),
    ActionSpec(
        action=a.WaitForLoad,
        handler=h.wait_for_load,
        docs_row="wait",
        phrasings=("Wait until the page is loaded",),
    ),
    ActionSpec(
        action=a.WaitForText,
        handler=h.wait_for_text,
        docs_row="wait",
        phrasings=('Wait for "Done" to appear',),
    ),
    ActionSpec(
        action=a.ReturnText,
        handler=h.return_text,
        docs_row="extract",
        phrasings=(
            "Return the text",
            "Return the title",
            "Get the main heading",
            "Print the first paragraph",
        ),
    ),
    ActionSpec(
        action=a.Extract,
        handler=h.extract_data,
        docs_row="extract",
        tool=Tool(
            name="extract",
            description=(
                "Read data from the page: its full text, its main content as Markdown, its "
                "HTML, or JSON of one shape."
            ),
            params={"shape": Param(kind="string", required=True, enum=a.EXTRACT_SHAPES)},
            build=lambda args, _: [a.Extract(args["shape"])],
        ),
        phrasings=(
            "Extract all links",
            "Extract the table",
            "Return the page as Markdown",
            "Get the HTML",
        ),
    ),
    ActionSpec(
        action=a.Summarize,
        handler=h.summarize,
        docs_row="summarize",
        llm_note="(none: a model writes its own)",
        phrasings=("Summarize the page",),
    ),
    ActionSpec(
        action=a.CheckText,
        handler=h.check_text,
        docs_row="check for a text",
        llm_note="(none: a model reads the page itself)",
        phrasings=(
            "Check whether the page contains 'Free shipping'",
            "Does example.com mention 'domain'?",
            "Make sure the page says 'Thank you'",
            "Make sure the page does not say 'Error'",
            "Verify that the title is 'Example Domain'",
            "Does the URL contain '/login'?",
            "Check that the heading says 'Welcome'",
        ),
    ),
    ActionSpec(
        action=a.Answer,
        handler=answer_question,
        docs_row="answer a question",
        llm_note="(none: a model reads the page itself)",
        phrasings=("How many teas are listed?", "Who wrote the article at blog.example/1?"),
        rules_note="([Questions](#questions))",
    ),
    ActionSpec(
        action=a.TakeScreenshot,
        # The runner takes screenshots, as the task's policy says.
        handler=h.nothing,
        docs_row="take a screenshot",
        llm_note="(none: the screenshot policy)",
        phrasings=("Take a screenshot",),
    ),
    ActionSpec(
        action=a.OpenTab,
        handler=h.open_tab,
        docs_row="open / switch / close a tab",
        tool=Tool(
            name="open_tab",
            description="Open a URL in a new tab.",
            params={"url": URL},
            build=lambda args, _: [a.OpenTab(args["url"])],
        ),
        phrasings=("Open x.test in a new tab",),
    ),
    ActionSpec(
        action=a.SwitchTab,
        handler=h.switch_tab,
        docs_row="open / switch / close a tab",
        tool=Tool(
            name="switch_tab",
            description="Switch to another tab.",
            params={"tab": Param(kind="integer", description="The tab's number.", required=True)},
            build=lambda args, _: [a.SwitchTab(str(args["tab"]))],
        ),
        phrasings=("Switch to the first tab",),
    ),
    ActionSpec(
        action=a.CloseTab,
        handler=h.close_tab,
        docs_row="open / switch / close a tab",
        tool=Tool(
            name="close_tab",
            description="Close a tab (the current one if no number is given).",
            params={"tab": Param(kind="integer", description="The tab's number.")},
            build=lambda args, _: [a.CloseTab(str(args["tab"]) if "tab" in args else "current")],
        ),
        phrasings=("Close the tab",),
    ),
    ActionSpec(
        action=a.Download,
        handler=h.download,
        docs_row="download a file",
        tool=Tool(
            name="download",
            description=(
                "Download a file: click the link or button [index] that downloads it, or open "
                "the file's url. The file is kept for the user; the step reports its name and "
                "size."
            ),
            params={
                "index": Param(kind="integer", description=INDEX.description),
                "url": Param(
                    kind="string", description="The file's http(s) URL, instead of an index."
                ),
            },
            build=_download,
        ),
        phrasings=('Download "report.csv"', "Download https://a.test/r.csv"),
        downloads=True,
    ),
    ActionSpec(
        action=a.LogIn,
        handler=log_in,
        docs_row="log in",
        llm_note="(by `input_text` and `click`)",
        phrasings=("Log in as ada / s3cret", "Sign in with username ada and password s3cret"),
    ),
    ActionSpec(
        action=a.FillForm,
        handler=fill_form,
        docs_row="fill in a form from a description",
        llm_note="(by the element tools)",
        phrasings=("Order a medium pizza with bacon for Ada, phone 555-0100",),
    ),
    ActionSpec(
        action=a.Done,
        # The runner ends the run on it.
        handler=h.nothing,
        docs_row="done",
        tool=Tool(
            name="done",
            description=(
                "Finish: give the answer the task asked for, or say why it could not be done."
            ),
            params={
                "text": Param(
                    kind="string",
                    description="The result for the user, with the data the task asked for.",
                    required=True,
                ),
                "success": Param(
                    kind="boolean",
                    description="false if the task could not be completed.",
                    required=True,
                ),
            },
            build=lambda args, _: [a.Done(args["text"], success=args["success"])],
        ),
        rules_note="(the end of the instruction)",
    ),
)
