"""Summary statistics the benchmarks report."""

from __future__ import annotations

import statistics


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (0..1) of ``values``: one of the values measured."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def p95(values: list[float]) -> float:
    """The 95th percentile, interpolated between the values measured."""
    return statistics.quantiles(values, n=20)[18]
