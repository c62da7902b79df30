"""The search behind a computed fix: the smallest whole value of one field under which the
checker proves the property (every query ``unsat``), by bisection from a first guess."""
from __future__ import annotations

from typing import Callable, Sequence

import z3

from zdverify.model.checker.encoding import Encoding
from zdverify.model.checker.properties import SOLVER_TIMEOUT_MS, Query
from zdverify.model.scenario import Scenario


def context() -> z3.Context:
    """A Z3 context for one fix search: every variant it tries shares it."""
    return z3.Context()


def proved(variant: Scenario, queries: Sequence[Query], ctx: z3.Context | None = None) -> bool:
    """Is every query unsat on ``variant`` (an unknown counts as not proved)? A fix search
    passes one ``ctx`` for all its variants (each query has its own solver)."""
    ctx = ctx if ctx is not None else z3.Context()
    for q in queries:
        enc = Encoding(variant, ctx)
        enc.solver.set("timeout", SOLVER_TIMEOUT_MS)
        q.build(enc)
        if enc.solver.check() != z3.unsat:
            return False
    return True


def smallest(safe: Callable[[int], bool], lo: int, guess: int, top: int) -> int | None:
    """The smallest ``n`` in ``[lo, top]`` with ``safe(n)``, assuming ``safe`` is monotone;
    ``guess`` is tried first. None if not even ``top`` is safe."""
    hi = max(guess, lo)
    if not safe(hi):
        lo, hi = hi + 1, top
        if hi < lo or not safe(hi):
            return None
    while lo < hi:
        mid = (lo + hi) // 2
        if safe(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo
