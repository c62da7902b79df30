"""The search: state graph for the discrete choices, Z3 for the timing, the simulator as judge.

For each (workload, Service port) scenario:

1. The rollout's state-transition graph (networkx; states are counts, i.e. canonical
   under pod and node symmetry) tells which configurations the controllers can reach:
   can the Service's ready set become empty, is any old pod deleted, does every
   interleaving finish.
2. Each hazard is a Z3 query over the events of the few pods it involves
   (``kubelet``, ``application``, ``endpointslice``, ``kube_proxy``, ``load_balancer``),
   with every other pod's constraints dropped. Dropping constraints only adds behaviours,
   so ``unsat`` proves the hazard impossible for every timing within the bounds and every
   choice the graph allows.
3. ``sat`` gives a timing; it is turned into a complete run (choices + every delay) and
   replayed by the independent simulator. Only a replayed violation is printed as a
   counterexample; if no candidate replays, or Z3 answers ``unknown``, the verdict is
   inconclusive — never proved.
"""
from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import z3
from zdverify.model import (
    application,
    kube_proxy,
    kubelet,
    load_balancer,
    scheduler,
    suppression,
)
from zdverify.model.assumptions import Settings, for_workload
from zdverify.model.deployment import GraphFacts, StateBudgetExceeded, facts
from zdverify.model.endpointslice import (
    RANK_NOT_SERVING,
    RANK_READY,
    RANK_TERMINATING,
    Change,
    publish,
)
from zdverify.model.objects import Objects, Strategy, WorkloadKind
from zdverify.model.pairing import Pair
from zdverify.model.scenario import Entry, HookSpec, Scenario, build_scenario
from zdverify.model.simulator import (
    Choices,
    NewTiming,
    OldTiming,
    Run,
    Timing,
    Violation,
    simulate,
)
from zdverify.model.scheduler import Node
from zdverify.model.suppression import Suppression
from zdverify.model.timing import Encoding
from zdverify.model.verdict import (
    Assumption,
    Blame,
    Cause,
    Component,
    EventKind,
    Property,
    Report,
    Result,
    Step,
    Verdict,
)

SOLVER_TIMEOUT_MS = 20_000
TRACE_CAP = 40


# ---------------------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------------------


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


def _termination_query(sc: Scenario, local: bool, fallback: bool, lb: bool, last_pod: bool = False) -> Query:
    """``last_pod``: the deleted pod is its node's last local endpoint, so the load balancer's
    health check starts failing when its deletion is applied (used to size fixes only)."""

    def build(enc: Encoding) -> None:
        p = kubelet.old_pod(enc, "old", enc.const(0))
        t = enc.real("t")
        # with a single feasible node, new pods land on this node too: Local = Cluster here
        _, routed = _fallback_routes(enc, sc, p, t, fallback, local and scheduler.can_place_elsewhere(sc))
        enc.add(t >= p.close, routed)
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


def _killed_query(sc: Scenario, fallback: bool) -> Query:
    def build(enc: Encoding) -> None:
        p = kubelet.old_pod(enc, "old", enc.const(0))
        t = enc.real("t")
        _, routed = _fallback_routes(enc, sc, p, t, fallback, local=False)
        r = application.request(enc, "req")
        enc.add(t < p.close, routed, t + r > p.kill, p.exit == p.kill)

    def witness(enc: Encoding) -> list[tuple[Choices, Timing]]:
        req = enc.value("req.duration")
        return [(c, replace(tm, request=req)) for c, tm in _old_witnesses(enc, sc, False, False)]

    return Query(Property.KILLED_IN_FLIGHT, "SIGKILL arrives while an accepted request runs", build, witness)


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


def _random_timings(sc: Scenario, rng: random.Random, count: int) -> list[tuple[Choices, Timing]]:
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


def _lohi(i) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    return (i.lo, i.hi)


def _tune_lb(sc: Scenario, choices: Choices, timing: Timing, run: Run) -> Timing | None:
    """Second pass for Local load balancers: put a health check just before the moment a
    node lost its last local endpoint, so the load balancer keeps sending for as long as
    the bounds allow."""
    if not any(e.kind is Entry.LOAD_BALANCER and e.local for e in sc.entries) or not run.local_empty_at:
        return None
    interval = sc.settings.lb.interval
    phases = [0.0] * sc.nodes
    for node, flip in run.local_empty_at.items():
        phases[node] = ((flip - 1e-6) % interval) / interval
    return replace(timing, lb_phase=tuple(phases), lb_resp=sc.settings.lb.timeout * 0.999)


