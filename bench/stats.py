"""Statistics for timing comparisons, with the standard library only."""

from __future__ import annotations

import math
import statistics
from typing import Any

# With 200 + 200 samples from one distribution the AUC has a standard error of 0.029: these
# bounds are 3.5 of them (a false alarm about once in 1,800 forms). Outside them, latency
# tells known from unknown accounts apart.
NO_LEAK_AUC = (0.40, 0.60)
NO_LEAK = "no measurable leak"
SIGNIFICANT = 0.01  # an AUC outside the bounds is called a leak only below this p-value


def auc(slow: list[float], fast: list[float]) -> float:
    """Return P(a value of `slow` exceeds one of `fast`), ties counting half.

    This is the Mann-Whitney U statistic of `slow` divided by n1 * n2; 0.5 means the two
    samples cannot be told apart by ordering.
    """
    pooled = sorted([(value, True) for value in slow] + [(value, False) for value in fast])
    rank_sum, start = 0.0, 0
    while start < len(pooled):
        end = start
        while end < len(pooled) and pooled[end][0] == pooled[start][0]:
            end += 1
        mean_rank = (start + 1 + end) / 2  # tied values share the mean of ranks start+1..end
        rank_sum += mean_rank * sum(is_slow for _, is_slow in pooled[start:end])
        start = end
    n1, n2 = len(slow), len(fast)
    return (rank_sum - n1 * (n1 + 1) / 2) / (n1 * n2)


def auc_p_value(value: float, n1: int, n2: int) -> float:
    """Return the two-sided p-value of an AUC against 0.5 (normal approximation, no ties)."""
    sigma = math.sqrt((n1 + n2 + 1) / (12 * n1 * n2))
    return 2 * (1 - statistics.NormalDist().cdf(abs(value - 0.5) / sigma))


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def verdict(value: float, p_value: float) -> str:
    """Return the verdict for a known-versus-unknown AUC and its p-value."""
    low, high = NO_LEAK_AUC
    if low <= value <= high:
        return NO_LEAK
    if p_value > SIGNIFICANT:
        # With a few dozen requests chance alone leaves the bounds often: say so, not "leak".
        return "inconclusive: too few requests"
    return f"LEAK: known requests are {'slower' if value > high else 'faster'}"


def compare(known: list[float], unknown: list[float]) -> dict[str, Any]:
    """Return counts, medians, 90th percentiles, the median gap, AUC, p-value and verdict."""
    value = auc(known, unknown)
    p_value = auc_p_value(value, len(known), len(unknown))
    return {
        "known": len(known),
        "unknown": len(unknown),
        "median_known_ms": round(statistics.median(known), 3),
        "median_unknown_ms": round(statistics.median(unknown), 3),
        "p90_known_ms": round(p90(known), 3),
        "p90_unknown_ms": round(p90(unknown), 3),
        "median_gap_ms": round(statistics.median(known) - statistics.median(unknown), 3),
        "auc": round(value, 4),
        "p_value": round(p_value, 4),
        "verdict": verdict(value, p_value),
    }
