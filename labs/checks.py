"""The graded check, out of the student's process: export the student's objects, grade them elsewhere.

A graded cell of a reference notebook is one call of a grader, e.g.
``labs.lesson2.check_psi(psi)``. When a submission is graded, that cell is
replaced in the executed copy by an *export cell* (:func:`export_source`),
which saves what the grader call would receive (``psi``) and the classes and
functions the student defined in ``__main__`` to a file with cloudpickle.
After the notebook has run, a fresh process per exercise
(forked from ``python -I -m labs.checks``, see :func:`main`) loads that file, puts the
student's classes back into its own ``__main__`` and calls the reference
grader. Nothing the student's earlier cells did (replacing graders, patching
``labs.grading``, ``builtins`` or ``numpy``, input transformers, custom
exception handlers) happened in that process.

>>> call = parse_call("labs.lesson2.check_psi(psi)")
>>> call.grader, call.args
('labs.lesson2.check_psi', [('expr', 'psi')])
>>> parse_call("labs.quiz.check(answers, 3)").args
[('expr', 'answers'), ('value', 3)]
>>> parse_call("print('hi')")
Traceback (most recent call last):
...
ValueError: a graded cell must be one call of a grader in labs (labs.<module>.<function>(...)), not: print('hi')
"""
from __future__ import annotations

import ast
import contextlib
import importlib
import io
import json
import os
import pickle
import sys
import time
import traceback
import types
from pathlib import Path
from typing import Any, NamedTuple

#: Where an export cell writes, relative to the working folder.
EXPORTS = "exports"
#: Packages the check process imports before any student object is loaded (each exercise's process is
#: forked from it), when the student's kernel had imported them: their import then costs once per submission.
PRELOAD = ("cloudpickle", "numpy", "pandas", "scipy", "matplotlib", "sklearn", "simulator")


class GraderCall(NamedTuple):
    """A reference graded cell's call: the grader's dotted name and its arguments.

    Each argument is ``("value", literal)`` (taken from the reference) or
    ``("expr", source)`` (evaluated in the student's namespace and exported).
    """

    grader: str
    args: list[tuple[str, Any]]
    kwargs: dict[str, tuple[str, Any]]


def _dotted(node: ast.AST) -> str | None:
    """``labs.lesson1.check_x`` for an attribute chain of names, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _argument(node: ast.AST) -> tuple[str, Any]:
    try:
        return ("value", ast.literal_eval(node))
    except ValueError:
        return ("expr", ast.unparse(node))


def parse_call(text: str) -> GraderCall:
    """The grader call of a reference graded cell's source (one expression calling ``labs.<module>.<function>``)."""
    try:
        tree = ast.parse(text.strip())
    except SyntaxError:
        tree = None
    body = tree.body if tree else []
    node = body[0].value if len(body) == 1 and isinstance(body[0], ast.Expr) else None
    name = _dotted(node.func) if isinstance(node, ast.Call) else None
    if not name or not name.startswith("labs.") or name.count(".") < 2:
        raise ValueError("a graded cell must be one call of a grader in labs (labs.<module>.<function>(...)), "
                         f"not: {text.strip()}")
    return GraderCall(name, [_argument(a) for a in node.args],
                      {k.arg: _argument(k.value) for k in node.keywords if k.arg})


# --------------------------------------------------------------- export (in the student's kernel)
def export_source(call: GraderCall, cell_id: str) -> str:
    """The code of the export cell that stands in for a graded cell in the executed copy."""
    exprs = [src for kind, src in call.args if kind == "expr"] + \
            [src for kind, src in call.kwargs.values() if kind == "expr"]
    return (f"__import__('labs.checks').checks.export({cell_id!r}, {exprs!r}, globals())  "
            "# graded later, outside this notebook\n")


def _student_definitions(namespace: dict) -> dict[str, Any]:
    """The classes and functions defined in the notebook itself (``__module__ == "__main__"``)."""
    return {name: obj for name, obj in list(namespace.items())
            if isinstance(obj, (type, types.FunctionType)) and getattr(obj, "__module__", None) == "__main__"
            and not name.startswith("__")}


def export(cell_id: str, exprs: list[str], namespace: dict) -> None:
    """Save the values of ``exprs`` and the notebook's classes and functions for the check of ``cell_id``.

    Runs in the student's kernel. A value that cannot be evaluated or saved
    is recorded as an error, which the check reports in its place.
    """
    import cloudpickle

    folder = Path(EXPORTS)
    folder.mkdir(exist_ok=True)
    values, errors = {}, {}
    for expr in exprs:
        try:
            value = eval(expr, namespace)  # noqa: S307 - the student's own namespace, in the student's own kernel
            values[expr] = cloudpickle.dumps(value)
        except BaseException as exc:  # noqa: BLE001 - whatever it is, it is the student's to fix
            errors[expr] = f"{type(exc).__name__}: {exc}"
    definitions = {}
    for name, obj in _student_definitions(namespace).items():
        with contextlib.suppress(BaseException):
            definitions[name] = cloudpickle.dumps(obj)
    loaded = sorted({name.partition(".")[0] for name in list(sys.modules)} & set(PRELOAD))
    payload = pickle.dumps({"values": values, "errors": errors, "definitions": definitions, "modules": loaded})
    tmp = folder / f".{cell_id}.tmp"
    tmp.write_bytes(payload)
    os.replace(tmp, folder / f"{cell_id}.pkl")


