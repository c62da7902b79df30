"""Component differential test: the cloud load balancer (``model/checker/load_balancer.py``
against ``model/simulator/load_balancer.py``).

* Local health checks: a node's local ready endpoints come and go (random flip instants);
  the simulator's periodic checks (``health_checks``, phase, answer delay, thresholds)
  decide when the load balancer sends to it (``sends``); Z3's ``sends`` /
  ``stops_sending`` bound it from the last flip to empty.
* IP targets: a new pod's target turns healthy (``target_healthy``), an old pod's stops
  getting requests at deregistration or after failed checks (``target_removed``), against
  the simulator's ``targets``.
Random profiles (interval, timeout, thresholds), phases, answer delays and bounds."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import pytest
import z3
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from component_support import (EXAMPLES, compare, grid, intervals, is_sat, near, phases, scenario, sim_state,
                               soundness, unique, value, with_bounds)
from zdverify.model.assumptions import Cadence, Interval, LBProfile
from zdverify.model.checker import load_balancer as z_lb
from zdverify.model.checker.encoding import Encoding
from zdverify.model.checker.entities import Case, NodeEntity, PodEntity
from zdverify.model.checker.graph import GraphFacts
from zdverify.model.checker.kubelet import NewPod, OldPod
from zdverify.model.run import NEVER, NewTiming, OldTiming, Timing
from zdverify.model.scenario import Scenario
from zdverify.model.simulator import load_balancer as s_lb
from zdverify.model.simulator.endpointslice import EndpointChange
from zdverify.model.simulator.state import SimPod

INF = math.inf
HORIZON = 400.0


@st.composite
def profiles(draw: st.DrawFn, cadences: tuple[Cadence, ...] = tuple(Cadence)) -> LBProfile:
    return LBProfile("test", interval=draw(st.sampled_from([1, 2, 5, 10])), timeout=draw(st.sampled_from([0, 1, 3, 6])),
                     healthy=draw(st.integers(1, 3)), unhealthy=draw(st.integers(1, 3)), source="test",
                     cadence=draw(st.sampled_from(cadences)))


# ------------------------------------------------------------------ Local: health checks per node


@dataclass(frozen=True)
class LocalCase:
    sc: Scenario
    olds: tuple[float, ...]  # each local old pod's removal from the node's rules (inf: kept)
    news: tuple[float, ...]  # each local new pod's addition
    phase: float
    resp: float


def sim_lb(c: LocalCase) -> tuple[list[tuple[float, bool]], list[tuple[float, bool]]]:
    """(the node's local-ready series, the load balancer's (instant, healthy) changes)."""
    s = sim_state(c.sc, Timing(lb_phase=(c.phase,), lb_resp=c.resp))
    s.olds = [SimPod(f"o{i}", True, i, 0) for i in range(len(c.olds))]
    news = [SimPod(f"n{i}", False, i, 0) for i in range(len(c.news))]
    applied = sorted([(a, p, EndpointChange.DEL) for a, p in zip(c.olds, s.olds) if a < INF]
                     + [(a, p, EndpointChange.ADD) for a, p in zip(c.news, news)], key=lambda x: x[0])
    return s_lb.local_ready_times(s, applied, 0), s_lb.health_checks(s, [applied], HORIZON)[0]


def sim_sends_at(lb: list[tuple[float, bool]], t: float) -> bool:
    return bool(s_lb.healthy(tuple(lb), lambda a, b: int(a <= t < b)))


def local_mismatches(c: LocalCase, sends_at: Callable[[list, float], bool] = sim_sends_at) -> list[str]:
    """Soundness at every instant of interest: (local ready?, sends?, the last flip to empty)
    satisfy Z3's ``sends`` for the node (``NR`` pinned to the simulator's answer)."""
    series, lb = sim_lb(c)
    enc = Encoding(c.sc)
    case = Case(enc, GraphFacts(1, 0, zero_ready=True, deletes=True, always_completes=True), local=True, lb=True)
    x = PodEntity("x", True, "last-local")
    node = NodeEntity(c.sc.node_name(0), True, last_local=x)
    case.nodes.append(node)
    flip = case.applied[(node.name, "x.del")] = enc.real(f"{node.name}.x.del")
    nr = case.no_ready[node.name] = z3.Bool(f"NR.{node.name}", enc.ctx)
    s = z_lb.healthy(case, node)
    events = sorted({a for a, _ in series[1:]} | {a for a, _ in lb[1:]})
    p = c.sc.settings.lb
    if events:  # and well after the last one: past every removal deadline
        events.append(events[-1] + (p.unhealthy + 1) * p.interval + p.timeout + 1)
    for t in sorted({0.0} | set(events) | {a + 0.0625 for a in events} | {a - 0.0625 for a in events if a > 0}):
        ready = s_lb.value_at(series, t)
        pins = {"t": (case.t, t), "NR": (nr, not ready), "sends": (s, sends_at(lb, t))}
        flips = [a for a, v in series[1:] if not v and a <= t]
        if flips:
            pins["last flip to empty"] = (flip, flips[-1])
        errors = soundness(enc, pins)
        if errors:
            return [f"at t={t}: {e}" for e in errors]
    return []


def local_exactness(c: LocalCase, first: float, resp: float) -> list[str]:
    """One flip to empty at ``c.olds[0]``: Z3's removal instant, with its ``first`` check
    offset and answer delay, is the simulator's with the matching phase."""
    enc = Encoding(c.sc)
    f = c.olds[0]
    removed = z_lb.stops_sending(enc, "n", enc.const(f))
    enc.add(enc.real("lb.n.first") == first, enc.real("lb.n.resp") == resp)
    if not is_sat(enc):
        return ["the drawn delays are unsat"]
    enc.solver.check()
    z = value(enc, removed)
    lb_profile = c.sc.settings.lb
    phase = ((f + first) % lb_profile.interval) / lb_profile.interval
    _, lb = sim_lb(LocalCase(c.sc, (f,), (), phase, resp))
    gone = [a for a, healthy in lb[1:] if not healthy]
    return compare({"removed": gone[0] if gone else INF}, {"removed": z}) + unique(enc, {"removed": removed},
                                                                                    {"removed": z})


