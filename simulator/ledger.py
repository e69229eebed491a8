"""The cost ledger and the event log: flat records, analysed later in pandas."""
from __future__ import annotations

from dataclasses import dataclass, field

#: Cost categories, in the order tables show them.
CATEGORIES = ("model_errors", "outage", "infrastructure", "people")


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
