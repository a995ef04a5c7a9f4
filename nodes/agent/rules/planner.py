"""The offline rules planner: a fixed English grammar compiled up front.

The whole instruction is compiled before anything runs, so a clause the rules
do not understand fails before a page is opened. Each rule is a function that
returns actions for a masked clause (see ``split``) or None when it does not
apply; the first rule that applies wins.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence

from nodes.agent import actions as a
from nodes.agent.actions import Action, Click
from nodes.agent.rules import (
    context,
    forms,
    goals,
    inputs,
    pages,
    questions,
    reading,
    records,
    tabs,
)
from nodes.agent.rules.grammar import word_list
from nodes.agent.rules.inputs import FREE_TEXT
from nodes.agent.rules.resolve import RESOLVABLE, resolve
from nodes.agent.rules.split import LATE_VERBS, Masked, mask_quotes, split_clauses
from nodes.agent.rules.urls import file_or_code_name
from nodes.agent.types import Observation, StepRecord
from shared.errors import ActionFailed, InstructionNotUnderstood

Rule = Callable[[str, Masked], "list[Action] | None"]

RULES: tuple[Rule, ...] = (
    questions.check_text,
    questions.check_part,
    forms.log_in,
    context.pointer,
    context.check_site,
    forms.fill_form,
    records.create_record,
    records.set_role,
    tabs.open_in_new_tab,
    inputs.click_nth,
    inputs.hover,
    pages.open_urls,
    tabs.switch_tab,
    tabs.close_tab,
    pages.go_back,
    pages.reload,
    pages.scroll,
    pages.scroll_to,
    pages.wait_for_load,
    pages.wait_seconds,
    pages.wait_for_text,
    inputs.press_key,
    inputs.key_combo,
    inputs.sort_by,
    inputs.select_from,
    inputs.fill_with,
    inputs.type_as,
    inputs.type_into,
    inputs.upload_file,
    inputs.search_site,
    inputs.search_for,
    inputs.change_language,
    inputs.set_checked,
    inputs.clear_field,
    goals.goal,
    goals.choose_setting,
    reading.screenshot,
    reading.summarize,
    reading.extract_shape,
    reading.page_document,
    reading.return_text,
    goals.page_goal,
    inputs.download,
    questions.site_prefix,
    questions.reworded,
    questions.question,
    inputs.click,
    pages.bare_url,
    questions.url_in_clause,
)


_LOOSE_SEP = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+", re.IGNORECASE)


def _apply_rules(clause: str, masked: Masked) -> list[Action] | None:
    for rule in RULES:
        actions = rule(clause, masked)
        if actions is not None:
            if rule is not questions.url_in_clause and questions.swallows_url(
                clause, masked, actions
            ):
                # "click About on URL": open the URL, then the clause without it.
                return questions.url_in_clause(clause, masked)
            return actions
    # "open a new issue called X on URL - user ada, password s3cret"
    return context.with_credentials(clause, masked, _apply_rules)


def _culprit(clause: str, masked: Masked) -> str:
    """The part of a clause to quote in the error.

    " and " only splits before a known verb, so "open a.test and fooble it"
    fails as a whole; quoting just "fooble it" tells the user what was wrong.
    """
    parts = [p for p in _LOOSE_SEP.split(clause) if p]
    parsed = [_apply_rules(p, masked) is not None for p in parts]
    if any(parsed) and not all(parsed):
        return parts[parsed.index(False)]
    return clause


def parse_clause(clause: str, masked: Masked) -> list[Action]:
    """Actions for one masked clause; raises InstructionNotUnderstood quoting it."""
    original = masked.restore(clause)
    actions = _apply_rules(clause, masked)
    if actions is None:
        if _GIVES_A_PASSWORD.search(original):
            # Where the password ends in words the rules did not read is not known, so
            # none of the clause is quoted (masking it there showed parts of passwords).
            raise InstructionNotUnderstood(
                "could not understand the clause that gives a password (not quoted here, "
                "to keep the password out of the error)"
            )
        culprit = forms.hide_passwords(masked.restore(_culprit(clause, masked)))
        raise InstructionNotUnderstood(f'could not understand "{culprit}"')
    return [dataclasses.replace(a, clause=original) for a in actions]


def plan_instruction(instruction: str) -> list[Action]:
    """Compile an instruction into actions without touching a browser."""
    masked = mask_quotes(instruction)
    clauses = split_clauses(masked.text)
    if not clauses:
        raise InstructionNotUnderstood("the instruction is empty")
    groups: list[list[Action]] = []
    for i, clause in enumerate(clauses):
        # "Click Review and submit": a button's name, not a click and then a submit.
        if (
            i
            and re.fullmatch(r"submit", clause, re.I)
            and _CLICKS.fullmatch(clauses[i - 1])
            and [type(x) for x in groups[-1]] == [Click]
        ):
            if _merge_into_previous(masked, clauses, groups, i):
                continue
        try:
            parsed = parse_clause(clause, masked)
            _refuse_reformatting(masked, clause, groups, parsed)
            groups.append(parsed)
        except InstructionNotUnderstood:
            # "Fill the Notes field with call Bob and verify the invoice": a split that
            # left a piece nobody reads; the clause before it, with it, may be one.
            if not (i and _merge_into_previous(masked, clauses, groups, i)):
                raise
    return _names_on_the_page([action for group in context.in_order(groups) for action in group])


def _names_on_the_page(actions: list[Action]) -> list[Action]:
    """ "Open https://github.com/o/r and open README.md": once a page is open, a file name
    written alone is a link on it, not a site, although "README.md" or "lib.rs" would be
    a host too (Moldova's and Serbia's domains). Before a page is open, it is a site."""
    out: list[Action] = []
    page_open = False
    for action in actions:
        if isinstance(action, a.Navigate):
            name = action.url.removeprefix("https://")
            written_alone = name != action.url and f"://{name}" not in action.clause
            if page_open and written_alone and file_or_code_name(name):
                action = a.Click(clause=action.clause, text=name)
            page_open = True
        out.append(action)
    return out


_RESULTS = (a.Answer, a.Summarize, a.ReturnText, a.Extract, a.CheckText, a.TakeScreenshot)


def _refuse_reformatting(
    masked: Masked, clause: str, groups: list[list[Action]], parsed: list[Action]
) -> None:
    """ "Summarize the page and return it as markdown": "it" is the summary, which the
    rules cannot reformat; the page's Markdown in its place would not be what was asked."""
    if not groups or not groups[-1] or not isinstance(groups[-1][-1], _RESULTS):
        return
    if not all(isinstance(x, a.Extract) and x.shape in ("markdown", "html") for x in parsed):
        return
    words = set(word_list(clause))
    # "output in markdown", "return it as markdown": the result's format; "return the
    # page as markdown", "give me the HTML": the page's.
    names_the_page = words & reading.PAGE_NOUNS or re.search(
        r"\bthe\s+(?:raw\s+|full\s+)?(?:markdown|html)\b", clause, re.I
    )
    if not names_the_page:
        raise InstructionNotUnderstood(
            f'could not understand "{masked.restore(clause)}": the rules cannot reformat the '
            "result before it; ask for the page as Markdown or HTML in a clause of its own "
            '("Return the page as Markdown")'
        )


