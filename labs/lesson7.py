"""Grader of lesson 7, the capstone: a policy bundle of your own against the level 3 preset.

A *bundle* is what a scenario's ``overrides`` holds for one level: sections
(``retraining``, ``monitoring``, ``deployment``, ``autoscaling``, ...) whose
``policy`` names a class as ``"module:Class"`` with its ``params``. The
student's bundle must name their own ``RetrainingPolicy`` and may add
monitoring, deployment or autoscaling classes. The grader

1. checks the bundle's shape: a mapping of level sections, a retraining
   policy of the student's own, and no setting that is a fact of the
   organisation rather than a decision (what a job costs, how often a
   release breaks, how long a repair takes);
2. asks the retraining policy about a few made-up days and checks it answers
   with a yes or a no, the same way twice;
3. runs the plain level 3 preset and level 3 with the bundle on hidden runs
   of fraud traffic the notebook never ran, each with its own economics
   (:data:`RUNS`): a shift whose labels arrive within days while
   retraining is cheap; a shift whose labels take weeks while
   retraining is expensive next to what the model's errors cost; and a
   stable stretch with no drift at all, with the same expensive retraining.
   Where the world moves and its labels come in time, the bundle must cost
   clearly less than level 3; where nothing changes it must not cost more.
   Retraining always, never or on a fixed calendar each loses one of them.
   A failed run's hint names the kind of run, never its settings.

The shape is checked first, with a hint that names what to change:

>>> import labs.lesson7 as l7
>>> l7.bundle_problem({"retraining": {"trigger": "never"}})
"the bundle's 'retraining' section names no policy class of yours: add 'policy': '__main__:YourClass'"
>>> l7.bundle_problem({"retraining": {"policy": "__main__:Mine", "compute_cost": 0}})
"'retraining.compute_cost' is a price or a fact of the organisation, not a policy: leave it to the preset"
"""
from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

import simulator
from simulator.policies import Alert, ModelInfo, WorldView
from simulator.policies.factory import PolicyImportError, load_user_policy

from . import scenario_path
from .grading import call, passed, verify

EXERCISE = "lesson7.bundle"
DAY = 86400.0


class Run(NamedTuple):
    """One hidden run: its traffic, its economics, and what the bundle must achieve on it against level 3."""

    kind: str                 # what the hint calls it (never its settings)
    seed: int
    drift: bool               # the lockdown shift, DRIFT_AT in over WIDTH, or no drift at all
    label_delay: str
    rate: str                 # payments per second: with it, what a day of model errors costs
    compute_cost: float | None = None    # dollars per job; None keeps level 3's prices
    engineer_hours: float | None = None  # per job
    must_save: float = 0.02   # share of level 3's total the bundle must save (negative: may cost that much more)
    question: str = ""        # what the hint asks the student to look at when the bundle loses this run


#: The hidden runs, all ``DAYS`` long from 1 March 2020 with ``SAMPLE`` rows a day. Cheap retraining is level
#: 3's own price (about $110 a job against millions a day of errors); expensive retraining is a large job with
#: a week of validation (about $25,000) on a smaller issuer, where it weighs as much as a quiet day of errors.
RUNS = (
    Run("a shift whose labels arrive within days, with cheap retraining", seed=13, drift=True,
        label_delay="7d", rate="50/s",
        question="look at when your policy retrains compared with when the labels of the drifted days arrive"),
    Run("a shift whose labels take weeks, with expensive retraining", seed=3, drift=True,
        label_delay="21d", rate="2/s", compute_cost=20_000, engineer_hours=40,
        question="every job is dear here and the new world's labels come late: which jobs could teach the "
                 "model something it did not know, and did you retrain once they could?"),
    Run("a stable stretch with no drift, with expensive retraining", seed=29, drift=False,
        label_delay="14d", rate="2/s", compute_cost=20_000, engineer_hours=40, must_save=-0.005,
        question="nothing changed on this run: what did your retrains buy?"),
)
DAYS, SAMPLE, DRIFT_AT, WIDTH = 40, 2000, "5d", "10d"

#: Settings that say what things cost or how the organisation's machinery behaves, per section.
#: A bundle decides *when* and *how*; it may not make jobs free or releases unbreakable.
FACTS = {
    "retraining": {"compute_cost", "engineer_hours", "duration", "human_delay"},
    "deployment": {"failure_rate", "lead_time", "engineer_hours", "retry_delay", "max_attempts"},
    "monitoring": {"alert_hours", "outage_detection", "silent_failure_detection", "security_detection"},
    "incidents": {"repair_time", "responders"},
    "autoscaling": {"provisioning_delay"},
}
#: Shape, params, loading, yes-or-no answers, the same twice, the other policies, a valid override, each run.
CHECKS = 7 + len(RUNS)
SECTIONS = ("monitoring", "retraining", "deployment", "incidents", "autoscaling", "shedding")


