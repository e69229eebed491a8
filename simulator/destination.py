"""Where a run's files go: checked before anything runs, written whole, and never at a user's expense.

A destination is claimed before the simulation starts: a bad ``--out``
(the current folder, ``/``, a file, a folder that cannot be written, a folder
of the user's own) is a one-line error then, not after minutes of work. The
files are written into a temporary folder beside the destination and moved
into place at the end, so an interrupted run leaves nothing behind.

The rule for an existing folder: the simulator writes into a folder it
creates, or into an empty one. A folder that holds an earlier run's results
(its ``manifest.json`` says the simulator wrote it) is refreshed only with
``overwrite=True`` (``--overwrite``), and then only the files that run wrote
are replaced or removed; anything else in it stays. Any other folder is
refused. Folders and files follow the user's umask.

>>> import tempfile
>>> root = Path(tempfile.mkdtemp())
>>> (root / "thesis").mkdir(); _ = (root / "thesis" / "chapter1.txt").write_text("mine")
>>> claim(root / "thesis")
Traceback (most recent call last):
...
simulator.errors.ScenarioError: ...thesis: --out: exists and holds files the simulator did not write; choose a new folder
>>> with claim(root / "run") as dest:
...     _ = (dest.staging / "summary.json").write_text("{}")
...     _ = dest.commit(["summary.json"], {"kind": "run"})
>>> sorted(p.name for p in (root / "run").iterdir())
['manifest.json', 'summary.json']
"""
from __future__ import annotations

import errno
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .errors import ScenarioError
from .signals import deferred, process_alive

#: The ``written_by`` field of every manifest.json the simulator writes.
WRITER = "mlops-failure-lab"
_STAGING = ".{name}.partial-{pid}-"
_STAGING_NAME = re.compile(r"^\..+\.partial-(\d+)-[A-Za-z0-9_]+$")


def umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _read_manifest(folder: Path) -> dict | None:
    try:
        data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    # Manifests from before ``written_by`` name the package among their versions.
    versions = data.get("versions")
    if data.get("written_by") == WRITER or (isinstance(versions, dict) and WRITER in versions):
        return data
    return None


# Files of results folders written before manifests listed their files.
_KNOWN_FILES = ("summary.json", "timeseries.csv", "events.csv", "manifest.json", "sweep.csv",
                "plots/model_metric.png", "plots/cost.png")


def _files_of(manifest: dict) -> list[str]:
    """The files an earlier run says it wrote: relative paths inside its folder, nothing else."""
    listed = manifest.get("files")
    names = listed if isinstance(listed, list) else list(_KNOWN_FILES)
    safe = []
    for name in names:
        if isinstance(name, str) and name and not Path(name).is_absolute() and ".." not in Path(name).parts:
            safe.append(name)
    return safe


class Destination:
    """A claimed output folder: ``staging`` to write into, then :meth:`commit` (or nothing is left)."""

    def __init__(self, out: Path, staging: Path, created: list[Path], replace: list[str] | None) -> None:
        self.out = out
        self.staging = staging
        self._created = created  # parent folders made for this run, removed again if it fails
        self._replace = replace  # None: ``out`` is new or empty; else the earlier run's files
        self._done = False

    def __enter__(self) -> "Destination":
        return self

    def __exit__(self, *exc) -> None:
        if not self._done:
            self.abandon()

    def commit(self, files: Iterable[str], manifest: dict | None = None) -> Path:
        """Move ``files`` (paths relative to ``staging``) into place, with ``manifest.json`` last.

        The manifest gets ``written_by`` and the list of files, so a later
        ``--overwrite`` knows which files are the simulator's. Each file is
        flushed to disk before it is renamed; interrupts wait until the
        renames are done.
        """
        files = [str(f) for f in files if str(f) != "manifest.json"]
        if manifest is not None:
            listed = {**manifest, "written_by": WRITER, "files": [*files, "manifest.json"]}
            (self.staging / "manifest.json").write_text(json.dumps(listed, indent=2) + "\n", encoding="utf-8")
            files.append("manifest.json")
        for name in files:
            _fsync(self.staging / name)
        with deferred():
            if self._replace is None:
                # A new folder, or an empty one (rename replaces an empty folder).
                os.replace(self.staging, self.out)
            else:
                for name in files:
                    target = self.out / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(self.staging / name, target)
                for name in self._replace:
                    if name not in files:
                        (self.out / name).unlink(missing_ok=True)
                shutil.rmtree(self.staging, ignore_errors=True)
            _fsync(self.out.parent)
            self._done = True
        return self.out

    def abandon(self) -> None:
        """Remove the staging folder and the parents made for it; the destination is as before."""
        self._done = True
        shutil.rmtree(self.staging, ignore_errors=True)
        for folder in reversed(self._created):
            try:
                folder.rmdir()
            except OSError:  # not empty (someone else's now) or gone
                break


