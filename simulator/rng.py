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
