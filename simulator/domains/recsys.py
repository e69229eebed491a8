"""Recommendations: users shown items in a feed, a click model, and a catalogue that turns over.

A request is one impression: a user (and their segment) is shown an item (its
category, its age in the catalogue, its observed popularity) in a slot of a
feed; the label is whether they clicked. The world behind the clicks is
fixed, drawn once from a constant seed as a property of the domain: each user
belongs to a segment and has a taste of their own, each item has a category,
an appeal, a release day and a shelf life. Parameters choose which part of
that world is live:

- ``catalogue_day`` picks the live catalogue: the items released by that day
  and not yet retired. Moving it forward is catalogue churn: new items
  replace old ones, and a model's knowledge of the old ones goes stale.
- ``taste_shift`` moves the segments' tastes for categories away from their
  first map: the map keeps a correlation of ``exp(-taste_shift)`` with it,
  and is as strong as ever.
- ``click_rate`` is the mean click-through rate; the click model's intercept
  is solved to give exactly that.
- ``slot_share`` is the share of candidates that make the top of the feed.

The model is a logistic regression on the slot, the item's age and observed
popularity, and two target-encoded ids: segment x category (each segment's
taste) and the item (its own pull). Churn leaves the item encodings behind
(a new item starts cold, with only its noisy early popularity to go on);
taste drift makes the segment x category encodings wrong.

>>> import numpy as np
>>> from simulator.domains.recsys import RecsysDomain
>>> d = RecsysDomain()
>>> rng = np.random.default_rng(0)
>>> rows = d.sample(rng.uniform(0, 24, 200_000), d.defaults, rng)
>>> round(float(rows["label"].mean()), 2)
0.08
>>> X = d.features(rows)
>>> X.shape == (200_000, len(d.feature_names))
True
"""
from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np
from scipy.optimize import brentq
from scipy.special import expit, logit
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from sklearn.preprocessing import StandardScaler, TargetEncoder

from .base import Domain, Rows, Scorer
from .fraud import ranking_metrics

CATEGORIES = ("news", "sport", "music", "film", "games", "fashion", "food", "travel")
SEGMENTS = ("teens", "students", "young_adults", "parents", "professionals", "seniors")
_CATEGORY_MIX = np.array([0.20, 0.14, 0.14, 0.12, 0.10, 0.10, 0.10, 0.10])
_SEGMENT_MIX = np.array([0.10, 0.16, 0.22, 0.22, 0.20, 0.10])
N_USERS = 20_000
N_SLOTS = 10                      # a feed page: slots 1 (top) to 10
RELEASES_PER_DAY = 10
FIRST_RELEASE_DAY = -2000         # far enough back that the oldest live items exist at day 0
N_ITEMS = 30_000                  # released from day -2000 to day 999; ids fit in int16

# Strengths of the parts of a click's log-odds.
TASTE_SD = 0.8                    # a segment's liking of a category
USER_TASTE_SD = 0.5               # one user's own deviation from their segment (the model never sees it)
APPEAL_SD = 1.0                   # an item's own appeal, beyond its category
NOVELTY = 0.4                     # extra log-odds of a brand-new item, fading over three weeks
NOVELTY_DAYS = 21.0
SLOT_EFFECT = -0.12               # each slot further down the page
POPULARITY_NOISE = 1.0            # error of the observed popularity of an established item
PROMOTION = 1.0                   # the feed shows brand-new items twice as often as old ones
PROMOTION_DAYS = 30.0             # fading over their first month
INTERCEPT_SAMPLE = 30_000         # impressions the intercept is solved on, for each state of the parameters


class _World:
    """The fixed users and items, drawn once from a constant seed."""

    def __init__(self) -> None:
        rng = np.random.default_rng(20240117)  # fixed: the catalogue and the users are the domain itself
        self.user_segment = rng.choice(len(SEGMENTS), size=N_USERS, p=_SEGMENT_MIX)
        self.user_taste = USER_TASTE_SD * rng.standard_normal((N_USERS, len(CATEGORIES)))
        # Two independent taste maps of equal strength; taste_shift moves from the first towards the second.
        self.taste = TASTE_SD * rng.standard_normal((2, len(SEGMENTS), len(CATEGORIES)))
        self.item_category = rng.choice(len(CATEGORIES), size=N_ITEMS, p=_CATEGORY_MIX)
        self.item_appeal = APPEAL_SD * rng.standard_normal(N_ITEMS)
        self.item_release = FIRST_RELEASE_DAY + np.arange(N_ITEMS) / RELEASES_PER_DAY
        self.item_life = rng.exponential(1.0, N_ITEMS)   # in units of the mean shelf life
        self.item_noise = rng.standard_normal(N_ITEMS)   # the error of each item's observed popularity


_WORLD = _World()


