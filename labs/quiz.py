"""Multiple-choice knowledge checks, graded without the answers in plain text.

Each right answer is stored as the SHA-256 of a salt and ``"question:letter"``,
so reading this file does not give the answers away (four letters are few,
but guessing them by hashing is more work than reading the lesson). A
student writes ``answers = {1: "a", 2: "d", ...}`` and a graded cell calls
``check(answers, 1)`` for each question; a wrong letter gets a hint naming
the section of the lesson to reread, never the answer.

Each question also carries an explanation of why its answer is right, shown
once the question is answered right (:func:`explain`, :func:`explanation`).
It is stored sealed with the right letter (XOR with a SHA-256 key stream of
the salt, the question and the letter), so it cannot be read here either.

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
>>> unseal("s", 1, "a", seal("s", 1, "a", "why"))
'why'
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import textwrap
from collections.abc import Mapping
from typing import Any, NamedTuple

from .grading import passed, verify

LETTERS = ("a", "b", "c", "d")


class Question(NamedTuple):
    """One question: its salted answer digest, the lesson section that answers it, its sealed explanation."""

    digest: str
    section: str
    explanation: str


#: quiz name -> (salt, {question number: Question})
QUIZZES: dict[str, tuple[str, dict[int, Question]]] = {
    "lesson1": ("lesson1/production-gap/", {
        1: Question("1bc7adbb61c9570c75cdcf62216dc58947fadb1c23cb6afd8055c5e55d0fb7ee",
                    "The picture: model quality over time",
                    ("PCAe1Ih5OZ6ZhUQ8G5J2v9/tDoqkAlLZ/kufA8QPOIg7SQ9OCDd/Z/qDYKI0LoEsuGLGh2m+hFp7O5zdgRTJo/o/BSfP"
                     "1Z38D8zJCYT6uqtO8WMwuglTgWmLwmuO6B5unI3nOrULar19tww3EzYtBpw1rO0h9b2qhw2Q4aBQZS7MFiRmAyHBN6Ho"
                     "FgukVJ4ywgErQCj6EA2VwqTphUz8fYSVZXhmmfyeF8vkSuk46InEccw/ilK62AybUp+ESFYuh1Sr+giBP+4age36onRt"
                     "E2VcdhRf/agqX5T3nxn33Fyn6fQT7xACvDDxQWjXruCRrVqkKbUukDKKdpKsCgX/7O79ZbF9Mg37M34tN12y0XBrkF+j"
                     "/ksgzXjrk2YQzqBs4h0Vjsnu9d+LYVjPUCUf5qsCGWbXQsx1+304Vct7xx3wOTX0bv4sKzhfQ/Mq8j9wYYZf4ui0iFs6"
                     "/B1xTZ0Ct1jxxL7hNlUiVlkiYXY+6+UFMfeBgLDM6SULZElvE1aLlP5apjZN0yKbF46JPecrf7HpXLoZb5YeCD9xsgMY"
                     "2AqnUKGKE0sGi7C8RV9LzEV6jqLjmjkzcEXa6h5RnXZPdt4mWlpW11uWZDXCpw6AcM4EB8X+tP8XlszBddN6svdxhF3R"
                     "QxtbpcDNtnBYruL9Y0YFqWBE6ZTxNSGArFz5Sdw=")),
        2: Question("201335d221bfc6d81bdd7259545dcad5d8fe26761afe3b9ab1ca6aaa4451930f",
                    "What MLOps is made of",
                    ("u53B/OlkZZ1065mlXBL0bU//s1kBFkivLApazhczTED80iQU2X8RA2TNyUn6Fr39CMIpPXfdjWPw5pqKvCxbdQHkcRQI"
                     "URuDr05CvEdRk/mRANuw4Gp33BWpS8pzXOtO26ifCE/CLgoe0zvwxM2QdrD0PN8gVkxGGH/hmnY8cAHGG6Hc9ygwqxi6"
                     "wilt52Nla1WLtOSjjMk2zzKwG91Y90U1q2K2TFiM7p9Qeddr/LYkQt1k1qWswDl4pKZe/Xh9bXLYUYFJvoA3H9fs9FI6"
                     "sPFBRyvpjEq7upAVWXrgcVwWBnvWLsz5AuV9ykQy5c9WSCCkSn6ZkAtfET+O3UND+v611Guuah85kKp4msIxNa8nMOm3"
                     "LnGwwQ==")),
        3: Question("418dc518dc8a03564ba8a8811a8e30211e882d5ad3e504aa567d6c2043fb5aa8",
                    "Drift and decay",
                    ("f/h4lUSz4obUZ8BmFvIQJModFTPMv1gzq5ROkp1+5KrtGaMpce5EUhh/APCPNGu59utitsaBPtM0GWBTfGZjaJ7FwphV"
                     "v/72nGVkotgx61bDB/E4k1nKsVOnO6s0APmnxcw/elQ0Z8600lVuQqLJ+15HmHRM1iZspY6OyYliPgtD8B+SDCN3u1QZ"
                     "ePP/GtHT54QEmBcxPVGRUuNbjC47rJ+AI2MCaRS0w7M6CffYIND53dJmYU4Tb8c1asjoMcdT9TjG7eYofLbVJg59l1fD"
                     "iBZL1JFHkGkQQ9AolJtfC5NNim87mByGl4aNTFsmRbL7If3Zy0+1i7/NYGr1HApuxteZjXAZoy7syt5gEjs=")),
        4: Question("72d7eb22ad9a39fe3c01272d0520e2875a2faae6ec9afc3cd0413c802d7208d5",
                    "Four levels of maturity",
                    ("+edLl/PyTXid3GwzVdKR5b06huuamont31ikFdhmKHqmADAAUZ8auBf72yXyk8PrQAZ2PmNjvFjp41GuTqyNYQAvk5CE"
                     "KYJacxNHhX1K8geUVjCHcPsR5FiV+cuVmPVc6pDKp23B1VRCdNiFzWnJjn81ugna7NpPl3JfK62k6/um4MBYo4Q3L1ze"
                     "HrgFseWG6+Hlr9OFdOccg3u2TW26ZofvX0N6nY1iTMyrhAzs8wdN39frx1DObZAgeBFb9b2bwO629i4CvhpZ5q7CYrVe"
                     "Ud2tmIpXytzVyEnMwrVGszE4iE93PrO887gFIOWbjCRoJnaQGTcsbirrGMmhl09fp28M0h2KUf5rkUs61ddjG1WmAFjd"
                     "6rOzZyX2zzRQlBVyqg==")),
        5: Question("0c1dd77da47a37786890d0db25312eb58080d9324e6754c729ea19f56d61aa42",
                    "Where the money goes",
                    ("usXBuUzOfmEAPvKZiThAVvHIJhCGrUY2OycghCDXigZQRaimYnEgua+WHmvQDhcvJvDTE0/ctDRuTOT2701rBifFid8Y"
                     "iwyI5X6WalrEUl0bSu3h6jmbZi1tajtx0SmbgrPr5qsdMq3Qjntz/ATTSCxqHDu+I6mGK0ws4R6/DH494YSEcDQwMBen"
                     "WV8CGVcR2aVneweYTnFvuk0fGJW1nvmAvhyoST+lUe+C/ybPg44MFQSa3Lwf/e9OQcI378hR/4tJvEUeik0jOYemniCc"
                     "9lcREXagvbRxW8CtBIwnL1/OdRi/j+COrf/itXluRgyjk6OSmH9MnGDGW7eJpbRPUITXgjI8RI/88+dah57D32dk9y93"
                     "TdsDeo33dq1CmWfvIlEA9h2RojCU+gaEIsMgte00eAbTcYTfzz2yK/xaOBbeZJAQD1G/GTg7Aix1J3tjlQ1Qhz6VY+Qy"
                     "x4AZFUMJpmljzGiOPzOm1v/UX5tAGg==")),
    }),
}


def digest(salt: str, question: int, letter: str) -> str:
    """The stored form of one answer: SHA-256 of ``salt + "question:letter"``, in hex."""
    return hashlib.sha256(f"{salt}{question}:{letter}".encode()).hexdigest()


def _keystream(salt: str, question: int, letter: str, size: int) -> bytes:
    """``size`` bytes of SHA-256 blocks of ``salt + "question:letter/explanation/i"`` for i = 0, 1, ..."""
    blocks = (size + 31) // 32
    return b"".join(hashlib.sha256(f"{salt}{question}:{letter}/explanation/{i}".encode()).digest()
                    for i in range(blocks))[:size]


def seal(salt: str, question: int, letter: str, text: str) -> str:
    """``text`` sealed with the right letter (base64 of its UTF-8 bytes XOR the key stream)."""
    data = text.encode()
    return base64.b64encode(bytes(a ^ b for a, b in zip(data, _keystream(salt, question, letter, len(data))))).decode()


def unseal(salt: str, question: int, letter: str, sealed: str) -> str | None:
    """The text :func:`seal` sealed, or None if ``letter`` is not the one it was sealed with (or it is damaged)."""
    try:
        data = base64.b64decode(sealed, validate=True)
        return bytes(a ^ b for a, b in zip(data, _keystream(salt, question, letter, len(data)))).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


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


def explanation(question: int, letter: Any, quiz: str = "lesson1") -> str | None:
    """Why the answer to ``question`` is right, if ``letter`` is that answer; None for any other letter."""
    salt, questions = QUIZZES[quiz]
    if question not in questions or not isinstance(letter, str):
        return None
    letter = letter.strip().lower()
    if letter not in LETTERS or digest(salt, question, letter) != questions[question].digest:
        return None
    return unseal(salt, question, letter, questions[question].explanation)


def explain(answers: Mapping, quiz: str = "lesson1") -> None:
    """Print, for every question of a quiz, why its answer is right — only for the questions answered right.

    A question not (yet) answered right gets the same pointer as its graded cell's hint: the section to reread.
    """
    _, questions = QUIZZES[quiz]
    for question, q in sorted(questions.items()):
        why = explanation(question, _letter(answers, question), quiz)
        if why is None:
            why = f"not answered right yet — reread \"{q.section}\"."
        print(textwrap.fill(f"{question}. {why}", width=100, subsequent_indent="   "))
