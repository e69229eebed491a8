"""A domain written outside the package: subscribers who may cancel next month.

Use it from a scenario with ``domain: {kind: "churn_domain:ChurnDomain"}``,
run from this folder (or with it on ``PYTHONPATH``). It shows the whole
contract of :class:`simulator.domains.Domain`: parameters with defaults and
what a change of each moves, rows, features, a scikit-learn model reduced to
a scorer, metrics, and the dollar cost of each decision.

>>> import numpy as np
>>> d = ChurnDomain()
>>> rng = np.random.default_rng(0)
>>> rows = d.sample(rng.uniform(0, 24, 20_000), d.params, rng)
>>> round(float(rows["label"].mean()), 2)
0.1
"""
from __future__ import annotations

import numpy as np
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from simulator.domains import Domain, Scorer
from simulator.domains.fraud import ranking_metrics


class LogisticScorer(Scorer):
    """A fitted logistic regression's decision function and a threshold."""

    def __init__(self, model: LogisticRegression, threshold: float) -> None:
        self.model = model
        self.threshold = threshold

    def score(self, X: np.ndarray) -> np.ndarray:
        """Log-odds of churn."""
        return self.model.decision_function(X)


class ChurnDomain(Domain):
    """Monthly subscribers scored for churn; the team offers a discount to the top scores."""

    metric = "auc"
    defaults = {"churn_rate": 0.1, "price": 12.0, "usage_mean": 20.0, "price_sensitivity": 1.0, "offer_share": 0.1}
    feature_names = ("price", "log_usage", "tenure_months")
    drift_columns = ("price", "usage_hours", "tenure_months")
    cost_keys = ("lost_subscriber", "discount")
    param_targets = {
        "churn_rate": ("prior", ()),
        "price": ("covariate", ("price",)),
        "usage_mean": ("covariate", ("usage_hours",)),
        "price_sensitivity": ("concept", ()),
        "offer_share": ("policy", ()),
    }

    def sample(self, hours, params, rng, times=None):
        """Subscribers with their price, usage and tenure; ``label`` 1 if they cancel."""
        n = len(hours)
        price = params["price"] * rng.choice([0.75, 1.0, 1.5], n)
        usage = rng.gamma(2.0, params["usage_mean"] / 2.0, n)
        tenure = rng.geometric(1 / 18, n).astype(np.float64)
        logit = params["price_sensitivity"] * (price / params["price"] - 1) * 2 - 0.08 * usage - 0.05 * tenure
        # Shift the intercept so the churn rate is about churn_rate at the default mix.
        logit = logit + np.log(params["churn_rate"] / (1 - params["churn_rate"])) + 1.9
        return {"price": price, "usage_hours": usage, "tenure_months": tenure,
                "label": (rng.random(n) < expit(logit)).astype(np.int8)}

    def features(self, rows):
        """Price, log usage and tenure."""
        return np.column_stack([rows["price"], np.log1p(rows["usage_hours"]), rows["tenure_months"]])

    def fit(self, X, y, weight, rng):
        """Logistic regression; the threshold offers a discount to the top ``offer_share``."""
        model = LogisticRegression(max_iter=500).fit(X, y, sample_weight=weight)
        scores = model.decision_function(X)
        return LogisticScorer(model, float(np.quantile(scores, 1 - self.params["offer_share"])))

    def metrics(self, y, scores):
        """ROC AUC and average precision (as scikit-learn computes them)."""
        out = ranking_metrics(y, scores, self.params["offer_share"])
        return {"auc": out["auc"], "pr_auc": out["pr_auc"]}

    def error_costs(self, rows, flagged, costs):
        """A churner without an offer is lost; an offer to someone who stays costs the discount."""
        churn = rows["label"] == 1
        return (np.where(churn & ~flagged, costs.get("lost_subscriber", 100.0), 0.0)
                + np.where(~churn & flagged, costs.get("discount", 6.0), 0.0))