@st.composite
def local_cases(draw: st.DrawFn) -> LocalCase:
    lb = draw(profiles())
    sc = scenario(nodes=1, settings=with_bounds(lb=lb))
    olds = tuple(draw(st.one_of(grid(0, 40, 0.5), st.just(INF))) for _ in range(draw(st.integers(1, 2))))
    news = tuple(draw(grid(0, 40, 0.5)) for _ in range(draw(st.integers(0, 1))))
    return LocalCase(sc, olds, news, draw(phases()), draw(grid(0, lb.timeout)))


# ------------------------------------------------------------------ Local: no node healthy


@dataclass(frozen=True)
class NodesCase:
    """Several nodes: per node, its old pods' removals from its own rules and its new pods'
    additions (each node checked with its own phase and answer delay)."""

    sc: Scenario
    olds: tuple[tuple[float, ...], ...]
    news: tuple[tuple[float, ...], ...]
    phases: tuple[float, ...]
    resps: tuple[float, ...]


def sim_nodes(c: NodesCase) -> list[list[tuple[float, bool]]]:
    """Each node's (instant, healthy) as the simulator's checks decide."""
    s = sim_state(c.sc, Timing(lb_phase=c.phases, lb_node_resp=c.resps))
    applied = []
    s.olds = []
    for n, (olds, news) in enumerate(zip(c.olds, c.news)):
        o = [SimPod(f"o{n}.{i}", True, i, n) for i in range(len(olds))]
        s.olds += o
        new = [SimPod(f"n{n}.{i}", False, i, n) for i in range(len(news))]
        applied.append(sorted([(a, p, EndpointChange.DEL) for a, p in zip(olds, o) if a < INF]
                              + [(a, p, EndpointChange.ADD) for a, p in zip(news, new)], key=lambda x: x[0]))
    return s_lb.health_checks(s, applied, HORIZON)


def none_healthy_mismatches(c: NodesCase) -> list[str]:
    """Soundness of ``no_healthy``: at every instant of interest, the simulator's answer to
    "is no node healthy?" with every pod's own-node instants pinned satisfies Z3's lemmas."""
    lbs = sim_nodes(c)
    enc = Encoding(c.sc)
    case = Case(enc, GraphFacts(1, 0, zero_ready=True, deletes=True, always_completes=True), local=True, lb=True)
    pins: dict[str, tuple[z3.ArithRef | z3.BoolRef, float | bool]] = {}
    for n, (olds, news) in enumerate(zip(c.olds, c.news)):
        for i, a in enumerate(olds):
            name = f"o{n}_{i}"
            case.pods.append(PodEntity(name, True, "bound"))
            case.slices[f"{name}.del"] = enc.real(f"slice.{name}.del")
            pins[f"{name} removed"] = (case.slices[f"{name}.del"] + enc.real(f"home.{name}.del"),
                                       min(a, NEVER))
        for i, a in enumerate(news):
            name = f"n{n}_{i}"
            case.pods.append(PodEntity(name, False, "bound"))
            case.slices[f"{name}.ready"] = enc.real(f"slice.{name}.ready")
            pins[f"{name} added"] = (case.slices[f"{name}.ready"] + enc.real(f"home.{name}.ready"), a)
    nh = z_lb.no_healthy(case)
    events = sorted({a for lb in lbs for a, _ in lb[1:]})
    for t in sorted({0.0} | set(events) | {a + 0.0625 for a in events} | {a - 0.0625 for a in events if a > 0}):
        none = not any(s_lb.value_at(lb, t) for lb in lbs)
        errors = soundness(enc, {**pins, "t": (case.t, t), "no node healthy": (nh, none)})
        if errors:
            return [f"at t={t}: {e}" for e in errors]
    return []


@st.composite
def nodes_cases(draw: st.DrawFn) -> NodesCase:
    lb = draw(profiles())
    sc = scenario(nodes=draw(st.integers(1, 3)), settings=with_bounds(lb=lb, kube_proxy=Interval(0, 0)))
    n = sc.nodes
    olds = tuple(tuple(draw(st.one_of(grid(0, 40, 0.5), st.just(INF))) for _ in range(draw(st.integers(0, 2))))
                 for _ in range(n))
    news = tuple(tuple(draw(grid(0, 40, 0.5)) for _ in range(draw(st.integers(0, 1)))) for _ in range(n))
    return NodesCase(sc, olds, news, tuple(draw(phases()) for _ in range(n)),
                     tuple(draw(grid(0, lb.timeout)) for _ in range(n)))


# ------------------------------------------------------------------ IP targets


@dataclass(frozen=True)
class IpCase:
    sc: Scenario
    slice_ready: float  # the new pod's endpoint ready in the slice
    listen: float
    slice_del: float  # the old pod's endpoint terminating in the slice
    close: float
    nt: NewTiming
    ot: OldTiming


def sim_ip(c: IpCase) -> dict[str, float]:
    s = sim_state(c.sc, Timing(new=(c.nt,), old=(c.ot,)))
    new = SimPod("n", False, 0, 0, listen=c.listen)
    old = SimPod("o", True, 0, 0, close=c.close)
    s_lb.targets(s, [old, new], {("n", EndpointChange.ADD): c.slice_ready, ("o", EndpointChange.DEL): c.slice_del})
    return {"in": new.tg_in, "out": old.tg_out}


