"""Lesson 7's grader: the reference bundle passes every hidden run; retraining always, never or weekly
loses at least one, and the hint names which kind; unfinished and rule-bending bundles fail with a hint."""
from __future__ import annotations

import math

import pytest

from labs import lesson7
from simulator.policies import RetrainingPolicy, WorldView

DAY = 86400.0
HERE = __name__


class LabelsFirst(RetrainingPolicy):
    """The notebook's reference: level 3's rule, but every ``fast_days`` while the labels in hand show decay
    and the drift monitor has alerted within ``memory_days``."""

    def __init__(self, fast_days: float = 2, slow_days: float = 7, decay_threshold: float = 0.03,
                 metric: str = "auc", recent_days: int = 3, memory_days: float = 30) -> None:
        self.fast_days = fast_days
        self.slow_days = slow_days
        self.decay_threshold = decay_threshold
        self.metric = metric
        self.recent_days = recent_days
        self.memory_days = memory_days
        self.last_drift = None

    def should_retrain(self, view: WorldView) -> bool:
        since = math.inf if view.last_retrain is None else (view.now - view.last_retrain) / DAY
        drifted = any(a.kind == "data_drift" for a in view.alerts)
        if drifted:
            self.last_drift = view.now
        reference = {m.version: m.reference_metric for m in view.registry}
        gaps = [reference.get(d["model_version"], math.nan) - d[self.metric] for d in view.metrics[-self.recent_days:]]
        gaps = [g for g in gaps if not math.isnan(g)]
        moved = self.last_drift is not None and view.now - self.last_drift <= self.memory_days * DAY
        if moved and gaps and sum(gaps) / len(gaps) > self.decay_threshold:
            return since >= self.fast_days - 1e-6
        decayed = not math.isnan(view.decay) and view.decay > self.decay_threshold
        return (drifted or decayed) and since >= self.slow_days - 1e-6


class Unfinished(RetrainingPolicy):
    """A student copy handed in as is."""

    def should_retrain(self, view):
        return (_ for _ in ()).throw(NotImplementedError())


class Always(RetrainingPolicy):
    """Retrains every day, no matter what."""

    def should_retrain(self, view):
        return True


class Never(RetrainingPolicy):
    """Keeps the first model for good."""

    def should_retrain(self, view):
        return False


class Every(RetrainingPolicy):
    """A calendar, blind to drift and labels: a job every ``days`` days."""

    def __init__(self, days: float = 7) -> None:
        self.days = days

    def should_retrain(self, view):
        since = view.now if view.last_retrain is None else view.now - view.last_retrain
        return since >= self.days * DAY - 1e-6


class Chatty(RetrainingPolicy):
    """Answers with words instead of True or False."""

    def should_retrain(self, view):
        return "yes" if view.alerts else "no"


class Flipper(RetrainingPolicy):
    """Keeps its state on the class, so a second copy starts where the first stopped."""

    calls = 0

    def should_retrain(self, view):
        Flipper.calls += 1
        return Flipper.calls % 2 == 0


def bundle(cls, **params):
    return {"retraining": {"policy": f"{HERE}:{cls.__name__}", "params": params}}


def test_the_reference_bundle_passes_every_hidden_run(capsys):
    lesson7.check_bundle(bundle(LabelsFirst))
    assert capsys.readouterr().out == f"✔ lesson7.bundle: passed {7 + len(lesson7.RUNS)} hidden checks\n"


def test_unfinished_work_is_not_done_yet():
    with pytest.raises(AssertionError, match="not done yet"):
        lesson7.check_bundle(bundle(Unfinished))


def test_the_hidden_runs_cover_the_economics():
    runs = lesson7.RUNS
    assert any(r.drift and r.compute_cost is None for r in runs), "a shift with level 3's cheap retraining"
    assert any(r.drift and (r.compute_cost or 0) > 1000 for r in runs), "a shift with expensive retraining"
    assert any(not r.drift for r in runs), "a stable run"
    assert len({r.label_delay for r in runs if r.drift}) > 1, "short and long label delays"
    assert len({r.seed for r in runs} | {42}) == len(runs) + 1, "seeds the notebook never ran"


STABLE = "a stable stretch with no drift"
SHORT = "a shift whose labels arrive within days"
LONG = "a shift whose labels take weeks"


@pytest.mark.parametrize("policy, params, lost, kept", [
    (Always, {}, [STABLE], [SHORT]),
    (Never, {}, [SHORT, LONG], [STABLE]),
    (Every, {"days": 7}, [STABLE], []),
    (Every, {"days": 30}, [SHORT, LONG, STABLE], []),
])
def test_trivial_policies_lose_a_run_and_the_hint_names_which(policy, params, lost, kept):
    with pytest.raises(AssertionError, match=r"your bundle cost \$[\d,.]+M? against level 3's \$[\d,.]+M?") as err:
        lesson7.check_bundle(bundle(policy, **params))
    hint = str(err.value)
    for kind in lost:
        assert f"on {kind}" in hint
    for kind in kept:
        assert f"on {kind}" not in hint
    if SHORT in lost:
        assert "labels of the drifted days" in hint
    for run in lesson7.RUNS:  # the hint names kinds of runs, not their settings
        assert f"seed {run.seed}" not in hint and run.label_delay not in hint


@pytest.mark.parametrize("bad, hint", [
    ({"retraining": {"trigger": "drift", "every": "1d"}}, "names no policy class of yours"),
    ({"retraining": {"policy": f"{HERE}:LabelsFirst", "compute_cost": 0}}, "retraining.compute_cost"),
    ({**bundle(LabelsFirst), "deployment": {"failure_rate": 0.0}}, "deployment.failure_rate"),
    ({**bundle(LabelsFirst), "serving": {"replicas": 64}}, "unknown section 'serving'"),
    ([("retraining", "LabelsFirst")], "should be a dict of level sections"),
    (bundle(LabelsFirst, fastest=True), "does not load"),
    ({"retraining": {"policy": f"{HERE}:NoSuchClass"}}, "does not load"),
    (bundle(Chatty), "should return True or False, not 'no'"),
    (bundle(Flipper), "two fresh copies of your policy answered the same days differently"),
])
def test_bundles_that_bend_the_rules_or_misbehave_fail_before_any_run(bad, hint):
    with pytest.raises(AssertionError, match="lesson7.bundle: ") as err:
        lesson7.check_bundle(bad)
    assert hint in str(err.value)
