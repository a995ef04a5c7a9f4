"""Matching the words of a rules action to an element the observation already lists.

The observation is taken before every step anyway; when it lists exactly the
element a clause names, acting on its index saves the searches ``locate``
would make (a round trip to the browser each). Only whole, case-insensitive
name matches count, tried in the same role order as ``locate``; anything less
certain is left to ``locate``, which also waits for elements that render late.
"""

from __future__ import annotations

import dataclasses

from nodes.agent import actions as a
from nodes.agent.act.catalog import REGISTRY
from nodes.agent.act.locate import CLICK_ROLES
from nodes.agent.types import Element, Observation

# The actions whose declaration lets the rules planner point them at an observed element.
RESOLVABLE = REGISTRY.flagged("resolvable")
_FIELD_ROLES = ("textbox", "searchbox", "spinbutton")
_SELECT_ROLES = ("combobox", "listbox")
_CHECK_ROLES = ("checkbox", "switch", "radio", "menuitemcheckbox", "menuitemradio")


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def _find(
    observation: Observation, words: str, roles: tuple[str, ...], *, placeholder: bool = False
) -> Element | None:
    wanted = _norm(words)
    if not wanted:
        return None
    for role in roles:
        for element in observation.elements:
            if element.role != role or element.frame or element.state.get("disabled"):
                continue
            names = [element.name]
            if placeholder:
                names.append(str(element.state.get("placeholder", "")))
            if any(_norm(n) == wanted for n in names):
                return element
    return None


def _option(element: Element, value: str) -> str | None:
    """The option's label as the page spells it, if the observation lists it."""
    for label in element.state.get("options") or []:
        if _norm(label) == _norm(value) and not label.endswith("…"):
            return str(label)
    return None


def resolve(action: a.Action, observation: Observation) -> a.Action:
    """``action`` with the index of the element it names, when that is certain."""
    if getattr(action, "index", 0) is not None:
        return action
    found: Element | None = None
    changes: dict[str, object] = {}
    if isinstance(action, a.Click):
        found = _find(observation, action.text, CLICK_ROLES)
    elif isinstance(action, a.TypeText) and "search" != _norm(action.field):
        found = _find(observation, action.field, _FIELD_ROLES, placeholder=True)
    elif isinstance(action, a.SelectOption):
        found = _find(observation, action.field, _SELECT_ROLES)
        label = _option(found, action.value) if found is not None else None
        if label is None:
            return action
        changes["value"] = label
    elif isinstance(action, a.SetChecked):
        found = _find(observation, action.field, _CHECK_ROLES)
    if found is None:
        return action
    return dataclasses.replace(action, index=found.index, fallback=True, **changes)
