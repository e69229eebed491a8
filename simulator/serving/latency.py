"""A fixed-bin latency histogram: percentiles with memory that never grows.

>>> h = LatencyHistogram()
>>> h.add_values(np.array([0.010, 0.020, 0.030]), np.array([1.0, 1.0, 1.0]))
>>> abs(h.quantile(0.5) - 0.020) < 0.020 * 0.06   # within a bin's width of the median
True
"""
from __future__ import annotations

import numpy as np

from ..scenario import LATENCY_RANGE

#: Bin edges in seconds, 40 per decade from 0.1 ms to 100 s (about 6% wide).
EDGES = np.geomspace(*LATENCY_RANGE, 241)
CENTRES = np.sqrt(EDGES[:-1] * EDGES[1:])


def bin_of(seconds: float) -> int:
    """The bin a latency of ``seconds`` is counted in (the end bins hold what is outside the range).

    >>> bin_of(1.0) == int(np.searchsorted(EDGES, 1.0, side="right")) - 1
    True
    """
    return int(np.clip(np.searchsorted(EDGES, seconds, side="right") - 1, 0, len(CENTRES) - 1))


class LatencyHistogram:
    """Request counts per latency bin, plus the exact sum for the mean."""

    def __init__(self) -> None:
        self.counts = np.zeros(len(EDGES) - 1)
        self.total = 0.0
        self.sum = 0.0

    def add_counts(self, counts: np.ndarray, latency_sum: float) -> None:
        """Add per-bin counts (and the exact latency sum of those requests)."""
        self.counts += counts
        self.total += float(counts.sum())
        self.sum += latency_sum

    def add_values(self, values: np.ndarray, weights: np.ndarray) -> None:
        """Add latencies (seconds) each standing for ``weights`` requests."""
        idx = np.clip(np.searchsorted(EDGES, values, side="right") - 1, 0, len(CENTRES) - 1)
        self.counts += np.bincount(idx, weights=weights, minlength=len(CENTRES))
        self.total += float(weights.sum())
        self.sum += float(np.dot(values, weights))

    def merge(self, other: "LatencyHistogram") -> None:
        """Add another histogram's requests to this one."""
        self.add_counts(other.counts, other.sum)

    @property
    def mean(self) -> float:
        """Mean latency in seconds (NaN when empty)."""
        return self.sum / self.total if self.total > 0 else float("nan")

    def quantile(self, q: float) -> float:
        """The q-quantile in seconds, interpolated geometrically inside its bin."""
        return float(row_quantiles(self.counts, q)[0])


def row_quantiles(counts: np.ndarray, q: float) -> np.ndarray:
    """The q-quantile (seconds) of each row of a matrix of bin counts (NaN for empty rows)."""
    counts = np.atleast_2d(counts)
    cum = np.cumsum(counts, axis=1)
    total = cum[:, -1]
    target = q * total
    i = np.minimum((cum < target[:, None]).sum(axis=1), counts.shape[1] - 1)
    rows = np.arange(len(counts))
    below = np.where(i > 0, cum[rows, np.maximum(i - 1, 0)], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.clip(np.where(counts[rows, i] > 0, (target - below) / counts[rows, i], 0.5), 0.0, 1.0)
    out = EDGES[i] * (EDGES[i + 1] / EDGES[i]) ** frac
    return np.where(total > 0, out, np.nan)
