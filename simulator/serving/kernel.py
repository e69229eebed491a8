"""The inner loop of the exact FCFS queue, compiled with numba when it is installed.

The replicas are a binary min-heap of the times at which each becomes free,
kept in a float64 array. A request arriving at ``t`` with service ``s`` takes
the replica that frees up first: it starts at ``max(t, free)``, and that
replica is then free at ``start + s``. A request whose wait would exceed the
``limit`` gives up before it is served and takes no replica.

Both versions below do the same float operations in the same order on the
same multiset of free times, so they give identical results, bit for bit
(``tests/test_request_mode.py`` checks it); only the speed differs: about
30 million requests a second compiled, 3 million in plain Python
(``benchmarks/bench_request_mode.py``).

>>> free = np.zeros(1)
>>> waits, gave_up = serve_fcfs(free, np.array([0.0, 0.5, 0.6]), np.array([1.0, 1.0, 1.0]), 10.0)
>>> waits.tolist(), gave_up.tolist(), free.tolist()
([0.0, 0.5, 1.4], [False, False, False], [3.0])
"""
from __future__ import annotations

import heapq

import numpy as np

try:
    from numba import njit
except ImportError:  # pragma: no cover - numba is a dependency; the fallback keeps odd platforms working
    njit = None


def serve_python(free: np.ndarray, times: np.ndarray, services: np.ndarray,
                 limit: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`serve_fcfs` in plain Python with :mod:`heapq` (the reference the compiled loop must equal)."""
    heap = free.tolist()
    waits = [0.0] * len(times)
    abandoned = [False] * len(times)
    replace = heapq.heapreplace
    for i, (t, s) in enumerate(zip(times.tolist(), services.tolist())):
        start = heap[0]
        if start <= t:
            replace(heap, t + s)
        elif start - t > limit:
            waits[i] = limit
            abandoned[i] = True
        else:
            waits[i] = start - t
            replace(heap, start + s)
    free[:] = heap
    return np.array(waits, dtype=np.float64), np.array(abandoned, dtype=bool)


def _sift_root(free, new):  # pragma: no cover - runs compiled
    """Replace the min-heap's root by ``new`` and sift it down."""
    n = free.shape[0]
    pos = 0
    while True:
        child = 2 * pos + 1
        if child >= n:
            break
        right = child + 1
        if right < n and free[right] < free[child]:
            child = right
        if free[child] < new:
            free[pos] = free[child]
            pos = child
        else:
            break
    free[pos] = new


# The loops below run only compiled, and call the compiled sift.
_replace_root = njit(cache=True, nogil=True)(_sift_root) if njit is not None else _sift_root


def _serve_loop(free, times, services, limit, waits, abandoned):  # pragma: no cover - runs compiled
    for i in range(times.shape[0]):
        t = times[i]
        start = free[0]
        if start <= t:
            new = t + services[i]
        elif start - t > limit:
            waits[i] = limit
            abandoned[i] = True
            continue
        else:
            waits[i] = start - t
            new = start + services[i]
        _replace_root(free, new)


def tally_python(free: np.ndarray, times: np.ndarray, services: np.ndarray, limit: float, timeout: float,
                 shedding: bool, end: float, edges: np.ndarray) -> tuple:
    """:func:`serve_and_tally` in numpy around :func:`serve_python` (the reference the compiled loop must equal)."""
    waits, turned_away = serve_python(free, times, services, limit)
    late = ~turned_away & (waits + services > timeout)
    if shedding:  # turned away at once, answered by the fallback
        waits[turned_away] = 0.0
        shed = int(turned_away.sum())
        answered = ~turned_away
        failed = late
    else:  # the client waits out the timeout, then gives up
        shed = 0
        answered = np.ones(len(times), dtype=bool)
        failed = turned_away | late
    latency = np.minimum(waits + np.where(turned_away, 0.0, services), timeout)[answered]
    queued = int(np.count_nonzero(~turned_away & (times + waits > end)))
    bins = np.clip(np.searchsorted(edges, latency, side="right") - 1, 0, len(edges) - 2)
    return waits, latency, int(failed.sum()), shed, queued, np.bincount(bins, minlength=len(edges) - 1)


def _tally_loop(free, times, services, limit, timeout, shedding, end, edges,
                waits, latency, counts):  # pragma: no cover - runs compiled
    nbins = edges.shape[0] - 1
    failed = 0
    shed = 0
    queued = 0
    k = 0
    for i in range(times.shape[0]):
        t = times[i]
        s = services[i]
        start = free[0]
        if start - t > limit and start > t:
            # Gives up before it is served: shed to the fallback, or waits out the limit and fails.
            if shedding:
                shed += 1
                continue
            failed += 1
            w = limit
            lat = min(w, timeout)
        else:
            if start <= t:
                w = 0.0
                new = t + s
            else:
                w = start - t
                new = start + s
            _replace_root(free, new)
            if w + s > timeout:
                failed += 1
            if t + w > end:
                queued += 1
            lat = min(w + s, timeout)
        waits[i] = w
        latency[k] = lat
        k += 1
        lo, hi = 0, nbins + 1  # bisect right in edges, as numpy's searchsorted(side="right")
        while lo < hi:
            mid = (lo + hi) // 2
            if lat < edges[mid]:
                hi = mid
            else:
                lo = mid + 1
        counts[min(max(lo - 1, 0), nbins - 1)] += 1
    return failed, shed, queued, k


_compiled = njit(cache=True, nogil=True)(_serve_loop) if njit is not None else None
_compiled_tally = njit(cache=True, nogil=True)(_tally_loop) if njit is not None else None

#: True when the compiled loops are in use.
COMPILED = _compiled is not None


def serve_fcfs(free: np.ndarray, times: np.ndarray, services: np.ndarray,
               limit: float) -> tuple[np.ndarray, np.ndarray]:
    """Queue waits of requests arriving at sorted ``times``, and which gave up; ``free`` is updated in place.

    ``free`` is a min-heap (float64 array) of the replicas' free times. A
    request that would wait longer than ``limit`` gives up: its wait is
    recorded as ``limit`` and it takes no replica.
    """
    if _compiled is None or len(free) == 0:
        return serve_python(free, times, services, limit)
    waits = np.zeros(len(times), dtype=np.float64)
    abandoned = np.zeros(len(times), dtype=np.bool_)
    _compiled(free, np.ascontiguousarray(times, dtype=np.float64),
              np.ascontiguousarray(services, dtype=np.float64), float(limit), waits, abandoned)
    return waits, abandoned


def serve_and_tally(free: np.ndarray, times: np.ndarray, services: np.ndarray, limit: float, timeout: float,
                    shedding: bool, end: float, edges: np.ndarray) -> tuple:
    """Serve a tick's requests (see :func:`serve_fcfs`) and tally them in the same pass.

    A request that would wait past ``limit`` is shed (``shedding``: answered
    at once by the fallback, wait 0) or waits out ``limit`` and fails; one
    served with wait + service past ``timeout`` fails too. Returns each
    request's queue wait, the latencies of the requests answered or timed out
    (capped at ``timeout``), the counts failed, shed and still queued at
    ``end``, and the latencies' counts in the bins between ``edges``.
    """
    if _compiled_tally is None or len(free) == 0:
        return tally_python(free, times, services, limit, timeout, shedding, end, edges)
    waits = np.zeros(len(times), dtype=np.float64)
    latency = np.empty(len(times), dtype=np.float64)
    counts = np.zeros(len(edges) - 1, dtype=np.int64)
    failed, shed, queued, k = _compiled_tally(
        free, np.ascontiguousarray(times, dtype=np.float64), np.ascontiguousarray(services, dtype=np.float64),
        float(limit), float(timeout), bool(shedding), float(end), edges, waits, latency, counts)
    return waits, latency[:k], failed, shed, queued, counts


def warm_up() -> None:
    """Load the compiled loops now (from numba's cache: about half a second), not at the first tick served.

    A run calls it before it forks the processes that share its levels, so
    they inherit the loaded code instead of each loading it again.
    """
    if _compiled_tally is None:
        return
    from .latency import EDGES

    one = np.zeros(1)
    serve_and_tally(np.zeros(1), one, one, 1.0, 1.0, False, 1.0, EDGES)  # what ticks are served with
