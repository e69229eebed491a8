"""The recommendation domain against its closed forms, and recsys_decay against the seed text's figure."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logit

import simulator
from conftest import ROOT
from simulator.domains.recsys import (INTERCEPT_SAMPLE, N_ITEMS, RELEASES_PER_DAY, RecsysDomain, RecsysScorer,
                                      live_items)
from simulator.errors import ScenarioError
from simulator.monitoring import Reference
from simulator.scenario import load_scenario

SCENARIO = ROOT / "scenarios" / "recsys_decay.yaml"


def trained(d: RecsysDomain, params: dict, seed: int, n: int = 50_000) -> RecsysScorer:
    """A model fitted on ``n`` impressions drawn under ``params``."""
    rng = np.random.default_rng(seed)
    rows = d.sample(rng.uniform(0, 24, n), {**d.defaults, **params}, rng)
    idx, w = d.training_sample(rows["label"], rng)
    return d.fit(d.features(rows)[idx], rows["label"][idx], w, rng)


@pytest.mark.parametrize("params", [{}, {"click_rate": 0.12, "taste_shift": 0.5},
                                    {"catalogue_day": 300, "item_lifetime": 60, "click_rate": 0.03}])
def test_click_rate_is_the_prior_within_sampling_error(params):
    """The intercept is solved on a fixed sample, so its error adds to this sample's.

    A click probability lies in [0, 1], so its variance is at most p(1 - p):
    that bounds both errors.
    """
    d = RecsysDomain()
    n = 400_000
    p = {**d.defaults, **params}
    rows = d.sample(np.zeros(n), p, np.random.default_rng(2))
    rate = p["click_rate"]
    assert abs(rows["label"].mean() - rate) < 4 * np.sqrt(rate * (1 - rate) * (1 / n + 1 / INTERCEPT_SAMPLE))


@pytest.mark.parametrize("lifetime", [60.0, 180.0])
def test_the_catalogue_turns_over_as_exponential_shelf_lives_say(lifetime):
    """About releases x lifetime items are live; a share exp(-c / lifetime) of them is still live c days on."""
    live0 = live_items(0.0, lifetime)
    expected = RELEASES_PER_DAY * lifetime
    assert abs(len(live0) - expected) < 4 * np.sqrt(expected)
    for c in (30.0, 91.0, 182.0, 365.0):
        live = live_items(c, lifetime)
        survive = np.exp(-c / lifetime)
        kept = np.isin(live0, live).mean()
        assert abs(kept - survive) < 4 * np.sqrt(survive * (1 - survive) / len(live0)) + 1e-9
        assert abs(len(live) - expected) < 4 * np.sqrt(expected)


def test_a_stale_model_decays_under_churn_and_taste_drift_and_a_fresh_one_does_not():
    """Trained at the start, the model loses hit rate to a new catalogue, and more to new tastes too.

    A model trained on the new state's own traffic stays close to where the
    first one began: the world is no harder to predict, only different.
    """
    d = RecsysDomain()
    stale = trained(d, {}, seed=1)
    rng = np.random.default_rng(11)

    def hit_rate(model, params):
        rows = d.sample(rng.uniform(0, 24, 200_000), {**d.defaults, **params}, rng)
        return d.metrics(rows["label"], model.score(d.features(rows)))["hit_rate"]

    start = hit_rate(stale, {})
    churn = {"catalogue_day": 365}
    both = {"catalogue_day": 365, "taste_shift": 0.64}
    assert start > 0.45  # far above the 0.2 of a random feed
    assert hit_rate(stale, churn) < hit_rate(trained(d, churn, seed=2), churn) - 0.015
    fresh_after = hit_rate(trained(d, both, seed=3), both)
    assert hit_rate(stale, both) < fresh_after - 0.10
    assert abs(fresh_after - start) < 0.04


def test_the_hit_rate_is_the_share_of_clicks_in_the_top_slots():
    d = RecsysDomain()
    rng = np.random.default_rng(5)
    n = 5000
    y = (rng.random(n) < 0.1).astype(int)
    s = rng.normal(size=n) + y
    top = np.argsort(-s)[: int(round(d.params["slot_share"] * n))]
    assert d.metrics(y, s)["hit_rate"] == pytest.approx(y[top].sum() / y.sum(), abs=1e-12)


def test_the_folded_scorer_equals_the_scikit_learn_model_on_new_and_unseen_items():
    d = RecsysDomain()
    rng = np.random.default_rng(7)
    rows = d.sample(rng.uniform(0, 24, 30_000), d.defaults, rng)
    X, y, w = d.features(rows), rows["label"], np.ones(30_000)
    prep, model = d.click_model(X, y, w, np.random.default_rng(0))
    scorer = d.fit(X, y, w, np.random.default_rng(0))
    later = d.sample(rng.uniform(0, 24, 5000), {**d.defaults, "catalogue_day": 120}, rng)
    X_new = d.features(later)
    Z = prep.transform(X_new)
    Z[:, 4:] = logit(np.clip(Z[:, 4:], 1e-4, 1 - 1e-4))  # the encoded rates enter as log-odds
    assert np.allclose(scorer.score(X_new), model.decision_function(Z), atol=1e-9)
    assert (~np.isin(later["item_id"], rows["item_id"])).mean() > 0.3  # many items the model never saw


def test_unknown_or_broken_ids_score_as_a_cold_item():
    """A never-seen item, an id out of range and a missing id all get the mean click rate's weight."""
    d = RecsysDomain()
    scorer = trained(d, {}, seed=4, n=20_000)
    rows = d.sample(np.zeros(1000), d.defaults, np.random.default_rng(0))
    X = np.tile(d.features(rows)[:1], (4, 1))
    X[:, -1] = [0, -3, N_ITEMS + 10, np.nan]  # item 0 retired long before day 0
    scores = scorer.score(X)
    assert np.all(scores == scores[0])
    # Columns read in the wrong order (a broken release): wrong scores, but scores.
    assert np.all(np.isfinite(scorer.score(d.features(rows)[:, ::-1])))


