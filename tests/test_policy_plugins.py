"""User-written policies, named in a scenario as {policy: "module:Class", params: {...}}."""
from __future__ import annotations

import pytest
import yaml

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
