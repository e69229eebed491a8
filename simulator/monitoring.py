"""Data-drift statistics: the population stability index (PSI) against a model's training data.

PSI = Σ (p − q)·ln(p / q) over bins, where q is a bin's share in the
reference (training) data and p its share now. Numeric columns use the
reference's deciles as bins; columns with few distinct values use the values.
The usual reading: under 0.1 stable, 0.1–0.2 moderate, above 0.2 a major shift.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> ref = Reference.from_rows({"x": rng.normal(size=20_000)}, ["x"])
>>> round(ref.psi({"x": rng.normal(size=20_000)})["x"], 3) < 0.01
True
>>> ref.psi({"x": rng.normal(1.0, 1.0, size=20_000)})["x"] > 0.2
True
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

_EPS = 1e-4
_MAX_CATEGORIES = 32


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """PSI between two vectors of bin shares (each summing to 1)."""
    q = np.clip(expected, _EPS, None)
    p = np.clip(actual, _EPS, None)
    return float(np.sum((p - q) * np.log(p / q)))


@dataclass
class ColumnReference:
    """Bins of one column and the reference's share in each."""

    edges: np.ndarray | None   # inner bin edges for numbers; None for categories
    values: np.ndarray | None  # the category values
    shares: np.ndarray

    def shares_of(self, x: np.ndarray) -> np.ndarray:
        """Share of ``x`` in each bin."""
        if self.edges is not None:
            idx = np.searchsorted(self.edges, x, side="right")
            counts = np.bincount(idx, minlength=len(self.edges) + 1)
        else:
            idx = np.searchsorted(self.values, x)
            idx = np.where((idx < len(self.values)) & (self.values[np.minimum(idx, len(self.values) - 1)] == x),
                           idx, len(self.values))
            counts = np.bincount(idx, minlength=len(self.values) + 1)[: len(self.values) + 1]
        return counts / max(len(x), 1)


@dataclass
class Reference:
    """A model's training data summarised for drift checks."""

    columns: dict[str, ColumnReference]

    @classmethod
    def from_rows(cls, rows: Mapping[str, np.ndarray], names: Sequence[str], bins: int = 10) -> "Reference":
        """Summarise ``rows`` (training data) on the columns ``names``."""
        out = {}
        for name in names:
            x = np.asarray(rows[name])
            values = np.unique(x)
            if len(values) <= _MAX_CATEGORIES:
                ref = ColumnReference(None, values, np.zeros(0))
            else:
                edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)[1:-1]))
                ref = ColumnReference(edges, None, np.zeros(0))
            ref.shares = ref.shares_of(x)
            out[name] = ref
        return cls(out)

    def psi(self, rows: Mapping[str, np.ndarray]) -> dict[str, float]:
        """PSI of each column of ``rows`` against the reference."""
        return {name: psi(ref.shares, ref.shares_of(np.asarray(rows[name]))) for name, ref in self.columns.items()}
