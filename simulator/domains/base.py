"""The base class every domain implements: traffic rows, features, model, metric, costs.

A domain turns its parameters (which drift events change) into rows of
requests with labels, fits a scikit-learn model on labelled rows, and prices
its model's mistakes. Rows are a dict of equal-length numpy arrays.
"""
from __future__ import annotations

import datetime
import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from ..errors import ScenarioError, did_you_mean, short_repr

Rows = dict[str, np.ndarray]


class Scorer:
    """A fitted model reduced to what serving needs: ``score(X)`` and a threshold.

    Scores are only compared with each other and with ``threshold``, so any
    monotone transform of the model's probability will do.
    """

    threshold: float = 0.0

    def score(self, X: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        """Return one score per row of ``X``; higher means more likely positive."""
        raise NotImplementedError


class Domain:
    """Base class of a traffic domain.

    Subclasses set ``metric``, ``higher_is_better``, ``defaults`` (every
    parameter a scenario or a drift event may set, with its default) and
    ``feature_names``, and implement the methods below.
    """

    #: Name of the primary metric, as it appears in summary.json.
    metric: ClassVar[str] = "metric"
    higher_is_better: ClassVar[bool] = True
    #: Parameters and their defaults; drift events may set any of these.
    defaults: ClassVar[Mapping[str, Any]] = {}
    #: Allowed values of parameters that are names (e.g. a concept's variants).
    choices: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    #: Names of the model's input columns (what data-path failures may break).
    feature_names: ClassVar[tuple[str, ...]] = ()
    #: Extra keys this domain reads under ``costs:`` (beyond the common ones).
    cost_keys: ClassVar[tuple[str, ...]] = ()
    #: Columns of a row that monitors compare for drift.
    drift_columns: ClassVar[tuple[str, ...]] = ()
    #: The ground truth of drift: for each parameter, the distribution a change
    #: of it moves ("covariate" for P(X), "prior" for P(y), "concept" for P(y|X))
    #: and the row columns whose distribution it moves.
    param_targets: ClassVar[Mapping[str, tuple[str, tuple[str, ...]]]] = {}
    #: Candidates drawn per sampled row for the cost stratum (see :meth:`cost_stratum`); 0: no stratum.
    cost_oversample: ClassVar[int] = 0

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        self.params = {**self.defaults, **(params or {})}

    def begin(self, start: datetime.date) -> None:
        """Hear the run's first calendar day (the scenario's ``start``) before any traffic is drawn.

        Simulated time 0 is midnight of that day. Domains without a calendar
        ignore it; one with a calendar (holidays, weekdays) keeps it.
        """

    @classmethod
    def check_params(cls, params: Mapping[str, Any], source: str, key: str) -> None:
        """Raise :class:`ScenarioError` for an unknown parameter or a bad value."""
        if not isinstance(params, Mapping):
            raise ScenarioError(source, key, "must be a mapping of domain parameters")
        for name, value in params.items():
            where = f"{key}.{name}"
            if name not in cls.defaults:
                raise ScenarioError(source, where, "unknown domain parameter" + did_you_mean(name, cls.defaults))
            if name in cls.choices:
                if not isinstance(value, str) or value not in cls.choices[name]:
                    options = ", ".join(cls.choices[name])
                    raise ScenarioError(source, where, f"{short_repr(value)} is not one of {options}"
                                        + did_you_mean(value, cls.choices[name]))
                continue
            default = cls.defaults[name]
            if isinstance(default, (int, float)) and not isinstance(default, bool):
                if not isinstance(value, (int, float)) or isinstance(value, bool):
                    raise ScenarioError(source, where, f"must be a number, not {short_repr(value)}")
                try:
                    number = float(value)
                except OverflowError:  # an integer past a float's range
                    number = math.inf
                if not math.isfinite(number):  # NaN passes every range check, inf most
                    raise ScenarioError(source, where, f"must be a finite number, not {short_repr(value, 40)}")
                problem = cls.check_value(name, number)
                if problem:
                    raise ScenarioError(source, where, problem)

    @classmethod
    def check_value(cls, name: str, value: float) -> str | None:
        """Return a problem with a numeric parameter's value, or ``None``."""
        return None if value >= 0 else "must be zero or more"

    def sample(self, hours: np.ndarray, params: Mapping[str, Any], rng: np.random.Generator,
               times: np.ndarray | None = None) -> Rows:
        """Draw one row per entry of ``hours`` (hour of day, float) under ``params``.

        ``times`` are the same requests' simulated times in seconds from the
        run's start (negative for the history before it), for domains whose
        rows depend on the date (seasons, holidays, trends); ``None`` means
        the date does not matter. The rows must be 1-D numeric arrays, one
        entry per request, and include ``label`` (0/1, or a number such as
        units sold); they may include any other columns the costs need.
        """
        raise NotImplementedError

    def features(self, rows: Rows) -> np.ndarray:
        """The model's input matrix for ``rows``, float, one row per request."""
        raise NotImplementedError

    def training_sample(self, y: np.ndarray, rng: np.random.Generator,
                        max_rows: int = 50_000) -> tuple[np.ndarray, np.ndarray]:
        """Indices of the labelled rows to train on, and each one's weight.

        The default takes a uniform sample of at most ``max_rows`` (weight 1);
        a domain with a rare class may keep all of it and weight the rest up.
        """
        n = len(y)
        if n <= max_rows:
            return np.arange(n), np.ones(n)
        return np.sort(rng.choice(n, size=max_rows, replace=False)), np.ones(max_rows)

    def fit(self, X: np.ndarray, y: np.ndarray, weight: np.ndarray, rng: np.random.Generator) -> Scorer:
        """Fit the domain's scikit-learn model on weighted rows and return its scorer."""
        raise NotImplementedError

    def metrics(self, y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
        """The primary metric (under ``self.metric``) and any secondary ones."""
        raise NotImplementedError

    def decide(self, scores: np.ndarray, threshold: float) -> np.ndarray:
        """The decision served for each score: by default, flag the scores above the threshold.

        A forecasting domain returns the forecast itself; whatever it returns
        is what :meth:`error_costs` receives.
        """
        return scores > threshold

    def unscored_decisions(self, rows: Rows) -> np.ndarray:
        """The decisions of requests that failed and got no answer (default: flag nothing)."""
        return np.zeros(len(rows["label"]), dtype=bool)

    def fallback_flags(self, rows: Rows) -> np.ndarray:
        """The decisions of the cheap rule that answers shed requests (default: the unscored ones)."""
        return self.unscored_decisions(rows)

    def error_costs(self, rows: Rows, flagged: np.ndarray, costs: Mapping[str, float]) -> np.ndarray:
        """Cost in dollars of each row's decision (as :meth:`decide` returned it)."""
        raise NotImplementedError

    def cost_stratum(self, rows: Rows, params: Mapping[str, Any]) -> np.ndarray | None:
        """Which rows drawn under ``params`` belong to the rare, costly stratum that costs are estimated on closely.

        A day's costs are estimated on its sample and, for the rows of this
        stratum, on ``cost_oversample`` times as many candidates (see
        :class:`simulator.store.Day`): a domain whose cost hangs on a few
        rare rows (fraud) names them here, as a fixed rule of a row and its
        drift state. ``None`` (the default): no stratum, the sample alone.
        """
        return None

    def expected_error_costs(self, rows: Rows, flagged: np.ndarray, costs: Mapping[str, float]) -> np.ndarray:
        """Each row's decision cost in expectation over its label, given its inputs; what runs are costed with.

        A domain that knows each row's label probability (it drew the label
        from it) averages the cost over the label instead of taking the one
        drawn: the same expected cost, without the noise of a few rare, heavily
        weighted labels (conditional Monte Carlo). By default, the realised
        cost (:meth:`error_costs`).
        """
        return self.error_costs(rows, flagged, costs)