def claim(out: str | Path, overwrite: bool = False, source: str | None = None) -> Destination:
    """Check ``out`` and make its staging folder; raise :class:`ScenarioError` (``--out``) if it won't do.

    ``source`` names the thing in the message (default: ``out`` itself).
    Leftover staging folders of runs that were killed are removed here.
    """
    raw = str(out)
    out = Path(out)
    where = source or (raw if raw else "''")

    def refuse(problem: str) -> ScenarioError:
        return ScenarioError(where, "--out", problem)

    if raw.strip() in ("", ".", "./") or out.expanduser().resolve() in (Path.cwd(), *Path.cwd().parents):
        raise refuse("is the current folder or one of its parents; name a new folder for the results")
    if out.resolve() == Path(out.resolve().anchor):
        raise refuse("is the root of the file system; name a new folder for the results")
    out = out.expanduser()
    replace: list[str] | None = None
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise refuse("exists and is not a folder")
        manifest = _read_manifest(out)
        if manifest is not None:
            if not overwrite:
                raise refuse("holds an earlier run's results; pass --overwrite to replace them, "
                             "or choose a new folder")
            replace = _files_of(manifest)
        elif _entries(out):
            raise refuse("exists and holds files the simulator did not write; choose a new folder")
    created = _make_parents(out.parent, refuse)
    remove_stale(out)
    try:
        staging = Path(tempfile.mkdtemp(prefix=_STAGING.format(name=out.name, pid=os.getpid()), dir=out.parent))
        os.chmod(staging, 0o777 & ~umask())
    except OSError as exc:
        _remove_created(created)
        raise refuse(f"cannot write in {out.parent}: {exc.strerror or exc}") from None
    return Destination(out, staging, created, replace)


def _entries(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError as exc:
        raise ScenarioError(str(folder), "--out", f"cannot be read: {exc.strerror}") from None


def _make_parents(parent: Path, refuse) -> list[Path]:
    """Create the missing folders above the destination; the ones made, outermost first."""
    missing = []
    folder = parent
    while not folder.exists() and folder != folder.parent:
        if folder.is_symlink():
            raise refuse(f"{folder} is a broken link")
        missing.append(folder)
        folder = folder.parent
    if not folder.is_dir():
        raise refuse(f"cannot be created: {folder} is a file, not a folder")
    created = []
    for folder in reversed(missing):
        try:
            folder.mkdir()
        except OSError as exc:
            _remove_created(created)
            raise refuse(f"cannot create {folder}: {exc.strerror or exc}") from None
        created.append(folder)
    return created


def _remove_created(created: list[Path]) -> None:
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            break


def remove_stale(out: Path) -> list[Path]:
    """Remove staging folders beside ``out`` left by runs that were killed; return those removed.

    A staging folder's name (``.<name>.partial-<pid>-<random>``) carries its
    process's id; one whose process is gone is a leftover, whatever its
    destination was called (default destinations differ run to run). A live
    run's is left alone.
    """
    removed = []
    try:
        siblings = list(out.parent.iterdir()) if out.parent.is_dir() else []
    except OSError:
        return removed
    for path in siblings:
        match = _STAGING_NAME.match(path.name)
        if match and path.is_dir() and not path.is_symlink() and not process_alive(int(match.group(1))):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _fsync(path: Path) -> None:
    """Flush a file, or a folder's entries, to disk (where the platform allows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:  # some file systems do not sync folders
        if exc.errno not in (errno.EINVAL, errno.EBADF):
            raise
    finally:
        os.close(fd)
