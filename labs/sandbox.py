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


@functools.lru_cache(maxsize=1)
def bwrap_problem() -> str | None:
    """None if bubblewrap is installed and can start a confined process here, else why not."""
    exe = shutil.which("bwrap")
    if exe is None:
        return "bubblewrap (bwrap) is not installed"
    with tempfile.TemporaryDirectory() as tmp:
        probe = [exe, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
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
        for folder in self.hidden:
            folder = Path(folder).resolve()
            if folder.is_dir() and folder != Path("/") and folder != workdir:
                cmd += ["--tmpfs", str(folder)]
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
