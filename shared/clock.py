"""Time helpers. Components take a clock so tests can move time forward."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone

Clock = Callable[[], float]  # returns epoch seconds


def system_clock() -> float:
    return time.time()


def to_ms(epoch_s: float) -> int:
    return int(epoch_s * 1000)


def iso_utc(epoch_ms: int) -> str:
    """ISO 8601 in UTC with a Z, to the second, as in the API contract."""
    return datetime.fromtimestamp(epoch_ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
