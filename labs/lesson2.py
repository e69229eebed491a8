"""Graders of lesson 2, data drift: PSI, a two-sample KS alarm, choosing a threshold, an early drift monitor.

Each grader calls the student's work on hidden cases built here. The right
answers come from an independent computation (PSI from ``np.histogram`` and
``scipy.special.rel_entr``, with a closed form for a shifted normal; the KS
p-value from ``scipy.stats.ks_2samp``; thresholds by enumerating every
candidate), never from numbers copied out of a run.

>>> import numpy as np
>>> def psi(reference, current, bins=10):
...     reference, current = np.asarray(reference, float), np.asarray(current, float)
...     edges = np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1])
...     q = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=bins) / len(reference)
...     p = np.bincount(np.searchsorted(edges, current, side="right"), minlength=bins) / len(current)
...     q, p = np.clip(q, 1e-4, None), np.clip(p, 1e-4, None)
...     return float(np.sum((p - q) * np.log(p / q)))
>>> check_psi(psi)
✔ lesson2.psi: passed 11 hidden checks
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

from .grading import Checks, call, close, passed, verify

#: Shares are clipped at this before the logarithm, as the lab's monitor does.
EPS = 1e-4
DAY = 86400.0
YEAR_DAYS = 365.0


# ------------------------------------------------------------------------ psi
def _edges(reference: np.ndarray, bins: int) -> np.ndarray:
    """Bin edges of the reference's quantile bins, outer ones infinite, as np.histogram takes them."""
    inner = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    return np.concatenate([[-np.inf], inner, [np.inf]])


def _shares(x: np.ndarray, edges: np.ndarray, side: str = "right") -> np.ndarray:
    if side == "right":  # edges[i-1] <= x < edges[i]: np.histogram's half-open bins
        counts = np.histogram(x, edges)[0]
    else:                # edges[i-1] < x <= edges[i]: a value equal to an edge goes below it
        counts = np.bincount(np.searchsorted(edges[1:-1], x, side="left"), minlength=len(edges) - 1)
    return counts / len(x)


def _sym_kl(p: np.ndarray, q: np.ndarray, clip: bool = True) -> float:
    """Σ (p − q) ln(p / q), written as the two relative entropies it is the sum of."""
    if clip:
        p, q = np.clip(p, EPS, None), np.clip(q, EPS, None)
    return float(np.sum(special.rel_entr(p, q) + special.rel_entr(q, p)))


def reference_psi(reference, current, bins: int = 10) -> float:
    """PSI of ``current`` against ``reference`` on the reference's quantile bins (the grader's own computation)."""
    ref, cur = np.asarray(reference, dtype=np.float64), np.asarray(current, dtype=np.float64)
    edges = _edges(ref, bins)
    return _sym_kl(_shares(cur, edges), _shares(ref, edges))


def normal_shift_psi(delta: float, bins: int = 10) -> float:
    """Theory: PSI of N(delta, 1) against N(0, 1) on the exact quantile bins of N(0, 1)."""
    edges = np.concatenate([[-np.inf], stats.norm.ppf(np.linspace(0, 1, bins + 1)[1:-1]), [np.inf]])
    p = np.diff(stats.norm.cdf(edges - delta))
    return _sym_kl(p, np.full(bins, 1.0 / bins))


def _psi_mistakes(ref: np.ndarray, cur: np.ndarray, bins: int) -> dict[str, float]:
    """What common mistakes return, to name the mistake in the hint."""
    edges = _edges(ref, bins)
    p, q = _shares(cur, edges), _shares(ref, edges)
    width = np.histogram_bin_edges(ref, bins)
    width = np.concatenate([[-np.inf], width[1:-1], [np.inf]])
    # Checked in order: on discrete data a right-closed binning can coincide with equal-width bins.
    out = {
        "a value equal to an edge belongs to the bin above it: edges[i-1] <= x < edges[i], "
        "np.searchsorted(edges, x, side='right') (pd.cut and np.digitize(..., right=True) put it below)":
            _sym_kl(_shares(cur, edges, "left"), _shares(ref, edges, "left")),
        "equal-width bins: the bins are the reference's quantiles (np.quantile), not equal-width bins":
            _sym_kl(_shares(cur, width), _shares(ref, width)),
        "the bins come from the reference's quantiles, not the current sample's":
            _sym_kl(_shares(cur, _edges(cur, bins)), _shares(ref, _edges(cur, bins))),
        "the bins come from the reference's quantiles alone, not from both samples pooled":
            _sym_kl(_shares(cur, _edges(np.concatenate([ref, cur]), bins)),
                    _shares(ref, _edges(np.concatenate([ref, cur]), bins))),
        "PSI is Σ (p − q)·ln(p / q): you computed only Σ p·ln(p / q)":
            float(np.sum(special.rel_entr(np.clip(p, EPS, None), np.clip(q, EPS, None)))),
        "PSI is Σ (p − q)·ln(p / q): you computed only Σ q·ln(q / p)":
            float(np.sum(special.rel_entr(np.clip(q, EPS, None), np.clip(p, EPS, None)))),
        "clip each share at 1e-4 (np.clip(share, 1e-4, None)) rather than adding a small number":
            float(np.sum((p + EPS - q - EPS) * np.log((p + EPS) / (q + EPS)))),
    }
    if bins != 10:
        out["use the `bins` argument: this case asked for a different number of bins than 10"] = \
            reference_psi(ref, cur, 10)
    return out


