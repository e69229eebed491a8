"""Run one prepared notebook cell by cell in a fresh kernel: ``python -m labs.runner NOTEBOOK CELL_TIMEOUT``.

Runs inside the submission's confinement (:mod:`labs.sandbox`), with its
working folder as the current folder. Each code cell runs with nbclient under
a time limit; the first cell that times out or kills the kernel ends the run.
After every cell the progress is written to ``run.json`` in the working
folder — the grader reads it to explain a lost point ("timed out in cell 14
after 120 s"), never to score one (scores come from :mod:`labs.checks`).
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

PROGRESS = "run.json"


def _write(progress: dict) -> None:
    tmp = Path(f".{PROGRESS}.tmp")
    tmp.write_text(json.dumps(progress), encoding="utf-8")
    os.replace(tmp, PROGRESS)


def run(notebook: Path, cell_timeout: float) -> dict:
    """Execute ``notebook`` in place of a person; return (and keep writing) its progress.

    Progress: ``cells`` run, ``errors`` (code-cell number and the error's
    last line, the first few), and ``stopped`` — None, or why the run ended
    early (``timeout``/``dead`` with the cell number).
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    nb = nbformat.read(str(notebook), as_version=4)
    client = NotebookClient(nb, timeout=cell_timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(Path.cwd())}}, record_timing=False,
                            startup_timeout=120)
    progress: dict = {"cells": 0, "errors": [], "stopped": None, "started": time.time()}
    _write(progress)
    with client.setup_kernel():
        number = -1
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            number += 1
            try:
                client.execute_cell(cell, index)
            except CellTimeoutError:
                progress["stopped"] = {"why": "timeout", "cell": number, "after": cell_timeout}
            except DeadKernelError:
                progress["stopped"] = {"why": "dead", "cell": number}
            except Exception as exc:  # noqa: BLE001 - the client lost the kernel some other way
                progress["stopped"] = {"why": "lost", "cell": number, "detail": f"{type(exc).__name__}: {exc}"}
            progress["cells"] = number + 1
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error" and len(progress["errors"]) < 5:
                    progress["errors"].append({"cell": number, "error": f"{out.get('ename')}: {out.get('evalue')}"})
            _write(progress)
            if progress["stopped"]:
                break
    progress["finished"] = time.time()
    _write(progress)
    return progress


if __name__ == "__main__":
    run(Path(sys.argv[1]), float(sys.argv[2]))
