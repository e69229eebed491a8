"""The drift library: which state of the domain each request comes from, and the truth about it.

Drift events apply in order; each changes some of the domain's parameters,
and so moves P(X) (covariate drift), P(y) (prior drift) or P(y|X) (concept
drift), as the domain declares for each parameter. Four shapes:

- ``sudden``: every request from ``at`` on comes from the new state;
- ``gradual``: a request comes from the new state with a probability that
  rises along a logistic curve rescaled to run from exactly 0 at ``at`` to
  exactly 1 at ``at + width`` (half-way at the middle): two concepts mixed,
  as in the concept-drift literature's stream generators;
- ``incremental``: numeric parameters move linearly from their old values
  at ``at`` to the new ones at ``at + width``, every request at the values of
  its time (drawn from the two nearest of :data:`STEPS` evenly spaced
  states, mixed so that its expected parameters are exactly linear in time);
- ``recurring``: the new state holds for ``width`` out of every ``period``
  from ``at`` on, and the old one returns in between (seasons, holidays).

Each request draws one uniform number u and takes the state of the last
event with ``u < share_k(t)``, so for a single event the share of requests in
the new state is ``share(t)`` in expectation (the tests check each closed form).

>>> from simulator.scenario import DriftEvent
>>> sched = DriftSchedule({"a": 1.0}, [DriftEvent(at="10d", kind="gradual", width="10d", set={"a": 2.0})])
>>> [round(float(x), 3) for x in sched.share(0, np.array([0, 10, 15, 20, 30]) * 86400.0)]
[0.0, 0.0, 0.5, 1.0, 1.0]
>>> ramp = DriftSchedule({"a": 0.0}, [DriftEvent(at="0d", kind="incremental", width="10d", set={"a": 1.0})])
>>> [round(float(x), 2) for x in ramp.expected_param(0, "a", np.array([0, 2.5, 5, 10]) * 86400.0)]
[0.0, 0.25, 0.5, 1.0]
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.special import expit

from .scenario import DriftEvent

_STEEPNESS = 8.0  # the curve's slope at its middle is 2/width of the full change
#: States an incremental drift is drawn from, evenly spaced along its path.
STEPS = 16


class DriftSchedule:
    """Domain parameters over time, from base parameters and ordered drift events."""

    def __init__(self, base: Mapping[str, Any], events: Sequence[DriftEvent]) -> None:
        self.events = list(events)
        self.states: list[dict[str, Any]] = [dict(base)]
        self.first_state: list[int] = []  # per event: the index of its first new state
        for event in self.events:
            self.first_state.append(len(self.states))
            old = self.states[-1]
            if event.kind == "incremental":
                for j in range(1, STEPS + 1):
                    self.states.append({**old, **{k: old[k] + (v - old[k]) * j / STEPS for k, v in event.set.items()}})
            else:
                self.states.append({**old, **event.set})

    @property
    def needs_steps(self) -> bool:
        """True when an incremental event needs a second uniform number per request."""
        return any(e.kind == "incremental" for e in self.events)

    def share(self, k: int, t: np.ndarray) -> np.ndarray:
        """Probability that a request at time ``t`` comes from after event ``k`` (at some step of it)."""
        event = self.events[k]
        t = np.asarray(t, dtype=np.float64)
        if event.kind in ("sudden", "incremental"):
            return (t >= event.at).astype(np.float64)
        if event.kind == "recurring":
            return ((t >= event.at) & (np.mod(t - event.at, event.period) < event.width)).astype(np.float64)
        x = (t - event.at) / event.width
        lo, hi = expit(-_STEEPNESS / 2), expit(_STEEPNESS / 2)
        curve = (expit(_STEEPNESS * (x - 0.5)) - lo) / (hi - lo)
        return np.clip(curve, 0.0, 1.0)

    def progress(self, k: int, t: np.ndarray) -> np.ndarray:
        """How far along its path event ``k`` is at ``t``: 0 before, 1 after (linear for incremental)."""
        event = self.events[k]
        t = np.asarray(t, dtype=np.float64)
        if event.kind == "incremental":
            return np.clip((t - event.at) / event.width, 0.0, 1.0)
        return self.share(k, t)

    def assign(self, t: np.ndarray, u: np.ndarray, v: np.ndarray | None = None) -> np.ndarray:
        """State index (0 = base) of each request, given its uniform ``u`` (and ``v`` for incremental steps)."""
        t = np.asarray(t, dtype=np.float64)
        state = np.zeros(len(t), dtype=np.int64)
        for k, event in enumerate(self.events):
            passed = u < self.share(k, t)
            if event.kind == "incremental":
                if v is None:
                    raise ValueError("an incremental drift needs a second uniform number per request")
                # Between steps floor(f) and floor(f)+1 with the odds that make E[step] = f exactly.
                f = self.progress(k, t) * STEPS
                step = np.minimum(np.floor(f) + (v < f - np.floor(f)), STEPS).astype(np.int64)
                # Step 0 leaves a request in whatever state the events before put it.
                moved = passed & (step > 0)
                state[moved] = self.first_state[k] - 1 + step[moved]
            else:
                state[passed] = self.first_state[k]
        return state

    def expected_param(self, k: int, name: str, t: np.ndarray) -> np.ndarray:
        """The closed form: the mean value of numeric parameter ``name`` at ``t`` if only event ``k`` ran."""
        event = self.events[k]
        before = self.states[self.first_state[k] - 1][name]
        after = event.set.get(name, before)
        return before + (after - before) * self.progress(k, t)

    @property
    def first_drift(self) -> tuple[float, float] | None:
        """Start and end (seconds) of the first drift event, or ``None``."""
        if not self.events:
            return None
        first = self.events[0]
        return first.at, first.at + (first.width if first.kind != "sudden" else 0.0)

    def truth(self, param_targets: Mapping[str, tuple[str, Sequence[str]]], until: float) -> list[dict[str, Any]]:
        """The ground truth of every drift up to ``until``: one record per event (per episode if recurring).

        ``param_targets`` is the domain's map of parameter to (distribution it
        moves — "covariate", "prior" or "concept" — and the row columns it moves).
        Each record has ``event``, ``shape``, ``start`` and ``end`` (seconds),
        ``params``, ``distributions`` and ``features``.
        """
        records = []
        for k, event in enumerate(self.events):
            params = sorted(event.set)
            moved = [param_targets.get(p, ("unknown", ())) for p in params]
            distributions = sorted({d for d, _ in moved})
            features = sorted({f for _, cols in moved for f in cols})
            if event.kind == "recurring":
                spans = [(s, s + event.width) for s in np.arange(event.at, until, event.period)]
            else:
                spans = [(event.at, event.at + (event.width if event.kind != "sudden" else 0.0))]
            for start, end in spans:
                records.append({"event": k, "shape": event.kind, "start": float(start), "end": float(end),
                                "params": params, "distributions": distributions, "features": features})
        return records
