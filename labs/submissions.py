"""Finding submissions in a folder and naming their student and lesson.

Three layouts are understood, and may be mixed:

- one folder per student: ``SUBMISSIONS/alice/01_production_gap.ipynb``
  (an LMS's folder names such as ``Alice Smith_1234_assignsubmission_file_``
  count as the student's name);
- notebooks directly in the folder, the student in the file name:
  ``SUBMISSIONS/alice_01_production_gap.ipynb`` or ``01_production_gap-alice.ipynb``;
- an LMS bulk download: the student's name or id before the lesson's name,
  and copies' suffixes after it (``smith_1234_01_production_gap (1).ipynb``,
  ``smith_1234_01_production_gap-2.ipynb``).

A lesson is recognised by its reference notebook's name anywhere in the file
name (case, spaces and dashes aside). Every file that cannot be placed is
returned with the reason, and so is every older copy of a notebook handed in
twice (the most recently modified one is graded).

>>> lesson_of("smith_1234_01_production_gap (1).ipynb", ["01_production_gap", "02_data_drift"])
('01_production_gap', 'smith_1234')
>>> lesson_of("01-Production-Gap-alice.ipynb", ["01_production_gap"])
('01_production_gap', 'alice')
>>> lesson_of("Ann Lee - 01_production_gap-2.ipynb", ["01_production_gap"])
('01_production_gap', 'Ann Lee')
>>> lesson_of("notes.ipynb", ["01_production_gap"]) is None
True
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_COPY_SUFFIX = re.compile(r"(\s*\(\d+\)|[-_ ]\d{1,2}|[-_ ]v\d+)$")
_LMS_FOLDER = re.compile(r"_(assignsubmission_(file|onlinetext)_?|onlinetext_?|file_?)$", re.IGNORECASE)


@dataclass(frozen=True)
class Submission:
    """One notebook to grade: whose, which lesson (the reference file's stem), and where it is."""

    student: str
    lesson: str
    path: Path


@dataclass(frozen=True)
class Unplaced:
    """A file that is not graded, and why."""

    path: Path
    reason: str


_SEPARATORS = r"[\s\-_.]+"


def lesson_of(filename: str, lessons: list[str]) -> tuple[str, str] | None:
    """(lesson, the rest of the name: the student, if any) for a notebook's file name, or None."""
    stem = Path(filename).stem
    for lesson in sorted(lessons, key=len, reverse=True):  # "lesson10" before "lesson1"
        words = [re.escape(w) for w in re.split(_SEPARATORS, lesson) if w]
        found = re.search(r"(?<![^\W_])" + _SEPARATORS.replace("+", "*").join(words) + r"(?![^\W_])",
                          stem, re.IGNORECASE)
        if found is None:
            continue
        before = stem[:found.start()].strip(" _-.")
        after = _COPY_SUFFIX.sub("", stem[found.end():].rstrip()).strip(" _-.")
        return lesson, " ".join(part for part in (before, after) if part)
    return None


def student_name(folder_name: str) -> str:
    """A student folder's name without an LMS's suffix (``Ann Lee_42_assignsubmission_file_`` → ``Ann Lee_42``)."""
    return _LMS_FOLDER.sub("", folder_name).strip() or folder_name


def find(folder: Path, lessons: list[str], student: str | None = None) -> tuple[list[Submission], list[Unplaced]]:
    """Every gradable notebook under ``folder``, and every file that is not graded (with the reason).

    ``student`` names the owner of notebooks directly in ``folder`` whose file
    name holds no student (one student's folder, as Gradescope hands it over).
    """
    folder = Path(folder)
    found: dict[tuple[str, str], list[Path]] = {}
    unplaced: list[Unplaced] = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_dir() or any(part.startswith(".") or part == "__MACOSX" for part in rel.parts):
            continue  # folders, hidden files, .ipynb_checkpoints, macOS archive leftovers
        if path.suffix.lower() != ".ipynb":
            unplaced.append(Unplaced(path, "not a notebook (.ipynb)"))
            continue
        match = lesson_of(path.name, lessons)
        if match is None:
            unplaced.append(Unplaced(path, f"no lesson's name in the file name (lessons: {', '.join(lessons)})"))
            continue
        lesson, rest = match
        if len(rel.parts) > 1:
            owner = student_name(rel.parts[0])
        elif rest:
            owner = rest
        elif student:
            owner = student
        else:
            unplaced.append(Unplaced(path, "no student: put it in a folder named after the student, "
                                           "or add the student's name to the file name"))
            continue
        found.setdefault((owner, lesson), []).append(path)
    submissions = []
    for (student, lesson), paths in sorted(found.items()):
        newest = max(paths, key=lambda p: (p.stat().st_mtime, str(p)))
        submissions.append(Submission(student, lesson, newest))
        for other in paths:
            if other != newest:
                unplaced.append(Unplaced(other, f"an older copy of {student}'s {lesson}; graded {newest.name}"))
    return submissions, unplaced
