"""The rollout a workload asks for, neutral to both halves: the resolved strategy
(``Rollout``) and the controller-level counts (``RolloutState``).

``model/scenario.py`` builds a ``Rollout`` from the manifests; the checker explores its
count graph (``model/checker/graph.py``, the controllers' syncs in
``model/checker/deployment.py``, ``daemonset.py``, ``statefulset.py``, ``drain.py``) and the
simulator runs it pod by pod. This module holds only the record and what both sides read
off it.

Follows ``kubernetes/kubernetes:pkg/controller/deployment/util/deployment_util.go``
(``ResolveFenceposts``, ``NewRSNewReplicas``).
"""
from __future__ import annotations

from dataclasses import dataclass

from zdverify.model.objects import Strategy, scaled

__all__ = ["Rollout", "RolloutState", "resolve_fenceposts", "scaled"]


def resolve_fenceposts(max_surge: int | str, max_unavailable: int | str, replicas: int) -> tuple[int, int]:
    """``ResolveFenceposts``: surge rounds up, unavailable rounds down; 0/0 becomes 0/1.

    ``MaxUnavailable`` caps unavailability at ``replicas``.
    """
    surge = scaled(max_surge, replicas, True)
    unavailable = scaled(max_unavailable, replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, min(unavailable, replicas)


@dataclass(frozen=True, order=True)
class RolloutState:
    """Controller-level configuration, canonical under pod and node symmetry.

    Pods of one ReplicaSet are interchangeable and nodes carry no identity here, so the
    state is a tuple of counts: old RS spec (= non-terminating old pods), new RS spec,
    new pods available, and for Recreate whether deleted old pods may still be running.
    """

    old: int
    new: int
    new_available: int
    old_terminating: bool = False
    gone_wait: int = 0  # DaemonSet without surge: nodes whose deleted old pod still runs


@dataclass(frozen=True)
class Rollout:
    """What the controller is asked to do: the resolved strategy of one Deployment."""

    replicas: int
    strategy: Strategy
    surge: int
    unavailable: int
    on_drained: int = 0  # drain: how many of the pods run on the drained node (0: any number)
    desired_healthy: int = 0  # drain: the PodDisruptionBudget's floor of Ready pods
    partition: int = 0  # StatefulSet: pods below this ordinal are not updated
    # pods (old and new, terminating ones until gone) that fit on the nodes at once: required
    # pod anti-affinity, node room (scheduler.Placement.slots); 0: no limit
    slots: int = 0
    node_cap: int = 0  # drain: the most pods the drained node can hold (0: no limit)
    # drain: the scheduler may have placed every pod elsewhere, so the drain evicts nothing
    may_miss: bool = False
    ordered: bool = False  # StatefulSet: podManagementPolicy OrderedReady (one creation at a time)
    same_name: bool = False  # drain of a StatefulSet: an evicted pod is recreated (same name) once gone

    @property
    def moving(self) -> int:
        """How many pods the rollout replaces (the others keep running, Ready). A drain over
        any count of pods on the node replaces at most as many as the node holds."""
        if self.strategy is Strategy.DRAIN:
            return self.on_drained or min(self.replicas, self.node_cap or self.replicas)
        return self.replicas - self.partition

    @property
    def kept(self) -> int:
        """Pods that run, Ready, throughout: a drain's pods on other nodes, a StatefulSet's
        ordinals below the partition."""
        return self.replicas - self.moving

    @property
    def initial(self) -> RolloutState:
        return RolloutState(self.moving, 0, 0)

    @property
    def final(self) -> RolloutState:
        return RolloutState(0, self.moving, self.moving)

    @property
    def waits_gone(self) -> bool:
        """Is a deleted old pod's replacement created only once it is gone? (DaemonSet without
        surge, StatefulSet and its drain: a node or an ordinal holds one pod at a time.)"""
        return self.strategy is Strategy.STATEFUL_SET or (self.strategy is Strategy.DAEMON_SET and self.surge == 0) \
            or (self.strategy is Strategy.DRAIN and self.same_name)
