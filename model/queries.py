"""Hazard queries: each property as Z3 problems over the few pods it involves, and how a
Z3 model becomes complete simulator runs (choices + every delay).

Every query over-approximates: it keeps the constraints of the pods it names and drops
every other pod's, so ``unsat`` is a proof for every timing and choice. A ``sat`` model is
only a candidate: ``witness`` turns it into runs the simulator must replay.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Callable

import z3

from zdverify.model import application, kube_proxy, kubelet, load_balancer, scheduler
from zdverify.model.assumptions import Interval
from zdverify.model.deployment import GraphFacts
from zdverify.model.endpointslice import RANK_NOT_SERVING, RANK_READY, RANK_TERMINATING, Change, publish
from zdverify.model.objects import Strategy
from zdverify.model.scenario import Entry, Scenario
from zdverify.model.simulator import Choices, NewTiming, OldTiming, Timing
from zdverify.model.timing import Encoding, zmin
from zdverify.model.verdict import Property

SOLVER_TIMEOUT_MS = 20_000  # per query; a timeout is "unknown", i.e. inconclusive


@dataclass(frozen=True)
class Query:
    """One hazard as a Z3 problem, with how to turn its model into simulator runs."""

    prop: Property
    label: str
    build: Callable[[Encoding], None]
    witness: Callable[[Encoding], list[tuple[Choices, Timing]]]
    local: bool = False


def _startup_query(sc: Scenario) -> Query:
    def build(enc: Encoding) -> None:
        q = kubelet.new_pod(enc, "new", enc.const(0))
        at = q.start if sc.publish_not_ready else q.ready
        ch = [Change("new.ready", at, RANK_READY)]
        sl = publish(enc, ch, [])
        ap = kube_proxy.apply(enc, "n", ch, sl, [])
        t = enc.real("t")
        enc.add(t >= ap["new.ready"], t < q.listen)

    def witness(enc: Encoding) -> list[tuple[Choices, Timing]]:
        nt = _new_timing(enc, "new", "new.ready", sc.nodes, entry=sc.feasible[0])
        choices = Choices(initial=tuple(i % sc.nodes for i in range(sc.rollout.replicas)), placement=(0,))
        return [(choices, Timing(new=(nt,), default_new=nt)), (choices, Timing(new=(nt,)))]

    return Query(Property.STARTUP, "a new pod receives traffic before it listens", build, witness)


def _first_new_pod(enc: Encoding, sc: Scenario, p: kubelet.OldPod, *, last_to_exit: bool = False) -> kubelet.NewPod:
    """The first new pod the rollout creates, relative to old pod ``p``'s deletion.

    RollingUpdate creates it at the first sync (surge >= 1) or at the sync after the first
    deletion (surge 0): either way no later than ``p``'s deletion + one controller delay.
    Recreate creates it after every old pod is gone: after ``p`` exits, and (when ``p`` is
    the last to exit) within one controller delay of that."""
    c = enc.real("new.created")
    ctrl = enc.bound("controller").hi
    if sc.rollout.strategy is Strategy.RECREATE:
        enc.add(c >= p.exit)
        if last_to_exit:
            enc.add(c <= p.exit + ctrl)
    elif sc.rollout.surge >= 1:
        enc.add(c <= p.deleted)  # the first sync scales up before anything is deleted
    else:
        enc.add(c <= p.deleted + ctrl)
    return kubelet.new_pod(enc, "new", c)


def _fallback_routes(enc: Encoding, sc: Scenario, p: kubelet.OldPod, t: z3.ArithRef,
                     fallback: bool, local: bool) -> tuple[list[Change], z3.BoolRef]:
    """Old pod ``p`` is chosen at ``t`` on node n: (changes to deliver, condition).

    Under the fallback it is chosen while no ready endpoint is in scope — for Cluster scope
    that needs the first new pod not yet ready on n (for Local the new pods may be
    elsewhere, so nothing is added)."""
    ch, order = _old_changes(enc, sc, p)
    if fallback and not local:
        q = _first_new_pod(enc, sc, p)
        ch.append(Change("new.ready", q.start if sc.publish_not_ready else q.ready, RANK_READY))
    sl = publish(enc, ch, order)
    ap = kube_proxy.apply(enc, "n", ch, sl, order)
    routed = kube_proxy.routes_terminating(t, ap["old.del"], ap["old.unready"], fallback)
    if fallback and not local:
        routed = z3.Or(t < ap["old.del"], z3.And(t < ap["old.unready"], t < ap["new.ready"]))
    return ch, routed


def _old_changes(enc: Encoding, sc: Scenario, p: kubelet.OldPod) -> tuple[list[Change], list[tuple[str, str]]]:
    if sc.publish_not_ready:
        return ([Change("old.del", p.exit, RANK_NOT_SERVING), Change("old.unready", p.exit, RANK_NOT_SERVING)],
                [("old.del", "old.unready")])
    return ([Change("old.del", p.deleted, RANK_TERMINATING), Change("old.unready", p.unready, RANK_NOT_SERVING)],
            [("old.del", "old.unready")])


def termination_query(sc: Scenario, local: bool, fallback: bool, lb: bool, last_pod: bool = False) -> Query:
    """``last_pod``: the deleted pod is its node's last local endpoint, so the load balancer's
    health check starts failing when its deletion is applied (used to size fixes only)."""

    def build(enc: Encoding) -> None:
        p = kubelet.old_pod(enc, "old", enc.const(0))
        t = enc.real("t")
        # with a single feasible node, new pods land on this node too: Local = Cluster here
        _, routed = _fallback_routes(enc, sc, p, t, fallback, local and scheduler.can_place_elsewhere(sc))
        enc.add(t >= zmin(p.close, p.exit), routed)  # SIGKILL may come before the listener closes
        if last_pod and lb:
            enc.add(t < load_balancer.stops_sending(enc, "n", enc.vars["n.old.del"]))

    def witness(enc: Encoding) -> list[tuple[Choices, Timing]]:
        return _old_witnesses(enc, sc, local, lb)

    scope = "Local" if local else "Cluster"
    return Query(Property.TERMINATION, f"a deleted pod is still routed after it stopped serving ({scope})",
                 build, witness, local)


def _no_endpoint_cluster_query(sc: Scenario, fallback: bool) -> Query:
    def build(enc: Encoding) -> None:
        d = enc.real("old.deleted")
        enc.add(d >= 0)
        p = kubelet.old_pod(enc, "old", d)  # the old pod that leaves the ready set last
        q = _first_new_pod(enc, sc, p, last_to_exit=True)
        enc.add(q.created >= 0)
        ch, order = _old_changes(enc, sc, p)
        ch.append(Change("new.ready", q.start if sc.publish_not_ready else q.ready, RANK_READY))
        sl = publish(enc, ch, order)
        ap = kube_proxy.apply(enc, "n", ch, sl, order)
        t = enc.real("t")
        enc.add(t >= ap["old.del"], t < ap["new.ready"])
        if fallback:
            enc.add(t >= ap["old.unready"])

    def witness(enc: Encoding) -> list[tuple[Choices, Timing]]:
        entry = _other_node(sc)
        ot = _old_timing(enc, "old", sc.nodes, entry)
        nt = _new_timing(enc, "new", "new.ready", sc.nodes, entry)
        choices = Choices(initial=tuple(i % sc.nodes for i in range(sc.rollout.replicas)), placement=(0,))
        return [(choices, Timing(ctrl=_ctrl(enc), react=_react(enc), default_old=ot, default_new=nt)),
                (choices, Timing(default_old=ot, default_new=nt)),
                (choices, Timing(default_old=replace(ot, kubelet=0, hook=0), default_new=nt))]

    return Query(Property.NO_ENDPOINT, "the Service's ready set can become empty", build, witness)


def _no_endpoint_local_query(sc: Scenario, fallback: bool, lb: bool) -> Query:
    def build(enc: Encoding) -> None:
        p = kubelet.old_pod(enc, "old", enc.const(0))
        ch, order = _old_changes(enc, sc, p)
        elsewhere = scheduler.can_place_elsewhere(sc)
        if not elsewhere:  # new pods must land on this node: the first one must not be ready yet
            q = _first_new_pod(enc, sc, p)
            ch.append(Change("new.ready", q.start if sc.publish_not_ready else q.ready, RANK_READY))
        sl = publish(enc, ch, order)
        ap = kube_proxy.apply(enc, "n", ch, sl, order)
        t = enc.real("t")
        enc.add(t >= ap["old.del"])
        if not elsewhere:
            enc.add(t < ap["new.ready"])
        if fallback:
            enc.add(t >= ap["old.unready"])
        if lb:
            enc.add(t < load_balancer.stops_sending(enc, "n", ap["old.del"]))

    def witness(enc: Encoding) -> list[tuple[Choices, Timing]]:
        return _old_witnesses(enc, sc, True, lb)

    return Query(Property.NO_ENDPOINT, "a node loses its last local endpoint while traffic still arrives",
                 build, witness, True)


def _never_local_query(sc: Scenario) -> Query:
    """A node where the workload's pods can never run still gets NodePort or ClusterIP
    requests routed with policy Local: they are dropped at any time, rollout or not. No
    timing is involved (the query is trivially satisfiable); any run shows it."""

    def build(enc: Encoding) -> None:
        enc.add(enc.real("t") >= 0)

    def witness(enc: Encoding) -> list[tuple[Choices, Timing]]:
        return [(Choices(initial=tuple(range(sc.rollout.replicas))), Timing())]

    return Query(Property.NO_ENDPOINT, "a node that can never run the pods receives Local traffic",
                 build, witness, True)


def _killed_query(sc: Scenario, local: bool, fallback: bool) -> Query:
    def build(enc: Encoding) -> None:
        p = kubelet.old_pod(enc, "old", enc.const(0))
        t = enc.real("t")
        _, routed = _fallback_routes(enc, sc, p, t, fallback, local and scheduler.can_place_elsewhere(sc))
        r = application.request(enc, "req")
        enc.add(t < p.close, routed, t + r > p.kill, p.exit == p.kill)

    def witness(enc: Encoding) -> list[tuple[Choices, Timing]]:
        req = enc.value("req.duration")
        return [(c, replace(tm, request=req)) for c, tm in _old_witnesses(enc, sc, local, False)]

    scope = "Local" if local else "Cluster"
    return Query(Property.KILLED_IN_FLIGHT, f"SIGKILL arrives while an accepted request runs ({scope})",
                 build, witness, local)


def _stalled_query(sc: Scenario) -> Query:
    def build(enc: Encoding) -> None:
        q = kubelet.new_pod(enc, "new", enc.const(0), may_be_killed=True)
        enc.add(kubelet.killed_before_listening(enc, q))

    def witness(enc: Encoding) -> list[tuple[Choices, Timing]]:
        nt = _new_timing(enc, "new", "", sc.nodes, 0)
        return [(Choices(initial=tuple(i % sc.nodes for i in range(sc.rollout.replicas))),
                 Timing(default_new=nt))]

    return Query(Property.STALLED, "a probe kills new pods before they listen", build, witness)


# ---------------------------------------------------------------------------------------
# From a Z3 model to simulator runs
# ---------------------------------------------------------------------------------------


def _val(enc: Encoding, name: str, default: float = 0.0) -> float:
    return enc.value(name) if name in enc.vars else default


def _ctrl(enc: Encoding) -> tuple[float, ...]:
    """Controller delays that put the first new pod's creation where the model has it,
    relative to the old pod's deletion (first sync at once, the next after the gap)."""
    if "new.created" not in enc.vars:
        return (0.0,)
    gap = abs(_val(enc, "new.created") - _val(enc, "old.deleted"))
    if enc.sc.rollout.strategy is Strategy.RECREATE:
        return (0.0, 0.0)  # the gap after the last exit is a pod-change reaction (see ``_react``)
    return (0.0, min(gap, enc.bound("controller").hi))


