"""Retail demand: store-item series with seasons, promotions and holidays, forecast from lags.

A request asks for one store-item series' units on the day it is made (its
date is the scenario's ``start`` plus its simulated time, which the engine
tells the domain through :meth:`DemandDomain.begin`; 1 January 2020 when
built alone). The units come from a latent daily mean: the series' base level, a trend, a
yearly season per category, a weekly pattern, whole promotion weeks,
holidays, the series' own slow ups and downs, and two regime multipliers
(panic buying and the stay-at-home basket). Sales are gamma-Poisson counts
around it (``volatility`` is the squared coefficient of variation beyond
counting noise). The row's lags are drawn from the same latent mean on the
preceding days, so a forecaster sees last week's demand as it was. They
come from the row's own drift state: after a sudden change, the rows of its
first weeks already carry the new regime's history.

The model is a ridge regression of log units on log lags, weekday,
promotion and holiday flags and category, folded into one weight vector; its
score is the forecast in units, and the decision served is the forecast.
The primary metric is WAPE, sum |y - f| / sum y (lower is better).

>>> import numpy as np
>>> d = DemandDomain()
>>> rows = d.sample(np.zeros(3), d.params, np.random.default_rng(0), times=np.full(3, 40 * 86400.0))
>>> int(rows["day_of_week"][0])   # day 40 is 2020-02-10, a Monday
0
>>> [round(x, 3) for x in d.metrics(np.array([10.0, 30.0]), np.array([12.0, 27.0])).values()]
[0.125, -0.025, 2.5]
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.linear_model import Ridge

from .base import Domain, Rows, Scorer

DAY = 86400.0
START = np.datetime64("2020-01-01", "D")  # the date of simulated time 0, unless the domain is told otherwise
N_STORES, N_ITEMS = 10, 50
N_SERIES = N_STORES * N_ITEMS
LAGS = 28  # days of history a row carries (its longest lag)

CATEGORIES = ("staples", "fresh", "household", "snacks", "seasonal")
# Per category: median units a day of an item in an average store; median price ($); yearly
# amplitude and the day of year it peaks; whether leftovers spoil; how hard panic buying hits it
# (an exponent of ``panic``); how staying at home moves it (a log multiplier at ``stay_home`` 1).
_BASE_UNITS = np.array([14.0, 28.0, 8.0, 18.0, 6.0])
_PRICE = np.array([4.0, 3.0, 6.0, 3.5, 12.0])
_SEASON_AMP = np.array([0.04, 0.08, 0.05, 0.15, 0.30])
_SEASON_PEAK = np.array([15.0, 190.0, 100.0, 195.0, 350.0])
_PERISHABLE = np.array([0.0, 1.0, 0.0, 0.0, 0.0])
_PANIC_EXPONENT = np.array([1.0, 0.3, 0.8, 0.2, -0.3])
_STAY_HOME = np.array([0.20, 0.12, 0.18, 0.22, -0.35])
# A week's shopping by day, Monday first, times 7: the commuters' Saturday rush, and the
# week of people working from home, who shop on weekdays.
_WEEKLY = np.array([0.88, 0.82, 0.86, 0.94, 1.12, 1.38, 1.00])
_WEEKLY_HOME = np.array([1.10, 1.06, 1.06, 1.02, 0.96, 0.92, 0.88])
# Fixed-date holidays (month * 100 + day): stores close early on the day; shoppers stock up the day before.
_HOLIDAY = np.zeros(1232, dtype=bool)
_HOLIDAY[[101, 525, 704, 907, 1126, 1225]] = True
_HOLIDAY_LIFT, _EVE_LIFT = 0.7, 1.3
# Each series' own ups and downs (a competitor's offer, a shelf moved, the weather): three slow
# waves of random phase, persistent for days to weeks, so that recent lags carry news.
_WAVE_DAYS = np.array([9.0, 23.0, 61.0])
_WAVE_AMP = 0.10  # log scale
# The spans of the five sales a row draws: today, yesterday, a week ago, days 2-6 back, days 8-28 back.
_SPANS = np.array([1.0, 1.0, 1.0, 5.0, 21.0])


def _catalogue() -> dict[str, np.ndarray]:
    """The chain's store-item series: fixed properties of the domain, whatever a run's seed."""
    rng = np.random.default_rng(20200313)
    item_cat = np.repeat(np.arange(len(CATEGORIES)), N_ITEMS // len(CATEGORIES))
    item_base = _BASE_UNITS[item_cat] * np.exp(0.6 * rng.standard_normal(N_ITEMS))
    item_price = _PRICE[item_cat] * np.exp(0.35 * rng.standard_normal(N_ITEMS))
    store_size = np.exp(0.35 * rng.standard_normal(N_STORES))
    phase = rng.uniform(0, 2 * np.pi, (N_SERIES, len(_WAVE_DAYS)))
    return {"category": np.tile(item_cat, N_STORES), "price": np.round(np.tile(item_price, N_STORES), 2),
            "base": np.outer(store_size / store_size.mean(), item_base).ravel(),
            # sin(wt + phase) = cos(phase) sin(wt) + sin(phase) cos(wt): the waves become a matrix product
            "wave": np.hstack([np.cos(phase), np.sin(phase)])}


SERIES = _catalogue()


def _calendar(days: np.ndarray, start: np.datetime64) -> dict[str, np.ndarray]:
    """Day of week (Monday 0), day of year (1-366) and holiday and holiday-eve flags of day indices."""
    dates = start + days.astype("timedelta64[D]")

    def code(d: np.ndarray) -> np.ndarray:
        months = d.astype("datetime64[M]")
        return (months.astype(np.int64) % 12 + 1) * 100 + (d - months).astype(np.int64) + 1

    return {"dow": (dates.astype(np.int64) + 3) % 7,  # 1970-01-01 was a Thursday
            "doy": (dates - dates.astype("datetime64[Y]")).astype(np.int64) + 1,
            "holiday": _HOLIDAY[code(dates)], "eve": _HOLIDAY[code(dates + np.timedelta64(1, "D"))]}


def promoted(series: np.ndarray, days: np.ndarray, share: float, start: np.datetime64 = START) -> np.ndarray:
    """Whether each series is on promotion on each day index: whole weeks, Monday to Sunday.

    A fixed hash of (series, week) decides, so the promotion calendar is a
    property of the chain, and a larger ``share`` only adds promoted weeks.
    """
    week = (np.asarray(days) + (start.astype(np.int64) + 3)) // 7
    x = np.asarray(series).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + week.astype(np.int64).view(np.uint64)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)  # splitmix64's finaliser
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) * 2.0 ** -53 < share


def latent_mean(days: np.ndarray, p: Mapping[str, Any], start: np.datetime64 = START,
                promo: np.ndarray | None = None) -> np.ndarray:
    """Expected units of every series (rows) on each day index (columns) under parameters ``p``."""
    days = np.asarray(days, dtype=np.int64)
    cal = _calendar(days, start)
    season = 1.0 + _SEASON_AMP[:, None] * np.cos(2 * np.pi * (cal["doy"] - _SEASON_PEAK[:, None]) / 365.25)
    regime = p["panic"] ** _PANIC_EXPONENT * np.exp(p["stay_home"] * _STAY_HOME)
    weekly = (1.0 - p["work_from_home"]) * _WEEKLY + p["work_from_home"] * _WEEKLY_HOME
    day = (weekly[cal["dow"]] * np.exp(p["trend"] * days / 365.25)
           * np.where(cal["holiday"], _HOLIDAY_LIFT, np.where(cal["eve"], _EVE_LIFT, 1.0)))
    if promo is None:
        promo = promoted(np.arange(N_SERIES)[:, None], days[None, :], p["promo_share"], start)
    angle = 2 * np.pi * days / _WAVE_DAYS[:, None]
    wave = SERIES["wave"] @ np.vstack([np.sin(angle), np.cos(angle)])
    return (SERIES["base"][:, None] * np.exp(_WAVE_AMP * wave) * (season * regime[:, None])[SERIES["category"]]
            * day * np.where(promo, p["promo_lift"], 1.0))


class LogLinearScorer(Scorer):
    """A ridge regression of log units folded into one weight vector; its scores are units."""

    def __init__(self, weights: np.ndarray, bias: float) -> None:
        self.weights = weights
        self.bias = bias
        self.threshold = 0.0  # unused: the decision is the forecast itself

    def score(self, X: np.ndarray) -> np.ndarray:
        """The forecast units of each row (exp - 1 rather than expm1: the same here, and faster)."""
        return np.maximum(np.exp(X @ self.weights + self.bias) - 1.0, 0.0)


class DemandDomain(Domain):
    """Daily units of store-item series, forecast from recent sales; WAPE is the primary metric."""

    metric = "wape"
    higher_is_better = False
    defaults = {
        "trend": 0.03,          # yearly growth of every series (log scale)
        "work_from_home": 0.0,  # 0 = the commuters' Saturday rush, 1 = the weekday shopping of home workers
        "promo_share": 0.12,    # share of series-weeks on promotion
        "promo_lift": 1.8,      # units on promotion relative to without
        "panic": 1.0,           # panic-buying multiplier (staples take it fully, others in part)
        "stay_home": 0.0,       # 0 = the old basket, 1 = the stay-at-home basket
        "volatility": 0.04,     # squared coefficient of variation of demand beyond counting noise
    }
    _LAGS = ("lag_1", "lag_7", "mean_7", "mean_28")
    # A change of level moves the lags and the units alike (the lags see it: covariate drift);
    # a change of pattern or noise changes how today's units follow from them (concept drift).
    param_targets = {
        "trend": ("covariate", _LAGS),
        "panic": ("covariate", _LAGS),
        "stay_home": ("covariate", _LAGS),
        "promo_share": ("covariate", ("promo", "promo_yesterday", "promo_last_week", "promo_days_28")),
        "work_from_home": ("concept", ("lag_1", "lag_7")),
        "promo_lift": ("concept", ()),
        "volatility": ("concept", ("lag_1", "lag_7")),
    }
    cost_keys = ("lost_margin", "holding", "spoilage")
    #: Per unit, as shares of the item's price: a sale lost, a unit left over, a fresh unit thrown away.
    cost_defaults = {"lost_margin": 0.30, "holding": 0.10, "spoilage": 0.70}
    # The 7- and 28-day averages: daily lags swing with the weekday, which is no drift.
    drift_columns = ("mean_7", "mean_28", "promo")
    feature_names = (("log_lag_1", "log_lag_7", "log_mean_7", "log_mean_28")
                     + tuple(f"dow_{d}" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
                     + ("promo", "promo_yesterday", "promo_last_week", "promo_share_28", "holiday", "holiday_eve")
                     + tuple(f"category_{c}" for c in CATEGORIES) + ("log_price",))

    def __init__(self, params: Mapping[str, Any] | None = None, start: Any = None) -> None:
        super().__init__(params)
        self.start = START if start is None else np.datetime64(start, "D")

    def begin(self, start: Any) -> None:
        """The calendar (weekdays, holidays, promotion weeks) runs from the scenario's ``start``."""
        self.start = np.datetime64(start, "D")

    @classmethod
    def check_value(cls, name: str, value: float) -> str | None:
        """Shares are fractions, the trend a modest rate, multipliers and volatility bounded, the rest zero or more."""
        if name in ("promo_share", "work_from_home", "stay_home"):
            return None if 0 <= value <= 1 else "must be a fraction between 0 and 1"
        if name == "trend":
            return None if abs(value) <= 1 else "must be between -1 and 1 (log growth a year)"
        if name in ("promo_lift", "panic"):
            # Multipliers of units sold: past 100 times the Poisson draws of demand overflow.
            return None if 0 < value <= 100 else "must be above 0, and at most 100"
        if name == "volatility":
            return None if 0 <= value <= 100 else "must be zero or more, and at most 100"
        return None if value >= 0 else "must be zero or more"

    def sample(self, hours: np.ndarray, params: Mapping[str, Any], rng: np.random.Generator,
               times: np.ndarray | None = None) -> Rows:
        """Forecast requests for random series: lags, calendar and promotion flags, ``label`` = units sold."""
        p = {**self.params, **params}
        n = len(hours)
        day = np.zeros(n, np.int64) if times is None else np.floor(np.asarray(times) / DAY).astype(np.int64)
        series = rng.integers(0, N_SERIES, n)
        mu = np.empty((len(_SPANS), n))
        promo = np.empty((4, n))
        days = np.unique(day)
        for d in days:
            # Every series' last four weeks once, then one gather per row.
            window = d + np.arange(-LAGS, 1)
            flags = promoted(np.arange(N_SERIES)[:, None], window[None, :], p["promo_share"], self.start)
            w = latent_mean(window, p, self.start, flags)
            pick = slice(None) if len(days) == 1 else day == d
            s = series[pick]
            mu[:, pick] = np.stack([w[:, -1], w[:, -2], w[:, -8], w[:, -7:-2].sum(1), w[:, :-8].sum(1)])[:, s]
            promo[:, pick] = np.stack([flags[:, -1], flags[:, -2], flags[:, -8], flags[:, :-1].sum(1)])[:, s]
        v = p["volatility"]
        k = 1.0 / max(v, 1e-12)
        label = rng.poisson(mu[0] * rng.gamma(k, 1.0 / k, n)).astype(np.float64)
        # The lags stand in for sums of such counts: one gamma draw with their mean and variance
        # (mean + volatility * mean^2 / days), rounded, instead of a draw per day.
        shape = np.maximum(mu[1:] / (1.0 + v * mu[1:] / _SPANS[1:, None]), 1e-12)
        lags = np.round(rng.gamma(shape, mu[1:] / shape))
        cal = _calendar(days, self.start)
        at = np.searchsorted(days, day)
        week = lags[0] + lags[1] + lags[2]
        return {"series": series, "category": SERIES["category"][series], "price": SERIES["price"][series],
                "day_of_week": cal["dow"][at], "holiday": cal["holiday"][at].astype(np.int8),
                "holiday_eve": cal["eve"][at].astype(np.int8),
                "promo": promo[0].astype(np.int8), "promo_yesterday": promo[1].astype(np.int8),
                "promo_last_week": promo[2].astype(np.int8), "promo_days_28": promo[3].astype(np.int16),
                "lag_1": lags[0], "lag_7": lags[1], "mean_7": week / 7.0, "mean_28": (week + lags[3]) / LAGS,
                "label": label}

    def features(self, rows: Rows) -> np.ndarray:
        """Model inputs: log lags, one-hot weekday and category, promotion and holiday flags, log price."""
        n = len(rows["label"])
        X = np.empty((n, len(self.feature_names)), order="F")  # filled a column at a time
        for j, name in enumerate(self._LAGS):
            X[:, j] = np.log(rows[name].astype(np.float64) + 1.0)  # log1p is several times slower
        for j in range(7):
            X[:, 4 + j] = rows["day_of_week"] == j
        X[:, 11] = rows["promo"]
        X[:, 12] = rows["promo_yesterday"]
        X[:, 13] = rows["promo_last_week"]
        X[:, 14] = rows["promo_days_28"] * (1.0 / LAGS)
        X[:, 15] = rows["holiday"]
        X[:, 16] = rows["holiday_eve"]
        for j in range(len(CATEGORIES)):
            X[:, 17 + j] = rows["category"] == j
        X[:, 22] = np.log(rows["price"])
        return X

    def fit(self, X: np.ndarray, y: np.ndarray, weight: np.ndarray, rng: np.random.Generator) -> Scorer:
        """Ridge regression of log(1 + units): its back-transform sits near the median, which WAPE rewards."""
        model = Ridge(alpha=1.0).fit(X, np.log(np.asarray(y, dtype=np.float64) + 1.0), sample_weight=weight)
        return LogLinearScorer(model.coef_.copy(), float(model.intercept_))

    def metrics(self, y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
        """WAPE, bias (sum of forecast minus actual over sum of actual) and mean absolute error in units."""
        y = np.asarray(y, dtype=np.float64)
        err = np.asarray(scores, dtype=np.float64) - y
        total = y.sum()
        if len(y) == 0 or total <= 0:
            return {"wape": np.nan, "bias": np.nan, "mae": np.nan}
        absolute = np.abs(err).sum()
        return {"wape": float(absolute / total), "bias": float(err.sum() / total), "mae": float(absolute / len(y))}

    def decide(self, scores: np.ndarray, threshold: float) -> np.ndarray:
        """The forecast itself: the store stocks what the model says it will sell."""
        return scores

    def unscored_decisions(self, rows: Rows) -> np.ndarray:
        """Without an answer the store reorders what it sold on the same day last week."""
        return np.asarray(rows["lag_7"], dtype=np.float64)

    def fallback_flags(self, rows: Rows) -> np.ndarray:
        """The cheap rule for shed requests: last week's daily average times the usual weekday share."""
        return np.asarray(rows["mean_7"], dtype=np.float64) * _WEEKLY[rows["day_of_week"].astype(np.int64)]

    def error_costs(self, rows: Rows, flagged: np.ndarray, costs: Mapping[str, float]) -> np.ndarray:
        """Lost margin on each unit short; holding, and spoilage of fresh food, on each unit left over.

        >>> import numpy as np
        >>> rows = {"label": np.array([10.0, 10.0]), "price": np.array([2.0, 2.0]), "category": np.array([0, 1])}
        >>> DemandDomain().error_costs(rows, np.array([6.0, 14.0]), {}).round(2).tolist()   # 4 short; 4 fresh left
        [2.4, 6.4]
        """
        c = {k: float(costs.get(k, v)) for k, v in self.cost_defaults.items()}
        gap = np.asarray(flagged, dtype=np.float64) - rows["label"]
        per_left = c["holding"] + c["spoilage"] * _PERISHABLE[rows["category"].astype(np.int64)]
        return rows["price"] * np.where(gap < 0, -c["lost_margin"] * gap, per_left * gap)
