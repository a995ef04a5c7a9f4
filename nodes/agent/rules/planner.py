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

from nodes.agent.actions import Action
from nodes.agent.rules import forms as forms_phrases
from nodes.agent.rules import goals as phrases_goals
from nodes.agent.rules import inputs as phrases_input
from nodes.agent.rules import pages as phrases
from nodes.agent.rules import questions as phrases_questions
from nodes.agent.rules import tabs as phrases_more
from nodes.agent.rules.resolve import RESOLVABLE, resolve
from nodes.agent.rules.split import Masked, mask_quotes, split_clauses
from nodes.agent.types import Observation, StepRecord
from shared.errors import ActionFailed, InstructionNotUnderstood

Rule = Callable[[str, Masked], "list[Action] | None"]

RULES: tuple[Rule, ...] = (
    forms_phrases.log_in,
    forms_phrases.fill_form,
    phrases_more.open_in_new_tab,
    phrases.open_urls,
    phrases_more.switch_tab,
    phrases_more.close_tab,
    phrases.go_back,
    phrases.reload,
    phrases.scroll,
    phrases_more.scroll_to,
    phrases.wait_for_load,
    phrases.wait_seconds,
    phrases_more.wait_for_text,
    phrases_input.press_key,
    phrases_more.key_combo,
    phrases_input.select_from,
    phrases_input.fill_with,
    phrases_input.type_into,
    phrases_input.upload_file,
    phrases_input.search_for,
    phrases_input.change_language,
    phrases_more.set_checked,
    phrases_more.clear_field,
    phrases_goals.goal,
    phrases_goals.choose_setting,
    phrases.screenshot,
    phrases.summarize,
    phrases_more.extract_shape,
    phrases.return_text,
    phrases_goals.page_goal,
    phrases_input.download,
    phrases_questions.site_prefix,
    phrases_questions.reworded,
    phrases_questions.question,
    phrases_input.click,
    phrases.bare_url,
)


_LOOSE_SEP = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+", re.IGNORECASE)


def _apply_rules(clause: str, masked: Masked) -> list[Action] | None:
    for rule in RULES:
        actions = rule(clause, masked)
        if actions is not None:
            return actions
    return None


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
        culprit = forms_phrases.hide_passwords(masked.restore(_culprit(clause, masked)))
        raise InstructionNotUnderstood(f'could not understand "{culprit}"')
    return [dataclasses.replace(a, clause=original) for a in actions]


def plan_instruction(instruction: str) -> list[Action]:
    """Compile an instruction into actions without touching a browser."""
    masked = mask_quotes(instruction)
    clauses = split_clauses(masked.text)
    if not clauses:
        raise InstructionNotUnderstood("the instruction is empty")
    actions: list[Action] = []
    for clause in clauses:
        actions.extend(parse_clause(clause, masked))
    return actions


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
