"""The Z3 side of the model: a small encoding context the components add constraints to.

Every event is a real-valued instant; components relate them with linear bounds
(``rules_n(p) ∈ slice(p) + [0, D_proxy]``), so Z3 decides the timing exactly, with no
discretised clock. Terms are built programmatically, never from strings.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import z3

from zdverify.model.assumptions import Interval
from zdverify.model.scenario import Scenario
from zdverify.model.verdict import Fact


@dataclass(frozen=True)
class KeyedInterval(Interval):
    """A bound together with its key (``Encoding.bound``), so a proof can name it."""

    key: str = ""


@dataclass
class Encoding:
    """Variables and constraints of one query (one hazard of one scenario)."""

    sc: Scenario
    ctx: z3.Context = field(default_factory=z3.Context)  # one per query (see search)
    vars: dict[str, z3.ArithRef] = field(default_factory=dict)
    entities: object = None  # what the compiler built the query from; its witness builder reads it
    # tracking: the bounds and manifest values (``hold``) are assumed through flags, so that an
    # ``unsat`` answer has a core of them (``core``); off for the search itself
    tracking: bool = False
    flags: dict[Fact, z3.BoolRef] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.solver = z3.Solver(ctx=self.ctx)

    def real(self, name: str) -> z3.ArithRef:
        if name not in self.vars:
            self.vars[name] = z3.Real(name, self.ctx)
        return self.vars[name]

    def integer(self, name: str) -> z3.ArithRef:
        if name not in self.vars:
            self.vars[name] = z3.Int(name, self.ctx)
        return self.vars[name]

    def const(self, value: float) -> z3.ArithRef:
        return z3.RealVal(value, self.ctx)

    def false(self) -> z3.BoolRef:
        return z3.BoolVal(False, self.ctx)

    def within(self, name: str, bound: Interval) -> z3.ArithRef:
        """A fresh delay in ``bound`` (a keyed one is a fact a proof may rest on; a lower end of
        0 is not: no delay is negative)."""
        v = self.real(name)
        key = bound.key if isinstance(bound, KeyedInterval) else ""
        if not key or not self.tracking:
            self.add(v >= bound.lo, v <= bound.hi)
            return v
        if bound.lo > 0:
            self.hold(Fact(key, f"{key} >= {bound.lo:g}s"), v >= bound.lo)
        else:
            self.add(v >= bound.lo)
        self.hold(Fact(key, f"{key} <= {bound.hi:g}s"), v <= bound.hi)
        return v

    def hold(self, fact: Fact, *constraints: z3.BoolRef) -> None:
        """Constraints that hold because of ``fact``: asserted, or while tracking, assumed
        through its flag."""
        if not self.tracking:
            self.add(*constraints)
            return
        if fact not in self.flags:
            self.flags[fact] = z3.Bool(f"fact#{len(self.flags)}", self.ctx)
        self.add(*[z3.Implies(self.flags[fact], c) for c in constraints])

    def core(self, timeout_ms: int) -> tuple[Fact, ...] | None:
        """While tracking, after the query was built: a minimal set of the facts under which it
        is still ``unsat`` (None: not unsat, or not decided in time)."""
        self.solver.set("timeout", timeout_ms)
        of = {f.get_id(): fact for fact, f in self.flags.items()}
        if self.solver.check(*self.flags.values()) != z3.unsat:
            return None
        kept = [f for f in self.solver.unsat_core() if f.get_id() in of]
        for f in list(kept):  # drop what is not needed, one at a time
            rest = [x for x in kept if x.get_id() != f.get_id()]
            if self.solver.check(*rest) == z3.unsat:
                kept = rest
        return tuple(sorted({of[f.get_id()] for f in kept}))

    def fraction(self, name: str) -> z3.ArithRef:
        """A phase in [0, 1)."""
        v = self.real(name)
        self.add(v >= 0, v < 1)
        return v

    def add(self, *constraints: z3.BoolRef | bool) -> None:
        self.solver.add(*constraints)

    def bound(self, key: str) -> Interval:
        b = self.sc.settings[key]
        return KeyedInterval(b.lo, b.hi, key)

    def value(self, name: str) -> float:
        """Value of a variable in the model of the last ``sat`` check."""
        m = self.solver.model()
        v = m.eval(self.vars[name], model_completion=True)
        if z3.is_int_value(v):
            return float(v.as_long())
        return float(v.as_fraction()) if z3.is_rational_value(v) else float(v.as_decimal(12).rstrip("?"))


def zmax(a: z3.ArithRef, b: z3.ArithRef | float) -> z3.ArithRef:
    return z3.If(a >= b, a, b)


def zmin(a: z3.ArithRef, b: z3.ArithRef | float) -> z3.ArithRef:
    return z3.If(a <= b, a, b)


def pairs(items: list) -> Iterator[tuple]:
    for i, a in enumerate(items):
        for b in items[i + 1:]:
            yield a, b
