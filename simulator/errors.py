"""Errors the user can fix, each one line naming the file and the key path."""
from __future__ import annotations

import difflib
import reprlib
from collections.abc import Iterable

#: Longest repr of a bad value in a message: a value may be a megabyte of YAML.
REPR_LIMIT = 80
#: Longest key path and problem printed (the error stays one readable line).
KEY_LIMIT = 200
PROBLEM_LIMIT = 400


class ScenarioError(Exception):
    """Bad input: the scenario file, a key in it, or a command-line argument.

    ``str(error)`` is the one line printed on standard error, for example
    ``scenarios/x.yaml: traffic.rat: unknown key (did you mean 'rate'?)``.
    The command line exits with status 2 on it.
    """

    def __init__(self, source: str, key: str | None, problem: str) -> None:
        # Keys and problems may quote the file: keep them one bounded line whatever it holds.
        key = one_line(shorten(str(key), KEY_LIMIT)) if key else key
        problem = one_line(shorten(str(problem), PROBLEM_LIMIT))
        self.source = source
        self.key = key
        self.problem = problem
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {problem}")


class RunFailure(Exception):
    """A failure while running (user code that raised, say); exit status 1."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return `` (did you mean 'x'?)`` for the closest choice, or ``""``.

    >>> did_you_mean("rat", ["rate", "spikes"])
    " (did you mean 'rate'?)"
    >>> did_you_mean("zzz", ["rate"])
    ''
    """
    if len(str(word)) > KEY_LIMIT:  # nothing is that long, and comparing would be slow
        return ""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def shorten(text: str, limit: int = REPR_LIMIT) -> str:
    """``text`` cut to at most ``limit`` characters, with ``…`` where it was cut.

    >>> shorten("abcdef", 4)
    'abc…'
    """
    return text if len(text) <= limit else text[: limit - 1] + "…"


def one_line(text: str) -> str:
    r"""``text`` with every character that is not printable (newlines, U+2028, ...) escaped.

    >>> one_line("a\nb")
    'a\\nb'
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode("ascii")
                   for c in text)


_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = REPR_LIMIT
_REPR.maxother = REPR_LIMIT
_REPR.maxlong = 40


def short_repr(value: object, limit: int = REPR_LIMIT) -> str:
    """``repr(value)`` in at most ``limit`` characters, built without walking all of a large value.

    >>> short_repr("50/s")
    "'50/s'"
    >>> len(short_repr(list(range(10**6)))) <= 80
    True
    """
    try:
        text = _REPR.repr(value)
    except Exception:  # a repr that fails is not worth a second error
        text = f"<{type(value).__name__}>"
    return shorten(text, limit)