def taste_map(shift: float) -> np.ndarray:
    """Segments' log-odds for each category once tastes have moved ``shift`` from their first map.

    The map is ``rho * first + sqrt(1 - rho**2) * second`` with
    ``rho = exp(-shift)``: two independent maps of equal strength, so the
    map's strength never changes (a fresh model is as good at every stage)
    while its correlation with the first map decays exponentially in the
    shift, as it would under a steady drift of tastes.
    """
    rho = np.exp(-shift)
    return rho * _WORLD.taste[0] + np.sqrt(1.0 - rho * rho) * _WORLD.taste[1]


def live_items(day: float, lifetime: float) -> np.ndarray:
    """Ids of the items in the catalogue on ``day`` when items last ``lifetime`` days on average.

    An item is live from its release until its shelf life runs out. Shelf
    lives are exponential, so an item live today is still live ``c`` days
    later with probability ``exp(-c / lifetime)``, whatever its age.
    """
    age = day - _WORLD.item_release
    return np.flatnonzero((age >= 0) & (age < _WORLD.item_life * lifetime))


@lru_cache(maxsize=256)
def _catalogue(day: float, lifetime: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Live item ids on ``day``, their ages, and the cumulative exposure the feed gives them."""
    w = _WORLD
    live = live_items(day, lifetime)
    age = day - w.item_release
    exposure = np.exp(0.5 * w.item_appeal[live]) * (1.0 + PROMOTION * np.exp(-age[live] / PROMOTION_DAYS))
    cum = np.cumsum(exposure)
    return live, age[live], cum / cum[-1]


def _log_odds(p: np.ndarray | float) -> np.ndarray:
    """Log-odds of rates, kept finite for rates of exactly 0 or 1."""
    return logit(np.clip(p, 1e-4, 1 - 1e-4))


def _novelty(age: np.ndarray) -> np.ndarray:
    return NOVELTY * np.exp(-age / NOVELTY_DAYS)


class RecsysScorer(Scorer):
    """A logistic click model folded into a weight vector and lookup tables of encoded ids.

    The last columns of the input are ids (segment x category, item): each
    id the model saw adds the weight of its encoded click rate; any other id
    (an item the model never saw: cold start) adds the weight of the mean
    click rate, kept at the end of its table.
    """

    def __init__(self, weights: np.ndarray, bias: float, tables: list[np.ndarray], threshold: float) -> None:
        self.weights = weights
        self.bias = bias
        self.tables = tables
        self.threshold = threshold

    def score(self, X: np.ndarray) -> np.ndarray:
        """The model's log-odds of a click for each row."""
        k = X.shape[1] - len(self.tables)
        out = X[:, :k] @ self.weights + self.bias
        for j, table in enumerate(self.tables):
            ids = X[:, k + j]
            # A broken data path may hand over anything in an id column: unknown ids get the mean.
            idx = np.where(np.isfinite(ids), np.rint(ids), -1)
            idx = np.where((idx >= 0) & (idx < len(table) - 1), idx, len(table) - 1).astype(np.int64)
            out += table[idx]
        return out


class RecsysDomain(Domain):
    """Feed impressions scored for clicks; the primary metric is the hit rate at the top of the feed.

    A recommender is judged by what it puts on top, so the primary metric is
    the share of the day's clicks that fall among the ``slot_share`` of
    impressions it scores highest (recall at the top, or hit rate). Unlike
    ROC AUC (reported too), it ignores how well the model orders the bottom
    of the feed, which nobody sees.
    """

    metric = "hit_rate"
    higher_is_better = True
    defaults = {
        "catalogue_day": 0.0,        # the catalogue's date: items released by then and not yet retired
        "item_lifetime": 180.0,      # mean shelf life of an item, days
        "taste_shift": 0.0,          # how far tastes have moved: exp(-shift) is their correlation with the first
        "click_rate": 0.08,          # mean click-through rate of an impression
        "slot_share": 0.2,           # share of candidates that make the top of the feed
    }
    # What a change of each parameter moves. Churn brings items the model never
    # saw: the item ids move, while categories, ages and popularity keep their
    # steady-state mix. Tastes change who clicks what, P(y|X); the popularity
    # they add up to moves too little to show. The click rate lifts every
    # item's observed popularity with it.
    param_targets = {
        "catalogue_day": ("covariate", ("item_id",)),
        "item_lifetime": ("covariate", ("item_id", "item_age_days")),
        "taste_shift": ("concept", ()),
        "click_rate": ("prior", ("popularity",)),
        "slot_share": ("policy", ()),  # how much of the feed is "top": no distribution moves
    }
    # A missed click loses its revenue; a top slot nobody clicks could have earned one.
    cost_keys = ("missed_click", "wasted_slot")
    cost_defaults = {"missed_click": 0.03, "wasted_slot": 0.002}
    # What the drift monitor watches: the audience and the items shown (the slot
    # is the page's layout, uniform by design, and is left out).
    drift_columns = ("user_segment", "item_category", "item_age_days", "popularity", "item_id")
    # The segment x category cross lets the model learn each segment's taste;
    # the item id, each item's own appeal. Both are ids the model encodes.
    feature_names = ("position", "log_item_age", "new_item", "popularity_logit", "segment_category", "item_id")
    _N_NUMERIC = 4

    @classmethod
    def check_value(cls, name: str, value: float) -> str | None:
        """Each parameter within the range the fixed catalogue and the model support."""
        if name in ("click_rate", "slot_share"):
            return None if 0 < value < 1 else "must be a fraction above 0 and below 1"
        if name == "catalogue_day":
            last = FIRST_RELEASE_DAY + (N_ITEMS - 1) / RELEASES_PER_DAY
            return None if 0 <= value <= last else f"must be between 0 and {last:g} (the last release)"
        if name == "item_lifetime":
            return None if 7 <= value <= 365 else "must be between 7 and 365 days"
        return None if value >= 0 else "must be zero or more"

    def sample(self, hours: np.ndarray, params: Mapping[str, Any], rng: np.random.Generator,
               times: np.ndarray | None = None) -> Rows:
        """Impressions with a ``label`` (1 = clicked) drawn from the click model."""
        p = {**self.params, **params}
        rows, z = _impressions(len(hours), p, rng)
        b = _intercept(_key(p))
        rows["popularity"] = expit(rows["popularity"] + b)
        rows["label"] = (rng.random(len(hours)) < expit(z + b)).astype(np.int8)
        return rows

    def features(self, rows: Rows) -> np.ndarray:
        """Model inputs: the slot, the item's age and popularity, then the ids the model encodes."""
        X = np.empty((len(rows["position"]), len(self.feature_names)))
        age = rows["item_age_days"].astype(np.float64)
        X[:, 0] = rows["position"]
        X[:, 1] = np.log1p(age)
        X[:, 2] = age < 14
        X[:, 3] = _log_odds(rows["popularity"].astype(np.float64))
        X[:, 4] = rows["user_segment"].astype(np.int64) * len(CATEGORIES) + rows["item_category"]
        X[:, 5] = rows["item_id"]
        return X

    def training_sample(self, y: np.ndarray, rng: np.random.Generator,
                        max_rows: int = 40_000) -> tuple[np.ndarray, np.ndarray]:
        """A uniform sample of up to ``max_rows`` impressions: enough for the encoder to know the catalogue."""
        return super().training_sample(y, rng, max_rows)

    def click_model(self, X: np.ndarray, y: np.ndarray, weight: np.ndarray,
                    rng: np.random.Generator) -> tuple[ColumnTransformer, LogisticRegression]:
        """The scikit-learn click model, fitted: its input transformer and its logistic regression.

        The numbers are standardised. Each id (a segment x category cross, an
        item) is encoded as its click rate in the training rows, shrunk
        towards the mean click rate by empirical Bayes; the regression sees
        it as log-odds. While fitting, the encodings are out of fold, so the
        model trusts them no more than they deserve on new rows. An id the
        encoder never saw gets the mean: a new item starts cold.
        """
        k = self._N_NUMERIC
        folds = KFold(5, shuffle=True, random_state=int(rng.integers(2**31)))
        prep = ColumnTransformer([("num", StandardScaler(), list(range(k))),
                                  ("ids", TargetEncoder(target_type="binary", cv=folds), list(range(k, X.shape[1])))])
        Z = prep.fit_transform(X, y)
        Z[:, k:] = _log_odds(Z[:, k:])
        # Newton steps suit a handful of dense features over many rows.
        model = LogisticRegression(C=1.0, solver="newton-cholesky").fit(Z, y, sample_weight=weight)
        return prep, model

    def fit(self, X: np.ndarray, y: np.ndarray, weight: np.ndarray, rng: np.random.Generator) -> Scorer:
        """Fit :meth:`click_model` and fold it into a :class:`RecsysScorer`.

        The top-of-feed threshold is the score above which ``slot_share`` of
        the (weighted) training rows fall.
        """
        prep, model = self.click_model(X, y, weight, rng)
        k, coef = self._N_NUMERIC, model.coef_[0]
        scaler, encoder = prep.named_transformers_["num"], prep.named_transformers_["ids"]
        weights = coef[:k] / scaler.scale_
        bias = float(model.intercept_[0] - np.dot(weights, scaler.mean_))
        tables = []
        for j, size in enumerate((len(SEGMENTS) * len(CATEGORIES), N_ITEMS)):
            table = np.full(size + 1, coef[k + j] * _log_odds(encoder.target_mean_))
            table[encoder.categories_[j].astype(np.int64)] = coef[k + j] * _log_odds(encoder.encodings_[j])
            tables.append(table)
        scorer = RecsysScorer(weights, bias, tables, 0.0)
        scorer.threshold = float(np.quantile(scorer.score(X), 1.0 - self.params["slot_share"], weights=weight,
                                             method="inverted_cdf"))
        return scorer

    def metrics(self, y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
        """Hit rate (share of clicks ranked in the top ``slot_share`` of impressions), ROC AUC, PR AUC."""
        m = ranking_metrics(y, scores, self.params["slot_share"])
        return {"hit_rate": m["recall_at_budget"], "auc": m["auc"], "pr_auc": m["pr_auc"]}

    def unscored_decisions(self, rows: Rows) -> np.ndarray:
        """A failed request shows no recommendations at all."""
        return np.zeros(len(rows["label"]), dtype=bool)

    def fallback_flags(self, rows: Rows) -> np.ndarray:
        """The rule behind the model: put the globally popular items on top.

        An item makes the top when its observed click-through rate is above
        the cut that ``slot_share`` of impressions clear in the scenario's
        starting state.

        >>> import numpy as np
        >>> d = RecsysDomain()
        >>> d.fallback_flags({"popularity": np.array([0.9, 0.001])}).tolist()
        [True, False]
        """
        return rows["popularity"] >= _popular_cut(_key(self.params), self.params["slot_share"])

    def error_costs(self, rows: Rows, flagged: np.ndarray, costs: Mapping[str, float]) -> np.ndarray:
        """A click left out of the top costs its revenue; a top slot left unclicked costs a little.

        >>> import numpy as np
        >>> RecsysDomain().error_costs({"label": np.array([1, 1, 0, 0])}, np.array([True, False, True, False]),
        ...                            {"missed_click": 0.03, "wasted_slot": 0.002}).tolist()
        [0.0, 0.03, 0.002, 0.0]
        """
        c = {**self.cost_defaults, **{k: v for k, v in costs.items() if k in self.cost_keys}}
        clicked = rows["label"] == 1
        missed = np.where(clicked & ~flagged, c["missed_click"], 0.0)
        return missed + np.where(~clicked & flagged, c["wasted_slot"], 0.0)


def _impressions(n: int, p: Mapping[str, Any], rng: np.random.Generator) -> tuple[Rows, np.ndarray]:
    """Impression rows without labels, and each one's click log-odds, both before the intercept.

    ``popularity`` is still a log-odds here; :meth:`RecsysDomain.sample` adds
    the intercept and turns it into a rate.
    """
    w = _WORLD
    live, ages, cum = _catalogue(float(p["catalogue_day"]), float(p["item_lifetime"]))
    pick = np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(live) - 1)
    item, age = live[pick], ages[pick]
    user = rng.integers(0, N_USERS, n)
    segment = w.user_segment[user]
    category = w.item_category[item]
    position = rng.integers(1, N_SLOTS + 1, n)
    taste = taste_map(float(p["taste_shift"]))
    novelty = _novelty(age)
    z = (taste[segment, category] + w.user_taste[user, category] + w.item_appeal[item] + novelty
         + SLOT_EFFECT * (position - 1))
    # Popularity as the site observes it: the item's click-through rate across all users at an
    # average slot, noisier for new items with few impressions yet.
    mean_taste = _SEGMENT_MIX @ taste
    noise = POPULARITY_NOISE * (1.0 + 2.0 * np.exp(-age / 7.0)) * w.item_noise[item]
    pop_logit = mean_taste[category] + w.item_appeal[item] + novelty + SLOT_EFFECT * (N_SLOTS - 1) / 2 + noise
    rows = {"user_id": user, "user_segment": segment, "item_id": item, "item_category": category,
            "item_age_days": age, "popularity": pop_logit, "position": position}
    return rows, z


def _key(p: Mapping[str, Any]) -> tuple:
    return tuple(sorted((k, float(v)) for k, v in p.items() if k != "slot_share"))


@lru_cache(maxsize=256)
def _intercept(key: tuple) -> float:
    """Solve the intercept so that the mean click probability is ``click_rate``."""
    p = dict(key)
    rng = np.random.default_rng(20240118)  # fixed: the intercept is a property of the parameters
    _, z = _impressions(INTERCEPT_SAMPLE, p, rng)
    return float(brentq(lambda b: expit(z + b).mean() - p["click_rate"], -30.0, 30.0, xtol=1e-10))


@lru_cache(maxsize=64)
def _popular_cut(key: tuple, share: float) -> float:
    """Popularity that ``share`` of impressions reach, under the parameters ``key``."""
    rng = np.random.default_rng(20240119)  # fixed: the rule's cut is set once, from the starting state
    rows, _ = _impressions(100_000, dict(key), rng)
    return float(expit(np.quantile(rows["popularity"], 1.0 - share) + _intercept(key)))
