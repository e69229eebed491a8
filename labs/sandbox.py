"""Confinement of a submission's processes: bubblewrap when it works, plain processes otherwise.

Under bubblewrap (Debian's ``bubblewrap``, the ``bwrap`` command) a
submission's notebook and its checks see the file system read-only except
their working folder (their temporary files go there too), have no network, and find
the folders in :attr:`Sandbox.hidden` (the reference notebooks, the
project's git history, the other submissions, the grades) empty. Every
process also gets a memory limit (``RLIMIT_AS``), with or without bubblewrap.

>>> box = Sandbox(confine=False, memory=2 * 2**30)
>>> box.command(["python", "-c", "pass"], Path("/tmp/work"))[:4]  # doctest: +ELLIPSIS
['...python...', '-I', '-m', 'labs.sandbox']
"""
from __future__ import annotations

import functools
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


def runtime_binds(hidden: list[Path]) -> list[str]:
    """bwrap arguments that show again, read-only, what a confined Python needs from under ``hidden`` folders.

    A virtual environment or the lab's own packages may live in a folder that
    confinement hides (a venv made under /tmp, a checkout there): their
    folders are bound back, while a hidden folder inside one of them (the
    reference notebooks beside the packages) stays hidden.
    """
    root = Path(__file__).resolve().parent.parent
    needed = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), Path(sys.executable).resolve().parent,
              root / "labs", root / "simulator", root / "scenarios"}
    needed = sorted(p for p in needed if p.is_dir() and any(h == p or h in p.parents for h in hidden))
    args = [a for p in needed for a in ("--ro-bind", str(p), str(p))]
    again = [h for h in hidden if any(p in h.parents for p in needed)]
    return args + [a for h in again for a in ("--tmpfs", str(h))]


@functools.lru_cache(maxsize=1)
def bwrap_problem() -> str | None:
    """None if bubblewrap is installed and can start a confined process here, else why not."""
    exe = shutil.which("bwrap")
    if exe is None:
        return "bubblewrap (bwrap) is not installed"
    with tempfile.TemporaryDirectory() as tmp:
        probe = [exe, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
                 *runtime_binds([Path("/tmp")]),
                 "--bind", tmp, tmp, "--unshare-net", "--unshare-pid", "--die-with-parent",
                 sys.executable, "-c", f"open({tmp + '/ok'!r}, 'w').write('1')"]
        try:
            done = subprocess.run(probe, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bubblewrap did not start: {exc}"
        if done.returncode != 0 or not Path(tmp, "ok").exists():
            return f"bubblewrap does not work here: {(done.stderr or '').strip().splitlines()[-1:] or done.returncode}"
    return None


@dataclass
class Sandbox:
    """How to start one confined process.

    ``confine``: use bubblewrap (None: when it works). ``memory``: the
    address-space limit in bytes of every process started (0: none).
    ``hidden``: folders shown empty inside the confinement.
    """

    confine: bool | None = None
    memory: int = 4 * 2**30
    hidden: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.confine is None:
            self.confine = bwrap_problem() is None

    def command(self, argv: list[str], workdir: Path, writable: bool = True) -> list[str]:
        """``argv`` to run in ``workdir`` (read-write unless ``writable`` is False), confined and memory-limited."""
        limited = [sys.executable, "-I", "-m", "labs.sandbox", str(self.memory), "--", *argv]
        if not self.confine:
            return limited
        workdir = Path(workdir).resolve()
        cmd = [shutil.which("bwrap") or "bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        hidden = [Path(f).resolve() for f in self.hidden]
        hidden = [f for f in hidden if f.is_dir() and f != Path("/") and f != workdir]
        for folder in hidden:
            cmd += ["--tmpfs", str(folder)]
        cmd += runtime_binds(hidden)
        cmd += ["--bind" if writable else "--ro-bind", str(workdir), str(workdir),
                "--unshare-net", "--unshare-pid", "--unshare-ipc", "--die-with-parent", "--new-session",
                "--chdir", str(workdir)]
        return cmd + limited

    def environment(self, workdir: Path) -> dict[str, str]:
        """The environment of a submission's processes: home and caches inside ``workdir``, one thread for BLAS."""
        home = Path(workdir) / ".home"
        (home / "tmp").mkdir(parents=True, exist_ok=True)
        keep = {k: v for k, v in os.environ.items()
                if k in ("PATH", "LANG", "LC_ALL", "VIRTUAL_ENV", "NUMBA_CACHE_DIR", "TZ")}
        return {**keep, "HOME": str(home), "MPLCONFIGDIR": str(home / "matplotlib"), "MPLBACKEND": "Agg",
                "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "IPYTHONDIR": str(home / "ipython"),
                "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                "MKL_NUM_THREADS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1", "TMPDIR": str(home / "tmp")}


def main(argv: list[str]) -> None:
    """``python -m labs.sandbox BYTES -- COMMAND...``: set the memory limit, then become COMMAND."""
    memory, rest = int(argv[0]), argv[argv.index("--") + 1:]
    if memory > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    os.execvp(rest[0], rest)


if __name__ == "__main__":
    main(sys.argv[1:])
