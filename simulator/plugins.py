"""Classes named ``"module:Class"`` in a scenario (user policies and user domains), and calling user code
with a time limit.

>>> from simulator.domains import Domain
>>> import_class("simulator.domains.recsys:RecsysDomain", Domain, "simulator.domains.Domain").__name__
'RecsysDomain'
>>> import_class("collections:OrderedDict", Domain, "simulator.domains.Domain")
Traceback (most recent call last):
...
simulator.plugins.PluginError: 'collections:OrderedDict' is not a subclass of simulator.domains.Domain
"""
from __future__ import annotations

import importlib
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Seconds a plug-in module may take to import (a module that blocks on import hangs the run otherwise).
IMPORT_TIMEOUT = 10.0

try:  # the C function itself: signal.signal's conversion of the answer to an enum costs ~8 µs a call
    from _signal import signal as _set_handler
except ImportError:  # another Python implementation
    _set_handler = signal.signal

_REPEAT = 0.1          # seconds: the alarm repeats until the call gives up (it may swallow the first)
_LONGEST = 1e9         # seconds: a longer limit is none (setitimer refuses values past time_t)


class PluginError(ValueError):
    """A ``"module:Class"`` that is malformed, does not import, or is not the kind of class asked for."""


class PluginTimeout(BaseException):
    """Raised inside user code that outlasted its time limit.

    A ``BaseException``, as ``KeyboardInterrupt`` is, so that the plug-in's own
    ``except Exception`` does not swallow it.
    """

    def __init__(self, seconds: float) -> None:
        super().__init__(f"took longer than {seconds:g} s")
        self.seconds = seconds


def one_line(text: str, limit: int = 300) -> str:
    """``text`` on one line (whitespace runs become one space), cut to ``limit`` characters.

    >>> one_line("a\\n  b")
    'a b'
    >>> one_line("x" * 10, limit=6)
    'xxx...'
    """
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def describe(exc: BaseException) -> str:
    """An exception as ``Type: message`` on one line (``Type`` alone when it has no message).

    >>> describe(KeyError("threshold")), describe(SystemExit(0)), describe(SystemExit())
    ("KeyError: 'threshold'", 'SystemExit: 0', 'SystemExit')
    """
    text = one_line(str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def can_time_limit() -> bool:
    """Whether :func:`call_with_limit` can interrupt a call here: SIGALRM exists, and this is the main thread
    (only it may set signal handlers, and only it receives them)."""
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


class _Alarm:
    """The SIGALRM handler of one guarded call: raises :class:`PluginTimeout` while the call runs."""

    __slots__ = ("seconds", "active", "expired")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.active = True
        self.expired = False

    def __call__(self, signum, frame) -> None:
        if self.active:  # an alarm that arrives after the call returned is ignored
            self.expired = True
            raise PluginTimeout(self.seconds)


def call_with_limit(fn: Callable[..., Any], args: tuple = (), seconds: float | None = None) -> Any:
    """``fn(*args)``, interrupted with :class:`PluginTimeout` if it runs longer than ``seconds``.

    The limit is a real-time interval timer (``signal.setitimer(ITIMER_REAL)``)
    whose SIGALRM handler raises inside the call; it repeats every 0.1 s, so
    a call that swallows the first is interrupted again, and a call that
    swallows them all and returns late still raises here. The previous
    handler and timer are put back afterwards (a previous timer due during
    the call goes off just after it: delayed, not lost).

    Only the main thread of a process receives signals: elsewhere (a Dask
    worker's thread, say) and with ``seconds`` None the call runs without a
    limit.

    >>> call_with_limit(sum, ([1, 2],), 1.0)
    3
    >>> try:
    ...     call_with_limit(time.sleep, (5,), 0.05)
    ... except PluginTimeout as exc:
    ...     print(exc)
    took longer than 0.05 s
    """
    if seconds is None or seconds >= _LONGEST or not can_time_limit():
        return fn(*args)
    alarm = _Alarm(seconds)
    previous = _set_handler(signal.SIGALRM, alarm)
    started = time.monotonic()
    outer = signal.setitimer(signal.ITIMER_REAL, seconds, _REPEAT)
    try:
        try:
            answer = fn(*args)
        finally:
            alarm.active = False
    finally:
        # Also here: an alarm between the call's end and the inner clean-up lands in this block.
        alarm.active = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        _set_handler(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)
        delay, interval = outer
        if delay > 0:
            signal.setitimer(signal.ITIMER_REAL, max(delay - (time.monotonic() - started), 1e-6), interval)
    if alarm.expired:  # the call swallowed the interruption and went on
        raise PluginTimeout(seconds)
    return answer


def import_class(spec: str, base: type, base_name: str) -> type:
    """Import the class ``spec`` names and check that it subclasses ``base`` (``base_name`` in messages).

    The working folder is searched first, as ``python -m`` would, so a module
    beside the scenario or the notebook is found. A module that raises, calls
    ``sys.exit`` or takes longer than :data:`IMPORT_TIMEOUT` to import is a
    :class:`PluginError` (``KeyboardInterrupt`` goes through).
    """
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise PluginError(f"{spec!r} is not of the form 'module:Class'")
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = call_with_limit(importlib.import_module, (module_name,), IMPORT_TIMEOUT)
    except PluginTimeout as exc:
        raise PluginError(f"cannot import {module_name!r}: {exc} to import") from None
    except (Exception, SystemExit) as exc:  # ImportError, whatever the module raised, a malformed name
        raise PluginError(f"cannot import {module_name!r}: {describe(exc)}") from None
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise PluginError(f"{spec!r} is not a subclass of {base_name}")
    return cls

