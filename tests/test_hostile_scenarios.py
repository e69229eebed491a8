"""Hostile scenario files: each gets one line on stderr naming the file and the key, exit 2, nothing written.

Each case here once loaded and ran, or ran and died with a traceback: an
infinite cost, an infinite spike, an empty level list, a level override with
its minimum above its maximum, a duplicate key, a document nested past the
stack, a "billion laughs" under ``traffic.rate``, a ``name`` that walks out of
``results/``. The in-process runner and the contract's checks are the
bad-input tests' (:mod:`test_bad_input`).
"""
from __future__ import annotations

import math
import time

import pytest
import yaml

from simulator.errors import ScenarioError, short_repr
from simulator.yaml_reader import MAX_ALIASES, MAX_BYTES, MAX_DEPTH, MAX_NODES, read_yaml
from test_bad_input import FRAUD, ROOT, assert_one_line_error, mutated, run_cli, run_scenario, write_scenario

INF, NAN = math.inf, math.nan
FRAUD_TEXT = FRAUD.read_text(encoding="utf-8")


def _set(*path_and_value):
    """A change to the scenario mapping: set the value at the key path (list items by index)."""
    *path, value = path_and_value

    def change(data):
        node = data
        for part in path[:-1]:
            node = node.setdefault(part, {}) if isinstance(node, dict) else node[part]
        node[path[-1]] = value
    return change


def _text(old: str, new: str):
    """fraud_covid.yaml's text with one line replaced (for what yaml.safe_dump cannot write)."""
    assert old in FRAUD_TEXT
    return FRAUD_TEXT.replace(old, new, 1)


def _run_text(tmp_path, text: str, **kwargs):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    return path, run_scenario(tmp_path, path, **kwargs)


# --- every number finite ------------------------------------------------------------------------------

NON_FINITE = {
    # id: (change, key path the line must name)
    "cost-inf": (_set("costs", "false_positive", INF), "costs.false_positive"),
    "cost-nan": (_set("costs", "downtime_minute", NAN), "costs.downtime_minute"),
    "spike-multiplier-inf": (lambda d: d["traffic"]["spikes"][0].update(multiplier=INF, at="1d"),
                             "traffic.spikes.0.multiplier"),
    "daily-cycle-nan": (_set("traffic", "daily_cycle", NAN), "traffic.daily_cycle"),
    "growth-inf": (_set("traffic", "growth", INF), "traffic.growth"),
    "replica-cost-inf": (_set("serving", "cost_per_replica_hour", INF), "serving.cost_per_replica_hour"),
    "exact-above-inf": (_set("serving", "exact_above", INF), "serving.exact_above"),
    "domain-param-inf": (_set("domain", "params", "amount_median", INF), "domain.params.amount_median"),
    "domain-param-nan": (_set("domain", "params", "amount_median", NAN), "domain.params.amount_median"),
    "domain-share-nan": (_set("domain", "params", "fraud_rate", NAN), "domain.params.fraud_rate"),
    "drift-set-inf": (lambda d: d["drift"][0]["set"].update(velocity_mean=INF), "drift.0.set.velocity_mean"),
    "override-nan": (_set("overrides", 3, {"deployment": {"failure_rate": NAN}}),
                     "overrides.3.deployment.failure_rate"),
    "override-inf": (_set("overrides", 1, {"monitoring": {"alert_hours": INF}}),
                     "overrides.1.monitoring.alert_hours"),
    "policy-param-inf": (_set("overrides", 3, {"retraining": {"params": {"x": INF}}}),
                         "overrides.3.retraining.params.x"),
    "label-share-nan": (_set("domain", "label_share", NAN), "domain.label_share"),
    "rate-nan": (_set("traffic", "rate", NAN), "traffic.rate"),
    "duration-inf": (_set("duration", INF), "duration"),
    "huge-integer-param": (_set("domain", "params", "amount_median", 10**400), "domain.params.amount_median"),
}


@pytest.mark.parametrize(("change", "key"), list(NON_FINITE.values()), ids=list(NON_FINITE))
def test_a_number_that_is_not_finite_is_refused_by_key(tmp_path, change, key):
    path = write_scenario(tmp_path, mutated(change))
    line = assert_one_line_error(run_scenario(tmp_path, path), tmp_path, path=path, key=key)
    assert "finite" in line or "too large" in line or "must be" in line


