"""Drift detectors against theory and against scipy: null p-values, power, PSI's noise floor, estimates."""
from __future__ import annotations

import pickle
import sys

import numpy as np
import pytest
from scipy import special, stats

from conftest import ROOT
from simulator.detectors import (ConfidencePerformance, FeatureDrift, PredictionDrift, RiverDetector,
                                 ks_asymptotic_p_value)
from simulator.monitoring import Reference

DAY = 86400.0


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# ------------------------------------------------------------------ the same numbers as scipy and as PSI

# Sizes the daily check meets: the world's reference is up to 20,000 training rows (fewer on a short
# window), a day's check 4,000–7,999 evenly spread rows, or all of a quiet or partial day's rows.
# (reference, current): unequal and equal, on both sides of ks_2samp's exact/asymptotic switch at 10,000.
_KS_SIZES = [(20_000, 50), (20_000, 300), (20_000, 4000), (20_000, 7999), (12_000, 12_000), (10_001, 2000),
             (10_000, 4000), (5000, 50), (2000, 500), (300, 300), (50, 50)]


def _ks_cases(r, make):
    """For each size pair, current samples shifted so scipy's p-values run from about 0.99 down past 1e-10."""
    for m, n in _KS_SIZES:
        ref = make(r, m, 0.0)
        en = m * n / (m + n)
        for c in (0.0, 1.0, 2.0, 3.0, 4.5, 6.0, 8.0, 11.0):
            yield ref, make(r, n, c / np.sqrt(en))


@pytest.mark.parametrize("make", [
    lambda r, n, mu: r.normal(mu, 1.0, n),
    lambda r, n, mu: np.round(r.lognormal(3.0 + mu, 1.0, n), 2).astype(np.float32),  # ties, float32
    lambda r, n, mu: np.floor(r.exponential(40.0 + 40 * mu, n)),                     # many ties
], ids=["normal", "rounded-float32", "integer-ties"])
def test_ks_statistic_and_p_value_are_scipys_ks_2samp(make):
    """Over the sizes the monitors use and p from 1 down past 1e-8: ks_2samp's own numbers (its default,
    method="auto": exact up to 10,000 rows a side, the kstwo distribution at the effective size above)."""
    r = _rng(1)
    seen = []
    for ref, cur in _ks_cases(r, make):
        got = FeatureDrift(["x"]).fit({"x": ref}).check({"x": cur}).columns["x"]
        want = stats.ks_2samp(np.asarray(ref, float), np.asarray(cur, float))
        assert got.test == "ks"
        assert got.statistic == pytest.approx(want.statistic, abs=1e-12)
        assert got.p_value == pytest.approx(want.pvalue, rel=1e-9, abs=1e-300), (len(ref), len(cur))
        seen.append(want.pvalue)
    # The grid covers the range the issue is about: stable days, the alarm levels, far tails.
    assert min(seen) < 1e-8 and max(seen) > 0.9
    assert sum(1e-8 < p < 0.9 for p in seen) > len(seen) / 2


def test_ks_p_value_is_within_two_percent_of_ks_2samp_where_the_kolmogorov_limit_was_not():
    """The old p-value, the Kolmogorov limit at sqrt(n m / (n + m)) D, was 10-40 % high at small p."""
    r = _rng(2)
    ref = r.normal(size=20_000)
    detector = FeatureDrift(["x"]).fit({"x": ref})
    for n, shift in ((300, 0.35), (300, 0.45), (4000, 0.12)):
        cur = r.normal(shift, 1.0, n)
        got = detector.check({"x": cur}).columns["x"]
        want = stats.ks_2samp(ref, cur)
        assert 1e-12 < want.pvalue < 1e-3
        assert abs(got.p_value / want.pvalue - 1) < 0.02
        limit = special.kolmogorov(np.sqrt(n * 20_000 / (n + 20_000)) * want.statistic)
        assert limit > want.pvalue * (1.1 if n == 300 else 1.02)