def replay(sc: Scenario, prop: Property, candidates: Sequence[tuple[Choices, Timing]]
           ) -> tuple[Run, Violation] | None:
    """The first candidate whose simulation violates ``prop``."""
    for choices, timing in candidates:
        run = simulate(sc, choices, timing)
        v = run.first(prop)
        if v is not None:
            return run, v
        tuned = _tune_lb(sc, choices, timing, run)
        if tuned is not None:
            run = simulate(sc, choices, tuned)
            v = run.first(prop)
            if v is not None:
                return run, v
    return None


# ---------------------------------------------------------------------------------------
# Deciding one property
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    run: Run | None = None
    violation: Violation | None = None
    reason: str = ""


def decide(sc: Scenario, queries: Sequence[Query], prop: Property, ctx: z3.Context, seed: int = 0) -> Outcome:
    inconclusive = ""
    for q in queries:
        enc = Encoding(sc, ctx)
        enc.solver.set("timeout", SOLVER_TIMEOUT_MS)
        q.build(enc)
        res = enc.solver.check()
        if res == z3.unsat:
            continue
        if res == z3.unknown:
            inconclusive = f"Z3 could not decide '{q.label}': {enc.solver.reason_unknown()}"
            continue
        found = replay(sc, prop, q.witness(enc))
        if found is None:
            found = replay(sc, prop, _random_timings(sc, random.Random(seed), 24))
        if found is not None:
            return Outcome(Verdict.COUNTEREXAMPLE, found[0], found[1])
        inconclusive = (f"Z3 found a timing for '{q.label}', but no complete run built from it "
                        "replayed in the simulator")
    if inconclusive:
        return Outcome(Verdict.INCONCLUSIVE, reason=inconclusive)
    return Outcome(Verdict.PROVED)


# ---------------------------------------------------------------------------------------
# One scenario
# ---------------------------------------------------------------------------------------


def _queries(sc: Scenario, gf: GraphFacts) -> dict[Property, list[Query]]:
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
            out[Property.TERMINATION].append(_termination_query(sc, False, fb and gf.zero_ready, False))
        if local:
            lb = any(e.kind is Entry.LOAD_BALANCER for e in local)
            out[Property.TERMINATION].append(_termination_query(sc, True, fb and node_can_empty, lb))
        out[Property.KILLED_IN_FLIGHT].append(
            _killed_query(sc, fb and (gf.zero_ready or (bool(local) and node_can_empty))))
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


def check_scenario(sc: Scenario) -> list[Result]:
    t0 = time.perf_counter()
    try:
        gf = facts(sc.rollout)
    except StateBudgetExceeded as e:
        return [_result(sc, p, Outcome(Verdict.INCONCLUSIVE, reason=str(e)), None, z3.Context()) for p in Property]
    graph_s = time.perf_counter() - t0
    queries = _queries(sc, gf)
    # one Z3 context per scenario, its queries always in the same order: models do not
    # depend on what ran before in the process, so traces and goldens are reproducible
    ctx = z3.Context()
    results = []
    for prop in Property:
        if prop is Property.STALLED and sc.paused:
            found = replay(sc, prop, [(Choices(), Timing())])
            outcome = (Outcome(Verdict.COUNTEREXAMPLE, found[0], found[1]) if found else
                       Outcome(Verdict.INCONCLUSIVE, reason="the paused rollout did not replay as stalled"))
        elif prop is Property.STALLED and not gf.always_completes:
            outcome = Outcome(Verdict.INCONCLUSIVE, reason="the state graph has a state that cannot finish")
        else:
            outcome = decide(sc, queries[prop], prop, ctx)
        results.append(_result(sc, prop, outcome, gf, ctx))
    elapsed = time.perf_counter() - t0
    return [replace(r, stats={"states": gf.states, "edges": gf.edges, "reduced_graph": gf.reduced,
                              "graph_s": round(graph_s, 4),
                              "total_s": round(elapsed, 4)}) for r in results]


