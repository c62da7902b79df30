"""Component differential test: the EndpointSlice controller
(``model/checker/endpointslice.py`` against ``model/simulator/endpointslice.py``) — which
pod changes reach the slice (``pod_changes`` / ``changes``), in which order (same-instant
ranks) and when (each within ``endpointslice`` of its change, FIFO). Random sequences of
slice changes of a few pods: their instants (ties frequent), ranks and delays.

``SliceCase``, ``run_pipeline`` and ``encode_pipeline`` are shared with
``test_component_kube_proxy.py``, which continues the same pipeline on every node.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import z3
from hypothesis import HealthCheck, given, settings, strategies as st

from component_support import EXAMPLES, grid, intervals, scenario, sim_state, soundness, with_bounds
from zdverify.model.checker import endpointslice as z_slice, kube_proxy as z_proxy
from zdverify.model.checker.encoding import Encoding
from zdverify.model.checker.entities import NEVER, Case, NodeEntity, PodEntity
from zdverify.model.checker.graph import GraphFacts
from zdverify.model.checker.kubelet import NewPod, OldPod
from zdverify.model.run import NewTiming, OldTiming, Timing
from zdverify.model.scenario import Scenario
from zdverify.model.simulator import endpointslice as s_slice
from zdverify.model.simulator.endpointslice import EndpointChange, PodChange, SliceWriter
from zdverify.model.simulator.kube_proxy import Proxies
from zdverify.model.simulator.state import SimPod

INF = math.inf
SUFFIX = {EndpointChange.ADD: "ready", EndpointChange.DEL: "del", EndpointChange.UNREADY: "unready"}


@dataclass(frozen=True)
class PodCase:
    """An old pod (deleted, then unready; ``inf``: kept) or a new pod (ready), on ``node``."""

    old: bool
    node: int
    at: float  # old: deleted; new: ready
    unready: float = INF  # old pods


@dataclass(frozen=True)
class SliceCase:
    sc: Scenario
    pods: tuple[PodCase, ...]
    timing: Timing
    local: bool = False

    def name(self, i: int) -> str:
        return f"{'o' if self.pods[i].old else 'n'}{i}"


@dataclass
class Pipeline:
    """What the simulator's slice and every node's kube-proxy did."""

    pods: list[SimPod]
    order: list[PodChange]
    slice_of: dict[str, float] = field(default_factory=dict)  # "o0.del" -> written
    applied: list[list[tuple[float, SimPod, EndpointChange]]] = field(default_factory=list)


def sim_pods(c: SliceCase) -> list[SimPod]:
    out, n_old, n_new = [], 0, 0
    for i, p in enumerate(c.pods):
        if p.old:
            out.append(SimPod(c.name(i), True, n_old, p.node, deleted=p.at, unready=p.unready))
            n_old += 1
        else:
            out.append(SimPod(c.name(i), False, n_new, p.node, ready=p.at))
            n_new += 1
    return out


def run_pipeline(c: SliceCase, write: Callable[[SliceWriter, PodChange], float] = SliceWriter.write) -> Pipeline:
    """The simulator's endpointslice and kube-proxy steps on the case."""
    s = sim_state(c.sc, c.timing)
    pods = sim_pods(c)
    s.olds = [p for p in pods if p.old]
    s.news = [p for p in pods if not p.old]
    out = Pipeline(pods, s_slice.changes(s, pods))
    writer, proxies = SliceWriter(s), Proxies(s)
    for ch in out.order:
        t = write(writer, ch)
        out.slice_of[f"{ch.pod.name}.{SUFFIX[ch.change]}"] = t
        proxies.apply(t, ch)
    out.applied = proxies.applied
    return out


@dataclass
class Encoded:
    enc: Encoding
    case: Case
    ats: dict[str, z3.ArithRef]  # change name -> when it happened
    changes: list[z_slice.SliceChange]
    slices: dict[str, z3.ArithRef]


def encode_pipeline(c: SliceCase) -> Encoded:
    """The Z3 endpointslice (``pod_changes``, ``publish``) and kube-proxy (``program``) on
    the case's pods, as pod entities; each node's ``NR`` lemmas and its scope."""
    enc = Encoding(c.sc)
    case = Case(enc, GraphFacts(1, 0, zero_ready=True, deletes=True, always_completes=True), local=c.local, lb=False)
    ats: dict[str, z3.ArithRef] = {}
    for i, p in enumerate(c.pods):
        name = c.name(i)
        r = {f: enc.real(f"{name}.{f}") for f in ("created", "start", "listen", "started", "ready", "deleted",
                                                     "seen", "sigterm", "close", "exit", "kill", "unready")}
        if p.old:
            z = OldPod(name, r["deleted"], r["seen"], r["sigterm"], r["close"], r["exit"], r["kill"], r["unready"])
            ats[f"{name}.del"], ats[f"{name}.unready"] = r["deleted"], r["unready"]
        else:
            z = NewPod(name, r["created"], r["start"], r["listen"], r["started"], r["ready"])
            ats[f"{name}.ready"] = r["ready"]
        case.pods.append(PodEntity(name, p.old, "bound", z=z))
    changes, same = [], []
    for p in case.pods:
        ch, so = z_slice.pod_changes(c.sc, p)
        changes += ch
        same += so
    slices = z_slice.publish(enc, changes, same)
    case.nodes = [NodeEntity(c.sc.node_name(n), True) for n in range(c.sc.nodes)]
    z_proxy.program(case, changes, slices, same)
    for i, p in enumerate(case.pods):
        for n, node in enumerate(case.nodes):
            case.on_vars[(p.name, node.name)] = z3.BoolVal(c.pods[i].node == n, enc.ctx)
    for node in case.nodes:
        z_proxy.no_ready_lemmas(case, node)
    return Encoded(enc, case, ats, changes, slices)


