"""Lesson notebooks as JSON: solution regions, graded cells, student copies and reference cells.

Conventions (see INSTRUCTORS.md):

- a solution sits between ``### BEGIN SOLUTION`` and ``### END SOLUTION``
  lines; a student copy has ``raise NotImplementedError`` in its place;
- a graded cell has the tag ``graded`` (and ``nbval-check-output``) and
  names its exercise in its metadata, ``{"labs": {"exercise": "..."}}``;
  its stored output is the grader's one passing line;
- a cell tagged ``reference-only``, and in any cell the lines from one
  containing ``<!-- BEGIN REFERENCE ONLY -->`` to one containing
  ``<!-- END REFERENCE ONLY -->``, are the reference's alone: a student copy
  leaves them out, as it leaves out every output.

>>> strip_solutions("def f():\\n    ### BEGIN SOLUTION\\n    return 1\\n    ### END SOLUTION\\n")
'def f():\\n    raise NotImplementedError\\n'
>>> strip_reference_only("Try it.\\n<!-- BEGIN REFERENCE ONLY -->\\nIt is 4.\\n<!-- END REFERENCE ONLY -->\\nGo.")
'Try it.\\nGo.'
"""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
GRADED = "graded"
REFERENCE_TAG = "reference-only"
REFERENCE_BEGIN, REFERENCE_END = "<!-- BEGIN REFERENCE ONLY -->", "<!-- END REFERENCE ONLY -->"
_REGION = re.compile(r"^([ \t]*)" + re.escape(BEGIN) + r"[^\n]*\n.*?^[ \t]*" + re.escape(END) + r"[^\n]*(\n|$)",
                     re.MULTILINE | re.DOTALL)

Notebook = dict[str, Any]


def read(path: str | Path) -> Notebook:
    """Load a notebook file."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def dumps(nb: Notebook) -> str:
    """A notebook's text the way Jupyter saves it (one-space indent, a final newline)."""
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def write(nb: Notebook, path: str | Path) -> None:
    """Save a notebook the way Jupyter does."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(dumps(nb), encoding="utf-8")


def source(cell: dict) -> str:
    """A cell's source as one string."""
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def set_source(cell: dict, text: str) -> None:
    """Store ``text`` as the cell's source, split into lines as Jupyter does."""
    cell["source"] = text.splitlines(keepends=True)


def strip_solutions(text: str) -> str:
    """Replace each solution region with ``raise NotImplementedError`` at the region's indentation."""
    return _REGION.sub(lambda m: f"{m.group(1)}raise NotImplementedError\n", text)


def strip_reference_only(text: str) -> str:
    """``text`` without its reference-only regions (marker lines included).

    A region opened and not closed, or closed and not opened, is a
    ``ValueError``: better no release than one that gives an answer away.
    """
    kept, inside = [], False
    for line in text.splitlines(keepends=True):
        if REFERENCE_BEGIN in line:
            if inside:
                raise ValueError(f"{REFERENCE_BEGIN} inside a reference-only region")
            inside = True
        elif REFERENCE_END in line:
            if not inside:
                raise ValueError(f"{REFERENCE_END} without {REFERENCE_BEGIN}")
            inside = False
        elif not inside:
            kept.append(line)
    if inside:
        raise ValueError(f"{REFERENCE_BEGIN} never closed by {REFERENCE_END}")
    return "".join(kept)


def is_reference_only(cell: dict) -> bool:
    """True for a cell only the reference keeps (tagged ``reference-only``)."""
    return REFERENCE_TAG in cell.get("metadata", {}).get("tags", [])


def _for_students(cells: list[dict]) -> list[dict]:
    """The cells without reference-only cells and regions (a cell left empty by its regions goes too)."""
    out = []
    for cell in cells:
        if is_reference_only(cell):
            continue
        text = source(cell)
        if REFERENCE_BEGIN in text or REFERENCE_END in text:
            try:
                text = strip_reference_only(text)
            except ValueError as exc:
                raise ValueError(f"cell {cell.get('id', '?')}: {exc}") from None
            if not text.strip():
                continue
            set_source(cell, text)
        out.append(cell)
    return out


