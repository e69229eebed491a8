"""The model registry: every trained version with its lineage and its scorer."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .domains import Scorer
from .monitoring import Reference


@dataclass
class ModelVersion:
    """A trained model and where it came from.

    ``data_start``/``data_end`` bound the request times it was trained on
    (seconds); ``reference_metric`` is its primary metric on held-out rows of
    that window; ``reference`` summarises its training inputs for drift checks
    and ``score_reference`` its training scores, for canary comparison.
    """

    version: int
    trained_at: float
    data_start: float
    data_end: float
    rows: int
    scorer: Scorer
    reference_metric: float
    reference: Reference
    score_reference: Reference
    reference_rows: dict | None = None  # a sample of its training inputs, for two-sample drift tests


class BrokenScorer(Scorer):
    """A release that runs but reads its features in the wrong order (a silent failure).

    It is what a version mismatch between training and serving code does: no
    error, plausible-looking scores, wrong answers.
    """

    def __init__(self, inner: Scorer) -> None:
        self.inner = inner
        self.threshold = inner.threshold

    def score(self, X: np.ndarray) -> np.ndarray:
        """Score with the columns reversed."""
        return self.inner.score(X[:, ::-1])


@dataclass
class ModelRegistry:
    """All versions of one level, in order."""

    versions: list[ModelVersion] = field(default_factory=list)

    def add(self, version: ModelVersion) -> ModelVersion:
        """Register a version (numbers are given in order, from 1)."""
        self.versions.append(version)
        return version

    def next_number(self) -> int:
        """The number the next version will get."""
        return len(self.versions) + 1
