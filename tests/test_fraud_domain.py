"""The card-fraud domain: its prior, its covariates, its metrics and its costs."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, roc_auc_score

from simulator.domains.fraud import FraudDomain, ranking_metrics


@pytest.mark.parametrize("params", [
    {},
    {"fraud_rate": 0.012, "concept": "covid", "card_not_present_share": 0.7},
    {"fraud_rate": 0.02, "foreign_share": 0.2},
])
def test_fraud_rate_is_the_prior_within_sampling_error(params):
    d = FraudDomain()
    n = 400_000
    rows = d.sample(np.random.default_rng(1).uniform(0, 24, n), {**d.defaults, **params}, np.random.default_rng(2))
    p = {**d.defaults, **params}["fraud_rate"]
    assert abs(rows["label"].mean() - p) < 4 * np.sqrt(p * (1 - p) / n)


def test_covariate_parameters_move_their_features():
    d = FraudDomain()
    rng = np.random.default_rng(3)
    rows = d.sample(np.full(100_000, 12.0), {**d.defaults, "card_not_present_share": 0.7, "foreign_share": 0.02}, rng)
    assert 1 - rows["card_present"].mean() == pytest.approx(0.7, abs=0.01)
    assert rows["foreign"].mean() == pytest.approx(0.02, abs=0.003)


def test_a_model_of_the_old_concept_decays_on_the_new_one():
    d = FraudDomain()
    rng = np.random.default_rng(4)
    hours = rng.uniform(0, 24, 300_000)
    old = d.sample(hours, d.defaults, rng)
    new = d.sample(hours, {**d.defaults, "concept": "covid", "fraud_rate": 0.012, "card_not_present_share": 0.7}, rng)
    idx, w = d.training_sample(old["label"][:200_000], rng)
    model = d.fit(d.features(old)[idx], old["label"][idx], w, rng)
    on_old = d.metrics(old["label"][200_000:], model.score(d.features(old)[200_000:]))["auc"]
    on_new = d.metrics(new["label"], model.score(d.features(new)))["auc"]
    assert on_old > 0.95
    assert on_old - on_new > 0.15


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), ties=st.booleans(), n=st.integers(20, 400))
def test_ranking_metrics_equal_scikit_learn(seed, ties, n):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.2).astype(int)
    if y.sum() in (0, n):
        y[0], y[-1] = 1, 0
    s = rng.normal(size=n) + y
    if ties:
        s = np.round(s)
    m = ranking_metrics(y, s, 0.1)
    assert m["auc"] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert m["pr_auc"] == pytest.approx(average_precision_score(y, s), abs=1e-12)


def test_costs_price_missed_fraud_at_its_amount_and_false_alarms_at_friction():
    rows = {"label": np.array([1, 1, 0, 0]), "amount": np.array([100.0, 50.0, 20.0, 30.0])}
    flagged = np.array([True, False, True, False])
    costs = FraudDomain().error_costs(rows, flagged, {"false_positive": 5.0})
    assert costs.tolist() == [0.0, 50.0, 5.0, 0.0]
