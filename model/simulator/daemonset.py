"""DaemonSet controller, the simulator's side: RollingUpdate, one pod per feasible node.

Follows ``kubernetes/kubernetes:pkg/controller/daemon/update.go`` ``rollingUpdate``.

Simplifications (as ``model/checker/daemonset.py``):
 1. The same counts as the Deployment's over the feasible nodes, one pod per node. Without
    surge a node's new pod is created once its old pod is gone; with surge its old pod is
    deleted once the new one is available.
 2. Which node goes next follows ``choices.deletion`` (a free choice in the checker).
 3. Unhealthy old pods (deleted at once upstream) do not occur: the old pods are all Ready
    and available when the rollout starts.
"""
from __future__ import annotations

import math

from zdverify.model.simulator.kubelet import delete_old
from zdverify.model.simulator.scheduler import create_new
from zdverify.model.simulator.state import SimState
from zdverify.model.verdict import EventKind
from zdverify.model.objects import Field

INF = math.inf


def daemon_sync(s: SimState, t: float) -> None:
    """update.go rollingUpdate, one pod per feasible node (see checker/daemonset.reconcile)."""
    if s.sc.rollout.surge == 0:
        _without_surge(s, t)
    else:
        _with_surge(s, t)


def _without_surge(s: SimState, t: float) -> None:
    """Create the new pods on the nodes whose old pod is gone, else delete old pods within
    maxUnavailable."""
    unavailable, r = s.sc.rollout.unavailable, s.sc.rollout.replicas
    running_old = [p for p in s.olds if p.deleted == INF]
    n_avail = sum(1 for p in s.news if p.available <= t)
    src = s.loc_of(Field.UPDATE_ROLLING_UPDATE)
    taken = {p.node for p in s.olds if p.exit > t} | {q.node for q in s.news}
    free = [n for n in s.feasible if n not in taken]
    if free:
        s.step(t, s.ctl, "", EventKind.SCALE_UP,
               f"DaemonSet: creates new pods on {', '.join(s.node_name(n) for n in free)} (old pods gone)", src)
        for n in free:
            create_new(s, t, n)
        s.trigger(t, "scaled up")
        return
    k = min(len(running_old), unavailable - (r - len(running_old) - n_avail))
    if k > 0:
        victims_ = sorted(running_old, key=lambda p: s.preference[p.index])[:k]
        s.step(t, s.ctl, "", EventKind.SCALE_DOWN,
               f"DaemonSet: deletes {k} old pod{'s' if k > 1 else ''} (maxUnavailable {unavailable})", src)
        for p in victims_:
            delete_old(s, t, p)
        s.trigger(t, "scaled down")


def _with_surge(s: SimState, t: float) -> None:
    """Delete the old pods whose node's new pod is available, else surge new pods."""
    surge = s.sc.rollout.surge
    running_old = [p for p in s.olds if p.deleted == INF]
    src = s.loc_of(Field.UPDATE_ROLLING_UPDATE)
    replaced = [p for p in running_old if any(q.node == p.node and q.available <= t for q in s.news)]
    if replaced:
        s.step(t, s.ctl, "", EventKind.SCALE_DOWN,
               f"DaemonSet: deletes the old pod on {', '.join(s.node_name(p.node) for p in replaced)} "
               "(its new pod is available)", src)
        for p in replaced:
            delete_old(s, t, p)
        s.trigger(t, "scaled down")
        return
    surging = sum(1 for q in s.news if q.available > t)
    with_new = {q.node for q in s.news}
    todo = [p.node for p in sorted(running_old, key=lambda p: s.preference[p.index]) if p.node not in with_new]
    k = min(surge - surging, len(todo))
    if k > 0:
        s.step(t, s.ctl, "", EventKind.SCALE_UP,
               f"DaemonSet: surges new pods on {', '.join(s.node_name(n) for n in todo[:k])} (maxSurge {surge})",
               src)
        for n in todo[:k]:
            create_new(s, t, n)
        s.trigger(t, "scaled up")
