"""Candidate runs: turning a Z3 model into complete runs the simulator replays.

A model of a query (``model/checker/properties.py``) is only a candidate: ``witnesses``
turns its entities into complete runs (choices and timings, ``model/run.py``), the search
replays them in the simulator, and only a replayed violation is reported. ``random_timings``
adds random runs at or between the bounds. This module is orchestration: it reads the
checker's entities and writes the neutral run vocabulary; it never runs the simulator.

Simplifications (the runs are candidates, not claims):
 1. Entities become the first pods of their kind (old ones deleted in the model's order);
    the first node entity's kube-proxy takes the model's delays, the other nodes and pods
    keep the defaults or copy the entities' timing.
 2. Placements are a few fixed layouts (Local: the followed old pod, or two, on the
    observed node, every other pod elsewhere; and every old pod on one node, the new ones
    elsewhere — on one other node when a load balancer fails open to the rest — so that no
    node may stay healthy; Cluster: spread; ``--from``: old pods piled on one node; a drain:
    every pod on the drained node); ``model/guided.py`` adds runs that follow the per-node
    exploration's witness.
 3. A query about the load balancer's health adds runs at the bounds' extremes
    (``_no_healthy_runs``): the first new pod's Ready as late as allowed, the rest early,
    and slow starts over a range of delays.
"""
from __future__ import annotations

import math
import random
from dataclasses import replace

import z3

from zdverify.model.assumptions import Interval
from zdverify.model.checker import properties
from zdverify.model.checker.encoding import Encoding
from zdverify.model.checker.entities import Case, NodeEntity, PodEntity
from zdverify.model.checker.graph import GraphFacts
from zdverify.model.checker.properties import Query
from zdverify.model.objects import Strategy
from zdverify.model.run import Choices, NewTiming, OldTiming, Timing
from zdverify.model.scenario import Scenario
from zdverify.model.verdict import Property

Runs = list[tuple[Choices, Timing]]


def queries(prop: Property, sc: Scenario, gf: GraphFacts) -> list[Query]:
    """The checker's queries for ``prop`` on ``sc`` (``properties.queries``), each turning
    its model into runs with ``witnesses``."""
    return properties.queries(prop, sc, gf, witnesses)


def stalled_query(prop: Property, sc: Scenario) -> Query:
    """The completion query (``properties.stalled_query``) with its witness."""

    def witness(enc: Encoding) -> Runs:
        nt = _new_timing(enc, "new", "n", sc.nodes, 0)
        return [(Choices(initial=tuple(i % sc.nodes for i in range(sc.rollout.replicas))),
                 Timing(default_new=nt))]

    return properties.stalled_query(prop, sc, witness)


def _val(enc: Encoding, name: str, default: float = 0.0) -> float:
    return enc.value(name) if name in enc.vars else default


def _true(enc: Encoding, v: z3.BoolRef) -> bool:
    return z3.is_true(enc.solver.model().eval(v, model_completion=True))


def _per_node(n_nodes: int, entry: int, value: float, elsewhere: float = 0.0) -> tuple[float, ...]:
    """A kube-proxy delay per node: the observed node's, and elsewhere the pod's own node's
    (``home.*``, the load balancer's health rules) or none."""
    return tuple(value if i == entry else elsewhere for i in range(n_nodes))


def _new_timing(enc: Encoding, p: str, node: str, n_nodes: int, entry: int) -> NewTiming:
    change = f"{p}.ready"
    return NewTiming(
        start=_val(enc, f"{p}.start_delay", 1.0), app=_val(enc, f"{p}.app"),
        startup_phase=_val(enc, f"{p}.startup.phase"), startup_resp=_val(enc, f"{p}.startup.resp"),
        ready_phase=_val(enc, f"{p}.readiness.phase"), ready_resp=_val(enc, f"{p}.readiness.resp"),
        liveness_phase=_val(enc, f"{p}.liveness.phase"), eps=_val(enc, f"slice.{change}.delay"),
        proxy=_per_node(n_nodes, entry, _val(enc, f"{node}.{change}.delay"), _val(enc, f"home.{change}")),
        lb_reg=_val(enc, f"{p}.lbreg"), lb_phase=_val(enc, f"{p}.tg.phase"), lb_resp=_val(enc, f"{p}.tg.resp"),
        side_ready_phase=tuple(_val(enc, f"{p}.side{i}.readiness.phase") for i in range(len(enc.sc.pod.others))),
        side_ready_resp=tuple(_val(enc, f"{p}.side{i}.readiness.resp") for i in range(len(enc.sc.pod.others))))