def _psi_cases() -> list[tuple[str, object, object, int]]:
    rng = np.random.default_rng(202)
    ref = rng.normal(0, 1, 20_000)
    cats = np.array([0.35, 0.25, 0.15, 0.1, 0.1, 0.05])
    lognormal = rng.lognormal(3.5, 0.8, 10_000)
    cases = [
        ("a normal sample against a sample shifted by half a standard deviation",
         ref, rng.normal(0.5, 1, 4000), 10),
        ("two samples from the same normal distribution", ref, rng.normal(0, 1, 4000), 10),
        ("a sample whose spread doubled", rng.normal(0, 1, 10_000), rng.normal(0, 2, 5000), 10),
        ("a sample compared with itself (PSI exactly 0)", ref, ref.copy(), 10),
        ("categorical-ish data: six values whose shares moved",
         rng.choice(6, 20_000, p=cats).astype(float), rng.choice(6, 5000, p=[0.2, 0.2, 0.2, 0.2, 0.1, 0.1]), 10),
        ("a 0/1 flag whose share of ones fell from 0.7 to 0.4",
         (rng.random(20_000) < 0.7).astype(float), (rng.random(4000) < 0.4).astype(float), 10),
        ("skewed amounts on 5 bins, the current ones larger, some beyond the reference's largest",
         lognormal, rng.lognormal(3.9, 0.9, 3000), 5),
        ("a current sample entirely above the reference's 80th percentile (empty bins)",
         ref, rng.uniform(np.quantile(ref, 0.8), 3.5, 2000), 10),
        ("a pandas Series against a list", pd.Series(rng.normal(10, 3, 8000)),
         list(rng.normal(11, 3, 2000)), 20),
    ]
    return cases


def check_psi(psi) -> None:
    """Grade ``psi(reference, current, bins=10)``: PSI on the reference's quantile bins, shares clipped at 1e-4."""
    ex = "lesson2.psi"
    checks = Checks(ex)
    for name, ref, cur, bins in _psi_cases():
        with checks.case():
            ref_before, cur_before = np.array(ref, dtype=np.float64), np.array(cur, dtype=np.float64)
            got = call(ex, psi, ref, cur, bins) if bins != 10 else call(ex, psi, ref, cur)
            want = reference_psi(ref, cur, bins)
            where = f"{name} (bins={bins})"
            verify(ex, isinstance(got, (int, float, np.integer, np.floating)) and not isinstance(got, bool),
                   f"{where}: return one number (a float), not {type(got).__name__}")
            got = float(got)
            verify(ex, math.isfinite(got),
                   f"{where}: got {got}; an empty bin gives log(0) — clip each share at 1e-4 before the formula")
            verify(ex, got >= -1e-12, f"{where}: got {got:.5f}; PSI is never negative: (p − q) and ln(p / q) "
                                      "always have the same sign — check the order inside the logarithm")
            if not close(got, want, rel=1e-6, abs_=1e-9):
                hint = f"{where}: expected PSI {want:.6f}, got {got:.6f}"
                if got > 50 * max(want, 1e-3):
                    hint += " — use each bin's share of the sample (count / sample size), not its count"
                for mistake, value in _psi_mistakes(np.asarray(ref_before), np.asarray(cur_before), bins).items():
                    if close(got, value, rel=1e-6, abs_=1e-9):
                        hint += f" — {mistake}"
                        break
                verify(ex, False, hint)
            verify(ex, np.array_equal(np.asarray(ref, dtype=np.float64), ref_before)
                   and np.array_equal(np.asarray(cur, dtype=np.float64), cur_before),
                   f"{where}: your function changed the samples it was given (sorted them in place?); work on a copy")
    # Theory: with large samples, a shift of 0.3 standard deviations gives the binned PSI of the two normals.
    with checks.case():
        rng = np.random.default_rng(7)
        delta = 0.3
        got = float(call(ex, psi, rng.normal(0, 1, 200_000), rng.normal(delta, 1, 200_000)))
        theory = normal_shift_psi(delta)
        verify(ex, abs(got - theory) < 0.05 * theory,
               f"N(0.3, 1) against N(0, 1) with 200,000 rows each: theory says PSI ≈ {theory:.4f} on deciles, "
               f"got {got:.4f}")
    with checks.case():
        rng = np.random.default_rng(8)
        a, b = rng.exponential(1.0, 5000), rng.exponential(1.6, 5000)
        forward, backward = float(call(ex, psi, a, b)), float(call(ex, psi, b, a))
        verify(ex, close(forward, reference_psi(a, b)) and close(backward, reference_psi(b, a)),
               f"psi(a, b) and psi(b, a) should differ, because the bins come from the first argument "
               f"(expected {reference_psi(a, b):.5f} and {reference_psi(b, a):.5f}, "
               f"got {forward:.5f} and {backward:.5f})")
    checks.done()


