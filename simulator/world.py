"""One level's world: a SimPy environment that owns time and the control plane.

Control events — retraining jobs, deploys, canaries, rollbacks, incidents,
scaling — are SimPy processes. The data plane (:mod:`simulator.dataplane`)
is vectorised; before any control event changes what serves traffic,
:meth:`World.flush` serves every tick up to now under the old state, so a
change takes effect from the tick it happens in.
"""
from __future__ import annotations

import math
from collections import deque

import numpy as np
import simpy

from .dataplane import DataPlane, Release
from .detectors import FeatureDrift
from .domains import Domain
from .ledger import EventLog
from .levels import LevelConfig
from .monitoring import Reference
from .errors import RunFailure
from .policies import contract
from .policies import (Alert, CanaryCheck, DayObservation, ModelInfo, TargetUtilisation, WorldView,
                       autoscaling_policy, deployment_policy, monitoring_policy, policy_name, retraining_policy)
from .registry import BrokenScorer, ModelRegistry, ModelVersion, ReferenceSample
from .rng import stream, training_stream
from .scenario import Scenario
from .serving import queue_for
from .serving.failures import DEPLOY_FAULTS, SLOWDOWN, pick_fault
from .serving.queueing import ServiceModel
from .store import TrafficStore
from .traffic import DAY

_NAN = float("nan")
_SCALE_CHECK = 300.0       # the autoscaler looks at the last 5 minutes, every 5 minutes
_DECAY_DAYS = 7            # the decay monitor averages the last week of labelled days
_MANUAL_SCALE_TARGET = 0.7  # utilisation a responder sizes the service for when scaling by hand
_MIN_MONITOR_LABELS = 500  # labels the performance monitor needs before it reports
_MONITOR_ROWS = 20_000     # rows it scores at most
_DRIFT_ROWS = 4000         # rows a day's drift check looks at


def train_model(store: TrafficStore, domain: Domain, data_end: float, window: float, now: float,
                number: int, rng: np.random.Generator, reference_rows: int = 20_000,
                known_at: float | None = None) -> ModelVersion:
    """Fit a model version on the labelled requests of ``[data_end - window, data_end)``.

    With ``known_at``, only labels that have arrived by then are used. A
    fifth of the rows is held out for the version's reference metric; a
    uniform sample of the window summarises its inputs for drift checks.
    """
    data_start = data_end - window
    rows = store.labelled(data_start, data_end, known_at)
    y = rows["label"]
    holdout = rng.random(len(y)) < 0.2
    train_idx = np.flatnonzero(~holdout)
    picked, weight = domain.training_sample(y[train_idx], rng)
    train_idx = train_idx[picked]
    scorer = domain.fit(store.features_of(rows, train_idx), y[train_idx], weight, rng)
    hold_idx = np.flatnonzero(holdout)
    if len(hold_idx) > reference_rows:
        hold_idx = np.sort(rng.choice(hold_idx, size=reference_rows, replace=False))
    ref_metric = domain.metrics(y[hold_idx], scorer.score(store.features_of(rows, hold_idx)))[domain.metric]
    uniform = np.linspace(0, len(y) - 1, min(len(y), reference_rows)).astype(np.int64)
    reference = Reference.from_rows({k: v[uniform] for k, v in rows.items()}, domain.drift_columns)
    score_ref = Reference.from_rows({"score": scorer.score(store.features_of(rows, uniform))}, ["score"])
    sample = ReferenceSample({k: np.asarray(rows[k][uniform]) for k in domain.drift_columns})
    return ModelVersion(number, now, data_start, data_end, len(y), scorer, float(ref_metric), reference, score_ref,
                        sample)


class PolicyFailure(RunFailure):
    """A policy raised (or answered nonsense) while the run was going: exit status 1."""


def drift_detail(truth: dict) -> str:
    """One line of a drift's ground truth for events.csv, e.g. ``gradual drift 0 of concept, covariate; ...``."""
    features = ", ".join(truth["features"]) or "none"
    return (f"{truth['shape']} drift {truth['event']} of {', '.join(truth['distributions'])}; "
            f"moves {features}; sets {', '.join(truth['params'])}")


