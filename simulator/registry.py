"""The model registry: every trained version with its lineage and its scorer."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .domains import Scorer
from .monitoring import Reference
from .spill import SpillFolder


class ReferenceSample:
    """A version's sample of its training inputs, held in memory or in a spill folder.

    The sample (20,000 rows, about 0.6 MB for fraud) is read only when its
    version goes live and a two-sample drift test is fitted to it, but any
    version may go live again (a rollback). :meth:`spill_to` moves it to disk;
    :meth:`rows` gives it back either way, the same to the bit.
    """

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self._arrays: dict[str, np.ndarray] | None = arrays
        self._folder: SpillFolder | None = None
        self._name: str | None = None

    @property
    def in_memory(self) -> bool:
        """Whether the sample is held in memory (not spilled)."""
        return self._arrays is not None

    def rows(self) -> dict[str, np.ndarray]:
        """The sample's columns by name (read back from the folder if spilled)."""
        if self._arrays is not None:
            return self._arrays
        arrays = self._folder.read(self._name)
        if arrays is None:
            raise FileNotFoundError(f"reference sample {self._name!r} is missing from {self._folder.path}")
        return arrays

    def spill_to(self, folder: SpillFolder, name: str) -> None:
        """Write the sample to ``folder`` as the set ``name`` and drop it from memory (once; later calls do nothing).

        ``name`` must be unique in the folder: the processes of a run share it.
        """
        if self._arrays is None:
            return
        folder.write(name, self._arrays)
        self._folder, self._name, self._arrays = folder, name, None


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
    reference_rows: ReferenceSample | None = None  # a sample of its training inputs, for two-sample drift tests


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
    """All versions of one level, in order.

    With a ``spill`` folder, only the newest version keeps its reference
    sample in memory: adding a version spills the one before it, as
    ``ref-<tag>-v<number>`` (``tag`` names the level, so the levels' processes,
    which share the folder, never write the same name). The live version's
    sample is needed only when its drift test is fitted, which keeps a
    summary of its own, so a run holds one sample per level, not one per
    retrain.
    """

    versions: list[ModelVersion] = field(default_factory=list)
    spill: SpillFolder | None = None
    tag: str = "L"

    def add(self, version: ModelVersion) -> ModelVersion:
        """Register a version (numbers are given in order, from 1), spilling the previous one's sample."""
        if self.spill is not None and self.versions:
            previous = self.versions[-1]
            if previous.reference_rows is not None:
                # The first version is shared by the levels of a process: whichever spills it first names it.
                previous.reference_rows.spill_to(self.spill, f"ref-{self.tag}-v{previous.version}")
        self.versions.append(version)
        return version

    def next_number(self) -> int:
        """The number the next version will get."""
        return len(self.versions) + 1
