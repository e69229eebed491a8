"""Named random streams from one seed: no global state, no shared dice.

Every component asks for its own stream by name (and, where it matters, by
day or level), so adding a component or running fewer levels shifts no one
else's numbers.

>>> a = stream(42, "traffic", 3).random()
>>> b = stream(42, "traffic", 3).random()
>>> a == b, a == stream(42, "traffic", 4).random()
(True, False)
"""
from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, name: str, *keys: int) -> np.random.Generator:
    """A generator for the stream ``name`` (and integer ``keys``) of ``seed``.

    The stream is a child of ``SeedSequence(seed)`` whose spawn key is the
    CRC-32 of ``name`` followed by ``keys``, so it depends on nothing else.
    """
    spawn_key = (zlib.crc32(name.encode("utf-8")), *(int(k) for k in keys))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=spawn_key)))


# Times enter spawn keys as whole seconds shifted by this much, since spawn keys cannot be negative
# (a first model's window starts before the run does).
_TIME_KEY_OFFSET = 2 ** 40


def training_stream(seed: int, data_start: float, data_end: float, known_at: float) -> tuple[np.random.Generator, str]:
    """The stream a retraining job trains with, and its name for the event log.

    It is keyed by what is trained (the window's ends and the moment its
    labels were read), not by who trains it: two levels that retrain on the
    same data get the same model, so the difference between them is their
    decisions, not the luck of their holdout split.

    >>> a, name = training_stream(7, -30 * 86400.0, 0.0, 3600.0)
    >>> b, _ = training_stream(7, -30 * 86400.0, 0.0, 3600.0)
    >>> name, a.random() == b.random()
    ('train/-2592000/0/3600', True)
    """
    keys = [int(round(t)) for t in (data_start, data_end, known_at)]
    rng = stream(seed, "train", *(k + _TIME_KEY_OFFSET for k in keys))
    return rng, "train/" + "/".join(str(k) for k in keys)
