"""Bad input through the command line: one line on stderr naming the file and key path, exit 2.

Each test runs the command line's ``main`` in this process (a few run
``python -m simulator`` in a subprocess, to cover the real entry point) with
the working folder set to ``tmp_path``, so a stray ``results/`` folder would
show up there, and checks the contract:
exit status 2, exactly one line on standard error naming the file and the key
path, no traceback, and no results folder (neither ``--out`` nor ``results/``).
"""
from __future__ import annotations

import contextlib
import copy
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
FRAUD = ROOT / "scenarios" / "fraud_covid.yaml"
BASE = yaml.safe_load(FRAUD.read_text(encoding="utf-8"))
TIMEOUT = 60


# --- helpers ------------------------------------------------------------------


def run_cli(tmp_path: Path, *args: str, timeout: float = TIMEOUT, real: bool = False) -> subprocess.CompletedProcess:
    if real:
        return subprocess.run([sys.executable, "-m", "simulator", *args], cwd=tmp_path, capture_output=True,
                              text=True, timeout=timeout)
    from simulator.cli import main

    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse's usage errors
                code = exc.code
    finally:
        os.chdir(here)
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def run_scenario(tmp_path: Path, path: Path, *extra: str, timeout: float = TIMEOUT,
                 real: bool = False) -> subprocess.CompletedProcess:
    return run_cli(tmp_path, "run", str(path), "--out", str(tmp_path / "out"), "--quiet", "--days", "2", *extra,
                   timeout=timeout, real=real)