def z_at(x: float) -> float:
    return NEVER if x == INF else x


def at_pins(c: SliceCase, e: Encoded) -> dict[str, tuple]:
    out = {}
    for i, p in enumerate(c.pods):
        name = c.name(i)
        if p.old:
            out[f"{name}.del@"] = (e.ats[f"{name}.del"], z_at(p.at))
            out[f"{name}.unready@"] = (e.ats[f"{name}.unready"], z_at(p.unready))
        else:
            out[f"{name}.ready@"] = (e.ats[f"{name}.ready"], p.at)
    return out


def slice_mismatches(c: SliceCase, write: Callable[[SliceWriter, PodChange], float] = SliceWriter.write) -> list[str]:
    """Soundness: the simulator's changes and slice write times satisfy ``publish``."""
    sim = run_pipeline(c, write)
    e = encode_pipeline(c)
    names = {ch.name for ch in e.changes if ch.name in sim.slice_of}
    missing = [ch.name for ch in e.changes if ch.name not in sim.slice_of and e.ats[ch.name] is not None
               and not _never(c, ch.name)]
    extra = sorted(set(sim.slice_of) - {ch.name for ch in e.changes})
    errors = [f"simulator writes {x}, Z3 has no such change" for x in extra]
    errors += [f"Z3 change {x} never written by the simulator" for x in missing]
    return errors + soundness(e.enc, {**at_pins(c, e), **{n: (e.slices[n], sim.slice_of[n]) for n in names}})


def _never(c: SliceCase, change: str) -> bool:
    i = int(change.split(".")[0][1:])
    return c.pods[i].old and c.pods[i].at == INF


# ------------------------------------------------------------------ random cases


@st.composite
def slice_cases(draw: st.DrawFn, nodes: tuple[int, int] = (1, 1)) -> SliceCase:
    n_nodes = draw(st.integers(*nodes))
    pods = []
    for _ in range(draw(st.integers(1, 3))):
        old = draw(st.booleans())
        node = draw(st.integers(0, n_nodes - 1))
        if old and draw(st.integers(0, 3)) == 0:
            pods.append(PodCase(True, node, INF))  # kept: never deleted
        elif old:
            d = draw(grid(0, 4, 0.5))
            pods.append(PodCase(True, node, d, d + draw(grid(0, 3, 0.5))))
        else:
            pods.append(PodCase(False, node, draw(grid(0, 4, 0.5))))
    eps, proxy = draw(intervals(0, 2, 0.25)), draw(intervals(0, 3, 0.25))
    version = draw(st.sampled_from(["1.25", "1.34"]))  # the terminating fallback off / on
    sc = scenario(nodes=n_nodes, settings=with_bounds(version=version, endpointslice=eps, kube_proxy=proxy))

    def delays() -> tuple[float, ...]:  # per node; drawn past the bounds too (the simulator clamps)
        return tuple(draw(grid(-0.5, 3.5, 0.25)) for _ in range(n_nodes))

    def one() -> float:
        return draw(grid(-0.5, 2.5, 0.25))

    olds = tuple(OldTiming(eps_del=one(), eps_unready=one(), proxy_del=delays(), proxy_unready=delays())
                 for p in pods if p.old)
    news = tuple(NewTiming(eps=one(), proxy=delays()) for p in pods if not p.old)
    return SliceCase(sc, tuple(pods), Timing(old=olds, new=news), local=draw(st.booleans()))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(slice_cases())
def test_simulated_slice_writes_satisfy_the_endpointslice_constraints(c: SliceCase) -> None:
    assert slice_mismatches(c) == []


def test_a_slice_that_reorders_changes_is_caught() -> None:
    """A wrong simulator variant (each change written after its own delay, not FIFO) is
    reported: a deletion at 0 delayed 1 s lands after a pod's readiness at 0.5."""
    def not_fifo(w: SliceWriter, ch: PodChange) -> float:
        b = w.s.sc.settings["endpointslice"]
        return ch.at + min(max(ch.eps, b.lo), b.hi)

    c = SliceCase(scenario(nodes=1), (PodCase(True, 0, 0.0, 2.0), PodCase(False, 0, 0.5)),
                  Timing(old=(OldTiming(eps_del=1.0, eps_unready=0.0),), new=(NewTiming(eps=0.0),)))
    assert slice_mismatches(c) == []
    assert slice_mismatches(c, not_fifo) != []
