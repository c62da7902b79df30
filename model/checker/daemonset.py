"""DaemonSet controller: RollingUpdate over the feasible nodes, at the level of counts.

Follows ``kubernetes/kubernetes:pkg/controller/daemon/update.go`` (``rollingUpdate``).

Simplifications:
 1. The same counts as the Deployment's (``deployment.py``) over the feasible nodes, one
    pod per node; which node goes next is a free choice. Without surge a node's new pod is
    created once its old pod is gone; with surge its old pod is deleted once the new one is
    available. Unhealthy old pods (deleted at once upstream) do not occur (``deployment.py``
    simplification 1).
"""
from __future__ import annotations

from zdverify.model.checker.deployment import Action, ActionKind
from zdverify.model.rollout import Rollout, RolloutState


def reconcile(rollout: Rollout, s: RolloutState) -> Action | None:
    """DaemonSet RollingUpdate (``pkg/controller/daemon/update.go`` ``rollingUpdate``),
    nodes interchangeable, ``replicas`` = the feasible nodes. Without surge: delete old
    pods while fewer than ``maxUnavailable`` nodes lack an available pod, and create a
    node's new pod once its old pod is gone. With surge: create new pods on up to
    ``maxSurge`` nodes at a time, and delete a node's old pod once its new pod is
    available."""
    f = rollout.replicas
    if rollout.surge == 0:
        free = f - s.old - s.gone_wait - s.new  # nodes with no pod at all
        if free > 0:
            return Action(ActionKind.SCALE_UP, free)
        unavailable_now = f - s.old - s.new_available
        k = min(s.old, rollout.unavailable - unavailable_now)
        return Action(ActionKind.SCALE_DOWN, k) if k > 0 else None
    replaced = s.old + s.new_available - f  # nodes whose new pod is available and old pod still runs
    if replaced > 0:
        return Action(ActionKind.SCALE_DOWN, replaced)
    surging = s.new - s.new_available
    k = min(rollout.surge - surging, f - s.new)
    return Action(ActionKind.SCALE_UP, k) if k > 0 else None
