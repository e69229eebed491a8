"""Stopping cleanly: SIGTERM unwinds like Ctrl-C, and child processes die with their parent.

A run stopped by SIGINT or SIGTERM must leave no results folder, no
temporary folder and no process behind. In the main process both signals
raise an exception (:class:`KeyboardInterrupt`, or :class:`Terminated` for
SIGTERM), so the ``finally`` blocks that stop workers and remove temporary
folders run. A forked worker leaves the signals to its parent, which stops
it, and asks the kernel to kill it if the parent dies first (SIGKILL cannot
be caught, so nothing else would). Workers that another library starts (a
process pool's) watch their parent instead.

>>> try:
...     with interruptible():
...         os.kill(os.getpid(), signal.SIGTERM)
...         time.sleep(5)
... except KeyboardInterrupt as exc:
...     print(type(exc).__name__, exit_status(exc))
Terminated 143
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_PR_SET_PDEATHSIG = 1  # prctl option, from <linux/prctl.h>


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: raised in the main thread so that clean-up runs as for Ctrl-C (exit status 143)."""


def process_alive(pid: int) -> bool:
    """Whether a process with id ``pid`` exists (one owned by another user counts as alive).

    >>> process_alive(os.getpid()), process_alive(0)
    (True, False)
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def exit_status(exc: BaseException) -> int:
    """The shell's exit status for an interrupt: 143 after SIGTERM, 130 after SIGINT."""
    return 128 + signal.SIGTERM if isinstance(exc, Terminated) else 128 + signal.SIGINT


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def interruptible() -> Iterator[None]:
    """Inside the block, SIGTERM raises :class:`Terminated` (SIGINT raises KeyboardInterrupt as usual).

    Only the main thread may set handlers; elsewhere the block changes nothing.
    """
    if not _in_main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, then raise as they would have.

    For a short step that must be all or nothing, such as renaming a run's
    files into place: an interrupt in the middle would leave half of them.
    """
    if not _in_main_thread():
        yield
        return
    caught: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, frame: caught.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if caught:
        raise Terminated() if caught[0] == signal.SIGTERM else KeyboardInterrupt()


@contextmanager
def ignored_by_children(sig: int = signal.SIGINT) -> Iterator[None]:
    """Processes started inside the block ignore ``sig`` for good (an ignored signal stays ignored
    across ``exec``), so a pool's workers leave Ctrl-C to the process that started them.

    Keep the block short: ``sig`` is ignored here too while it lasts.
    """
    if not _in_main_thread():
        yield
        return
    previous = signal.signal(sig, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(sig, previous)


def become_child(parent: int) -> None:
    """Call first thing in a forked worker: leave signals to the parent, and die with it.

    SIGINT is ignored (the parent hears Ctrl-C too and stops its workers),
    SIGTERM does what it does by default (end the process at once), and the
    process ends when ``parent`` does (see :func:`watch_parent`).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    watch_parent(parent)


def watch_parent(parent: int, interval: float = 0.5) -> None:
    """End this process when its parent ``parent`` is gone, even by SIGKILL.

    On Linux the kernel is asked to send SIGKILL when the parent dies (for
    a pool's workers too, which are started by the thread that first gives
    the pool work); elsewhere a daemon thread polls for the parent. A parent
    that died before the call is caught by comparing ``parent`` with the
    process's parent now. Calling it again in the same process does nothing.
    """
    global _watching
    if _watching == os.getpid():  # a forked child inherits the mark, not the request: it asks again
        return
    _watching = os.getpid()
    asked = False
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            asked = libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:
        os._exit(1)
    if asked:
        return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


_watching = 0  # the process that asked to die with its parent
