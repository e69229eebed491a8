"""What a policy may answer, and how long it may take: the contract the world holds every policy to.

The world asks a policy through :func:`ask`. An answer of the wrong kind
(``"no thanks"`` or NaN where a bool is due: both truthy), a replica count
out of bounds, ``alerts`` that are not :class:`~simulator.policies.Alert`,
an exception, ``sys.exit`` or a call past the time limit becomes a
:class:`Breach` whose text says what went wrong; the world adds who and when
and stops the run (:class:`simulator.world.PolicyFailure`).

The answer checks are cheap and apply to every policy. The time limit
applies to user plug-ins only (classes defined outside the ``simulator``
package): the built-in ones are trusted, and the autoscaler is asked every
five simulated minutes.

>>> from simulator.policies import NeverRetrain
>>> ask(NeverRetrain(), "should_retrain", (None,))
False
>>> class Polite(NeverRetrain):
...     def should_retrain(self, view):
...         return "no thanks"
>>> ask(Polite(), "should_retrain", (None,), timeout=1.0)
Traceback (most recent call last):
...
simulator.policies.contract.Breach: returned 'no thanks', not a bool (True or False)
"""
from __future__ import annotations

import math
import numbers
import reprlib
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np

from ..plugins import PluginTimeout, call_with_limit, describe, one_line
from .base import Alert

_BOOLS = (bool, np.bool_)
_shown = reprlib.Repr()
_shown.maxstring, _shown.maxother, _shown.maxlist, _shown.maxtuple = 60, 60, 4, 4


class Breach(Exception):
    """A policy broke its contract; ``str()`` is what it did (``returned 'no', not a bool ...``), on one line."""


def shown(value: Any) -> str:
    """A short one-line repr of an answer, for messages.

    >>> shown("no\\nthanks"), shown(list(range(100)))
    ("'no\\\\nthanks'", '[0, 1, 2, 3, ...]')
    """
    return one_line(_shown.repr(value), 120)


def is_builtin(policy: Any) -> bool:
    """Whether the policy's class is one of the simulator's own (not a user plug-in)."""
    return _builtin_class(type(policy))


@lru_cache(maxsize=None)
def _builtin_class(cls: type) -> bool:
    module = cls.__module__ or ""
    return module == "simulator" or module.startswith("simulator.")


def _collect(method: str, answer: Any) -> Any:
    """Materialise what must be read inside the time limit: a monitor's alerts may be a generator.

    Returns the alerts as a tuple, or None when the answer is not iterable
    (strings and bytes count as not iterable: their items are characters).
    """
    if method != "alerts" or isinstance(answer, (str, bytes)):
        return None
    try:
        items = iter(answer)
    except TypeError:
        return None
    return tuple(items)  # a generator's own exceptions come out here, as the policy's


def check_bool(answer: Any, collected: Any = None, bounds: Any = None) -> bool:
    """``should_retrain`` and ``should_rollback``: a bool or a numpy bool, nothing else.

    >>> check_bool(np.bool_(True))
    True
    >>> check_bool(float("nan"))
    Traceback (most recent call last):
    ...
    simulator.policies.contract.Breach: returned nan, not a bool (True or False)
    """
    if not isinstance(answer, _BOOLS):
        raise Breach(f"returned {shown(answer)}, not a bool (True or False)")
    return bool(answer)


def check_text(answer: Any, collected: Any = None, bounds: Any = None) -> str:
    """``reason``: a string, for the event log."""
    if not isinstance(answer, str):
        raise Breach(f"returned {shown(answer)}, not a str")
    return answer


def check_alerts(answer: Any, collected: tuple | None = None, bounds: Any = None) -> tuple[Alert, ...]:
    """``alerts``: an iterable (list, tuple, generator) of :class:`Alert`, each at a time that is a number.

    >>> check_alerts([], ())
    ()
    >>> check_alerts("drift!", None)
    Traceback (most recent call last):
    ...
    simulator.policies.contract.Breach: returned 'drift!', not a list of simulator.policies.Alert
    """
    if collected is None:
        raise Breach(f"returned {shown(answer)}, not a list of simulator.policies.Alert")
    for i, alert in enumerate(collected):
        if not isinstance(alert, Alert):
            raise Breach(f"returned {shown(answer)}: item {i} is {shown(alert)}, not a simulator.policies.Alert")
        if not isinstance(alert.kind, str):
            raise Breach(f"returned an Alert whose kind is {shown(alert.kind)}, not a str (item {i})")
        t = alert.time
        if isinstance(t, bool) or not isinstance(t, numbers.Real) or math.isnan(t):
            what = "a NaN time" if isinstance(t, numbers.Real) and not isinstance(t, bool) else f"time {shown(t)}"
            raise Breach(f"returned an Alert at {what} (item {i}, kind {alert.kind!r}); "
                         "Alert.time is seconds since the start")
    return collected


def check_replicas(answer: Any, collected: Any = None, bounds: tuple[int, int] = (1, 10_000_000)) -> int:
    """``desired_replicas``: a whole number (an int) within ``bounds``, inclusive.

    >>> check_replicas(np.int64(3), bounds=(2, 64))
    3
    >>> check_replicas(10**9, bounds=(2, 64))
    Traceback (most recent call last):
    ...
    simulator.policies.contract.Breach: returned 1000000000, not a whole number of replicas from 2 to 64
    """
    low, high = bounds
    if isinstance(answer, _BOOLS) or not isinstance(answer, (int, np.integer)) or not low <= answer <= high:
        raise Breach(f"returned {shown(answer)}, not a whole number of replicas from {low} to {high}")
    return int(answer)


@lru_cache(maxsize=None)
def max_replicas() -> int:
    """The most replicas a scenario may have (``serving.replicas``' upper bound): no answer may ask for more."""
    from ..scenario import Serving

    return min(m.le for m in Serving.model_fields["replicas"].metadata if getattr(m, "le", None) is not None)


#: The check of each method's answer.
CHECKS: dict[str, Callable[..., Any]] = {
    "should_retrain": check_bool,
    "should_rollback": check_bool,
    "reason": check_text,
    "alerts": check_alerts,
    "desired_replicas": check_replicas,
}


def _call(bound: Callable[..., Any], args: tuple, method: str) -> tuple[Any, Any]:
    answer = bound(*args)
    return answer, _collect(method, answer)


def ask(policy: Any, method: str, args: tuple, *, timeout: float | None = None, bounds: Any = None) -> Any:
    """``policy.method(*args)``, checked; raises :class:`Breach` if the policy broke its contract.

    ``timeout`` (seconds) limits a user plug-in's call (see
    :func:`simulator.plugins.call_with_limit`: in the main thread of a
    process only; a call on another thread, such as a Dask worker's, runs
    without a limit). ``bounds`` are ``(low, high)`` for ``desired_replicas``.
    ``KeyboardInterrupt`` goes through; every other exception, ``SystemExit``
    included, is a breach.
    """
    limit = None if timeout is None or is_builtin(policy) else timeout
    try:
        answer, collected = call_with_limit(_call, (getattr(policy, method), args, method), limit)
    except KeyboardInterrupt:
        raise
    except PluginTimeout as exc:
        raise Breach(f"did not answer within {exc.seconds:g} s, the scenario's policy_timeout") from None
    except BaseException as exc:  # noqa: BLE001 - SystemExit too: a plug-in may not end the run
        raise Breach(f"raised {describe(exc)}") from None
    return CHECKS[method](answer, collected, bounds) if bounds is not None else CHECKS[method](answer, collected)
