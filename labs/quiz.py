"""Multiple-choice knowledge checks, graded without the answers in plain text.

Each right answer is stored as the SHA-256 of a salt and ``"question:letter"``,
so reading this file does not give the answers away (four letters are few,
but guessing them by hashing is more work than reading the lesson). A
student writes ``answers = {1: "a", 2: "d", ...}`` and a graded cell calls
``check(answers, 1)`` for each question; a wrong letter gets a hint naming
the section of the lesson to reread.

>>> check({1: "a"}, 1)
Traceback (most recent call last):
...
AssertionError: lesson1.quiz1: not quite — reread "Why a good model is not enough" and try again
>>> check({}, 2)
Traceback (most recent call last):
...
AssertionError: lesson1.quiz2: no answer yet — set answers[2] to one letter, "a", "b", "c" or "d"
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, NamedTuple

from .grading import passed, verify

LETTERS = ("a", "b", "c", "d")


class Question(NamedTuple):
    """One question's salted answer digest and the lesson section that answers it."""

    digest: str
    section: str


#: quiz name -> (salt, {question number: Question})
QUIZZES: dict[str, tuple[str, dict[int, Question]]] = {
    "lesson1": ("lesson1/production-gap/", {
        1: Question("6ba606f0275df97d6226650712b56ce9f6cf2aa8927f50c2053b5a56cd90dfd1",
                    "Why a good model is not enough"),
        2: Question("201335d221bfc6d81bdd7259545dcad5d8fe26761afe3b9ab1ca6aaa4451930f",
                    "What MLOps is made of"),
        3: Question("418dc518dc8a03564ba8a8811a8e30211e882d5ad3e504aa567d6c2043fb5aa8",
                    "Drift and decay"),
        4: Question("72d7eb22ad9a39fe3c01272d0520e2875a2faae6ec9afc3cd0413c802d7208d5",
                    "Four levels of maturity"),
        5: Question("7b9f9ff29f577179752e6f50ca30dc5b55eafef565e5bdfb9b43cc7d89ce5d9c",
                    "Who runs level 3"),
    }),
}


def digest(salt: str, question: int, letter: str) -> str:
    """The stored form of one answer: SHA-256 of ``salt + "question:letter"``, in hex."""
    return hashlib.sha256(f"{salt}{question}:{letter}".encode()).hexdigest()


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
        Which quiz (its questions and salt live in :data:`QUIZZES`).
    """
    salt, questions = QUIZZES[quiz]
    exercise = f"{quiz}.quiz{question}"
    verify(exercise, isinstance(answers, Mapping),
           f"answers should be a dict such as {{1: \"a\", 2: \"c\"}}, not a {type(answers).__name__}")
    given = _letter(answers, question)
    verify(exercise, given is not None,
           f"no answer yet — set answers[{question}] to one letter, \"a\", \"b\", \"c\" or \"d\"")
    letter = given.strip().lower() if isinstance(given, str) else given
    verify(exercise, letter in LETTERS,
           f"answers[{question}] should be one letter, \"a\", \"b\", \"c\" or \"d\", not {given!r}")
    verify(exercise, digest(salt, question, letter) == questions[question].digest,
           f"not quite — reread \"{questions[question].section}\" and try again")
    passed(exercise, 2)
