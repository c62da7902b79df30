"""Parse durations (``30s``, ``1m30s``, ``500ms``) and ranges (``0s..5s``) with lark."""
from __future__ import annotations

from lark import Lark, Transformer, UnexpectedInput

from zdverify.grammar.compiled import lalr

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
MAX_SECONDS = 10_000_000.0  # a bound or delay beyond this is a typo, and floats past it lose the model's precision


class DurationError(ValueError):
    """A duration or range that does not parse; ``column`` is 1-based."""

    def __init__(self, message: str, column: int = 0) -> None:
        super().__init__(message)
        self.column = column


class _ToSeconds(Transformer):
    def part(self, items):  # type: ignore[no-untyped-def]
        number, unit = items
        return float(number) * _UNIT_SECONDS[str(unit)]

    def duration(self, parts):  # type: ignore[no-untyped-def]
        return sum(parts)

    def range(self, items):  # type: ignore[no-untyped-def]
        return (items[0], items[1])


def _parser() -> Lark:
    return lalr("duration.lark")


def parse_range(text: str) -> tuple[float, float]:
    """``"0s..5s"`` -> (0.0, 5.0); a single duration ``"3s"`` -> (3.0, 3.0)."""
    try:
        tree = _parser().parse(text.strip())
    except UnexpectedInput as e:
        raise DurationError(
            f"expected a duration such as 30s, 1m30s, 500ms or a range 0s..5s, got {text!r}",
            getattr(e, "column", 0),
        ) from None
    value = _ToSeconds().transform(tree)
    lo, hi = value if isinstance(value, tuple) else (value, value)
    if not hi <= MAX_SECONDS:  # also inf and nan, from hundreds of digits
        raise DurationError(f"{text.strip()!r}: durations above {MAX_SECONDS:,.0f}s (about 116 days) are not supported")
    if lo > hi:
        raise DurationError(f"range {text!r} is empty: its lower end is above its upper end")
    return lo, hi
