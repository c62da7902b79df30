"""Scheduler, the simulator's side: where each pod goes, and when.

Follows the scheduler's filter plugins (``pkg/scheduler/framework/plugins``) through the
placement rules ``model/scheduler.py`` states for both sides (``Placement.room``).

Simplifications:
 1. A new pod is bound to a node when it is created, or after a ``schedule`` delay that is
    part of its ``pod-start`` delay, by the filters as they are then; until it is bound it
    is on no node (the ReplicaSet's ranking does not count it anywhere).
 2. The choices index the nodes where the scheduler may put the workload's pods: the pod
    goes to the first node from the chosen one on with room under the required rules; with
    none it is Pending, and the scheduler retries the Pending pods in creation order when a
    pod is gone.
 3. Old pods were placed by the rules of the template they run (``--from``); if those could
    not have placed them all, by the new ones (``scenario.build_scenario`` checks that these
    fit). A DaemonSet's pods go one per feasible node.
"""
from __future__ import annotations

import math
from typing import Sequence

from zdverify.model.scheduler import Placed, Placement
from zdverify.model.simulator import kubelet
from zdverify.model.simulator.state import SimPod, SimState, cyc
from zdverify.model.verdict import Component, EventKind

INF = math.inf


def placed(s: SimState, t: float) -> list[Placed]:
    """The workload's pods on nodes at ``t`` as the scheduler sees them: old pods until
    they are gone, new pods once scheduled."""
    return ([Placed(p.node, False, p.deleted <= t) for p in s.olds if p.exit > t]
            + [Placed(q.node, True, False) for q in s.news if q.node >= 0])


def place(s: SimState, choice: int, t: float = 0.0, new: bool = True, among: Sequence[int] | None = None,
          by: Placement | None = None) -> int:
    """Choices index the nodes where the scheduler may put this workload's pods; the
    first node from there on with room under the required rules (-1: none, Pending).
    ``by``: other rules (the old template's, with --from) and the nodes they allow."""
    rules_ = by if by is not None else s.rules
    nodes = list(among if among is not None else by.feasible if by is not None else s.feasible)
    if not nodes:
        return -1
    k = int(choice) % len(nodes)
    if s.daemon or not (rules_.limited or rules_.spread):  # no rule can refuse a node
        return nodes[k]
    here = placed(s, t)
    return next((n for n in nodes[k:] + nodes[:k] if rules_.room(n, new, here)), -1)


def place_old(s: SimState) -> None:
    """The old pods in their steady state, placed one by one."""
    sc = s.sc
    for i in range(sc.rollout.replicas):
        choice = s.choices.initial[i] if i < len(s.choices.initial) else i
        # old pods were placed by the old template's rules (--from); if those could not have
        # placed them all, by the new ones (build_scenario checks that these fit)
        if s.daemon:
            node = s.feasible[i % len(s.feasible)]
        else:
            node = place(s, choice, -INF, False, by=sc.old_placement) if sc.old_placement is not None else -1
            node = node if node >= 0 else place(s, choice, -INF, False)
        s.olds.append(SimPod(f"{s.name}-old-{i + 1}", True, i, node))
    assert all(p.node >= 0 for p in s.olds), "scenario.build_scenario checks that the old pods fit"


def _choice(s: SimState, i: int) -> int:
    return cyc(s.choices.placement, i) if s.choices.placement else 0


def create_new(s: SimState, t: float, on: int | None = None, label: str = "",
               among: Sequence[int] | None = None) -> None:
    """The workload's controller creates a new pod at ``t``; the scheduler binds it at once
    (on ``on``, else by the filters, ``among`` these nodes), or later."""
    i = len(s.news)
    bpod = s.sc.settings["pod-start"]
    later = min(max(s.timing.new_at(i).schedule, 0.0), bpod.hi) if on is None and among is None else 0.0
    if later > 0:  # the scheduler binds it later, by the filters as they are then
        p = SimPod(label or f"{s.name}-new-{i + 1}", False, i, -1, created=t)
        p.start = p.listen = p.started = p.ready = p.available = p.tg_in = INF
        s.news.append(p)
        s.step(t, s.podctl, p.name, EventKind.POD_CREATED, f"creates {p.name}", pod=p.name)
        s.bind_later(t + later, p)
        return
    node = on if on is not None else place(s, _choice(s, i), t, True, among)
    if on is not None and s.rules.limited and not s.rules.room(on, True, placed(s, t)):
        node = -1  # a DaemonSet's pod for ``on``, whose old pod still holds the place: Pending
    p = SimPod(label or f"{s.name}-new-{i + 1}", False, i, node, created=t)
    s.news.append(p)
    if node < 0:
        p.start = p.listen = p.started = p.ready = p.available = p.tg_in = INF  # nothing until scheduled
        s.pending.append(p)
        s.step(t, s.podctl, p.name, EventKind.POD_CREATED,
               f"creates {p.name}; Pending: no feasible node has room ({s.rules.why()})", s.rules.loc, pod=p.name)
        return
    _record(s, p, t)
    kubelet.start_new(s, p, t, f"creates {p.name}; scheduled on {s.node_name(node)}")


def bind(s: SimState, p: SimPod, t: float) -> None:
    """The scheduler's binding of a pod it took its time over (``NewTiming.schedule``)."""
    n = place(s, _choice(s, p.index), t, True)
    if n < 0:
        s.pending.append(p)
        s.step(t, Component.SCHEDULER, "", EventKind.POD_PENDING,
               f"cannot schedule {p.name}: Pending, no feasible node has room ({s.rules.why()})", s.rules.loc,
               pod=p.name)
        return
    p.node = n
    s.step(t, Component.SCHEDULER, s.node_name(n), EventKind.POD_SCHEDULED,
           f"schedules {p.name} on {s.node_name(n)}", s.rules.loc, pod=p.name)
    _record(s, p, t)
    kubelet.start_new(s, p, t, "", since=p.created)


def schedule_pending(s: SimState, t: float) -> None:
    """The scheduler retries Pending pods when a pod is gone (FIFO)."""
    sc = s.sc
    if s.daemon:
        return  # a DaemonSet's Pending pod waits for its own node, whose old pod (surge) is never deleted first
    for p in list(s.pending):
        n = place(s, _choice(s, p.index), t, True,
                  [x for x in s.feasible if x != sc.drain] if sc.drain is not None else None)
        if n < 0:
            break
        s.pending.remove(p)
        p.node = n
        s.step(t, Component.SCHEDULER, s.node_name(n), EventKind.POD_SCHEDULED,
               f"schedules {p.name} on {s.node_name(n)} (room freed)", s.rules.loc, pod=p.name)
        _record(s, p, t)
        kubelet.start_new(s, p, t, "")


def _record(s: SimState, p: SimPod, t: float) -> None:
    """The pod's scheduling, with the workload's pods then on nodes (for what preferred rules
    say about the printed run: only when the template has some)."""
    if not s.preferences:
        return
    s.run.placements.append((p.name, p.node, [(q.name, q.node) for q in s.olds if q.exit > t]
                             + [(q.name, q.node) for q in s.news if q.node >= 0 and q is not p]))