def _old_timing(enc: Encoding, p: str, node: str, n_nodes: int, entry: int) -> OldTiming:
    h = enc.sc.old.hook
    if h.may_stop_app:
        close = _val(enc, f"{p}.close") - (_val(enc, f"{p}.seen") + h.serve_min)
    else:
        close = _val(enc, f"{p}.close_delay")
    return OldTiming(
        kubelet=_val(enc, f"{p}.kubelet"), hook=_val(enc, f"{p}.hook"), close=close,
        drain=_val(enc, f"{p}.drain"), unready_phase=_val(enc, f"{p}.unready.phase"),
        unready_resp=_val(enc, f"{p}.unready.resp"),
        eps_del=_val(enc, f"slice.{p}.del.delay"), eps_unready=_val(enc, f"slice.{p}.unready.delay"),
        proxy_del=_per_node(n_nodes, entry, _val(enc, f"{node}.{p}.del.delay"), _val(enc, f"home.{p}.del")),
        proxy_unready=_per_node(n_nodes, entry, _val(enc, f"{node}.{p}.unready.delay")),
        lb_dereg=_val(enc, f"{p}.lbdereg"), lb_phase=_val(enc, f"{p}.tg.phase"), lb_resp=_val(enc, f"{p}.tg.resp"),
        **_side_timing(enc, p))


def _side_timing(enc: Encoding, p: str) -> dict[str, tuple[float, ...]]:
    """The pod's other containers as the model has them: each one's preStop run time and
    when it exits, as a fraction of the way from its SIGTERM to its SIGKILL."""
    pod = enc.sc.old
    hooks, exits = [], []
    for i in range(len(pod.others)):
        hook = _val(enc, f"{p}.side{i}.hook")
        sigterm = _val(enc, f"{p}.seen") + hook
        kill = sigterm + max(pod.grace - math.floor(hook), 2.0)
        exit_t = _val(enc, f"{p}.side{i}.exit", sigterm)
        hooks.append(hook)
        exits.append(min(max((exit_t - sigterm) / (kill - sigterm), 0.0), 1.0) if kill > sigterm else 0.0)
    return {"side_hook": tuple(hooks), "side_exit": tuple(exits)}


def _other_node(sc: Scenario, not_this: int) -> int:
    return next((i for i in range(sc.nodes) if i != not_this), not_this)



def _observed(enc: Encoding, case: Case, local: bool) -> tuple[NodeEntity | None, int]:
    """The first node entity and the cluster node that plays it: where the entities run
    (Local) or another node (Cluster); a node the pods cannot run on if it is one."""
    sc = enc.sc
    n = sc.nodes
    home = sc.feasible[0]
    node = case.nodes[0] if case.nodes else None
    # the observed node: where the entities run (Local) or another node (Cluster)
    on_node = [p for p in case.pods if node is not None and (p.name, node.name) in case.on_vars
               and _true(enc, case.on_vars[(p.name, node.name)])]
    if node is None:
        entry = _other_node(sc, home)
    elif on_node or local:
        entry = home
    else:
        entry = _other_node(sc, home) if node.feasible else next(
            (i for i in range(n) if i not in sc.feasible), home)
    if node is not None and not node.feasible:
        entry = next((i for i in range(n) if i not in sc.feasible), entry)
    return node, entry


