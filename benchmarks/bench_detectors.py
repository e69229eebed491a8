"""Drift detectors scored on fraud_covid's traffic, and on a year of the same traffic without drift.

The detectors of :mod:`simulator.detectors` watch the traffic store's days
directly, as the world's daily check does: once a simulated day, about 4,000
evenly spread rows of the day against 20,000 rows of the first model's
training window (the 90 days before the start), and the model's scores
against its scores on those rows. Each detector's alerts (at the end of the
day that fired) are scored with :func:`simulator.detector_scoring.scoreboard`
against the run's drift log, next to calendars that fire every 7 and 30 days:
detection delay, missed drifts, false alarms per simulated year.
The second run is the same scenario with ``drift: []``: every alert is false.

It also reports the confidence-based AUC estimate against the realised AUC
before and after the drift (a concept drift: the estimate should miss the
loss), the time of one ``FeatureDrift.check``, and river's detectors on the
daily largest PSI when river is importable (``pip install river``, or put a
copy on ``PYTHONPATH``).

    python benchmarks/bench_detectors.py                   # seed 42
    python benchmarks/bench_detectors.py --seeds 42 43 44  # more replications
"""
from __future__ import annotations

import argparse
import importlib.util
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulator.detector_scoring import periodic_baseline, scoreboard  # noqa: E402
from simulator.detectors import ConfidencePerformance, FeatureDrift, PredictionDrift, RiverDetector  # noqa: E402
from simulator.domains import make_domain  # noqa: E402
from simulator.drift import DriftSchedule  # noqa: E402
from simulator.rng import stream  # noqa: E402
from simulator.scenario import load_scenario  # noqa: E402
from simulator.store import TrafficStore  # noqa: E402
from simulator.traffic import DAY  # noqa: E402
from simulator.world import train_model  # noqa: E402

SCENARIO = ROOT / "scenarios" / "fraud_covid.yaml"
ROWS = 4000          # rows a day's check compares, as the world's
REFERENCE = 20_000   # reference rows, as the world keeps


