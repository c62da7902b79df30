"""Deployment controller (+ the ReplicaSet controller it drives), the simulator's side:
RollingUpdate and Recreate syncs, and the ReplicaSet's choice of the old pods to delete.

Follows ``kubernetes/kubernetes:pkg/controller/deployment/rolling.go``
(``reconcileNewReplicaSet``, ``reconcileOldReplicaSets``, ``scaleDownOldReplicaSetsForRollingUpdate``),
``recreate.go``, and ``pkg/controller/controller_utils.go`` ``ActivePodsWithRanks``
(``replica_set.go`` ``getPodsToDelete``).

Simplifications (as ``model/checker/deployment.py``):
 1. One old ReplicaSet (one rollout from a settled state); its pods are all Ready and
    available when the rollout starts.
 2. Each change (rollout start, a pod available, an old pod gone) triggers a reconcile
    after a ``controller`` delay; a reconcile applies ``rolling.go``'s arithmetic to the
    live counts, and the ReplicaSet controller creates/deletes the pods at once.
 3. Which old pods are deleted: for old pods that are all scheduled, Running and Ready for
    a long time, ranking rules 1-3 and 6-7 tie and rule 4 (pod-deletion-cost) is the same
    for every pod of the template; rule 5 decides — pods on nodes with more active pods of
    the Deployment (old and new ReplicaSets) go first. Remaining ties (rule 8 in log2
    buckets, then UID) follow ``choices.deletion``.
 4. New pods, once available, stay available (the application does not fail later).
"""
from __future__ import annotations

import math

from zdverify.model.simulator.kubelet import delete_old
from zdverify.model.simulator.scheduler import create_new
from zdverify.model.simulator.state import SimPod, SimState
from zdverify.model.verdict import EventKind
from zdverify.model.objects import Field

INF = math.inf


def victims(s: SimState, t: float, k: int) -> list[SimPod]:
    """The k old pods the ReplicaSet controller deletes at ``t``: ``ActivePodsWithRanks``
    (controller_utils.go), see simplification 3."""
    alive = [p for p in s.olds if p.deleted == INF]
    per_node = active_per_node(s, t)  # counted once: per pod it would be quadratic in the replicas
    alive.sort(key=lambda p: (-per_node.get(p.node, 0), s.preference[p.index]))
    return alive[:k]


def active_per_node(s: SimState, t: float) -> dict[int, int]:
    """The Deployment's pods per node at ``t`` as rule 5 counts them: old pods not deleted,
    new pods bound there."""
    out: dict[int, int] = {}
    for p in s.olds:
        if p.deleted > t:
            out[p.node] = out.get(p.node, 0) + 1
    for p in s.news:
        if p.created <= t:
            out[p.node] = out.get(p.node, 0) + 1
    return out



def recreate_sync(s: SimState, t: float) -> None:
    """``recreate.go``: scale the old ReplicaSet to 0, and once its pods are gone the new one
    to the replicas."""
    r = s.sc.rollout.replicas
    if s.old_spec > 0:
        k = s.old_spec
        s.old_spec = 0
        s.step(t, s.ctl, "", EventKind.SCALE_DOWN, "Recreate: scales old ReplicaSet to 0",
               s.loc_of(Field.STRATEGY_TYPE))
        for p in victims(s, t, k):
            delete_old(s, t, p)
        s.trigger(t, "scaled down")
    elif any(p.exit > t for p in s.olds):
        pass
    elif s.new_spec < r:
        k = r - s.new_spec
        s.new_spec = r
        s.step(t, s.ctl, "", EventKind.SCALE_UP,
               f"old pods gone: scales new ReplicaSet to {r}", s.loc_of(Field.STRATEGY_TYPE))
        for _ in range(k):
            create_new(s, t)
        s.trigger(t, "scaled up")


def rolling_sync(s: SimState, t: float) -> None:
    """``rolling.go``: scale the new ReplicaSet up within maxSurge, else the old one down
    within maxUnavailable."""
    r = s.sc.rollout.replicas
    surge, unavailable = s.sc.rollout.surge, s.sc.rollout.unavailable
    n_avail = sum(1 for p in s.news if p.available <= t)
    max_total = r + surge
    current = s.old_spec + s.new_spec
    if current < max_total and s.new_spec < r:
        k = min(max_total - current, r - s.new_spec)
        s.new_spec += k
        s.step(t, s.ctl, "", EventKind.SCALE_UP,
               f"scales new ReplicaSet to {s.new_spec} (maxSurge {surge})",
               s.loc_of(Field.MAX_SURGE))
        for _ in range(k):
            create_new(s, t)
        s.trigger(t, "scaled up")
        return
    min_available = r - unavailable
    if s.old_spec > 0 and current - min_available - (s.new_spec - n_avail) > 0:
        available_all = s.old_spec + n_avail
        if available_all > min_available:
            k = min(s.old_spec, available_all - min_available)
            s.old_spec -= k
            s.step(t, s.ctl, "", EventKind.SCALE_DOWN,
                   f"scales old ReplicaSet to {s.old_spec} ({n_avail} new available, maxUnavailable {unavailable})",
                   s.loc_of(Field.MAX_UNAVAILABLE))
            # say why these pods: the ranking counts the Deployment's pods on each node
            per_node = active_per_node(s, t)
            doomed = [(p, per_node.get(p.node, 0)) for p in victims(s, t, k)]
            for p, there in doomed:
                delete_old(s, t, p, f", with {there} of the Deployment's pods: fullest nodes go first"
                           if len(s.feasible) > 1 else "")
            s.trigger(t, "scaled down")
