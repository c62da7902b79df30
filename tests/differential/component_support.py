"""Shared pieces of the per-component differential tests (``test_component_*.py``).

Each of those tests gives ONE component concrete random inputs, runs its simulator step
(``model/simulator/<component>.py``) and checks the result against the same component's
Z3 encoding (``model/checker/<component>.py``):

* soundness — the simulator's concrete inputs and outputs, pinned in the encoding,
  are ``sat`` (a simulator behaviour outside the constraints would make a proof wrong);
* exactness — where the encoding is exact given its delays: a Z3 model's delays fed to
  the simulator step give the model's outputs (within ``TOL``), and no other model with
  those delays has other outputs.

The comparison functions return a list of mismatches (empty: agree), so a unit test can
show that a deliberately wrong simulator variant is caught.
"""
from __future__ import annotations

import functools
import os
from dataclasses import replace

import z3
from hypothesis import strategies as st

from zdverify.model.assumptions import Interval, settings as make_settings
from zdverify.model.checker.encoding import Encoding
from zdverify.model.kube import build_objects
from zdverify.model.load import load_text
from zdverify.model.pairing import pair
from zdverify.model.run import Choices, Timing
from zdverify.model.scenario import Scenario, build_scenario
from zdverify.model.simulator.run import Run
from zdverify.model.simulator.state import SimState

EXAMPLES = int(os.environ.get("ZDVERIFY_COMPONENT_EXAMPLES", "60"))  # raise for a deep run
TOL = 1e-9
STEP = 0.125  # drawn instants are multiples of 1/8: exact in floats, and ties are frequent

MANIFEST = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
    "  replicas: 2\n  selector: {matchLabels: {app: web}}\n"
    "  template:\n    metadata: {labels: {app: web}}\n    spec:\n"
    "      containers:\n      - name: web\n        image: nginx\n        ports: [{containerPort: 8080}]\n"
    "---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n"
    "  selector: {app: web}\n  ports: [{port: 80, targetPort: 8080}]\n")


@functools.lru_cache(maxsize=None)
def _base(nodes: int) -> Scenario:
    pairs, _ = pair(build_objects(load_text(MANIFEST, "component.yaml")))
    return build_scenario(pairs[0], nodes, make_settings())


def scenario(nodes: int = 2, **changes: object) -> Scenario:
    """A tiny Deployment + ClusterIP Service scenario with fields replaced (``pod=``, ``settings=``...)."""
    return replace(_base(nodes), **changes)


def with_bounds(version: str = "1.34", lb: object = None, fail_readiness_on_sigterm: bool = False,
                **bounds: Interval) -> object:
    """Default settings with some bounds replaced (keys with ``_`` for ``-``)."""
    s = make_settings(k8s_version=version)
    merged = dict(s.bounds)
    merged.update({k.replace("_", "-"): v for k, v in bounds.items()})
    s = replace(s, bounds=merged, fail_readiness_on_sigterm=fail_readiness_on_sigterm)
    return replace(s, lb=lb) if lb is not None else s


def sim_state(sc: Scenario, timing: Timing = Timing(), choices: Choices = Choices()) -> SimState:
    return SimState(sc, choices, timing, Run())


def grid(lo: float, hi: float, step: float = STEP) -> st.SearchStrategy[float]:
    """Multiples of ``step`` in [lo, hi]."""
    return st.integers(round(lo / step), round(hi / step)).map(lambda k: k * step)


@st.composite
def intervals(draw: st.DrawFn, lo: float, hi: float, step: float = STEP) -> Interval:
    a = draw(grid(lo, hi, step))
    b = draw(grid(a, hi, step))
    return Interval(a, b)


def phases() -> st.SearchStrategy[float]:
    """A phase in [0, 1) on the 1/8 grid."""
    return st.integers(0, 7).map(lambda k: k / 8)


def near(v: z3.ArithRef, x: float) -> z3.BoolRef:
    """``v`` equals the float ``x`` up to floating-point rounding."""
    tol = TOL * max(1.0, abs(x))
    return z3.And(v >= x - tol, v <= x + tol)


def is_sat(enc: Encoding, *constraints: z3.BoolRef) -> bool:
    enc.solver.push()
    enc.add(*constraints)
    r = enc.solver.check()
    enc.solver.pop()
    assert r in (z3.sat, z3.unsat), r
    return r == z3.sat


def close_to(a: float, b: float) -> bool:
    if a == b:
        return True
    return abs(a - b) <= TOL * max(1.0, abs(a), abs(b))


def soundness(enc: Encoding, pins: dict[str, tuple[z3.ArithRef | z3.BoolRef, float | bool]]) -> list[str]:
    """The simulator's values (``pins``: label -> (Z3 term, simulated value)) satisfy the
    encoding; if not, the labels of a minimal conflicting subset of them."""
    labels = {}
    for label, (term, value) in pins.items():
        labels[label] = term == value if isinstance(value, bool) else near(term, value)
    enc.solver.push()
    tracked = {z3.Bool(f"pin:{label}", enc.ctx): c for label, c in labels.items()}
    for flag, c in tracked.items():
        enc.solver.assert_and_track(c, flag)
    r = enc.solver.check()
    core = [str(f)[4:] for f in enc.solver.unsat_core()] if r == z3.unsat else []
    enc.solver.pop()
    assert r in (z3.sat, z3.unsat), r
    if r == z3.sat:
        return []
    return [f"outside the Z3 constraints: {', '.join(f'{c}={pins[c][1]}' for c in sorted(core))}"]


def unique(enc: Encoding, outputs: dict[str, z3.ArithRef], model_values: dict[str, float]) -> list[str]:
    """With everything pinned so far, no model gives an output another value."""
    differs = [z3.Or(v < model_values[k] - 1e-6, v > model_values[k] + 1e-6) for k, v in outputs.items()]
    if differs and is_sat(enc, z3.Or(*differs)):
        return ["the encoding is not exact given its delays: " + ", ".join(outputs)]
    return []


def value(enc: Encoding, term: z3.ArithRef) -> float:
    v = enc.solver.model().eval(term, model_completion=True)
    return float(v.as_fraction()) if z3.is_rational_value(v) else float(v.as_decimal(15).rstrip("?"))


def compare(sim: dict[str, float], z: dict[str, float]) -> list[str]:
    """Simulated values against a Z3 model's values."""
    return [f"{k}: simulator {sim[k]} != Z3 {z[k]}" for k in z if not close_to(sim[k], z[k])]
