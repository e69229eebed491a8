"""User-written policies, named in a scenario as {policy: "module:Class", params: {...}}."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import simulator
from conftest import ROOT
from simulator.scenario import load_scenario
from test_bad_input import BASE, assert_one_line_error, run_scenario, write_scenario

PLUGINS = ROOT / "tests" / "plugins"
DAYS = 12


@pytest.fixture(autouse=True)
def _importable(monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGINS))


def _run(section: dict, level: int = 2, days: float = DAYS, **extra):
    sc = load_scenario(ROOT / "scenarios" / "fraud_covid.yaml", levels=[level], overrides={level: section}, **extra)
    return simulator.run(sc, days=days)


def test_a_policy_that_never_retrains_gives_no_retrains():
    run = _run({"retraining": {"policy": "student_policies:NeverAgain"}}, days=40)
    assert run.summary["levels"]["2"]["retrains"] == 0


def test_a_policy_that_retrains_daily_retrains_once_a_day_less_running_jobs():
    """Level 2's job takes 4 h and its release 4 h of lead time: each day's job is done by the next day.

    Days end at 1, 2, ..., 12; the job asked for at the end of the run has not finished.
    """
    run = _run({"retraining": {"policy": "student_policies:EveryDay"}})
    ev = run.events
    requested = ev[ev.kind == "retrain_requested"].day.tolist()
    assert requested == [float(d) for d in range(1, DAYS + 1)]
    assert run.summary["levels"]["2"]["retrains"] == DAYS - 1


def test_daily_requests_while_jobs_still_run_are_skipped():
    """With a 36 h job, every other day's request finds the pipeline busy and is dropped."""
    run = _run({"retraining": {"policy": "student_policies:EveryDay", "duration": "36h"},
                "deployment": {"lead_time": "1h"}})
    requested = run.events.query("kind == 'retrain_requested'").day.tolist()
    assert requested == [float(d) for d in range(1, DAYS + 1, 2)]


def test_a_policy_that_raises_stops_the_run_with_one_line_and_exit_1(tmp_path):
    data = yaml.safe_load(yaml.safe_dump(BASE))
    data["overrides"] = {2: {"retraining": {"policy": "student_policies:Boom", "params": {"day": 3}}}}
    data["levels"] = [0, 2]
    path = write_scenario(tmp_path, data)
    import shutil

    shutil.copy(PLUGINS / "student_policies.py", tmp_path / "student_policies.py")
    result = run_scenario(tmp_path, path, "--days", "5", real=True)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    line = lines[0]
    assert "student_policies:Boom" in line and "level 2" in line and "day 3.00" in line
    assert "ZeroDivisionError" in line
    assert not (tmp_path / "out").exists() and not (tmp_path / "results").exists()


def test_an_autoscaler_answering_nonsense_stops_the_run():
    with pytest.raises(simulator.RunFailure, match=r"HalfReplicas.desired_replicas returned 0.*level 3"):
        _run({"autoscaling": {"policy": "student_policies:HalfReplicas"}}, level=3, days=1)


@pytest.mark.parametrize(("spec", "problem"), [
    ("student_policies:Nope", "not a subclass"),
    ("no_such_module:Thing", "cannot import"),
    ("student_policies:Quiet", "not a subclass"),  # a monitoring policy named as retraining
    ("justaname", "module:Class"),
])
def test_a_policy_that_is_not_one_is_bad_input(tmp_path, spec, problem):
    data = yaml.safe_load(yaml.safe_dump(BASE))
    data["overrides"] = {3: {"retraining": {"policy": spec}}}
    path = write_scenario(tmp_path, data)
    assert_one_line_error(run_scenario(tmp_path, path), tmp_path, path=path, key="overrides.3.retraining.policy",
                          contains=(problem,))


def test_params_the_policy_does_not_take_are_bad_input(tmp_path):
    data = yaml.safe_load(yaml.safe_dump(BASE))
    data["overrides"] = {3: {"retraining": {"policy": "student_policies:Boom", "params": {"hour": 3}}}}
    path = write_scenario(tmp_path, data)
    assert_one_line_error(run_scenario(tmp_path, path), tmp_path, path=path, key="overrides.3.retraining.policy",
                          contains=("hour",))


def test_a_quiet_monitor_means_no_alerts_and_no_drift_retrains():
    run = _run({"monitoring": {"policy": "student_policies:Quiet"},
                "retraining": {"trigger": "alert", "every": "7d"}}, level=3, days=120)
    ev = run.events
    assert (ev.kind == "alert").sum() == 0 and (ev.kind == "retrain_requested").sum() == 0


def test_the_batched_autoscaler_decides_as_the_rule_asked_check_by_check():
    """Level 3's built-in rule is answered a stretch at a time; asked one check at a time, nothing changes."""
    rule = {"policy": "student_policies:AskedEachTime",
            "params": {"target": 0.6, "min_replicas": 2, "max_replicas": 64, "tolerance": 0.1}}
    path = ROOT / "scenarios" / "load_spike.yaml"
    batched = simulator.run(load_scenario(path, levels=[3]))
    asked = simulator.run(load_scenario(path, levels=[3], overrides={3: {"autoscaling": rule}}))
    scaled = batched.events.query("kind == 'scale'")
    assert len(scaled) >= 4  # the rush is scaled out and back in
    pd.testing.assert_frame_equal(batched.events, asked.events)
    pd.testing.assert_frame_equal(batched.timeseries, asked.timeseries)
    assert batched.summary["levels"]["3"]["cost"] == asked.summary["levels"]["3"]["cost"]


@settings(max_examples=200, deadline=None)
@given(loads=st.lists(st.floats(min_value=0, max_value=3, allow_nan=False), min_size=1, max_size=20),
       replicas=st.integers(min_value=1, max_value=100), target=st.floats(min_value=0.1, max_value=0.95),
       tolerance=st.sampled_from([0.0, 0.1, 0.25]), mean=st.sampled_from([0.005, 0.02, 0.03, 0.1]))
def test_target_utilisation_answers_many_checks_as_it_answers_each(loads, replicas, target, tolerance, mean):
    """Loads are multiples of the current pool's target load, so the tolerance band is often hit."""
    from simulator.policies import TargetUtilisation, WorldView

    rule = TargetUtilisation(target, 2, 64, tolerance)
    rates = [x * replicas * target / mean for x in loads]
    each = [rule.desired_replicas(WorldView(0.0, 0.0, float("nan"), None, False, replicas, r, mean)) for r in rates]
    assert rule.desired_for_rates(np.array(rates), replicas, mean).tolist() == each
