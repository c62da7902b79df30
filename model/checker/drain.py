"""``kubectl drain``: evictions from the drained node under the PodDisruptionBudget, and
the owner's replacements, at the level of counts.

Follows ``kubernetes/kubernetes:pkg/controller/disruption/disruption.go`` (an eviction is
allowed while the budget's desiredHealthy Ready pods remain), the ReplicaSet's replacement
of an evicted pod, and ``pkg/controller/statefulset/stateful_set_control.go`` (an evicted
StatefulSet pod is recreated, same name, once it is gone).

Simplifications:
 1. ``old`` counts the pods still on the drained node; the pods on the other nodes keep
    running, Ready (``Rollout.kept``). Available stands for Ready.
 2. The ReplicaSet replaces each evicted pod on another node; there is no surge.
"""
from __future__ import annotations

from zdverify.model.checker.deployment import Action, ActionKind
from zdverify.model.rollout import Rollout, RolloutState


def reconcile(rollout: Rollout, s: RolloutState) -> Action | None:
    """``kubectl drain``: the drained node's pods are evicted while the budget allows
    (``disruption.go``: Ready pods above desiredHealthy; available stands for Ready);
    the ReplicaSet replaces each evicted pod on another node — no surge. ``old`` counts
    the pods still on the drained node; the others keep running. A StatefulSet recreates
    an evicted pod (same name, ``stateful_set_control.go``) only once it is gone."""
    k = rollout.on_drained
    if rollout.same_name:
        free = k - s.old - s.gone_wait - s.new
        if free > 0:
            return Action(ActionKind.SCALE_UP, free)
    elif s.new < k - s.old:
        return Action(ActionKind.SCALE_UP, k - s.old - s.new)
    healthy = (rollout.replicas - k) + s.old + s.new_available
    e = min(s.old, healthy - rollout.desired_healthy)
    return Action(ActionKind.SCALE_DOWN, e) if e > 0 else None
