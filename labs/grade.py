"""Grading a folder of submitted notebooks with nbval, and writing student copies.

``grade`` copies the reference graded cells into each submission (see
:func:`labs.notebooks.with_reference_cells`), runs ``pytest --nbval-lax`` on
the patched copies — every cell runs, graded cells' outputs are compared with
the reference's — and scores each graded cell pass or fail.
"""
from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from simulator.errors import ScenarioError
from simulator.output import write_atomically

from . import notebooks as nbs

SANITIZE = Path(__file__).resolve().parent / "sanitize.cfg"
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def release(reference_dir: Path, out_dir: Path) -> list[Path]:
    """Write a student copy of every notebook in ``reference_dir`` to ``out_dir``; return their paths.

    A file of the same name already in ``out_dir`` is replaced only if an
    earlier release wrote it: anything else there (the reference notebooks
    themselves, a student's work) makes the release refuse before writing
    anything (:class:`~simulator.errors.ScenarioError`, naming ``--out``).
    """
    sources = sorted(Path(reference_dir).glob("*.ipynb"))
    if not sources:
        raise FileNotFoundError(f"{reference_dir}: no notebooks (*.ipynb) to release")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ScenarioError(str(out_dir), "--out", "exists and is not a folder")
    for path in sources:
        target = out_dir / path.name
        if target.exists() and not nbs.is_student_copy(target):
            raise ScenarioError(str(target), "--out", "exists and is not a student copy written by release; "
                                                      "choose another folder (nothing was written)")
    written = []
    for path in sources:
        target = out_dir / path.name
        copy = nbs.student_copy(nbs.read(path))
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, lambda f, nb=copy: f.write(nbs.dumps(nb)))
        written.append(target)
    return written


def _submissions(folder: Path) -> list[tuple[str, Path]]:
    """(student, notebook) pairs: ``folder/<student>/<lesson>.ipynb``."""
    pairs = []
    for student in sorted(p for p in Path(folder).iterdir() if p.is_dir()):
        for nb in sorted(student.glob("*.ipynb")):
            pairs.append((student.name, nb))
    return pairs


def run_nbval(paths: list[Path], lax: bool = True, timeout: int = 600) -> dict[tuple[str, int], bool]:
    """Run nbval on ``paths``; return pass/fail per (notebook path, code-cell number)."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.xml"
        root = Path(paths[0]).parent  # the notebooks share a folder: reports name them from it
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
               "--nbval-lax" if lax else "--nbval", "--nbval-sanitize-with", str(SANITIZE),
               f"--junitxml={report}", "--rootdir", str(root), *map(str, paths)]
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=root)
        if not report.exists():
            raise RuntimeError("nbval produced no report; is nbval installed (pip install -e '.[dev]')?")
        results = {}
        for case in ET.parse(report).getroot().iter("testcase"):
            name = case.get("name", "")
            if not name.startswith("Cell "):
                continue
            failed = any(child.tag in ("failure", "error") for child in case)
            where = case.get("file") or case.get("classname", "")
            stem = next((Path(p).stem for p in paths if where.endswith(Path(p).name)), "")
            results[(stem, int(name.split()[1]))] = not failed
        return results


def grade(submissions: Path, reference_dir: Path = NOTEBOOKS) -> list[dict]:
    """Score every graded cell of every submission; one row per student per exercise."""
    pairs = _submissions(submissions)
    if not pairs:
        raise FileNotFoundError(f"{submissions}: no submissions (expected <student>/<lesson>.ipynb)")
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        jobs = []
        for student, path in pairs:
            reference_path = Path(reference_dir) / path.name
            if not reference_path.exists():
                rows.append({"student": student, "notebook": path.name, "exercise": "", "score": 0,
                             "note": "no such lesson"})
                continue
            reference = nbs.read(reference_path)
            patched = nbs.with_reference_cells(nbs.read(path), reference)
            # One file name per (student, lesson), so reports can be told apart.
            target = Path(tmp) / f"{student}__{path.stem}.ipynb"
            nbs.write(patched, target)
            jobs.append((student, path.name, target, patched))
        results = run_nbval([t for *_, t, _ in jobs]) if jobs else {}
        for student, name, target, patched in jobs:
            for number, cell in enumerate(nbs.code_cells(patched)):
                if nbs.is_graded(cell):
                    ok = results.get((target.stem, number), False)
                    rows.append({"student": student, "notebook": name, "exercise": nbs.exercise(cell),
                                 "score": int(ok), "note": "" if ok else "failed or did not run"})
    return rows


COLUMNS = ["student", "notebook", "exercise", "score", "note"]


def check_csv_out(out: Path) -> None:
    """Refuse (:class:`~simulator.errors.ScenarioError`, ``--out``) a scores file that would replace
    something grading did not write: a folder, or a file that is not an earlier scores CSV."""
    out = Path(out)
    if out.is_dir():
        raise ScenarioError(str(out), "--out", "is a folder; name the scores file, e.g. grades.csv")
    if out.exists():
        try:
            with open(out, encoding="utf-8") as f:
                header = f.readline().rstrip("\n")
        except (OSError, UnicodeDecodeError):
            header = None
        if header != ",".join(COLUMNS):
            raise ScenarioError(str(out), "--out", "exists and is not a scores file written by grade; "
                                                   "choose another name (nothing was changed)")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ScenarioError(str(out), "--out", f"cannot be created: {parent} is a file, not a folder")
            break


def write_csv(rows: list[dict], out: Path) -> None:
    """Write the scores atomically: one row per student per exercise."""
    def write(f) -> None:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)

    check_csv_out(out)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(out, write)