def check_all(pairs: Sequence[Pair], notes: Sequence[str], objects: Objects, nodes: int | Sequence[Node],
              settings: Settings, suppressions: Sequence[Suppression] = (),
              previous: Objects | None = None) -> Report:
    """``nodes``: a node count, or the cluster file's nodes. ``previous``: the objects the
    cluster runs now (``--from``): old pods run their templates."""
    old_by_ref = {w.ref: w for w in previous.workloads} if previous is not None else {}
    results: list[Result] = []
    notes = list(notes)
    for u in objects.unverified:
        notes.append(f"{u.ref}: {u.reason}; left unverified ({u.loc})")
    for p in pairs:
        if p.workload.replicas == 0:
            notes.append(f"{p.workload.ref}: replicas is 0; nothing rolls out, left unverified")
            continue
        if p.service.headless:
            notes.append(f"{p.service.ref}: headless (clusterIP: None), clients resolve pod IPs without "
                         f"kube-proxy; {p.workload.ref} left unverified for it")
            continue
        own_settings = for_workload(settings, p.workload.annotations, p.workload.loc_of)
        old = old_by_ref.get(p.workload.ref)
        if previous is not None and old is None:
            notes.append(f"{p.workload.ref}: not in --from; its old pods are taken to run the new template")
        sc = build_scenario(p, nodes, own_settings, old)
        own = (suppression.from_annotations(p.workload, dict(p.workload.annotations), p.workload.ref,
                                            is_service=False)
               + suppression.from_annotations(p.service, dict(p.service.annotations), p.service.ref,
                                              is_service=True))
        results.extend(suppression.apply(check_scenario(sc), [*own, *suppressions]))
    count = nodes if isinstance(nodes, int) else len(nodes)
    return Report(tuple(results), tuple(notes), count, settings.version_text)


# ---------------------------------------------------------------------------------------
# Results: trace, blame, fix
# ---------------------------------------------------------------------------------------


def _assumptions(sc: Scenario) -> tuple[Assumption, ...]:
    from_file = sc.settings.origins.get("nodes")
    extra = (
        Assumption("nodes", ", ".join(sc.node_names) if from_file else str(sc.nodes),
                   from_file or ("flag" if sc.nodes != 3 else "default"),
                   f"pods of this workload may run on {len(sc.feasible)} of them"
                   if from_file else "every node is feasible for every pod (no cluster file)"),
        Assumption("deletion-order", "any old pod", "model",
                   "proofs over-approximate the ReplicaSet ranking; replayed traces follow it "
                   "(doubled-up nodes first, ties free)"),
        Assumption("entries", ", ".join(e.text for e in sc.entries), "manifest",
                   "clients may send a request at any instant"),
    )
    return sc.settings.assumptions() + extra