def test_a_non_finite_rate_says_a_finite_number_with_a_unit(tmp_path):
    path = write_scenario(tmp_path, mutated(_set("traffic", "rate", NAN)))
    line = assert_one_line_error(run_scenario(tmp_path, path), tmp_path, path=path, key="traffic.rate")
    assert "finite number" in line and "nan/s" not in line


# --- cross-field rules at load time ---------------------------------------------------------------------

CROSS = {
    "no-levels": (_set("levels", []), "levels", ("at least one",)),
    "level-twice": (_set("levels", [0, 3, 3]), "levels", ("twice",)),
    "min-above-max-replicas": (_set("overrides", 3, {"autoscaling": {"min_replicas": 9, "max_replicas": 2}}),
                               "overrides.3.autoscaling", ("min_replicas",)),
    "retrain-every-zero": (_set("overrides", 3, {"retraining": {"every": 0}}), "overrides.3.retraining.every",
                           ("above 0",)),
    "retrain-window-zero": (_set("overrides", 0, {"retraining": {"window": "0s"}}),
                            "overrides.0.retraining.window", ("above 0",)),
    "canary-duration-zero": (_set("overrides", 3, {"deployment": {"canary_duration": "0s"}}),
                             "overrides.3.deployment.canary_duration", ("above 0",)),
    "rate-zero": (_set("traffic", "rate", "0/s"), "traffic.rate", ("above 0",)),
    "report-interval-zero": (_set("report_interval", 0), "report_interval", ()),
    "train-window-zero": (_set("domain", "train_window", "0s"), "domain.train_window", ("from 1d",)),
    "spike-after-the-end": (lambda d: d["traffic"]["spikes"][0].update(at="400d"), "traffic.spikes.0.at", ()),
}


@pytest.mark.parametrize(("change", "key", "contains"), list(CROSS.values()), ids=list(CROSS))
def test_cross_field_rule_is_checked_at_load_time(tmp_path, change, key, contains):
    path = write_scenario(tmp_path, mutated(change))
    assert_one_line_error(run_scenario(tmp_path, path), tmp_path, path=path, key=key, contains=contains)


# Finite numbers that ran, then died (exit 1) or never finished: found by fuzzing (test_scenario_fuzz.py).
EXTREMES = {
    "rate-1e300": ("fraud_covid", _set("traffic", "rate", "1e300/s"), "traffic.rate"),
    "spike-multiplier-1e300": ("load_spike", lambda d: d["traffic"]["spikes"][0].update(multiplier=1e300),
                               "traffic.spikes.0.multiplier"),
    "spikes-together-too-high": ("fraud_covid", _set("traffic", "spikes", [
        {"at": f"{i}h", "multiplier": 1e5, "duration": "1h"} for i in range(1, 5)]), "traffic"),
    "growth-compounded-too-high": ("fraud_covid", lambda d: d.update(duration="36500d") or d["traffic"].update(
        rate="1e6/s", growth=100), "traffic"),
    "train-window-1e9d": ("fraud_covid", _set("domain", "train_window", "1e9d"), "domain.train_window"),
    "train-window-1ms": ("fraud_covid", _set("domain", "train_window", "1ms"), "domain.train_window"),
    "duration-1e300s": ("fraud_covid", _set("duration", "1e300s"), "duration"),
    "p99-far-above-mean": ("fraud_covid", _set("serving", "service_time", {"dist": "lognormal", "mean": "1ms",
                                                                           "p99": "1e300s"}),
                           "serving.service_time"),
    "tick-1ms": ("fraud_covid", _set("tick", "1ms"), "tick"),
    "replica-mtbf-1ms": ("fraud_covid", _set("serving", "replica_mtbf", "1ms"), "serving.replica_mtbf"),
    "fraud-amount-1e300": ("fraud_covid", _set("domain", "params", "amount_median", 1e300),
                           "domain.params.amount_median"),
    "fraud-velocity-1e300": ("fraud_covid", _set("domain", "params", "velocity_mean", 1e300),
                             "domain.params.velocity_mean"),
    "fraud-account-age-1e300": ("fraud_covid", _set("domain", "params", "account_age_mean", 1e300),
                                "domain.params.account_age_mean"),
    "demand-promo-lift-1e300": ("demand_shock", _set("domain", "params", "promo_lift", 1e300),
                                "domain.params.promo_lift"),
    "demand-panic-1e300": ("demand_shock", _set("domain", "params", "panic", 1e300), "domain.params.panic"),
}


