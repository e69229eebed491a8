"""The student copies of the lessons: every graded cell fails until the student writes a solution.

The copies are run as a student would hand them in untouched (every cell,
in order, under nbval); a grader that passed here would pass without a
solution.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from labs import notebooks as nbs
from labs.grade import NOTEBOOKS, release, run_nbval

LESSONS = sorted(NOTEBOOKS.glob("*.ipynb"))


@pytest.fixture(scope="module")
def student_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("students")
    copies = release(NOTEBOOKS, out)
    return copies, run_nbval(copies, lax=True, timeout=1200)


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
