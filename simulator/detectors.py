"""Drift detectors as a library: per-feature data drift, prediction drift, performance before labels.

:class:`FeatureDrift` is fitted once on reference rows (the live model's
training data) and then checks any number of current rows. Each column gets
the population stability index on the reference's quantile bins (deciles for
numbers, the values themselves for columns with few distinct values, exactly
as :class:`simulator.monitoring.Reference` bins them) and a two-sample test:
Kolmogorov–Smirnov for numbers, chi-squared on the contingency table of
counts for categories. The share of drifted columns is the dataset-level
signal. :class:`PredictionDrift` runs the same checks on the model's scores,
:class:`ConfidencePerformance` estimates a classifier's accuracy and AUC from
its calibrated probabilities before any label arrives, and
:class:`RiverDetector` lets any ``river.drift`` detector watch a daily series.

The p-values are scipy's (``ks_2samp``'s and ``chi2_contingency``'s; see
:class:`FeatureDrift`). Three notes on them, because a monitor runs every day:

- Multiple testing. At ``alpha`` per column, a check of ``m`` columns on
  stable traffic flags at least one with probability up to ``m * alpha``; run
  daily, that is ``365 * m * alpha`` false alarms a year (29 for 8 columns at
  0.01). ``correction="bonferroni"`` (the default) tests each column at
  ``alpha / m``, so the whole check raises a false alarm on a stable day
  with probability at most ``alpha``: about ``365 * alpha`` a year.
- Power grows with the sample. With thousands of rows a KS test finds shifts
  far too small to matter; ``sample_size`` compares a fixed number of evenly
  spread rows, so the smallest shift it can see stays put however busy the
  service is (KS detects a shift in the CDF of about ``1.95 / sqrt(n)`` at
  ``p = 0.001``; PSI does not depend on ``n`` at all, apart from noise).
- One reference for many days. p-values are uniform over draws of both
  samples, but every day is compared with the same reference sample, whose
  own sampling noise is in every comparison: for one reference of 20,000
  rows and 4,000 rows a day, a column's daily false-alarm rate lies anywhere
  from about 0 to 3 times ``alpha`` (the reference's share of the noise is
  ``n / (n + N)``; a bigger reference narrows the spread).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> ref = {"x": rng.normal(size=20_000), "c": rng.integers(0, 4, 20_000)}
>>> monitor = FeatureDrift(["x", "c"]).fit(ref)
>>> same = monitor.check({"x": rng.normal(size=4000), "c": rng.integers(0, 4, 4000)})
>>> same.drifted, same.share_drifted
(False, 0.0)
>>> moved = monitor.check({"x": rng.normal(0.3, 1.0, 4000), "c": rng.integers(0, 4, 4000)})
>>> moved.drifted_columns, moved.columns["x"].test
(['x'], 'ks')
"""
from __future__ import annotations

import copy
import importlib
import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
from scipy import special, stats

from .monitoring import _MAX_CATEGORIES, psi

_RULES = ("test", "psi", "both", "either")
_MIN_EXPECTED = 5.0  # chi-squared's rule of thumb: pool categories expected fewer times than this
_KS_EXACT_MAX = 10_000  # ks_2samp(method="auto") computes the exact p-value when neither sample is larger


class ColumnDrift(NamedTuple):
    """One column's drift check: PSI, the test's statistic and p-value, and the verdict."""

    column: str
    kind: str           # "numeric" or "categorical"
    psi: float
    test: str           # "ks" (statistic: largest gap between the two CDFs) or "chi2"
    statistic: float
    p_value: float
    drifted: bool


