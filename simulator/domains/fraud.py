"""Card fraud: transactions, a latent fraud concept that can change, and a logistic model.

Each transaction's features come from the covariate distribution P(X)
(card-not-present share, foreign share, spending habits); whether it is fraud
comes from a latent concept P(y|X), a logistic function of the features
whose intercept is solved so that the fraud rate (the prior) is exactly
``fraud_rate``. Drift events may change any parameter, ``concept`` included,
so covariate, prior and concept drift are each a parameter change.

>>> import numpy as np
>>> from simulator.domains.fraud import FraudDomain
>>> d = FraudDomain()
>>> rng = np.random.default_rng(0)
>>> rows = d.sample(rng.uniform(0, 24, 400_000), d.defaults, rng)
>>> round(float(rows["label"].mean()), 3)
0.005
"""
from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .base import Domain, Rows, Scorer

MERCHANTS = ("grocery", "restaurant", "fuel", "retail", "online_retail", "digital_goods", "travel", "atm_cash")
# Merchant mix of card-present and card-not-present payments.
_MIX_PRESENT = np.array([0.30, 0.20, 0.12, 0.20, 0.00, 0.00, 0.06, 0.12])
_MIX_NOT_PRESENT = np.array([0.06, 0.06, 0.00, 0.05, 0.50, 0.20, 0.13, 0.00])
# Typical basket size of each merchant category relative to the median amount.
_AMOUNT_FACTOR = np.array([1.0, 0.8, 1.1, 1.6, 1.4, 0.4, 6.0, 2.5])
_CUM_PRESENT, _CUM_NOT_PRESENT = np.cumsum(_MIX_PRESENT), np.cumsum(_MIX_NOT_PRESENT)
# The median distance from home of card-present and card-not-present payments (km), on the log scale:
# numpy's log of the same two numbers the draws used to take it of, row by row.
_LOG_DISTANCE = np.log(np.array([5.0, 25.0]))
_ONLINE = np.isin(np.arange(len(MERCHANTS)), [MERCHANTS.index("online_retail"), MERCHANTS.index("digital_goods")])


