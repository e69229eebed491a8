"""Lesson 2's graders: the reference answers pass, unfinished and plausible wrong ones fail with a hint."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

from labs import lesson2
from simulator.policies import Alert, MonitoringPolicy


def psi(reference, current, bins=10):
    reference, current = np.asarray(reference, dtype=float), np.asarray(current, dtype=float)
    edges = np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1])
    q = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=bins) / len(reference)
    p = np.bincount(np.searchsorted(edges, current, side="right"), minlength=bins) / len(current)
    q, p = np.clip(q, 1e-4, None), np.clip(p, 1e-4, None)
    return float(np.sum((p - q) * np.log(p / q)))


def ks_alert(reference, current, alpha):
    return bool(ks_2samp(reference, current).pvalue < alpha)


def choose_threshold(stable, drifting, drift_start, candidates, max_false_per_year, max_delay_days):
    stable, drifting = np.asarray(stable, dtype=float), np.asarray(drifting, dtype=float)
    best = None
    for t in candidates:
        per_year = np.sum(stable > t) * 365 / len(stable)
        hits = np.flatnonzero(drifting[drift_start:] > t)
        if per_year > max_false_per_year or len(hits) == 0 or hits[0] > max_delay_days:
            continue
        if best is None or (per_year, hits[0]) < best[0]:
            best = ((per_year, hits[0]), t)
    return None if best is None else best[1]


class EarlyDriftMonitor(MonitoringPolicy):
    def __init__(self, threshold=0.01, min_columns=2):
        self.threshold = threshold
        self.min_columns = min_columns

    def alerts(self, view, day):
        moved = sorted(c for c, v in day.psi.items() if v > self.threshold)
        if len(moved) < self.min_columns:
            return []
        return [Alert((day.day + 1) * 86400.0, "data_drift", float(len(moved)), "drift in " + ", ".join(moved))]


class LargestOnly(EarlyDriftMonitor):
    """The presets' idea with a lower bar: one column is enough."""

    def alerts(self, view, day):
        if day.psi and max(day.psi.values()) > self.threshold:
            return [Alert((day.day + 1) * 86400.0, "data_drift", 1.0)]
        return []


class Unfinished(EarlyDriftMonitor):
    def alerts(self, view, day):
        raise NotImplementedError


def not_done(*args, **kwargs):
    raise NotImplementedError


def test_reference_answers_pass(capsys):
    lesson2.check_psi(psi)
    lesson2.check_ks_alert(ks_alert)
    lesson2.check_choose_threshold(choose_threshold)
    lesson2.check_monitor(EarlyDriftMonitor)
    out = capsys.readouterr().out.splitlines()
    assert out == ["✔ lesson2.psi: passed 11 hidden checks", "✔ lesson2.ks_alert: passed 10 hidden checks",
                   "✔ lesson2.choose_threshold: passed 9 hidden checks", "✔ lesson2.monitor: passed 9 hidden checks"]


@pytest.mark.parametrize("grader", [lesson2.check_psi, lesson2.check_ks_alert, lesson2.check_choose_threshold])
def test_unfinished_work_is_not_done_yet(grader):
    with pytest.raises(AssertionError, match="not done yet"):
        grader(lambda *a, **k: (_ for _ in ()).throw(NotImplementedError()))


def test_an_unfinished_monitor_is_not_done_yet():
    with pytest.raises(AssertionError, match="not done yet"):
        lesson2.check_monitor(Unfinished)


def test_the_graders_psi_matches_theory_for_a_shifted_normal():
    """Σ (p − q) ln(p / q) on deciles: with big samples, the binned PSI of N(δ, 1) against N(0, 1)."""
    rng = np.random.default_rng(0)
    for delta in (0.1, 0.5, 1.0):
        theory = lesson2.normal_shift_psi(delta)
        sampled = lesson2.reference_psi(rng.normal(0, 1, 400_000), rng.normal(delta, 1, 400_000))
        assert sampled == pytest.approx(theory, rel=0.05)
    # For a small shift the binned PSI is a little under the continuous symmetric KL, delta squared.
    assert 0.8 * 0.1 ** 2 < lesson2.normal_shift_psi(0.1) < 0.1 ** 2


def test_the_graders_psi_matches_the_lab_monitor_on_numbers():
    from simulator.monitoring import Reference

    rng = np.random.default_rng(1)
    ref, cur = rng.lognormal(3, 1, 20_000), rng.lognormal(3.2, 1, 4000)
    assert lesson2.reference_psi(ref, cur) == pytest.approx(Reference.from_rows({"x": ref}, ["x"]).psi({"x": cur})["x"])


