"""Lesson 1's knowledge check: right letters pass, wrong ones get a pointer (never the answer),
each explanation appears only once its question is answered right, and nothing shipped to
students holds the answers."""
from __future__ import annotations

from pathlib import Path

import pytest

from labs import notebooks as nbs
from labs import quiz

RIGHT = {1: "d", 2: "b", 3: "b", 4: "c", 5: "a"}
QUESTIONS = quiz.QUIZZES["lesson1"]
LESSON1 = Path(__file__).resolve().parents[1] / "notebooks" / "01_production_gap.ipynb"


def test_quiz_passes_the_right_letters_in_any_case(capsys):
    for q in RIGHT:
        quiz.check({q: f" {RIGHT[q].upper()}"}, q)
    assert capsys.readouterr().out.count("passed 2 hidden checks") == 5


def test_quiz_hints_name_the_section_to_reread_and_nothing_more():
    for q, right in RIGHT.items():
        for letter in "abcd".replace(right, ""):
            with pytest.raises(AssertionError) as failure:
                quiz.check({q: letter}, q)
            assert str(failure.value) == (f"lesson1.quiz{q}: not quite — reread "
                                          f"\"{QUESTIONS[q].section}\" and try again")


def test_quiz_unanswered_and_invalid():
    with pytest.raises(AssertionError, match="no answer yet"):
        quiz.check({1: None, 2: None, 3: None, 4: None, 5: None}, 3)
    with pytest.raises(AssertionError, match="one letter"):
        quiz.check({4: "level 2"}, 4)


def test_nothing_shipped_to_students_holds_an_answer_or_an_explanation(tmp_path, monkeypatch, capsys):
    package = "".join(p.read_text(encoding="utf-8") for p in Path(quiz.__file__).parent.glob("*.py"))
    copy = nbs.dumps(nbs.student_copy(nbs.read(LESSON1)))
    for q, letter in RIGHT.items():
        why = quiz.explanation(q, letter)
        assert why and why[:40] not in package and why[:40] not in copy
    assert '"answer"' not in copy and '"explanation"' not in copy
    # Without the reference notebooks (a student's install), no letter can be tried: brute force learns nothing.
    monkeypatch.setattr(quiz, "REFERENCE", tmp_path)
    quiz._reference_key.cache_clear()
    try:
        for q in RIGHT:
            for letter in "abcd":
                with pytest.raises(AssertionError, match="cannot check quiz answers"):
                    quiz.check({q: letter}, q)
                assert quiz.explanation(q, letter) is None
        quiz.explain(RIGHT)
        assert "come with your feedback" in capsys.readouterr().out
    finally:
        quiz._reference_key.cache_clear()


def test_every_question_has_an_explanation_and_a_section_of_the_lesson():
    headings = {line[3:].strip() for cell in nbs.read(LESSON1)["cells"] if cell["cell_type"] == "markdown"
                for line in nbs.source(cell).splitlines() if line.startswith("## ")}
    for q, right in RIGHT.items():
        why = quiz.explanation(q, right)
        assert why is not None and len(why.split()) >= 25, f"question {q} needs a real explanation"
        assert QUESTIONS[q].section in headings, f"question {q} points to a section the lesson does not have"


def test_explanations_open_only_with_the_right_letter():
    for q, right in RIGHT.items():
        assert quiz.explanation(q, f" {right.upper()} ") == quiz.explanation(q, right)
        for letter in ("a", "b", "c", "d", "e", "", None, 3):
            if letter != right:
                assert quiz.explanation(q, letter) is None
    assert quiz.explanation(6, "a") is None


def test_explain_shows_only_what_was_answered_right(capsys):
    quiz.explain({1: RIGHT[1], 2: "a", 5: RIGHT[5]})
    out = capsys.readouterr().out
    assert quiz.explanation(1, RIGHT[1]).split()[-1] in out
    assert "2. not answered right yet — reread \"What MLOps is made of\"." in out
    assert "3. not answered right yet" in out and "4. not answered right yet" in out
    assert "5. not answered right yet" not in out
    quiz.explain("not a dict")
    assert capsys.readouterr().out.count("not answered right yet") == 5


def test_quiz_graded_cells_are_worth_a_point_each():
    cells = {c.get("id"): c for c in nbs.read(LESSON1)["cells"]}
    for q in RIGHT:
        labs_meta = cells[f"grade-quiz-{q}"]["metadata"]["labs"]
        assert labs_meta["exercise"] == f"lesson1.quiz{q}" and labs_meta["points"] == 1
        assert labs_meta["answer"] == RIGHT[q]  # the key lives here, in the reference only
    for cid in ("grade-first-day-below", "grade-cost-shares"):
        assert cells[cid]["metadata"]["labs"]["points"] == 3