def test_ks_with_missing_values_is_ks_2samp_with_them_above_every_number():
    r = _rng(3)
    for m, n in ((20_000, 4000), (5000, 1000)):
        ref = r.normal(size=m)
        cur = r.normal(size=n)
        cur[: n // 100] = np.nan
        got = FeatureDrift(["x"]).fit({"x": ref}).check({"x": cur}).columns["x"]
        want = stats.ks_2samp(ref, np.where(np.isnan(cur), np.inf, cur))
        assert want.statistic >= 0.01
        assert got.statistic == pytest.approx(want.statistic, abs=1e-12)
        assert got.p_value == pytest.approx(want.pvalue, rel=1e-9)


def test_ks_asymptotic_p_value_is_kstwo_at_the_rounded_effective_size():
    for d, n, m in ((0.01, 4000, 20_000), (0.03, 4000, 20_000), (0.2, 300, 20_000), (0.5, 50, 12_000)):
        want = stats.kstwo.sf(d, np.round(n * m / (n + m)))
        assert ks_asymptotic_p_value(d, n, m) == want == ks_asymptotic_p_value(d, m, n)


def test_chi_squared_is_scipys_contingency_test():
    r = _rng(2)
    shares = np.array([0.4, 0.3, 0.2, 0.1])
    ref = r.choice(4, 20_000, p=shares)
    for drift in (0.0, 0.03):
        cur = r.choice(4, 3000, p=shares + np.array([-drift, 0, 0, drift]))
        got = FeatureDrift(["c"]).fit({"c": ref}).check({"c": cur}).columns["c"]
        table = np.array([np.bincount(ref, minlength=4), np.bincount(cur, minlength=4)])
        want = stats.chi2_contingency(table, correction=False)
        assert got.test == "chi2" and got.kind == "categorical"
        assert got.statistic == pytest.approx(want.statistic, rel=1e-9)
        assert got.p_value == pytest.approx(want.pvalue, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("shares", [[0.7, 0.3], [0.3, 0.2, 0.2, 0.12, 0.1, 0.05, 0.02, 0.008, 0.002]],
                         ids=["binary", "rare-categories"])
def test_chi_squared_is_chi2_contingency_over_the_monitors_sizes(shares):
    """Reference of 20,000 or 5,000 rows, 50 to 7,999 current rows, p from about 1 down past 1e-8: the
    p-value is chi2_contingency's (no continuity correction) on the table after pooling the categories
    expected under five times today with unseen values."""
    r = _rng(22)
    shares = np.array(shares)
    k = len(shares)
    seen = []
    for m, n in ((20_000, 50), (20_000, 300), (20_000, 4000), (20_000, 7999), (5000, 1000)):
        ref = r.choice(k, m, p=shares)
        detector = FeatureDrift(["c"]).fit({"c": ref})
        for c in (0.0, 1.0, 2.0, 3.5, 5.0, 7.0, 10.0):
            moved = shares * np.exp(np.linspace(0, c, k) / np.sqrt(n) * 3)
            cur = r.choice(k, n, p=moved / moved.sum())
            got = detector.check({"c": cur}).columns["c"]
            ref_counts, cur_counts = np.bincount(ref, minlength=k), np.bincount(cur, minlength=k)
            rare = ref_counts / m * n < 5
            table = np.c_[np.array([ref_counts, cur_counts])[:, ~rare],
                          [ref_counts[rare].sum(), cur_counts[rare].sum()]]
            table = table[:, table.sum(axis=0) > 0]
            if table.shape[1] < 2:
                assert got.p_value == 1.0
                continue
            want = stats.chi2_contingency(table, correction=False)
            assert got.statistic == pytest.approx(want.statistic, rel=1e-9)
            assert got.p_value == pytest.approx(want.pvalue, rel=1e-9, abs=1e-300), (m, n, c)
            seen.append(want.pvalue)
    assert min(seen) < 1e-8 and max(seen) > 0.5
    assert sum(1e-8 < p < 0.9 for p in seen) > len(seen) / 3


def test_psi_is_the_monitors_psi():
    r = _rng(3)
    ref = {"x": r.lognormal(0, 1, 20_000), "c": r.poisson(2, 20_000), "b": (r.random(20_000) < 0.3) * 1.0}
    cur = {"x": r.lognormal(0.2, 1, 4000), "c": r.poisson(2.4, 4000), "b": (r.random(4000) < 0.4) * 1.0}
    got = FeatureDrift().fit(ref).check(cur)
    want = Reference.from_rows(ref, list(ref)).psi(cur)
    assert {k: c.psi for k, c in got.columns.items()} == pytest.approx(want, rel=1e-12)
    assert [got.columns[k].kind for k in "xcb"] == ["numeric", "categorical", "categorical"]
    assert got.max_psi == pytest.approx(max(want.values()))


# ------------------------------------------------------------------ under no drift

def test_ks_p_values_are_uniform_without_drift():
    """Over fresh reference and current samples, P(p < alpha) = alpha within binomial error."""
    r = _rng(4)
    p = np.array([FeatureDrift(["x"]).fit({"x": r.normal(size=5000)}).check({"x": r.normal(size=1000)})
                  .columns["x"].p_value for _ in range(600)])
    se = np.sqrt(0.05 * 0.95 / len(p))
    assert abs((p < 0.05).mean() - 0.05) < 3 * se
    assert (p < 0.01).mean() < 0.01 + 3 * np.sqrt(0.01 * 0.99 / len(p))
    assert stats.kstest(p, "uniform").pvalue > 0.001


def test_chi_squared_on_identical_categories_rarely_fires():
    """Identical distributions, rare categories included (pooled): false positives at about alpha."""
    r = _rng(5)
    fired = []
    for _ in range(500):
        ref = {"c": r.poisson(2.0, 10_000), "m": r.choice(8, 10_000, p=[.3, .2, .12, .2, .06, .06, .05, .01])}
        cur = {"c": r.poisson(2.0, 2000), "m": r.choice(8, 2000, p=[.3, .2, .12, .2, .06, .06, .05, .01])}
        report = FeatureDrift(alpha=0.01, correction=None).fit(ref).check(cur)
        fired.append([report.columns["c"].drifted, report.columns["m"].drifted])
    rate = np.mean(fired, axis=0)
    assert (rate < 0.01 + 3 * np.sqrt(0.01 * 0.99 / 500)).all(), rate


def test_psi_of_identical_distributions_is_its_sampling_noise():
    """PSI ≈ chi-squared / n: its mean is (bins − 1)(1/n + 1/N) on quantile bins, far under 0.1."""
    r = _rng(6)
    n, big = 2000, 10_000
    values = [FeatureDrift(["x"]).fit({"x": r.gamma(2.0, size=big)}).check({"x": r.gamma(2.0, size=n)})
              .columns["x"].psi for _ in range(200)]
    assert max(values) < 0.1
    assert np.mean(values) == pytest.approx(9 * (1 / n + 1 / big), rel=0.15)


def test_bonferroni_bounds_the_whole_checks_false_alarm_rate():
    """m independent columns: 1 − (1 − alpha)^m alarms per check uncorrected, at most alpha corrected."""
    r = _rng(7)
    m, reps, alpha = 8, 400, 0.05
    hits = {"bonferroni": 0, None: 0}
    for _ in range(reps):
        ref = {f"x{i}": r.normal(size=2000) for i in range(m)}
        detector = FeatureDrift(alpha=alpha).fit(ref)
        report = detector.check({f"x{i}": r.normal(size=500) for i in range(m)})
        assert detector.level_ == alpha / m
        hits["bonferroni"] += report.drifted
        hits[None] += report.min_p_value < alpha  # what the uncorrected check would say
    se = np.sqrt(0.34 * 0.66 / reps)
    assert abs(hits[None] / reps - (1 - (1 - alpha) ** m)) < 3 * se
    assert hits["bonferroni"] / reps < alpha + 3 * np.sqrt(alpha * (1 - alpha) / reps)


# ------------------------------------------------------------------ power

def test_a_mean_shift_is_detected_where_theory_says():
    """A shift of d in a unit normal moves the CDF by up to 2Φ(d/2) − 1; KS rejects when
    sqrt(n_eff)·D passes the Kolmogorov quantile (1.95 at p = 0.001)."""
    r = _rng(8)
    n, big = 2000, 20_000
    n_eff = n * big / (n + big)
    crit = stats.kstwobign.isf(0.001)
    for d, expect in ((0.25, 1.0), (0.02, 0.0)):
        gap = 2 * stats.norm.cdf(d / 2) - 1
        assert (np.sqrt(n_eff) * gap > crit + 2) if expect else (np.sqrt(n_eff) * gap < crit - 1)
        detector = FeatureDrift(["x"], alpha=0.001).fit({"x": r.normal(size=big)})
        found = np.mean([detector.check({"x": r.normal(d, 1, n)}).drifted for _ in range(60)])
        assert found == pytest.approx(expect, abs=0.05), (d, found)


def test_fixed_size_samples_keep_the_power_fixed():
    """The same small shift: seen on 20,000 rows, not on an evenly spread 500 of them."""
    r = _rng(9)
    ref = {"x": r.normal(size=50_000)}
    cur = {"x": r.normal(0.08, 1, 20_000)}
    assert FeatureDrift(alpha=0.001).fit(ref).check(cur).drifted
    small = FeatureDrift(alpha=0.001, sample_size=500).fit(ref).check(cur)
    assert small.rows == 500 and not small.drifted


def test_dataset_share_rules_and_a_line_for_people():
    r = _rng(10)
    ref = {k: r.normal(size=10_000) for k in "abcd"}
    cur = {"a": r.normal(0.5, 1, 2000), "b": r.normal(0.5, 1, 2000), "c": r.normal(size=2000), "d": r.normal(size=2000)}
    report = FeatureDrift().fit(ref).check(cur)
    assert report.share_drifted == 0.5 and report.drifted_columns == ["a", "b"] and report.drifted
    assert not FeatureDrift(share_threshold=0.75).fit(ref).check(cur).drifted
    assert "2/4 columns" in report.summary() and "a (PSI" in report.summary()
    # PSI > 0.2 needs a big shift; "both" wants it significant and big, "either" one of the two.
    assert FeatureDrift(rule="psi").fit(ref).check(cur).drifted_columns == ["a", "b"]
    assert FeatureDrift(rule="both").fit(ref).check({**cur, "a": r.normal(0.1, 1, 2000)}).drifted_columns == ["b"]
    with pytest.raises(ValueError, match="rule"):
        FeatureDrift(rule="vote").fit(ref)


def test_missing_values_and_unseen_categories_are_drift():
    r = _rng(11)
    detector = FeatureDrift().fit({"x": r.normal(size=10_000), "c": r.integers(0, 3, 10_000)})
    x = r.normal(size=2000)
    x[:300] = np.nan
    report = detector.check({"x": x, "c": np.r_[r.integers(0, 3, 1900), np.full(100, 7)]})
    assert report.columns["x"].statistic >= 0.15 and report.columns["x"].drifted
    assert report.columns["c"].drifted
    assert not detector.check({"x": r.normal(size=2000), "c": r.integers(0, 3, 2000)}).drifted


def test_detectors_keep_the_policy_contract():
    """Deterministic, leave their input alone, picklable."""
    r = _rng(12)
    ref = {"x": r.normal(size=5000), "c": r.integers(0, 5, 5000)}
    cur = {"x": r.normal(0.1, 1, 1000), "c": r.integers(0, 5, 1000)}
    before = {k: v.copy() for k, v in cur.items()}
    detector = FeatureDrift(sample_size=800).fit(ref)
    first = detector.check(cur)
    again = pickle.loads(pickle.dumps(detector)).check(cur)
    assert first == again
    assert all(np.array_equal(before[k], cur[k]) for k in cur)


def test_prediction_drift_watches_the_scores():
    r = _rng(13)
    watch = PredictionDrift(alpha=0.001).fit(r.normal(-5, 1, 20_000))
    assert not watch.check(r.normal(-5, 1, 4000)).drifted
    moved = watch.check(r.normal(-4.8, 1, 4000))
    assert moved.drifted and moved.column == "score" and moved.test == "ks"


def test_feature_drift_sees_fraud_covids_drift_within_a_week_and_no_alarm_before():
    """The must-hold at the detector's level: on fraud_covid's own traffic, checked daily on 4,000 rows
    against the training window, the first alarm comes within 7 days of the drift's start, none in the
    60 days before it (a Bonferroni-corrected daily check at 0.001: 0.06 false alarms expected)."""
    from simulator.domains import FraudDomain
    from simulator.drift import DriftSchedule
    from simulator.scenario import load_scenario
    from simulator.store import TrafficStore

    sc = load_scenario(ROOT / "scenarios" / "fraud_covid.yaml")
    domain = FraudDomain(sc.domain.params)
    schedule = DriftSchedule(domain.params, sc.drift)
    store = TrafficStore(sc, domain, schedule)
    rows = store.labelled(-30 * DAY, 0.0)
    uniform = np.linspace(0, len(rows["label"]) - 1, 20_000).astype(np.int64)
    detector = FeatureDrift(domain.drift_columns, alpha=0.001).fit({k: v[uniform] for k, v in rows.items()})
    start = schedule.truth(domain.param_targets, sc.duration)[0]["start"] / DAY
    alarms = []
    for d in range(int(start) - 60, int(start) + 7):
        day = store.day(d)
        if detector.check({k: v[::2] for k, v in day.rows.items()}).drifted:
            alarms.append(d + 1.0)  # the check runs at the day's end
    assert alarms and start <= alarms[0] <= start + 7, alarms


# ------------------------------------------------------------------ performance before labels

def test_confidence_estimates_match_realised_performance_on_calibrated_data():
    """Labels drawn from calibrated probabilities: the realised accuracy averages to the estimate
    (it is unbiased), and so does the AUC (a ratio of expectations, bias O(1/n))."""
    r = _rng(14)
    n = 3000
    p = r.beta(0.5, 4.0, n)
    est = ConfidencePerformance(threshold=0.3).estimate(p)
    acc, auc, rec = [], [], []
    for _ in range(300):
        y = r.random(n) < p
        acc.append(np.mean((p >= 0.3) == y))
        auc.append(stats.mannwhitneyu(p[y], p[~y]).statistic / (y.sum() * (~y).sum()))
        rec.append(np.mean((p >= 0.3)[y]))
    for got, real in ((est.accuracy, acc), (est.auc, auc), (est.recall, rec)):
        assert abs(np.mean(real) - got) < 4 * np.std(real) / np.sqrt(len(real)) + 1e-3, (got, np.mean(real))
    assert est.positive_rate == pytest.approx(p.mean())


def test_confidence_auc_counts_tied_scores_half():
    # Three positives' worth of mass on two score levels: the expectation by hand.
    p = np.array([0.9, 0.9, 0.2, 0.2])
    est = ConfidencePerformance().estimate(p)
    pos, neg = p, 1 - p
    num = sum(pos[i] * neg[j] * (1.0 if p[i] > p[j] else 0.5 if p[i] == p[j] else 0.0)
              for i in range(4) for j in range(4) if i != j)
    den = sum(pos[i] * neg[j] for i in range(4) for j in range(4) if i != j)
    assert est.auc == pytest.approx(num / den)
    assert est.accuracy == pytest.approx(np.mean([0.9, 0.9, 0.8, 0.8]))


def test_confidence_is_blind_to_concept_drift_and_calibration_repairs_bias():
    r = _rng(15)
    scores = r.normal(-2, 1.5, 20_000)
    p = 1 / (1 + np.exp(-scores))
    watch = ConfidencePerformance(link="logit").fit(scores)
    assert watch.estimate(scores).auc == pytest.approx(ConfidencePerformance().estimate(p).auc)
    # The concept changes: labels no longer follow the scores, and the estimate does not notice.
    y_new = r.random(20_000) < p.mean()
    realised = stats.mannwhitneyu(scores[y_new], scores[~y_new]).statistic / (y_new.sum() * (~y_new).sum())
    assert abs(realised - 0.5) < 0.03 and watch.estimate(scores).auc > 0.75
    # An overconfident model (p squared away from the truth): isotonic calibration on labelled reference data.
    y = r.random(20_000) < p
    skewed = p ** 0.5
    raw = ConfidencePerformance().estimate(skewed).accuracy
    fixed = ConfidencePerformance(calibrate=True).fit(skewed, y).estimate(skewed).accuracy
    real = np.mean((p >= 0.5) == y)
    assert abs(fixed - real) < 0.01 < abs(raw - real)


# ------------------------------------------------------------------ river

class _Threshold:
    """A stand-in with river's interface: drift when a value passes a limit."""

    def __init__(self, limit: float) -> None:
        self.limit, self.drift_detected, self.seen = limit, False, 0

    def update(self, x: float) -> None:
        self.seen += 1
        self.drift_detected = x > self.limit


def test_river_adapter_works_with_a_stand_in_and_leaves_it_alone():
    proto = _Threshold(0.5)
    watch = RiverDetector(proto)
    assert watch.run([0.1, np.nan, 0.7, 0.2, 0.9], times=[1.0, 2.0, 3.0, 4.0, 5.0]) == [3.0, 5.0]
    assert proto.seen == 0 and watch.detector_.seen == 4  # NaN skipped; the prototype copied
    assert pickle.loads(pickle.dumps(watch)).detections_ == [3.0, 5.0]
    with pytest.raises(ValueError, match="params"):
        RiverDetector(proto, delta=0.1).update(1.0)


def test_river_adapter_names_the_extra_when_river_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "river", None)
    monkeypatch.setitem(sys.modules, "river.drift", None)
    with pytest.raises(ImportError, match=r"mlops-failure-lab\[river\]"):
        RiverDetector("ADWIN").update(0.1)


def test_river_detectors_plug_in_by_name():
    pytest.importorskip("river")
    values = np.r_[np.full(60, 0.01), np.full(30, 0.5)]
    found = RiverDetector("PageHinkley", min_instances=14, threshold=0.5).run(values)
    assert found and 60 <= found[0] <= 65
    with pytest.raises(ValueError, match="no detector"):
        RiverDetector("Nonsense").update(0.1)