# ------------------------------------------------------------------- ks_alert
def _ks_cases() -> list[tuple[str, object, object, float]]:
    rng = np.random.default_rng(2024)
    ref = rng.normal(0, 1, 20_000)
    small = rng.normal(0, 1, 500)
    modest = rng.normal(0.12, 1, 1500)
    return [
        ("same distribution, alpha 0.001", ref, rng.normal(0, 1, 4000), 0.001),
        ("mean shifted by 0.3, alpha 0.001", ref, rng.normal(0.3, 1, 2000), 0.001),
        ("same mean, spread 1.3 times wider, alpha 0.01", ref, rng.normal(0, 1.3, 3000), 0.01),
        ("a shift of 0.05 on 500 rows, alpha 0.001 (too small to see)", small, rng.normal(0.05, 1, 500), 0.001),
        ("the same shift of 0.05 on 100,000 rows, alpha 0.01", rng.normal(0, 1, 100_000),
         rng.normal(0.05, 1, 100_000), 0.01),
        ("a modest shift, alpha 0.05", ref, modest, 0.05),
        ("the same modest shift, alpha 1e-5", ref, modest, 1e-5),
        ("counts (many ties): Poisson(2) against Poisson(2.5), alpha 0.001",
         rng.poisson(2.0, 10_000).astype(float), rng.poisson(2.5, 3000).astype(float), 0.001),
        ("counts (many ties) from the same Poisson(2), alpha 0.001",
         rng.poisson(2.0, 10_000).astype(float), rng.poisson(2.0, 3000).astype(float), 0.001),
        ("a pandas Series against a list, shifted, alpha 0.01", pd.Series(rng.exponential(1.0, 5000)),
         list(rng.exponential(1.4, 1000)), 0.01),
    ]


def check_ks_alert(ks_alert) -> None:
    """Grade ``ks_alert(reference, current, alpha)``: True when the two-sample KS test rejects at ``alpha``."""
    ex = "lesson2.ks_alert"
    checks = Checks(ex)
    for name, ref, cur, alpha in _ks_cases():
        with checks.case():
            before = (np.array(ref, dtype=np.float64), np.array(cur, dtype=np.float64))
            result = stats.ks_2samp(np.asarray(ref, dtype=np.float64), np.asarray(cur, dtype=np.float64))
            d, p = float(result.statistic), float(result.pvalue)
            # Every case is clear-cut: the p-value is ten times below or above alpha, so any method agrees.
            assert p < alpha / 10 or p > alpha * 10, (name, p, alpha)
            want = p < alpha
            got = call(ex, ks_alert, ref, cur, alpha)
            where = f"{name}: scipy's ks_2samp gives D = {d:.4f}, p = {p:.2g}"
            verify(ex, isinstance(got, (bool, np.bool_)),
                   f"{where}; return True (drift) or False (no drift), not {type(got).__name__} {got!r}"
                   + (" — compare the p-value with alpha" if isinstance(got, (float, np.floating)) else ""))
            if bool(got) != want:
                hint = f"{where}; at alpha {alpha:g} expected {want}, got {bool(got)}"
                if want:
                    hint += " — True means 'drift': the p-value is below alpha, so the test rejects"
                else:
                    hint += (" — True means 'drift': return it only when the p-value (not the statistic D) "
                             "is below alpha")
                verify(ex, False, hint)
            verify(ex, np.array_equal(np.asarray(ref, dtype=np.float64), before[0])
                   and np.array_equal(np.asarray(cur, dtype=np.float64), before[1]),
                   f"{name}: your function changed the samples it was given; work on a copy")
    checks.done()


