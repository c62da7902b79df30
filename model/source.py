"""Source positions and the one error type that carries them.

Every value the model uses keeps the file and line it came from, so that an input error
and every step of a counterexample point at a manifest line.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Loc:
    """A position in an input file; ``line`` and ``col`` are 1-based (col 0 = unknown)."""

    file: str
    line: int
    col: int = 0
    show_col: bool = field(default=False, compare=False)  # spec files: errors read file:line:col

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}" if self.show_col and self.col else f"{self.file}:{self.line}"


class InputError(Exception):
    """Bad input: malformed YAML, wrong types, values Kubernetes rejects, bad flags.

    The CLI prints ``file:line: message`` and exits 2. An error in one object of the input
    does not stop the others: it becomes an :class:`InputProblem` of the report.
    """

    def __init__(self, message: str, loc: Loc | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.loc = loc

    def __str__(self) -> str:
        return f"{self.loc}: {self.message}" if self.loc else self.message


@dataclass(frozen=True)
class InputProblem:
    """An input error met while the rest of the input was still verified: reports list
    them beside the results, and the run exits 2."""

    message: str
    loc: Loc | None = None

    @classmethod
    def of(cls, error: InputError) -> "InputProblem":
        return cls(error.message, error.loc)

    def __str__(self) -> str:
        return f"{self.loc}: {self.message}" if self.loc else self.message


EXCERPT_CHARS = 40


def excerpt(value: str, limit: int = EXCERPT_CHARS) -> str:
    """A manifest's string as an error message may quote it: at most ``limit`` characters,
    control characters escaped (a value can neither flood a CI log nor start a line there,
    e.g. a workflow command), quoted."""
    short = value[:limit]
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in short)
    return f'"{text}"' + (f" (… {len(value) - limit} more characters)" if len(value) > limit else "")


def escape_controls(text: str) -> str:
    """``text`` with every control character but the newline and tab escaped."""
    return "".join(c if c.isprintable() or c in "\n\t" else repr(c)[1:-1] for c in text)
