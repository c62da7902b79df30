"""Component differential test: kube-proxy (``model/checker/kube_proxy.py`` against
``model/simulator/kube_proxy.py``) — when each node's rules reflect each slice change
(``program`` / ``Proxies.apply``: in order, within ``kube-proxy`` of the slice write,
independently per node) and which endpoints node n routes a new connection to at instant
t (``routes`` / ``ready_route`` / ``no_ready_lemmas`` against the simulator's ``routes``:
ready endpoints in scope, else — fallback on and no ready endpoint in scope — the
serving-terminating ones). Random slice change sequences of a few pods on 1–2 nodes,
per-node delays, the fallback on/off, the scope Local or Cluster.
"""
from __future__ import annotations

import math
from typing import Callable

import z3
from hypothesis import HealthCheck, given, settings, strategies as st

from component_support import EXAMPLES, close_to, grid, is_sat, scenario, soundness, value, with_bounds
from test_component_endpointslice import (SUFFIX, Encoded, PodCase, SliceCase, encode_pipeline, run_pipeline,
                                          slice_cases, at_pins, z_at)
from zdverify.model.checker import kube_proxy as z_proxy
from zdverify.model.run import NewTiming, OldTiming, Timing
from zdverify.model.simulator import kube_proxy as s_proxy
from zdverify.model.simulator.endpointslice import EndpointChange
from zdverify.model.simulator.properties import PodLife

INF = math.inf
RoutesAt = Callable[[SliceCase, list, int, float], set[int]]


def sim_routes_at(c: SliceCase, applied: list, n: int, t: float) -> set[int]:
    """The simulator's ``routes`` for node n, at the single instant t."""
    pods = tuple(PodLife(c.name(i), p.old, p.node) for i, p in enumerate(c.pods))
    index = {c.name(i): i for i in range(len(c.pods))}
    mine = tuple((a, index[p.name], ch) for a, p, ch in applied[n])
    masks = s_proxy.routes(pods, mine, n, c.local, c.sc.fallback, lambda a, b: int(a <= t < b), 1)
    return {i for i, m in masks.items() if m}


def instants(applied: list, extra: tuple[float, ...] = ()) -> list[float]:
    """Every applied instant, just before and between them, and the drawn ones."""
    ts = sorted({a for node in applied for a, _, _ in node} | set(extra))
    out = set(ts) | {t - 0.0625 for t in ts} | {t + 0.0625 for t in ts}
    return sorted(x for x in out if 0 <= x < 1e6)


def proxy_mismatches(c: SliceCase, extra: tuple[float, ...] = (), routes_at: RoutesAt = sim_routes_at) -> list[str]:
    """Soundness: the simulator's applied instants, and the endpoints each node routes to at
    each instant, satisfy the Z3 kube-proxy (``NR`` left to the solver, under its lemmas)."""
    sim = run_pipeline(c)
    e = encode_pipeline(c)
    pins = {**at_pins(c, e), **{n: (e.slices[n], v) for n, v in sim.slice_of.items()}}
    for n, node in enumerate(e.case.nodes):
        for a, p, ch in sim.applied[n]:
            pins[f"{node.name}.{p.name}.{SUFFIX[ch]}"] = (e.case.applied[(node.name, f"{p.name}.{SUFFIX[ch]}")], a)
    errors = soundness(e.enc, pins)
    if errors:
        return errors
    for k, (term, v) in pins.items():
        e.enc.add(term == v if isinstance(v, bool) else z3.And(term >= v - 1e-9, term <= v + 1e-9))
    for t in instants(sim.applied, extra):
        at_t = {"t": (e.case.t, t)}
        for n, node in enumerate(e.case.nodes):
            routed = routes_at(c, sim.applied, n, t)
            for i, p in enumerate(e.case.pods):
                at_t[f"routes({node.name}, {p.name})"] = (z_proxy.routes(e.case, node, p), i in routed)
        errors = soundness(e.enc, at_t)
        if errors:
            return [f"at t={t}: {x}" for x in errors]
    return []


def exact_no_ready(e: Encoded, node) -> z3.BoolRef:
    """``NR(n)`` as its definition: no pod entity is a ready endpoint in scope."""
    return z3.Not(z3.Or(*[z3.And(z_proxy.in_scope(e.case, node, p), z_proxy.ready_route(e.case, node, p))
                          for p in e.case.pods]))