# ----------------------------------------------------------- choose_threshold
def _evaluate(stable, drifting, drift_start: int, threshold: float) -> tuple[float, float]:
    """(false alarms per year on the stable stretch, detection delay in days or inf), by definition."""
    stable = np.asarray(stable, dtype=np.float64)
    drifting = np.asarray(drifting, dtype=np.float64)
    per_year = np.count_nonzero(stable > threshold) * YEAR_DAYS / len(stable)
    after = np.flatnonzero(drifting[drift_start:] > threshold)
    return per_year, float(after[0]) if len(after) else math.inf


def answers(stable, drifting, drift_start: int, candidates: Sequence[float], max_false_per_year: float,
            max_delay_days: float) -> list[float]:
    """Every candidate that is a right answer (ties included); empty when none meets both limits."""
    scored = []
    for t in candidates:
        per_year, delay = _evaluate(stable, drifting, drift_start, t)
        if per_year <= max_false_per_year + 1e-9 and delay <= max_delay_days:
            scored.append(((per_year, delay), float(t)))
    if not scored:
        return []
    best = min(key for key, _ in scored)
    return [t for key, t in scored if key == best]


def _threshold_cases() -> list[tuple[str, tuple, dict]]:
    rng = np.random.default_rng(31)
    grid = [0.005, 0.01, 0.02, 0.05, 0.1, 0.2]
    noise = rng.uniform(0.0, 0.009, 365)
    noise[[40, 200]] = [0.015, 0.025]  # two noisy days a year
    ramp = np.concatenate([rng.uniform(0, 0.009, 30), 0.004 * 1.45 ** np.arange(1, 40)])
    short = rng.uniform(0.0, 0.009, 73)
    short[10] = 0.012                  # one alarm in 73 days is five a year
    spiky = ramp.copy()
    spiky[12] = 0.3                    # a glitch before the drift: not a detection
    tie = np.concatenate([np.zeros(20), [0.0, 0.03, 0.03, 0.5, 0.5]])
    exact = rng.uniform(0.0, 0.009, 365)
    exact[100] = 0.02                  # a day exactly at a candidate is not above it
    surprise = np.concatenate([rng.exponential(1 / np.log(10), 90), [1.0, 2.5, 6.0, 11.0, 30.0, 80.0]])
    return [
        ("a year of noise with two noisy days, a drift from day 30",
         (noise, ramp, 30, grid), {"max_false_per_year": 2, "max_delay_days": 5}),
        ("the same with the candidates out of order",
         (noise, ramp, 30, [0.1, 0.005, 0.2, 0.02, 0.01, 0.05]), {"max_false_per_year": 2, "max_delay_days": 5}),
        ("no false alarm allowed, a week to detect",
         (noise, ramp, 30, grid), {"max_false_per_year": 0, "max_delay_days": 7}),
        ("no false alarm allowed and two days to detect: impossible",
         (noise, ramp, 30, grid), {"max_false_per_year": 0, "max_delay_days": 2}),
        ("73 stable days with one noisy one, at most 4 false alarms a year",
         (short, ramp, 30, grid), {"max_false_per_year": 4, "max_delay_days": 2}),
        ("a glitch on day 12 of the drifting run, before its drift starts on day 30",
         (noise, spiky, 30, grid), {"max_false_per_year": 2, "max_delay_days": 3}),
        ("a stable day exactly at a candidate threshold",
         (exact, ramp, 30, [0.01, 0.02, 0.05]), {"max_false_per_year": 0, "max_delay_days": 10}),
        ("two candidates that tie on false alarms and delay",
         (np.zeros(365), tie, 20, [0.01, 0.02, 0.1, 0.2]), {"max_false_per_year": 0, "max_delay_days": 5}),
        ("-log10 p-values, 90 stable days, a pandas Series",
         (pd.Series(surprise[:90]), pd.Series(surprise), 90, [1.3, 2, 3, 4, 6, 10]),
         {"max_false_per_year": 5, "max_delay_days": 3}),
    ]


