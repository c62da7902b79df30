"""StatefulSet controller: RollingUpdate by ordinals, at the level of counts.

Follows ``kubernetes/kubernetes:pkg/controller/statefulset/stateful_set_control.go``
(``updateStatefulSet``, ``processReplica`` and ``updateStatefulSetAfterInvariantEstablished``).

Simplifications:
 1. Old pods of ordinal >= partition are deleted, highest first, while fewer than
    maxUnavailable pods are unhealthy (not Running, Ready, available after minReadySeconds,
    or terminating); a replacement (same name) is created once its old pod is gone.
    maxUnavailable is 1 unless the MaxUnavailableStatefulSet gate is on (beta, on from 1.35).
 2. With Parallel pod management every gone pod is recreated at once; with OrderedReady the
    sync walks the ordinals upwards and stops at the first unhealthy pod (creating it if it
    is gone), so a batch is deleted only when every pod is healthy and is recreated one pod
    at a time, each once the previous one is available. The count graph lets any gone pod
    of the batch be recreated next (the exact ordinal order is a subset of those steps: an
    over-approximation, sound for proofs); the simulator follows the ordinals.
 3. Pods below the partition keep running, Ready.
"""
from __future__ import annotations

from zdverify.model.checker.deployment import Action, ActionKind
from zdverify.model.rollout import Rollout, RolloutState


def reconcile(rollout: Rollout, s: RolloutState) -> Action | None:
    """StatefulSet RollingUpdate: recreate deleted pods once they are gone; delete old pods
    (of ordinal >= partition) while fewer than ``unavailable`` pods are unhealthy. With
    OrderedReady, a gone pod is recreated only when every recreated pod is available (the
    ordinal walk stops at the first unhealthy pod), one per sync, and deletion waits
    until no pod is unhealthy."""
    f = rollout.moving
    free = f - s.old - s.gone_wait - s.new  # ordinals whose old pod is gone, not yet recreated
    unhealthy = f - s.old - s.new_available  # terminating, gone, Pending or starting
    if rollout.ordered:
        if free > 0 and s.new == s.new_available:
            return Action(ActionKind.SCALE_UP, 1)
        if unhealthy > 0:
            return None
    elif free > 0:
        return Action(ActionKind.SCALE_UP, free)
    k = min(s.old, rollout.unavailable - unhealthy)
    return Action(ActionKind.SCALE_DOWN, k) if k > 0 else None