def _trace(sc: Scenario, run: Run, v: Violation) -> tuple[Step, ...]:
    """The steps a reader needs: controller actions, the pods involved (the violating pod,
    or for a Local entry the pods on the node), that node's kube-proxy and load balancer."""
    node = sc.node_name(v.node)
    if v.pod is not None:
        pods = {v.pod}
    elif v.entry is not None and v.entry.local:
        pods = {name for name, n in run.pod_nodes.items() if n == v.node}
    else:
        pods = set(run.pod_nodes)

    def about(s: Step) -> bool:
        return s.pod in pods

    keep = []
    for s in run.steps:
        if s.t > v.t_end + 1e-9:
            break
        if s.component is Component.DEPLOYMENT:
            keep.append(s)
        elif s.component in (Component.KUBE_PROXY, Component.LOAD_BALANCER):
            if s.where == node and (s.component is Component.LOAD_BALANCER or about(s)):
                keep.append(s)
        elif about(s) and (v.pod is not None or s.kind in (
                EventKind.POD_DELETED, EventKind.POD_CREATED, EventKind.READY, EventKind.SIGTERM,
                EventKind.SLICE_ADD, EventKind.SLICE_TERMINATING, EventKind.SLICE_NOT_SERVING)):
            keep.append(s)
    if v.entry is not None and v.entry.kind is Entry.LOAD_BALANCER and v.entry.local:
        flip = run.local_empty_at.get(v.node)
        removed = [s.t for s in run.steps if s.component is Component.LOAD_BALANCER and s.where == node
                   and s.kind is EventKind.LB_REMOVES_NODE and s.t > v.t]
        if flip is not None:
            until = f"; it removes the node at t={removed[0]:.2f}s" if removed else ""
            keep.append(Step(v.t, Component.LOAD_BALANCER, node, EventKind.REQUEST,
                             f"still sends new connections to {node}: its health check fails since "
                             f"t={flip:.2f}s (no local ready endpoint){until}",
                             sc.pair.service.loc_of("spec.externalTrafficPolicy")))
    if len(keep) > TRACE_CAP:
        keep = keep[:TRACE_CAP // 2] + keep[-TRACE_CAP // 2:]
    blame = _blame(sc, v.prop)
    src = blame[0].loc if blame else None
    if v.pod is not None:
        later = [s for s in run.steps if s.component is Component.KUBE_PROXY and s.where == node
                 and s.pod == v.pod and s.t > v.t]
        if v.prop is Property.STARTUP:
            text = f"already routes to {v.pod}"
        else:
            until = f" (its removal applies at t={later[0].t:.2f}s)" if later else ""
            text = f"still routes to {v.pod}{until}"
        keep.append(Step(v.t, Component.KUBE_PROXY, node, EventKind.REQUEST, text, pod=v.pod))
    keep.append(Step(v.t, Component.CLIENT, node, EventKind.VIOLATION, v.text, src, pod=v.pod or ""))
    keep.sort(key=lambda s: s.t)
    return tuple(keep)


def _blame(sc: Scenario, prop: Property) -> list[Blame]:
    w = sc.pair.workload
    svc = sc.pair.service
    pod = sc.pod
    if prop is Property.STARTUP:
        if sc.publish_not_ready:
            return [Blame(svc.loc_of("spec.publishNotReadyAddresses"), "spec.publishNotReadyAddresses",
                          "not-ready pods are published as ready endpoints")]
        if pod.readiness is None:
            return [Blame(pod.container_loc, f"containers[{pod.container}].readinessProbe",
                          "absent: the pod is Ready as soon as the container starts")]
        if not pod.readiness.checks_port:
            return [Blame(pod.readiness.loc, f"containers[{pod.container}].readinessProbe",
                          f"does not check the Service's target port {sc.pair.container_port}")]
        return [Blame(pod.readiness.loc, f"containers[{pod.container}].readinessProbe", "")]
    if prop in (Property.TERMINATION, Property.KILLED_IN_FLIGHT):
        pod = sc.old  # the deleted pods run the old template
        h = pod.hook
        out = [Blame(h.loc or pod.container_loc, f"containers[{pod.container}].lifecycle.preStop", h.text)]
        out.append(Blame(pod.grace_loc or w.loc_of("spec.template.spec.terminationGracePeriodSeconds"),
                         "terminationGracePeriodSeconds", f"{pod.grace:g}s"))
        if sc.publish_not_ready:
            out.insert(0, Blame(svc.loc_of("spec.publishNotReadyAddresses"), "spec.publishNotReadyAddresses",
                                "terminating pods stay published as ready endpoints"))
        if prop is Property.KILLED_IN_FLIGHT:
            out.reverse()
        return out
    if prop is Property.NO_ENDPOINT:
        out = []
        if any(e.local for e in sc.entries):
            field = ("spec.externalTrafficPolicy" if any(e.local and e.kind is not Entry.CLUSTER_IP
                                                         for e in sc.entries) else "spec.internalTrafficPolicy")
            out.append(Blame(svc.loc_of(field), field,
                             "Local: a node without a local ready pod drops the traffic it receives"))
            h = sc.old.hook
            out.append(Blame(h.loc or sc.old.container_loc, f"containers[{sc.old.container}].lifecycle.preStop",
                             f"{h.text}: how long the node keeps a serving endpoint"))
            return out
        if w.kind is WorkloadKind.POD:
            out.append(Blame(w.loc, "kind: Pod", "a bare Pod is replaced by delete + create"))
        elif sc.rollout.strategy is Strategy.RECREATE:
            out.append(Blame(w.loc_of("spec.strategy.type"), "spec.strategy.type",
                             "Recreate deletes every old pod before creating new ones"))
        else:
            out.append(Blame(w.loc_of("spec.strategy.rollingUpdate.maxUnavailable"),
                             "spec.strategy.rollingUpdate.maxUnavailable",
                             f"resolves to {sc.rollout.unavailable} of {sc.rollout.replicas} replicas"))
        return out
    probe = pod.startup if pod.startup and pod.startup.checks_port else pod.liveness
    if sc.paused:
        return [Blame(w.loc_of("spec.paused"), "spec.paused", "true: the rollout does not start")]
    return [Blame(probe.loc if probe else pod.container_loc, f"containers[{pod.container}] probes",
                  "can fail before the application listens")]


def _minimal_prestop(sc: Scenario, make: Callable[[Scenario], list[Query]], ctx: z3.Context) -> int | None:
    """Smallest preStop sleep (whole seconds, up to 600) under which ``make``'s queries are
    all unsat, with the grace period raised to keep SIGKILL after the requests drain."""
    b = sc.settings

    def safe(n: int) -> bool:
        grace = max(sc.old.grace, n + math.ceil(b["app-close"].hi + b["request"].hi) + 2)
        old = replace(sc.old, hook=HookSpec(n, n, n, False, f"preStop sleep {n}s", None), grace=grace)
        variant = replace(sc, old_pod=old)
        for q in make(variant):
            enc = Encoding(variant, ctx)
            enc.solver.set("timeout", SOLVER_TIMEOUT_MS)
            q.build(enc)
            if enc.solver.check() != z3.unsat:
                return False
        return True

    lb = b.lb
    guess = math.ceil(b["kubelet"].hi + b["endpointslice"].hi + b["kube-proxy"].hi
                      + lb.unhealthy * lb.interval + lb.timeout + b["controller"].hi) + 1
    lo, hi = 0, guess
    if not safe(hi):
        lo, hi = guess + 1, 600
        if not safe(hi):
            return None
    while lo < hi:
        mid = (lo + hi) // 2
        if safe(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _fix(sc: Scenario, prop: Property, gf: GraphFacts | None, ctx: z3.Context) -> str:
    pod = sc.pod
    b = sc.settings
    port = sc.pair.container_port
    if prop is Property.STARTUP:
        if sc.publish_not_ready:
            return "remove publishNotReadyAddresses: true from the Service"
        return (f"give container {pod.container!r} a readinessProbe on the Service's target port:\n"
                f"readinessProbe:\n  tcpSocket:\n    port: {port}\n  periodSeconds: 2")
    if prop in (Property.TERMINATION, Property.NO_ENDPOINT) and any(e.local for e in sc.entries) \
            and not sc.fallback and prop is Property.NO_ENDPOINT:
        return ("use Kubernetes 1.26 or later (terminating-endpoint fallback) and a preStop sleep, "
                "or set externalTrafficPolicy: Cluster")
    if prop is Property.NO_ENDPOINT and not any(e.local for e in sc.entries):
        if sc.pair.workload.kind is WorkloadKind.POD:
            return "run the pod from a Deployment with replicas >= 2 and maxUnavailable: 0"
        if sc.rollout.strategy is Strategy.RECREATE:
            return "strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}"
        return "strategy.rollingUpdate: {maxSurge: 1, maxUnavailable: 0} (or more replicas)"
    if prop in (Property.TERMINATION, Property.NO_ENDPOINT):
        if sc.publish_not_ready:
            return "remove publishNotReadyAddresses: true from the Service"
        gfx = gf if gf is not None else facts(sc.rollout)
        local_lb = any(e.local and e.kind is Entry.LOAD_BALANCER for e in sc.entries)
        several = False

        def make(v: Scenario) -> list[Query]:
            qs = _queries(v, gfx)[prop]
            if prop is Property.TERMINATION and local_lb:
                # the over-approximation (another local pod may keep the node in the load
                # balancer indefinitely) admits no fix; size the delay for the last pod
                qs = [q for q in qs if not q.local] + [
                    _termination_query(v, True, v.fallback, True, last_pod=True)]
            return qs

        if prop is Property.TERMINATION and local_lb:
            several = sc.rollout.replicas > 1
        n = _minimal_prestop(sc, make, ctx)
        if n is None:
            if gfx.zero_ready and sc.fallback:
                return ("keep a ready pod during the rollout: with no ready endpoint left, kube-proxy "
                        "falls back to terminating pods until they are removed. "
                        + ("Run it from a Deployment with replicas >= 2 and maxUnavailable: 0"
                           if sc.pair.workload.kind is WorkloadKind.POD else
                           "strategy.rollingUpdate: {maxSurge: 1, maxUnavailable: 0}"))
            return "set externalTrafficPolicy: Cluster (no preStop delay up to 600s closes this window)"
        pod = sc.old
        grace = max(int(pod.grace), n + math.ceil(b["app-close"].hi + b["request"].hi) + 2)
        hook = (f"lifecycle:\n  preStop:\n    sleep:\n      seconds: {n}" if b.native_sleep else
                f"lifecycle:\n  preStop:\n    exec:\n      command: [\"sleep\", \"{n}\"]")
        text = f"in container {pod.container!r}:\n{hook}"
        if grace > pod.grace:
            text += f"\nand terminationGracePeriodSeconds: {grace}"
        if several:
            text += ("\n(this covers a node whose last local pod is deleted; while a node has several pods "
                     "no preStop delay is provably enough — externalTrafficPolicy: Cluster is)")
        if sc.old_pod is not None and sc.old_pod != sc.pod:
            text = (f"the pods this rollout deletes run the old template ({sc.old_source}, --from): a change "
                    f"to the new template protects only the next rollout. The old template would need:\n"
                    + text)
        return text
    if prop is Property.KILLED_IN_FLIGHT:
        old = sc.old
        need = math.ceil(old.hook.hi + b["app-close"].hi + b["request"].hi) + 1
        return f"terminationGracePeriodSeconds: {max(need, int(old.grace) + 1)} (preStop + close + longest request)"
    if sc.paused:
        return "resume the rollout (kubectl rollout resume) or remove spec.paused"
    return (f"add a startupProbe on port {port} (failureThreshold x periodSeconds longer than the "
            f"application's start-up, {b['app-startup'].hi:g}s), or raise the liveness initialDelaySeconds")


_CAUSE = {Property.STARTUP: Cause.STARTUP, Property.TERMINATION: Cause.TERMINATION,
          Property.NO_ENDPOINT: Cause.NO_ENDPOINT, Property.KILLED_IN_FLIGHT: Cause.KILLED_IN_FLIGHT,
          Property.STALLED: Cause.STALLED}


def _why(sc: Scenario, prop: Property) -> str:
    b = sc.settings
    lag = b["endpointslice"].hi + b["kube-proxy"].hi
    lb = b.lb
    if prop is Property.STARTUP:
        return ("kube-proxy routes to a pod once it is Ready; Ready does not wait for the application "
                f"to listen on port {sc.pair.container_port} (start-up takes up to {b['app-startup'].hi:g}s)")
    if prop is Property.TERMINATION:
        return ("the kubelet and the EndpointSlice controller react to the deletion concurrently: "
                f"SIGTERM can come {sc.old.hook.serve_min:g}s after deletion, while removing the endpoint "
                f"from every node's rules can take up to {lag:g}s"
                + (f", and a Local load balancer keeps sending for up to {lb.unhealthy * lb.interval + lb.timeout:g}s"
                   if any(e.local for e in sc.entries) else ""))
    if prop is Property.NO_ENDPOINT:
        if any(e.local for e in sc.entries):
            return ("with externalTrafficPolicy: Local a node whose last local pod is terminating has no "
                    "ready endpoint, but the load balancer only stops sending after its health checks fail "
                    f"(up to {lb.unhealthy * lb.interval + lb.timeout:g}s)")
        return "the controller may delete the last ready pod before any new pod is ready"
    if prop is Property.KILLED_IN_FLIGHT:
        return ("SIGKILL comes max(grace - preStop, 2s) after SIGTERM; a request accepted just before the "
                f"listener closed may still be running (requests last up to {b['request'].hi:g}s)")
    if sc.paused:
        return "a paused Deployment does not roll out its new template"
    return "a probe that checks the served port can kill the container before the application listens"


def _result(sc: Scenario, prop: Property, o: Outcome, gf: GraphFacts | None, ctx: z3.Context) -> Result:
    base = dict(property=prop, workload=sc.workload, service=sc.service, port=sc.pair.port.port,
                assumptions=_assumptions(sc), source=sc.pair.workload.loc)
    port = f"port {sc.pair.port.port}"
    if o.verdict is Verdict.PROVED:
        return Result(verdict=Verdict.PROVED, summary=f"{prop.title} ({port})", **base)
    if o.verdict is Verdict.INCONCLUSIVE:
        return Result(verdict=Verdict.INCONCLUSIVE, summary=f"not decided: {o.reason}", why=o.reason, **base)
    assert o.run is not None and o.violation is not None
    v = o.violation
    return Result(verdict=Verdict.COUNTEREXAMPLE, cause=_CAUSE[prop],
                  summary=f"{v.text} at t={v.t:.2f}s ({port})", trace=_trace(sc, o.run, v),
                  blame=tuple(_blame(sc, prop)), why=_why(sc, prop), fix=_fix(sc, prop, gf, ctx), **base)
