"""A hypothesis strategy for user properties: random claims in the spec language, drawn from
the parser's own vocabulary (``PREDICATES``, ``EVENTS``, ``CONSTANTS``, ``CAUSES`` of
``zdverify.grammar.spec_language``), rendered as spec text and parsed by the real parser.

A new predicate, instant or cause added to the language is drawn without a change here
(``test_spec_generator.py`` checks that every one is). The claims stay small — a few
bound variables, two levels of ``and``/``or``/``not`` — so that the checker's queries
(one per old/new class of each bound pod) stay few.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Iterator

from hypothesis import strategies as st

from zdverify.grammar.spec_language import (
    CAUSES,
    CONSTANTS,
    EVENTS,
    PREDICATES,
    And,
    Compare,
    Count,
    Event,
    Formula,
    Not,
    Now,
    Or,
    Pred,
    Quant,
    Request,
    Sort,
    SpecProperty,
    Sum,
    Term,
    parse_specs,
)
from zdverify.model.verdict import Property
from zdverify.specs.registry import load

COMPARISONS = (">=", "<=", "==", "!=", ">", "<")
# a counterexample of these causes sizes its preStop fix by a binary search of Z3 queries
# (causes/termination.py minimal_prestop): drawn a quarter as often, to keep the suite's time
SLOW_CAUSES = ("termination", "no-endpoint")
DURATIONS = ("0s", "500ms", "1s", "2s", "5s", "10s", "30s")


class _Names:
    """Fresh variable names, one sequence per property."""

    def __init__(self) -> None:
        self.n = 0

    def fresh(self, sort: Sort) -> str:
        self.n += 1
        return f"{sort.value[0]}{self.n}"


Scope = dict  # Sort -> list of bound variable names


def _bind(draw, scope: Scope, names: _Names, sort: Sort, binders: list[tuple[Sort, str]]) -> str:  # type: ignore[no-untyped-def]
    """A variable of ``sort``: a bound one, or a fresh one the caller wraps in a quantifier."""
    bound = scope.get(sort, [])
    if bound and draw(st.integers(0, 3)) > 0:
        return draw(st.sampled_from(bound))
    name = names.fresh(sort)
    binders.append((sort, name))
    return name


def _wrap(draw, text: str, binders: list[tuple[Sort, str]]) -> str:  # type: ignore[no-untyped-def]
    if not binders:
        return text
    quant = draw(st.sampled_from(["exists", "exists", "forall"]))
    return f"({quant} " + ", ".join(f"{s.value} {n}" for s, n in binders) + f": {text})"


def _call(name: str, args: list[str]) -> str:
    return f"{name}(lb, {args[0]})" if name in ("sends", "healthy") else f"{name}({', '.join(args)})"


@st.composite
def _predicate(draw, scope: Scope, names: _Names) -> str:  # type: ignore[no-untyped-def]
    name = draw(st.sampled_from(tuple(PREDICATES)))
    binders: list[tuple[Sort, str]] = []
    args = [_bind(draw, scope, names, sort, binders) for sort in PREDICATES[name][0]]
    return _wrap(draw, _call(name, args), binders)


@st.composite
def _time(draw, scope: Scope, names: _Names, binders: list[tuple[Sort, str]]) -> str:  # type: ignore[no-untyped-def]
    kind = draw(st.sampled_from(["constant", "instant", "instant", "duration"]))
    if kind == "constant":
        return draw(st.sampled_from(tuple(CONSTANTS)))
    if kind == "duration":
        return draw(st.sampled_from(DURATIONS))
    event = draw(st.sampled_from(tuple(EVENTS)))
    return f"{event}({_bind(draw, scope, names, Sort.POD, binders)})"


@st.composite
def _time_side(draw, scope: Scope, names: _Names, binders: list[tuple[Sort, str]]) -> str:  # type: ignore[no-untyped-def]
    terms = [draw(_time(scope, names, binders)) for _ in range(draw(st.integers(1, 2)))]
    return " ".join(t if i == 0 else f"{draw(st.sampled_from('+-'))} {t}" for i, t in enumerate(terms))


@st.composite
def _comparison(draw, scope: Scope, names: _Names) -> str:  # type: ignore[no-untyped-def]
    """``now + request > sigkill_at(p) - 5s``: one side starts with ``now`` most of the time,
    so that the comparison switches at one instant."""
    binders: list[tuple[Sort, str]] = []
    left = draw(_time_side(scope, names, binders))
    if draw(st.integers(0, 3)) > 0 and not left.startswith("now"):
        left = "now + " + left if draw(st.booleans()) else "now - " + left
    right = draw(_time_side(scope, names, binders))
    return _wrap(draw, f"{left} {draw(st.sampled_from(COMPARISONS))} {right}", binders)


@st.composite
def _count(draw, scope: Scope, names: _Names) -> str:  # type: ignore[no-untyped-def]
    """``count(q: ready(q)) >= 2``, ``count(node m: sends(lb, m)) < 1``: a predicate over
    the counted variable (its other arguments bound outside or in a nested quantifier)."""
    sort = draw(st.sampled_from([Sort.POD, Sort.POD, Sort.NODE]))
    var = names.fresh(sort)
    name = draw(st.sampled_from([n for n, (sorts, _) in PREDICATES.items() if sort in sorts]))
    binders: list[tuple[Sort, str]] = []
    sorts = PREDICATES[name][0]
    at = sorts.index(sort)
    args = [var if i == at else _bind(draw, scope, names, s, binders) for i, s in enumerate(sorts)]
    body = _wrap(draw, _call(name, args), binders)
    head = f"{sort.value} {var}" if sort is not Sort.POD or draw(st.booleans()) else var
    return f"count({head}: {body}) {draw(st.sampled_from(COMPARISONS))} {draw(st.integers(0, 3))}"


@st.composite
def _formula(draw, scope: Scope, names: _Names, depth: int) -> str:  # type: ignore[no-untyped-def]
    choices = ["predicate", "predicate", "predicate", "time", "time", "count"]
    if depth > 0:
        choices += ["not", "and", "and", "or"]
    kind = draw(st.sampled_from(choices))
    if kind == "predicate":
        return draw(_predicate(scope, names))
    if kind == "time":
        return draw(_comparison(scope, names))
    if kind == "count":
        return draw(_count(scope, names))
    if kind == "not":
        return f"not ({draw(_formula(scope, names, depth - 1))})"
    parts = [draw(_formula(scope, names, depth - 1)) for _ in range(2)]
    return f" {kind} ".join(f"({p})" for p in parts)


@st.composite
def claims(draw) -> str:  # type: ignore[no-untyped-def]
    """A claim as written: ``never exists pod p1, node n2: …``, ``always forall …: …``,
    ``never …`` without binders, or ``always completes``."""
    if draw(st.integers(0, 15)) == 0:
        return "always completes"
    names = _Names()
    binders = [(Sort.POD, names.fresh(Sort.POD)) for _ in range(draw(st.integers(0, 2)))]
    binders += [(sort, names.fresh(sort)) for sort in (Sort.NODE, Sort.ZONE)
                if draw(st.integers(0, 2 if sort is Sort.NODE else 5)) == 0]
    scope: Scope = {}
    for sort, name in binders:
        scope.setdefault(sort, []).append(name)
    never = draw(st.booleans())
    body = draw(_formula(scope, names, draw(st.integers(0, 2))))
    if not binders:
        return f"{'never' if never else 'always'} {body}"
    quant = "exists" if never else "forall"
    bound = ", ".join(f"{s.value} {n}" for s, n in binders)
    return f"{'never' if never else 'always'} {quant} {bound}: {body}"


@st.composite
def spec_texts(draw, count: int = 1) -> str:  # type: ignore[no-untyped-def]
    """A spec file of ``count`` generated properties (ids GEN1…, names gen-1…), each with a
    drawn cause."""
    out = []
    for i in range(1, count + 1):
        cause = draw(st.sampled_from(CAUSES))
        if cause in SLOW_CAUSES and draw(st.integers(0, 3)) > 0:
            cause = draw(st.sampled_from([c for c in CAUSES if c not in SLOW_CAUSES]))
        out.append(f"property GEN{i} gen-{i} {{\n"
                   f"  description: \"A generated claim can fail\"\n"
                   f"  remediation: \"None: a differential test's property\"\n"
                   f"  cause: {cause}\n"
                   f"  {draw(claims())}\n}}\n")
    return "".join(out)


def parse(text: str) -> list[SpecProperty]:
    return parse_specs(text, "generated.zds")


def as_properties(text: str) -> tuple[Property, ...]:
    """The user properties of a spec text, as ``--spec`` loads them (the registry's own path)."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "generated.zds"
        path.write_text(text)
        return tuple(p for p in load([str(path)]) if not p.builtin)


def vocabulary(sp: SpecProperty) -> set[str]:
    """Every predicate, instant and constant a parsed property uses, and its cause."""
    out = {sp.field("cause")}
    if sp.claim.formula is not None:
        out |= set(_words(sp.claim.formula))
    return out


def _words(x: Formula | Term) -> Iterator[str]:
    if isinstance(x, Pred):
        yield x.name
    elif isinstance(x, (Not, Quant, Count)):
        yield from _words(x.body)
    elif isinstance(x, (And, Or)):
        for part in x.parts:
            yield from _words(part)
    elif isinstance(x, Compare):
        yield from _words(x.left)
        yield from _words(x.right)
    elif isinstance(x, Sum):
        for _, t in x.terms:
            yield from _words(t)
    elif isinstance(x, Event):
        yield x.name
    elif isinstance(x, Now):
        yield "now"
    elif isinstance(x, Request):
        yield "request"
