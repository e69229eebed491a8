"""Fuzzing the scenario contract: mutations of the shipped scenarios either run cleanly or are one-line bad input.

Hypothesis takes a shipped scenario (``scenarios/*.yaml``), changes a few
things in it (a wrong type, an extreme or non-finite number, a missing or an
extra key, a bad unit, a level override, deep nesting) and runs the command
line on the result in this process (``run --days 1 --quiet --out NEW``).
Whatever it made, exactly one of these must hold:

- exit 0, and every output within its bounds: availability in [0, 1], no
  negative count, every cost in summary.json a finite number;
- exit 2, exactly one line on standard error naming the file and a key, and
  nothing written (neither ``--out`` nor ``results/``).

Never a traceback, never exit 1: nothing in a scenario file may make a run
fail. The runs are derandomized, so CI sees the same examples every time.
"""
from __future__ import annotations

import copy
import json
import math
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.levels import _raw_presets
from simulator.scenario import Scenario
from test_bad_input import ROOT, run_cli

SHIPPED = {p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted((ROOT / "scenarios").glob("*.yaml"))}
PRESET = _raw_presets()[3]  # every preset has the same keys: level 3's are the paths an override may set
DEEP = "__deep_nesting__"  # replaced in the text by a list nested past the reader's limit
COUNTS = ("requests", "failed_requests", "retrains", "deploys", "failed_deploys", "rollbacks", "incidents",
          "downtime_minutes")

FUZZ = settings(max_examples=45, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# --- what a mutation may put in a scenario ---------------------------------------------------------------

EXTREME_NUMBERS = st.sampled_from([0, -1, 1, 3, 2**31, 2**63, 10**30, 0.5, -0.0, 1e-300, 5e-324, 1e9, 1e300,
                                   1.7e308, math.inf, -math.inf, math.nan])
UNIT_TEXT = st.builds("{}{}".format,
                      st.sampled_from(["0", "-1", "1e400", "nan", "inf", ".inf", "1e9", "1e-9", "0.0001", "5",
                                       "1.5e6", "2", ""]),
                      st.sampled_from(["", "s", "ms", "m", "h", "d", "w", "/s", "/m", "/h", "/d", "y", " parsec",
                                       "/", "%"]))
KEY_NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=12)
JUNK = st.one_of(st.none(), st.booleans(), st.text(max_size=12), st.lists(st.integers(-3, 3), max_size=3),
                 st.dictionaries(KEY_NAMES, st.integers(-3, 3), max_size=2), st.just(DEEP))
VALUES = st.one_of(EXTREME_NUMBERS, UNIT_TEXT, JUNK)


def _paths(node, prefix=()):
    """Every key path of a parsed document (mapping keys and list indices), parents before children."""
    out = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, value in items:
        out.append((*prefix, key))
        out.extend(_paths(value, (*prefix, key)))
    return out


def _parent(data, path):
    node = data
    for part in path[:-1]:
        node = node[part]
    return node


@st.composite
def mutation(draw, data):
    """Change one thing of ``data`` in place: a value replaced or scaled, a key dropped or added, an override."""
    kind = draw(st.sampled_from(["replace", "scale", "unit", "drop", "extra", "override", "override"]))
    if kind == "override":
        level = draw(st.sampled_from([0, 1, 2, 3]))
        section = draw(st.sampled_from([k for k, v in PRESET.items() if isinstance(v, dict)]))
        key = draw(st.sampled_from(sorted(PRESET[section]) + ["policy", "params", "bogus"]))
        value = draw(st.one_of(VALUES, st.sampled_from([PRESET[section].get(key, 1)])))
        overrides = data.setdefault("overrides", {})
        if isinstance(overrides, dict):
            slot = overrides.setdefault(level, {})
            if isinstance(slot, dict):
                slot.setdefault(section, {})
                if isinstance(slot[section], dict):
                    slot[section][key] = value
        return
    paths = _paths(data)
    path = draw(st.sampled_from(paths))
    parent = _parent(data, path)
    last = path[-1]
    if kind == "drop":
        del parent[last]
    elif kind == "extra":
        target = parent if isinstance(parent, dict) else data
        target[draw(KEY_NAMES)] = draw(VALUES)
    elif kind == "scale" and isinstance(parent[last], (int, float)) and not isinstance(parent[last], bool):
        parent[last] = parent[last] * draw(st.sampled_from([0, -1, 1e6, 1e12, 1e300, math.inf, math.nan]))
    elif kind == "unit" and isinstance(parent[last], str):
        parent[last] = draw(UNIT_TEXT)
    else:
        parent[last] = draw(VALUES)


@st.composite
def scenarios(draw):
    """A shipped scenario's mapping with one to three mutations."""
    data = copy.deepcopy(SHIPPED[draw(st.sampled_from(sorted(SHIPPED)))])
    for _ in range(draw(st.integers(1, 3))):
        if not data:
            break
        draw(mutation(data))
    return data


def _write(folder: Path, data) -> Path:
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    # Deep nesting is written as text: PyYAML's own writer would recurse as far.
    text = text.replace(DEEP, "[" * 200 + "]" * 200)
    path = folder / "fuzzed.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --- the contract ------------------------------------------------------------------------------------------


def _finite_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_outputs(out: Path) -> None:
    """Every figure of a finished run within its bounds."""
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["levels"], summary
    for level, block in summary["levels"].items():
        availability = block["availability"]
        assert _finite_number(availability) and 0 <= availability <= 1, (level, availability)
        for name in COUNTS:
            assert _finite_number(block[name]) and block[name] >= 0, (level, name, block[name])
        for name, dollars in block["cost"].items():
            assert _finite_number(dollars), (level, name, dollars)


def _check_contract(folder: Path, data) -> None:
    path = _write(folder, data)
    out = folder / "out"
    result = run_cli(folder, "run", str(path), "--days", "1", "--quiet", "--out", str(out))
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in (0, 2), f"exit {result.returncode}: {result.stderr}"
    if result.returncode == 0:
        _check_outputs(out)
        return
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert not out.exists() and not (folder / "results").exists(), "bad input wrote files"
    line = lines[0]
    assert str(path) in line, line
    rest = line.split(str(path), 1)[1]
    # "FILE: KEY: PROBLEM": the key's head is one of the document's keys, or a required one it lacks.
    assert rest.startswith(": ") and ": " in rest[2:], line
    key = rest[2:].split(": ", 1)[0]
    heads = {str(k) for k in data} | set(Scenario.model_fields)
    assert key.split(".")[0] in heads, f"no key of the file named in: {line!r}"


@FUZZ
@given(data=scenarios())
def test_mutated_scenario_runs_cleanly_or_is_one_line_of_bad_input(tmp_path, data):
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
        _check_contract(Path(folder), data)


@settings(FUZZ, max_examples=18)
@given(name=st.sampled_from(sorted(SHIPPED)), path=st.data(), value=EXTREME_NUMBERS)
def test_any_number_set_to_an_extreme_runs_cleanly_or_is_refused(tmp_path, name, path, value):
    # Every numeric leaf of a shipped scenario, set to an extreme.
    data = copy.deepcopy(SHIPPED[name])
    numeric = [p for p in _paths(data) if _finite_number(_parent(data, p)[p[-1]])]
    where = path.draw(st.sampled_from(numeric))
    _parent(data, where)[where[-1]] = value
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
        _check_contract(Path(folder), data)
