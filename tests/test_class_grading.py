"""Grading a class: every kind of bad submission and every cheat loses only its own points.

One batch of submissions of a small lesson (a function worth 4 points, a quiz
question worth 1) is graded once, several at a time, with short limits; each
test reads its row. The cheats are those that scored on lesson 1 before the
graded check moved out of the student's kernel.
"""
from __future__ import annotations

import copy
import csv
import json
import os
import sys
import threading
from pathlib import Path

import pytest

from labs import grade as grading_run
from labs import notebooks as nbs
from labs.__main__ import main
from labs.report import Result
from labs.sandbox import Sandbox, bwrap_problem
from labs.submissions import find, lesson_of

CONFINED = bwrap_problem() is None
needs_bwrap = pytest.mark.skipif(not CONFINED, reason=f"no confinement here: {bwrap_problem()}")

SOLUTION = "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n"
ANSWERS = 'answers = {1: None}\n### BEGIN SOLUTION\nanswers = {1: "d"}\n### END SOLUTION\n'
PASS = "✔ demo.double: passed 5 hidden checks"
QUIZ_PASS = "✔ lesson1.quiz1: passed 2 hidden checks"
WHY = "Because the inputs changed, not the model."


def _cell(cell_id, text, outputs=(), tags=(), labs=None):
    meta = {"tags": list(tags)}
    if labs:
        meta["labs"] = labs
    cell = {"cell_type": "code", "id": cell_id, "metadata": meta, "execution_count": None,
            "outputs": list(outputs), "source": []}
    nbs.set_source(cell, text)
    return cell


def _out(text):
    return [{"output_type": "stream", "name": "stdout", "text": [text + "\n"]}]


def reference():
    graded = ("graded", "nbval-check-output")
    return {"nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
            "cells": [
                _cell("imports", "import labs.demo\nimport labs.quiz\n"),
                _cell("sol", SOLUTION),
                _cell("check", "labs.demo.check_double(double)\n", _out(PASS), graded,
                      {"exercise": "demo.double", "points": 4}),
                _cell("answers", ANSWERS),
                _cell("quiz", "labs.quiz.check(answers, 1)\n", _out(QUIZ_PASS), graded,
                      {"exercise": "lesson1.quiz1", "points": 1, "answer": "d", "explanation": WHY}),
                _cell("after", "print('done')\n", _out("done")),
            ]}


def _with(nb, at, text, tags=(), labs=None, outputs=()):
    """``nb`` with a new code cell inserted before cell ``at``."""
    out = copy.deepcopy(nb)
    out["cells"].insert(at, _cell(f"extra{at}", text, outputs, tags, labs))
    return out


def _solved_as(nb, text):
    out = copy.deepcopy(nb)
    nbs.set_source(out["cells"][1], text)
    return out


