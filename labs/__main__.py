"""``python -m labs release --out DIR`` and ``python -m labs grade SUBMISSIONS_DIR``."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from simulator.errors import ScenarioError

from .grade import NOTEBOOKS, Interrupted, Options, check_out, grade, release, write_out
from .report import files


def _bytes(text: str) -> int:
    """``4G``, ``500M``, ``2147483648`` → bytes."""
    units = {"k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
    text = text.strip().lower().removesuffix("b")
    try:
        value = float(text[:-1]) * units[text[-1]] if text and text[-1] in units else float(text)
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 4G, 500M)") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return int(value)


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
        return value
    return parse


def main(argv: list[str] | None = None) -> int:
    """Run the instructors' command line; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m labs", description="Lesson notebooks: student copies and grading")
    sub = parser.add_subparsers(dest="command", required=True)
    rel = sub.add_parser("release", help="write student copies: solutions removed, non-graded outputs cleared")
    rel.add_argument("--out", type=Path, required=True,
                     help="folder for the student copies (a file there is replaced only if an earlier release wrote it)")
    rel.add_argument("--notebooks", type=Path, default=NOTEBOOKS, help="the reference notebooks (default: notebooks/)")
    gr = sub.add_parser("grade", help="grade a folder of submitted notebooks")
    gr.add_argument("submissions", type=Path, help="<student>/<lesson>.ipynb, <student>_<lesson>.ipynb, "
                                                   "or an LMS bulk download")
    gr.add_argument("--notebooks", type=Path, default=NOTEBOOKS, help="the reference notebooks (default: notebooks/)")
    gr.add_argument("--out", type=Path, default=Path("grades"),
                    help="folder for grades.csv, feedback/ and gradescope/ (default: grades); an existing folder "
                         "is replaced only if an earlier grade wrote it")
    gr.add_argument("--jobs", type=_positive(int), default=os.cpu_count() or 1,
                    help="submissions graded at once (default: one per core)")
    gr.add_argument("--cell-timeout", type=_positive(float), default=120.0,
                    help="seconds one cell, or one exercise's check, may run (default: 120)")
    gr.add_argument("--timeout", type=_positive(float), default=900.0,
                    help="seconds one notebook may run in all (default: 900)")
    gr.add_argument("--memory", type=_bytes, default=4 * 2**30,
                    help="memory (address space) each submission's process may use (default: 4G)")
    gr.add_argument("--student", help="whose are the notebooks directly in SUBMISSIONS that name no student "
                                      "(one student's folder, as Gradescope's autograder gets it)")
    gr.add_argument("--no-confine", action="store_true",
                    help="run submissions as plain processes even where bubblewrap works")
    args = parser.parse_args(argv)
    try:
        if args.command == "release":
            for path in release(args.notebooks, args.out):
                print(path)
            return 0
        check_out(args.out)  # before the grading, not after it
        options = Options(cell_timeout=args.cell_timeout, timeout=args.timeout, memory=args.memory, jobs=args.jobs,
                          confine=False if args.no_confine else None)
        interrupted = False
        try:
            results, unplaced = grade(args.submissions, args.notebooks, options, hidden=(args.out,),
                                      progress=sys.stderr.isatty(), student=args.student)
        except Interrupted as stop:
            results, unplaced, interrupted = stop.results, [], True
        write_out(args.out, files(results))
        for item in unplaced:
            print(f"not graded: {item.path}: {item.reason}", file=sys.stderr)
        for r in results:
            print(f"{r.student} {r.lesson}: {r.points:g} of {r.maximum:g}" + (f" ({r.reason})" if r.reason else ""))
        print(f"grades written to {args.out / 'grades.csv'}")
        return 130 if interrupted else 0
    except (FileNotFoundError, NotADirectoryError, ScenarioError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
