"""Output folders are never destroyed: ``--out`` rules for ``run``, ``sweep`` and ``--replications``.

Each bad ``--out`` is a one-line error with exit status 2 before any
simulation; an existing folder is refused unless it holds an earlier run's
results and ``--overwrite`` is given, and then only that run's files change.
"""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from simulator.destination import claim, remove_stale
from test_bad_input import assert_one_line_error, run_cli

ROOT = Path(__file__).resolve().parent.parent
SPIKE = ROOT / "scenarios" / "load_spike.yaml"


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def users_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "notebooks"
    (folder / "sub").mkdir(parents=True)
    (folder / "thesis.txt").write_text("three years of work")
    (folder / "sub" / "data.csv").write_text("a,b\n1,2\n")
    return folder


def run(tmp_path: Path, out: str, *extra: str):
    return run_cli(tmp_path, "run", str(SPIKE), "--quiet", "--days", "1", "--levels", "0,3", "--out", out, *extra)


def test_a_users_folder_is_refused_and_kept(tmp_path):
    folder = users_folder(tmp_path)
    before = tree(folder)
    for extra in ((), ("--overwrite",)):
        result = run(tmp_path, str(folder), *extra)
        assert_one_line_error(result, tmp_path, key="--out", contains=("did not write",))
        assert tree(folder) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notebooks"]  # no staging folder left


@pytest.mark.parametrize("out, problem", [
    (".", "current folder"),
    ("", "current folder"),
    ("/", "current folder"),  # the root is a parent of every working folder
    ("..", "current folder"),
])
def test_the_current_folder_and_its_parents_are_refused(tmp_path, out, problem):
    result = run(tmp_path, out)
    assert_one_line_error(result, tmp_path, key="--out", contains=(problem,))
    assert list(tmp_path.iterdir()) == []


def test_a_file_and_a_file_on_the_path_are_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    for out, problem in (("notes.txt", "is not a folder"), ("notes.txt/run", "is a file")):
        assert_one_line_error(run(tmp_path, out), tmp_path, key="--out", contains=(problem,))
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_an_unwritable_parent_is_refused_before_the_run(tmp_path):
    if os.geteuid() == 0:
        # Permissions do not bind root; /proc takes no new folders from anyone.
        out = "/proc/mlops-lab-test/run"
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
        out = str(locked / "run")
    assert_one_line_error(run(tmp_path, out), tmp_path, key="--out", contains=("cannot",))


def test_an_earlier_run_needs_overwrite_and_only_its_files_change(tmp_path):
    out = tmp_path / "r"
    assert run(tmp_path, str(out)).returncode == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["written_by"] == "mlops-failure-lab"
    assert set(manifest["files"]) == set(tree(out))
    (out / "my_notes.md").write_text("what I saw")
    (out / "plots" / "mine.png").write_bytes(b"not the simulator's")
    first = tree(out)

    refused = run(tmp_path, str(out))
    assert refused.returncode == 2
    assert len(refused.stderr.strip().splitlines()) == 1 and "--out: holds an earlier run's" in refused.stderr
    assert "--overwrite" in refused.stderr
    assert tree(out) == first

    # A file the earlier run wrote but this one does not is removed; the user's stay.
    (out / "plots" / "model_metric.png").rename(out / "plots" / "old_figure.png")
    manifest["files"] = [f if f != "plots/model_metric.png" else "plots/old_figure.png" for f in manifest["files"]]
    (out / "manifest.json").write_text(json.dumps(manifest))
    again = run(tmp_path, str(out), "--seed", "7", "--overwrite")
    assert again.returncode == 0, again.stderr
    after = tree(out)
    assert after["my_notes.md"] == b"what I saw"
    assert after["plots/mine.png"] == b"not the simulator's"
    assert "plots/old_figure.png" not in after
    assert json.loads(after["manifest.json"])["seed"] == 7
    assert [p.name for p in tmp_path.iterdir()] == ["r"]


def test_an_empty_folder_is_used(tmp_path):
    (tmp_path / "empty").mkdir()
    assert run(tmp_path, "empty").returncode == 0
    assert (tmp_path / "empty" / "summary.json").is_file()


def test_default_folders_are_new_and_inside_results(tmp_path):
    for _ in range(2):  # the same second: the second run gets a folder of its own
        assert run_cli(tmp_path, "run", str(SPIKE), "--quiet", "--days", "1", "--levels", "0").returncode == 0
    runs = sorted((tmp_path / "results" / "load_spike").iterdir())
    assert len(runs) == 2 and all((r / "summary.json").is_file() for r in runs)


def test_files_and_folders_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        assert run(tmp_path, "shared").returncode == 0
    finally:
        os.umask(old)
    out = tmp_path / "shared"
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    assert stat.S_IMODE((out / "plots").stat().st_mode) == 0o755
    for name in ("summary.json", "timeseries.csv", "manifest.json", "plots/cost.png"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o644, name


def test_a_sweep_keeps_a_users_folder_and_refreshes_its_own(tmp_path):
    folder = users_folder(tmp_path)
    before = tree(folder)
    args = ("sweep", str(SPIKE), "--param", "serving.replicas=2,4", "--levels", "0", "--days", "1", "--quiet",
            "--backend", "serial")
    assert_one_line_error(run_cli(tmp_path, *args, "--out", str(folder)), tmp_path, key="--out")
    assert tree(folder) == before
    out = tmp_path / "sweep"
    assert run_cli(tmp_path, *args, "--out", str(out)).returncode == 0
    assert sorted(tree(out)) == ["manifest.json", "sweep.csv"]
    assert run_cli(tmp_path, *args, "--out", str(out)).returncode == 2
    assert run_cli(tmp_path, *args, "--out", str(out), "--overwrite").returncode == 0


def test_replications_keep_a_users_folder(tmp_path):
    folder = users_folder(tmp_path)
    before = tree(folder)
    result = run(tmp_path, str(folder), "--replications", "2", "--backend", "serial")
    assert_one_line_error(result, tmp_path, key="--out")
    assert tree(folder) == before


def test_a_killed_runs_staging_folder_is_removed_by_the_next(tmp_path):
    dead = _dead_pid()
    stale = tmp_path / f".old-run.partial-{dead}-abc123"
    live = tmp_path / f".other.partial-{os.getpid()}-xyz789"
    user = tmp_path / ".partial-notes"
    for folder in (stale, live, user):
        folder.mkdir()
    with claim(tmp_path / "new"):
        pass
    assert not stale.exists() and live.exists() and user.exists()
    assert remove_stale(tmp_path / "x") == []
    assert not (tmp_path / "new").exists()


def test_an_abandoned_claim_removes_the_folders_it_made(tmp_path):
    with claim(tmp_path / "a" / "b" / "run"):
        assert (tmp_path / "a" / "b").is_dir()
    assert list(tmp_path.iterdir()) == []


def _dead_pid() -> int:
    """The pid of a process that has ended."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


def test_help_says_what_out_does_with_an_existing_folder(tmp_path):
    for args in (("--help",), ("run", "--help"), ("sweep", "--help")):
        text = " ".join(run_cli(tmp_path, *args).stdout.split())
        assert "--overwrite" in text and "refused" in text, args