@pytest.mark.parametrize(("scenario", "change", "key"), list(EXTREMES.values()), ids=list(EXTREMES))
def test_an_extreme_finite_number_is_refused_by_key(tmp_path, scenario, change, key):
    base = yaml.safe_load((ROOT / "scenarios" / f"{scenario}.yaml").read_text(encoding="utf-8"))
    change(base)
    path = write_scenario(tmp_path, base)
    assert_one_line_error(run_scenario(tmp_path, path), tmp_path, path=path, key=key)


def test_an_impossible_start_date_names_start(tmp_path):
    path, result = _run_text(tmp_path, _text("start: 2020-01-01", "start: 2020-13-01"))
    assert_one_line_error(result, tmp_path, path=path, key="start", contains=("month",))


# --- the name becomes a folder: a plain name only ----------------------------------------------------------


@pytest.mark.parametrize("name", ["../../escaped", "/tmp/absolute", "a/b", "a\\b", ".", "..", "", "x" * 300,
                                  "tab\tname", "spaced name"])
def test_a_name_that_is_not_a_plain_folder_name_is_refused(tmp_path, name):
    path = write_scenario(tmp_path, mutated(_set("name", name)))
    # No --out: the default results/<name>/<time> is the path at stake.
    result = run_cli(tmp_path, "run", str(path), "--quiet", "--days", "1")
    assert_one_line_error(result, tmp_path, path=path, key="name")
    assert not (tmp_path.parent / "escaped").exists()


@pytest.mark.parametrize("name", ["fraud_covid", "v1.2-test", "A_b-3"])
def test_a_plain_name_is_accepted(tmp_path, name):
    path = write_scenario(tmp_path, mutated(_set("name", name)))
    result = run_cli(tmp_path, "validate", str(path))
    assert result.returncode == 0, result.stderr


# --- the YAML reader's limits ---------------------------------------------------------------------------------


def test_duplicate_key_names_the_key_and_both_lines(tmp_path):
    path, result = _run_text(tmp_path, _text("  weekly_cycle: 0.1\n", "  weekly_cycle: 0.1\n  rate: 80/s\n"))
    lines = FRAUD_TEXT.splitlines()
    first = lines.index("  rate: 50/s") + 1
    second = lines.index("  weekly_cycle: 0.1") + 2
    assert_one_line_error(result, tmp_path, path=path, key="traffic.rate",
                          contains=("duplicate key", f"lines {first} and {second}"))


def test_duplicate_top_level_key(tmp_path):
    path, result = _run_text(tmp_path, FRAUD_TEXT + "\nseed: 7\n")
    assert_one_line_error(result, tmp_path, path=path, key="seed", contains=("duplicate key",))


def test_deep_nesting_is_refused_without_a_traceback(tmp_path):
    deep = "[" * 3000 + "]" * 3000
    path, result = _run_text(tmp_path, _text("  rate: 50/s\n", f"  rate: {deep}\n"))
    assert_one_line_error(result, tmp_path, path=path, key="traffic.rate", contains=("nested",))


