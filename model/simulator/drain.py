"""``kubectl drain``, the simulator's side: cordon a node, evict its pods within the budget.

Follows ``kubectl drain`` (``staging/src/k8s.io/kubectl/pkg/drain``: an eviction refused by
the PodDisruptionBudget is retried every 5 s) and ``pkg/controller/disruption/disruption.go``
(an eviction is allowed while the Ready pods exceed ``desiredHealthy``).

Simplifications (as ``model/checker/drain.py``):
 1. The drained node's pods are evicted, in the order of ``choices.deletion``, while the
    budget allows; the workload's controller creates each evicted pod's replacement on
    another node after a ``controller`` delay (a StatefulSet's only once the evicted pod is
    gone: the replacement takes its name).
 2. A drain the budget never allows is blocked: the loop gives up after 200 retries
    with nothing left to change.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from zdverify.model.simulator.kubelet import delete_old
from zdverify.model.simulator.scheduler import create_new, schedule_pending
from zdverify.model.simulator.state import SimPod, SimState, cyc
from zdverify.model.verdict import Component, EventKind

INF = math.inf


@dataclass
class _Drain:
    """The replacements the controller has yet to create, and the scheduler's retries."""

    s: SimState
    others: list[int]
    replacements: list[tuple[float, str]] = field(default_factory=list)  # creation times (and names)
    retried: set[int] = field(default_factory=set)  # old pods whose exit let the scheduler retry Pending pods

    def catch_up(self, until: float) -> None:
        """Replacements created and Pending pods retried (a pod gone frees room), in time
        order, up to ``until``."""
        s = self.s
        due = [(when, 0, label, -1) for when, label in self.replacements if when <= until] + [
            (p.exit, 1, "", p.index) for p in s.olds
            if p.exit <= until and p.exit < INF and p.index not in self.retried]
        for when, kind, label, i in sorted(due, key=lambda e: (e[0], e[1])):
            if kind == 0:
                create_new(s, when, label=label, among=self.others)
            else:
                self.retried.add(i)
                schedule_pending(s, when)
        self.replacements = [x for x in self.replacements if x[0] > until]

    def evict(self, t: float, todo: list[SimPod], healthy: int, desired: int) -> None:
        """Evict ``todo`` at ``t`` and plan their replacements."""
        s = self.s
        b = s.sc.settings
        for p in todo:
            delete_old(s, t, p)
            i = len(s.news) + len(self.replacements)
            delay = min(max(cyc(s.timing.react, i), b["controller"].lo), b["controller"].hi)
            if s.sc.rollout.same_name:  # recreated under its name once it is gone
                self.replacements.append((p.exit + delay, p.name.removesuffix("-old") + "-new"))
            else:
                self.replacements.append((t + delay, ""))
        s.step(t, Component.KUBECTL, "", EventKind.SCALE_DOWN,
               f"evicts {', '.join(p.name for p in todo)} ("
               + (f"PodDisruptionBudget allows {healthy - desired})" if s.sc.budget is not None else
                  "no PodDisruptionBudget)"),
               s.sc.budget)


def drain_loop(s: SimState) -> None:
    """``kubectl drain``: cordon, then evict the node's pods, retrying every 5 s while the
    PodDisruptionBudget refuses (``disruption.go``: Ready pods above desiredHealthy);
    the ReplicaSet creates each evicted pod's replacement on another node (a StatefulSet
    once the evicted pod is gone: the replacement takes its name)."""
    n = s.sc.drain
    assert n is not None
    d = _Drain(s, [x for x in s.feasible if x != n] or [n])
    desired = s.sc.rollout.desired_healthy
    s.step(0.0, Component.KUBECTL, "", EventKind.ROLLOUT_START,
           f"drain {s.node_name(n)}: cordons the node and evicts its pods", s.sc.budget)
    t, idle = 0.0, 0
    while True:
        d.catch_up(t)
        todo = sorted((p for p in s.olds if p.node == n and p.deleted == INF), key=lambda p: s.preference[p.index])
        if not todo:
            break
        healthy = sum(1 for p in s.olds if p.deleted == INF) + sum(1 for q in s.news if q.ready <= t)
        k = min(len(todo), healthy - desired)
        if k > 0:
            idle = 0
            d.evict(t, todo[:k], healthy, desired)
        else:
            idle += 1
            gone_later = any(t < p.exit < INF for p in s.olds)
            if idle > 200 and not d.replacements and not gone_later and all(
                    q.ready <= t or q in s.pending for q in s.news):
                return  # the budget never allows it: the drain is blocked
        t += 5.0  # kubectl drain retries an eviction every 5 s
    d.catch_up(INF)
