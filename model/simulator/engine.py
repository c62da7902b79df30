"""An independent, plain discrete-event simulator of one rollout.

The checker decides timing with Z3; this package shares none of that encoding. Given a
scenario, the discrete choices (placement, deletion order) and every delay as a number,
it runs the controllers forward in time, computes what each node's kube-proxy and the
load balancer did, and scans the resulting timeline for violations. Every counterexample
is replayed here before it is printed, and the differential tests compare the two.

This module holds the event loop: it pops the typed queue entries of the run's shared
state (``state.SimState``: ``Sync``, ``Bind``, ``SchedulerRetry``, ordered by time and
sequence number) and dispatches each to the component it concerns, then assembles the
timeline. Each component module (``deployment``, ``daemonset``, ``statefulset``, ``drain``,
``scheduler``, ``kubelet``, ``application``, ``endpointslice``, ``kube_proxy``,
``load_balancer``: the same names as in ``model/checker/``) lists its simplifications and
the upstream source it follows.

Semantics (the same facts the checker encodes, written out independently):
 1. Controller: each change (rollout start, a pod available, an old pod gone) triggers a
    reconcile after a ``controller`` delay; a reconcile applies ``rolling.go``'s arithmetic
    to the live counts and creates/deletes pods at once (``deployment``).
 1a. Scheduler: a new pod is bound to a node when it is created, or after a ``schedule``
    delay that is part of its ``pod-start`` delay, by the filters as they are then
    (``scheduler``).
 2. EndpointSlice and kube-proxy are FIFO (``endpointslice``, ``kube_proxy``).
 3. A request entering node n at time t uses n's programmed set at t (``kube_proxy``).
 4. Local load balancing: per-node health checks (``load_balancer``).
 5. A liveness/startup kill before the application listens restarts the container; the
    simulator treats such a pod as never ready again (``kubelet``).
"""
from __future__ import annotations

import heapq
import math

from zdverify.model.run import Choices, Timing
from zdverify.model.scenario import Entry, Scenario
from zdverify.model.simulator import (
    daemonset,
    deployment,
    drain,
    endpointslice,
    kube_proxy,
    load_balancer,
    scheduler,
    statefulset,
)
from zdverify.model.simulator.endpointslice import EndpointChange
from zdverify.model.simulator.properties import PodLife, Timeline
from zdverify.model.simulator.run import Run, Violation
from zdverify.model.simulator.state import Bind, SchedulerRetry, SimPod, SimState
from zdverify.model.verdict import EventKind
from zdverify.model.objects import Field

__all__ = ["Run", "Violation", "simulate"]  # Run and Violation: the run's vocabulary, for search and explain

INF = math.inf


def simulate(sc: Scenario, choices: Choices, timing: Timing, trace: bool = True, focus: str = "") -> Run:
    """The run these choices and delays make. ``trace=False``: without the trace's steps
    (the timeline and every verdict are the same; a search checks candidates so, then
    simulates the one it prints again with them). ``focus``: a node name — of the per-node
    components' steps (kube-proxy, load balancer) only that node's are kept, the only ones a
    printed trace shows (1,000 nodes: a million steps otherwise)."""
    run = Run(node_names=tuple(sc.node_name(i) for i in range(sc.nodes)), drain=sc.drain is not None)
    s = SimState(sc, choices, timing, run, trace=trace, focus=focus)
    scheduler.place_old(s)
    _start(s)
    if sc.drain is not None:
        drain.drain_loop(s)
        s.queue.clear()
    while s.queue:
        t, _, event = heapq.heappop(s.queue)
        if isinstance(event, Bind):
            scheduler.bind(s, event.pod, t)
        elif isinstance(event, SchedulerRetry):
            scheduler.schedule_pending(s, t)
        elif s.daemon:
            daemonset.daemon_sync(s, t)
        elif s.stateful:
            statefulset.stateful_sync(s, t)
        elif s.recreate:
            deployment.recreate_sync(s, t)
        else:
            deployment.rolling_sync(s, t)
    all_pods = s.olds + s.news
    run.pod_nodes = {p.name: p.node for p in all_pods}
    _completion(s)
    applied, slice_of = _propagate(s, all_pods)
    if s.ip:
        load_balancer.targets(s, all_pods, slice_of)
    horizon = _horizon(s, all_pods, applied)
    lb_changes: list[list[tuple[float, bool]]] = [[(-INF, True)] for _ in range(sc.nodes)]
    if any(e.kind is Entry.LOAD_BALANCER and e.local for e in sc.entries):
        lb_changes = load_balancer.health_checks(s, applied, horizon)
    run.timeline = _timeline(s, all_pods, applied, lb_changes, horizon)
    run.steps.sort(key=lambda x: x.t)
    return run


