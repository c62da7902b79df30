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


@dataclass
class Encoding:
    """Variables and constraints of one query (one hazard of one scenario)."""

    sc: Scenario
    ctx: z3.Context = field(default_factory=z3.Context)  # one per query (see search)
    vars: dict[str, z3.ArithRef] = field(default_factory=dict)
    entities: object = None  # what the compiler built the query from; its witness builder reads it

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
        """A fresh delay in ``bound``."""
        v = self.real(name)
        self.add(v >= bound.lo, v <= bound.hi)
        return v

    def fraction(self, name: str) -> z3.ArithRef:
        """A phase in [0, 1)."""
        v = self.real(name)
        self.add(v >= 0, v < 1)
        return v

    def add(self, *constraints: z3.BoolRef | bool) -> None:
        self.solver.add(*constraints)

    def bound(self, key: str) -> Interval:
        return self.sc.settings[key]

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
