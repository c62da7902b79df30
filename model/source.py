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

    The CLI prints ``file:line: message`` and exits 2; nothing else is written.
    """

    def __init__(self, message: str, loc: Loc | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.loc = loc

    def __str__(self) -> str:
        return f"{self.loc}: {self.message}" if self.loc else self.message