class DriftReport(NamedTuple):
    """A check of many columns: each column's result and the dataset-level signal."""

    columns: dict[str, ColumnDrift]
    share_drifted: float    # share of the columns found drifted
    drifted: bool           # share_drifted reached the detector's share_threshold
    rows: int               # current rows compared (after sampling)

    @property
    def drifted_columns(self) -> list[str]:
        """Names of the drifted columns, in the order checked."""
        return [c.column for c in self.columns.values() if c.drifted]

    @property
    def max_psi(self) -> float:
        """The largest PSI over the columns (the world's ``drift_score``)."""
        return max((c.psi for c in self.columns.values()), default=0.0)

    @property
    def min_p_value(self) -> float:
        """The smallest p-value over the columns."""
        return min((c.p_value for c in self.columns.values()), default=1.0)

    def summary(self) -> str:
        """One line for people, e.g. for an alert's detail."""
        moved = [c for c in self.columns.values() if c.drifted]
        if not moved:
            return f"no drift in {len(self.columns)} columns (largest PSI {self.max_psi:.2f})"
        parts = ", ".join(f"{c.column} (PSI {c.psi:.2f}, p={c.p_value:.1g})" for c in moved)
        return f"data drift in {len(moved)}/{len(self.columns)} columns: {parts}"


class _Numeric:
    """A numeric column of the reference: its sorted values and the counts in its decile bins."""

    kind, test = "numeric", "ks"

    def __init__(self, s: np.ndarray, bins: int) -> None:
        self.sorted = s  # sorted by the caller
        self.edges = np.unique(np.quantile(s, np.linspace(0, 1, bins + 1)[1:-1]))
        self.shares = self._counts(self.sorted) / len(s)
        # Where each reference value's run of ties starts: turns one binary search into both sides'.
        self.run_start = _run_starts(self.sorted)

    def _counts(self, s: np.ndarray) -> np.ndarray:
        # Bin i holds edges[i-1] <= x < edges[i], as monitoring.ColumnReference has it; NaN falls in the last.
        return np.diff(np.searchsorted(s, self.edges, side="left"), prepend=0, append=len(s))

    def compare(self, x: np.ndarray) -> tuple[float, float, float]:
        """PSI, KS statistic and ``scipy.stats.ks_2samp``'s p-value of ``x`` against the reference."""
        s = np.sort(x)  # NaN sorts last
        n, ref = len(s), self.sorted
        if n == 0:
            return 0.0, float("nan"), 1.0
        value = psi(self.shares, self._counts(s) / n)
        if max(n, len(ref)) <= _KS_EXACT_MAX:
            # ks_2samp's exact p-value: scipy's own function on both samples, missing values above every number.
            result = stats.ks_2samp(ref, np.where(np.isnan(s), np.inf, s))
            return value, float(result.statistic), float(result.pvalue)
        finite = s[: np.searchsorted(s, np.nan, side="left")]
        # Both CDFs are steps, so the largest gap is at a current value or just below one (as in
        # ks_2samp, which evaluates every pooled value): reference ranks on both sides of each one.
        right = np.searchsorted(ref, finite, side="right")
        tied = ref[np.maximum(right - 1, 0)] == finite
        left = np.where(tied & (right > 0), self.run_start[np.maximum(right - 1, 0)], right)
        own_left = _run_starts(finite)
        own_right = _run_ends(finite)
        gap_at = np.abs(right / len(ref) - own_right / n).max(initial=0.0)
        gap_below = np.abs(left / len(ref) - own_left / n).max(initial=0.0)
        tail = 1.0 - len(finite) / n  # missing values: the current CDF never reaches 1
        d = max(float(gap_at), float(gap_below), tail)
        return value, d, ks_asymptotic_p_value(d, n, len(ref))


def ks_asymptotic_p_value(d: float, n: int, m: int) -> float:
    """Two-sided p-value of a two-sample KS statistic ``d`` as ``scipy.stats.ks_2samp(method="asymp")`` has it.

    That is the one-sample Kolmogorov distribution at the rounded effective
    size, ``scipy.stats.kstwo.sf(d, round(n m / (n + m)))``, which
    ``ks_2samp``'s default ``method="auto"`` uses when a sample has more
    than 10,000 values (below that it computes the exact distribution).

    >>> from scipy import stats
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(size=20_000), rng.normal(0.05, 1.0, 3000)
    >>> want = stats.ks_2samp(a, b)
    >>> bool(ks_asymptotic_p_value(want.statistic, len(a), len(b)) == want.pvalue)
    True
    """
    en = float(n) * float(m) / (float(n) + float(m))
    return float(np.clip(stats.kstwo.sf(d, np.round(en)), 0.0, 1.0))