_GIVES_A_PASSWORD = re.compile(rf"\b{forms.PASS_KEY}\b", re.I)
# A click on a bare, capitalised name ("Click Review"), which "and submit" may end.
_CLICKS = re.compile(r"(?i:click|press|tap)(?:\s+on)?\s+(?!(?i:the)\b)[A-Z][\w'-]*")


def _merge_into_previous(
    masked: Masked, clauses: list[str], groups: list[list[Action]], i: int
) -> bool:
    """Read clause ``i`` together with the one before it (``_joined``), replacing that
    one's actions; False, changing nothing, when the two do not read as one."""
    joined = _joined(masked.text, clauses[i - 1], clauses[i])
    merged = _apply_rules(joined, masked) if joined else None
    if joined is None or merged is None:
        return False
    groups[-1] = [dataclasses.replace(a, clause=masked.restore(joined)) for a in merged]
    clauses[i] = joined
    return True


def _joined(text: str, before: str, after: str) -> str | None:
    """``before`` and ``after`` as one clause, with what separated them in ``text``;
    None when a sentence ended between them."""
    start = text.find(before)
    end = text.find(after, start + len(before)) if start >= 0 else -1
    # Only the split the late verbs make ("... with call Bob and verify the invoice", "Fill
    # Message with Hi team, read the report first"); "then" between them was the user's,
    # and so is a bare "submit (the form)" after a comma.
    gap = text[start + len(before) : end] if end >= 0 else ""
    if end < 0 or not re.fullmatch(r"\s+and\s+|\s*,\s*(?:and\s+)?", gap, re.I):
        return None
    if not re.match(rf"(?:{LATE_VERBS})\b", after, re.I):
        return None
    if "," in gap and (
        re.fullmatch(r"submit(?:\s+(?:the\s+)?form)?", after, re.I)
        # only the words of a free-text field ("Fill Message with Hi team, read ...")
        or not re.match(
            r"fill(?:\s+(?:in|out))?\s+(?:the\s+)?(?:[\w-]+\s+){0,3}?(?=\S*\s+(?:field\s+)?with\b)",
            before,
            re.I,
        )
        or not FREE_TEXT.search(before.split(" with ", 1)[0])
    ):
        return None
    return text[start : end + len(after)]


class RulesPlanner:
    """A ``Planner`` that hands out a precompiled plan one action at a time.

    One action per call keeps the runner's loop the same as for a planner that
    re-plans after every step from what it observes.
    """

    @property
    def reads_page(self) -> bool:
        """Whether the next action could use the page's elements (see ``resolve``):
        the runner only distils the DOM for those, and gives the others the URL and
        the last outcome, which is all a fixed plan looks at."""
        return self._next < len(self.actions) and isinstance(self.actions[self._next], RESOLVABLE)

    def __init__(self, instruction: str) -> None:
        self.actions: tuple[Action, ...] = tuple(plan_instruction(instruction))
        self._next = 0

    def next_actions(self, observation: Observation, history: Sequence[StepRecord]) -> list[Action]:
        if history and not history[-1].ok:
            # A fixed plan has no other way to the goal: the failed step ends the run.
            raise ActionFailed(history[-1].error or f"could not {history[-1].action}")
        if self._next >= len(self.actions):
            return []
        action = self.actions[self._next]
        self._next += 1
        return [resolve(action, observation)]
