"""Plug-ins are held to their contract: a misbehaving one stops the run with one line, and nothing is written.

On import (the scenario names the plug-in, so it is bad input): ``sys.exit``,
an exception or an import that takes too long gives exit status 2 and one
line naming the plug-in. At run time, an answer of the wrong type or out of
range, ``sys.exit``, an exception, or a call that outlasts ``policy_timeout``
gives exit status 1 and one line naming the policy, the method, the level and
the simulated day. The plug-ins are in tests/plugins/.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import simulator.plugins
from test_bad_input import BASE, assert_one_line_error, run_scenario, write_scenario
from test_policy_plugins import PLUGINS, _importable  # noqa: F401 - _importable: the plug-ins import

MISBEHAVING = "misbehaving_policies"
ARMED = "LAB_PLUGIN_MISBEHAVE"  # the import-time plug-ins misbehave only when this is set


def scenario(tmp_path, overrides: dict, levels: list[int], **top) -> Path:
    """fraud_covid with ``overrides`` at some levels, written to ``tmp_path``."""
    data = yaml.safe_load(yaml.safe_dump(BASE))
    data.update(levels=levels, overrides=overrides, **top)
    return write_scenario(tmp_path, data)


def assert_policy_failure(result: subprocess.CompletedProcess, tmp_path, *, policy: str, method: str,
                          level: int, day: str, contains: tuple[str, ...] = ()) -> str:
    """The run-time contract: exit 1, one line naming the policy, method, level and day; nothing written.

    ``day`` is a regular expression for the simulated day as printed (e.g. ``1\\.00``).
    """
    stderr = result.stderr
    assert result.returncode == 1, f"exit {result.returncode}, stderr:\n{stderr}"
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{stderr}"
    line = lines[0]
    assert f"{MISBEHAVING}:{policy}.{method}" in line, line
    assert re.search(rf"\blevel {level}\b", line), line
    assert re.search(rf"\bsimulated day {day}\b", line), line
    for text in contains:
        assert text in line, f"{text!r} not in: {line!r}"
    assert not (tmp_path / "out").exists(), "the --out folder was created"
    assert not (tmp_path / "results").exists(), "a results/ folder was created"
    return line


def run_real(tmp_path, path, *extra: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """``python -m simulator run`` in a subprocess (the real exit status), the plug-ins beside the scenario."""
    shutil.copy(PLUGINS / f"{MISBEHAVING}.py", tmp_path / f"{MISBEHAVING}.py")
    try:
        return run_scenario(tmp_path, path, *extra, timeout=timeout, real=True)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the run did not end within {timeout} s")


# --- on import: bad input, exit 2 -------------------------------------------------------------------------


@pytest.fixture
def armed(monkeypatch):
    """Make the import-time plug-ins misbehave, and import them afresh (collection may have imported them)."""
    monkeypatch.setenv(ARMED, "1")
    for name in ("exits_on_import", "raises_on_import", "slow_import"):
        monkeypatch.delitem(sys.modules, name, raising=False)


@pytest.mark.parametrize(("module", "problem"), [
    ("exits_on_import", "SystemExit"),
    ("raises_on_import", "KeyError"),
])
def test_a_policy_module_that_exits_or_raises_on_import_is_bad_input(tmp_path, armed, module, problem):
    path = scenario(tmp_path, {3: {"retraining": {"policy": f"{module}:Eager"}}}, [3])
    assert_one_line_error(run_scenario(tmp_path, path), tmp_path, path=path, key="overrides.3.retraining.policy",
                          contains=(module, problem))


def test_a_domain_module_that_exits_on_import_is_bad_input(tmp_path, armed):
    path = scenario(tmp_path, {}, [0], domain={**BASE["domain"], "kind": "exits_on_import:MyDomain"})
    assert_one_line_error(run_scenario(tmp_path, path), tmp_path, path=path, key="domain.kind",
                          contains=("exits_on_import", "SystemExit"))


@pytest.mark.parametrize("section", ["retraining", "domain"])
def test_a_plugin_module_that_takes_too_long_to_import_is_bad_input(tmp_path, armed, monkeypatch, section):
    monkeypatch.setattr(simulator.plugins, "IMPORT_TIMEOUT", 0.5)
    if section == "domain":
        path, key = scenario(tmp_path, {}, [0], domain={**BASE["domain"], "kind": "slow_import:MyDomain"}), "domain.kind"
    else:
        path, key = scenario(tmp_path, {3: {"retraining": {"policy": "slow_import:Eager"}}}, [3]), \
            "overrides.3.retraining.policy"
    assert_one_line_error(run_scenario(tmp_path, path), tmp_path, path=path, key=key,
                          contains=("slow_import", "0.5 s"))


# --- at run time: exit 1 ----------------------------------------------------------------------------------


def test_sys_exit_in_a_policy_in_a_forked_worker_stops_the_run(tmp_path):
    """Level 0 runs in a forked process beside level 2; its SystemExit(0) must not become a silent success."""
    path = scenario(tmp_path, {0: {"retraining": {"policy": f"{MISBEHAVING}:ExitsZero"}}}, [0, 2])
    assert_policy_failure(run_real(tmp_path, path), tmp_path, policy="ExitsZero", method="should_retrain",
                          level=0, day=r"1\.00", contains=("SystemExit",))


@pytest.mark.parametrize(("policy", "shown"), [("NoThanks", "'no thanks'"), ("NotANumber", "nan")])
def test_should_retrain_answering_a_non_bool_stops_the_run(tmp_path, policy, shown):
    path = scenario(tmp_path, {2: {"retraining": {"policy": f"{MISBEHAVING}:{policy}"}}}, [2])
    assert_policy_failure(run_scenario(tmp_path, path), tmp_path, policy=policy, method="should_retrain",
                          level=2, day=r"1\.00", contains=(shown, "bool"))


def test_should_rollback_answering_a_string_stops_the_run_instead_of_rolling_back(tmp_path):
    path = scenario(tmp_path, {3: {"retraining": {"policy": "student_policies:EveryDay"},
                                   "deployment": {"policy": f"{MISBEHAVING}:SaysNo", "failure_rate": 0}}}, [3])
    assert_policy_failure(run_scenario(tmp_path, path), tmp_path, policy="SaysNo", method="should_rollback",
                          level=3, day=r"1\.\d\d", contains=("'no'", "bool"))


@pytest.mark.parametrize(("policy", "shown"), [("ShoutsAString", "'drift!'"), ("AlertsAtNaN", "NaN time")])
def test_a_monitor_answering_other_than_alerts_stops_the_run(tmp_path, policy, shown):
    path = scenario(tmp_path, {2: {"monitoring": {"policy": f"{MISBEHAVING}:{policy}"}}}, [2])
    assert_policy_failure(run_scenario(tmp_path, path), tmp_path, policy=policy, method="alerts",
                          level=2, day=r"1\.00", contains=(shown, "Alert"))


def test_an_autoscaler_asking_for_more_replicas_than_the_level_allows_stops_the_run(tmp_path):
    path = scenario(tmp_path, {3: {"autoscaling": {"policy": f"{MISBEHAVING}:BillionReplicas"}}}, [3])
    assert_policy_failure(run_scenario(tmp_path, path), tmp_path, policy="BillionReplicas",
                          method="desired_replicas", level=3, day=r"0\.00", contains=("1000000000", "2 to 64"))


@pytest.mark.parametrize(("level", "levels", "section", "policy", "method", "day"), [
    (0, [0, 2], "retraining", "Sleeps", "should_retrain", r"1\.00"),           # in the forked worker
    (3, [3], "autoscaling", "LoopsForever", "desired_replicas", r"0\.00"),
    (2, [0, 2], "monitoring", "SwallowsErrors", "alerts", r"1\.00"),            # catches every Exception
])
def test_a_policy_that_does_not_answer_in_time_stops_the_run(tmp_path, level, levels, section, policy, method, day):
    path = scenario(tmp_path, {level: {section: {"policy": f"{MISBEHAVING}:{policy}"}}}, levels,
                    policy_timeout="0.5s")
    assert_policy_failure(run_real(tmp_path, path, timeout=40), tmp_path, policy=policy, method=method,
                          level=level, day=day, contains=("0.5 s", "policy_timeout"))


@pytest.mark.parametrize(("value", "problem"), [("0s", "greater than 0"), ("-1s", "negative"),
                                              ("soon", "not a duration")])
def test_policy_timeout_must_be_a_positive_duration(tmp_path, value, problem):
    path = scenario(tmp_path, {}, [0], policy_timeout=value)
    assert_one_line_error(run_scenario(tmp_path, path), tmp_path, path=path, key="policy_timeout",
                          contains=(problem,))


# --- the time limit leaves the process's own alarm as it found it -----------------------------------------


def test_the_time_limit_puts_back_the_previous_handler_and_timer():
    """Another user of SIGALRM (a test-timeout plug-in, say) keeps its handler, and its alarm still goes off."""
    import signal
    import time

    from simulator.plugins import PluginTimeout, call_with_limit

    fired = []

    def theirs(signum, frame):
        fired.append(time.monotonic())

    before = signal.signal(signal.SIGALRM, theirs)
    try:
        start = time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, 0.6)
        with pytest.raises(PluginTimeout):
            call_with_limit(time.sleep, (5,), 0.2)
        assert signal.getsignal(signal.SIGALRM) is theirs
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 0.2 < left < 0.45, left  # 0.6 s less the 0.2 s the call took
        call_with_limit(time.sleep, (0.6,), 2.0)  # their alarm falls due during this call: it goes off after it
        time.sleep(0.05)
        assert len(fired) == 1 and fired[0] - start >= 0.6
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, before)
