"""The traffic store's spill folder: days read back exactly, memory bounded, the folder always removed."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import fields

import numpy as np
import pandas as pd
import pytest

import simulator
from conftest import FRAUD, ROOT
from simulator.domains.fraud import FraudDomain
from simulator.drift import DriftSchedule
from simulator.engine import Setup, run_levels
from simulator.spill import PREFIX, SpillFolder, remove_stale_spills
from simulator.store import Day, TrafficStore

# Random label delays and a share never labelled: every field of a day is set, and the level-3
# monitor reads days weeks old as their labels come in.
CHARGEBACKS = {"kind": "fraud", "params": {"fraud_rate": 0.005}, "train_window": "30d",
               "label_delay": {"dist": "uniform", "low": "5d", "high": "15d"}, "label_share": 0.6}


@pytest.fixture(autouse=True)
def own_tempdir(tmp_path, monkeypatch):
    """Spill folders go to this test's own folder, away from any other run on the machine."""
    spills = tmp_path / "tmp"
    spills.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spills))
    return spills


def _scenario(days: float, sample: int = 600, **replace):
    sc = simulator.load_scenario(FRAUD, domain=CHARGEBACKS, **replace)
    sc = sc.model_copy(update={"traffic": sc.traffic.model_copy(update={"sample_per_day": sample})})
    return simulator.prepare(sc, days=days)


def _store(sc, **kwargs) -> TrafficStore:
    d = FraudDomain(sc.domain.params)
    return TrafficStore(sc, d, DriftSchedule(d.params, sc.drift), **kwargs)


def _spills(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(PREFIX))


def _assert_same_day(a: Day, b: Day) -> None:
    for f in fields(Day):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name in ("rows", "cost_rows"):
            assert list(x) == list(y)
            for k in x:
                assert x[k].dtype == y[k].dtype and np.array_equal(x[k], y[k]), k
        elif isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y), f.name
        else:
            assert x == y, f.name


@pytest.mark.parametrize("domain", [CHARGEBACKS, None], ids=["random-labels", "fixed-delay"])
def test_days_read_back_from_the_folder_equal_the_generated_ones(domain):
    sc = _scenario(20) if domain else simulator.prepare(simulator.load_scenario(FRAUD), days=20)
    with _store(sc, keep_days=1) as spilled, _store(sc) as fresh:
        days = range(-3, 5)
        first = [spilled.day(d) for d in days]  # each pushes the one before out of memory
        assert spilled.days_in_memory == 1
        for d, made in zip(days, first):
            again = spilled.day(d)
            assert again is not made  # read back from the folder, not held
            _assert_same_day(again, made)
            _assert_same_day(again, fresh._generate(d))
        assert (again.label_at is None) == (domain is None)
        # Days of the run carry their cost stratum (fraud), spilled and read back like the rest.
        assert again.cost_candidates == 4 * len(again.times) and len(again.cost_rows["amount"]) > 0
        assert spilled.day(-3).cost_candidates == 0 and not spilled.day(-3).cost_rows  # history: never costed


def test_spill_files_keep_dtypes_shapes_and_values(tmp_path):
    arrays = {"f8": np.linspace(0, 1, 7), "f4": np.arange(5, dtype=np.float32) / 3,
              "i2": np.array([-3, 0, 32767], dtype=np.int16), "b": np.array([True, False, True]),
              "two_d": np.arange(12, dtype=np.int64).reshape(3, 4), "empty": np.zeros(0, dtype=np.float64),
              "strided": np.arange(20.0)[::3]}
    with SpillFolder(tmp_path) as folder:
        folder.write("set", arrays)
        back = folder.read("set")
        assert list(back) == list(arrays)
        for k, v in arrays.items():
            assert back[k].dtype == v.dtype and back[k].shape == v.shape and np.array_equal(back[k], v), k
            assert back[k].flags.writeable
        assert folder.read("missing") is None
        many = {f"a{i}": np.full(i % 5, i, dtype=np.int16) for i in range(600)}  # past one writev's pieces
        folder.write("many", many)
        back = folder.read("many")
        assert list(back) == list(many) and all(np.array_equal(back[k], v) for k, v in many.items())
        with pytest.raises(TypeError, match="Python objects"):
            folder.write("objects", {"o": np.array(["a", None], dtype=object)})
    assert not folder.path.exists()