def _run_starts(s: np.ndarray) -> np.ndarray:
    """For a sorted array: the index of the first element equal to each element."""
    idx = np.arange(len(s))
    new = np.empty(len(s), dtype=bool)
    new[:1] = True
    np.not_equal(s[1:], s[:-1], out=new[1:])
    return np.maximum.accumulate(np.where(new, idx, 0))


def _run_ends(s: np.ndarray) -> np.ndarray:
    """For a sorted array: one past the index of the last element equal to each element."""
    return len(s) - _run_starts(s[::-1])[::-1]


class _Categorical:
    """A categorical column of the reference: its values and their counts (plus an unseen-value bin)."""

    kind, test = "categorical", "chi2"

    def __init__(self, x: np.ndarray) -> None:
        self.values = np.unique(x)
        self.counts = self._counts(x)
        self.shares = self.counts / len(x)

    def _counts(self, x: np.ndarray) -> np.ndarray:
        idx = np.minimum(np.searchsorted(self.values, x), len(self.values) - 1)
        idx = np.where(self.values[idx] == x, idx, len(self.values))
        return np.bincount(idx, minlength=len(self.values) + 1)

    def compare(self, x: np.ndarray) -> tuple[float, float, float]:
        """PSI, the chi-squared statistic of the 2 x k table of counts, and its p-value."""
        cur = self._counts(x)
        n = len(x)
        if n == 0:
            return 0.0, float("nan"), 1.0
        # Categories expected fewer than five times today share one cell with unseen values.
        rare = self.shares * n < _MIN_EXPECTED
        rare[-1] = True
        table = np.array([np.append(self.counts[~rare], self.counts[rare].sum()),
                          np.append(cur[~rare], cur[rare].sum())], dtype=np.float64)
        table = table[:, table.sum(axis=0) > 0]
        stat, dof = 0.0, table.shape[1] - 1
        if dof > 0:
            expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0) / table.sum()
            stat = float(np.sum((table - expected) ** 2 / expected))  # chi2_contingency, correction=False
        p = float(special.chdtrc(dof, stat)) if dof > 0 else 1.0
        return psi(self.shares, cur / max(n, 1)), stat, p