def lockdown_scenario(seed: int = 42, label_delay: str = "45d", drift_at: str | None = "15d", width: str = "21d",
                      levels: tuple[int, ...] = (3,), bundle: Mapping | None = None, rate: str | None = None,
                      sample_per_day: int | None = None, prices: Mapping | None = None) -> simulator.Scenario:
    """``fraud_covid`` started on 1 March 2020, the shift to online payments ``drift_at`` in (None: no shift).

    ``bundle`` becomes level 3's overrides, with ``prices`` (``compute_cost``,
    ``engineer_hours``) laid over its ``retraining`` section. The first model
    is trained on the 90 days before the start (December to February);
    chargebacks arrive ``label_delay`` after each payment. ``rate`` and
    ``sample_per_day`` replace the traffic's (its spikes, months away, are dropped).
    """
    path = scenario_path("fraud_covid")
    base = simulator.load_scenario(path)
    shift = base.drift[0]
    drift = [] if drift_at is None else [{"at": drift_at, "kind": shift.kind, "width": width, "set": dict(shift.set)}]
    domain = {"kind": base.domain.kind, "params": dict(base.domain.params), "label_delay": label_delay,
              "train_window": "90d"}
    replace: dict[str, Any] = {}
    if rate is not None or sample_per_day is not None:
        t = base.traffic
        replace["traffic"] = {"rate": rate or f"{t.rate}/s", "daily_cycle": t.daily_cycle,
                              "weekly_cycle": t.weekly_cycle, "sample_per_day": sample_per_day or t.sample_per_day}
    level = {k: dict(v) if isinstance(v, Mapping) else v for k, v in (bundle or {}).items()}
    if prices:
        level["retraining"] = {**level.get("retraining", {}), **prices}
    overrides = {3: level} if level else {}
    return simulator.load_scenario(path, start="2020-03-01", drift=drift, domain=domain, levels=list(levels),
                                   seed=seed, overrides=overrides, **replace)


def hidden_scenario(run: Run, bundle: Mapping | None = None) -> simulator.Scenario:
    """The scenario of one hidden run, with level 3's overrides ``bundle`` (None: the preset)."""
    prices = {k: v for k, v in (("compute_cost", run.compute_cost), ("engineer_hours", run.engineer_hours))
              if v is not None}
    return lockdown_scenario(run.seed, run.label_delay, DRIFT_AT if run.drift else None, WIDTH, bundle=bundle,
                             rate=run.rate, sample_per_day=SAMPLE, prices=prices)


def bundle_problem(bundle: Any) -> str | None:
    """What is wrong with a bundle's shape, in one line, or None."""
    if not isinstance(bundle, Mapping) or not bundle:
        return (f"the bundle should be a dict of level sections such as {{'retraining': {{'policy': ..., "
                f"'params': {{...}}}}}}, not {bundle!r}")
    unknown = [k for k in bundle if k not in SECTIONS]
    if unknown:
        return f"unknown section {unknown[0]!r}: a bundle's sections are {', '.join(SECTIONS)}"
    retraining = bundle.get("retraining")
    if not isinstance(retraining, Mapping) or not retraining.get("policy"):
        return ("the bundle's 'retraining' section names no policy class of yours: "
                "add 'policy': '__main__:YourClass'")
    for section, facts in FACTS.items():
        settings = bundle.get(section)
        if isinstance(settings, Mapping):
            for key in settings:
                if key in facts:
                    return (f"'{section}.{key}' is a price or a fact of the organisation, not a policy: "
                            "leave it to the preset")
    return None


def _views() -> list[WorldView]:
    """Made-up days a retraining policy must answer: quiet, drifting, decayed on labels in hand, busy."""
    first = ModelInfo(1, 0.0, -90 * DAY, 0.0, 720_000, 0.995)
    second = ModelInfo(2, 40 * DAY, -15 * DAY, 15 * DAY, 240_000, 0.99)
    day = {"auc": 0.99, "pr_auc": 0.6, "recall_at_budget": 0.8}
    common = dict(replicas=3, arrival_rate=50.0, service_mean=0.02, level=3)
    quiet = WorldView(now=5 * DAY, drift_score=0.01, decay=float("nan"), last_retrain=None, pipeline_busy=False,
                      registry=(first,), live_version=1, **common)
    drifting = WorldView(now=20 * DAY, drift_score=0.35, decay=float("nan"), last_retrain=None,
                         pipeline_busy=False, alerts=(Alert(20 * DAY, "data_drift", 0.35, "data drift"),),
                         registry=(first,), live_version=1, **common)
    labelled = tuple({**day, "day": d, "auc": 0.8, "model_version": 1} for d in range(20, 27))
    decayed = WorldView(now=50 * DAY, drift_score=0.5, decay=0.19, last_retrain=40 * DAY, pipeline_busy=False,
                        metrics=labelled, registry=(first, second), live_version=2,
                        alerts=(Alert(50 * DAY, "data_drift", 0.5, "data drift"),), **common)
    return [quiet, drifting, decayed]


