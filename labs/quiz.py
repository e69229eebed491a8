"""Multiple-choice knowledge checks whose answers are not shipped to students.

The right letters and their explanations live only in the reference
notebook, in each quiz graded cell's metadata (``labs.answer``,
``labs.explanation``); a student copy drops them (:func:`labs.notebooks.student_copy`)
and nothing in this package holds them, so there is nothing to guess them
from. A student writes ``answers = {1: "a", 2: "d", ...}`` and a graded cell
calls ``check(answers, 1)`` for each question. The check finds the key in the
reference notebooks beside the package (an instructor's checkout), or from the
class grader (:func:`use_key`); a student's own copy cannot check an answer
and says so. A wrong letter gets a hint naming the section to reread.

Each question's explanation of why its answer is right is shown once the
question is answered right (:func:`explain`), and in the feedback of grading.

>>> check({1: "a"}, 1)
Traceback (most recent call last):
...
AssertionError: lesson1.quiz1: not quite — reread "The picture: model quality over time" and try again
>>> check({}, 2)
Traceback (most recent call last):
...
AssertionError: lesson1.quiz2: no answer yet — set answers[2] to one letter, "a", "b", "c" or "d"
>>> explanation(1, "a") is None
True
"""
from __future__ import annotations

import functools
import json
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from .grading import passed, verify

LETTERS = ("a", "b", "c", "d")


class Question(NamedTuple):
    """One question: the lesson section that answers it (its answer and explanation are not here)."""

    section: str


#: quiz name -> {question number: Question}
QUIZZES: dict[str, dict[int, Question]] = {
    "lesson1": {
        1: Question("The picture: model quality over time"),
        2: Question("What MLOps is made of"),
        3: Question("Drift and decay"),
        4: Question("Four levels of maturity"),
        5: Question("Where the money goes"),
    },
}

#: The reference notebooks, which hold the answer key (absent, or hidden, where students work).
REFERENCE = Path(__file__).resolve().parent.parent / "notebooks"

_GIVEN: dict[str, dict] = {}


def use_key(key: Mapping[str, Mapping]) -> None:
    """Give the answer key: ``{exercise: {"answer": letter, "explanation": text}}`` (the class grader does)."""
    _GIVEN.update({k: dict(v) for k, v in key.items()})


@functools.lru_cache(maxsize=1)
def _reference_key() -> dict[str, dict]:
    """The key held in the reference notebooks' quiz cells, or ``{}`` where they are not to be found."""
    key = {}
    for path in sorted(REFERENCE.glob("*.ipynb")) if REFERENCE.is_dir() else []:
        try:
            cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError):
            continue
        for cell in cells:
            labs = cell.get("metadata", {}).get("labs", {})
            if isinstance(labs, dict) and "answer" in labs and "exercise" in labs:
                key[labs["exercise"]] = {"answer": labs["answer"], "explanation": labs.get("explanation", "")}
    return key


def _key(exercise: str) -> dict | None:
    """The answer and explanation of ``exercise`` (e.g. ``lesson1.quiz3``), or None where they are not available."""
    return _GIVEN.get(exercise) or _reference_key().get(exercise)


def _letter(answers: Any, question: int) -> Any:
    """The student's answer to ``question`` (keys may be ints or strings), or None."""
    if not isinstance(answers, Mapping):
        return None
    for key in (question, str(question)):
        if key in answers:
            return answers[key]
    return None


def check(answers: Mapping, question: int, quiz: str = "lesson1") -> None:
    """Grade one question of a quiz: print the passing line, or raise ``AssertionError`` with a hint.

    Parameters
    ----------
    answers
        ``{question number: letter}``; letters are read case- and space-insensitively.
    question
        Which question to grade.
    quiz
        Which quiz (its questions' sections live in :data:`QUIZZES`, their answers in the reference notebook).
    """
    questions = QUIZZES[quiz]
    exercise = f"{quiz}.quiz{question}"
    verify(exercise, isinstance(answers, Mapping),
           f"answers should be a dict such as {{1: \"a\", 2: \"c\"}}, not a {type(answers).__name__}")
    given = _letter(answers, question)
    verify(exercise, given is not None,
           f"no answer yet — set answers[{question}] to one letter, \"a\", \"b\", \"c\" or \"d\"")
    letter = given.strip().lower() if isinstance(given, str) else given
    verify(exercise, letter in LETTERS,
           f"answers[{question}] should be one letter, \"a\", \"b\", \"c\" or \"d\", not {given!r}")
    key = _key(exercise)
    verify(exercise, key is not None,
           "this copy of the lesson cannot check quiz answers: they are checked when your notebook is "
           "graded, and your feedback says which are right")
    verify(exercise, letter == key["answer"],
           f"not quite — reread \"{questions[question].section}\" and try again")
    passed(exercise, 2)


def explanation(question: int, letter: Any, quiz: str = "lesson1") -> str | None:
    """Why the answer to ``question`` is right, if ``letter`` is that answer; None for any other letter
    (and wherever the key is not available)."""
    key = _key(f"{quiz}.quiz{question}")
    if key is None or not isinstance(letter, str) or letter.strip().lower() != key["answer"]:
        return None
    return key.get("explanation") or None


def explain(answers: Mapping, quiz: str = "lesson1") -> None:
    """Print, for every question of a quiz, why its answer is right — only for the questions answered right.

    A question not (yet) answered right gets the same pointer as its graded cell's hint: the section to reread.
    Where the key is not available (a student's copy), say where the explanations will come.
    """
    questions = QUIZZES[quiz]
    if not any(_key(f"{quiz}.quiz{q}") for q in questions):
        print("The answers and their explanations are not in this copy of the lesson: they come with your "
              "feedback once your notebook is graded.")
        return
    for question, q in sorted(questions.items()):
        why = explanation(question, _letter(answers, question), quiz)
        if why is None:
            why = f"not answered right yet — reread \"{q.section}\"."
        print(textwrap.fill(f"{question}. {why}", width=100, subsequent_indent="   "))