def test_the_popularity_fallback_fills_the_top_share_and_beats_a_random_feed():
    d = RecsysDomain()
    rng = np.random.default_rng(8)
    rows = d.sample(rng.uniform(0, 24, 200_000), d.defaults, rng)
    top = d.fallback_flags(rows)
    assert top.mean() == pytest.approx(d.params["slot_share"], abs=0.01)
    clicked = rows["label"] == 1
    assert top[clicked].mean() > d.params["slot_share"] + 0.1


def test_costs_price_missed_clicks_and_wasted_slots_and_a_failed_request_misses_every_click():
    d = RecsysDomain()
    rows = {"label": np.array([1, 1, 0, 0])}
    costs = {"missed_click": 0.05, "wasted_slot": 0.01, "false_positive": 5.0}
    assert d.error_costs(rows, np.array([True, False, True, False]), costs).tolist() == [0.0, 0.05, 0.01, 0.0]
    assert d.error_costs(rows, d.unscored_decisions(rows), costs).tolist() == [0.05, 0.05, 0.0, 0.0]


@pytest.mark.parametrize("params, key", [({"slot_share": 1.5}, "slot_share"), ({"click_rate": 0}, "click_rate"),
                                         ({"catalogue_day": 5000}, "catalogue_day"),
                                         ({"item_lifetime": 2}, "item_lifetime"),
                                         ({"taste_shift": -1}, "taste_shift"),
                                         ({"catalog_day": 3}, "catalog_day")])
def test_bad_parameters_name_their_key(params, key):
    with pytest.raises(ScenarioError, match=f"domain.params.{key}"):
        RecsysDomain.check_params(params, "x.yaml", "domain.params")


@pytest.mark.parametrize("change", [{"catalogue_day": 91}, {"item_lifetime": 60}, {"taste_shift": 0.64},
                                    {"click_rate": 0.16}])
def test_psi_sees_the_columns_the_truth_says_moved_and_not_the_others(change):
    d = RecsysDomain()
    rng = np.random.default_rng(9)
    reference = Reference.from_rows(d.sample(np.zeros(100_000), d.defaults, rng), d.drift_columns)
    psi = reference.psi(d.sample(np.zeros(20_000), {**d.defaults, **change}, rng))
    [(_, moved)] = [d.param_targets[k] for k in change]
    for column, value in psi.items():
        assert (value > 0.2) if column in moved else (value < 0.1), (column, value)


def quarter_drops(daily, metric: str = "hit_rate") -> np.ndarray:
    """Relative drop of the mean daily metric from each quarter to the next (days 0-90, 91-181, 182-272, 273-364)."""
    ends = [91, 182, 273, 365]
    q = [daily[(daily.day >= end - 91) & (daily.day < end)][metric].mean() for end in ends]
    return np.array([1 - q[i + 1] / q[i] for i in range(3)])


def test_level_0_without_retraining_loses_5_to_10_percent_of_its_hit_rate_each_quarter():
    """The seed text: recommendation systems lose 5-10% of their accuracy per quarter.

    Level 0 with retraining off, over the shipped year: the mean daily hit
    rate of each quarter against the quarter before. The scenario is
    calibrated on the mean of seeds 1-5 (see its comments); two seeds here
    check that each of the three drops lands in 5-10% on average, and that
    the decay is steady: every single seed's drops are positive.
    """
    drops = []
    for seed in (1, 2):
        sc = load_scenario(SCENARIO, overrides={0: {"retraining": {"trigger": "never"}}}, levels=[0], seed=seed)
        run = simulator.run(sc)
        assert run.summary["levels"]["0"]["retrains"] == 0
        drops.append(quarter_drops(run.daily))
    drops = np.array(drops)
    assert np.all(drops > 0)
    mean = drops.mean(axis=0)
    assert np.all((mean >= 0.05) & (mean <= 0.10)), mean


def test_levels_that_retrain_keep_more_hit_rate_and_cost_less():
    """The shipped scenario's first 120 days, every level as its preset says.

    By day 100 each level that retrains has replaced its first model (level
    1's quarterly retrain lands about a week after day 90), while level 0's
    first retrain is months away: over days 100-119 each of them keeps a
    higher hit rate than level 0, and the fully automated level has cost the
    least by then while the manual one has cost the most.
    """
    run = simulator.run(SCENARIO, days=120)
    late = run.daily[run.daily.day >= 100].groupby("level")["hit_rate"].mean()
    for n in (1, 2, 3):
        assert late[n] > late[0] + 0.02, late.to_dict()
    costs = [run.summary["levels"][str(n)]["cost"]["total"] for n in range(4)]
    assert costs[3] == min(costs) and costs[0] == max(costs), costs
