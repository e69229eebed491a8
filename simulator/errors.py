"""Errors the user can fix, each one line naming the file and the key path."""
from __future__ import annotations

import difflib
from collections.abc import Iterable


class ScenarioError(Exception):
    """Bad input: the scenario file, a key in it, or a command-line argument.

    ``str(error)`` is the one line printed on standard error, for example
    ``scenarios/x.yaml: traffic.rat: unknown key (did you mean 'rate'?)``.
    The command line exits with status 2 on it.
    """

    def __init__(self, source: str, key: str | None, problem: str) -> None:
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
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