def test_equal_width_bins_are_named():
    def equal_width(reference, current, bins=10):
        edges = np.histogram_bin_edges(reference, bins)[1:-1]
        q = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=bins) / len(reference)
        p = np.bincount(np.searchsorted(edges, current, side="right"), minlength=bins) / len(current)
        q, p = np.clip(q, 1e-4, None), np.clip(p, 1e-4, None)
        return float(np.sum((p - q) * np.log(p / q)))

    with pytest.raises(AssertionError, match="not equal-width bins"):
        lesson2.check_psi(equal_width)


def test_right_closed_bins_are_named():
    def right_closed(reference, current, bins=10):
        edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
        edges = np.concatenate([[-np.inf], edges, [np.inf]])
        q = pd.cut(pd.Series(reference), edges).value_counts(normalize=True, sort=False).to_numpy()
        p = pd.cut(pd.Series(current), edges).value_counts(normalize=True, sort=False).to_numpy()
        q, p = np.clip(q, 1e-4, None), np.clip(p, 1e-4, None)
        return float(np.sum((p - q) * np.log(p / q)))

    with pytest.raises(AssertionError, match="belongs to the bin above it"):
        lesson2.check_psi(right_closed)


def test_an_unclipped_empty_bin_is_named():
    def unclipped(reference, current, bins=10):
        edges = np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1])
        q = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=bins) / len(reference)
        p = np.bincount(np.searchsorted(edges, current, side="right"), minlength=bins) / len(current)
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.sum((p - q) * np.log(p / q)))

    with pytest.raises(AssertionError, match="clip each share at 1e-4"):
        lesson2.check_psi(unclipped)


def test_one_sided_kl_is_named():
    def kl(reference, current, bins=10):
        edges = np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1])
        q = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=bins) / len(reference)
        p = np.bincount(np.searchsorted(edges, current, side="right"), minlength=bins) / len(current)
        q, p = np.clip(q, 1e-4, None), np.clip(p, 1e-4, None)
        return float(np.sum(p * np.log(p / q)))

    with pytest.raises(AssertionError, match=r"only Σ p·ln\(p / q\)"):
        lesson2.check_psi(kl)


def test_a_p_value_is_not_an_alarm():
    with pytest.raises(AssertionError, match="return True .* compare the p-value with alpha"):
        lesson2.check_ks_alert(lambda ref, cur, alpha: ks_2samp(ref, cur).pvalue)


def test_the_alarm_the_wrong_way_round_is_named():
    with pytest.raises(AssertionError, match="True means 'drift': return it only"):
        lesson2.check_ks_alert(lambda ref, cur, alpha: bool(ks_2samp(ref, cur).pvalue >= alpha))


def test_the_statistic_is_not_the_p_value():
    with pytest.raises(AssertionError, match="not the statistic D"):
        lesson2.check_ks_alert(lambda ref, cur, alpha: bool(ks_2samp(ref, cur).statistic > alpha))


def test_false_alarms_are_counted_per_year():
    def unscaled(stable, drifting, drift_start, candidates, max_false_per_year, max_delay_days):
        stable, drifting = np.asarray(stable, dtype=float), np.asarray(drifting, dtype=float)
        best = None
        for t in candidates:
            alarms = np.sum(stable > t)  # alarms in the stretch, not per year
            hits = np.flatnonzero(drifting[drift_start:] > t)
            if alarms <= max_false_per_year and len(hits) and hits[0] <= max_delay_days \
                    and (best is None or (alarms, hits[0]) < best[0]):
                best = ((alarms, hits[0]), t)
        return None if best is None else best[1]

    with pytest.raises(AssertionError, match="scale the count to a year"):
        lesson2.check_choose_threshold(unscaled)


def test_a_glitch_before_the_drift_is_no_detection():
    def from_day_zero(stable, drifting, drift_start, candidates, max_false_per_year, max_delay_days):
        stable, drifting = np.asarray(stable, dtype=float), np.asarray(drifting, dtype=float)
        best = None
        for t in candidates:
            per_year = np.sum(stable > t) * 365 / len(stable)
            hits = np.flatnonzero(drifting > t)
            delay = hits[0] - drift_start if len(hits) else np.inf
            if per_year <= max_false_per_year and delay <= max_delay_days and (best is None or (per_year, delay) < best[0]):
                best = ((per_year, delay), t)
        return None if best is None else best[1]

    with pytest.raises(AssertionError, match="only values from drift_start on"):
        lesson2.check_choose_threshold(from_day_zero)


def test_one_column_is_not_enough_for_the_monitor():
    with pytest.raises(AssertionError, match="one column, however large, is not enough"):
        lesson2.check_monitor(LargestOnly)


def test_an_instance_is_not_the_class():
    with pytest.raises(AssertionError, match="pass the class itself"):
        lesson2.check_monitor(EarlyDriftMonitor())
