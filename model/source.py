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
