"""The drift schedule: which state of the domain each request comes from.

Drift events apply in order. Event *k* moves a request from the state before
it to the state after it with probability ``share_k(t)``:

- ``sudden``: 0 before ``at``, 1 from ``at`` on;
- ``gradual``: a logistic curve rescaled to run from exactly 0 at ``at`` to
  exactly 1 at ``at + width`` (half-way at the middle), the smooth mixing of
  two concepts used by the concept-drift literature's stream generators.

Each request draws one uniform number u and takes the state of the last
event with ``u < share_k(t)``, so for a single event the share of requests in
the new state is ``share(t)`` in expectation (the tests check the closed form).

>>> from simulator.scenario import DriftEvent
>>> sched = DriftSchedule({"a": 1}, [DriftEvent(at="10d", kind="gradual", width="10d", set={"a": 2})])
>>> [round(float(x), 3) for x in sched.share(0, np.array([0, 10, 15, 20, 30]) * 86400.0)]
[0.0, 0.0, 0.5, 1.0, 1.0]
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.special import expit

from .scenario import DriftEvent

_STEEPNESS = 8.0  # the curve's slope at its middle is 2/width of the full change


class DriftSchedule:
    """Domain parameters over time, from base parameters and ordered drift events."""

    def __init__(self, base: Mapping[str, Any], events: Sequence[DriftEvent]) -> None:
        self.events = list(events)
        self.states: list[dict[str, Any]] = [dict(base)]
        for event in self.events:
            self.states.append({**self.states[-1], **event.set})

    def share(self, k: int, t: np.ndarray) -> np.ndarray:
        """Probability that a request at time ``t`` has passed event ``k``."""
        event = self.events[k]
        t = np.asarray(t, dtype=np.float64)
        if event.kind == "sudden":
            return (t >= event.at).astype(np.float64)
        x = (t - event.at) / event.width
        lo, hi = expit(-_STEEPNESS / 2), expit(_STEEPNESS / 2)
        curve = (expit(_STEEPNESS * (x - 0.5)) - lo) / (hi - lo)
        return np.clip(curve, 0.0, 1.0)

    def assign(self, t: np.ndarray, u: np.ndarray) -> np.ndarray:
        """State index (0 = base, k = after event k) of each request, given its uniform ``u``."""
        state = np.zeros(len(t), dtype=np.int64)
        for k in range(len(self.events)):
            state[u < self.share(k, t)] = k + 1
        return state

    @property
    def first_drift(self) -> tuple[float, float] | None:
        """Start and end (seconds) of the first drift event, or ``None``."""
        if not self.events:
            return None
        first = self.events[0]
        return first.at, first.at + (first.width if first.kind == "gradual" else 0.0)
