"""A temporary folder of named sets of arrays: what a run keeps on disk instead of in memory.

The traffic store writes each simulated day here once it is made and reads it
back when a level asks for it again, so a run's memory does not grow with its
length, and the processes a run forks share the days through the folder, not
through copies of them. One file per set: a short JSON header naming each
array's dtype, shape and offset, then the raw bytes. A set is written to a
private name and renamed into place, so a reader in another process sees the
whole set or none of it.

The folder carries the creating process's id in its name
(``mlops-lab-spill-<pid>-...`` under :func:`tempfile.gettempdir`). The process
that made it removes it on :meth:`SpillFolder.close` (or, failing that, when
the folder object is collected or the interpreter exits); a run killed with
SIGKILL leaves it behind for :func:`remove_stale_spills`.
"""
from __future__ import annotations

import json
import mmap
import os
import shutil
import struct
import tempfile
import weakref
from pathlib import Path

import numpy as np

PREFIX = "mlops-lab-spill-"
_ALIGN = 64  # each array starts on a 64-byte boundary of the file
_LENGTH = struct.Struct("<Q")  # the header's length, first in the file


class SpillFolder:
    """A temporary folder holding sets of arrays by name, removed by the process that made it.

    Forked processes may read and write it too (a set's file is complete
    once it can be seen); only the creating process removes it.
    """

    def __init__(self, parent: str | os.PathLike | None = None) -> None:
        self.owner = os.getpid()
        self.path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{self.owner}-", dir=parent))
        # A backstop for a folder nobody closed: it goes when the object is collected or at exit.
        self._finalizer = weakref.finalize(self, _remove, self.path, self.owner)

    def write(self, name: str, arrays: dict[str, np.ndarray]) -> None:
        """Store ``arrays`` (numeric, any shape) as the set ``name``, replacing any set of that name."""
        header, parts, offset = [], [], 0
        for key, value in arrays.items():
            value = np.ascontiguousarray(value)
            if value.dtype.hasobject:
                raise TypeError(f"array {key!r} holds Python objects, which a spill file cannot store")
            offset = -(-offset // _ALIGN) * _ALIGN
            header.append([key, value.dtype.str, list(value.shape), offset])
            parts.append((offset, value))
            offset += value.nbytes
        head = json.dumps(header).encode()
        start = -(-(_LENGTH.size + len(head)) // _ALIGN) * _ALIGN
        # Written under a private name, then renamed: readers never see half a set.
        tmp = self.path / f".{name}.{os.getpid()}.tmp"
        chunks, end = [_LENGTH.pack(len(head)), head], _LENGTH.size + len(head)
        for at, value in parts:
            chunks += [bytes(start + at - end), value.data]
            end = start + at + value.nbytes
        with open(tmp, "wb") as f:
            _write_all(f, chunks)
        os.replace(tmp, self.path / name)

    def read(self, name: str) -> dict[str, np.ndarray] | None:
        """The set ``name`` as writable arrays, or ``None`` if it was never written.

        The arrays view one private mapping of the file: writable, and a write
        changes neither the file nor any other read of the set. The mapping
        goes when the last of them does.
        """
        try:
            with open(self.path / name, "rb") as f:
                # A private copy-on-write mapping: pages are read in as they are touched (from the
                # page cache, without zero-filling a fresh buffer), and a write changes only this copy.
                data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
        except FileNotFoundError:
            return None
        (length,) = _LENGTH.unpack_from(data)
        header = json.loads(data[_LENGTH.size:_LENGTH.size + length])
        start = -(-(_LENGTH.size + length) // _ALIGN) * _ALIGN
        out = {}
        for key, dtype, shape, at in header:
            dt = np.dtype(dtype)
            count = int(np.prod(shape, dtype=np.int64))
            if count == 0:  # an empty array may sit past the file's end
                out[key] = np.empty(shape, dt)
            else:
                out[key] = np.frombuffer(data, dt, count, start + at).reshape(shape)
        return out

    def __contains__(self, name: str) -> bool:
        """Whether the set ``name`` has been written (by this process or another)."""
        return (self.path / name).exists()

    def close(self) -> None:
        """Remove the folder and everything in it (only in the process that made it; idempotent)."""
        self._finalizer()

    def __enter__(self) -> "SpillFolder":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _write_all(f, chunks: list) -> None:
    """Write ``chunks`` to the file ``f`` in order: one system call as a rule, more if it falls short."""
    total = sum(memoryview(c).nbytes for c in chunks)
    written = os.writev(f.fileno(), chunks) if len(chunks) <= 512 else 0
    if written == total:
        return
    # Short (or too many pieces for one call): write what is left, piece by piece.
    f.seek(written)
    skip = written
    for chunk in chunks:
        view = memoryview(chunk).cast("B")
        if skip >= len(view):
            skip -= len(view)
            continue
        f.write(view[skip:])
        skip = 0


def _remove(path: Path, owner: int) -> None:
    # A forked child holds a copy of the object: only the process that made the folder removes it.
    if os.getpid() == owner:
        shutil.rmtree(path, ignore_errors=True)


def remove_stale_spills(parent: str | os.PathLike | None = None) -> list[Path]:
    """Delete spill folders left behind by runs whose process is gone; return the folders removed.

    Looks in ``parent`` (default :func:`tempfile.gettempdir`) for folders named
    ``mlops-lab-spill-<pid>-...`` and removes those whose ``<pid>`` is no longer
    a running process (a run killed with SIGKILL cannot clean up after itself).
    Folders of live processes, and anything not named so, are left alone. Safe
    to call at the start of every run.
    """
    root = Path(parent if parent is not None else tempfile.gettempdir())
    removed = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(PREFIX) or not entry.is_dir() or entry.is_symlink():
            continue
        pid_text = entry.name[len(PREFIX):].split("-", 1)[0]
        if not pid_text.isdigit() or _alive(int(pid_text)):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        if not entry.exists():
            removed.append(entry)
    return removed


def _alive(pid: int) -> bool:
    """Whether a process with id ``pid`` exists (one owned by another user counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