def _category(cumulative: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``np.searchsorted(cumulative, x, side="right")`` (int64) for a short sorted ``cumulative``.

    The number of entries at most each ``x``: a comparison per entry beats a
    binary search per ``x`` several times over for eight categories.
    """
    out = np.zeros(len(x), dtype=np.int64)
    for edge in cumulative.tolist():
        out += x >= edge
    return out


def _concept_baseline(r: Rows) -> np.ndarray:
    """2019 fraud: stolen physical cards used far from home, abroad, at night, for big tickets."""
    return (
        3.2 * r["foreign"]
        + 2.6 * (r["amount"] > 250)
        + 2.2 * (r["distance_km"] > 150)
        + 2.0 * (r["hour"] < 5)
        + 1.6 * (r["merchant_category"] == MERCHANTS.index("atm_cash"))
        + 1.2 * (r["velocity_24h"] >= 6)
    )


def _concept_covid(r: Rows) -> np.ndarray:
    """2020 fraud: account takeover online, on young accounts, in bursts, buying goods to resell.

    The old patterns do not vanish; they weaken as fraudsters move online.
    """
    online = _ONLINE[r["merchant_category"]]
    cnp = 1.0 - r["card_present"]
    return (
        0.3 * _concept_baseline(r)
        + 4.0 * cnp * (r["account_age_days"] < 120)
        + 2.6 * online
        + 3.0 * (r["velocity_24h"] >= 6)
        + 2.0 * cnp * (r["amount"] > 100)
        + 1.0 * cnp
    )


CONCEPTS = {"baseline": _concept_baseline, "covid": _concept_covid}
#: Fraud rates up to this are rare enough for a cost stratum (:meth:`FraudDomain.cost_stratum`).
RARE_FRAUD = 0.1
#: How sharply the concept separates fraud from legitimate payments (its logits are scaled by this).
SHARPNESS = 1.6


class LinearScorer(Scorer):
    """A standardised logistic regression folded into one weight vector."""

    def __init__(self, weights: np.ndarray, bias: float, threshold: float) -> None:
        self.weights = weights
        self.bias = bias
        self.threshold = threshold

    def score(self, X: np.ndarray) -> np.ndarray:
        """The model's log-odds for each row (monotone in its probability)."""
        return X @ self.weights + self.bias


class FraudDomain(Domain):
    """Card transactions scored for fraud; ROC AUC is the primary metric."""

    metric = "auc"
    higher_is_better = True
    defaults = {
        "fraud_rate": 0.005,             # share of transactions that are fraud (the prior)
        "card_not_present_share": 0.3,   # online and phone payments
        "foreign_share": 0.05,           # transactions abroad
        "amount_median": 40.0,           # dollars, a grocery basket
        "velocity_mean": 2.0,            # card's transactions in the last 24 h
        "account_age_mean": 1200.0,      # days
        "review_budget": 0.02,           # share of transactions the team can review (flag)
        "concept": "baseline",
    }
    choices = {"concept": tuple(CONCEPTS)}
    param_targets = {
        "fraud_rate": ("prior", ()),
        "card_not_present_share": ("covariate", ("card_present", "merchant_category", "distance_km")),
        "foreign_share": ("covariate", ("foreign", "distance_km")),
        "amount_median": ("covariate", ("amount",)),
        "velocity_mean": ("covariate", ("velocity_24h",)),
        "account_age_mean": ("covariate", ("account_age_days",)),
        "concept": ("concept", ()),
        "review_budget": ("policy", ()),  # how many the team reviews: no distribution moves
    }
    # Costs hang on the few payments likely to be fraud: those at least half as likely as the average
    # payment (5-8% of payments, holding 98% of the fraud) are costed on four times as many candidates,
    # which halves the standard error of a day's cost and of the difference between two levels' costs.
    # Ten times as many would take a third off again and cost fraud_covid a third more time.
    cost_oversample = 3
    drift_columns = ("amount", "hour", "merchant_category", "card_present", "distance_km",
                     "velocity_24h", "account_age_days", "foreign")
    # The fraud team's engineered flags sit beside the raw features, so a
    # logistic model can represent either concept: when it fails after the
    # drift, its features are fine and its weights are stale.
    feature_names = ("log_amount", "hour_sin", "hour_cos", "night", "card_present", "log_distance",
                     "velocity_24h", "log_account_age", "foreign", "big_ticket", "far_from_home",
                     "burst", "remote_new_account", "remote_basket") + tuple(f"merchant_{m}" for m in MERCHANTS)

    @classmethod
    def check_value(cls, name: str, value: float) -> str | None:
        """Shares must be fractions; everything else positive, and below a bound the draws survive."""
        if name.endswith("_share") or name in ("fraud_rate", "review_budget"):
            return None if 0 <= value <= 1 else "must be a fraction between 0 and 1"
        if value <= 0:
            return "must be above 0"
        # Far past any card payment; beyond them the draws overflow (Poisson, exp) into the model's inputs.
        top = {"amount_median": 1e6, "velocity_mean": 1e4, "account_age_mean": 1e5}.get(name)
        return None if top is None or value <= top else f"must be at most {top:g}"

    def covariates(self, hours: np.ndarray, p: Mapping[str, Any], rng: np.random.Generator) -> Rows:
        """Draw transaction features (no labels) for the given hours of day."""
        n = len(hours)
        card_present = (rng.random(n) >= p["card_not_present_share"]).astype(np.float64)
        u = rng.random(n)
        present = card_present == 1
        merchant = np.where(present, _category(_CUM_PRESENT, u * _MIX_PRESENT.sum()),
                            _category(_CUM_NOT_PRESENT, u * _MIX_NOT_PRESENT.sum()))
        foreign = (rng.random(n) < p["foreign_share"]).astype(np.float64)
        amount = p["amount_median"] * _AMOUNT_FACTOR[merchant] * np.exp(0.9 * rng.standard_normal(n))
        distance = np.exp(np.where(present, _LOG_DISTANCE[0], _LOG_DISTANCE[1]) + 1.2 * rng.standard_normal(n))
        distance[foreign == 1] *= 60.0  # the others would be multiplied by 1.0: unchanged
        velocity = rng.poisson(p["velocity_mean"], n).astype(np.float64)
        account_age = 1.0 + rng.exponential(p["account_age_mean"], n)
        return {"amount": np.round(amount, 2), "hour": np.asarray(hours, dtype=np.float64),
                "merchant_category": merchant, "card_present": card_present, "distance_km": distance,
                "velocity_24h": velocity, "account_age_days": account_age, "foreign": foreign}

    def sample(self, hours: np.ndarray, params: Mapping[str, Any], rng: np.random.Generator,
               times: np.ndarray | None = None) -> Rows:
        """Transactions with a ``label`` (1 = fraud) drawn from the concept."""
        p = {**self.params, **params}
        rows = self.covariates(hours, p, rng)
        logit = SHARPNESS * CONCEPTS[p["concept"]](rows) + _intercept(_key(p))
        probability = expit(logit)
        rows["label"] = (rng.random(len(hours)) < probability).astype(np.int8)
        rows["fraud_probability"] = probability  # what the label was drawn from: see expected_error_costs
        return rows

    def features(self, rows: Rows) -> np.ndarray:
        """Model inputs: logs of skewed amounts, the hour on a circle, one-hot merchants."""
        n = len(rows["hour"])
        X = np.zeros((n, len(self.feature_names)))
        angle = rows["hour"] * (2 * np.pi / 24)
        X[:, 0] = np.log1p(rows["amount"])
        X[:, 1] = np.sin(angle)
        X[:, 2] = np.cos(angle)
        X[:, 3] = rows["hour"] < 5
        X[:, 4] = rows["card_present"]
        X[:, 5] = np.log1p(rows["distance_km"])
        X[:, 6] = rows["velocity_24h"]
        X[:, 7] = np.log(rows["account_age_days"])
        X[:, 8] = rows["foreign"]
        remote = 1.0 - rows["card_present"]
        X[:, 9] = rows["amount"] > 250
        X[:, 10] = rows["distance_km"] > 150
        X[:, 11] = rows["velocity_24h"] >= 6
        X[:, 12] = remote * (rows["account_age_days"] < 120)
        X[:, 13] = remote * (rows["amount"] > 100)
        X[np.arange(n), 14 + rows["merchant_category"].astype(np.int64)] = 1.0
        return X

    def training_sample(self, y: np.ndarray, rng: np.random.Generator,
                        max_rows: int = 20_000) -> tuple[np.ndarray, np.ndarray]:
        """Every fraud, and a sample of legitimate rows weighted up to their true number."""
        pos = np.flatnonzero(y == 1)
        neg = np.flatnonzero(y == 0)
        keep = min(len(neg), max(max_rows - len(pos), 1))
        neg_kept = np.sort(rng.choice(neg, size=keep, replace=False)) if keep < len(neg) else neg
        idx = np.sort(np.concatenate([pos, neg_kept]))
        weight = np.where(y[idx] == 1, 1.0, len(neg) / max(len(neg_kept), 1))
        return idx, weight

    def fit(self, X: np.ndarray, y: np.ndarray, weight: np.ndarray, rng: np.random.Generator) -> Scorer:
        """Logistic regression on standardised features.

        The flagging threshold is the score above which ``review_budget`` of
        the (weighted) training rows fall, as a team would set it on the day
        the model ships.
        """
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=500))
        model.fit(X, y, logisticregression__sample_weight=weight)
        scaler, logreg = model[0], model[1]
        weights = logreg.coef_[0] / scaler.scale_
        bias = float(logreg.intercept_[0] - np.dot(weights, scaler.mean_))
        scores = X @ weights + bias
        threshold = float(np.quantile(scores, 1.0 - self.params["review_budget"], weights=weight,
                                      method="inverted_cdf"))
        return LinearScorer(weights, bias, threshold)

    def metrics(self, y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
        """ROC AUC, PR AUC (average precision) and recall among the top ``review_budget``."""
        return ranking_metrics(y, scores, self.params["review_budget"])

    def fallback_flags(self, rows: Rows) -> np.ndarray:
        """The hand-written rule behind the model: big tickets abroad or far from home.

        >>> import numpy as np
        >>> FraudDomain().fallback_flags({"amount": np.array([900.0, 900.0, 20.0]),
        ...     "foreign": np.array([1.0, 0.0, 1.0]), "distance_km": np.array([5.0, 5.0, 500.0])}).tolist()
        [True, False, False]
        """
        big = rows["amount"] > 250
        return big & ((rows["foreign"] == 1) | (rows["distance_km"] > 150))

    def error_costs(self, rows: Rows, flagged: np.ndarray, costs: Mapping[str, float]) -> np.ndarray:
        """A missed fraud costs its amount; a flagged legitimate payment costs friction."""
        fraud = rows["label"] == 1
        return np.where(fraud & ~flagged, rows["amount"], 0.0) + np.where(~fraud & flagged, costs["false_positive"], 0.0)

    def cost_stratum(self, rows: Rows, params: Mapping[str, Any]) -> np.ndarray | None:
        """The risky payments: ``fraud_probability`` at least half the fraud rate (no stratum once fraud is common).

        >>> import numpy as np
        >>> FraudDomain().cost_stratum({"fraud_probability": np.array([0.001, 0.003, 0.2])}, {}).tolist()
        [False, True, True]
        """
        rate = float({**self.params, **params}["fraud_rate"])
        if "fraud_probability" not in rows or not 0 < rate <= RARE_FRAUD:
            return None
        return rows["fraud_probability"] >= 0.5 * rate

    def expected_error_costs(self, rows: Rows, flagged: np.ndarray, costs: Mapping[str, float]) -> np.ndarray:
        """:meth:`error_costs` averaged over the label: P(fraud)·amount if let through, (1 − P)·friction if flagged.

        Rows without ``fraud_probability`` (read from a file, say) are costed on their label.

        >>> import numpy as np
        >>> rows = {"label": np.array([0, 0]), "amount": np.array([100.0, 100.0]),
        ...         "fraud_probability": np.array([0.1, 0.1])}
        >>> FraudDomain().expected_error_costs(rows, np.array([False, True]), {"false_positive": 5.0}).tolist()
        [10.0, 4.5]
        """
        if "fraud_probability" not in rows:
            return self.error_costs(rows, flagged, costs)
        p = rows["fraud_probability"].astype(np.float64)
        return np.where(flagged, (1.0 - p) * costs["false_positive"], p * rows["amount"])


def ranking_metrics(y: np.ndarray, scores: np.ndarray, budget: float) -> dict[str, float]:
    """ROC AUC, average precision and recall among the top ``budget`` share, from one sort.

    The AUC is the Mann–Whitney statistic with ties counted half; the average
    precision takes tied scores together. Both equal scikit-learn's
    ``roc_auc_score`` and ``average_precision_score`` (the tests check it) at
    a fraction of their per-call overhead, which matters when every level
    computes them for every simulated day.
    """
    y = np.asarray(y) == 1
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return {"auc": np.nan, "pr_auc": np.nan, "recall_at_budget": np.nan}
    order = np.argsort(-np.asarray(scores, dtype=np.float64))
    s_sorted, y_sorted = -np.asarray(scores, dtype=np.float64)[order], y[order]
    # Tie groups along the descending order: positives and negatives seen up to each group's end.
    last_of_tie = np.r_[s_sorted[1:] != s_sorted[:-1], True]
    tp = np.cumsum(y_sorted)[last_of_tie]
    fp = np.cumsum(~y_sorted)[last_of_tie]
    d_tp, d_fp = np.diff(np.r_[0, tp]), np.diff(np.r_[0, fp])
    # Each positive beats the negatives ranked below its group and ties half of its own group.
    auc = float(np.sum(d_tp * (n_neg - fp + 0.5 * d_fp)) / (n_pos * n_neg))
    ap = float(np.sum(d_tp / n_pos * tp / (tp + fp)))
    top = max(int(round(budget * len(y))), 1)
    recall = float(y_sorted[:top].sum() / n_pos)
    return {"auc": auc, "pr_auc": ap, "recall_at_budget": recall}


def _key(p: Mapping[str, Any]) -> tuple:
    return tuple(sorted((k, v) for k, v in p.items() if k != "review_budget"))


@lru_cache(maxsize=256)
def _intercept(key: tuple) -> float:
    """Solve the concept's intercept so that the mean fraud probability is ``fraud_rate``."""
    p = dict(key)
    rng = np.random.default_rng(20200311)  # fixed: the intercept is a property of the parameters
    hours = rng.uniform(0, 24, 200_000)
    g = SHARPNESS * CONCEPTS[p["concept"]](FraudDomain().covariates(hours, p, rng))
    lo, hi = -30.0, 10.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if expit(g + mid).mean() < p["fraud_rate"]:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2
