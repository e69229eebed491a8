"""The student copies of the lessons: nothing of the reference's answers, and every graded cell fails
until the student writes a solution.

A copy carries no output at all (not even a graded cell's passing line), no
solution and no reference-only cell or region. The copies are run as a
student would hand them in untouched (every cell, in order, under nbval),
with each graded cell's expected output put back from the reference as the
grader does; a grader that passed here would pass without a solution.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from labs import notebooks as nbs
from labs.grade import NOTEBOOKS, release, run_nbval

LESSONS = sorted(NOTEBOOKS.glob("*.ipynb"))


@pytest.fixture(scope="module")
def student_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("students")
    copies = release(NOTEBOOKS, out)
    # The copies have no outputs: compare their graded cells with the reference's passing line, as grading does.
    checked = tmp_path_factory.mktemp("checked")
    runs = []
    for copy in copies:
        nbs.write(nbs.with_reference_cells(nbs.read(copy), nbs.read(NOTEBOOKS / copy.name)), checked / copy.name)
        runs.append(checked / copy.name)
    return runs, run_nbval(runs, lax=True, timeout=1200)


def _reference_only_text(nb) -> list[str]:
    """The lines of a reference notebook that only the reference may show: reference-only cells and regions."""
    lines = []
    for cell in nb["cells"]:
        text = nbs.source(cell)
        if nbs.is_reference_only(cell):
            lines += text.splitlines()
        elif nbs.REFERENCE_BEGIN in text:
            inside = False
            for line in text.splitlines():
                if nbs.REFERENCE_BEGIN in line or nbs.REFERENCE_END in line:
                    inside = nbs.REFERENCE_BEGIN in line
                elif inside:
                    lines.append(line)
    return lines


def _solution_text(nb) -> list[str]:
    """The lines of a reference notebook's solution regions."""
    lines = []
    for cell in nbs.code_cells(nb):
        inside = False
        for line in nbs.source(cell).splitlines():
            if nbs.BEGIN in line or nbs.END in line:
                inside = nbs.BEGIN in line
            elif inside:
                lines.append(line)
    return lines


def _distinctive(lines: list[str], shared: str) -> list[str]:
    """The lines worth looking for: long enough to be telling, and not also in the reference outside the answers."""
    return sorted({line.strip() for line in lines if len(line.strip()) >= 12 and line.strip() not in shared})


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_a_student_copy_shows_no_answer_and_no_output(path):
    reference = nbs.read(path)
    student = nbs.student_copy(reference)
    text = "\n".join(nbs.source(c) for c in student["cells"])
    # What the copy may show: the reference with its answers taken out.
    answers = set(_reference_only_text(reference)) | set(_solution_text(reference))
    shared = "\n".join(line for c in reference["cells"] for line in nbs.source(c).splitlines()
                       if line not in answers and not nbs.is_reference_only(c))
    for line in _distinctive(_reference_only_text(reference), shared):
        assert line not in text, f"{path.name}: reference-only text in the student copy: {line!r}"
    for line in _distinctive(_solution_text(reference), shared):
        assert line not in text, f"{path.name}: solution line in the student copy: {line!r}"
    assert nbs.REFERENCE_BEGIN not in text and nbs.REFERENCE_END not in text
    for cell in student["cells"]:
        assert not nbs.is_reference_only(cell)
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, (
                f"{path.name}: cell {cell.get('id')} keeps the reference's output")
    assert "hidden checks" not in json.dumps(student), f"{path.name}: a passing line survived"


def test_reference_only_cells_and_regions_are_left_out():
    nb = {"cells": [
        {"cell_type": "markdown", "id": "a", "metadata": {}, "source": ["Read this.\n"]},
        {"cell_type": "markdown", "id": "b", "metadata": {"tags": ["reference-only"]}, "source": ["The answer.\n"]},
        {"cell_type": "markdown", "id": "c", "metadata": {},
         "source": ["Keep.\n", "<!-- BEGIN REFERENCE ONLY -->\n", "Why it wins.\n", "<!-- END REFERENCE ONLY -->\n",
                    "Keep too.\n"]},
        {"cell_type": "markdown", "id": "d", "metadata": {},
         "source": ["<!-- BEGIN REFERENCE ONLY -->\n", "All of it.\n", "<!-- END REFERENCE ONLY -->\n"]},
        {"cell_type": "code", "id": "e", "metadata": {"tags": ["reference-only"]}, "execution_count": 3,
         "outputs": [{"output_type": "stream", "name": "stdout", "text": ["$425.8M\n"]}], "source": ["run()"]},
        {"cell_type": "code", "id": "f", "metadata": {"tags": ["graded"]}, "execution_count": 4,
         "outputs": [{"output_type": "stream", "name": "stdout", "text": ["✔ x: passed 3 hidden checks\n"]}],
         "source": ["labs.lesson9.check(x)"]},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    student = nbs.student_copy(nb)
    assert [c["id"] for c in student["cells"]] == ["a", "c", "f"]
    assert nbs.source(student["cells"][1]) == "Keep.\nKeep too.\n"
    assert student["cells"][2]["outputs"] == [] and student["cells"][2]["execution_count"] is None
    assert nb["cells"][5]["outputs"], "the reference itself is untouched"


@pytest.mark.parametrize("text, problem", [
    ("<!-- BEGIN REFERENCE ONLY -->\nno end\n", "never closed"),
    ("an end\n<!-- END REFERENCE ONLY -->\n", "without"),
    ("<!-- BEGIN REFERENCE ONLY -->\n<!-- BEGIN REFERENCE ONLY -->\n<!-- END REFERENCE ONLY -->\n", "inside"),
])
def test_an_unbalanced_reference_only_region_stops_the_release(text, problem):
    nb = {"cells": [{"cell_type": "markdown", "id": "x", "metadata": {}, "source": [text]}], "metadata": {}}
    with pytest.raises(ValueError, match=problem):
        nbs.student_copy(nb)


def test_every_lesson_has_graded_cells_and_solutions():
    assert len(LESSONS) >= 7
    for path in LESSONS:
        nb = nbs.read(path)
        graded = [c for c in nbs.code_cells(nb) if nbs.is_graded(c)]
        assert graded, f"{path.name} has no graded cell"
        assert any(nbs.has_solution(c) for c in nbs.code_cells(nb)), f"{path.name} has no solution region"
        for cell in graded:
            assert cell.get("id") and "nbval-check-output" in cell["metadata"]["tags"]
            assert cell.get("outputs"), f"{path.name}: graded cell {cell['id']} has no expected output"


def test_every_graded_cell_of_a_student_copy_fails(student_results):
    copies, results = student_results
    for copy in copies:
        nb = nbs.read(copy)
        for number, cell in enumerate(nbs.code_cells(nb)):
            if nbs.is_graded(cell):
                assert (Path(copy).stem, number) in results, f"{copy.name}: cell {number} did not run"
                assert results[(Path(copy).stem, number)] is False, (
                    f"{copy.name}: graded cell {cell['id']} passes without a solution")
