"""Release failures: each fault's effect, and how each level's practices catch it."""
from __future__ import annotations

import pytest
import yaml

import simulator
from conftest import ROOT

BAD_DEPLOY = ROOT / "scenarios" / "bad_deploy.yaml"


@pytest.fixture(scope="module")
def bad_deploy():
    return simulator.run(BAD_DEPLOY)


def run_with(tmp_path, fault, levels, days=14, **overrides):
    data = yaml.safe_load(BAD_DEPLOY.read_text())
    data["releases"] = [{"at": "2d", "fault": fault}]
    data["levels"] = levels
    for lvl, extra in overrides.items():
        merged = data["overrides"][int(lvl[1:])]
        for section, values in extra.items():
            merged.setdefault(section, {}).update(values)
    path = tmp_path / f"{fault}.yaml"
    path.write_text(yaml.safe_dump(data))
    return simulator.run(path, days=days)


def kinds(run, level):
    ev = run.events
    return ev[(ev.level == level) & (ev.kind != "scale")]


def test_a_missing_dependency_is_an_outage_only_without_health_checks(bad_deploy):
    s = bad_deploy.summary["levels"]
    assert s["0"]["downtime_minutes"] >= 8 * 60 and s["0"]["rollbacks"] == 1
    for n in ("1", "2", "3"):
        assert s[n]["downtime_minutes"] == 0 and s[n]["failed_deploys"] == 1 and s[n]["availability"] == 1.0
    ev = kinds(bad_deploy, 0)
    assert ev[ev.kind == "deploy_failed"].detail.str.contains("missing_dependency").all()


def test_level_3_ships_the_fixed_release_first(bad_deploy):
    ev = bad_deploy.events
    shipped = {n: ev[(ev.level == n) & (ev.kind == "deployed") & (ev.day > 0)].day.min() for n in range(4)}
    assert shipped[3] < shipped[2] < shipped[1] < shipped[0]


def test_silent_bad_predictions_last_until_complaints_at_level_0_and_never_pass_a_canary(tmp_path):
    run = run_with(tmp_path, "python_version_mismatch", [0, 3], days=26)
    ev0, ev3 = kinds(run, 0), kinds(run, 3)
    failed0 = ev0[ev0.kind == "deploy_failed"].day.iloc[0]
    live0 = ev0[ev0.kind == "deploy_started"].day.iloc[0]
    assert failed0 - live0 == pytest.approx(14, abs=0.01)  # level 0's silent_failure_detection
    assert ev3[ev3.kind == "deploy_failed"].detail.str.contains("canary scores differ").any()
    # While the broken build served, level 0's daily AUC stayed far below the healthy model's (0.99):
    # every day below the healthy level's worst day, and 0.85 or less on average (one day's AUC
    # rests on a few dozen frauds, so single days scatter by a few hundredths).
    daily = run.daily[(run.daily.level == 0) & (run.daily.day > live0 + 1) & (run.daily.day < failed0 - 1)]
    healthy = run.daily[(run.daily.level == 3) & (run.daily.day > 3)].auc
    assert healthy.min() > 0.95
    assert daily.auc.max() < healthy.min() - 0.05 and daily.auc.mean() < 0.85


def test_a_latency_regression_overloads_fixed_replicas_and_fails_a_canary(tmp_path):
    run = run_with(tmp_path, "latency_regression", [1, 3])
    assert run.summary["levels"]["1"]["downtime_minutes"] > 0
    assert run.summary["levels"]["3"]["downtime_minutes"] == 0
    assert kinds(run, 3).detail.str.contains("canary latency").any()
    assert kinds(run, 1).kind.isin(["rollback"]).any()


def test_an_exposed_secret_is_an_incident_unless_scanned(tmp_path):
    run = run_with(tmp_path, "exposed_secret", [1, 2], l1={"monitoring": {"security_detection": "3d"}})
    ev1, ev2 = kinds(run, 1), kinds(run, 2)
    assert (ev1.kind == "security_incident").sum() == 1
    assert run.summary["levels"]["1"]["cost"]["outage"] >= 25_000
    assert (ev2.kind == "security_incident").sum() == 0
    assert ev2.detail.str.contains("secret scanning").any()


def test_an_unknown_fault_name_is_bad_input(tmp_path):
    data = yaml.safe_load(BAD_DEPLOY.read_text())
    data["releases"] = [{"at": "2d", "fault": "missing_dependancy"}]
    path = tmp_path / "x.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(simulator.ScenarioError, match=r"releases\.0\.fault: .*did you mean 'missing_dependency'"):
        simulator.load_scenario(path)