def _load(spec: str, params: Mapping, section: str) -> tuple[list, str | None]:
    """Two fresh copies of a named policy, or the reason it does not load."""
    try:
        return [load_user_policy(spec, dict(params), section) for _ in range(2)], None
    except PolicyImportError as exc:
        return [], str(exc)


def _is_yes_or_no(answer: Any) -> bool:
    return isinstance(answer, (bool, np.bool_))


@lru_cache(maxsize=len(RUNS))
def _preset_run(run: Run) -> dict:
    """Level 3's summary on a hidden run (cached: every bundle is compared with the same run)."""
    return simulator.run(hidden_scenario(run), days=DAYS).summary["levels"]["3"]


def _auc(summary: dict) -> str:
    value = summary["model"]["post_drift"]
    return "n/a" if value is None else f"{value:.3f}"


def _money(x: float) -> str:
    return f"${x / 1e6:,.2f}M" if abs(x) >= 1e6 else f"${x:,.0f}"


def _lost(run: Run, mine: dict, preset: dict) -> str | None:
    """Why the bundle lost ``run`` against level 3 (its ``summary`` against the preset's), or None if it did not."""
    ours, theirs = mine["cost"]["total"], preset["cost"]["total"]
    if ours <= theirs * (1 - run.must_save):
        return None
    target = (f"at least {run.must_save:.0%} less" if run.must_save > 0
              else f"no more than {-run.must_save:.1%} more")
    auc = f"AUC after the shift {_auc(mine)} vs {_auc(preset)}, " if run.drift else ""
    return (f"on {run.kind}, your bundle cost {_money(ours)} against level 3's {_money(theirs)} "
            f"({ours / theirs - 1:+.1%}; it must cost {target}): retrains {mine['retrains']} vs "
            f"{preset['retrains']}, {auc}model errors {_money(mine['cost']['model_errors'])} vs "
            f"{_money(preset['cost']['model_errors'])}: {run.question}")


def check_bundle(bundle: Mapping) -> None:
    """Grade a bundle (level 3's overrides naming the student's policies) against the level 3 preset."""
    ex = EXERCISE
    problem = bundle_problem(bundle)
    verify(ex, problem is None, problem or "")
    section = bundle["retraining"]
    params = section.get("params", {}) or {}
    verify(ex, isinstance(params, Mapping),
           f"'retraining.params' should be a dict of keyword arguments, not {params!r}")
    policies, problem = _load(section["policy"], params, "retraining")
    verify(ex, problem is None, f"the retraining policy does not load: {problem}")
    # The same made-up days, asked of two fresh copies, in the same order: yes or no, the same both times.
    answers = [[call(ex, p.should_retrain, v) for v in _views()] for p in policies]
    for answer in answers[0]:
        verify(ex, _is_yes_or_no(answer), f"should_retrain should return True or False, not {answer!r}")
    verify(ex, answers[0] == answers[1],
           f"two fresh copies of your policy answered the same days differently ({answers[0]} then "
           f"{answers[1]}): keep state in the instance, not in class or global variables")
    for name in ("monitoring", "deployment", "autoscaling"):
        spec = bundle.get(name)
        if isinstance(spec, Mapping) and isinstance(spec.get("policy"), str) and ":" in spec["policy"]:
            _, problem = _load(spec["policy"], spec.get("params") or {}, name)
            verify(ex, problem is None, f"the {name} policy does not load: {problem}")
    # The hidden runs: level 3 as shipped against level 3 with the bundle, same traffic, same prices.
    problem = None
    try:
        scenarios = [hidden_scenario(run, bundle) for run in RUNS]
    except simulator.ScenarioError as exc:
        problem = str(exc)
    verify(ex, problem is None, f"the bundle is not a valid level 3 override: {problem}")
    lost = []
    for run, sc in zip(RUNS, scenarios):
        mine = call(ex, simulator.run, sc, days=DAYS).summary["levels"]["3"]
        why = _lost(run, mine, _preset_run(run))
        if why:
            lost.append(why)
    verify(ex, not lost, f"your bundle lost {len(lost)} of {len(RUNS)} hidden runs to level 3; "
                         + "; and ".join(lost))
    passed(ex, CHECKS)
