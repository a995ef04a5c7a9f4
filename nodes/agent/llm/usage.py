"""Usage accounting: the model calls and tokens a task spent, and its token budget.

The node creates one ``LLMUsage`` per attempt and hands it down to the planner's chat
client, which adds each reply's ``usage`` (prompt, completion and total tokens, as
OpenAI-compatible servers report them) and counts the calls. Because the node holds
it, what was spent is known however the run ends, a failure included: it goes into
the task's ``info.llm`` and the node's metrics. A server that reports no usage still
has its calls counted.

``max_tokens_total`` (a template option) bounds a task's spending: once it is spent,
the next call is not made and the task fails with ``token budget spent: N of M``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from shared.errors import PlannerFailed


class TokenBudgetSpent(PlannerFailed):
    """token budget spent"""


def _tokens(usage: dict[str, Any], key: str) -> int:
    value = usage.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


@dataclass
class LLMUsage:
    model: str = ""
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    def add(self, model: str, usage: Any) -> None:
        """One answered call, with the reply's ``usage`` object (if the server sent one)."""
        self.model = self.model or model
        self.calls += 1
        if not isinstance(usage, dict):
            return
        prompt, completion = _tokens(usage, "prompt_tokens"), _tokens(usage, "completion_tokens")
        self.prompt_tokens += prompt
        self.completion_tokens += completion
        self.total_tokens += _tokens(usage, "total_tokens") or prompt + completion

    def check_budget(self, max_tokens_total: int | None) -> None:
        if max_tokens_total is not None and self.total_tokens >= max_tokens_total:
            raise TokenBudgetSpent(f"token budget spent: {self.total_tokens} of {max_tokens_total}")

    def as_info(self) -> dict[str, Any] | None:
        """``info.llm``; None when no model was called."""
        return asdict(self) if self.calls else None