class World:
    """The simulation of one maturity level over the shared traffic."""

    def __init__(self, scenario: Scenario, level: int, config: LevelConfig, domain: Domain,
                 store: TrafficStore, service: ServiceModel, initial_model: ModelVersion) -> None:
        self.sc = scenario
        self.level = level
        self.cfg = config
        self.domain = domain
        self.store = store
        self.env = simpy.Environment()
        self.events = EventLog(level)
        # Older versions' training samples wait in the traffic's spill folder until a rollback needs one.
        self.registry = ModelRegistry(spill=store.spill, tag=f"L{level}")
        self.registry.add(initial_model)
        shed_after = config.shedding.after if config.shedding.enabled else None

        queue = queue_for(scenario, service, shed_after)
        self.plane = DataPlane(scenario, level, domain, store, queue, Release(initial_model, initial_model.scorer))
        self.retrain_policy = retraining_policy(config.retraining, config.monitoring)
        self.monitor_policy = monitoring_policy(config.monitoring, config.retraining.decay_threshold)
        self.deploy_policy = deployment_policy(config.deployment)
        self.scale_policy = autoscaling_policy(config.autoscaling)
        self.alerts_today: tuple[Alert, ...] = ()
        self.psi_today: dict[str, float] = {}
        self.drift_report = None  # today's two-sample tests, at a level that runs them
        self._registry_view: tuple[ModelInfo, ...] = ()
        self._detectors: dict[int, FeatureDrift] = {}  # per model version
        self.score_psi_today = float("nan")
        self._deploy_rng = stream(scenario.seed, "deploy", level)
        self.pipeline_busy = False
        self.last_retrain: float | None = None
        self.incident_open = False
        self._scaling = False
        self._last_scale = -math.inf
        self.daily: list[dict] = []
        self.lead_times: list[float] = []
        self.drift_now = 0.0
        self._drift_monitored = bool(config.monitoring.drift)
        # Served scores of recent days, for a performance monitor that waits on random labels.
        self._served: deque | None = None
        if config.monitoring.performance and not scenario.domain.labels_complete:
            keep = int(math.ceil(scenario.domain.label_delay.latest / DAY)) + _DECAY_DAYS + 1
            self._served = deque(maxlen=keep)
        self.events.add(0.0, "deployed", initial_model.version, "initial model")
        for truth in store.schedule.truth(domain.param_targets, scenario.duration):
            detail = drift_detail(truth)
            self.events.add(truth["start"], "drift_started", None, detail)
            if truth["end"] > truth["start"] and truth["end"] <= scenario.duration:
                self.events.add(truth["end"], "drift_ended", None, detail)
        self.env.process(self._daily())
        self.env.process(self._watch())
        for release in scenario.releases:
            self.env.process(self._scripted_release(release.at, release.fault))
        for event in scenario.data_path:
            self.env.process(self._data_path_event(event))
        self._random_failures = scenario.serving.failures == "random"
        if self._random_failures:
            self.env.process(self._replica_crashes())
        if config.autoscaling.policy != "none":
            # The built-in target-utilisation rule, unless a subclass changed how it decides.
            rule = self.scale_policy
            self._load_rule = (rule if isinstance(rule, TargetUtilisation)
                               and type(rule).desired_replicas is TargetUtilisation.desired_replicas else None)
            self.env.process(self._autoscaler())

    def _ask(self, policy, method: str, *args, at: float | None = None, bounds: tuple[int, int] | None = None):
        """Call a policy (for time ``at``, if not now) and return its checked answer.

        A breach of the policy contract (:mod:`simulator.policies.contract`: an
        answer of the wrong kind or out of ``bounds``, an exception or
        ``sys.exit``, a user plug-in's call past the scenario's
        ``policy_timeout``) stops the run with one line naming the policy, the
        method, the level and the time.
        """
        try:
            return contract.ask(policy, method, args, timeout=self.sc.policy_timeout, bounds=bounds)
        except contract.Breach as exc:
            raise PolicyFailure(f"policy {policy_name(policy)}.{method} {exc} {self._when(at)}") from None

    def _when(self, at: float | None = None) -> str:
        """``(level L, simulated day D)`` for a policy failure at ``at`` (default: now)."""
        return f"(level {self.level}, simulated day {(self.env.now if at is None else at) / DAY:.2f})"

    @property
    def costs(self) -> dict:
        """The scenario's cost settings, in dollars."""
        return self.plane.costs

    def charge(self, category: str, dollars: float) -> None:
        """Book a control-plane cost now."""
        self.plane.charge(category, dollars, self.env.now)

    # ------------------------------------------------------------ data plane
    def flush(self) -> None:
        """Serve every tick before now; open an incident if requests started failing."""
        self.plane.first_bad_time = None
        bad = self.plane.serve_until(self.env.now)
        if bad and not self.plane.down and not self.incident_open:
            self.incident_open = True
            self.env.process(self._overload_incident(self.plane.first_bad_time))
        if self.plane.oom_time is not None:
            self._out_of_memory()

    def _out_of_memory(self) -> None:
        """The queue outgrew the replicas' memory: every serving replica crashes and restarts."""
        plane = self.plane
        lost = plane.replicas - plane.crashed
        self.events.add(self.env.now, "replica_crash", plane.live.model.version,
                        f"out of memory: {plane.oom_load:.0f} requests in flight per replica, budget "
                        f"{self.sc.serving.concurrency_budget}; {lost} replicas restarting")
        plane.oom_time = None
        plane.crashed = plane.replicas
        plane.queue.drop_backlog(self.env.now)
        self.env.process(self._restart(self.sc.serving.restart_time, lost))

    def finish(self) -> None:
        """Serve up to the end of the run and close the last (possibly partial) day."""
        self.flush()
        if self.plane.cursor > self.plane.day_index * DAY + 1e-9:
            self._close_day()

    def _close_day(self) -> None:
        d = self.plane.day_index
        day = self.store.day(d)
        scores = self.plane.day_scores
        scored = ~np.isnan(scores) if scores is not None else np.zeros(len(day.times), bool)
        labels = day.rows["label"][scored]
        metrics = self.domain.metrics(labels, scores[scored]) if scored.any() else {self.domain.metric: float("nan")}
        # Drift is checked on an evenly spread subset: enough for PSI on deciles.
        subset = np.flatnonzero(scored)[:: max(1, int(scored.sum()) // _DRIFT_ROWS)]
        rows = {k: v[subset] for k, v in day.rows.items()}
        live = self.plane.live.model
        self.psi_today = live.reference.psi(rows) if scored.any() else {}
        self.drift_report = None
        mon = self.cfg.monitoring
        if mon.drift and mon.drift_test == "ks_chi2" and scored.any() and live.reference_rows is not None:
            if live.version not in self._detectors:
                detector = FeatureDrift(self.domain.drift_columns, alpha=mon.drift_alpha,
                                        psi_threshold=mon.drift_threshold)
                # Read back from disk if the version is not the newest (a rollback); the detector keeps its own copy.
                self._detectors = {live.version: detector.fit(live.reference_rows.rows())}
            self.drift_report = self._detectors[live.version].check(rows)
        self.drift_now = max(self.psi_today.values()) if self.psi_today else 0.0
        self.score_psi_today = (live.score_reference.psi({"score": scores[subset]})["score"]
                                if scored.any() else float("nan"))
        self.daily.append({"day": d, "level": self.level, **metrics, "drift_score": self.drift_now,
                           "model_version": self.plane.live.model.version})
        if self._served is not None and scored.any():
            idx = np.flatnonzero(scored)
            self._served.append((d, self.plane.live.model.version, idx, scores[idx].astype(np.float32)))
        self.plane.close_day(metrics, self.drift_now)

    # ------------------------------------------------------------- processes
    def _daily(self):
        """At each day's end: the day's metric and drift score, then the retraining decision."""
        while True:
            yield self.env.timeout(DAY)
            self.flush()
            self._close_day()
            view = self.view(with_decay=True)
            self._monitor(view)
            view = view._replace(alerts=self.alerts_today)
            if not self.pipeline_busy and self._ask(self.retrain_policy, "should_retrain", view):
                self.env.process(self._pipeline(view))

    def _monitor(self, view: WorldView) -> None:
        """The day's observations through the level's monitoring policy; each alert costs triage time."""
        live = self.plane.live.model
        in_hand = float("nan")
        if not math.isnan(view.decay):
            in_hand = live.reference_metric - (view.decay if self.domain.higher_is_better else -view.decay)
        health = self.plane.last_day_health
        obs = DayObservation(self.plane.day_index - 1,
                             self.psi_today if self.cfg.monitoring.drift else {},
                             self.score_psi_today if self.cfg.monitoring.drift else float("nan"),
                             in_hand, view.decay, health[0], health[1], self.drift_report)
        alerts = self._ask(self.monitor_policy, "alerts", view, obs)  # a checked tuple of Alert
        for alert in alerts:
            self.events.add(self.env.now, "alert", live.version, alert.detail or alert.kind)
        if alerts:
            self.charge("people", len(alerts) * self.cfg.monitoring.alert_hours * self.costs["engineer_hour"])
        self.alerts_today = alerts

    def view(self, with_decay: bool = False, at: float | None = None) -> WorldView:
        """The read-only view policies decide on (``at``: the time it is for, if not now)."""
        now = self.env.now if at is None else at
        metrics = ()
        # Built for the daily decisions only: the autoscaler asks every five minutes.
        if with_decay and self.cfg.monitoring.performance:
            labelled_until = now - self.sc.domain.label_delay.median
            recent = [r for r in self.daily[-60:] if (r["day"] + 1) * DAY <= labelled_until][-_DECAY_DAYS:]
            metrics = tuple({k: v for k, v in r.items() if k not in ("level", "drift_score")} for r in recent)
        if len(self._registry_view) != len(self.registry.versions):  # rebuilt only when a version is added
            self._registry_view = tuple(ModelInfo(m.version, m.trained_at, m.data_start, m.data_end, m.rows,
                                                  m.reference_metric) for m in self.registry.versions)
        plane = self.plane
        failed_share, latency_p99 = plane.last_day_health
        return WorldView(now, self.drift_now if self._drift_monitored else _NAN,
                         self._decay() if with_decay else _NAN, self.last_retrain, self.pipeline_busy,
                         plane.replicas, plane.recent_arrival_rate(now, _SCALE_CHECK), plane.queue.service.mean,
                         self.level, metrics, self.alerts_today, self._registry_view, plane.live.model.version,
                         failed_share, latency_p99)

    def _decay(self) -> float:
        """Reference metric minus the metric of the latest labelled days the live model served."""
        if not self.cfg.monitoring.performance:
            return float("nan")
        if not self.sc.domain.labels_complete:
            return self._decay_from_arrived_labels()
        labelled_until = self.env.now - self.sc.domain.label_delay.earliest
        live = self.plane.live.model
        values = []
        for r in reversed(self.daily):
            if r["model_version"] != live.version or len(values) == _DECAY_DAYS:
                break
            if (r["day"] + 1) * DAY <= labelled_until and not math.isnan(r[self.domain.metric]):
                values.append(r[self.domain.metric])
        if len(values) < _DECAY_DAYS:
            return float("nan")
        gap = live.reference_metric - float(np.mean(values))
        return gap if self.domain.higher_is_better else -gap

    def _decay_from_arrived_labels(self) -> float:
        """The decay on the labels in hand now, over the live model's latest week of served scores.

        With random delays and unlabelled requests, a day is never complete:
        the monitor scores what has arrived (an unbiased sample of the day when
        the delay does not depend on the request), as a real one would, on the
        latest days with at least half their labels in.
        """
        labelled_until = self.env.now - self.sc.domain.label_delay.median
        live = self.plane.live.model
        ys, scores = [], []
        for day, version, idx, day_scores in reversed(self._served):
            if version != live.version or len(ys) == _DECAY_DAYS:
                break
            if (day + 1) * DAY > labelled_until:
                continue
            known = self.store.day(day).known(self.env.now)
            keep = known[idx] if known is not None else np.ones(len(idx), dtype=bool)
            ys.append(self.store.day(day).rows["label"][idx[keep]])
            scores.append(day_scores[keep])
        if len(ys) < _DECAY_DAYS:
            return float("nan")
        y, s = np.concatenate(ys), np.concatenate(scores)
        if len(y) < _MIN_MONITOR_LABELS:
            return float("nan")
        step = max(1, len(y) // _MONITOR_ROWS)  # an even subsample keeps the daily check cheap
        value = self.domain.metrics(y[::step], s[::step])[self.domain.metric]
        if math.isnan(value):
            return float("nan")
        gap = live.reference_metric - value
        return gap if self.domain.higher_is_better else -gap

    def _pipeline(self, view: WorldView | None, reason: str | None = None, fault: str | None = None):
        """A retraining job and the deployment of its model (``fault`` forces its first release's fault)."""
        cfg = self.cfg.retraining
        self.pipeline_busy = True
        self.last_retrain = self.env.now
        self.events.add(self.env.now, "retrain_requested", None,
                        reason or self._ask(self.retrain_policy, "reason", view))
        if cfg.human_delay > 0 and reason is None:
            yield self.env.timeout(cfg.human_delay)
        started = self.env.now
        self.charge("people", cfg.engineer_hours * self.costs["engineer_hour"])
        self.charge("infrastructure", cfg.compute_cost)
        yield self.env.timeout(cfg.duration)
        number = self.registry.next_number()
        data_end = started - self.sc.domain.label_delay.earliest
        # Expanding: everything labelled since the first model's window began.
        window = cfg.window if cfg.window_mode == "sliding" else data_end + self.sc.domain.train_window
        rng, stream_name = training_stream(self.sc.seed, data_end - window, data_end, started)
        model = self.registry.add(train_model(
            self.store, self.domain, data_end, window, self.env.now, number, rng, known_at=started))
        self.events.add(self.env.now, "retrained", model.version,
                        f"data days {model.data_start / DAY:.1f} to {model.data_end / DAY:.1f} ({cfg.window_mode}), "
                        f"{model.rows} labelled rows, seed stream {stream_name}, "
                        f"holdout {self.domain.metric} {model.reference_metric:.3f}")
        yield from self._deploy(model, fault)
        self.pipeline_busy = False

    def _scripted_release(self, at: float, fault: str):
        """A release the scenario ships at ``at`` (after any job already running)."""
        yield self.env.timeout(at)
        while self.pipeline_busy:
            yield self.env.timeout(3600.0)
        yield from self._pipeline(None, reason="scripted release", fault=fault)

    def _deploy(self, model: ModelVersion, forced: str | None = None):
        dep = self.cfg.deployment
        ready = self.env.now
        for attempt in range(1, dep.max_attempts + 1):
            yield self.env.timeout(dep.lead_time)
            self.charge("people", dep.engineer_hours * self.costs["engineer_hour"])
            fault = pick_fault(*self._deploy_rng.random(2), rate=dep.failure_rate if self._random_failures else 0.0)
            if attempt == 1 and forced is not None:
                fault = next((f for f in DEPLOY_FAULTS if f.name == forced), None)
            effect = fault.effect if fault else None
            release = Release(model, BrokenScorer(model.scorer) if effect == "silent" else model.scorer, effect)
            self.events.add(self.env.now, "deploy_started", model.version, f"attempt {attempt}, {dep.strategy}")
            if effect == "security":
                if dep.secret_scanning:
                    self.events.add(self.env.now, "deploy_failed", model.version,
                                    f"{fault.name}: {fault.story}; caught by secret scanning")
                    yield self.env.timeout(dep.retry_delay)
                    continue
                # The release serves well; the leak is found later.
                release = Release(model, model.scorer, None)
                self.env.process(self._security_incident(fault, model.version))
            if effect == "crash" and dep.health_checks:
                self.events.add(self.env.now, "deploy_failed", model.version,
                                f"{fault.name}: {fault.story}; caught by health check")
            else:
                staged = dep.strategy in ("canary", "shadow") or dep.canary_steps or dep.canary_share < 1.0
                passed = True
                if dep.strategy == "ab_test":
                    passed = yield from self._ab_test(release, fault)
                    if not passed:
                        return  # the champion stays: no retry of a challenger that lost
                elif staged:
                    passed = yield from self._canary(release, fault)
                if passed:
                    previous = self.plane.live
                    if dep.strategy == "blue_green":
                        # The old (blue) pool stays up beside the new one while the release bakes.
                        self._charge_second_pool(dep.canary_duration)
                    self._go_live(release, ready)
                    if release.fault is None:
                        return
                    yield from self._bad_release(release, previous, fault)
            yield self.env.timeout(dep.retry_delay)
        self.events.add(self.env.now, "deploy_abandoned", model.version, f"{dep.max_attempts} attempts failed")

    def _go_live(self, release: Release, ready: float) -> None:
        self.flush()
        self.plane.set_live(release)
        if release.fault is None:
            self.lead_times.append(self.env.now - ready)
            self.events.add(self.env.now, "deployed", release.model.version, "")

    def _bad_release(self, release: Release, previous: Release, fault):
        """A broken release took all traffic: detect it, roll it back, count the people."""
        mon, inc = self.cfg.monitoring, self.cfg.incidents
        detect = mon.silent_failure_detection if release.fault == "silent" else mon.outage_detection
        if release.fault == "crash":
            self.events.add(self.env.now, "incident", release.model.version, "release crashes on start: service down")
        yield self.env.timeout(detect)
        self.events.add(self.env.now, "deploy_failed", release.model.version, f"{fault.name}: {fault.story}")
        blue_green = self.cfg.deployment.strategy == "blue_green"
        if blue_green and detect <= self.cfg.deployment.canary_duration:
            # The old pool is still up: switching back is one step.
            self.flush()
            self.plane.set_live(previous)
            self.events.add(self.env.now, "rollback", previous.model.version,
                            f"blue-green switch back, {detect / 3600:.1f} h after release")
            return
        yield self.env.timeout(inc.repair_time)
        self._charge_repair()
        self.flush()
        self.plane.set_live(previous)
        self.events.add(self.env.now, "rollback", previous.model.version,
                        f"by hand, {(detect + inc.repair_time) / 3600:.1f} h after release")

    def _charge_second_pool(self, duration: float) -> None:
        """Replica-hours of a second pool as large as the live one, kept up for ``duration``."""
        self.charge("infrastructure", self.plane.replicas * duration / 3600.0 * self.sc.serving.cost_per_replica_hour)

    def _charge_repair(self) -> None:
        """The responders' time for one repair."""
        inc = self.cfg.incidents
        self.charge("people", inc.responders * inc.repair_time / 3600.0 * self.costs["engineer_hour"])

    def _security_incident(self, fault, version: int):
        """A leaked credential, found after the level's security detection time."""
        mon, inc = self.cfg.monitoring, self.cfg.incidents
        yield self.env.timeout(mon.security_detection)
        self.events.add(self.env.now, "security_incident", version, f"{fault.name}: {fault.story}")
        self.charge("outage", self.costs["security_incident"])
        self.charge("people", inc.responders * 8.0 * self.costs["engineer_hour"])  # a day to rotate and audit

    def _canary(self, release: Release, fault=None):
        """Serve the candidate to a share of traffic (each of ``canary_steps`` in turn), judging it after each.

        A ``shadow`` candidate scores a copy of every request and serves none.
        The judge is the level's deployment policy; it sees the parity check —
        the scores the candidate served against the registry model's own
        scores on the same requests (PSI: a healthy build gives 0) — and its
        speed against the live release's. A candidate that never started is
        rolled back whatever the policy says.
        """
        dep = self.cfg.deployment
        shadow = dep.strategy == "shadow"
        steps = [0.0] if shadow else list(dep.canary_steps or [dep.canary_share])
        name = f"{fault.name}: " if fault else ""
        if release.fault == "crash":
            self.events.add(self.env.now, "deploy_failed", release.model.version, f"{name}canary failed to start")
            self.events.add(self.env.now, "rollback", self.plane.live.model.version, "automated, canary")
            return False
        plane = self.plane
        for step, share in enumerate(steps):
            self.flush()
            plane.canary, plane.canary_share, plane.canary_scores, plane.canary_offline = release, share, [], []
            yield self.env.timeout(dep.canary_duration)
            self.flush()
            plane.canary = None
            if shadow:  # a second pool scores the copy of the traffic
                self._charge_second_pool(dep.canary_duration)
            moved = float("nan")
            if plane.canary_scores:
                offline = Reference.from_rows({"score": np.concatenate(plane.canary_offline)}, ["score"])
                moved = offline.psi({"score": np.concatenate(plane.canary_scores)})["score"]
            check = CanaryCheck(share, step, moved, SLOWDOWN if release.fault == "slow" else 1.0, True)
            if dep.auto_rollback and self._ask(self.deploy_policy, "should_rollback", self.view(), check):
                why = (f"canary latency {check.latency_ratio:.0f}x the live release's" if check.latency_ratio > 1
                       else f"canary scores differ from the registry model's (PSI {moved:.2f})")
                self.events.add(self.env.now, "deploy_failed", release.model.version, f"{name}{why}")
                self.events.add(self.env.now, "rollback", plane.live.model.version,
                                f"automated, {'shadow' if shadow else f'canary step {step + 1} at {share:.0%}'}")
                return False
        return True

    def _ab_test(self, release: Release, fault=None):
        """Champion against challenger: split the traffic, wait for the labels, test which costs less.

        The challenger serves ``canary_share`` of requests for ``canary_duration``.
        Once the labels of that window have arrived (the median label delay),
        a one-sided Welch t-test on the decision cost per request
        (scipy.stats.ttest_ind) promotes the challenger only if it is cheaper
        at level ``ab_alpha``.
        """
        from scipy.stats import ttest_ind

        dep = self.cfg.deployment
        if release.fault == "crash":
            self.events.add(self.env.now, "deploy_failed", release.model.version, "challenger failed to start")
            return False
        plane = self.plane
        self.flush()
        plane.canary, plane.canary_share, plane.canary_scores, plane.canary_offline = release, dep.canary_share, [], []
        plane.ab_rows = []
        yield self.env.timeout(dep.canary_duration)
        self.flush()
        plane.canary, rows, plane.ab_rows = None, plane.ab_rows, None
        yield self.env.timeout(self.sc.domain.label_delay.median)
        arm = np.concatenate([r[0] for r in rows]) if rows else np.zeros(0, bool)
        cost = np.concatenate([r[1] for r in rows]) if rows else np.zeros(0)
        if arm.sum() < 2 or (~arm).sum() < 2:
            self.events.add(self.env.now, "ab_test", release.model.version, "too few requests to decide: champion stays")
            return False
        test = ttest_ind(cost[arm], cost[~arm], equal_var=False, alternative="less")
        won = bool(test.pvalue < dep.ab_alpha)
        verdict = "challenger wins" if won else "champion stays"
        self.events.add(self.env.now, "ab_test", release.model.version,
                        f"cost per request {cost[arm].mean():.4f} (challenger) vs {cost[~arm].mean():.4f} "
                        f"(champion), p = {test.pvalue:.3g}: {verdict}")
        return won

    def _data_path_event(self, event):
        """Break the data path at ``event.at`` for ``event.duration``."""
        yield self.env.timeout(event.at)
        self.flush()
        self.plane.set_data_path([*self.plane.data_path, event])
        detail = event.kind + (f" ({event.feature})" if event.feature else "")
        self.events.add(self.env.now, "data_path_failure", self.plane.live.model.version, detail)
        yield self.env.timeout(event.duration)
        self.flush()
        self.plane.set_data_path([e for e in self.plane.data_path if e is not event])
        self.events.add(self.env.now, "data_path_restored", self.plane.live.model.version, detail)

    def _replica_crashes(self):
        """Each serving replica crashes after an exponential time (mean ``replica_mtbf``) and restarts.

        The crashes of n serving replicas form a Poisson process of rate n/mtbf
        that changes as replicas crash, restart and scale; it is drawn by
        thinning one of rate bound/mtbf, each candidate kept with probability
        n/bound. The bound is twice the pool at each draw: exact unless the
        pool more than doubles before the next candidate.
        """
        rng = stream(self.sc.seed, "crashes", self.level)
        mtbf, restart = self.sc.serving.replica_mtbf, self.sc.serving.restart_time
        while True:
            bound = 2 * max(self.plane.replicas, 1)
            yield self.env.timeout(rng.exponential(mtbf / bound))
            up = self.plane.replicas - self.plane.crashed
            if rng.random() * bound >= up:
                continue
            self.flush()
            self.plane.crashed += 1
            self.events.add(self.env.now, "replica_crash", self.plane.live.model.version,
                            f"{self.plane.replicas - self.plane.crashed} of {self.plane.replicas} serving")
            self.env.process(self._restart(restart))

    def _restart(self, after: float, count: int = 1):
        yield self.env.timeout(after)
        self.flush()
        self.plane.crashed = max(self.plane.crashed - count, 0)

    def _watch(self):
        """Serve risky ticks as they happen, so that failing requests are noticed on time."""
        while True:
            day_end = (math.floor(self.env.now / DAY + 1e-9) + 1) * DAY
            risky = self.plane.next_risky_time(self.env.now, day_end)
            if risky is None:
                yield self.env.timeout(day_end - self.env.now)
                continue
            yield self.env.timeout(risky + self.sc.tick - self.env.now)
            self.flush()

    def _overload_incident(self, start: float):
        """Requests are failing since ``start``: notice it, repair it (add replicas by hand), close it."""
        mon, inc = self.cfg.monitoring, self.cfg.incidents
        self.events.add(start, "incident", self.plane.live.model.version, "requests failing")
        detect_at = start + mon.outage_detection
        if detect_at > self.env.now:
            yield self.env.timeout(detect_at - self.env.now)
        self.flush()
        if self.plane.last_bad_time < detect_at - self.sc.tick - 1e-9:
            self.events.add(self.env.now, "incident_resolved", None, "cleared before anyone noticed")
            self.incident_open = False
            return
        self.events.add(self.env.now, "incident_detected", None, "")
        yield self.env.timeout(inc.repair_time)
        self._charge_repair()
        self.flush()
        rate = self.plane.recent_arrival_rate(self.env.now, 3600.0)
        need = math.ceil(rate * self.plane.queue.service.mean / _MANUAL_SCALE_TARGET)
        if need > self.plane.replicas and self.plane.last_bad_time >= self.env.now - 3600.0:
            self._set_replicas(need, "incident response: manual scale-out")
        self.events.add(self.env.now, "incident_resolved", None, "")
        self.incident_open = False

    def _autoscaler(self):
        cfg = self.cfg.autoscaling
        env = self.env
        at = env.now
        while True:
            at += _SCALE_CHECK
            # Only events change the world. While none is due before the next check, the
            # policy is asked ahead, on the view it would get then, and the process sleeps
            # only until a check that acts: most checks change nothing.
            ahead = env.now < env.peek() < math.inf and env.peek() > at
            if not ahead:
                yield env.timeout(at - env.now)
                want = self._desired_replicas(at)
            elif self._load_rule is not None:
                # The built-in rule depends on nothing but the load: every check before
                # the next event is answered at once, and the first that acts is taken.
                times = [at]
                while times[-1] + _SCALE_CHECK < env.peek():
                    times.append(times[-1] + _SCALE_CHECK)
                wants = self._load_rule.desired_for_rates(self.plane.recent_arrival_rates(times, _SCALE_CHECK),
                                                          self.plane.replicas, self.plane.queue.service.mean)
                acts = self._acts(wants, np.asarray(times))
                if not acts.any():
                    at = times[-1]
                    continue
                first = int(np.argmax(acts))
                at, want = times[first], int(wants[first])
            else:
                want = self._desired_replicas(at)
            if not self._acts(want, at):
                continue
            if ahead:
                yield env.timeout(at - env.now)
            if want > self.plane.replicas:
                self._scaling = True
                self.env.process(self._provision(want, cfg.provisioning_delay))
            else:
                self._set_replicas(want, "autoscaler: scale in")

    def _acts(self, want, at):
        """Whether an answer of ``want`` replicas at ``at`` changes anything (element-wise for arrays)."""
        if self._scaling:
            return np.zeros(np.shape(want), dtype=bool)
        replicas = self.plane.replicas
        return (want > replicas) | ((want < replicas) & (at - self._last_scale >= self.cfg.autoscaling.cooldown))

    def _desired_replicas(self, at: float) -> int:
        """Ask the autoscaling policy for the replica count at time ``at``: a whole number within the
        level's ``min_replicas``..``max_replicas`` (and the scenario's bound on replicas), or the run stops."""
        auto = self.cfg.autoscaling
        bounds = (auto.min_replicas, min(auto.max_replicas, contract.max_replicas()))
        return self._ask(self.scale_policy, "desired_replicas", self.view(at=at), at=at, bounds=bounds)

    def _provision(self, want: int, delay: float):
        yield self.env.timeout(delay)
        self._set_replicas(max(want, self.plane.replicas), "autoscaler: scale out")
        self._scaling = False

    def _set_replicas(self, count: int, why: str) -> None:
        self.flush()
        if count != self.plane.replicas:
            self.events.add(self.env.now, "scale", self.plane.live.model.version,
                            f"{self.plane.replicas} -> {count}: {why}")
            self.plane.replicas = count
            self.plane.crashed = min(self.plane.crashed, count)  # removed replicas go first if restarting
            self._last_scale = self.env.now