def _start(s: SimState) -> None:
    """Deletion order, StatefulSet ordinals, and the rollout's first sync."""
    sc, r, name = s.sc, s.sc.rollout.replicas, s.name
    s.deletion_order = list(dict.fromkeys([i for i in s.choices.deletion if i < r] + list(range(r))))
    if s.stateful:
        # upstream deletes the highest ordinal first; the pods are symmetric but for their
        # placement, so the ordinals follow the chosen deletion order, and the last
        # ``partition`` of them (ordinals below the partition) are never updated
        for rank, i in enumerate(s.deletion_order):
            s.ordinal[i] = r - 1 - rank
            s.olds[i].name = f"{name}-{r - 1 - rank}-old"
    elif sc.rollout.same_name:  # a StatefulSet's drain: its pods keep their ordinals
        for i, p in enumerate(s.olds):
            p.name = f"{name}-{i}-old"
    if s.preferences:
        s.run.placements += [(p.name, p.node, [(q.name, q.node) for q in s.olds[:i]]) for i, p in enumerate(s.olds)]
    if sc.drain is not None:
        pass  # the drain loop acts instead of the Deployment controller
    elif sc.paused:
        s.step(0.0, s.ctl, "", EventKind.ROLLOUT_START,
               "template changed, but spec.paused is true: no new ReplicaSet is scaled", s.loc_of(Field.PAUSED))
    else:
        s.step(0.0, s.ctl, "", EventKind.ROLLOUT_START, "template changed: rollout starts")
        s.trigger(0.0, "rollout start")
    s.old_spec = r
    s.new_spec = 0
    s.preference = {i: rank for rank, i in enumerate(s.deletion_order)}
    s.by_ordinal = {o: s.olds[i] for i, o in s.ordinal.items()}


def _completion(s: SimState) -> None:
    sc, run, olds, news, r = s.sc, s.run, s.olds, s.news, s.sc.rollout.replicas
    run.completed = (not sc.paused and s.old_spec == 0 and s.new_spec == r
                     and all(p.available < INF for p in news))
    if s.daemon or s.stateful:
        moving = [p for p in olds if not s.stateful or s.ordinal[p.index] >= sc.rollout.partition]
        run.completed = (all(p.deleted < INF for p in moving) and len(news) == len(moving)
                         and all(p.available < INF for p in news))
    if sc.drain is not None:
        run.completed = (all(p.deleted < INF for p in olds if p.node == sc.drain)
                         and len(news) == sum(1 for p in olds if p.node == sc.drain)
                         and all(p.available < INF for p in news))
    if run.completed:
        done = max([p.available for p in news] + [p.exit for p in olds if p.exit < INF] + [0.0])
        s.step(done, s.ctl, "", EventKind.ROLLOUT_COMPLETE, "rollout complete")


Applied = list[list[tuple[float, SimPod, EndpointChange]]]  # per node: (instant, pod, change), in order


def _propagate(s: SimState, all_pods: list[SimPod]) -> tuple[Applied, dict[tuple[str, EndpointChange], float]]:
    """The pod changes through the EndpointSlice (FIFO) and every node's kube-proxy (FIFO)."""
    writer = endpointslice.SliceWriter(s)
    proxies = kube_proxy.Proxies(s)
    for change in endpointslice.changes(s, all_pods):
        slice_t = writer.write(change)
        proxies.apply(slice_t, change)
    return proxies.applied, writer.slice_of


def _horizon(s: SimState, all_pods: list[SimPod], applied: Applied) -> float:
    """The last change point, plus time for the load balancer to settle."""
    times = {0.0}
    for p in all_pods:
        for x in (p.listen, p.close, p.killed, p.exit, p.sigkill):
            if -INF < x < INF:
                times.add(x)
    for history in {id(h): h for h in applied}.values():  # nodes with equal delays share one
        times.update(a for (a, _, _) in history if a < INF)
    lb = s.sc.settings.lb
    return max(times) + lb.gap * (max(lb.unhealthy, lb.healthy) + 2) + lb.timeout + 1.0


def _timeline(s: SimState, all_pods: list[SimPod], applied: Applied,
              lb_changes: list[list[tuple[float, bool]]], horizon: float) -> Timeline:
    """The timeline the properties are evaluated on (see properties)."""
    sc, b = s.sc, s.sc.settings
    index = {id(p): i for i, p in enumerate(all_pods)}
    req = min(max(s.timing.request, b["request"].lo), b["request"].hi)
    return Timeline(
        pods=tuple(PodLife(p.name, p.old, p.node, p.created if not p.old else -INF,
                           p.listen if not p.old else -INF, p.ready if not p.old else -INF,
                           p.killed, p.deleted, p.sigterm, p.close, p.unready if p.old else p.killed,
                           p.exit, p.sigkill, p.tg_in if not p.old else -INF, p.tg_out) for p in all_pods),
        applied=_shared(applied, index),
        lb=tuple(tuple(x) for x in lb_changes),
        zones=tuple(sc.node_zone(n) for n in range(sc.nodes)),
        entries=sc.entries, fallback=sc.fallback, request=req, horizon=horizon, completed=s.run.completed,
        fail_open=b.lb.fail_open, keep_alive=b.keep_alive)


def _shared(applied: Applied, index: dict[int, int]) -> tuple[tuple[tuple[float, int, EndpointChange], ...], ...]:
    """Each node's applied changes with pod indices; nodes that share a history (equal
    kube-proxy delays) share one tuple."""
    done: dict[int, tuple[tuple[float, int, EndpointChange], ...]] = {}
    for h in applied:
        if id(h) not in done:
            done[id(h)] = tuple((a, index[id(p)], ch) for (a, p, ch) in h)
    return tuple(done[id(h)] for h in applied)
