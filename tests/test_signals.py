"""Every signal at any moment: the run stops within 2 s, says one line, and leaves nothing behind.

``python -m simulator run`` is started in a child process and sent SIGINT
or SIGTERM (to it alone or to its process group) at a moment recognised
from outside: while the traffic is made (its first worker appears), while
the levels run (a second worker appears), while the files are written (the
staging folder holds summary.json), and during ``--replications`` on joblib.
After it: exit status 130/143 within 2 s, one line on standard error, no
results folder or staging folder, and none of its child processes alive.
SIGKILL cannot be caught: its workers must still end, and the next run
removes what it left.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

psutil = pytest.importorskip("psutil")

ROOT = Path(__file__).resolve().parent.parent
FRAUD = ROOT / "scenarios" / "fraud_covid.yaml"
SPIKE = ROOT / "scenarios" / "load_spike.yaml"

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked workers: Linux")


class Launched:
    """A command-line run in a child process, watched from outside."""

    def __init__(self, tmp_path: Path, *args: str, group: bool = False) -> None:
        self.out = tmp_path / "out"
        self.tmp_path = tmp_path
        # SIGINT may be ignored by whoever started the tests (a background job); the run must hear it.
        self.proc = subprocess.Popen([sys.executable, "-m", "simulator", "run", *args, "--out", str(self.out),
                                      "--quiet"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, start_new_session=group,
                                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self.group = group
        self.seen: dict[int, psutil.Process] = {}
        self.started = time.monotonic()

    def children(self) -> list:
        try:
            kids = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        for kid in kids:
            self.seen.setdefault(kid.pid, kid)
        return kids

    def wait_for(self, ready, limit: float = 60.0) -> None:
        """Poll until ``ready()`` (watching the children meanwhile), or fail if the run ended first."""
        while not ready():
            if self.proc.poll() is not None:
                pytest.fail(f"the run ended before the moment came: exit {self.proc.returncode}, "
                            f"{self.proc.stderr.read()}")
            if time.monotonic() - self.started > limit:
                self.proc.kill()
                pytest.fail("the moment did not come")
            self.children()
            time.sleep(0.01)

    def staged(self, name: str) -> bool:
        return any((p / name).exists() for p in self.tmp_path.glob(".out.partial-*"))

    def send(self, sig: int) -> tuple[int, float, str]:
        """Send ``sig``; return the exit status, the seconds it took to exit, and standard error."""
        self.children()
        sent = time.monotonic()
        (os.killpg if self.group else os.kill)(self.proc.pid, sig)
        try:
            _, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.cleanup()
            pytest.fail(f"still running 30 s after signal {sig}")
        return self.proc.returncode, time.monotonic() - sent, err

    def survivors(self, within: float = 2.0) -> list[int]:
        """Children still running ``within`` seconds from now (zombies count as gone)."""
        deadline = time.monotonic() + within
        while True:
            alive = [p.pid for p in self.seen.values() if _running(p)]
            if not alive or time.monotonic() > deadline:
                return alive
            time.sleep(0.05)

    def cleanup(self) -> None:
        for p in self.seen.values():
            if _running(p):
                p.kill()

    def leftovers(self) -> list[str]:
        return sorted(p.name for p in self.tmp_path.iterdir())


def _running(p) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _moment(run: Launched, moment: str) -> None:
    if moment == "start":
        time.sleep(0.5)
    elif moment == "traffic":  # the first forked worker makes half the days
        run.wait_for(lambda: len(run.seen) >= 1)
    elif moment == "levels":  # the levels' worker is the second
        run.wait_for(lambda: len(run.seen) >= 2)
        time.sleep(0.3)
    elif moment == "writing":  # summary.json written, the figures being drawn
        run.wait_for(lambda: run.staged("summary.json"))
    elif moment == "replications":  # the pool's two workers (and its two resource trackers) running seeds
        run.wait_for(lambda: len(run.children()) >= 4)
        time.sleep(1.0)


CASES = [
    ("TERM", False, "start"),
    ("TERM", False, "traffic"),
    ("TERM", False, "levels"),
    ("TERM", False, "writing"),
    ("INT", False, "levels"),
    ("INT", True, "writing"),
    ("TERM", True, "levels"),
    ("INT", True, "traffic"),
]


@pytest.mark.parametrize("name, group, moment", CASES, ids=[f"{n}-{'group' if g else 'main'}-{m}" for n, g, m in CASES])
def test_a_signal_stops_the_run_cleanly(tmp_path, name, group, moment):
    sig = getattr(signal, f"SIG{name}")
    run = Launched(tmp_path, str(FRAUD), "--days", "45", group=group)
    _moment(run, moment)
    status, took, err = run.send(sig)
    survivors = run.survivors()
    run.cleanup()
    if moment == "start" and status == -sig:
        pass  # before the handlers are installed, the default action ends the process: nothing was made
    else:
        assert status == 128 + sig, err
        assert err.strip() == "interrupted: nothing was written"
    assert took < 2.0
    assert survivors == []
    assert run.leftovers() == []


@pytest.mark.parametrize("name", ["TERM", "INT"])
def test_a_signal_stops_joblib_replications(tmp_path, name):
    sig = getattr(signal, f"SIG{name}")
    run = Launched(tmp_path, str(SPIKE), "--days", "20", "--replications", "4", "--backend", "joblib", group=True)
    _moment(run, "replications")
    status, took, err = run.send(sig)
    survivors = run.survivors()
    run.cleanup()
    assert status == 128 + sig, err
    assert err.strip() == "interrupted: nothing was written"
    assert took < 2.0
    assert survivors == []
    assert run.leftovers() == []


@pytest.mark.parametrize("args, moment", [
    ((str(FRAUD), "--days", "45"), "levels"),
    ((str(SPIKE), "--days", "20", "--replications", "4", "--backend", "joblib"), "replications"),
], ids=["forked-levels", "joblib-replications"])
def test_sigkill_leaves_no_worker_and_the_next_run_cleans_up(tmp_path, args, moment):
    run = Launched(tmp_path, *args)
    _moment(run, moment)
    run.proc.kill()
    run.proc.wait(timeout=10)
    # A pool's worker asks to die with its parent once it has loaded its first job, which takes
    # a few seconds on a busy machine; one that finds its parent gone by then ends at once.
    assert run.survivors(within=20.0) == []
    left = run.leftovers()
    assert all(name.startswith(".out.partial-") for name in left)
    # The next run into the same parent folder removes the killed run's staging folder.
    again = subprocess.run([sys.executable, "-m", "simulator", "run", str(SPIKE), "--days", "1", "--levels", "0",
                            "--quiet", "--out", str(tmp_path / "again")], cwd=tmp_path, capture_output=True,
                           text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert run.leftovers() == ["again"]
