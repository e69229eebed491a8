"""The engine's contracts: determinism, shared traffic, bounded work, no peeking, atomic output."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import simulator
from conftest import FRAUD, ROOT
from simulator.domains.fraud import FraudDomain
from simulator.drift import DriftSchedule
from simulator.rng import stream
from simulator.store import TrafficStore
from simulator.world import train_model


@pytest.fixture(scope="module")
def short_run():
    return simulator.run(FRAUD, days=3)


def cli_run(tmp_path, name, *extra):
    out = tmp_path / name
    subprocess.run([sys.executable, "-m", "simulator", "run", str(FRAUD), "--quiet", "--out", str(out), *extra],
                   check=True, cwd=ROOT, capture_output=True)
    return out


def test_same_seed_twice_gives_byte_identical_summary(tmp_path):
    a = cli_run(tmp_path, "a", "--days", "20")
    b = cli_run(tmp_path, "b", "--days", "20")
    assert (a / "summary.json").read_bytes() == (b / "summary.json").read_bytes()
    assert (a / "timeseries.csv").read_bytes() == (b / "timeseries.csv").read_bytes()
    assert (a / "events.csv").read_bytes() == (b / "events.csv").read_bytes()


def test_another_seed_gives_other_traffic(short_run):
    other = simulator.run(FRAUD, days=3, seed=7)
    assert other.summary["levels"]["0"]["requests"] != short_run.summary["levels"]["0"]["requests"]


def test_run_folder_has_every_file(tmp_path):
    out = cli_run(tmp_path, "run", "--days", "2", "--levels", "0,3")
    assert sorted(p.name for p in out.iterdir()) == ["events.csv", "manifest.json", "plots", "summary.json",
                                                     "timeseries.csv"]
    assert sorted(p.name for p in (out / "plots").iterdir()) == ["cost.png", "model_metric.png"]
    ts = pd.read_csv(out / "timeseries.csv")
    for col in ("day", "level", "requests", "failed_requests", "latency_p99_ms", "replicas", "model_version",
                "model_metric", "drift_score", "cost_cumulative"):
        assert col in ts.columns
    assert sorted(ts.level.unique()) == [0, 3] and len(ts) == 2 * 2 * 24


def test_api_returns_frames_with_a_level_column_and_figures(short_run):
    assert sorted(short_run.timeseries.level.unique()) == [0, 1, 2, 3]
    assert list(short_run.events.columns[:3]) == ["day", "level", "kind"]
    assert isinstance(short_run.plot_metric(), Figure) and isinstance(short_run.plot_cost(), Figure)
    assert list(short_run.cost_table().columns) == [0, 1, 2, 3]


def test_levels_see_the_same_traffic(short_run):
    requests = {s["requests"] for s in short_run.summary["levels"].values()}
    assert len(requests) == 1


def test_scored_sample_does_not_grow_with_the_traffic_rate():
    sc = simulator.load_scenario(FRAUD)
    fast = sc.model_copy(update={"traffic": sc.traffic.model_copy(update={"rate": sc.traffic.rate * 1000})})
    days = []
    for s in (sc, fast):
        d = FraudDomain(s.domain.params)
        days.append(TrafficStore(s, d, DriftSchedule(d.params, s.drift)).day(3))
    assert len(days[0].times) == len(days[1].times) == sc.traffic.sample_per_day
    assert days[1].arrivals.sum() / days[0].arrivals.sum() == pytest.approx(1000, rel=0.01)
    # Each row stands for its share of the real volume.
    assert days[1].weights.sum() == pytest.approx(days[1].arrivals.sum(), rel=0.02)


def test_retraining_never_sees_labels_that_have_not_arrived():
    sc = simulator.load_scenario(FRAUD)
    d = FraudDomain(sc.domain.params)
    store = TrafficStore(sc, d, DriftSchedule(d.params, sc.drift))
    now = 100 * 86400.0
    data_end = now - sc.domain.label_delay.earliest
    first = train_model(store, d, data_end, 30 * 86400.0, now, 2, stream(1, "t"))
    # Flip every label after the cut-off: a model that peeked would change.
    for day in range(int(data_end // 86400), 101):
        rows = store.day(day)
        late = rows.times >= data_end
        rows.rows["label"][late] = 1 - rows.rows["label"][late]
    second = train_model(store, d, data_end, 30 * 86400.0, now, 2, stream(1, "t"))
    assert np.array_equal(first.scorer.weights, second.scorer.weights)
    assert first.data_end == data_end <= now - sc.domain.label_delay.earliest


def test_an_interrupted_write_leaves_nothing(tmp_path, short_run, monkeypatch):
    from simulator.output import write_results

    def broken():
        raise RuntimeError("disk full")

    monkeypatch.setattr(short_run, "plot_cost", broken)
    with pytest.raises(RuntimeError):
        write_results(short_run, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_shorter_runs_drop_events_after_their_end():
    sc = simulator.prepare(FRAUD, days=10)
    assert sc.drift == [] and sc.traffic.spikes == [] and sc.duration == 10 * 86400.0


def test_serial_and_parallel_runs_agree():
    sc = simulator.prepare(FRAUD, days=30)
    serial = simulator.simulate(sc, workers=1)
    parallel = simulator.simulate(sc, workers=2)
    assert serial.summary == parallel.summary
    pd.testing.assert_frame_equal(serial.timeseries, parallel.timeseries)
    pd.testing.assert_frame_equal(serial.events, parallel.events)


def _forked_level_2(policy: str, monkeypatch):
    """Levels 2 and 3 on two processes: level 3 stays here, level 2 runs in the forked one."""
    monkeypatch.syspath_prepend(str(ROOT / "tests" / "plugins"))
    sc = simulator.load_scenario(FRAUD, levels=[2, 3], overrides={2: {"retraining": {"policy": policy}}})
    return simulator.prepare(sc, days=4)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="levels run in forked processes on Linux only")
def test_a_failure_in_the_forked_process_is_raised_here(monkeypatch):
    from simulator.engine import _split

    assert _split([2, 3], 2) == [[3], [2]]
    with pytest.raises(simulator.RunFailure, match=r"student_policies:Boom.*level 2, simulated day 3.00"):
        simulator.simulate(_forked_level_2("student_policies:Boom", monkeypatch), workers=2)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="levels run in forked processes on Linux only")
def test_a_worker_process_that_dies_is_an_error_not_a_hang(monkeypatch):
    with pytest.raises(RuntimeError, match=r"a worker process died \(exit status 3\)"):
        simulator.simulate(_forked_level_2("student_policies:Vanish", monkeypatch), workers=2)