def _react(enc: Encoding) -> tuple[float, ...]:
    if "new.created" in enc.vars and enc.sc.rollout.strategy is Strategy.RECREATE:
        return (max(0.0, _val(enc, "new.created") - _val(enc, "old.exit")),)
    return (0.0,)


def _per_node(n_nodes: int, entry: int, value: float) -> tuple[float, ...]:
    return tuple(value if i == entry else 0.0 for i in range(n_nodes))


def _new_timing(enc: Encoding, p: str, change: str, n_nodes: int, entry: int) -> NewTiming:
    eps = proxy = 0.0
    if change and f"slice.{change}" in enc.vars:
        eps = _val(enc, f"slice.{change}.delay")
        proxy = _val(enc, f"n.{change}.delay")
    return NewTiming(
        start=_val(enc, f"{p}.start_delay", 1.0), app=_val(enc, f"{p}.app"),
        startup_phase=_val(enc, f"{p}.startup.phase"), startup_resp=_val(enc, f"{p}.startup.resp"),
        ready_phase=_val(enc, f"{p}.readiness.phase"), ready_resp=_val(enc, f"{p}.readiness.resp"),
        liveness_phase=_val(enc, f"{p}.liveness.phase"), eps=eps, proxy=_per_node(n_nodes, entry, proxy))


