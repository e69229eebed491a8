"""Replica crashes against the renewal closed form, and the switch that turns random failures off."""
from __future__ import annotations

import numpy as np
import yaml

import simulator
from conftest import ROOT

BAD_DEPLOY = ROOT / "scenarios" / "bad_deploy.yaml"


def scenario(tmp_path, **serving):
    data = yaml.safe_load(BAD_DEPLOY.read_text())
    data["releases"] = []
    data["levels"] = [1]
    data["serving"].update(serving)
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_crash_count_follows_the_renewal_rate(tmp_path):
    # Each replica alternates an exponential life (mean 60 min) and a 10-minute restart:
    # over T it crashes about T / 70 min times.
    days = 5
    run = simulator.run(scenario(tmp_path, replica_mtbf="60m", restart_time="10m"), days=days)
    crashes = (run.events.kind == "replica_crash").sum()
    expected = 4 * days * 24 * 60 / 70
    assert abs(crashes - expected) < 4 * np.sqrt(expected)


def test_a_crashed_replica_still_costs_and_the_rest_carry_the_load(tmp_path):
    # Each replica is down 5 of every 365 minutes: three or more down at once is rare (~1e-5).
    run = simulator.run(scenario(tmp_path, replica_mtbf="6h", restart_time="5m"), days=2)
    s = run.summary["levels"]["1"]
    assert (run.events.kind == "replica_crash").sum() > 20
    assert s["availability"] > 0.999  # three of four replicas carry 50 req/s easily
    assert s["cost"]["infrastructure"] == 4 * 48 * 0.5  # billed as they run, crashed or not


def test_failures_none_turns_random_failures_off(tmp_path):
    run = simulator.run(scenario(tmp_path, replica_mtbf="60m", failures="none"), days=2)
    assert (run.events.kind == "replica_crash").sum() == 0
    assert run.summary["levels"]["1"]["failed_deploys"] == 0