class FeatureDrift:
    """Per-column data drift of current rows against reference rows.

    Parameters
    ----------
    columns : sequence of str, optional
        Columns to compare (default: every column of the reference rows).
    psi_threshold : float
        PSI above which a column has drifted under ``rule`` "psi" (0.2: the
        usual "major shift"; under 0.1 is read as stable).
    alpha : float
        Significance level of the tests; with ``correction="bonferroni"``
        it bounds the whole check's false-alarm rate on stable data.
    correction : {"bonferroni", None}
        Test each of the ``m`` columns at ``alpha / m``, or at ``alpha``.
    rule : {"test", "psi", "both", "either"}
        What marks a column drifted: the test (p below the level), PSI over
        its threshold, both (significant and large), or either.
    share_threshold : float
        Share of drifted columns at which the dataset has drifted (0: any
        one drifted column is enough).
    sample_size : int, optional
        Compare at most this many evenly spread current rows (None: all).
    bins : int
        Quantile bins of numeric columns for PSI.

    Notes
    -----
    A column with at most 32 distinct reference values is categorical, as in
    :mod:`simulator.monitoring`. Both p-values are scipy's:

    - KS: the p-value is what ``scipy.stats.ks_2samp`` (``method="auto"``,
      two-sided) returns for the reference and current values. When either
      sample has more than 10,000 values (the monitors' 20,000-row
      reference), that is its asymptotic p-value, ``scipy.stats.kstwo.sf(D,
      round(n m / (n + m)))``; the statistic ``D`` is computed here, equal to
      ``ks_2samp``'s, from the reference sorted at fit time (one binary
      search of the current values into it), and only the p-value is asked
      of scipy (:func:`ks_asymptotic_p_value`). Otherwise ``ks_2samp`` itself
      runs on both samples and computes the exact p-value. Missing values in
      current numeric rows count as a shift: they sit above every number
      (``+inf`` for ``ks_2samp``).
    - Chi-squared: statistic and p-value equal
      ``scipy.stats.chi2_contingency(table, correction=False)`` on the table of
      reference and current counts, after pooling the categories expected
      fewer than five times in the current rows with values never seen in the
      reference (the p-value is ``scipy.special.chdtrc``, the chi-squared
      survival function that ``chi2_contingency`` uses).

    Cost: ``kstwo.sf`` takes about 0.2 ms above p = 0.03 and, below it, time
    in proportion to the effective size (about 4 ms at 4,000 rows against
    20,000): about 0.5 ms a numeric column on average over fraud_covid's
    year at level 3, where the Kolmogorov limit took microseconds. The exact
    path (``ks_2samp`` on both samples) takes 1–20 ms a column.
    """

    def __init__(self, columns: Sequence[str] | None = None, psi_threshold: float = 0.2, alpha: float = 0.01,
                 correction: str | None = "bonferroni", rule: str = "test", share_threshold: float = 0.0,
                 sample_size: int | None = None, bins: int = 10) -> None:
        self.columns = columns
        self.psi_threshold = psi_threshold
        self.alpha = alpha
        self.correction = correction
        self.rule = rule
        self.share_threshold = share_threshold
        self.sample_size = sample_size
        self.bins = bins

    def fit(self, rows: Mapping[str, np.ndarray]) -> "FeatureDrift":
        """Summarise the reference ``rows`` (a dict of 1-D arrays); returns ``self``."""
        if self.rule not in _RULES:
            raise ValueError(f"rule must be one of {', '.join(_RULES)}, not {self.rule!r}")
        if self.correction not in ("bonferroni", None):
            raise ValueError(f"correction must be 'bonferroni' or None, not {self.correction!r}")
        names = list(self.columns) if self.columns is not None else list(rows)
        self.reference_: dict[str, _Numeric | _Categorical] = {}
        for name in names:
            s = np.sort(np.asarray(rows[name], dtype=np.float64))
            s = s[: np.searchsorted(s, np.nan, side="left")]  # NaN sorts last: drop it
            if len(s) == 0:
                raise ValueError(f"reference column {name!r} has no values")
            distinct = 1 + int(np.count_nonzero(s[1:] != s[:-1]))
            self.reference_[name] = _Numeric(s, self.bins) if distinct > _MAX_CATEGORIES else _Categorical(s)
        m = len(self.reference_)
        self.level_ = self.alpha / m if self.correction == "bonferroni" and m else self.alpha
        return self

    def check(self, rows: Mapping[str, np.ndarray]) -> DriftReport:
        """Compare current ``rows`` with the reference, column by column."""
        n = len(np.asarray(rows[next(iter(self.reference_))]))
        pick = slice(None)
        if self.sample_size is not None and n > self.sample_size:
            pick = np.linspace(0, n - 1, self.sample_size).round().astype(np.int64)
        out = {}
        for name, ref in self.reference_.items():
            x = np.asarray(rows[name], dtype=np.float64)[pick]
            value, stat, p = ref.compare(x)
            out[name] = ColumnDrift(name, ref.kind, value, ref.test, stat, p, self._drifted(value, p))
        share = sum(c.drifted for c in out.values()) / max(len(out), 1)
        used = n if isinstance(pick, slice) else len(pick)
        return DriftReport(out, share, share > 0 and share >= self.share_threshold, used)

    def _drifted(self, value: float, p: float) -> bool:
        big, significant = value > self.psi_threshold, p < self.level_
        return {"test": significant, "psi": big, "both": big and significant, "either": big or significant}[self.rule]