def _old_timing(enc: Encoding, p: str, n_nodes: int, entry: int) -> OldTiming:
    sc = enc.sc
    h = sc.old.hook
    if h.may_stop_app:
        close = _val(enc, f"{p}.close") - (_val(enc, f"{p}.seen") + h.serve_min)
    else:
        close = _val(enc, f"{p}.close_delay")
    return OldTiming(
        kubelet=_val(enc, f"{p}.kubelet"), hook=_val(enc, f"{p}.hook"), close=close,
        drain=_val(enc, f"{p}.drain"), unready_phase=_val(enc, f"{p}.unready.phase"),
        unready_resp=_val(enc, f"{p}.unready.resp"),
        eps_del=_val(enc, "slice.old.del.delay"), eps_unready=_val(enc, "slice.old.unready.delay"),
        proxy_del=_per_node(n_nodes, entry, _val(enc, "n.old.del.delay")),
        proxy_unready=_per_node(n_nodes, entry, _val(enc, "n.old.unready.delay")))


def _other_node(sc: Scenario) -> int:
    """A node other than the first feasible one (where witnesses put the pod they follow):
    its kube-proxy is the slow one. With a single node, that node."""
    return next((i for i in range(sc.nodes) if i != sc.feasible[0]), sc.feasible[0])