def test_days_in_memory_stay_bounded_as_a_run_goes_on_and_results_do_not_change():
    sc = _scenario(45, levels=[2, 3])
    held = []
    with Setup.of(sc) as setup:
        setup.store.keep_days = 3  # far fewer than the run's days or its retraining window
        tight = run_levels(sc, [2, 3], lambda done, total: held.append(setup.store.days_in_memory), setup=setup)
        spilled = len([p for p in setup.store.spill.path.iterdir() if p.name.startswith("day")])
    assert len(held) == 45 and max(held) <= 3
    assert spilled >= 45 + 30  # every day of the run and of the first model's window went to disk
    roomy = run_levels(sc, [2, 3])  # the default: a run's recent days all in memory
    for a, b in zip(tight, roomy, strict=True):
        assert a.summary == b.summary and a.events == b.events and a.daily == b.daily
        pd.testing.assert_frame_equal(a.timeseries, b.timeseries)
    assert any(r.summary["retrains"] > 0 for r in tight)


@pytest.mark.parametrize("workers", [1, 2])
def test_the_spill_folder_is_there_while_a_run_goes_and_gone_after(own_tempdir, workers):
    seen = []
    simulator.simulate(_scenario(6), workers=workers, progress=lambda done, total: seen.append(_spills(own_tempdir)))
    assert seen and all(len(names) == 1 and names[0].startswith(f"{PREFIX}{os.getpid()}-") for names in seen)
    assert _spills(own_tempdir) == []


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_the_spill_folder_is_gone_after_a_run_that_fails(own_tempdir, workers, error):
    def progress(done, total):
        assert len(_spills(own_tempdir)) == 1
        if done >= 2:
            raise error("stop here")

    with pytest.raises(error, match="stop here"):
        simulator.simulate(_scenario(6), workers=workers, progress=progress)
    assert _spills(own_tempdir) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked processes on Linux only")
def test_a_forked_process_shares_the_folder_and_does_not_remove_it():
    from simulator.forking import Forked

    with _store(_scenario(10)) as store:
        Forked(lambda: (store.make(range(0, 4)), store.close()))()  # made there, closed there
        assert store.spill.path.exists()
        assert store.days_in_memory == 0
        made_there = store.day(2)
        _assert_same_day(made_there, store._generate(2))
    assert not store.spill.path.exists()


