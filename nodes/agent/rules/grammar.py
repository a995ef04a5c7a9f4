"""What every clause rule shares.

A rule takes a masked clause (quoted strings replaced by placeholders, see
``split``) and returns actions, or None when the clause is not of its kind.
Matching is case-insensitive; values keep the user's own spelling.
"""

from __future__ import annotations

import re

from nodes.agent.rules.split import PLACEHOLDER

F = re.IGNORECASE | re.DOTALL


def match(pattern: str, clause: str) -> re.Match[str] | None:
    return re.fullmatch(pattern, clause.strip(), F)


def word_list(fragment: str) -> list[str]:
    return re.findall(r"[\w'’-]+", fragment.lower())


def is_quoted(fragment: str) -> bool:
    return PLACEHOLDER.fullmatch(fragment.strip()) is not None
