"""What goes wrong with a release: the seed's deployment failures, each with its effect.

A deploy breaks with its level's ``deployment.failure_rate``; which way it
breaks is drawn from :data:`DEPLOY_FAULTS` by share. Each fault has one effect:

- ``crash``: the release does not start. Health checks keep it off traffic;
  without them the service is down until someone notices and rolls back.
- ``silent``: the release runs and answers wrongly (its scores are computed
  on misread inputs). A canary's parity check catches it; otherwise it is
  noticed after the level's ``silent_failure_detection``.
- ``slow``: the release serves five times slower. A canary sees its latency;
  otherwise the queue shows it (an overload, noticed after ``outage_detection``).
- ``security``: the release leaks a credential. Secret scanning in the pipeline
  stops it; otherwise a security incident is found after ``security_detection``
  and costs ``costs.security_incident`` plus the responders' time.

>>> [f.name for f in DEPLOY_FAULTS]
['missing_dependency', 'model_too_large', 'python_version_mismatch', 'latency_regression', 'exposed_secret']
>>> pick_fault(0.99, 0.1, rate=0.5) is None, pick_fault(0.1, 0.1, rate=0.5).name
(True, 'missing_dependency')
"""
from __future__ import annotations

from dataclasses import dataclass

#: How much slower a latency regression serves.
SLOWDOWN = 5.0


@dataclass(frozen=True)
class DeployFault:
    """One way a release breaks."""

    name: str
    effect: str      # "crash", "silent", "slow" or "security"
    share: float     # of broken releases
    story: str


DEPLOY_FAULTS = (
    DeployFault("missing_dependency", "crash", 0.30, "scikit-learn left out of the requirements"),
    DeployFault("model_too_large", "crash", 0.20, "the model does not fit the container's memory"),
    DeployFault("python_version_mismatch", "silent", 0.20,
                "trained on 3.8, served on 3.10: the pickled pipeline reads its inputs wrongly"),
    DeployFault("latency_regression", "slow", 0.20, "a heavier model: each prediction five times slower"),
    DeployFault("exposed_secret", "security", 0.10, "an API key committed with the release"),
)


def pick_fault(u_broken: float, u_kind: float, rate: float) -> DeployFault | None:
    """The fault of a release, from two uniform draws: ``None`` when it is healthy."""
    if u_broken >= rate:
        return None
    total = 0.0
    for fault in DEPLOY_FAULTS:
        total += fault.share
        if u_kind < total:
            return fault
    return DEPLOY_FAULTS[-1]
