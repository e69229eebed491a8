"""What grading writes: ``grades.csv``, feedback for each student, and Gradescope's ``results.json``.

One :class:`Result` per (student, lesson). Each exercise carries its points,
its maximum and, when it lost points, the grader's hint — the hint names the
mistake, never the hidden answer.

>>> r = Result("ann", "01_production_gap", "subs/ann/01_production_gap.ipynb")
>>> r.exercises.append(Exercise("lesson1.quiz1", 1.0, 1.0))
>>> r.exercises.append(Exercise("lesson1.cost_shares", 1.5, 3.0, "lesson1.cost_shares: divide by the total"))
>>> r.points, r.maximum
(2.5, 4.0)
>>> gradescope(r)["tests"][1]["max_score"]
3.0
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field


@dataclass
class Exercise:
    """One graded exercise of one submission."""

    name: str
    points: float
    maximum: float
    hint: str = ""
    note: str = ""


@dataclass
class Result:
    """One submission's grade: its exercises, and ``reason`` when points were lost to the run itself."""

    student: str
    lesson: str
    submission: str
    exercises: list[Exercise] = field(default_factory=list)
    reason: str = ""
    seconds: float = 0.0

    @property
    def points(self) -> float:
        return round(sum(e.points for e in self.exercises), 4)

    @property
    def maximum(self) -> float:
        return round(sum(e.maximum for e in self.exercises), 4)


def _number(x: float) -> str:
    return f"{x:g}"


COLUMNS = ["student", "lesson", "points", "maximum", "reason", "submission"]


def grades_csv(results: list[Result]) -> str:
    """The grades table: one row per student and lesson, then one column per exercise (its points)."""
    exercises = []
    for r in results:
        for e in r.exercises:
            if e.name not in exercises:
                exercises.append(e.name)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS + exercises)
    for r in sorted(results, key=lambda r: (r.student, r.lesson)):
        mine = {e.name: _number(e.points) for e in r.exercises}
        writer.writerow([r.student, r.lesson, _number(r.points), _number(r.maximum), r.reason, r.submission]
                        + [mine.get(name, "") for name in exercises])
    return buf.getvalue()


def feedback(result: Result) -> str:
    """A student's feedback on one lesson, in Markdown: points per exercise, and the hint where points were lost."""
    lines = [f"# {result.lesson}: {_number(result.points)} of {_number(result.maximum)} points", ""]
    if result.reason:
        lines += [f"**Note:** {result.reason}", ""]
    for e in result.exercises:
        mark = "✔" if e.points >= e.maximum else "✘"
        lines.append(f"- {mark} **{e.name}**: {_number(e.points)} of {_number(e.maximum)}")
        if e.hint and e.points < e.maximum:
            lines.append(f"  - {e.hint}")
        if e.note:
            lines.append(f"  - {e.note}")
    return "\n".join(lines) + "\n"


def gradescope(result: Result) -> dict:
    """Gradescope's autograder ``results.json``: the score, and one test per exercise."""
    return {
        "score": result.points,
        "execution_time": round(result.seconds),
        "output": result.reason or f"{result.lesson}: {_number(result.points)} of {_number(result.maximum)} points",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [{"name": e.name, "score": e.points, "max_score": e.maximum,
                   "status": "passed" if e.points >= e.maximum else "failed",
                   "output": e.hint if e.points < e.maximum else "passed", "visibility": "visible"}
                  for e in result.exercises],
    }


def safe_name(name: str) -> str:
    """A student's name as a folder name (no separators, no leading dot).

    >>> safe_name("../Ann Lee")
    'Ann Lee'
    """
    cleaned = re.sub(r"[/\\\x00-\x1f]+", "_", name).strip(" ._")
    return cleaned or "unnamed"


def files(results: list[Result]) -> dict[str, str]:
    """Every file of the grades folder, by relative path: grades.csv, feedback/, gradescope/."""
    out = {"grades.csv": grades_csv(results)}
    by_student: dict[str, list[Result]] = {}
    for r in results:
        by_student.setdefault(r.student, []).append(r)
        out[f"feedback/{safe_name(r.student)}/{r.lesson}.md"] = feedback(r)
    for student, mine in by_student.items():
        if len(mine) == 1:
            data = gradescope(mine[0])
        else:  # several lessons at once: one results.json with every exercise
            parts = [gradescope(r) for r in mine]
            data = {"score": round(sum(p["score"] for p in parts), 4),
                    "execution_time": sum(p["execution_time"] for p in parts),
                    "output": "; ".join(p["output"] for p in parts), "visibility": "visible",
                    "stdout_visibility": "hidden", "tests": [t for p in parts for t in p["tests"]]}
        out[f"gradescope/{safe_name(student)}/results.json"] = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    return out
