"""Maturity presets are data, every value has its reason, and overrides apply."""
from __future__ import annotations

import re
from importlib import resources

import pytest
import yaml

import simulator
from conftest import FRAUD
from simulator.levels import preset, resolve_levels


def test_every_value_in_the_presets_has_a_reason():
    text = resources.files("simulator").joinpath("levels.yaml").read_text()
    for line in text.splitlines():
        if re.match(r"^\s+\w+:\s*\S", line):  # a key with a value on its line
            assert "#" in line, f"no reason given: {line.strip()}"


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_presets_validate(n):
    assert preset(n).name


def test_maturity_shows_in_the_numbers():
    p = [preset(n) for n in range(4)]
    assert p[0].deployment.failure_rate > p[1].deployment.failure_rate >= p[3].deployment.failure_rate
    assert p[0].monitoring.outage_detection > p[1].monitoring.outage_detection >= p[3].monitoring.outage_detection
    assert p[0].deployment.lead_time > p[2].deployment.lead_time > p[3].deployment.lead_time
    assert p[3].deployment.auto_rollback and not p[0].deployment.auto_rollback


def test_overrides_change_only_their_level(tmp_path):
    data = yaml.safe_load(FRAUD.read_text())
    data["overrides"] = {3: {"retraining": {"trigger": "never"}}, 0: {"deployment": {"failure_rate": 0.0}}}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    levels = resolve_levels(simulator.load_scenario(path))
    assert levels[3].retraining.trigger == "never" and levels[3].retraining.window == preset(3).retraining.window
    assert levels[0].deployment.failure_rate == 0.0 and levels[1] == preset(1)


def test_a_trigger_needs_its_monitor(tmp_path):
    data = yaml.safe_load(FRAUD.read_text())
    data["overrides"] = {0: {"retraining": {"trigger": "drift"}}}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(simulator.ScenarioError, match=r"overrides\.0\.retraining\.trigger: .*monitoring\.drift"):
        simulator.load_scenario(path)