def write_scenario(tmp_path: Path, data, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def mutated(change) -> dict:
    data = copy.deepcopy(BASE)
    change(data)
    return data


def names_key(text: str, key: str) -> bool:
    """``key`` appears as a whole key path (or the head of a longer one), not inside another word."""
    return re.search(rf"(?<![\w.]){re.escape(key)}(?!\w)", text) is not None


def assert_one_line_error(result: subprocess.CompletedProcess, tmp_path: Path, *, path: Path | None = None,
                          key: str | None = None, contains: tuple[str, ...] = (), pattern: str | None = None) -> str:
    """Check the bad-input contract and return the error line."""
    stderr = result.stderr
    assert "Traceback" not in stderr, stderr
    assert result.returncode == 2, f"exit {result.returncode}, stderr:\n{stderr}"
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{stderr}"
    line = lines[0]
    rest = line
    if path is not None:
        assert str(path) in line, f"the file {path} is not named in: {line!r}"
        rest = line.split(str(path), 1)[1]
    if key is not None:
        assert names_key(rest, key), f"the key path {key!r} is not named in: {line!r}"
    for text in contains:
        assert text in line, f"{text!r} not in: {line!r}"
    if pattern is not None:
        assert re.search(pattern, line), f"{pattern!r} does not match: {line!r}"
    assert not (tmp_path / "out").exists(), "the --out folder was created"
    assert not (tmp_path / "results").exists(), "a results/ folder was created"
    return line


# --- one changed thing in a valid scenario -----------------------------------


def _rename(data: dict, old: str, new: str) -> None:
    data[new] = data.pop(old)


def _set_drift(**values):
    return lambda d: d["drift"][0]["set"].update(values)


CASES = {
    # id: (change to fraud_covid.yaml, key path the line must name, other text it must contain)
    "unknown-top-level-key-typo": (lambda d: _rename(d, "duration", "duraton"), "duraton",
                                   ("unknown key", "did you mean 'duration'",)),
    "unknown-nested-key-typo": (lambda d: _rename(d["traffic"], "rate", "rat"), "traffic.rat",
                                ("unknown key", "did you mean 'rate'")),
    "extra-top-level-key": (lambda d: d.update(retrainng={"every": "7d"}), "retrainng", ("unknown key",)),
    "bad-duration-unit": (lambda d: d.update(tick="1 minute"), "tick", ("not a duration",)),
    "duration-without-unit": (lambda d: d.update(duration=365), "duration", ("no unit",)),
    "negative-rate": (lambda d: d["traffic"].update(rate="-5/s"), "traffic.rate", ("negative",)),
    "rate-without-unit": (lambda d: d["traffic"].update(rate=50), "traffic.rate", ("no unit",)),
    "drift-after-the-end": (lambda d: d["drift"][0].update(at="400d"), "drift.0.at", ()),
    "unknown-domain-parameter-typo": (_set_drift(fraud_rat=0.01), "drift.0.set.fraud_rat",
                                      ("did you mean 'fraud_rate'",)),
    "unknown-domain-parameter-in-params": (lambda d: d["domain"]["params"].update(review_budgt=0.1),
                                           "domain.params.review_budgt", ("did you mean 'review_budget'",)),
    "unknown-concept": (_set_drift(concept="covd"), "drift.0.set.concept", ("covd",)),
    "unknown-domain-kind": (lambda d: d["domain"].update(kind="frod"), "domain.kind", ("did you mean 'fraud'",)),
    "domain-kind-does-not-import": (lambda d: d["domain"].update(kind="nosuchpkg.mod:Thing"), "domain.kind",
                                    ("nosuchpkg",)),
    "domain-kind-not-a-domain": (lambda d: d["domain"].update(kind="collections:OrderedDict"), "domain.kind", ()),
    "gradual-drift-without-width": (lambda d: d["drift"][0].pop("width"), "drift.0", ("width",)),
    "override-unknown-key": (lambda d: d.update(overrides={3: {"retraining": {"triger": "drift"}}}),
                             "overrides.3.retraining.triger", ("did you mean 'trigger'",)),
    "override-bad-value": (lambda d: d.update(overrides={3: {"deployment": {"failure_rate": 1.5}}}),
                           "overrides.3.deployment.failure_rate", ()),
    "level-out-of-range": (lambda d: d.update(levels=[0, 7]), "levels", ()),
    "missing-required-key": (lambda d: d.pop("name"), "name", ("missing",)),
    "negative-seed": (lambda d: d.update(seed=-1), "seed", ()),
    "spike-typo": (lambda d: d["traffic"]["spikes"][0].update(rampp="1m"), "traffic.spikes.0.rampp",
                   ("did you mean 'ramp'",)),
    "p99-below-mean": (lambda d: d["serving"]["service_time"].update(p99="10ms"), "serving.service_time",
                       ("p99",)),
    "zero-concurrency-budget": (lambda d: d["serving"].update(concurrency_budget=0),
                                "serving.concurrency_budget", ()),
    "label-delay-missing-high": (lambda d: d["domain"].update(label_delay={"dist": "uniform", "low": "30d"}),
                                 "domain.label_delay", ("high",)),
    "label-delay-unknown-dist": (lambda d: d["domain"].update(label_delay={"dist": "gamma", "mean": "3d"}),
                                 "domain.label_delay", ()),
    "label-share-above-one": (lambda d: d["domain"].update(label_share=1.5), "domain.label_share", ()),
    "incremental-drift-of-a-concept": (lambda d: d["drift"][0].update(kind="incremental"), "drift.0",
                                       ("moves numbers",)),
    "recurring-drift-without-period": (lambda d: d["drift"][0].update(kind="recurring"), "drift.0", ("period",)),
    "negative-exact-above": (lambda d: d["serving"].update(exact_above=-0.5), "serving.exact_above", ()),
    # Latencies are measured from 0.1 ms to 100 s: settings outside that cannot be represented.
    "timeout-past-the-latency-range": (lambda d: d["serving"].update(timeout="10m"), "serving.timeout",
                                       ("at most 100s",)),
    "service-below-the-latency-range": (lambda d: d["serving"].update(
        service_time={"dist": "exponential", "mean": "0.01ms"}), "serving.service_time", ("at least 0.1ms",)),
}


@pytest.mark.parametrize(("change", "key", "contains"), list(CASES.values()), ids=list(CASES))
def test_bad_scenario(tmp_path, change, key, contains):
    path = write_scenario(tmp_path, mutated(change))
    assert_one_line_error(run_scenario(tmp_path, path), tmp_path, path=path, key=key, contains=contains)


# --- files that are not scenarios --------------------------------------------


def test_malformed_yaml_names_the_file_and_a_line(tmp_path):
    text = FRAUD.read_text(encoding="utf-8")
    assert "  rate: 50/s\n" in text
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace("  rate: 50/s\n", "  rate: [50/s\n"), encoding="utf-8")
    assert_one_line_error(run_scenario(tmp_path, path, real=True), tmp_path, path=path, pattern=r"\bline \d+")


def test_file_that_does_not_exist(tmp_path):
    path = tmp_path / "nowhere.yaml"
    assert_one_line_error(run_scenario(tmp_path, path, real=True), tmp_path, path=path, contains=("no such file",))


def test_top_level_list(tmp_path):
    path = write_scenario(tmp_path, [BASE])
    assert_one_line_error(run_scenario(tmp_path, path), tmp_path, path=path, contains=("mapping",))


def test_empty_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("", encoding="utf-8")
    assert_one_line_error(run_scenario(tmp_path, path), tmp_path, path=path)


def test_a_folder_instead_of_a_file(tmp_path):
    path = tmp_path / "folder.yaml"
    path.mkdir()
    assert_one_line_error(run_scenario(tmp_path, path), tmp_path, path=path)


# --- command-line arguments ---------------------------------------------------


