"""The vectorised data plane of one level: serve ticks, score the sample, book the costs.

It owns the serving state (replicas, backlog, whether the service is down,
which model serves) and the accumulators of the current simulated day, one
slot per report interval. The control plane changes the state only after
:meth:`DataPlane.serve_until` has served every tick before the change.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .domains import Domain, Scorer
from .ledger import BREAKDOWN, CATEGORIES, Ledger, stratified_variance
from .registry import ModelVersion
from .scenario import Scenario
from .serving import ServingQueue
from .serving.failures import SLOWDOWN
from .serving.latency import CENTRES, LatencyHistogram, bin_of, row_quantiles
from .store import TrafficStore
from .traffic import DAY

#: A tick in which at least this share of requests fails counts as downtime.
DOWNTIME_FAILURE_SHARE = 0.05
_COST_INDEX = {c: i for i, c in enumerate(CATEGORIES)}
_PART = {c: i for i, c in enumerate(BREAKDOWN)}  # columns of acc_parts (BREAKDOWN: see simulator.ledger)


@dataclass
class Release:
    """What serves traffic: a model version, and whether this build of it is broken."""

    model: ModelVersion
    scorer: Scorer
    fault: str | None = None   # None, or the effect of its fault: "crash", "silent" or "slow"


class DataPlane:
    """Serving and scoring for one level, a span of ticks at a time."""

    def __init__(self, scenario: Scenario, level: int, domain: Domain, store: TrafficStore,
                 queue: ServingQueue, live: Release) -> None:
        self.sc = scenario
        self.level = level
        self.domain = domain
        self.store = store
        self.data_path: list = []
        self.queue = queue  # tick or request mode: it keeps its own backlog between calls
        self.costs = scenario.costs.model_dump()
        self.ledger = Ledger()
        self.replicas = scenario.serving.replicas
        self.crashed = 0  # replicas restarting after a crash: billed, but serving nothing
        self.down = False
        self.live = live
        self.canary: Release | None = None
        self.canary_share = 1.0
        self.canary_scores: list[np.ndarray] = []
        self.canary_offline: list[np.ndarray] = []
        # A/B test: per sampled row, which arm served it, its decision's cost and its weight.
        self.ab_rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
        self.last_bad_time = -np.inf   # end of the latest tick that counted as downtime
        self.oom_time: float | None = None  # end of the first tick whose queue overran the replicas' memory
        self.oom_load = 0.0            # requests per replica in flight at that tick
        self.cursor = 0.0
        self.first_bad_time: float | None = None
        self.ticks_per_report = int(round(scenario.report_interval / scenario.tick))
        self.reports_per_day = int(round(DAY / scenario.report_interval))
        self.hist = LatencyHistogram()
        self.totals = dict(requests=0.0, failed=0.0, shed=0.0, wait=0.0, downtime_minutes=0.0)
        self.breakdown = dict.fromkeys(BREAKDOWN, 0.0)  # dollars so far in each part
        # Sampling variance of the model-error cost so far (see _score), dollars squared: the
        # days' variances add up (each day's rows are drawn independently). Also per day.
        self.model_errors_variance = 0.0
        self.daily_variances: list[float] = []
        # The report rows, a day's worth of columns at a time (see report_columns).
        self._report_days: list[dict[str, np.ndarray]] = []
        self._cost_so_far = dict.fromkeys([f"cost_{c}" for c in CATEGORIES + BREAKDOWN] + ["cost_cumulative"], 0.0)
        self._pending: list[tuple[float, str, float]] = []
        self.day_index = -1
        self.last_day_health = (0.0, float("nan"))  # failed share and p99 latency (s) of the last closed day
        self._new_day(0)

    # ----------------------------------------------------------------- state
    def _new_day(self, index: int) -> None:
        r = self.reports_per_day
        self.day_index = index
        self.day_scores: np.ndarray | None = None  # allocated when the day's first rows are scored
        self.acc = {k: np.zeros(r) for k in ("requests", "failed", "shed", "downtime", "wait", "latency")}
        self.acc_hist = np.zeros((r, len(CENTRES)))
        self.acc_cost = np.zeros((r, len(CATEGORIES)))
        self.acc_parts = np.zeros((r, len(BREAKDOWN)))
        # Per report interval, sums of x = weight x model-error cost of the scored rows and of x², for the
        # rows outside the cost stratum (column 0) and in it (column 1): the day's standard error.
        self.acc_x = np.zeros((r, 2))
        self.acc_x2 = np.zeros((r, 2))
        self.day_draws = (0, 0)  # the day's sample size n and its cost candidates N (0: no stratum)
        self.acc_replicas = np.zeros(r, dtype=np.int64)
        self.acc_version = np.zeros(r, dtype=np.int64)

    def set_live(self, release: Release) -> None:
        """Serve ``release`` from now: a crashing one takes the service down, a slow one slows it."""
        self.live = release
        self.down = release.fault == "crash"
        self._pick_queue()

    def _pick_queue(self) -> None:
        slowdown = SLOWDOWN if self.live.fault == "slow" else 1.0
        delay = sum(e.delay for e in self.data_path if e.kind == "feature_store_slow")
        slowdown *= 1.0 + delay / self.queue.base_service.mean
        self.queue.slow_down(slowdown)

    def set_data_path(self, events: list) -> None:
        """The data-path failures in force from now (see :class:`~simulator.scenario.DataPathEvent`)."""
        self.data_path = list(events)
        self._pick_queue()

    def _inputs(self, X: np.ndarray, like: np.ndarray | None = None) -> np.ndarray:
        """The model inputs as the broken data path delivers them.

        A stale feature takes the median of ``like``'s rows, delivered the same
        way (default: of ``X``'s own), so rows scored apart read one value.
        """
        if not any(e.feature for e in self.data_path):
            return X
        k = 0 if like is None else len(like)
        X = X.copy() if like is None else np.vstack([like, X])
        names = list(self.domain.feature_names)
        for e in self.data_path:
            if e.feature is None:
                continue
            j = names.index(e.feature)
            if e.kind == "schema_break":
                X[:, j] = 0.0
            elif e.kind == "skew":
                X[:, j] = X[:, j] * e.scale + e.shift
            elif e.kind == "stale":
                X[:, j] = np.median(X[:k or len(X), j])
        return X[k:]

    def charge(self, category: str, dollars: float, time: float) -> None:
        """Book a cost at simulated ``time`` (control-plane costs: people, training compute)."""
        self.ledger.charge(category, dollars)
        self._pending.append((time, category, float(dollars)))

    # -------------------------------------------------------------- serving
    def serve_until(self, now: float) -> int:
        """Serve every tick before ``now``; return how many of them counted as downtime.

        ``first_bad_time`` is set to the start of the first such tick since it
        was last reset to ``None``.
        """
        tau = self.sc.tick
        end = np.floor(now / tau + 1e-9) * tau
        bad = 0
        while self.cursor < end - 1e-9:
            day_index = int(self.cursor // DAY)
            stop = min(end, (day_index + 1) * DAY)
            bad += self._serve(day_index, self.cursor, stop)
            self.cursor = stop
        return bad

    def _serve(self, day_index: int, start: float, stop: float) -> int:
        if day_index != self.day_index:
            raise RuntimeError(f"day {self.day_index} was not closed before serving day {day_index}")
        day = self.store.day(day_index)
        tau = self.sc.tick
        t0 = int(round((start - day_index * DAY) / tau))
        t1 = int(round((stop - day_index * DAY) / tau))
        arrivals = day.arrivals[t0:t1]
        group = np.arange(t0, t1) // self.ticks_per_report
        serving = self.replicas - self.crashed
        if self.down or serving <= 0:
            # Nothing answers: each client waits out its timeout, and the latency figures say so.
            timeout = self.sc.serving.timeout
            failed, wait, latency = arrivals.copy(), np.zeros_like(arrivals), arrivals * timeout
            shed = np.zeros_like(arrivals)
            np.add.at(self.acc_hist, (group, bin_of(timeout)), arrivals)
            self.queue.drop_backlog(start)  # nothing serves: whatever was queued is lost
        else:
            stats = self.queue.serve(arrivals, serving, start, expected=day.expected[t0:t1], day_index=day_index,
                                     first_tick=t0, hist=self.acc_hist, group=group)
            failed, wait, latency, shed = stats.failed, stats.wait, stats.latency, stats.shed
            self._check_memory(stats, arrivals, serving, start)
        if any(e.kind == "feature_store_down" for e in self.data_path):
            # No features, no model: every answered request comes from the fallback rule.
            shed = arrivals - failed
        with np.errstate(invalid="ignore", divide="ignore"):
            fail_share = np.where(arrivals > 0, failed / arrivals, 0.0)
            shed_share = np.where(arrivals > 0, shed / arrivals, 0.0)
        bad = fail_share >= DOWNTIME_FAILURE_SHARE
        r = self.reports_per_day
        add = lambda values: np.bincount(group, weights=values, minlength=r)  # noqa: E731
        self.acc["requests"] += add(arrivals)
        self.acc["failed"] += add(failed)
        self.acc["shed"] += add(shed)
        self.acc["downtime"] += add(bad * (tau / 60.0))
        self.acc["wait"] += add(wait)
        self.acc["latency"] += add(latency)
        touched = np.unique(group)
        self.acc_replicas[touched] = self.replicas
        self.acc_version[touched] = self.live.model.version
        infra = add(np.full(len(arrivals), self.replicas * tau / 3600.0 * self.sc.serving.cost_per_replica_hour))
        failed_cost = add(failed * self.costs["failed_request"])
        downtime_cost = add(bad * (tau / 60.0) * self.costs["downtime_minute"])
        outage = failed_cost + downtime_cost
        self.acc_parts[:, _PART["failed_requests"]] += failed_cost
        self.acc_parts[:, _PART["downtime"]] += downtime_cost
        self.acc_cost[:, _COST_INDEX["infrastructure"]] += infra
        self.acc_cost[:, _COST_INDEX["outage"]] += outage
        self.ledger.charge("infrastructure", float(infra.sum()))
        self.ledger.charge("outage", float(outage.sum()))
        self._score(day_index, day, start, stop, fail_share, shed_share, t0)
        n_bad = int(bad.sum())
        if n_bad:
            first_bad = start + tau * int(np.argmax(bad))
            self.last_bad_time = start + tau * (len(bad) - int(np.argmax(bad[::-1])))
            self.first_bad_time = first_bad if self.first_bad_time is None else self.first_bad_time
        return n_bad

    def _check_memory(self, stats, arrivals: np.ndarray, serving: int, start: float) -> None:
        """Note the first tick whose requests in flight per replica overran ``concurrency_budget``.

        In flight per replica is the replica's share of the queue plus the
        share of time it is busy serving. The world crashes the replicas at
        the next flush; busy ticks are served one at a time, so that is the
        tick after the overrun.
        """
        budget = self.sc.serving.concurrency_budget
        if budget is None or self.oom_time is not None:
            return
        busy = np.minimum(arrivals * self.queue.service.mean / (serving * self.sc.tick), 1.0)
        in_flight = stats.queued / serving + busy
        over = np.flatnonzero(in_flight > budget)
        if len(over):
            self.oom_time = start + self.sc.tick * (int(over[0]) + 1)
            self.oom_load = float(in_flight[over[0]])

    def _score(self, day_index, day, start, stop, fail_share, shed_share, t0) -> None:
        """Score the sampled requests of ``[start, stop)`` and book what their decisions cost.

        The served scores of the day's sample (what the daily metric, the
        monitors and a canary's parity check read) are kept in ``day_scores``.
        The cost is estimated on the sample and the day's extra rows of the
        domain's cost stratum, weighted up to the real volume as
        :class:`~simulator.store.Day` describes; the estimator is unbiased
        for the full-volume cost, and its variance (Hansen–Hurwitz, summed
        over the day: ``close_day``) is reported as the standard error of
        ``model_errors``. Each row costs the expected cost of its decision
        given its inputs (:meth:`~simulator.domains.Domain.expected_error_costs`:
        a domain that knows the probability of a row's label prices the
        decision over it, which is unbiased and takes away the noise of the
        label's draw), shared over the tick's requests as they were answered
        by the model, shed to the fallback rule, or failed unanswered.
        Every level costs the same rows, so two levels differ by the
        decisions they made on them.
        """
        n = len(day.times)
        self.day_draws = (n, day.cost_candidates)
        lo, hi = np.searchsorted(day.times, [start, stop])
        sample_X = None
        if hi > lo:
            sample_X = self.store.features(day_index)[lo:hi]
            ordinary = self._inputs(sample_X)
            rows = {k: v[lo:hi] for k, v in day.rows.items()}
            scores = self.live.scorer.score(ordinary)
            flagged = self.domain.decide(scores, self.live.scorer.threshold)
            on_canary = None
            if self.canary is not None:
                # The canary serves a random share of requests, so its score distribution is
                # estimated on every sampled row; its decisions apply only to its share.
                on_canary = day.route[lo:hi] < self.canary_share
                canary_scores = self.canary.scorer.score(ordinary)
                # Served scores next to the registry model's own, for the parity check.
                self.canary_scores.append(canary_scores)
                self.canary_offline.append(self.canary.model.scorer.score(ordinary))
                scores[on_canary] = canary_scores[on_canary]
                flagged[on_canary] = self.domain.decide(canary_scores, self.canary.scorer.threshold)[on_canary]
            if self.day_scores is None:
                self.day_scores = np.full(n, np.nan)
            self.day_scores[lo:hi] = scores
            if self.canary is not None and self.ab_rows is not None:
                # An A/B test sees outcomes, not their expectations: its arms are compared on the labels.
                realised = self.domain.error_costs(rows, flagged, self.costs)
                self.ab_rows.append((on_canary, realised.astype(np.float64), day.weights[lo:hi].astype(np.float64)))
            stratum = day.in_stratum[lo:hi] if day.cost_candidates else np.zeros(hi - lo, dtype=bool)
            self._book_decisions(rows, flagged, day.sample_cost_weights(lo, hi), day.tick_of_row[lo:hi],
                                 stratum, fail_share, shed_share, t0)
        if not day.cost_candidates:
            return
        lo, hi = np.searchsorted(day.cost_tick_of_row, [t0, t0 + len(fail_share)])  # whole ticks: by tick
        if hi <= lo:
            return
        # A stale feature reads the value the sample's requests read (the extra rows are not typical).
        inputs = self._inputs(self.store.cost_features(day_index)[lo:hi], like=sample_X)
        rows = {k: v[lo:hi] for k, v in day.cost_rows.items()}
        flagged = self.domain.decide(self.live.scorer.score(inputs), self.live.scorer.threshold)
        if self.canary is not None:
            on_canary = day.cost_route[lo:hi] < self.canary_share
            canary = self.domain.decide(self.canary.scorer.score(inputs), self.canary.scorer.threshold)
            flagged[on_canary] = canary[on_canary]
        self._book_decisions(rows, flagged, day.cost_weights[lo:hi], day.cost_tick_of_row[lo:hi],
                             np.ones(hi - lo, dtype=bool), fail_share, shed_share, t0)

    def _book_decisions(self, rows, flagged, w, tick, stratum, fail_share, shed_share, t0) -> None:
        """Book the decisions' cost of scored rows of ticks ``tick`` (of the day), each standing for ``w`` requests.

        A row's requests were answered by the model, shed to the fallback rule
        (the tick's shed share) or failed (its failed share: no answer, so the
        domain's unscored decision, fraud let through): the three parts of
        :data:`~simulator.ledger.BREAKDOWN` that make up model errors. The
        outage itself (failed requests, downtime) is booked where the ticks
        are served. ``stratum`` says which rows are the cost stratum's.
        """
        failed_share = fail_share[tick - t0]
        fallback_share = shed_share[tick - t0]
        group = tick // self.ticks_per_report
        r = self.reports_per_day
        expected = self.domain.expected_error_costs
        # Shed and failed requests are apart (a shed request is answered at once by the fallback rule).
        answered = np.maximum(1.0 - failed_share - fallback_share, 0.0)
        parts = {"model_decisions": w * answered * expected(rows, flagged, self.costs)}
        if failed_share.any():
            unscored = expected(rows, self.domain.unscored_decisions(rows), self.costs)
            parts["unscored_decisions"] = w * failed_share * unscored
        if fallback_share.any():
            fallback = expected(rows, self.domain.fallback_flags(rows), self.costs)
            parts["fallback_decisions"] = w * fallback_share * fallback
        x = sum(parts.values())
        for part, values in parts.items():
            self.acc_parts[:, _PART[part]] += np.bincount(group, weights=values, minlength=r)
        errors = np.bincount(group, weights=x, minlength=r)
        where = group * 2 + stratum  # (report interval, stratum) pairs, flattened
        self.acc_x += np.bincount(where, weights=x, minlength=2 * r).reshape(r, 2)
        self.acc_x2 += np.bincount(where, weights=x * x, minlength=2 * r).reshape(r, 2)
        self.acc_cost[:, _COST_INDEX["model_errors"]] += errors
        self.ledger.charge("model_errors", float(errors.sum()))

    def next_risky_time(self, now: float, until: float, utilisation: float = 0.9) -> float | None:
        """Start of the first tick in ``[now, until)`` that could fail requests, or ``None``.

        A tick is risky when the service is down, a backlog is queued, or its
        arrivals would load the current replicas to ``utilisation`` or more.
        The world serves such ticks as they happen, so failures are noticed on
        time; quiet stretches are served lazily, in bulk.
        """
        tau = self.sc.tick
        if self.down or self.queue.backlog > 0 or self.crashed >= self.replicas:
            return max(now, self.cursor)
        start = int(np.ceil(max(now, self.cursor) / tau - 1e-9))
        stop = int(np.ceil(until / tau - 1e-9))
        per_day = self.store.ticks_per_day
        limit = utilisation * max(self.replicas - self.crashed, 0) * tau / self.queue.service.mean
        for d in range(start // per_day, (stop - 1) // per_day + 1 if stop > start else start // per_day):
            lo, hi = max(start - d * per_day, 0), min(stop - d * per_day, per_day)
            hot = np.flatnonzero(self.store.day(d).arrivals[lo:hi] >= limit)
            if len(hot):
                return (d * per_day + lo + int(hot[0])) * tau
        return None

    def recent_arrival_rate(self, now: float, span: float) -> float:
        """Observed arrivals per second over the last ``span`` seconds before ``now``."""
        tau = self.sc.tick
        end = int(now / tau + 1e-9)
        start = max(end - int(round(span / tau)), 0)
        if end <= start:
            return 0.0
        per_day = self.store.ticks_per_day
        total = 0.0
        for d in range(start // per_day, (end - 1) // per_day + 1):
            cum = self.store.day(d).cum_arrivals
            total += cum[min(end - d * per_day, per_day)] - cum[max(start - d * per_day, 0)]
        return float(total) / ((end - start) * tau)

    def recent_arrival_rates(self, times: list[float], span: float) -> np.ndarray:
        """:meth:`recent_arrival_rate` at each of ``times``, the usual case (a window within one day) at once."""
        tau = self.sc.tick
        per_day = self.store.ticks_per_day
        end = (np.asarray(times) / tau + 1e-9).astype(np.int64)
        start = np.maximum(end - int(round(span / tau)), 0)
        day = start // per_day
        simple = (end > start) & ((end - 1) // per_day == day)
        rates = np.zeros(len(end))
        for d in np.unique(day[simple]):
            on = simple & (day == d)
            cum = self.store.day(int(d)).cum_arrivals
            rates[on] = (cum[end[on] - d * per_day] - cum[start[on] - d * per_day]) / ((end[on] - start[on]) * tau)
        for i in np.flatnonzero(~simple):
            rates[i] = self.recent_arrival_rate(times[i], span)
        return rates

    # ------------------------------------------------------------- reporting
    def report_columns(self) -> dict[str, np.ndarray]:
        """The report rows so far (one per report interval), as columns: the ``timeseries.csv`` of this level."""
        if not self._report_days:
            return {}
        return {k: np.concatenate([day[k] for day in self._report_days]) for k in self._report_days[0]}

    def close_day(self, metrics: dict[str, float], drift_score: float) -> None:
        """Turn the day's accumulators into report rows and start the next day."""
        d = self.day_index
        day_start = d * DAY
        keep = []
        for t, category, dollars in self._pending:
            if t < day_start + DAY - 1e-9:
                r = min(max(int((t - day_start) // self.sc.report_interval), 0), self.reports_per_day - 1)
                self.acc_cost[r, _COST_INDEX[category]] += dollars
            else:
                keep.append((t, category, dollars))
        self._pending = keep
        served_reports = int(np.ceil((self.cursor - day_start) / self.sc.report_interval - 1e-9))
        a = self.acc
        p99 = row_quantiles(self.acc_hist, 0.99) * 1000
        # The mean over the requests the latency histogram holds (answered, or timed out at the
        # timeout), as summary.json's is: never above the timeout, and the two agree when aggregated.
        timed = self.acc_hist.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_ms = np.where(timed > 0, a["latency"] / timed, np.nan) * 1000
        n = min(served_reports, self.reports_per_day)
        costs = {f"cost_{c}": np.cumsum(self.acc_cost[:, i]) + self._cost_so_far[f"cost_{c}"]
                 for i, c in enumerate(CATEGORIES)}
        costs.update({f"cost_{c}": np.cumsum(self.acc_parts[:, i]) + self._cost_so_far[f"cost_{c}"]
                      for i, c in enumerate(BREAKDOWN)})
        costs["cost_cumulative"] = self._cost_so_far["cost_cumulative"] + np.cumsum(self.acc_cost.sum(axis=1))
        # The sampling variance of the model-error cost up to each report row: the estimate of the
        # day so far is itself a stratified sum over the day's draws (see Day), the days before add theirs.
        x, x2 = np.cumsum(self.acc_x, axis=0), np.cumsum(self.acc_x2, axis=0)
        draws, candidates = self.day_draws
        today = stratified_variance(x[:, 0], x2[:, 0], draws, x[:, 1], x2[:, 1], candidates)
        costs["cost_model_errors_se"] = np.sqrt(self.model_errors_variance + today)
        if n > 0:
            self._cost_so_far = {k: float(v[n - 1]) for k, v in costs.items() if k != "cost_model_errors_se"}
            self._report_days.append({
                "day": (day_start + np.arange(n) * self.sc.report_interval) / DAY,
                "level": np.full(n, self.level, dtype=np.int64),
                "requests": a["requests"][:n], "failed_requests": a["failed"][:n], "shed_requests": a["shed"][:n],
                "latency_mean_ms": mean_ms[:n], "latency_p99_ms": p99[:n],
                "replicas": self.acc_replicas[:n].astype(np.int64),
                "model_version": self.acc_version[:n].astype(np.int64),
                "model_metric": np.full(n, metrics.get(self.domain.metric, np.nan), dtype=np.float64),
                "drift_score": np.full(n, drift_score, dtype=np.float64),
                "downtime_minutes": a["downtime"][:n],
                **{k: v[:n] for k, v in costs.items()},
            })
        day_hist = self.acc_hist.sum(axis=0)
        requests = float(a["requests"].sum())
        day_p99 = float(row_quantiles(day_hist[None, :], 0.99)[0]) if day_hist.sum() > 0 else float("nan")
        self.last_day_health = (float(a["failed"].sum()) / requests if requests > 0 else 0.0, day_p99)
        self.hist.add_counts(day_hist, float(a["latency"].sum()))
        self.totals["requests"] += float(a["requests"].sum())
        self.totals["failed"] += float(a["failed"].sum())
        self.totals["shed"] += float(a["shed"].sum())
        self.totals["wait"] += float(a["wait"].sum())
        self.totals["downtime_minutes"] += float(a["downtime"].sum())
        for i, part in enumerate(BREAKDOWN):
            self.breakdown[part] += float(self.acc_parts[:, i].sum())
        self.daily_variances.append(float(today[-1]))
        self.model_errors_variance += float(today[-1])
        self._new_day(d + 1)
