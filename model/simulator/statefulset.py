"""StatefulSet controller, the simulator's side: RollingUpdate by ordinal.

Follows ``kubernetes/kubernetes:pkg/controller/statefulset/stateful_set_control.go``
``updateStatefulSet``, ``processReplica`` and ``updateStatefulSetAfterInvariantEstablished``.

Simplifications (as ``model/checker/statefulset.py``):
 1. Old pods of ordinal >= partition are deleted, highest first, while fewer than
    maxUnavailable pods are unhealthy (not Running, Ready, available after
    minReadySeconds, or terminating); a replacement (same name) is created once its old
    pod is gone. Pods below the partition keep running, Ready.
 2. With Parallel pod management every gone pod is recreated at once; with OrderedReady
    the sync walks the ordinals upwards and stops at the first unhealthy pod (creating it
    if it is gone). The simulator follows the ordinals (the checker lets any gone pod of
    the batch be recreated next, an over-approximation).
 3. The pods are symmetric but for their placement, so the ordinals follow the chosen
    deletion order (``choices.deletion``).
"""
from __future__ import annotations

import math

from zdverify.model.simulator.kubelet import delete_old
from zdverify.model.simulator.scheduler import create_new
from zdverify.model.simulator.state import SimPod, SimState
from zdverify.model.verdict import EventKind
from zdverify.model.objects import Field

INF = math.inf


def stateful_sync(s: SimState, t: float) -> None:
    """stateful_set_control.go updateStatefulSet: recreate the pods whose old pod is gone
    (Parallel: all of them; OrderedReady: walking the ordinals upwards, stop at the first
    unhealthy pod, creating it if it is gone); then, unless the walk stopped, delete the
    old pods with the highest ordinals >= partition while fewer than maxUnavailable pods
    are unhealthy."""
    if _recreate(s, t):
        return
    unavailable = s.sc.rollout.unavailable
    # unhealthy: deleted pods whose replacement is not available yet (terminating, gone,
    # Pending, starting); the partition's pods stay healthy
    unhealthy = sum(1 for p in s.olds if p.deleted < INF) - sum(1 for q in s.news if q.available <= t)
    todo = [i for i in s.deletion_order if s.olds[i].deleted == INF and s.ordinal[i] >= s.sc.rollout.partition]
    k = min(len(todo), unavailable - unhealthy)
    if k > 0:
        doomed = [s.olds[i] for i in todo[:k]]
        s.step(t, s.ctl, "", EventKind.SCALE_DOWN,
               f"StatefulSet: {unhealthy} pod(s) unhealthy, maxUnavailable {unavailable}; deletes "
               f"{', '.join(p.name for p in doomed)} (highest ordinals not updated)", s.loc_of(Field.UPDATE_STRATEGY))
        for p in doomed:
            delete_old(s, t, p)
        s.trigger(t, "scaled down")


def _recreate(s: SimState, t: float) -> bool:
    """Recreate the gone pods; True if the sync stops here (it created a pod, or the
    OrderedReady walk waits for an ordinal)."""
    if s.sc.rollout.ordered:
        for o in range(s.sc.rollout.replicas):
            q, p = s.recreated.get(o), s.by_ordinal[o]
            if q is None and p.exit <= t:
                _recreate_one(s, t, p)
                s.trigger(t, "scaled up")
                return True  # OrderedReady creates one pod per sync
            if (q.available > t) if q is not None else p.deleted < INF:
                return True  # waits for this ordinal to be Running, Ready and available
        return False
    gone = [p for p in s.olds if p.exit <= t and s.ordinal[p.index] not in s.recreated]
    for p in gone:
        _recreate_one(s, t, p)
    if gone:
        s.trigger(t, "scaled up")
        return True
    return False


def _recreate_one(s: SimState, t: float, p: SimPod) -> None:
    o = s.ordinal[p.index]
    s.step(t, s.ctl, "", EventKind.SCALE_UP,
           f"StatefulSet: {p.name} is gone; creates {s.name}-{o} from the new template",
           s.loc_of(Field.UPDATE_STRATEGY))
    create_new(s, t, label=f"{s.name}-{o}-new")
    s.recreated[o] = s.news[-1]