@pytest.fixture
def good(tmp_path) -> Path:
    path = tmp_path / "good.yaml"
    path.write_text(FRAUD.read_text(encoding="utf-8"), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("args", "key"),
    [(["--levels", "0,7"], "levels"), (["--levels", "x"], "--levels"), (["--levels", ""], "levels"),
     (["--seed", "-3"], "seed")],
    ids=["levels-0,7", "levels-x", "levels-empty", "seed--3"],
)
def test_bad_argument_about_the_scenario(tmp_path, good, args, key):
    result = run_scenario(tmp_path, good, *args)
    assert_one_line_error(result, tmp_path, path=good, key=key)


@pytest.mark.parametrize("days", ["-1", "0", "nan"])
def test_bad_days(tmp_path, good, days):
    result = run_cli(tmp_path, "run", str(good), "--out", str(tmp_path / "out"), "--quiet", "--days", days)
    assert_one_line_error(result, tmp_path, path=good, contains=("days",))


@pytest.mark.parametrize(
    ("args", "text"),
    [(["--bogus"], "--bogus"), (["--seed", "1.5"], "--seed"), (["--days", "two"], "--days"),
     (["--fidelity", "exact"], "--fidelity")],
    ids=["unknown-option", "seed-not-int", "days-not-number", "fidelity-not-a-choice"],
)
def test_argparse_usage_error(tmp_path, good, args, text):
    result = run_scenario(tmp_path, good, *args)
    assert_one_line_error(result, tmp_path, contains=(text,))


def test_no_command(tmp_path):
    assert_one_line_error(run_cli(tmp_path), tmp_path)


def test_run_without_a_file(tmp_path):
    assert_one_line_error(run_cli(tmp_path, "run", "--quiet"), tmp_path, contains=("scenario",))


def test_validate_one_good_one_bad(tmp_path, good):
    bad = write_scenario(tmp_path, mutated(lambda d: _rename(d["traffic"], "rate", "rat")))
    result = run_cli(tmp_path, "validate", str(good), str(bad))
    line = assert_one_line_error(result, tmp_path, path=bad, key="traffic")
    assert str(good) not in line


def test_validate_bad_first_still_one_line(tmp_path, good):
    bad = write_scenario(tmp_path, mutated(lambda d: d.update(tick="1 minute")))
    result = run_cli(tmp_path, "validate", str(bad), str(good))
    assert_one_line_error(result, tmp_path, path=bad, key="tick")


# --- bad input found while writing these tests (each breaks the contract today) ---


def test_impossible_date_in_yaml(tmp_path):
    # YAML builds the date itself; datetime.date(2020, 13, 1) raises ValueError, not yaml.YAMLError.
    path = tmp_path / "bad.yaml"
    path.write_text(FRAUD.read_text(encoding="utf-8").replace("start: 2020-01-01", "start: 2020-13-01"),
                    encoding="utf-8")
    assert_one_line_error(run_scenario(tmp_path, path), tmp_path, path=path)


def test_file_not_utf8(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_bytes(FRAUD.read_text(encoding="utf-8").replace("story", "st\xe9ry").encode("latin-1"))
    assert_one_line_error(run_scenario(tmp_path, path), tmp_path, path=path)


@pytest.mark.parametrize("kind", [":Thing", ".relative:Thing"], ids=["empty-module", "relative-module"])
def test_domain_kind_that_importlib_refuses(tmp_path, kind):
    path = write_scenario(tmp_path, mutated(lambda d: d["domain"].update(kind=kind)))
    assert_one_line_error(run_scenario(tmp_path, path), tmp_path, path=path, key="domain.kind")


def test_unknown_key_is_printed_verbatim(tmp_path):
    # rich's emoji codes must not rewrite the key path (":fire:" became an emoji).
    path = write_scenario(tmp_path, mutated(lambda d: d["traffic"].update({":fire:": 1})))
    assert_one_line_error(run_scenario(tmp_path, path), tmp_path, path=path, key="traffic.:fire:")


def test_days_shorter_than_a_tick(tmp_path, good):
    result = run_cli(tmp_path, "run", str(good), "--out", str(tmp_path / "out"), "--quiet", "--days", "1e-6")
    assert_one_line_error(result, tmp_path, path=good, contains=("days",))


def test_infinite_days_is_refused(tmp_path, good):
    try:
        result = run_cli(tmp_path, "run", str(good), "--out", str(tmp_path / "out"), "--quiet", "--days", "inf",
                         timeout=15, real=True)
    except subprocess.TimeoutExpired:
        pytest.fail("--days inf was accepted and the run never ends")
    assert_one_line_error(result, tmp_path, path=good, contains=("days",))
