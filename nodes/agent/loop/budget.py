"""Time accounting: every Playwright call gets what is left, never more.

Playwright treats ``timeout=0`` as "no timeout", so a spent budget must raise
instead of handing out zero.
"""

from __future__ import annotations

import time

from shared.errors import DeadlineExceeded


class Budget:
    def __init__(self, deadline: float, action_timeout_ms: int) -> None:
        self.deadline = deadline  # a time.monotonic() value
        self.action_timeout_ms = action_timeout_ms
        self.started = time.monotonic()

    def left_ms(self) -> float:
        return (self.deadline - time.monotonic()) * 1000

    def expired(self) -> bool:
        return self.left_ms() <= 0

    def exceeded(self) -> DeadlineExceeded:
        elapsed = max(0, round((time.monotonic() - self.started) * 1000))
        return DeadlineExceeded(f"timed out after {elapsed} ms")

    def check(self) -> None:
        if self.expired():
            raise self.exceeded()

    def timeout_ms(self, cap_ms: float | None = None) -> float:
        """A timeout for one Playwright call: the action timeout, cut to the deadline."""
        left = self.left_ms()
        if left <= 0:
            raise self.exceeded()
        limit = min(self.action_timeout_ms, left)
        if cap_ms is not None:
            limit = min(limit, cap_ms)
        # At least 1 ms: 0 would mean "wait forever" to Playwright.
        return max(1.0, limit)
