"""The cost ledger and the event log: flat records, analysed later in pandas."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Cost categories, in the order tables show them.
CATEGORIES = ("model_errors", "outage", "infrastructure", "people")
#: What two categories are made of, in the order tables show them. ``model_errors`` = the model's
#: decisions on the requests it answered + the fallback rule's on the requests shed to it + the
#: decisions failed requests never got (fraud let through unscored, no recommendations shown);
#: ``outage`` = failed requests + downtime minutes. The decisions an outage left unmade are part of
#: its price, booked under model errors: the breakdown shows them apart.
BREAKDOWN = ("model_decisions", "fallback_decisions", "unscored_decisions", "failed_requests", "downtime")
#: Which category each part of :data:`BREAKDOWN` adds up to.
PART_OF = {"model_decisions": "model_errors", "fallback_decisions": "model_errors",
           "unscored_decisions": "model_errors", "failed_requests": "outage", "downtime": "outage"}


def sample_variance(total, squares, draws: int):
    """Variance estimate of a sum of weighted costs over ``draws`` independent draws.

    The estimate is ``total`` = Σ x_i, x_i = weight x cost of draw i (zero
    for the draws a partial sum leaves out); each n x_i is an unbiased draw
    of the whole, so Var(total) is estimated by
    (n Σ x_i² − total²) / (n − 1) (Hansen–Hurwitz). Works on arrays of
    partial sums alike.

    >>> float(sample_variance(6.0, 14.0, 3))   # x = 1, 2, 3
    3.0
    >>> float(sample_variance(0.0, 0.0, 1))
    0.0
    """
    if draws < 2:
        return np.zeros_like(np.asarray(total, dtype=np.float64))
    return (draws * np.asarray(squares, dtype=np.float64) - np.square(total)) / (draws - 1)


def stratified_variance(rest_total, rest_squares, draws: int, stratum_total, stratum_squares, candidates: int):
    """Variance estimate of a day's cost estimate T = T_R + T_S with a cost stratum (see :class:`simulator.store.Day`).

    T_R sums the ``draws`` sample rows outside the stratum, T_S the stratum's
    rows among all ``candidates`` (the sample's included); the two share the
    sample's draws, and the covariance that makes is −T_S T_R / N. Without
    a stratum (``candidates`` 0) the sample's :func:`sample_variance` alone.

    >>> float(stratified_variance(6.0, 14.0, 3, 0.0, 0.0, 0)) == float(sample_variance(6.0, 14.0, 3))
    True
    """
    variance = sample_variance(rest_total, rest_squares, draws)
    if candidates:
        variance = (variance + sample_variance(stratum_total, stratum_squares, candidates)
                    - 2.0 * np.asarray(stratum_total) * np.asarray(rest_total) / candidates)
    return np.maximum(variance, 0.0)


@dataclass
class Ledger:
    """Dollars spent so far in each category.

    >>> led = Ledger()
    >>> led.charge("people", 240.0); led.charge("outage", 10.0)
    >>> led.total, led.as_dict()["people"]
    (250.0, 240.0)
    """

    amounts: dict[str, float] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0.0))

    def charge(self, category: str, dollars: float) -> None:
        """Add ``dollars`` to ``category`` (one of :data:`CATEGORIES`)."""
        if category not in self.amounts:
            raise KeyError(f"unknown cost category {category!r}")
        self.amounts[category] += float(dollars)

    @property
    def total(self) -> float:
        """All categories together."""
        return float(sum(self.amounts.values()))

    def as_dict(self) -> dict[str, float]:
        """Each category and ``total``."""
        return {**self.amounts, "total": self.total}


@dataclass
class EventLog:
    """One record per control event: retrains, deploys, rollbacks, alerts, incidents, scaling."""

    level: int
    records: list[dict] = field(default_factory=list)

    def add(self, time: float, kind: str, version: int | None = None, detail: str = "", **extra) -> None:
        """Record ``kind`` at simulated ``time`` (seconds)."""
        self.records.append({"day": time / 86400.0, "level": self.level, "kind": kind,
                             "model_version": version, "detail": detail, **extra})

    def count(self, kind: str) -> int:
        """How many events of ``kind`` were recorded."""
        return sum(1 for r in self.records if r["kind"] == kind)
