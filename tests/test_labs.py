"""Student copies and grading: a wrong submission never passes, however it is handed in."""
from __future__ import annotations

import copy
import csv

import pytest

from labs import notebooks as nbs
from labs.__main__ import main

SOLUTION = "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n"
GRADER = "labs.demo.check_double(double)\n"
PASS_LINE = "✔ demo.double: passed 5 hidden checks\n"


def _cell(cell_id, text, outputs=(), tags=(), exercise=None):
    meta = {"tags": list(tags)}
    if exercise:
        meta["labs"] = {"exercise": exercise}
    cell = {"cell_type": "code", "id": cell_id, "metadata": meta, "execution_count": 1,
            "outputs": list(outputs), "source": []}
    nbs.set_source(cell, text)
    return cell


def _stream(text):
    return {"output_type": "stream", "name": "stdout", "text": [text]}


def reference():
    return {"nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
            "cells": [
                {"cell_type": "markdown", "id": "intro", "metadata": {}, "source": ["# Doubling\n"]},
                _cell("imports", "import labs.demo\n"),
                _cell("sol", SOLUTION),
                _cell("check", GRADER, [_stream(PASS_LINE)], tags=("graded", "nbval-check-output"),
                      exercise="demo.double"),
                _cell("after", "print('done')\n", [_stream("done\n")]),
            ]}


@pytest.fixture
def course(tmp_path):
    ref_dir = tmp_path / "notebooks"
    nbs.write(reference(), ref_dir / "lesson.ipynb")
    return tmp_path, ref_dir


def test_student_copy_has_no_solution_and_no_outputs(course, tmp_path):
    _, ref_dir = course
    assert main(["release", "--notebooks", str(ref_dir), "--out", str(tmp_path / "students")]) == 0
    student = nbs.read(tmp_path / "students" / "lesson.ipynb")
    cells = {c["id"]: c for c in student["cells"]}
    assert nbs.source(cells["sol"]) == "def double(x):\n    raise NotImplementedError\n"
    assert "return 2 * x" not in str(student)
    # Not even the graded cell's passing line: an unsolved exercise must not look passed.
    assert cells["check"]["outputs"] == [] and cells["after"]["outputs"] == []


def _submit(tmp_path, name, nb):
    nbs.write(nb, tmp_path / "subs" / name / "lesson.ipynb")


def _scores(tmp_path, ref_dir):
    out = tmp_path / "grades"
    assert main(["grade", str(tmp_path / "subs"), "--notebooks", str(ref_dir), "--out", str(out),
                 "--jobs", "4", "--cell-timeout", "20"]) == 0
    return {row["student"]: float(row["points"]) for row in csv.DictReader((out / "grades.csv").open())}


def test_grading_passes_the_right_answer_and_fails_every_wrong_one(course):
    tmp_path, ref_dir = course
    good = reference()
    _submit(tmp_path, "good", good)
    # A student copy handed in as is: the solution still raises NotImplementedError.
    _submit(tmp_path, "untouched", nbs.student_copy(reference()))
    # A wrong answer with every output cleared: nbval alone would compare nothing.
    wrong = nbs.student_copy(reference())
    nbs.set_source(wrong["cells"][2], "def double(x):\n    return x + 2\n")
    for cell in nbs.code_cells(wrong):
        cell["outputs"] = []
    _submit(tmp_path, "cleared", wrong)
    # A wrong answer whose graded cell was edited to print the passing line.
    forged = copy.deepcopy(wrong)
    nbs.set_source(forged["cells"][3], f"print({PASS_LINE.strip()!r})\n")
    forged["cells"][3]["outputs"] = [_stream(PASS_LINE)]
    _submit(tmp_path, "forged", forged)
    # A wrong answer with the graded cell deleted.
    deleted = copy.deepcopy(wrong)
    del deleted["cells"][3]
    _submit(tmp_path, "deleted", deleted)
    scores = _scores(tmp_path, ref_dir)
    assert scores == {"good": 1, "untouched": 0, "cleared": 0, "forged": 0, "deleted": 0}


def test_grading_an_empty_folder_is_an_error(course, capsys):
    tmp_path, ref_dir = course
    (tmp_path / "subs").mkdir()
    assert main(["grade", str(tmp_path / "subs"), "--notebooks", str(ref_dir)]) == 2
    assert "no submissions" in capsys.readouterr().err


# --- output files: nothing the lab did not write is replaced ---------------------


def test_release_never_replaces_a_notebook_it_did_not_write(course, tmp_path, capsys):
    _, ref_dir = course
    before = (ref_dir / "lesson.ipynb").read_bytes()
    # Releasing into the reference folder itself would replace the solutions with student copies.
    assert main(["release", "--notebooks", str(ref_dir), "--out", str(ref_dir)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--out" in err[0] and "lesson.ipynb" in err[0]
    assert (ref_dir / "lesson.ipynb").read_bytes() == before
    # A student's own work of the same name is kept too; an earlier release's copy is refreshed.
    students = tmp_path / "students"
    assert main(["release", "--notebooks", str(ref_dir), "--out", str(students)]) == 0
    assert nbs.is_student_copy(students / "lesson.ipynb")
    assert main(["release", "--notebooks", str(ref_dir), "--out", str(students)]) == 0
    (students / "lesson.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    assert main(["release", "--notebooks", str(ref_dir), "--out", str(students)]) == 2
    assert "cells" in (students / "lesson.ipynb").read_text() and not nbs.is_student_copy(students / "lesson.ipynb")


def test_grade_refuses_to_replace_a_file_it_did_not_write_before_grading(course, tmp_path, capsys):
    submissions = tmp_path / "submissions"
    (submissions / "ann").mkdir(parents=True)
    mine = tmp_path / "thesis.txt"
    mine.write_text("not a scores file")
    for out in (mine, tmp_path, mine / "grades"):
        assert main(["grade", str(submissions), "--notebooks", str(course[1]), "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "--out" in err[0], err
    assert mine.read_text() == "not a scores file"