def _old_witnesses(enc: Encoding, sc: Scenario, local: bool, lb: bool) -> list[tuple[Choices, Timing]]:
    """Runs in which old pod 0 (on node 1) is deleted first with the model's timing.

    Local scope: it is the only old pod on its node and new pods go elsewhere, so that
    node loses its last local endpoint; a second variant puts two old pods there, so the
    node keeps receiving traffic while the first one is already terminating."""
    n, r = sc.nodes, sc.rollout.replicas
    out = []
    if not local:
        entry = _other_node(sc)
        ot = _old_timing(enc, "old", n, entry)
        ch = Choices(initial=tuple(i % n for i in range(r)), placement=(0,), deletion=(0,))
        if "new.start" in enc.vars:  # the fallback case: new pods as slow as the model's
            nt = _new_timing(enc, "new", "new.ready", n, entry)
            out.append((ch, Timing(ctrl=_ctrl(enc), react=_react(enc), old=(ot,), default_new=nt)))
            out.append((ch, Timing(ctrl=_ctrl(enc), react=_react(enc), default_old=ot, default_new=nt)))
        out.append((ch, Timing(old=(ot,))))
        out.append((ch, Timing(default_old=ot)))
        return out
    ot = _old_timing(enc, "old", n, sc.feasible[0])
    if "new.start" in enc.vars:  # one node only: new pods as slow as the model's
        nt = _new_timing(enc, "new", "new.ready", n, sc.feasible[0])
        ch = Choices(initial=(0,) * r, placement=(0,), deletion=(0,))
        out.append((ch, Timing(ctrl=_ctrl(enc), react=_react(enc), old=(ot,), default_new=nt)))
        out.append((ch, Timing(ctrl=_ctrl(enc), react=_react(enc), default_old=ot, default_new=nt)))
    others = tuple(range(1, len(sc.feasible))) or (0,)  # indices into the feasible nodes
    lone = Choices(initial=(0,) + tuple(others[i % len(others)] for i in range(r - 1)), placement=others,
                   deletion=(0,))
    out.append((lone, Timing(old=(ot,))))
    out.append((lone, Timing(default_old=ot)))
    if r >= 2:
        pair = Choices(initial=(0, 0) + tuple(others[i % len(others)] for i in range(r - 2)),
                       placement=others, deletion=(0, 1))
        out.append((pair, Timing(old=(ot,))))
        out.append((pair, Timing(default_old=ot)))
    return out