def is_student_copy(path: str | Path) -> bool:
    """True if ``path`` is a notebook that :func:`student_copy` made (so a new release may replace it)."""
    try:
        nb = read(path)
    except (OSError, ValueError):
        return False
    labs = nb.get("metadata", {}).get("labs", {}) if isinstance(nb, dict) else {}
    return isinstance(labs, dict) and labs.get("student_copy") is True


def has_solution(cell: dict) -> bool:
    """True if the cell holds a solution region."""
    return cell.get("cell_type") == "code" and BEGIN in source(cell)


def is_graded(cell: dict) -> bool:
    """True for a graded cell."""
    return cell.get("cell_type") == "code" and GRADED in cell.get("metadata", {}).get("tags", [])


def exercise(cell: dict) -> str:
    """The exercise a graded cell grades."""
    return cell.get("metadata", {}).get("labs", {}).get("exercise", cell.get("id", "?"))


#: Keys of a cell's ``labs`` metadata that only the reference keeps (a quiz's answer and its explanation).
REFERENCE_ONLY = ("answer", "explanation")


def quiz_key(cell: dict) -> dict[str, dict]:
    """``{exercise: {"answer": ..., "explanation": ...}}`` for a reference quiz cell (its ``labs`` metadata), else ``{}``.

    >>> quiz_key({"metadata": {"labs": {"exercise": "lesson1.quiz1", "answer": "c"}}})
    {'lesson1.quiz1': {'answer': 'c', 'explanation': ''}}
    """
    labs = cell.get("metadata", {}).get("labs", {})
    if not (isinstance(labs, dict) and "answer" in labs):
        return {}
    return {labs["exercise"]: {"answer": labs["answer"], "explanation": labs.get("explanation", "")}}


def student_copy(nb: Notebook) -> Notebook:
    """The notebook with solutions removed, quiz answers dropped, reference-only cells and regions left out
    and every output cleared."""
    out = copy.deepcopy(nb)
    out["cells"] = _for_students(out["cells"])
    for cell in out["cells"]:
        labs = cell.get("metadata", {}).get("labs")
        if isinstance(labs, dict):
            for key in REFERENCE_ONLY:
                labs.pop(key, None)
        if cell.get("cell_type") != "code":
            continue
        if has_solution(cell):
            set_source(cell, strip_solutions(source(cell)))
        # No output of the reference reaches students, not even a graded cell's passing line: the
        # grader takes each graded cell, with its expected output, from the reference by id.
        cell["outputs"] = []
        cell["execution_count"] = None
    # Marks the file as one ``release`` wrote, which a later release may replace.
    out.setdefault("metadata", {}).setdefault("labs", {})["student_copy"] = True
    return out


def with_reference_cells(submission: Notebook, reference: Notebook) -> Notebook:
    """The submission with every graded cell (source and expected output) copied from the reference.

    Cells are matched by id. A graded cell the student deleted is put back
    after the nearest cell before it that the submission still has, so
    deleting, editing or not running a graded cell cannot pass.
    """
    out = copy.deepcopy(submission)
    cells = out["cells"]
    position = {c.get("id"): i for i, c in enumerate(cells)}
    previous_id = None
    for ref in reference["cells"]:
        if is_graded(ref):
            fresh = copy.deepcopy(ref)
            if ref.get("id") in position:
                cells[position[ref["id"]]] = fresh
            else:
                at = position[previous_id] + 1 if previous_id in position else len(cells)
                cells.insert(at, fresh)
                position = {c.get("id"): i for i, c in enumerate(cells)}
        if ref.get("id") in position:
            previous_id = ref.get("id")
    return out


def code_cells(nb: Notebook) -> list[dict]:
    """The code cells in order (nbval numbers them from 0)."""
    return [c for c in nb["cells"] if c.get("cell_type") == "code"]
