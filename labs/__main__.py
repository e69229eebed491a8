"""``python -m labs release --out DIR`` and ``python -m labs grade SUBMISSIONS_DIR``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from simulator.errors import ScenarioError

from .grade import NOTEBOOKS, check_csv_out, grade, release, write_csv


def main(argv: list[str] | None = None) -> int:
    """Run the instructors' command line; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m labs", description="Lesson notebooks: student copies and grading")
    sub = parser.add_subparsers(dest="command", required=True)
    rel = sub.add_parser("release", help="write student copies: solutions removed, non-graded outputs cleared")
    rel.add_argument("--out", type=Path, required=True,
                     help="folder for the student copies (a file there is replaced only if an earlier release wrote it)")
    rel.add_argument("--notebooks", type=Path, default=NOTEBOOKS, help="the reference notebooks (default: notebooks/)")
    gr = sub.add_parser("grade", help="grade SUBMISSIONS_DIR/<student>/<lesson>.ipynb with nbval")
    gr.add_argument("submissions", type=Path)
    gr.add_argument("--notebooks", type=Path, default=NOTEBOOKS, help="the reference notebooks (default: notebooks/)")
    gr.add_argument("--out", type=Path, default=Path("grades.csv"), help="the scores CSV (default: grades.csv); an existing file is replaced only if it is "
                         "an earlier scores CSV")
    args = parser.parse_args(argv)
    try:
        if args.command == "release":
            for path in release(args.notebooks, args.out):
                print(path)
            return 0
        check_csv_out(args.out)  # before the grading, not after it
        rows = grade(args.submissions, args.notebooks)
        write_csv(rows, args.out)
        students = sorted({r["student"] for r in rows})
        for student in students:
            mine = [r for r in rows if r["student"] == student]
            print(f"{student}: {sum(r['score'] for r in mine)} of {len(mine)} exercises")
        print(f"scores written to {args.out}")
        return 0
    except (FileNotFoundError, NotADirectoryError, ScenarioError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