def check_choose_threshold(choose_threshold) -> None:
    """Grade ``choose_threshold(stable, drifting, drift_start, candidates, max_false_per_year, max_delay_days)``."""
    ex = "lesson2.choose_threshold"
    checks = Checks(ex)
    for name, args, kwargs in _threshold_cases():
        with checks.case():
            stable, drifting, start, candidates = args
            want = answers(*args, **kwargs)
            got = call(ex, choose_threshold, *args, **kwargs)
            limits = (f"at most {kwargs['max_false_per_year']:g} false alarms a year, "
                      f"detection within {kwargs['max_delay_days']:g} days")
            table = "; ".join(f"{t:g}: {fa:.1f}/year, delay {'never' if math.isinf(dl) else f'{dl:g}'}"
                              for t in sorted(candidates) for fa, dl in [_evaluate(stable, drifting, start, t)])
            if "73 stable days" in name:
                mistake = " — scale the count to a year: alarms × 365 / len(stable)"
            elif "glitch" in name:
                mistake = " — only values from drift_start on can detect the drift"
            elif "exactly at" in name:
                mistake = " — an alarm is a value strictly above the threshold"
            elif "out of order" in name:
                mistake = " — the candidates come in any order"
            else:
                mistake = (" — among the candidates within both limits, pick the fewest false alarms, "
                           "then the shortest delay")
            if not want:
                verify(ex, got is None, f"{name} ({limits}): no candidate meets both limits, so expected None, "
                                        f"got {got!r} (per candidate — {table}){mistake}")
            else:
                verify(ex, got is not None, f"{name} ({limits}): expected {' or '.join(f'{t:g}' for t in want)}, "
                                            f"got None (per candidate — {table}){mistake}")
                ok = isinstance(got, (int, float, np.integer, np.floating)) and any(close(float(got), t) for t in want)
                verify(ex, ok, f"{name} ({limits}): expected {' or '.join(f'{t:g}' for t in want)}, got {got!r} "
                               f"(per candidate — {table}){mistake}")
    checks.done()


# ---------------------------------------------------------------- the monitor
def _observation(day: int, psi: dict):
    from simulator.policies import DayObservation, WorldView

    obs = DayObservation(day, dict(psi), math.nan, math.nan, math.nan, 0.0, 0.05)
    view = WorldView(now=(day + 1) * DAY, drift_score=max(psi.values(), default=math.nan), decay=math.nan,
                     last_retrain=None, pipeline_busy=False, replicas=4, arrival_rate=50.0, service_mean=0.02,
                     level=2)
    return view, obs


COLUMNS = ("amount", "hour", "merchant_category", "card_present", "distance_km", "velocity_24h",
           "account_age_days", "foreign")


def _days(rng: np.random.Generator) -> list[tuple[str, int, dict, dict, int | None]]:
    """(name, day, psi, constructor params, expected alert value or None)."""
    def quiet(scale=0.004):
        return {c: float(v) for c, v in zip(COLUMNS, rng.uniform(0, scale, len(COLUMNS)))}
    return [
        ("a stable day", 3, quiet(), {}, None),
        ("a day with one column at PSI 0.3 and the rest quiet", 12, {**quiet(), "card_present": 0.3}, {}, None),
        ("a day with two columns above 0.01", 81, {**quiet(), "card_present": 0.018, "merchant_category": 0.011},
         {}, 2),
        ("a day with one column exactly at 0.01 and one above", 80,
         {**quiet(), "card_present": 0.01, "merchant_category": 0.02}, {}, None),
        ("a day deep in the drift, four columns above 0.01", 88,
         {**quiet(), "card_present": 0.39, "merchant_category": 0.28, "distance_km": 0.1, "foreign": 0.0155},
         {}, 4),
        ("a level with no drift monitoring (psi is empty)", 5, {}, {}, None),
        ("threshold 0.05, one column needed: one column at 0.06", 40, {**quiet(), "amount": 0.06},
         {"threshold": 0.05, "min_columns": 1}, 1),
        ("threshold 0.05, three columns needed: two above", 41, {**quiet(), "amount": 0.06, "hour": 0.2},
         {"threshold": 0.05, "min_columns": 3}, None),
    ]


