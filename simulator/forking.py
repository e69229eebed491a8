"""Work in a forked process: started now, its result (or its exception) collected later.

Forking copies the process as it is, so the work needs no pickling, only its
result. Used to share a run's levels, its traffic and its plots between the
machine's cores, on platforms that fork.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable

from .signals import become_child


def can_fork() -> bool:
    """Whether work may go to a forked process here: on Linux (fast, nothing to re-import), and
    not from a daemonic process (a pool's worker), which may not have children."""
    return sys.platform.startswith("linux") and not multiprocessing.current_process().daemon


class Forked:
    """``work()`` running in a forked process; calling the object waits for its result.

    Forking needs no pickling of the work, only of its result; an exception
    in the child is raised again here. The child leaves SIGINT and SIGTERM to
    this process, which stops it, and dies with this process if it is killed
    (see :func:`simulator.signals.become_child`).
    """

    def __init__(self, work: Callable[[], object]) -> None:
        ctx = multiprocessing.get_context("fork")
        self._recv, send = ctx.Pipe(duplex=False)
        parent = os.getpid()

        def target() -> None:
            become_child(parent)
            try:
                outcome = (True, work())
            except BaseException as exc:  # noqa: BLE001 - re-raised in the parent
                outcome = (False, exc)
            try:
                send.send(outcome)
            except Exception as exc:  # noqa: BLE001 - a result or exception that does not pickle
                send.send((False, RuntimeError(f"a worker's outcome could not be sent back: {exc!r}")))
            send.close()

        self._proc = ctx.Process(target=target, daemon=True)
        self._proc.start()
        send.close()

    def __call__(self):
        try:
            ok, value = self._recv.recv()
        except EOFError:
            raise RuntimeError(f"a worker process died (exit status {self._proc.exitcode})") from None
        self._proc.join()
        if not ok:
            raise value
        return value

    def stop(self) -> None:
        """End the process if it is still running (after an error here)."""
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(timeout=1.0)
            if self._proc.is_alive():  # stuck where SIGTERM cannot reach it
                self._proc.kill()
        self._proc.join()
        self._recv.close()