def _controller_delays(enc: Encoding, olds: list[PodEntity], news: list[PodEntity]
                       ) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Controller delays (``ctrl``, ``react``) that put the first new pod's creation where the
    model has it."""
    sc = enc.sc
    ctrl: tuple[float, ...] = (0.0,)
    react: tuple[float, ...] = (0.0,)
    if news and olds:
        created = _val(enc, f"{news[0].name}.created")
        if sc.rollout.strategy is Strategy.RECREATE:
            react = (max(0.0, created - max(_val(enc, f"{p.name}.exit") for p in olds)),)
            ctrl = (0.0, 0.0)
        elif sc.rollout.strategy is Strategy.DRAIN:  # the replacement follows its eviction
            react = (min(max(0.0, created - _val(enc, f"{olds[0].name}.deleted")), enc.bound("controller").hi),)
        else:
            ctrl = (0.0, min(abs(created - _val(enc, f"{olds[0].name}.deleted")), enc.bound("controller").hi))
    return ctrl, react


def _layouts(sc: Scenario, local: bool, entry: int, n_olds: int) -> list[Choices]:
    """The placements tried: Local, the followed old pod (two with ``pair``) on the observed
    node, every other pod elsewhere, so the node can lose its last local endpoint; Cluster,
    spread; then the ``--from`` and drain layouts."""
    n, r = sc.nodes, sc.rollout.replicas
    others = tuple(i for i in range(len(sc.feasible)) if sc.feasible[i] != entry) or (0,)
    home_i = sc.feasible.index(entry) if entry in sc.feasible else 0

    def placements(pair: bool) -> Choices:
        """Local: the followed old pod (two with ``pair``) on the observed node, every other
        pod elsewhere, so the node can lose its last local endpoint. Cluster: spread."""
        deletion = tuple(range(n_olds))
        if not local:
            return Choices(initial=tuple(i % n for i in range(r)), placement=(home_i,), deletion=deletion)
        if len(sc.feasible) == 1:
            return Choices(initial=(0,) * r, placement=(0,), deletion=deletion)
        k = min(2 if pair else 1, r)
        initial = (home_i,) * k + tuple(others[i % len(others)] for i in range(r - k))
        return Choices(initial=initial, placement=others, deletion=deletion)

    layouts = [placements(pair) for pair in ((False, True) if local and r >= 2 else (False,))]
    if local and len(sc.feasible) >= 2:
        # no healthy node: the old pods piled on one node, the new ones elsewhere, so that
        # every node that gets a new pod had none to stay healthy with
        rest = tuple(i for i in range(len(sc.feasible)) if i != home_i)
        layouts.append(Choices(initial=(home_i,) * r, placement=rest, deletion=tuple(range(n_olds))))
        if len(rest) >= 2 and sc.settings.lb.fail_open:  # and a third node with none, which a fail-open reaches
            layouts.append(Choices(initial=(home_i,) * r, placement=rest[:1], deletion=tuple(range(n_olds))))
    if sc.old_placement is not None and r >= 2:
        # --from: the old pods were placed by other rules; piled on one node they leave the
        # others free for new pods that the new caps would keep Pending otherwise
        layouts.append(Choices(initial=(home_i,) * r, placement=others, deletion=tuple(range(n_olds))))
    if sc.drain is not None and sc.drain in sc.feasible:  # every pod on the drained node: the worst case
        d = sc.feasible.index(sc.drain)
        layouts.append(Choices(initial=(d,) * r, placement=tuple(i for i in range(len(sc.feasible)) if i != d) or (0,),
                               deletion=tuple(range(n_olds))))
    if sc.rollout.may_miss:  # every pod elsewhere: the drain evicts nothing
        rest = tuple(i for i in range(len(sc.feasible)) if sc.feasible[i] != sc.drain)
        layouts.append(Choices(initial=tuple(rest[i % len(rest)] for i in range(r)), placement=rest,
                               deletion=tuple(range(n_olds))))
    return layouts


def _no_healthy_runs(sc: Scenario, layouts: list[Choices]) -> Runs:
    """Runs that leave a Local load balancer without a healthy node as long as the bounds
    allow: the first new pod's Ready reaches its node as late as they allow (so its node is
    added late), everything after it as early (so the last old pod goes, and its node fails,
    early); the search then puts each node's checks where they widen the window. When each
    new pod waits for its node's old pod (a DaemonSet without surge), a node is removed only
    if its new pod is slow enough: later pods start after each of a range of delays, their
    Ready as late as the bounds allow."""
    b, n = sc.settings, sc.nodes
    fast = NewTiming(start=b["pod-start"].lo, app=b["app-startup"].lo, eps=b["endpointslice"].lo,
                     proxy=(b["kube-proxy"].lo,) * n)
    first = replace(fast, eps=b["endpointslice"].hi, proxy=(b["kube-proxy"].hi,) * n)
    old = OldTiming(kubelet=b["kubelet"].lo, eps_del=b["endpointslice"].lo, proxy_del=(b["kube-proxy"].lo,) * n)
    base = Timing(ctrl=(b["controller"].lo,), react=(b["controller"].lo,), new=(first,), default_new=fast,
                  default_old=old)
    # a node is removed only if its new pods are slow enough to leave it empty for its checks:
    # every new pod starting after each of a range of delays, its Ready as late as allowed
    lo, hi = b["pod-start"].lo, b["pod-start"].hi
    steps = 40 if sc.rollout.waits_gone else 10
    timings = [base] + [replace(base, new=(), default_new=replace(first, start=lo + (hi - lo) * i / steps))
                        for i in range(steps + 1)]
    return [(ch, t) for ch in layouts for t in timings]


def witnesses(enc: Encoding, local: bool) -> Runs:
    """Complete runs built from the model: entities become the first pods of their kind
    (old ones deleted in the model's order), the first node entity's kube-proxy takes the
    model's delays, the rest keep the defaults or copy the entities' timing."""
    case = enc.entities
    assert isinstance(case, Case)
    sc = enc.sc
    n, r = sc.nodes, sc.rollout.replicas
    node, entry = _observed(enc, case, local)
    nname = node.name if node is not None else "n"
    # the pods the property names come first; representatives ("the last old pod") after
    # them (they may be the same pod: with few replicas only the first ones exist)
    olds = sorted((p for p in case.pods if p.old),
                  key=lambda p: (p.role != "bound", _val(enc, f"{p.name}.deleted")))[:max(r, 1)]
    news = sorted((p for p in case.pods if not p.old), key=lambda p: _val(enc, f"{p.name}.created"))
    old_t = tuple(_old_timing(enc, p.name, nname, n, entry) for p in olds)
    new_t = tuple(_new_timing(enc, p.name, nname, n, entry) for p in news)
    # controller delays that put the first new pod's creation where the model has it
    ctrl, react = _controller_delays(enc, olds, news)
    req = _val(enc, "req.duration")
    out: Runs = []
    base = Timing(request=req)
    for ch in _layouts(sc, local, entry, len(olds)):
        if news and olds:
            out.append((ch, replace(base, ctrl=ctrl, react=react, old=old_t, default_new=new_t[0], new=new_t)))
            out.append((ch, replace(base, ctrl=ctrl, react=react, default_old=old_t[0], old=old_t,
                                    default_new=new_t[0])))
        if olds:
            out.append((ch, replace(base, old=old_t)))
            out.append((ch, replace(base, default_old=old_t[0])))
            out.append((ch, replace(base, default_old=replace(old_t[0], kubelet=0, hook=0), old=old_t,
                                    default_new=new_t[0] if new_t else NewTiming())))
        if news:
            out.append((ch, replace(base, new=new_t, default_new=new_t[0])))
            out.append((ch, replace(base, new=new_t)))
        if not olds and not news:
            out.append((ch, base))
    if local and "NH" in case.env:  # the query asks whether the load balancer finds no node healthy
        out += _no_healthy_runs(sc, _layouts(sc, local, entry, len(olds)))
    return out


def random_timings(sc: Scenario, rng: random.Random, count: int, binding: bool = False, uniform: bool = False
                   ) -> list[tuple[Choices, Timing]]:
    """Extra candidates: random choices and delays at or between their bounds. ``binding``:
    the scheduler also takes a random part of each new pod's ``pod-start`` to bind it (the
    differential tests; the search's own candidates bind at once). ``uniform``: every delay
    uniform within its bound (``model/likelihood.py``), else the bounds' ends are favoured."""
    b = sc.settings
    n, r = sc.nodes, sc.rollout.replicas

    def pick(lo: float, hi: float) -> float:
        if uniform:
            return rng.uniform(lo, hi)
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
            proxy_del=node_delays("kube-proxy"), proxy_unready=node_delays("kube-proxy"),
            lb_dereg=pick(*_lohi(b["lb-deregister"])), lb_phase=rng.random(), lb_resp=pick(0, b.lb.timeout),
            side_hook=tuple(pick(x.hook.lo, x.hook.hi) for x in sc.old.others),
            side_exit=tuple(pick(0.0, 1.0) for _ in sc.old.others))
            for _ in range(r))
        news = tuple(NewTiming(
            start=pick(*_lohi(b["pod-start"])), app=pick(*_lohi(b["app-startup"])),
            startup_phase=rng.random(), ready_phase=rng.random(), liveness_phase=rng.random(),
            eps=pick(*_lohi(b["endpointslice"])), proxy=node_delays("kube-proxy"),
            lb_reg=pick(*_lohi(b["lb-register"])), lb_phase=rng.random(), lb_resp=pick(0, b.lb.timeout))
            for _ in range(r + 2))
        if binding:
            news = tuple(replace(nt, schedule=pick(0.0, nt.start)) for nt in news)
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