def _spec(cls) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def short_drift_scenario(spec: str, params: dict | None = None, at_day: float = 10.0):
    """fraud_covid at level 2 with its drift moved to ``at_day`` and the level's monitor replaced by ``spec``."""
    import simulator

    from . import scenario_path

    path = scenario_path("fraud_covid")
    event = simulator.load_scenario(path).drift[0]
    drift = [{"at": f"{at_day:g}d", "kind": event.kind, "width": f"{event.width / DAY:g}d", "set": dict(event.set)}]
    return simulator.load_scenario(path, levels=[2], drift=drift, overrides={2: {"monitoring": {
        "policy": spec, "params": dict(params or {})}}})


def check_monitor(cls) -> None:
    """Grade an ``EarlyDriftMonitor(threshold=0.01, min_columns=2)``, a ``MonitoringPolicy`` for level 2.

    Expected: ``alerts(view, day)`` returns one ``Alert`` of kind
    ``"data_drift"`` at the end of the observed day, whose value is the number
    of columns, when at least ``min_columns`` columns of ``day.psi`` are above
    ``threshold``; none otherwise. Then, plugged into level 2 of fraud_covid
    with the drift moved to day 10, it must stay quiet before the drift and
    alert before the preset's rule (largest PSI above 0.2) would.
    """
    import simulator
    from simulator.policies import MonitoringPolicy

    ex = "lesson2.monitor"
    verify(ex, isinstance(cls, type) and issubclass(cls, MonitoringPolicy),
           "pass the class itself (not an instance), a subclass of simulator.policies.MonitoringPolicy")
    checks = 0
    for name, d, psi, params, want in _days(np.random.default_rng(22)):
        policy = call(ex, cls, **params)
        view, obs = _observation(d, psi)
        got = call(ex, policy.alerts, view, obs)
        where = f"{name} (threshold {getattr(policy, 'threshold', '?')}, min_columns " \
                f"{getattr(policy, 'min_columns', '?')})"
        verify(ex, isinstance(got, (list, tuple)), f"{where}: alerts() should return a list of Alert, "
                                                   f"not {type(got).__name__}")
        verify(ex, all(hasattr(a, "kind") and hasattr(a, "value") and hasattr(a, "time") for a in got),
               "each alert should be a simulator.policies.Alert(time, kind, value, detail)")
        if want is None:
            hint = f"{where}: expected no alert, got {len(got)}"
            if d == 80:
                hint += " — a column exactly at the threshold is not above it"
            elif "one column at PSI 0.3" in name:
                hint += " — one column, however large, is not enough: count the columns above the threshold"
            verify(ex, not got, hint)
        else:
            verify(ex, len(got) == 1, f"{where}: expected exactly one alert, got {len(got)}")
            a = got[0]
            verify(ex, a.kind == "data_drift", f"{where}: the alert's kind should be 'data_drift', not {a.kind!r}")
            verify(ex, close(float(a.time), (d + 1) * DAY),
                   f"{where}: alert time {a.time!r}; an alert is raised at the end of the observed day, "
                   f"(day.day + 1) * 86400 = {(d + 1) * DAY:g} seconds")
            verify(ex, close(float(a.value), want),
                   f"{where}: the alert's value should be the number of columns above the threshold, {want}, "
                   f"not {a.value!r}")
        checks += 1
    # Live: level 2 of fraud_covid with the drift moved to day 10, for 24 days.
    start = 10.0
    try:
        run = simulator.run(short_drift_scenario(_spec(cls), at_day=start), days=24)
    except Exception as exc:  # a policy that does not import, or raised while the world ran
        verify(ex, False, f"running fraud_covid at level 2 with {_spec(cls)} failed: {exc} "
                          "(define the class at the top level of a notebook cell or a module)")
    alerts = np.sort(run.events.loc[run.events["kind"] == "alert", "day"].to_numpy(dtype=np.float64))
    daily = run.daily
    crossed = daily.loc[daily["drift_score"] > 0.2, "day"]
    preset_day = float(crossed.min()) + 1.0 if len(crossed) else float(run.summary["duration_days"]) + 1.0
    early = alerts[alerts <= start]
    verify(ex, len(early) == 0,
           f"on fraud_covid at level 2 with the drift moved to day {start:g}, your monitor alerted before the drift "
           f"started (event days {early.tolist()}): false alarms")
    verify(ex, len(alerts) > 0 and alerts[0] < preset_day,
           f"on fraud_covid at level 2 with the drift moved to day {start:g}, the preset's rule (largest PSI above "
           f"0.2) alerts on day {preset_day:g}; yours should alert before it, but "
           + (f"its first alert came on day {alerts[0]:g}" if len(alerts) else "it never alerted"))
    passed(ex, checks + 1)