def encode_ip(c: IpCase) -> tuple[Encoding, dict, dict]:
    enc = Encoding(c.sc)
    r = {k: enc.real(k) for k in ("n.created", "n.start", "n.listen", "n.started", "n.ready", "o.deleted", "o.seen",
                                  "o.sigterm", "o.close", "o.exit", "o.kill", "o.unready", "slice.n", "slice.o")}
    case = Case(enc, GraphFacts(1, 0, zero_ready=True, deletes=True, always_completes=True), local=False, lb=True,
                ip=True)
    case.pods = [PodEntity("n", False, "bound", z=NewPod("n", r["n.created"], r["n.start"], r["n.listen"],
                                                          r["n.started"], r["n.ready"])),
                 PodEntity("o", True, "bound", z=OldPod("o", r["o.deleted"], r["o.seen"], r["o.sigterm"], r["o.close"],
                                                        r["o.exit"], r["o.kill"], r["o.unready"]))]
    z_lb.ip_targets(case, {"n.ready": r["slice.n"], "o.del": r["slice.o"]})
    inputs = {"slice ready": (r["slice.n"], c.slice_ready), "listen": (r["n.listen"], c.listen),
              "slice terminating": (r["slice.o"], c.slice_del), "close": (r["o.close"], c.close)}
    return enc, inputs, {"in": case.targets["n"][0], "out": case.targets["o"][1]}


def ip_mismatches(c: IpCase, step: Callable[[IpCase], dict[str, float]] = sim_ip) -> list[str]:
    out = step(c)
    enc, inputs, outputs = encode_ip(c)
    return soundness(enc, {**inputs, **{k: (v, out[k]) for k, v in outputs.items()}})


def ip_exactness(c: IpCase) -> list[str]:
    enc, inputs, outputs = encode_ip(c)
    for term, v in inputs.values():
        enc.add(term == v)
    nt, ot = c.nt, c.ot
    enc.add(enc.real("n.lbreg") == nt.lb_reg, enc.real("n.tg.phase") == nt.lb_phase, enc.real("n.tg.resp") == nt.lb_resp,
            enc.real("o.lbdereg") == ot.lb_dereg, enc.real("o.tg.phase") == ot.lb_phase,
            enc.real("o.tg.resp") == ot.lb_resp)
    if not is_sat(enc):
        return ["the drawn delays are unsat"]
    enc.solver.check()
    z = {k: value(enc, v) for k, v in outputs.items()}
    return compare(sim_ip(c), z) + unique(enc, outputs, z)


@st.composite
def ip_cases(draw: st.DrawFn) -> IpCase:
    lb = draw(profiles((Cadence.FIXED,)))  # IP targets: fixed-rate only (the clouds')
    reg, dereg = draw(intervals(0, 20, 0.5)), draw(intervals(0, 20, 0.5))
    sc = scenario(settings=with_bounds(lb=lb, lb_register=reg, lb_deregister=dereg))
    nt = NewTiming(lb_reg=draw(grid(reg.lo, reg.hi)), lb_phase=draw(phases()), lb_resp=draw(grid(0, lb.timeout)))
    ot = OldTiming(lb_dereg=draw(grid(dereg.lo, dereg.hi)), lb_phase=draw(phases()), lb_resp=draw(grid(0, lb.timeout)))
    return IpCase(sc, draw(grid(0, 30)), draw(grid(0, 30)), draw(grid(0, 30)), draw(grid(0, 30)), nt, ot)


# ------------------------------------------------------------------ the tests

SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(local_cases())
def test_simulated_health_checks_satisfy_the_load_balancer_constraints(c: LocalCase) -> None:
    assert local_mismatches(c) == []


@SETTINGS
@given(local_cases(), st.data())
def test_load_balancer_removal_is_the_simulator_given_its_check_phase(c: LocalCase, data) -> None:
    lb = c.sc.settings.lb
    assume(lb.cadence is Cadence.FIXED)  # exact for fixed-rate checks; after-answer is bounded (soundness above)
    f = data.draw(grid(0, 40, 0.5))
    first = data.draw(grid(0, lb.interval - 0.125))
    assert local_exactness(LocalCase(c.sc, (f,), (), 0.0, 0.0), first, c.resp) == []


@SETTINGS
@given(ip_cases())
def test_simulated_ip_targets_satisfy_the_load_balancer_constraints(c: IpCase) -> None:
    assert ip_mismatches(c) == []


@SETTINGS
@given(ip_cases())
def test_ip_target_encoding_is_the_simulator_given_its_delays(c: IpCase) -> None:
    assert ip_exactness(c) == []