def random_timings(sc: Scenario, rng: random.Random, count: int) -> list[tuple[Choices, Timing]]:
    """Extra candidates: random choices and delays at or between their bounds."""
    b = sc.settings
    n, r = sc.nodes, sc.rollout.replicas

    def pick(lo: float, hi: float) -> float:
        x = rng.random()
        return lo if x < 0.35 else hi if x < 0.7 else rng.uniform(lo, hi)

    def node_delays(bound: str) -> tuple[float, ...]:
        return tuple(pick(b[bound].lo, b[bound].hi) for _ in range(n))

    out = []
    for _ in range(count):
        h = sc.old.hook
        olds = tuple(OldTiming(
            kubelet=pick(*_lohi(b["kubelet"])), hook=pick(h.lo, h.hi),
            close=pick(0, h.hi + b["app-close"].hi) if h.may_stop_app else pick(*_lohi(b["app-close"])),
            drain=pick(0, b["request"].hi), unready_phase=rng.random(), unready_resp=rng.random(),
            eps_del=pick(*_lohi(b["endpointslice"])), eps_unready=pick(*_lohi(b["endpointslice"])),
            proxy_del=node_delays("kube-proxy"), proxy_unready=node_delays("kube-proxy")) for _ in range(r))
        news = tuple(NewTiming(
            start=pick(*_lohi(b["pod-start"])), app=pick(*_lohi(b["app-startup"])),
            startup_phase=rng.random(), ready_phase=rng.random(), liveness_phase=rng.random(),
            eps=pick(*_lohi(b["endpointslice"])), proxy=node_delays("kube-proxy")) for _ in range(r + 2))
        choices = Choices(initial=tuple(rng.randrange(n) for _ in range(r)),
                          placement=tuple(rng.randrange(n) for _ in range(r + 2)),
                          deletion=tuple(rng.sample(range(r), r)))
        out.append((choices, Timing(ctrl=tuple(pick(*_lohi(b["controller"])) for _ in range(4 * r + 4)),
                                    react=tuple(pick(*_lohi(b["controller"])) for _ in range(2 * r + 2)),
                                    new=news, old=olds, lb_phase=tuple(rng.random() for _ in range(n)),
                                    lb_resp=pick(0, b.lb.timeout), request=pick(*_lohi(b["request"])))))
    return out


def _lohi(i: Interval) -> tuple[float, float]:
    return (i.lo, i.hi)



def hazard_queries(sc: Scenario, gf: GraphFacts) -> dict[Property, list[Query]]:
    fb = sc.fallback
    creates = not sc.paused and sc.rollout.replicas > 0
    deletes = creates and gf.deletes
    node_can_empty = deletes and (scheduler.can_place_elsewhere(sc) or gf.zero_ready)
    cluster = [e for e in sc.entries if not e.local]
    local = [e for e in sc.entries if e.local]
    out: dict[Property, list[Query]] = {p: [] for p in Property}
    if creates:
        out[Property.STARTUP].append(_startup_query(sc))
    if deletes:
        if cluster:
            out[Property.TERMINATION].append(termination_query(sc, False, fb and gf.zero_ready, False))
        if local:
            lb = any(e.kind is Entry.LOAD_BALANCER for e in local)
            out[Property.TERMINATION].append(termination_query(sc, True, fb and node_can_empty, lb))
        if cluster:
            out[Property.KILLED_IN_FLIGHT].append(_killed_query(sc, False, fb and gf.zero_ready))
        if local:
            out[Property.KILLED_IN_FLIGHT].append(_killed_query(sc, True, fb and node_can_empty))
    if cluster and gf.zero_ready and creates:
        out[Property.NO_ENDPOINT].append(_no_endpoint_cluster_query(sc, fb))
    if local and node_can_empty:
        for e in local:
            out[Property.NO_ENDPOINT].append(
                _no_endpoint_local_query(sc, fb, e.kind is Entry.LOAD_BALANCER))
    if any(e.kind is not Entry.LOAD_BALANCER for e in local) and len(sc.feasible) < sc.nodes:
        out[Property.NO_ENDPOINT].append(_never_local_query(sc))
    if creates:
        out[Property.STALLED].append(_stalled_query(sc))
    return out