# ------------------------------------------------------------------ check (in a fresh process)
def _resolve(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def run_check(job: dict) -> dict:
    """Grade one exercise from its export; return ``{"status", "passed", "total", "message", "output"}``.

    ``job``: ``export`` (the file), ``grader`` (dotted name), ``args`` and
    ``kwargs`` (as in :class:`GraderCall`), ``exercise``, and ``quiz_key``
    (answers for :mod:`labs.quiz`, given by the grader, never on disk).
    """
    from . import grading

    grader = _resolve(job["grader"])       # resolved before any student object is loaded
    if job.get("quiz_key"):
        from . import quiz
        quiz.use_key({k: v for k, v in job["quiz_key"].items()})
    path = Path(job["export"])
    if not path.exists():
        return {"status": "missing", "passed": 0, "total": 0, "output": "",
                "message": "the graded cell did not run (the notebook stopped before it)"}
    data = pickle.loads(path.read_bytes())
    main = sys.modules["__main__"]
    for name, blob in data.get("definitions", {}).items():
        with contextlib.suppress(Exception):
            setattr(main, name, pickle.loads(blob))

    def value(kind: str, src: Any) -> Any:
        if kind == "value":
            return src
        if src in data["errors"]:
            raise LookupError(f"`{src}` could not be read from your notebook: {data['errors'][src]}")
        if src not in data["values"]:
            raise LookupError(f"`{src}` was not found in your notebook")
        return pickle.loads(data["values"][src])

    out = io.StringIO()
    exercise = job.get("exercise", "")
    grading.SCORES.pop(exercise, None)
    try:
        args = [value(*a) for a in job["args"]]
        kwargs = {k: value(*a) for k, a in job["kwargs"].items()}
        with contextlib.redirect_stdout(out):
            grader(*args, **kwargs)
    except AssertionError as exc:
        done, total = grading.SCORES.get(exercise, (0, 0))
        return {"status": "failed", "passed": done, "total": total, "message": str(exc), "output": out.getvalue()}
    except LookupError as exc:
        return {"status": "failed", "passed": 0, "total": 0, "message": f"{exercise}: {exc.args[0]}",
                "output": out.getvalue()}
    except BaseException as exc:  # noqa: BLE001 - a grader crash, or the student's code escaping it
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return {"status": "error", "passed": 0, "total": 0, "message": f"{exercise}: grading stopped: {last}",
                "output": out.getvalue()}
    done, total = grading.SCORES.get(exercise, (1, 1))
    return {"status": "passed", "passed": done, "total": total, "message": "", "output": out.getvalue()}




def _in_child(job: dict, limit: float) -> dict:
    """Run :func:`run_check` for ``job`` in a forked process; its result, or why there is none."""
    import select
    import signal

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the exercise's own process: a copy of a process no student object has touched
        os.close(read)
        try:
            result = run_check(job)
        except BaseException as exc:  # noqa: BLE001
            result = {"status": "error", "passed": 0, "total": 0, "output": "",
                      "message": f"{job.get('exercise', '')}: grading stopped: {type(exc).__name__}: {exc}"}
        for key in ("message", "output"):
            result[key] = str(result.get(key, ""))[:4000]
        with os.fdopen(write, "w", encoding="utf-8") as f:
            f.write(json.dumps(result))
        os._exit(0)  # no atexit hook of the student's code runs after the result
    os.close(write)
    chunks, deadline = [], time.monotonic() + limit
    with os.fdopen(read, "rb") as f:
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([f], [], [], max(0.0, left))
            if not ready:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return {"status": "timeout", "passed": 0, "total": 0, "output": "",
                        "message": f"{job.get('exercise', '')}: the check timed out after {limit:g} s "
                                   "(a loop that never ends?)"}
            chunk = os.read(f.fileno(), 65536)
            if not chunk:
                break
            chunks.append(chunk)
    os.waitpid(pid, 0)
    try:
        return json.loads(b"".join(chunks).decode("utf-8", "replace"))
    except ValueError:
        return {"status": "error", "passed": 0, "total": 0, "output": "",
                "message": f"{job.get('exercise', '')}: the check ended without a result (did your code exit "
                           "the process, or use more memory than allowed?)"}


class _Names(pickle.Unpickler):
    """Reads an export's outer dict only: it holds bytes, strings and lists, so no class is ever looked up."""

    def find_class(self, module: str, name: str):  # noqa: D102
        raise pickle.UnpicklingError(f"{module}.{name} is not read here")


def main() -> int:
    """``python -I -m labs.checks``: read jobs (a JSON list) on stdin; write their results (JSON) to descriptor 3.

    The modules graders need are imported first; then each job runs in a
    forked process of its own, under its time limit (``limit`` in the job),
    so no exercise's objects meet another's. Results go to a descriptor the
    grader opened for them, so what the student's code prints cannot be
    taken for them.
    """
    jobs = json.loads(sys.stdin.read())
    wanted = {"cloudpickle"} | {job["grader"].rpartition(".")[0] for job in jobs}
    for job in jobs:  # what the student's kernel had imported, read without loading any student object
        with contextlib.suppress(Exception):
            wanted |= set(_Names(open(job["export"], "rb")).load().get("modules", ())) & set(PRELOAD)
    if "matplotlib" in wanted:
        os.environ.setdefault("MPLBACKEND", "Agg")
    for name in sorted(wanted):
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    results = [_in_child(job, float(job.get("limit", 120))) for job in jobs]
    with os.fdopen(3, "w", encoding="utf-8") as f:
        f.write(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
