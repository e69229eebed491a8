"""Lesson 7's grader: the reference bundle beats level 3 on the hidden run; unfinished, wrong and
rule-bending bundles fail with a hint."""
from __future__ import annotations

import math

import pytest

from labs import lesson7
from simulator.policies import RetrainingPolicy, WorldView

DAY = 86400.0
HERE = __name__


class LabelsFirst(RetrainingPolicy):
    """The notebook's reference: level 3's rule, but every ``fast_days`` while the labels in hand show decay."""

    def __init__(self, fast_days: float = 2, slow_days: float = 7, decay_threshold: float = 0.03,
                 metric: str = "auc", recent_days: int = 3) -> None:
        self.fast_days = fast_days
        self.slow_days = slow_days
        self.decay_threshold = decay_threshold
        self.metric = metric
        self.recent_days = recent_days

    def should_retrain(self, view: WorldView) -> bool:
        since = math.inf if view.last_retrain is None else (view.now - view.last_retrain) / DAY
        reference = {m.version: m.reference_metric for m in view.registry}
        gaps = [reference.get(d["model_version"], math.nan) - d[self.metric] for d in view.metrics[-self.recent_days:]]
        gaps = [g for g in gaps if not math.isnan(g)]
        if gaps and sum(gaps) / len(gaps) > self.decay_threshold:
            return since >= self.fast_days - 1e-6
        drifted = any(a.kind == "data_drift" for a in view.alerts)
        decayed = not math.isnan(view.decay) and view.decay > self.decay_threshold
        return (drifted or decayed) and since >= self.slow_days - 1e-6


class Unfinished(RetrainingPolicy):
    """A student copy handed in as is."""

    def should_retrain(self, view):
        return (_ for _ in ()).throw(NotImplementedError())


class Monthly(RetrainingPolicy):
    """A plausible wrong answer: a calendar, blind to drift and labels."""

    def should_retrain(self, view):
        return view.last_retrain is None and view.now >= 30 * DAY or (
            view.last_retrain is not None and view.now - view.last_retrain >= 30 * DAY)


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


def test_the_reference_bundle_beats_level_3(capsys):
    lesson7.check_bundle(bundle(LabelsFirst, fast_days=2))
    assert capsys.readouterr().out == "✔ lesson7.bundle: passed 8 hidden checks\n"


def test_unfinished_work_is_not_done_yet():
    with pytest.raises(AssertionError, match="not done yet"):
        lesson7.check_bundle(bundle(Unfinished))


def test_a_calendar_loses_to_level_3_and_the_hint_says_by_how_much():
    with pytest.raises(AssertionError, match=r"your bundle cost \$[\d,.]+M against level 3's \$[\d,.]+M") as err:
        lesson7.check_bundle(bundle(Monthly))
    assert "labels of the drifted days" in str(err.value)


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