def test_a_load_balancer_that_never_removes_an_empty_node_is_caught() -> None:
    """A wrong variant (healthy whatever its checks say) is reported."""
    c = LocalCase(scenario(nodes=1, settings=with_bounds()), (5.0,), (), 0.0, 0.0)
    assert local_mismatches(c) == []
    assert local_mismatches(c, lambda lb, t: True) != []


@SETTINGS
@given(nodes_cases())
def test_simulated_load_balancer_health_satisfies_the_no_healthy_node_lemmas(c: NodesCase) -> None:
    assert none_healthy_mismatches(c) == []


def test_the_add_back_bound_holds_at_the_simulated_add_and_not_after() -> None:
    """The add-back bound: a new pod's node is healthy by ``healthy`` checks after its Ready
    reached the node (here 30 s: phase, 2 more checks, no answer time); no healthy node
    30 s after it contradicts the lemma, just before does not — and the simulated series
    (the old pod's node removed at 20 s, the new one's added at 20 s) satisfies it."""
    lb = LBProfile("test", interval=10, timeout=0, healthy=3, unhealthy=3, source="test")
    sc = scenario(nodes=2, settings=with_bounds(lb=lb, kube_proxy=Interval(0, 0)))
    c = NodesCase(sc, ((0.0,), ()), ((), (0.0,)), (0.0, 0.0), (0.0, 0.0))
    assert none_healthy_mismatches(c) == []
    lbs = sim_nodes(c)
    assert lbs[0] == [(-INF, True), (20.0, False)] and lbs[1] == [(-INF, False), (20.0, True)]
    enc = Encoding(sc)
    case = Case(enc, GraphFacts(1, 0, zero_ready=True, deletes=True, always_completes=True), local=True, lb=True)
    case.pods.append(PodEntity("n1", False, "bound"))
    case.slices["n1.ready"] = enc.const(0)
    assert soundness(enc, {"t": (case.t, 30.5), "no node healthy": (z_lb.no_healthy(case), True)}) != []
    assert soundness(enc, {"t": (case.t, 29.5), "no node healthy": (z_lb.no_healthy(case), True)}) == []


def test_after_answer_checks_need_the_longer_bound() -> None:
    """haproxy's inter: each check starts an interval after the previous answered, so with
    slow answers the node is removed later than fixed-rate checks allow — the simulated
    removal lies outside the fixed-rate constraints and inside the after-answer ones."""
    slow = LBProfile("test", interval=10, timeout=5, healthy=2, unhealthy=3, source="test",
                     cadence=Cadence.AFTER_ANSWER)
    fixed = LBProfile("test", interval=10, timeout=5, healthy=2, unhealthy=3, source="test")
    c = LocalCase(scenario(nodes=1, settings=with_bounds(lb=slow)), (5.0,), (), 0.99, 5.0)
    _, lb = sim_lb(c)
    assert lb[1] == (pytest.approx(5.0 + 4.9 + 2 * 15 + 5.0), False)  # removed 44.9 s after the flip
    assert local_mismatches(c) == []
    assert local_mismatches(c, lambda _, t: sim_sends_at(lb, t)) == []
    for profile, fits in ((slow, True), (fixed, False)):
        enc = Encoding(scenario(nodes=1, settings=with_bounds(lb=profile)))
        removed = z_lb.stops_sending(enc, "n", enc.const(5.0))
        assert is_sat(enc, near(removed, lb[1][0])) is fits


def test_a_target_that_fails_one_check_too_many_is_caught() -> None:
    """A wrong variant (an old target leaves after ``unhealthy`` + 1 failed checks) is reported."""
    def one_check_late(c: IpCase) -> dict[str, float]:
        out = sim_ip(c)
        return {**out, "out": out["out"] + c.sc.settings.lb.interval}

    lb = LBProfile("test", interval=10, timeout=0, healthy=2, unhealthy=3, source="test")
    c = IpCase(scenario(settings=with_bounds(lb=lb)), 0.0, 0.0, 100.0, 0.0, NewTiming(), OldTiming(lb_phase=0.5))
    assert ip_mismatches(c) == []
    assert ip_mismatches(c, one_check_late) != []