def daily_signals(seed: int, drift: bool) -> tuple[pd.DataFrame, list, float, float]:
    """Per day: every column's PSI and p-value, prediction drift, estimated and realised AUC."""
    sc = load_scenario(SCENARIO, seed=seed) if drift else load_scenario(SCENARIO, seed=seed, drift=[])
    domain = make_domain(sc)
    schedule = DriftSchedule(domain.params, sc.drift)
    store = TrafficStore(sc, domain, schedule)
    model = train_model(store, domain, 0.0, sc.domain.train_window, 0.0, 1, stream(sc.seed, "train-initial"))
    rows = store.labelled(-sc.domain.train_window, 0.0)
    uniform = np.linspace(0, len(rows["label"]) - 1, REFERENCE).astype(np.int64)
    reference = {k: v[uniform] for k, v in rows.items()}
    ref_scores = model.scorer.score(store.features_of(rows, uniform))
    features = FeatureDrift(domain.drift_columns).fit(reference)
    scores_watch = PredictionDrift().fit(ref_scores)
    # The fraud model scores in log-odds, trained with its negatives weighted back: calibrated through expit.
    confidence = ConfidencePerformance(threshold=float(1 / (1 + np.exp(-model.scorer.threshold))),
                                       link="logit").fit(ref_scores)
    out, spent = [], 0.0
    for d in range(int(round(sc.duration / DAY))):
        day = store.day(d)
        subset = np.arange(len(day.times))[:: max(1, len(day.times) // ROWS)]
        today = {k: v[subset] for k, v in day.rows.items()}
        scores = model.scorer.score(store.features(d))
        t0 = time.thread_time()  # CPU time: the machine's other work does not count
        report = features.check(today)
        spent += time.thread_time() - t0
        pred = scores_watch.check(scores[subset])
        est = confidence.estimate(scores)
        real = domain.metrics(day.rows["label"], scores)["auc"]
        out.append({"day": d, **{f"psi:{c}": r.psi for c, r in report.columns.items()},
                    **{f"p:{c}": r.p_value for c, r in report.columns.items()},
                    "score_psi": pred.psi, "score_p": pred.p_value, "auc_estimated": est.auc, "auc_realised": real})
    return (pd.DataFrame(out), schedule.truth(domain.param_targets, sc.duration), sc.duration / DAY,
            spent / len(out) * 1000)


def detectors(sig: pd.DataFrame, reference_auc: float) -> dict[str, np.ndarray]:
    """Alert days of each detector: a check of day d that fires alerts at d + 1 (the day's end)."""
    psi = sig.filter(like="psi:").to_numpy()
    p = sig.filter(like="p:").to_numpy()
    m = p.shape[1]
    end = sig["day"].to_numpy() + 1.0
    rules = {
        "max PSI > 0.2 (the presets' monitor)": (psi > 0.2).any(axis=1),
        "test p < 0.01 per column": (p < 0.01).any(axis=1),
        "test p < 0.01 / m (Bonferroni)": (p < 0.01 / m).any(axis=1),
        "test p < 0.001 / m (Bonferroni)": (p < 0.001 / m).any(axis=1),
        "2+ columns p < 0.01 / m": ((p < 0.01 / m).sum(axis=1) >= 2),
        "2+ columns p < 0.001 / m": ((p < 0.001 / m).sum(axis=1) >= 2),
        "test and PSI > 0.1, p < 0.01 / m": ((p < 0.01 / m) & (psi > 0.1)).any(axis=1),
        "prediction drift p < 0.001": (sig["score_p"] < 0.001).to_numpy(),
        "estimated AUC drop > 0.02": (reference_auc - sig["auc_estimated"] > 0.02).to_numpy(),
    }
    out = {name: end[fired] for name, fired in rules.items()}
    if importlib.util.find_spec("river") is not None:
        # Daily series are short streams: the detectors' defaults are made for thousands of values.
        daily_max = psi.max(axis=1)
        surprise = -np.log10(np.clip(p.min(axis=1), 1e-300, 1.0))  # the day's smallest p-value, in digits
        for name, series, det in [
                ("river PageHinkley(threshold=0.5) on max PSI", daily_max,
                 RiverDetector("PageHinkley", min_instances=14, threshold=0.5)),
                ("river PageHinkley(threshold=20) on -log10 min p", surprise,
                 RiverDetector("PageHinkley", min_instances=14, threshold=20)),
                ("river ADWIN(clock=1) on max PSI", daily_max, RiverDetector("ADWIN", clock=1)),
                ("river KSWIN(window 60) on max PSI", daily_max,
                 RiverDetector("KSWIN", window_size=60, stat_size=20, alpha=0.001, seed=1))]:
            out[name] = np.asarray(det.run(series, times=end), dtype=np.float64)
    out["calendar, every 7 days"] = periodic_baseline(7, len(sig))
    out["calendar, every 30 days"] = periodic_baseline(30, len(sig))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42])
    args = parser.parse_args()
    print(f"{platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    pd.set_option("display.width", 220)
    pd.set_option("display.max_columns", 20)
    drifting, stable, checks = [], [], []
    for seed in args.seeds:
        sig, truth, duration, ms = daily_signals(seed, drift=True)
        checks.append(ms)
        start, end = truth[0]["start"] / DAY, truth[0]["end"] / DAY
        pre, post = sig[sig["day"] + 1 <= start], sig[sig["day"] >= end]
        reference_auc = float(pre["auc_estimated"].head(30).mean())
        alerts = detectors(sig, reference_auc)
        # The model is never retrained here, so after the drift every alert is about it: score up to its
        # end plus the grace, and count false alarms before its start (and over the stable year below).
        board = scoreboard({k: v[v <= end + 7] for k, v in alerts.items()}, truth, end + 7)
        board["false alarms before the drift"] = [int(np.sum(t < start)) for t in alerts.values()]
        board["in the 60 days before"] = [int(np.sum((t >= start - 60) & (t < start))) for t in alerts.values()]
        drifting.append(board)
        print(f"seed {seed}: AUC realised/estimated before the drift {pre['auc_realised'].mean():.3f}/"
              f"{pre['auc_estimated'].mean():.3f}, after it {post['auc_realised'].mean():.3f}/"
              f"{post['auc_estimated'].mean():.3f}")
        sig, truth, duration, ms = daily_signals(seed, drift=False)
        checks.append(ms)
        alerts = detectors(sig, float(sig["auc_estimated"].head(30).mean()))
        board = scoreboard(alerts, truth, duration)
        board["alarm days"] = [" ".join(f"{t:g}" for t in v[:6]) + (" ..." if len(v) > 6 else "")
                               for v in alerts.values()]
        stable.append(board)
    many = len(args.seeds) > 1
    worst = {"max_delay_days": "max", "in the 60 days before": "max"}

    def mean(boards: list[pd.DataFrame]) -> pd.DataFrame:
        """Means over the seeds (the worst seed for the largest delay and the alarms before the drift)."""
        if len(boards) == 1:
            return boards[0]
        both = pd.concat(boards).groupby(level=0, sort=False)
        return both.agg({c: worst.get(c, "mean") for c in boards[0].select_dtypes("number").columns})

    label = " (means; max delay and alarms in the 60 days before: the worst seed)" if many else ""
    print(f"\nfraud_covid, gradual drift from day 75 to 96; seeds {args.seeds}{label}")
    print(mean(drifting)[["detected", "mean_delay_days", "max_delay_days", "false alarms before the drift",
                          "in the 60 days before"]].round(2).to_string())
    print(f"\nfraud_covid with drift: [] (a stable year); seeds {args.seeds}" + (" (means)" if many else ""))
    cols = ["false_alarms_per_year"] + ([] if many else ["alarm days"])
    print(mean(stable)[cols].round(2).to_string())
    print(f"\nFeatureDrift.check, {ROWS} rows x 8 columns against {REFERENCE}: "
          f"{np.mean(checks):.2f} ms of CPU (mean over the days)")


if __name__ == "__main__":
    main()