def test_remove_stale_spills_removes_a_killed_runs_folder_and_leaves_a_live_ones(own_tempdir):
    # A process that makes a spill folder, then dies by SIGKILL: it cannot clean up.
    # The module alone, not the package: the child starts in a fraction of a second.
    code = ("import importlib.util, os, signal, sys\n"
            f"spec = importlib.util.spec_from_file_location('spill', {str(ROOT / 'simulator' / 'spill.py')!r})\n"
            "spill = importlib.util.module_from_spec(spec); spec.loader.exec_module(spill)\n"
            "folder = spill.SpillFolder()\n(folder.path / 'day+00001').write_bytes(b'x')\n"
            "os.kill(os.getpid(), signal.SIGKILL)\n")
    env = {**os.environ, "TMPDIR": str(own_tempdir)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    (dead,) = _spills(own_tempdir)
    live = SpillFolder()  # this process's: alive
    other = own_tempdir / "mlops-lab-spill-notapid-x"  # not named by a pid: not ours to judge
    other.mkdir()
    unrelated = own_tempdir / "something-else-1"
    unrelated.mkdir()
    removed = remove_stale_spills()
    assert [p.name for p in removed] == [dead]
    assert not (own_tempdir / dead).exists()
    assert live.path.exists() and other.exists() and unrelated.exists()
    assert remove_stale_spills(own_tempdir) == []
    live.close()
    assert not live.path.exists()


def _sample(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"amount": rng.random(50).astype(np.float32), "hour": rng.integers(0, 24, 50).astype(np.int16)}


def _version(number: int, sample: dict[str, np.ndarray]):
    from simulator.registry import ModelVersion, ReferenceSample

    return ModelVersion(number, 0.0, 0.0, 1.0, 50, None, 0.5, None, None,
                        ReferenceSample({k: v.copy() for k, v in sample.items()}))


def test_a_registry_keeps_only_its_newest_sample_in_memory_and_reads_the_others_back(tmp_path):
    from simulator.registry import ModelRegistry

    with SpillFolder(tmp_path) as folder:
        originals = {n: _sample(n) for n in range(1, 7)}
        first = _version(1, originals[1])  # the first model is shared by the levels of a process
        a, b = ModelRegistry(spill=folder, tag="L0"), ModelRegistry(spill=folder, tag="L1")
        a.add(first), b.add(first)
        for n in range(2, 7):
            a.add(_version(n, originals[n]))
            assert [v.reference_rows.in_memory for v in a.versions] == [False] * (n - 1) + [True]
        b.add(_version(2, _sample(99)))
        assert sorted(p.name for p in folder.path.iterdir()) == [f"ref-L0-v{n}" for n in range(1, 6)]
        for v in a.versions:  # any of them may go live again (a rollback): the same to the bit
            back = v.reference_rows.rows()
            assert list(back) == list(originals[v.version])
            for k, x in originals[v.version].items():
                assert back[k].dtype == x.dtype and np.array_equal(back[k], x), (v.version, k)
        assert np.array_equal(b.versions[0].reference_rows.rows()["amount"], originals[1]["amount"])


def test_after_many_retrains_and_a_rollback_one_sample_per_level_stays_in_memory(monkeypatch):
    import simulator.world as world_module
    from simulator.detectors import FeatureDrift
    from simulator.results import LevelResult

    # Level 0 retrains every other day, ships straight to production with one build in three broken, and
    # tests its inputs with the two-sample test, so a rollback refits the test to a spilled sample.
    sc = _scenario(16, levels=[0], overrides={0: {
        "retraining": {"trigger": "schedule", "every": "2d", "human_delay": 0, "duration": "1h"},
        "deployment": {"strategy": "direct", "failure_rate": 0.2, "health_checks": False, "lead_time": "1h"},
        "monitoring": {"drift": True, "drift_test": "ks_chi2", "silent_failure_detection": "1d"}}})
    trained, fitted, worlds, read = {}, [], [], []
    train, fit, from_world, read_set = world_module.train_model, FeatureDrift.fit, LevelResult.from_world, SpillFolder.read

    def recording_train(*args, **kwargs):
        model = train(*args, **kwargs)
        trained[model.version] = {k: v.copy() for k, v in model.reference_rows.rows().items()}
        return model

    def recording_fit(self, rows):
        fitted.append({k: np.array(v) for k, v in rows.items()})
        return fit(self, rows)

    def keep_world(world, schedule):
        worlds.append(world)
        return from_world(world, schedule)

    monkeypatch.setattr(world_module, "train_model", recording_train)
    monkeypatch.setattr(FeatureDrift, "fit", recording_fit)
    def recording_read(self, name):
        read.append(name)
        return read_set(self, name)

    monkeypatch.setattr(LevelResult, "from_world", keep_world)
    monkeypatch.setattr(SpillFolder, "read", recording_read)
    with Setup.of(sc) as setup:
        trained[1] = {k: v.copy() for k, v in setup.train_initial().reference_rows.rows().items()}
        run_levels(sc, [0], setup=setup)
        (world,) = worlds
        versions = world.registry.versions
        assert len(versions) >= 6
        assert [v.version for v in versions if v.reference_rows.in_memory] == [versions[-1].version]
        assert world.events.count("rollback") > 0
        assert any(name.startswith("ref-L0-v") for name in read)  # a rollback refitted the test from disk
        for v in versions:
            back = v.reference_rows.rows()
            assert all(back[k].dtype == x.dtype and np.array_equal(back[k], x) for k, x in trained[v.version].items())
    # Every sample the drift test was fitted to is one a version was trained with, rolled-back-to ones included.
    assert len(fitted) > len(versions) // 2
    for rows in fitted:
        assert any(all(np.array_equal(rows[k], x) for k, x in t.items()) for t in trained.values())
