"""Experiments: replications with 95% intervals, sweeps over a grid, and backends that agree.

Runs are kept small (two or three simulated days, two levels) except the
fraud_covid check, which needs the drift and its aftermath (see its docstring).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

import simulator
from conftest import FRAUD, ROOT
from simulator.experiments import (combine_summaries, expand_grid, interval, replicate, replication_seeds,
                                   run_grid)
from test_bad_input import run_cli as cli  # python -m simulator ARGS in this process, run in tmp_path

SPIKE = ROOT / "scenarios" / "load_spike.yaml"
# A 2 x 2 grid touching both kinds of key: a scenario key and a level setting.
GRID = ["--param", "traffic.rate=100/s,140/s", "--param", "autoscaling.target=0.5,0.7"]


def numeric_leaves(tree, path=()):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from numeric_leaves(value, (*path, key))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            yield (*path, key), value


def at(tree, path):
    for key in path:
        tree = tree[key]
    return tree


# --- seeds and intervals ---------------------------------------------------------


def test_seeds_are_the_scenario_seed_then_spawned_children_deterministic_and_nested():
    seeds = replication_seeds(42, 10)
    assert seeds[0] == 42 and len(set(seeds)) == 10
    assert seeds == replication_seeds(42, 10) and replication_seeds(42, 4) == seeds[:4]
    children = np.random.SeedSequence(42).spawn(9)
    assert seeds[1:] == [int(c.generate_state(1, dtype=np.uint32)[0]) for c in children]
    assert replication_seeds(43, 3)[1:] != seeds[1:3]


def test_interval_is_the_student_t_interval():
    xs = [3.1, 2.7, 4.4, 3.9, 3.3, 2.2]
    lo, hi = stats.t.interval(0.95, len(xs) - 1, loc=np.mean(xs), scale=stats.sem(xs))
    got = interval(xs)
    assert got["mean"] == pytest.approx(np.mean(xs), rel=1e-5)
    assert got["lo"] == pytest.approx(lo, rel=1e-5) and got["hi"] == pytest.approx(hi, rel=1e-5)
    assert interval([None, float("nan")]) == {"mean": None, "lo": None, "hi": None}


def test_combining_keeps_nesting_text_and_flags_and_skips_missing_figures():
    a = {"name": "Manual", "availability": 0.99, "deploy_lead_time_hours": None, "retrains": 1,
         "model": {"metric": "auc", "higher_is_better": True, "post_drift": 0.8}}
    b = {"name": "Manual", "availability": 0.97, "deploy_lead_time_hours": 5.0, "retrains": 3,
         "model": {"metric": "auc", "higher_is_better": True, "post_drift": None}}
    out = combine_summaries([a, b])
    assert out["name"] == "Manual" and out["model"]["metric"] == "auc" and out["model"]["higher_is_better"] is True
    assert out["availability"]["mean"] == pytest.approx(0.98) and out["availability"]["lo"] < 0.97
    assert out["retrains"]["mean"] == 2.0
    assert out["deploy_lead_time_hours"] == {"mean": 5.0, "lo": None, "hi": None}
    assert out["model"]["post_drift"] == {"mean": 0.8, "lo": None, "hi": None}


# --- replications ------------------------------------------------------------------


def test_replications_add_a_section_beside_levels_and_keep_levels_as_a_plain_run(tmp_path):
    args = ["--days", "2", "--levels", "0,3", "--quiet"]
    assert cli(tmp_path, "run", str(FRAUD), "--out", "plain", *args).returncode == 0
    done = cli(tmp_path, "run", str(FRAUD), "--out", "reps", "--replications", "3", "--backend", "serial", *args)
    assert done.returncode == 0, done.stderr
    plain = json.loads((tmp_path / "plain" / "summary.json").read_text())
    reps = json.loads((tmp_path / "reps" / "summary.json").read_text())
    # Replication 0 is the scenario's own seed: existing readers of `levels` see a plain run.
    assert reps["levels"] == plain["levels"] and reps["seed"] == plain["seed"] == 42
    assert reps["replication_seeds"] == replication_seeds(42, 3) and reps["confidence"] == 0.95
    assert list(reps["replications"]) == list(reps["levels"]) == ["0", "3"]
    for lvl, summary in reps["levels"].items():
        combined = reps["replications"][lvl]
        assert combined["name"] == summary["name"] and combined["model"]["metric"] == summary["model"]["metric"]
        leaves = dict(numeric_leaves(summary))
        assert ("cost", "total") in leaves and ("latency_ms", "p99") in leaves
        for path in leaves:
            figure = at(combined, path)
            assert set(figure) == {"mean", "lo", "hi"}, path
            assert figure["lo"] <= figure["mean"] <= figure["hi"], (path, figure)
    # Traffic differs between seeds, and every level of one seed sees the same requests.
    requests = reps["replications"]["0"]["requests"]
    assert requests["lo"] < requests["hi"] and requests == reps["replications"]["3"]["requests"]
    # The time series and events are replication 0's too.
    assert (tmp_path / "reps" / "timeseries.csv").read_bytes() == (tmp_path / "plain" / "timeseries.csv").read_bytes()


def test_the_table_shows_mean_plus_or_minus_half_the_interval(tmp_path):
    done = cli(tmp_path, "run", str(FRAUD), "--out", "out", "--days", "2", "--levels", "3", "--replications", "2",
               "--backend", "serial")
    assert done.returncode == 0, done.stderr
    assert "2 replications" in done.stdout and "±" in done.stdout and "cost: total" in done.stdout


def test_fraud_covid_level_3_cost_interval_lies_wholly_below_level_0s():
    """``--replications 10`` on fraud_covid: level 3's 95% cost interval lies wholly below level 0's.

    The full year of four levels ten times over takes minutes, so this runs the
    two levels the claim is about over the first 150 days. That still holds
    the story's cause: the drift (day 75 to 96) and its aftermath, when level 0
    serves the stale model and level 3 retrains on the drifted traffic as soon
    as its chargebacks arrive (45 days on). It leaves out what else makes level
    0 dearer over the year (its stale model until its calendar retrain after
    day 222, and its outage on Black Friday, day 331), so the claim is harder
    here than over the year. With these seeds the intervals first part near
    day 140; at day 150 they are about $85M apart (half-widths about $9M and
    $7M), and over the full year about $570M. About 75 s of CPU: some 40 s on
    two otherwise idle cores.
    Same seeds as ``run scenarios/fraud_covid.yaml --replications 10``.
    """
    cmp = replicate(FRAUD, 10, levels=[0, 3], days=150, backend="joblib")
    cost = {lvl: cmp.summary["replications"][lvl]["cost"]["total"] for lvl in ("0", "3")}
    assert cost["3"]["hi"] < cost["0"]["lo"], cost
    assert cmp.summary["replication_seeds"] == replication_seeds(42, 10)


# --- sweeps ------------------------------------------------------------------------


def test_grid_sets_level_settings_at_every_level_merged_with_the_overrides(tmp_path):
    data = yaml.safe_load(SPIKE.read_text())
    data["overrides"] = {3: {"retraining": {"trigger": "drift"}}}
    path = tmp_path / "spike.yaml"
    path.write_text(yaml.safe_dump(data))
    grid = expand_grid(path, ["retraining.every=7d,30d", "serving.replicas=2,4,8"], levels=[0, 3], days=2)
    assert [p.params for p in grid[:2]] == [{"retraining.every": "7d", "serving.replicas": "2"},
                                             {"retraining.every": "7d", "serving.replicas": "4"}]
    assert len(grid) == 6
    last = grid[-1].scenario
    assert last.serving.replicas == 8 and last.duration == 2 * 86400.0 and last.levels == [0, 3]
    assert last.overrides[0] == {"retraining": {"every": "30d"}}
    assert last.overrides[3] == {"retraining": {"trigger": "drift", "every": "30d"}}
    configs = simulator.levels.resolve_levels(last)
    assert configs[0].retraining.every == configs[3].retraining.every == 30 * 86400.0
    assert configs[3].retraining.trigger == "drift"
    rated = expand_grid(FRAUD, {"traffic.rate": ["50/s", "3000/m", "1.2e6/h"], "drift.0.at": ["60d"]})
    assert [p.scenario.traffic.rate for p in rated] == [50.0, 50.0, pytest.approx(1.2e6 / 3600)]
    assert rated[0].scenario.drift[0].at == 60 * 86400.0


def test_sweep_csv_is_byte_identical_from_serial_joblib_and_dask(tmp_path):
    args = [str(SPIKE), *GRID, "--levels", "0,3", "--days", "2", "--quiet"]
    csv = {}
    for backend in ("serial", "joblib", "dask"):
        done = cli(tmp_path, "sweep", *args, "--backend", backend, "--out", backend)
        assert done.returncode == 0, done.stderr
        csv[backend] = (tmp_path / backend / "sweep.csv").read_bytes()
    assert csv["serial"] == csv["joblib"] == csv["dask"]
    frame = pd.read_csv(tmp_path / "serial" / "sweep.csv")
    assert len(frame) == 2 * 2 * 2
    assert list(frame.columns[:4]) == ["traffic.rate", "autoscaling.target", "level", "level_name"]
    for col in ("cost_model_errors", "cost_outage", "cost_infrastructure", "cost_people", "cost_total",
                "availability", "latency_p99_ms", "model_mean", "model_pre_drift", "model_post_drift", "retrains",
                "deploys", "incidents", "downtime_minutes"):
        assert col in frame.columns
    # The grid changes the numbers: more traffic means more requests and more cost.
    by_rate = frame.groupby("traffic.rate")["cost_total"].sum()
    assert by_rate["140/s"] > by_rate["100/s"]
    # Each row is what a plain run at that point gives.
    point = simulator.run(SPIKE, levels=[0, 3], days=2)
    row = frame[(frame["traffic.rate"] == "100/s") & (frame["level"] == 0)].iloc[0]
    assert row["cost_total"] == point.summary["levels"]["0"]["cost"]["total"]


def test_dask_runs_on_a_cluster_named_by_its_scheduler_address(tmp_path):
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        grid = expand_grid(FRAUD, ["retraining.every=7d,30d"], levels=[3], days=2)
        remote = run_grid(grid, replications=2, backend="dask", scheduler=cluster.scheduler_address)
    local = run_grid(grid, replications=2, backend="serial")
    pd.testing.assert_frame_equal(remote, local)
    assert "cost_total_mean" in local.columns and "cost_total_hi" in local.columns
    assert (local["cost_total_lo"] <= local["cost_total_mean"]).all()


def test_sweep_with_replications_reports_means_and_intervals(tmp_path):
    done = cli(tmp_path, "sweep", str(FRAUD), "--param", "monitoring.drift_threshold=0.1,0.3", "--levels", "3",
               "--days", "2", "--replications", "2", "--backend", "serial", "--out", "out")
    assert done.returncode == 0, done.stderr
    frame = pd.read_csv(tmp_path / "out" / "sweep.csv")
    assert len(frame) == 2 and {"cost_total_mean", "cost_total_lo", "cost_total_hi"} <= set(frame.columns)
    assert "±" in done.stdout
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["replications"] == 2 and manifest["points"] == 2


# --- bad input: one line naming the file and the key, exit 2, nothing written -----------


BAD = {
    "level-setting-typo": (["--param", "retraining.evry=7d"], "retraining.evry", "did you mean 'every'"),
    "level-setting-bad-value": (["--param", "retraining.every=7d,7x"], "retraining.every", "7x"),
    "scenario-key-typo": (["--param", "serving.replica=2"], "serving.replica", "did you mean 'replicas'"),
    "unknown-section": (["--param", "servng.replicas=2"], "servng.replicas", "did you mean 'serving'"),
    "bad-scenario-value": (["--param", "serving.replicas=2,0"], "serving.replicas", "'0'"),
    "bad-rate": (["--param", "traffic.rate=50/s,fast"], "traffic.rate", "fast"),
    "no-such-list-item": (["--param", "drift.3.at=10d"], "drift.3.at", "no item"),
    "not-key-equals-values": (["--param", "serving.replicas"], "--param", "KEY=V1,V2"),
    "empty-value": (["--param", "serving.replicas=2,"], "serving.replicas", "empty value"),
    "malformed-yaml-value": (["--param", "serving.replicas=["], "serving.replicas", "malformed YAML"),
    "key-twice": (["--param", "serving.replicas=2", "--param", "serving.replicas=4"], "serving.replicas", "twice"),
    "no-param": ([], "--param", "at least one"),
    "scheduler-without-dask": (["--param", "serving.replicas=2", "--backend", "serial", "--scheduler",
                                "tcp://127.0.0.1:1"], "--scheduler", "dask"),
    "zero-replications": (["--param", "serving.replicas=2", "--replications", "0"], "--replications", "at least 1"),
}


@pytest.mark.parametrize("extra, key, text", BAD.values(), ids=BAD.keys())
def test_bad_sweep_is_one_line_exit_2_and_writes_nothing(tmp_path, extra, key, text):
    done = cli(tmp_path, "sweep", str(FRAUD), "--days", "2", "--out", "out", "--quiet", *extra)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert str(FRAUD) in lines[0] and f" {key}: " in lines[0] and text in lines[0], lines[0]
    assert not (tmp_path / "out").exists() and not (tmp_path / "results").exists()


def test_bad_replications_on_run_is_one_line_exit_2(tmp_path):
    done = cli(tmp_path, "run", str(FRAUD), "--days", "2", "--out", "out", "--replications", "0")
    assert done.returncode == 2 and "--replications" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_real_entry_point_runs_a_sweep(tmp_path):
    done = subprocess.run([sys.executable, "-m", "simulator", "sweep", str(FRAUD), "--param", "serving.replicas=3,4",
                           "--levels", "0", "--days", "1", "--backend", "serial", "--quiet",
                           "--out", str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert pd.read_csv(tmp_path / "out" / "sweep.csv")["serving.replicas"].tolist() == [3, 4]