SUBMISSIONS = {
    # layouts and matching
    "good": lambda ref, blank, paths: ref,
    "bob": lambda ref, blank, paths: ref,
    "b": lambda ref, blank, paths: blank,
    # cheats, on a blank or wrong copy
    "patch_graders": lambda ref, blank, paths: _with(blank, 1, (
        f"labs.demo.check_double = lambda f: print({PASS!r})\n"
        f"labs.quiz.check = lambda a, q, quiz='lesson1': print({QUIZ_PASS!r})\n")),
    "patch_grading": lambda ref, blank, paths: _with(blank, 1, (
        "import labs.grading, labs.demo\n"
        "labs.grading.verify = labs.demo.verify = lambda *a, **k: None\n"
        "labs.grading.call = labs.demo.call = lambda ex, fn, *a, **k: 2 * a[0]\n"
        "labs.grading.close = lambda *a, **k: True\n")),
    "transformer": lambda ref, blank, paths: _with(blank, 1, (
        "def forge(lines):\n"
        f"    return [{'print(' + repr(PASS) + ')'!r} + '\\n'] if any('labs.' in l for l in lines) else lines\n"
        "get_ipython().input_transformers_cleanup.append(forge)\n")),
    "custom_exc": lambda ref, blank, paths: _with(blank, 1, (
        f"get_ipython().set_custom_exc((BaseException,), lambda *a, **k: print({PASS!r}))\n")),
    "patch_builtins": lambda ref, blank, paths: _with(_solved_as(blank, "def double(x):\n    return 0\n"), 1, (
        "import builtins, numpy, pytest, math\n"
        "builtins.isinstance = lambda *a: True\n"
        "numpy.array_equal = numpy.isclose = lambda *a, **k: True\n"
        "math.isclose = lambda *a, **k: True\n"
        "pytest.approx = lambda *a, **k: 0\n")),
    "always_equal": lambda ref, blank, paths: _solved_as(blank, (
        "class Anything(int):\n    def __eq__(self, other):\n        return True\n    __hash__ = int.__hash__\n"
        "def double(x):\n    return Anything(0)\n")),
    "extra_graded": lambda ref, blank, paths: _with(blank, 3, f"print({PASS!r})\n", ("graded", "nbval-check-output"),
                                                    {"exercise": "demo.extra", "points": 5}, _out(PASS)),
    "quiz_brute": lambda ref, blank, paths: _with(blank, 4, (
        "answers = {1: None}\n"
        "for letter in 'abcd':\n"
        "    try:\n"
        "        labs.quiz.check({1: letter}, 1)\n"
        "        answers = {1: letter}\n"
        "    except AssertionError:\n"
        "        pass\n"
        "    if labs.quiz.explanation(1, letter):\n"
        "        answers = {1: letter}\n")),
    "read_reference": lambda ref, blank, paths: _with(blank, 2, (
        "import json\n"
        f"cells = json.load(open({str(paths['reference'])!r}))['cells']\n"
        "exec(''.join(cells[1]['source']))\n")),
    # bad submissions
    "loop_after": lambda ref, blank, paths: _with(ref, 6, "while True:\n    pass\n"),
    "loop_graded": lambda ref, blank, paths: _solved_as(ref, "def double(x):\n    while True:\n        pass\n"),
    "os_exit": lambda ref, blank, paths: _with(ref, 2, "import os\nos._exit(0)\n"),
    "sys_exit": lambda ref, blank, paths: _with(ref, 2, "import sys\nsys.exit(1)\n"),
    "crash": lambda ref, blank, paths: _with(ref, 2, "import ctypes\nctypes.string_at(0)\n"),
    "memory": lambda ref, blank, paths: _with(ref, 6, "hog = []\nwhile True:\n    hog.append(bytearray(2**26))\n"),
    "deletes": lambda ref, blank, paths: _with(ref, 6, (
        "import os, shutil\nshutil.rmtree('exports', ignore_errors=True)\n"
        "for name in os.listdir('.'):\n    if os.path.isfile(name):\n        os.remove(name)\n")),
    "escape": lambda ref, blank, paths: _with(ref, 6, (
        f"open({str(paths['outside'])!r}, 'w').write('escaped')\n")),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    ref_dir, subs, out = root / "notebooks", root / "submissions", root / "grades"
    paths = {"reference": ref_dir / "lesson.ipynb", "outside": root / "outside.txt"}
    nbs.write(reference(), paths["reference"])
    ref, blank = reference(), nbs.student_copy(reference())
    for student, make in SUBMISSIONS.items():
        nbs.write(make(ref, blank, paths), subs / student / "lesson.ipynb")
    nbs.write(ref, subs / "carol_lesson.ipynb")                      # the student in the file name
    nbs.write(ref, subs / "Dave Lee_1234_lesson (1).ipynb")          # an LMS download's name
    (subs / "broken").mkdir()
    (subs / "broken" / "lesson.ipynb").write_text("{not json")
    (subs / "notes.txt").write_text("not a notebook")
    nbs.write(blank, subs / "mystery.ipynb")                         # no lesson in its name
    argv = ["grade", str(subs), "--notebooks", str(ref_dir), "--out", str(out), "--jobs", "4",
            "--cell-timeout", "15", "--timeout", "180", "--memory", "2G"]
    code = main(argv)
    rows = {r["student"]: r for r in csv.DictReader((out / "grades.csv").open(encoding="utf-8"))}
    return {"code": code, "rows": rows, "out": out, "paths": paths, "argv": argv}


def points(graded, student):
    return float(graded["rows"][student]["points"])


def test_right_answers_score_and_results_follow_their_own_submission(graded):
    assert graded["code"] == 0
    rows = graded["rows"]
    assert points(graded, "good") == 5 and rows["good"]["maximum"] == "5"
    assert rows["good"]["demo.double"] == "4" and rows["good"]["lesson1.quiz1"] == "1"
    # "b" is a prefix of "bob": each gets its own grades.
    assert points(graded, "bob") == 5 and points(graded, "b") == 0
    assert rows["bob"]["submission"].endswith(os.path.join("bob", "lesson.ipynb"))
    assert points(graded, "carol") == 5 and points(graded, "Dave Lee_1234") == 5


@pytest.mark.parametrize("student", ["patch_graders", "patch_grading", "transformer", "custom_exc",
                                     "patch_builtins", "always_equal", "extra_graded"])
def test_a_cheat_scores_nothing(graded, student):
    row = graded["rows"][student]
    assert float(row["points"]) == 0, row
    assert row["maximum"] == "5" and "demo.extra" not in row  # an extra graded cell is no exercise


@needs_bwrap
@pytest.mark.parametrize("student", ["quiz_brute", "read_reference"])
def test_reference_answers_cannot_be_read_while_graded(graded, student):
    assert points(graded, student) == 0


def test_bad_submissions_lose_only_their_own_points_and_say_why(graded):
    rows = graded["rows"]
    assert "not a valid notebook" in rows["broken"]["reason"] and points(graded, "broken") == 0
    assert rows["loop_after"]["reason"] == "timed out in cell 6 after 15 s" and points(graded, "loop_after") == 5
    assert points(graded, "loop_graded") == 1 and "timed out" in rows["loop_graded"]["reason"]
    for student in ("os_exit", "crash"):
        assert "kernel died in cell 2" in rows[student]["reason"] and points(graded, student) == 0
    assert points(graded, "sys_exit") == 5
    assert points(graded, "memory") == 5 and points(graded, "deletes") == 0


@needs_bwrap
def test_a_submission_cannot_write_outside_its_folder(graded):
    assert not graded["paths"]["outside"].exists()
    assert points(graded, "escape") == 5


def test_feedback_and_gradescope_results(graded):
    out = graded["out"]
    blank = (out / "feedback" / "b" / "lesson.md").read_text(encoding="utf-8")
    assert "0 of 5 points" in blank and "not done yet" in blank and "no answer yet" in blank
    good = (out / "feedback" / "good" / "lesson.md").read_text(encoding="utf-8")
    assert WHY in good and "5 of 5" in good
    assert WHY not in blank  # the explanation comes with the right answer only
    results = json.loads((out / "gradescope" / "b" / "results.json").read_text(encoding="utf-8"))
    assert results["score"] == 0 and len(results["tests"]) == 2
    for test in results["tests"]:
        assert {"name", "score", "max_score", "output"} <= set(test)
    assert {t["name"]: t["max_score"] for t in results["tests"]} == {"demo.double": 4, "lesson1.quiz1": 1}


def test_unplaced_files_are_named(graded, capsys):
    subs = Path(graded["argv"][1])
    found, unplaced = find(subs, ["lesson"])
    named = {u.path.name: u.reason for u in unplaced}
    assert "notes.txt" in named and "mystery.ipynb" in named
    assert len(found) == len(SUBMISSIONS) + 3


def test_layouts_and_lms_names(tmp_path):
    lessons = ["01_production_gap", "02_data_drift"]
    assert lesson_of("01_production_gap (2).ipynb", lessons) == ("01_production_gap", "")
    assert lesson_of("smith_9876_02_data_drift-1.ipynb", lessons) == ("02_data_drift", "smith_9876")
    assert lesson_of("02 Data Drift - ann.ipynb", lessons) == ("02_data_drift", "ann")
    nb = json.dumps(reference())
    for rel in ("ann/01_production_gap.ipynb", "Bo Li_77_assignsubmission_file_/02_data_drift (1).ipynb",
                "cy_01_production_gap.ipynb", "cy_01_production_gap (1).ipynb", "01_production_gap.ipynb",
                "ann/.ipynb_checkpoints/01_production_gap-checkpoint.ipynb"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(nb)
    os.utime(tmp_path / "cy_01_production_gap.ipynb", (1, 1))  # the older of cy's two copies
    found, unplaced = find(tmp_path, lessons)
    assert {(s.student, s.lesson, s.path.name) for s in found} == {
        ("ann", "01_production_gap", "01_production_gap.ipynb"),
        ("Bo Li_77", "02_data_drift", "02_data_drift (1).ipynb"),
        ("cy", "01_production_gap", "cy_01_production_gap (1).ipynb")}
    reasons = {u.path.name: u.reason for u in unplaced}
    assert "no student" in reasons["01_production_gap.ipynb"]
    assert "older copy" in reasons["cy_01_production_gap.ipynb"]
    # One student's folder, as Gradescope's autograder gets it: --student names its owner.
    found, _ = find(tmp_path, lessons, student="me")
    assert ("me", "01_production_gap") in {(s.student, s.lesson) for s in found}


def _invalid_only(tmp_path):
    ref_dir, subs = tmp_path / "notebooks", tmp_path / "subs"
    nbs.write(reference(), ref_dir / "lesson.ipynb")
    for student in ("ann", "bo"):
        (subs / student).mkdir(parents=True)
        (subs / student / "lesson.ipynb").write_text("not json at all")
    return ref_dir, subs


def test_grades_are_written_when_every_submission_fails_and_the_folder_is_reused(tmp_path, capsys):
    ref_dir, subs = _invalid_only(tmp_path)
    out = tmp_path / "grades"
    for _ in range(2):  # a second run replaces the grades folder the first wrote
        assert main(["grade", str(subs), "--notebooks", str(ref_dir), "--out", str(out), "--no-confine"]) == 0
        assert "not confined" in capsys.readouterr().err
        rows = list(csv.DictReader((out / "grades.csv").open(encoding="utf-8")))
        assert [r["student"] for r in rows] == ["ann", "bo"] and all(r["points"] == "0" for r in rows)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.txt").write_text("keep me")
    assert main(["grade", str(subs), "--notebooks", str(ref_dir), "--out", str(tmp_path / "mine")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--out" in err[0]
    assert (tmp_path / "mine" / "thesis.txt").read_text() == "keep me"


@pytest.mark.parametrize("args, words", [(["--jobs", "0"], "--jobs"), (["--memory", "lots"], "--memory"),
                                         (["--cell-timeout", "-1"], "--cell-timeout")])
def test_bad_options_are_one_line_errors(tmp_path, capsys, args, words):
    ref_dir, subs = _invalid_only(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main(["grade", str(subs), "--notebooks", str(ref_dir), "--out", str(tmp_path / "g"), *args])
    assert stop.value.code == 2 and words in capsys.readouterr().err


def test_missing_submissions_folder(tmp_path, capsys):
    assert main(["grade", str(tmp_path / "nowhere"), "--out", str(tmp_path / "g")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_an_interrupted_run_writes_what_it_finished(tmp_path, monkeypatch, capsys):
    ref_dir, subs = _invalid_only(tmp_path)
    calls = []

    def grade_one(sub, *args):
        calls.append(sub.student)
        if sub.student == "bo":
            raise KeyboardInterrupt
        return Result(sub.student, sub.lesson, str(sub.path), reason="done")

    monkeypatch.setattr(grading_run, "grade_one", grade_one)
    out = tmp_path / "grades"
    assert main(["grade", str(subs), "--notebooks", str(ref_dir), "--out", str(out), "--jobs", "1"]) == 130
    rows = {r["student"]: r for r in csv.DictReader((out / "grades.csv").open(encoding="utf-8"))}
    assert rows["ann"]["reason"] == "done" and rows["bo"]["reason"] == "not graded (interrupted)"


@needs_bwrap
def test_confinement_allows_the_working_folder_only(tmp_path):
    work, outside, hidden = tmp_path / "work", tmp_path / "outside.txt", tmp_path / "secret"
    work.mkdir()
    hidden.mkdir()
    (hidden / "answers.txt").write_text("d")
    box = Sandbox(confine=True, memory=2 * 2**30, hidden=[hidden])
    script = ("import pathlib, sys\n"
              "pathlib.Path('inside.txt').write_text('ok')\n"
              f"print(pathlib.Path({str(hidden / 'answers.txt')!r}).exists())\n"
              f"try:\n    open({str(outside)!r}, 'w').write('escaped')\nexcept OSError as e:\n    print('refused')\n")
    import subprocess
    done = subprocess.run(box.command([sys.executable, "-c", script], work), cwd=work,
                          env=box.environment(work), capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["False", "refused"], done.stderr
    assert (work / "inside.txt").read_text() == "ok" and not outside.exists()


def test_grading_threads_are_not_left_running(graded):
    assert not [t for t in threading.enumerate() if t.name.startswith("ThreadPoolExecutor") and t.is_alive()
                and not t.daemon]