class PredictionDrift:
    """Prediction drift: the checks of :class:`FeatureDrift` on the model's scores.

    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> watch = PredictionDrift().fit(rng.normal(size=20_000))
    >>> watch.check(rng.normal(size=4000)).drifted, watch.check(rng.normal(0.5, 1, 4000)).drifted
    (False, True)
    """

    def __init__(self, psi_threshold: float = 0.2, alpha: float = 0.01, rule: str = "test",
                 sample_size: int | None = None, bins: int = 10) -> None:
        self.psi_threshold = psi_threshold
        self.alpha = alpha
        self.rule = rule
        self.sample_size = sample_size
        self.bins = bins

    def fit(self, scores: np.ndarray) -> "PredictionDrift":
        """Summarise the reference scores (the model's on its training data)."""
        self.detector_ = FeatureDrift(["score"], self.psi_threshold, self.alpha, None, self.rule,
                                      sample_size=self.sample_size, bins=self.bins).fit({"score": scores})
        return self

    def check(self, scores: np.ndarray) -> ColumnDrift:
        """Compare current scores with the reference ones."""
        return self.detector_.check({"score": scores}).columns["score"]


class PerformanceEstimate(NamedTuple):
    """Expected performance of a binary classifier, from its probabilities alone."""

    accuracy: float       # expected share of correct decisions at the threshold
    auc: float            # expected ROC AUC (a ratio of expectations)
    precision: float      # expected true positives / flagged
    recall: float         # expected true positives / expected positives
    positive_rate: float  # expected share of positives: the mean probability
    rows: int


class ConfidencePerformance:
    """Performance estimated before labels arrive, from the model's calibrated probabilities.

    If ``p`` is calibrated, a row is positive with probability ``p``, so the
    expected confusion matrix at a threshold ``t`` is: true positives
    ``sum(p[p >= t])``, false positives ``sum(1 - p[p >= t])``, and so on.
    Expected accuracy is ``mean(where(p >= t, p, 1 - p))``, which is
    ``mean(max(p, 1 - p))`` at ``t = 0.5``; it is unbiased. The AUC estimate
    is the expected number of correctly ordered (positive, negative) pairs
    over the expected number of pairs, ``sum_{i,j} p_i (1 - p_j) [s_i > s_j]
    / sum_{i != j} p_i (1 - p_j)`` (ties count half): a ratio of
    expectations, unbiased to O(1/n). This is the idea of confidence-based
    performance estimation: it holds while P(y | X) holds. Under covariate
    shift it follows the real decay; under concept drift the probabilities
    are no longer calibrated and the estimate is blind to the loss.

    Parameters
    ----------
    threshold : float
        Decision threshold on the probability (rows with ``p >= threshold`` are flagged).
    link : {"identity", "logit"}
        How scores map to probabilities: as they are, or through the logistic
        function (for models that score in log-odds, like the fraud domain's).
    calibrate : bool
        Fit an isotonic map from probabilities to labels on the reference in :meth:`fit`.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> p = rng.beta(1, 3, 50_000)
    >>> y = rng.random(50_000) < p
    >>> est = ConfidencePerformance().estimate(p)
    >>> bool(abs(est.accuracy - np.mean((p >= 0.5) == y)) < 0.01)
    True
    >>> round(est.auc, 2)
    0.79
    """

    def __init__(self, threshold: float = 0.5, link: str = "identity", calibrate: bool = False) -> None:
        self.threshold = threshold
        self.link = link
        self.calibrate = calibrate

    def fit(self, scores: np.ndarray, labels: np.ndarray | None = None) -> "ConfidencePerformance":
        """Calibrate on labelled reference scores (if asked) and keep the reference estimate in ``reference_``."""
        if self.calibrate:
            if labels is None:
                raise ValueError("calibrate=True needs the reference labels")
            from sklearn.isotonic import IsotonicRegression

            self.calibrator_ = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
            self.calibrator_.fit(self._probability(scores, calibrated=False), np.asarray(labels, dtype=np.float64))
        self.reference_ = self.estimate(scores)
        return self

    def _probability(self, scores: np.ndarray, calibrated: bool = True) -> np.ndarray:
        s = np.asarray(scores, dtype=np.float64)
        p = special.expit(s) if self.link == "logit" else s
        if calibrated and getattr(self, "calibrator_", None) is not None:
            p = self.calibrator_.predict(p)
        return p

    def estimate(self, scores: np.ndarray) -> PerformanceEstimate:
        """Expected accuracy, AUC, precision and recall of the rows' decisions, without labels."""
        p = self._probability(scores)
        n = len(p)
        if n == 0:
            return PerformanceEstimate(*(float("nan"),) * 5, 0)
        flagged = p >= self.threshold
        tp, pos = float(p[flagged].sum()), float(p.sum())
        accuracy = float(np.where(flagged, p, 1.0 - p).mean())
        precision = tp / float(flagged.sum()) if flagged.any() else float("nan")
        recall = tp / pos if pos > 0 else float("nan")
        # Pairs in score order: the positive mass of each tie group beats the negative mass below it.
        s = np.asarray(scores, dtype=np.float64)
        order = np.argsort(-s, kind="stable")
        s, q = s[order], p[order]
        group = np.cumsum(np.r_[True, s[1:] != s[:-1]]) - 1
        pos_g = np.bincount(group, weights=q)
        neg_g = np.bincount(group, weights=1.0 - q)
        self_pairs = np.bincount(group, weights=q * (1.0 - q))
        neg_below = neg_g.sum() - np.cumsum(neg_g)
        pairs = pos * (n - pos) - float(np.sum(q * (1.0 - q)))
        ordered = float(np.sum(pos_g * neg_below) + 0.5 * np.sum(pos_g * neg_g - self_pairs))
        auc = ordered / pairs if pairs > 0 else float("nan")
        return PerformanceEstimate(accuracy, auc, precision, recall, pos / n, n)