def _laughs(levels: int) -> str:
    """A list whose every anchor is ten aliases of the one before: 10**levels values once expanded."""
    parts = ["&a0 [" + ", ".join(["lol"] * 10) + "]"]
    parts += [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "[" + ", ".join(parts) + "]"


def test_billion_laughs_under_traffic_rate_is_one_short_line(tmp_path):
    # 10**6 values: within memory before the fix, yet past the expansion limit.
    path, result = _run_text(tmp_path, _text("  rate: 50/s\n", f"  rate: {_laughs(6)}\n"))
    line = assert_one_line_error(result, tmp_path, path=path, key="traffic.rate", contains=("expands",))
    assert len(line) < 400


def test_a_real_billion_laughs_is_refused_at_once():
    text = "rate: " + _laughs(10) + "\n"
    assert len(text) < 1200
    started = time.perf_counter()
    with pytest.raises(ScenarioError, match="expands to more than") as info:
        read_yaml(text, "laughs.yaml")
    assert time.perf_counter() - started < 5
    assert info.value.key.startswith("rate.")  # the list item where the expansion passed the limit


def test_too_many_aliases():
    text = "a: &x 1\nb: [" + ", ".join(["*x"] * (MAX_ALIASES + 1)) + "]\n"
    with pytest.raises(ScenarioError, match="aliases") as info:
        read_yaml(text, "s.yaml")
    assert info.value.key == f"b.{MAX_ALIASES}"  # the first alias past the limit


def test_an_error_inside_a_list_names_the_index():
    with pytest.raises(ScenarioError) as info:
        read_yaml("drift:\n  - {at: 1d}\n  - {at: 2d, set: " + "[" * 60 + "]" * 60 + "}\n", "s.yaml")
    assert info.value.key == "drift.1.set"


def test_an_alias_inside_its_own_anchor_is_refused():
    with pytest.raises(ScenarioError, match="cycle"):
        read_yaml("a: &x [1, *x]\n", "s.yaml")


def test_nesting_through_aliases_counts():
    inner = "[" * 40 + "]" * 40
    with pytest.raises(ScenarioError, match="nested"):
        read_yaml(f"a: &x {inner}\nb: [[[[[[[[[[[*x]]]]]]]]]]]\n", "s.yaml")


def test_nesting_at_the_limit_is_read():
    depth = MAX_DEPTH - 1  # under the top-level mapping
    assert read_yaml("a: " + "[" * depth + "]" * depth, "s.yaml")["a"] == eval("[" * depth + "]" * depth)


def test_a_document_too_large(tmp_path):
    filler = "# " + "x" * 1000 + "\n"
    path, result = _run_text(tmp_path, FRAUD_TEXT + filler * (MAX_BYTES // len(filler) + 1))
    assert_one_line_error(result, tmp_path, path=path, contains=("larger than",))


def test_many_values_without_aliases_are_refused():
    text = "a: [" + ", ".join(["1"] * (MAX_NODES + 1)) + "]\n"
    with pytest.raises(ScenarioError, match="expands to more than"):
        read_yaml(text, "s.yaml")


def test_same_key_in_different_mappings_and_merge_keys_are_fine():
    text = "a: &base {x: 1, y: 2}\nb: {<<: *base, x: 3}\nc: {x: 4}\n"
    assert read_yaml(text, "s.yaml") == yaml.safe_load(text) == {"a": {"x": 1, "y": 2}, "b": {"x": 3, "y": 2},
                                                                "c": {"x": 4}}


def test_keys_equal_as_values_are_duplicates():
    with pytest.raises(ScenarioError, match="duplicate key"):
        read_yaml("3: a\n3.0: b\n", "s.yaml")


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.yaml")) + [ROOT / "simulator" / "levels.yaml"],
                         ids=lambda p: p.name)
def test_shipped_files_read_as_yaml_reads_them(path):
    text = path.read_text(encoding="utf-8")
    assert read_yaml(text, str(path)) == yaml.safe_load(text)


# --- messages stay one short line whatever the file holds ---------------------------------------------------


def test_a_huge_bad_value_is_quoted_short(tmp_path):
    path = write_scenario(tmp_path, mutated(_set("traffic", "rate", "9" * 100_000 + "/parsec")))
    line = assert_one_line_error(run_scenario(tmp_path, path), tmp_path, path=path, key="traffic.rate")
    assert len(line) < 400


def test_a_huge_bad_list_value_is_quoted_short(tmp_path):
    path = write_scenario(tmp_path, mutated(_set("duration", list(range(50_000)))))
    line = assert_one_line_error(run_scenario(tmp_path, path), tmp_path, path=path, key="duration")
    assert len(line) < 400


@pytest.mark.parametrize("key", ["bad\nkey", "bad\u2028key", "x" * 5000], ids=["newline", "line-separator", "long"])
def test_an_unknown_key_is_printed_on_one_short_line(tmp_path, key):
    path = write_scenario(tmp_path, mutated(lambda d: d["traffic"].update({key: 1})))
    line = assert_one_line_error(run_scenario(tmp_path, path), tmp_path, path=path, contains=("unknown key",))
    assert len(line) < 600


def test_short_repr_bounds_a_shared_structure():
    # Aliases make a small document a huge value: a repr of it must not walk it all.
    leaf = ["lol"] * 10
    for _ in range(9):
        leaf = [leaf] * 10
    assert len(short_repr(leaf)) <= 80