def proxy_exactness(c: SliceCase, extra: tuple[float, ...] = ()) -> list[str]:
    """A Z3 model's slice and kube-proxy delays through the simulator give the model's
    instants, and the same routing sets at every instant (``NR`` as its definition)."""
    first = run_pipeline(c)
    e = encode_pipeline(c)
    for term, v in at_pins(c, e).values():
        e.enc.add(term == v)
    # same-instant, same-rank changes of different pods: Z3 lets each node (and the slice)
    # take them in either order; the simulator takes them in one order — pick Z3 models
    # that follow it, so the simulator can replay them
    order = [f"{ch.pod.name}.{SUFFIX[ch.change]}" for ch in first.order]
    rank = {ch.name: (ch.rank, z_at_value(c, ch.name)) for ch in e.changes}
    for a, b in zip(order, order[1:]):
        if rank[a] == rank[b]:
            e.enc.add(e.slices[a] <= e.slices[b])
            for node in e.case.nodes:
                e.enc.add(e.case.applied[(node.name, a)] <= e.case.applied[(node.name, b)])
    if not is_sat(e.enc):
        return ["no Z3 model follows the simulator's order of same-instant changes"]
    e.enc.solver.check()
    m = e.enc.solver.model()

    def d(name: str) -> float:
        return value(e.enc, e.enc.vars[name])

    nodes = [node.name for node in e.case.nodes]
    olds, news = [], []
    for i, p in enumerate(c.pods):
        name = c.name(i)
        if p.old:
            olds.append(OldTiming(eps_del=d(f"slice.{name}.del.delay"), eps_unready=d(f"slice.{name}.unready.delay"),
                                  proxy_del=tuple(d(f"{n}.{name}.del.delay") for n in nodes),
                                  proxy_unready=tuple(d(f"{n}.{name}.unready.delay") for n in nodes)))
        else:
            news.append(NewTiming(eps=d(f"slice.{name}.ready.delay"), proxy=tuple(d(f"{n}.{name}.ready.delay")
                                                                                  for n in nodes)))
    replay = SliceCase(c.sc, c.pods, Timing(old=tuple(olds), new=tuple(news)), c.local)
    sim = run_pipeline(replay)
    errors = [f"slice {k}: simulator {v} Z3 {value(e.enc, e.slices[k])}" for k, v in sim.slice_of.items()
              if not close_to(v, value(e.enc, e.slices[k]))]
    for n, node in enumerate(e.case.nodes):
        for a, p, ch in sim.applied[n]:
            z = value(e.enc, e.case.applied[(node.name, f"{p.name}.{SUFFIX[ch]}")])
            if not close_to(a, z):
                errors.append(f"{node.name} applies {p.name} {ch.value}: simulator {a} Z3 {z}")
    for t in instants(sim.applied, extra):
        for n, node in enumerate(e.case.nodes):
            nr = exact_no_ready(e, node)
            z_set = set()
            for i, p in enumerate(e.case.pods):
                r = z3.substitute(z_proxy.routes(e.case, node, p), (e.case.no_ready[node.name], nr))
                r = z3.substitute(r, (e.case.t, z3.RealVal(t, e.enc.ctx)))
                if z3.is_true(m.eval(r, model_completion=True)):
                    z_set.add(i)
            s_set = sim_routes_at(replay, sim.applied, n, t)
            if s_set != z_set:
                errors.append(f"{node.name} at t={t}: simulator routes to {sorted(s_set)}, Z3 to {sorted(z_set)}")
    return errors


def z_at_value(c: SliceCase, change: str) -> float:
    i = int(change.split(".")[0][1:])
    p = c.pods[i]
    return z_at(p.unready if change.endswith(".unready") else p.at)


@st.composite
def proxy_cases(draw: st.DrawFn) -> tuple[SliceCase, tuple[float, ...]]:
    return draw(slice_cases(nodes=(1, 2))), tuple(draw(st.lists(grid(0, 12, 0.25), max_size=3)))


SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(proxy_cases())
def test_simulated_rules_and_routes_satisfy_the_kube_proxy_constraints(case) -> None:
    c, extra = case
    assert proxy_mismatches(c, extra) == []


@SETTINGS
@given(proxy_cases())
def test_kube_proxy_encoding_routes_as_the_simulator_given_its_delays(case) -> None:
    c, extra = case
    assert proxy_exactness(c, extra) == []


def fallback_ignoring_scope(c: SliceCase, applied: list, n: int, t: float) -> set[int]:
    """A wrong variant (the old ``routes_terminating``): serving-terminating endpoints are
    picked even while a ready endpoint is in scope."""
    out = sim_routes_at(c, applied, n, t)
    state: dict[str, EndpointChange] = {}
    for a, p, ch in applied[n]:
        if a <= t:
            state[p.name] = ch
    for i, p in enumerate(c.pods):
        in_scope = not c.local or p.node == n
        if in_scope and c.sc.fallback and state.get(c.name(i)) is EndpointChange.DEL:
            out.add(i)
    return out


def test_a_fallback_that_ignores_ready_endpoints_in_scope_is_caught() -> None:
    """o0 is deleted at 0 (serving until 10), o1 stays ready: at t = 5 only o1 may be picked."""
    c = SliceCase(scenario(nodes=1, settings=with_bounds(version="1.34")),
                  (PodCase(True, 0, 0.0, 10.0), PodCase(True, 0, INF)),
                  Timing(old=(OldTiming(), OldTiming())))
    assert proxy_mismatches(c, (5.0,)) == []
    assert proxy_mismatches(c, (5.0,), fallback_ignoring_scope) != []