class RiverDetector:
    """Any streaming drift detector with river's interface, fed one value per step (e.g. per day).

    ``detector`` is an object with ``update(x)`` and a ``drift_detected``
    attribute (a ``river.drift`` detector or anything shaped like one), or
    the name of a class in ``river.drift`` ("ADWIN", "PageHinkley",
    "KSWIN", "binary.DDM", ...) built with ``params``. river is imported
    only then, and only if a name is given; install it with the ``river``
    extra. The object given is copied on first use, never changed. NaN
    values (no labels yet, say) are skipped. Mind the detectors' defaults,
    made for long streams: ADWIN checks every ``clock=32`` updates and
    PageHinkley waits ``min_instances=30``; for daily values pass
    ``clock=1`` or fewer ``min_instances``.

    >>> class Above:  # a stand-in: fires when a value passes a limit
    ...     def __init__(self, limit): self.limit, self.drift_detected = limit, False
    ...     def update(self, x): self.drift_detected = x > self.limit
    >>> watch = RiverDetector(Above(0.2))
    >>> [watch.update(v, time=day) for day, v in enumerate([0.05, 0.1, 0.4, float("nan"), 0.3])]
    [False, False, True, False, True]
    >>> watch.detections_
    [2.0, 4.0]
    """

    def __init__(self, detector: Any = "ADWIN", **params: Any) -> None:
        self.detector = detector
        self.params = params

    def _build(self) -> Any:
        if not isinstance(self.detector, str):
            if self.params:
                raise ValueError("params go with a detector's name, not with a detector object")
            return copy.deepcopy(self.detector)
        try:
            module = importlib.import_module("river.drift")
        except ImportError as exc:
            raise ImportError(f"RiverDetector({self.detector!r}) needs river: "
                              "pip install 'mlops-failure-lab[river]'") from exc
        target: Any = module
        for part in self.detector.split("."):
            if not hasattr(target, part):
                raise ValueError(f"river.drift has no detector {self.detector!r}")
            target = getattr(target, part)
        return target(**self.params)

    def update(self, value: float, time: float | None = None) -> bool:
        """Feed one value; True if the detector signals drift on it (its time is kept in ``detections_``)."""
        if not hasattr(self, "detector_"):
            self.detector_ = self._build()
            self.steps_ = 0
            self.detections_: list[float] = []
        step = self.steps_
        self.steps_ += 1
        if value is None or math.isnan(value):
            return False
        self.detector_.update(float(value))
        fired = bool(self.detector_.drift_detected)
        if fired:
            self.detections_.append(step if time is None else float(time))
        return fired

    def run(self, values: Sequence[float], times: Sequence[float] | None = None) -> list[float]:
        """Feed a whole series; return the times (or step indices) at which drift was signalled."""
        times = range(len(values)) if times is None else times
        for value, time in zip(values, times):
            self.update(value, time)
        return list(getattr(self, "detections_", []))
