"""Deployment controller (+ the ReplicaSet controller it drives): RollingUpdate and Recreate.

Follows ``kubernetes/kubernetes:pkg/controller/deployment/rolling.go``
(``reconcileNewReplicaSet``, ``reconcileOldReplicaSets``, ``scaleDownOldReplicaSetsForRollingUpdate``),
``recreate.go`` and ``util/deployment_util.go`` (``ResolveFenceposts``, ``NewRSNewReplicas``).

Simplifications:
 1. One old ReplicaSet (one rollout from a settled state); its pods are all Ready and
    available when the rollout starts.
 2. Each reconcile sees fresh counts (the effects of its previous action); the
    ReplicaSet controller carries out a scale step in the same reaction, so a scaled-down
    old pod is deleted when the old ReplicaSet's spec drops. The reaction delay is the
    ``controller`` bound.
 3. ``cleanupUnhealthyReplicas`` never fires: old pods are healthy (simplification 1).
 4. Which old pod is deleted is a free choice in the count graph (over-approximates the
    ranking rules of ``ActivePodsWithRanks``), so proofs stay sound. Counterexamples are
    replayed by the simulator, which applies the ranking (rule 5, doubled-up nodes first;
    ties free). For Local traffic under required placement rules, ``node_facts`` explores
    the rollout per node with the ranking (``replica_set.go`` ``getPodsToDelete``: rules
    1-4 tie for old pods that are all scheduled, Running and Ready with one template's
    deletion cost; rule 5 ranks by the node's active pods of the Deployment, old and new
    ReplicaSets; later rules are free) and the scheduler's filters, scheduling each new pod
    at any moment after its creation.
 5. New pods, once available, stay available (the application does not fail later).
 6. ``progressDeadlineSeconds`` only sets a condition upstream; it does not change the
    rollout and is not modelled.

The count graph these syncs drive is ``graph.py``; the per-node exploration of simplification
4 is ``node_exploration.py``. Below the syncs: the rollout's relations between the pods a
query names (the first new pod, the old pod deleted last), as Z3 constraints.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import z3

from zdverify.model.checker import kubelet
from zdverify.model.checker.entities import Case, PodEntity
from zdverify.model.objects import Field, Strategy
from zdverify.model.verdict import Fact
from zdverify.model.rollout import Rollout, RolloutState


class ActionKind(Enum):
    SCALE_UP = "scale-up"  # new ReplicaSet +k: k pods created
    SCALE_DOWN = "scale-down"  # old ReplicaSet -k: k old pods deleted
    AVAILABLE = "available"  # one new pod becomes available (timed, not a controller action)
    GONE = "gone"  # Recreate: the deleted old pods have all terminated


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    count: int = 1


def reconcile(rollout: Rollout, s: RolloutState) -> Action | None:
    """One Deployment sync (RollingUpdate or Recreate): the controller action taken in state
    ``s``, if any."""
    if rollout.strategy is Strategy.RECREATE:
        if s.old > 0:
            return Action(ActionKind.SCALE_DOWN, s.old)
        if s.old_terminating:
            return None  # waits until the old pods are gone
        if s.new < rollout.replicas:
            return Action(ActionKind.SCALE_UP, rollout.replicas - s.new)
        return None
    r = rollout.replicas
    max_total = r + rollout.surge
    current = s.old + s.new
    if current < max_total and s.new < r:
        return Action(ActionKind.SCALE_UP, min(max_total - current, r - s.new))
    min_available = r - rollout.unavailable
    new_unavailable = s.new - s.new_available
    max_scaled_down = current - min_available - new_unavailable
    if max_scaled_down <= 0 or s.old == 0:
        return None
    available_all = s.old + s.new_available
    if available_all <= min_available:
        return None
    return Action(ActionKind.SCALE_DOWN, min(s.old, available_all - min_available))


# ---------------------------------------------------------------------------------------
# The rollout's relations between the pods a query names (Z3)
# ---------------------------------------------------------------------------------------


def first_new_pod(case: Case, created: z3.ArithRef, olds: list[PodEntity], last: PodEntity | None) -> None:
    """The rollout's first new pod (created at ``created``), relative to every old pod's
    deletion: Recreate creates it once the old pods have exited (within a sync of the last
    one's exit); a RollingUpdate with surge creates it before any deletion, without surge
    within a sync of the first. No bound via another pod when a node's (an ordinal's) new
    pod waits for its own old pod's exit."""
    enc, sc = case.enc, case.sc
    ctrl = enc.bound("controller").hi
    for o in olds:
        oz = o.z
        assert isinstance(oz, kubelet.OldPod)
        if sc.rollout.waits_gone:
            continue  # a node's (an ordinal's) new pod waits for its own old pod's exit: no bound via another pod
        if sc.rollout.strategy is Strategy.RECREATE:
            enc.add(created >= oz.exit)
            if o is last:
                enc.add(created <= oz.exit + ctrl)
        elif sc.rollout.surge >= 1:
            enc.add(created <= oz.deleted)
        else:
            enc.add(created <= oz.deleted + ctrl)


def last_old_pod(case: Case, last: PodEntity, olds: list[PodEntity]) -> None:
    """The old pod deleted last: no old pod is deleted after it (Recreate deletes them all
    at once, and it exits last)."""
    enc, sc = case.enc, case.sc
    lz = last.z
    assert isinstance(lz, kubelet.OldPod)
    for o in olds:
        oz = o.z
        assert isinstance(oz, kubelet.OldPod)
        if o is not last:
            if sc.rollout.strategy is Strategy.RECREATE:
                enc.add(oz.deleted == lz.deleted, oz.exit <= lz.exit)
            else:
                enc.add(oz.deleted <= lz.deleted)


def available_before_last(case: Case, p: PodEntity, last: PodEntity) -> None:
    """A new pod Ready before the last old pod's deletion. A RollingUpdate (or a
    DaemonSet's) deletes an old pod only while old pods plus available new ones stay above
    ``replicas - maxUnavailable``: with that floor at 1 or more, the last deletion waits for
    a new pod Ready for ``minReadySeconds`` (``rolling.go``). A StatefulSet deletes the next
    pod only once the recreated ones are Ready, a drain evicts only while the budget keeps
    ``desiredHealthy`` Ready pods: the last deletion waits for a Ready new pod (when the
    pods it keeps are not old ones that are never deleted — then the last old pod is never
    deleted either). The caller checks the floor."""
    pz, lz = p.z, last.z
    assert isinstance(pz, kubelet.NewPod) and isinstance(lz, kubelet.OldPod)
    counted = case.sc.min_ready if case.sc.rollout.strategy in (Strategy.ROLLING_UPDATE, Strategy.DAEMON_SET) else 0
    case.enc.add(pz.ready <= lz.deleted)
    if counted:
        case.enc.hold(Fact("minReadySeconds", f"minReadySeconds: {counted:g}",
                           case.sc.pair.workload.loc_of(Field.MIN_READY_SECONDS)), pz.ready + counted <= lz.deleted)


def never_deleted(case: Case, olds: list[PodEntity]) -> None:
    """The controllers never delete a pod (the graph has no deletion: a blocked drain, a
    paused rollout): every old pod is still undeleted at t."""
    if not case.gf.deletes:
        for p in olds:
            assert isinstance(p.z, kubelet.OldPod)
            case.enc.add(p.z.deleted > case.t)
