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
 7. DaemonSets (``pkg/controller/daemon/update.go``): the same counts over the feasible
    nodes, one pod per node; which node goes next is a free choice. Without surge a node's
    new pod is created once its old pod is gone; with surge its old pod is deleted once
    the new one is available. Unhealthy old pods (deleted at once upstream) do not occur
    (simplification 1).
 8. StatefulSets (``pkg/controller/statefulset/stateful_set_control.go`` ``updateStatefulSet``,
    ``processReplica`` and ``updateStatefulSetAfterInvariantEstablished``): old pods of
    ordinal >= partition are deleted, highest first, while fewer than maxUnavailable pods are
    unhealthy (not Running, Ready, available after minReadySeconds, or terminating); a
    replacement (same name) is created once its old pod is gone. maxUnavailable is 1 unless
    the MaxUnavailableStatefulSet gate is on (beta, on from 1.35). With Parallel pod
    management every gone pod is recreated at once; with OrderedReady the sync walks the
    ordinals upwards and stops at the first unhealthy pod (creating it if it is gone), so a
    batch is deleted only when every pod is healthy and is recreated one pod at a time, each
    once the previous one is available. The count graph lets any gone pod of the batch be
    recreated next (the exact ordinal order is a subset of those steps: an
    over-approximation, sound for proofs); the simulator follows the ordinals. Pods below the
    partition keep running, Ready.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from typing import Callable

import networkx as nx

from zdverify.model.objects import Strategy, scaled
from zdverify.model.scheduler import Placed, Placement


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


class ActionKind(Enum):
    SCALE_UP = "scale-up"  # new ReplicaSet +k: k pods created
    SCALE_DOWN = "scale-down"  # old ReplicaSet -k: k old pods deleted
    AVAILABLE = "available"  # one new pod becomes available (timed, not a controller action)
    GONE = "gone"  # Recreate: the deleted old pods have all terminated


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    count: int = 1


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
    ordered: bool = False  # StatefulSet: podManagementPolicy OrderedReady (one creation at a time)
    same_name: bool = False  # drain of a StatefulSet: an evicted pod is recreated (same name) once gone

    def scheduled(self, s: RolloutState) -> int:
        """New pods that found a node; the others are Pending (there is no room until an
        old pod is gone; the scheduler takes pods in creation order)."""
        if not self.slots:
            return s.new
        if self.strategy is Strategy.DRAIN:
            return max(0, min(s.new, self.slots - self.kept))
        return max(0, min(s.new, self.slots - s.old - s.gone_wait))

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

    def reconcile(self, s: RolloutState) -> Action | None:
        """One Deployment sync: the controller action taken in state ``s``, if any."""
        if self.strategy is Strategy.DAEMON_SET:
            return self._daemon(s)
        if self.strategy is Strategy.DRAIN:
            return self._drain(s)
        if self.strategy is Strategy.STATEFUL_SET:
            return self._stateful(s)
        if self.strategy is Strategy.RECREATE:
            if s.old > 0:
                return Action(ActionKind.SCALE_DOWN, s.old)
            if s.old_terminating:
                return None  # waits until the old pods are gone
            if s.new < self.replicas:
                return Action(ActionKind.SCALE_UP, self.replicas - s.new)
            return None
        r = self.replicas
        max_total = r + self.surge
        current = s.old + s.new
        if current < max_total and s.new < r:
            return Action(ActionKind.SCALE_UP, min(max_total - current, r - s.new))
        min_available = r - self.unavailable
        new_unavailable = s.new - s.new_available
        max_scaled_down = current - min_available - new_unavailable
        if max_scaled_down <= 0 or s.old == 0:
            return None
        available_all = s.old + s.new_available
        if available_all <= min_available:
            return None
        return Action(ActionKind.SCALE_DOWN, min(s.old, available_all - min_available))

    def _daemon(self, s: RolloutState) -> Action | None:
        """DaemonSet RollingUpdate (``pkg/controller/daemon/update.go`` ``rollingUpdate``),
        nodes interchangeable, ``replicas`` = the feasible nodes. Without surge: delete old
        pods while fewer than ``maxUnavailable`` nodes lack an available pod, and create a
        node's new pod once its old pod is gone. With surge: create new pods on up to
        ``maxSurge`` nodes at a time, and delete a node's old pod once its new pod is
        available."""
        f = self.replicas
        if self.surge == 0:
            free = f - s.old - s.gone_wait - s.new  # nodes with no pod at all
            if free > 0:
                return Action(ActionKind.SCALE_UP, free)
            unavailable_now = f - s.old - s.new_available
            k = min(s.old, self.unavailable - unavailable_now)
            return Action(ActionKind.SCALE_DOWN, k) if k > 0 else None
        replaced = s.old + s.new_available - f  # nodes whose new pod is available and old pod still runs
        if replaced > 0:
            return Action(ActionKind.SCALE_DOWN, replaced)
        surging = s.new - s.new_available
        k = min(self.surge - surging, f - s.new)
        return Action(ActionKind.SCALE_UP, k) if k > 0 else None

    def _stateful(self, s: RolloutState) -> Action | None:
        """StatefulSet RollingUpdate: recreate deleted pods once they are gone; delete old pods
        (of ordinal >= partition) while fewer than ``unavailable`` pods are unhealthy. With
        OrderedReady, a gone pod is recreated only when every recreated pod is available (the
        ordinal walk stops at the first unhealthy pod), one per sync, and deletion waits
        until no pod is unhealthy."""
        f = self.moving
        free = f - s.old - s.gone_wait - s.new  # ordinals whose old pod is gone, not yet recreated
        unhealthy = f - s.old - s.new_available  # terminating, gone, Pending or starting
        if self.ordered:
            if free > 0 and s.new == s.new_available:
                return Action(ActionKind.SCALE_UP, 1)
            if unhealthy > 0:
                return None
        elif free > 0:
            return Action(ActionKind.SCALE_UP, free)
        k = min(s.old, self.unavailable - unhealthy)
        return Action(ActionKind.SCALE_DOWN, k) if k > 0 else None

    def _drain(self, s: RolloutState) -> Action | None:
        """``kubectl drain``: the drained node's pods are evicted while the budget allows
        (``disruption.go``: Ready pods above desiredHealthy; available stands for Ready);
        the ReplicaSet replaces each evicted pod on another node — no surge. ``old`` counts
        the pods still on the drained node; the others keep running. A StatefulSet recreates
        an evicted pod (same name, ``stateful_set_control.go``) only once it is gone."""
        k = self.on_drained
        if self.same_name:
            free = k - s.old - s.gone_wait - s.new
            if free > 0:
                return Action(ActionKind.SCALE_UP, free)
        elif s.new < k - s.old:
            return Action(ActionKind.SCALE_UP, k - s.old - s.new)
        healthy = (self.replicas - k) + s.old + s.new_available
        e = min(s.old, healthy - self.desired_healthy)
        return Action(ActionKind.SCALE_DOWN, e) if e > 0 else None

    @property
    def waits_gone(self) -> bool:
        """Is a deleted old pod's replacement created only once it is gone? (DaemonSet without
        surge, StatefulSet and its drain: a node or an ordinal holds one pod at a time.)"""
        return self.strategy is Strategy.STATEFUL_SET or (self.strategy is Strategy.DAEMON_SET and self.surge == 0) \
            or (self.strategy is Strategy.DRAIN and self.same_name)

    def apply(self, s: RolloutState, a: Action) -> RolloutState:
        if self.strategy in (Strategy.DAEMON_SET, Strategy.STATEFUL_SET) or self.waits_gone:
            if a.kind is ActionKind.SCALE_UP:
                return replace(s, new=s.new + a.count)
            if a.kind is ActionKind.SCALE_DOWN:
                return replace(s, old=s.old - a.count, gone_wait=s.gone_wait + (a.count if self.waits_gone else 0))
            if a.kind is ActionKind.AVAILABLE:
                return replace(s, new_available=s.new_available + 1)
            return replace(s, gone_wait=s.gone_wait - 1)
        if a.kind is ActionKind.SCALE_UP:
            return replace(s, new=s.new + a.count)
        if a.kind is ActionKind.SCALE_DOWN:
            # Recreate must wait for deleted pods to be gone; RollingUpdate never does, but
            # with limited room a deleted pod holds its place until it is gone
            held = a.count if self.slots and self.strategy is Strategy.ROLLING_UPDATE else 0
            return RolloutState(s.old - a.count, s.new, s.new_available,
                                self.strategy is Strategy.RECREATE, s.gone_wait + held)
        if a.kind is ActionKind.AVAILABLE:
            return replace(s, new_available=s.new_available + 1)
        if s.gone_wait:
            return replace(s, gone_wait=s.gone_wait - 1)
        return RolloutState(s.old, s.new, s.new_available, False)

    def successors(self, s: RolloutState) -> list[Action]:
        """Every step possible from ``s``: the sync (deterministic given the counts) and
        the timed pod events, which may happen before or after it."""
        out = []
        a = self.reconcile(s)
        if a is not None:
            out.append(a)
        if s.new_available < self.scheduled(s):
            out.append(Action(ActionKind.AVAILABLE))
        if s.old_terminating and self.strategy is Strategy.RECREATE and s.old == 0:
            out.append(Action(ActionKind.GONE))
        if s.gone_wait > 0:
            out.append(Action(ActionKind.GONE))
        return out


def build_graph(rollout: Rollout, max_states: int = 2_000_000,
                keep: Callable[[RolloutState, Action], bool] | None = None) -> nx.DiGraph:
    """The state-transition graph of the rollout (every interleaving of controller syncs
    and pod-availability events), explored breadth-first from the initial state.
    ``keep`` restricts the steps taken (for the reduced graphs of large rollouts)."""
    g = nx.DiGraph()
    start = rollout.initial
    g.add_node(start)
    frontier = [start]
    while frontier:
        nxt = []
        for s in frontier:
            for a in rollout.successors(s):
                if keep is not None and not keep(s, a):
                    continue
                t = rollout.apply(s, a)
                if t not in g:
                    if g.number_of_nodes() >= max_states:
                        raise StateBudgetExceeded(max_states)
                    g.add_node(t)
                    nxt.append(t)
                g.add_edge(s, t, action=a)
        frontier = nxt
    return g


class StateBudgetExceeded(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"state graph exceeded {limit} states")
        self.limit = limit


@dataclass(frozen=True)
class GraphFacts:
    """What the search reads off the state graph."""

    states: int
    edges: int
    zero_ready: bool  # some reachable state has no old pod left and no new pod available
    deletes: bool  # some old pod is deleted
    always_completes: bool  # from every reachable state the final state is reachable
    reduced: bool = False  # decided on the reduced graphs (see ``facts``)
    pending: bool = False  # some new pod may wait for room (Pending) beyond the pod-start bound
    starts: bool = True  # some new pod is ever scheduled (not when every one stays Pending)
    # every feasible node holds a Ready, non-terminating pod at every instant (``node_facts``)
    node_kept: bool = False
    node_states: int = 0  # the per-node states explored to decide it


def facts(rollout: Rollout, max_states: int = 20_000) -> GraphFacts:
    """Read the facts off the full graph; past ``max_states`` states, off two reduced
    graphs that decide the same facts exactly:

    * a state with no old pod and no new pod available is reached only along paths on
      which no new pod ever became available (availability never decreases), so the
      subgraph without availability steps decides ``zero_ready``;
    * ``always_completes`` holds iff, for every count of old and new pods, a sync with all
      new pods available changes the counts towards the final state (old down, or new up):
      availability steps are always enabled, so that ranking argument reaches the final
      state from every reachable state. It is checked over all count pairs.
    """
    if rollout.strategy is Strategy.DRAIN and rollout.on_drained == 0:
        # how many pods run on the drained node is the scheduler's choice: every count
        most = min(rollout.replicas, rollout.node_cap or rollout.replicas)
        parts = [facts(replace(rollout, on_drained=k), max_states) for k in range(1, most + 1)]
        return GraphFacts(sum(p.states for p in parts), sum(p.edges for p in parts),
                          any(p.zero_ready for p in parts), any(p.deletes for p in parts),
                          all(p.always_completes for p in parts), pending=any(p.pending for p in parts),
                          starts=any(p.starts for p in parts))
    if rollout.slots and rollout.slots >= 2 * rollout.replicas:
        rollout = replace(rollout, slots=0)  # old pods (deleted or not) and new pods never exceed 2R
    try:
        g = build_graph(rollout, max_states)
    except StateBudgetExceeded:
        if rollout.slots and rollout.strategy is Strategy.ROLLING_UPDATE:
            # Pending pods only withhold availability steps, so the graph without room limits
            # reaches every count state this one does: its zero_ready and deletes are safe
            # over-approximations; completion is left to the search (a stall must replay)
            free = facts(replace(rollout, slots=0), max_states)
            return replace(free, always_completes=_progress_lemma(rollout), pending=True, starts=True, reduced=True)
        if rollout.strategy in (Strategy.DAEMON_SET, Strategy.DRAIN, Strategy.STATEFUL_SET):
            raise  # the reduced graphs' arguments are about the Deployment controller without Pending pods
        return _reduced_facts(rollout)
    # a drain and a partitioned StatefulSet keep the other pods
    zero = [s for s in g if s.old == 0 and s.new_available == 0 and rollout.kept == 0]
    final = rollout.final
    always = final in g and len(nx.ancestors(g, final)) + 1 == g.number_of_nodes()
    deletes = any(d["action"].kind is ActionKind.SCALE_DOWN for _, _, d in g.edges(data=True))
    pending = any(rollout.scheduled(s) < s.new for s in g)
    starts = any(rollout.scheduled(s) > 0 for s in g)
    return GraphFacts(g.number_of_nodes(), g.number_of_edges(), bool(zero), deletes, always, pending=pending,
                      starts=starts)


def _reduced_facts(rollout: Rollout) -> GraphFacts:
    none_available = build_graph(rollout, keep=lambda s, a: a.kind is not ActionKind.AVAILABLE)
    zero = [s for s in none_available if s.old == 0 and s.new_available == 0]
    eager = build_graph(rollout, keep=lambda s, a: a.kind is ActionKind.AVAILABLE or s.new_available == s.new)
    deletes = any(d["action"].kind is ActionKind.SCALE_DOWN
                  for g in (none_available, eager) for _, _, d in g.edges(data=True))
    always = _progress_lemma(rollout)
    states = none_available.number_of_nodes() + eager.number_of_nodes()
    edges = none_available.number_of_edges() + eager.number_of_edges()
    return GraphFacts(states, edges, bool(zero), deletes, always, reduced=True)


def _progress_lemma(rollout: Rollout) -> bool:
    """Sufficient for completion: at every count pair, once the pending steps are done (new
    pods available as far as they found room, deleted pods gone), a sync changes the counts
    towards the final state. Syncs only scale up new or scale down old, so finitely many of
    them, with the steps in between, reach it."""
    r = rollout.replicas
    limit = r + rollout.surge
    for old in range(r + 1):
        for new in range(r + 1):
            if old + new > limit or (old == 0 and new == r):
                continue
            s = RolloutState(old, new, new)
            s = replace(s, new_available=rollout.scheduled(s))
            a = rollout.reconcile(s)
            if a is None and not (rollout.strategy is Strategy.RECREATE and s.old_terminating):
                return False
    return True


# ---------------------------------------------------------------------------------------
# Per node: placement and the ReplicaSet's ranking
# ---------------------------------------------------------------------------------------

# per feasible node: (old pods not deleted, old pods terminating, new pods not available,
# new pods available); with the pool: (new pods not bound yet, new pods not available yet
# on "safe" nodes). A node with an available new pod keeps a Ready pod for good (new pods are
# not deleted), and then which of its new pods are available changes nothing but the total:
# such a node counts all its new pods as available, and the pool's second count says how
# many of those on all such nodes are not yet (an exact reduction: the rank, the filters and
# the controller see the same numbers).
_NodeCounts = tuple[int, int, int, int]
_Pool = tuple[int, int]
_NodeState = tuple[tuple[_NodeCounts, ...], _Pool]


class NodeStep(Enum):
    """What happens in one step of the per-node exploration."""

    SCALE_UP = "scale-up"  # the Deployment controller creates ``count`` new pods (not bound yet)
    SCALE_DOWN = "scale-down"  # it deletes ``picks[j]`` old pods on the j-th feasible node
    BIND = "bind"  # the scheduler binds the oldest unbound new pod to ``node``
    AVAILABLE = "available"  # a new pod on ``node`` turns available (-1: on a node that has one already)
    GONE = "gone"  # a terminating old pod on ``node`` is gone


@dataclass(frozen=True)
class NodeEvent:
    kind: NodeStep
    node: int = -1  # BIND, AVAILABLE, GONE: the node (an index into the cluster's nodes)
    count: int = 0  # SCALE_UP: pods created
    picks: tuple[int, ...] = ()  # SCALE_DOWN: old pods deleted per feasible node


@dataclass(frozen=True)
class NodeWitness:
    """A run of the per-node exploration that leaves ``empty`` without a Ready pod."""

    initial: tuple[int, ...]  # old pods per feasible node when the rollout starts
    events: tuple[NodeEvent, ...]
    empty: int  # the node (an index into the cluster's nodes)


@dataclass(frozen=True)
class NodeFacts:
    kept: bool  # every feasible node holds a Ready, non-terminating pod at every instant
    states: int  # node states explored (0: not explored)
    witness: NodeWitness | None = None  # when not kept: how a node loses its last Ready pod


def node_facts(rollout: Rollout, rules: Placement, max_states: int = 50_000, work: int = 50_000_000) -> NodeFacts:
    """Does every feasible node keep a Ready, non-deleted pod of the workload throughout a
    RollingUpdate? Explores every interleaving of the controller's syncs (``reconcile`` on
    the totals), the scheduler placing each new pod on a node its filters allow
    (``Placement.room``) at any moment after its creation, new pods turning available, and
    terminating pods going away, from every placement of the old pods the filters allow.
    Scale-downs delete the old pods on the nodes with the most active pods of the Deployment
    first (rule 5), ties in every way. Nodes that differ in nothing are interchangeable.

    An available new pod was Ready before the deletion that follows it, and the
    EndpointSlice and each kube-proxy apply changes in order, so when this holds no node's
    rules are ever without a local ready endpoint. False past ``max_states`` states, or past
    the states that ``work`` filter checks allow (each costs about nodes x pods). When a
    node does lose its last Ready pod, the run that gets there (breadth-first: one of the
    shortest) is the ``witness``."""
    return _NodeExploration(rollout, rules, max_states, work).search(eager=False)


def node_witness(rollout: Rollout, rules: Placement, max_states: int = 50_000,
                 work: int = 50_000_000) -> NodeWitness | None:
    """A run of the per-node exploration that leaves a node without a Ready pod and that a
    timed run can follow closely: the controller is eager — while a sync has something to do,
    only it and the scheduler act (no pod turns available or goes away in between), as when
    syncs follow their triggers at once. Such runs are a subset of ``node_facts``' runs;
    ``None`` when there is none (within the budget)."""
    return _NodeExploration(rollout, rules, max_states, work).search(eager=True).witness


class _NodeExploration:
    """The per-node state space of ``node_facts``: per feasible node (old pods not
    deleted, old pods terminating, new pods not available, new pods available), and the pool
    (new pods not bound yet, new pods not available yet on nodes that have an available one);
    canonical up to swapping interchangeable nodes."""

    def __init__(self, rollout: Rollout, rules: Placement, max_states: int, work: int) -> None:
        self.rollout, self.rules, self.nodes = rollout, rules, rules.feasible
        n = len(self.nodes)
        self.max_states = min(max_states, max(1_000, work // (max(n, 1) * (n + rollout.replicas + rollout.surge))))
        self.gone_counts = rules.limited  # caps hold a terminating pod's place until it is gone; spreads skip it
        traits = {(rules.zones[x] if x < len(rules.zones) else "",
                   rules.node_room[x] if x < len(rules.node_room) else None) for x in self.nodes}
        self.symmetric = len(traits) == 1

    def canon(self, per: tuple[_NodeCounts, ...], pool: _Pool) -> _NodeState:
        return (tuple(sorted(per)) if self.symmetric else per, pool)

    def placed(self, per: tuple[_NodeCounts, ...]) -> list[Placed]:
        out: list[Placed] = []
        for n, (ol, ot, nu, na) in zip(self.nodes, per):
            out += [Placed(n, False, False)] * ol + [Placed(n, False, True)] * ot + [Placed(n, True, False)] * (nu + na)
        return out

    @staticmethod
    def bump(per: tuple[_NodeCounts, ...], j: int, delta: _NodeCounts) -> tuple[_NodeCounts, ...]:
        out = list(per)
        out[j] = tuple(a + b for a, b in zip(per[j], delta))  # type: ignore[assignment]
        return tuple(out)

    def starts(self) -> set[_NodeState] | None:
        """Every placement of the old pods the filters allow (None: too many)."""
        nodes, rules = self.nodes, self.rules
        starts = {self.canon(((0, 0, 0, 0),) * len(nodes), (0, 0))}
        for _ in range(self.rollout.replicas):
            layer: set[_NodeState] = set()
            for per, _ in starts:
                here = self.placed(per)
                layer |= {self.canon(self.bump(per, j, (1, 0, 0, 0)), (0, 0))
                          for j in range(len(nodes)) if rules.room(nodes[j], False, here)}
            starts = layer
            if len(starts) > self.max_states:
                return None
        return starts

    def victims(self, per: tuple[_NodeCounts, ...], k: int) -> list[list[int]]:
        """Every way the ReplicaSet may pick ``k`` old pods: by rank (active pods on the
        node), all of a higher rank before any of a lower one, ties in every way."""
        rank = [ol + nu + na for ol, _, nu, na in per]
        picks = [[0] * len(per)]
        for r in sorted({rank[j] for j in range(len(per)) if per[j][0]}, reverse=True):
            tied = [j for j in range(len(per)) if per[j][0] and rank[j] == r]
            room = sum(per[j][0] for j in tied)
            if room <= k:
                for pick in picks:
                    for j in tied:
                        pick[j] = per[j][0]
                k -= room
            else:
                # nodes in the same state are interchangeable when the nodes are: pick up to that
                groups: dict[_NodeCounts, list[int]] = {}
                for j in tied:
                    groups.setdefault(per[j] if self.symmetric else (j, 0, 0, 0), []).append(j)
                picks = [pick for base in picks for pick in _spread_over(base, list(groups.values()), per, k)]
                k = 0
            if k == 0:
                break
        return picks

    def successors(self, per: tuple[_NodeCounts, ...], pool: _Pool, eager: bool
                   ) -> list[tuple[NodeEvent, tuple[_NodeCounts, ...], _Pool]]:
        nodes, bump = self.nodes, self.bump
        unbound, waiting = pool
        out: list[tuple[NodeEvent, tuple[_NodeCounts, ...], _Pool]] = []
        old = sum(c[0] for c in per)
        new = sum(c[2] + c[3] for c in per) + unbound
        a = self.rollout.reconcile(RolloutState(old, new, sum(c[3] for c in per) - waiting))
        if a is not None and a.kind is ActionKind.SCALE_UP:
            out.append((NodeEvent(NodeStep.SCALE_UP, count=a.count), per, (unbound + a.count, waiting)))
        elif a is not None and a.kind is ActionKind.SCALE_DOWN:
            for pick in self.victims(per, a.count):
                out.append((NodeEvent(NodeStep.SCALE_DOWN, picks=tuple(pick)),
                            tuple((ol - d, ot + d if self.gone_counts else 0, nu, na)
                                  for (ol, ot, nu, na), d in zip(per, pick)), pool))
        if unbound:
            here = self.placed(per)
            out += [(NodeEvent(NodeStep.BIND, nodes[j]),
                     bump(per, j, (0, 0, 0, 1) if per[j][3] else (0, 0, 1, 0)),
                     (unbound - 1, waiting + 1 if per[j][3] else waiting))
                    for j in range(len(per)) if self.rules.room(nodes[j], True, here)]
        if eager and a is not None:
            return out  # a pending sync goes first; only the scheduler may act before it
        # a node's first available pod makes it safe: all its new pods count as available,
        # the others of them wait in the pool
        out += [(NodeEvent(NodeStep.AVAILABLE, nodes[j]), bump(per, j, (0, 0, -per[j][2], per[j][2])),
                 (unbound, waiting + per[j][2] - 1))
                for j in range(len(per)) if per[j][2]]
        if waiting:  # one of them turns available (on which safe node changes nothing)
            out.append((NodeEvent(NodeStep.AVAILABLE), per, (unbound, waiting - 1)))
        out += [(NodeEvent(NodeStep.GONE, nodes[j]), bump(per, j, (0, -1, 0, 0)), pool)
                for j in range(len(per)) if per[j][1]]
        return out

    def search(self, eager: bool) -> NodeFacts:
        if self.rollout.strategy is not Strategy.ROLLING_UPDATE or not self.nodes or self.rollout.replicas == 0:
            return NodeFacts(False, 0)
        starts = self.starts()
        if starts is None:
            return NodeFacts(False, self.max_states)
        if not starts:
            return NodeFacts(False, 0)
        parent: dict[_NodeState, _NodeState | None] = dict.fromkeys(starts)
        frontier = list(starts)
        while frontier:
            nxt: list[_NodeState] = []
            for state in frontier:
                per, pool = state
                if any(ol + na == 0 for ol, _, _, na in per):
                    return NodeFacts(False, len(parent), self.witness(parent, state, eager))
                for _, p, u in self.successors(per, pool, eager):
                    t = self.canon(p, u)
                    if t not in parent:
                        if len(parent) >= self.max_states:
                            return NodeFacts(False, len(parent))
                        parent[t] = state
                        nxt.append(t)
            frontier = nxt
        return NodeFacts(True, len(parent))

    def witness(self, parent: dict[_NodeState, _NodeState | None], end: _NodeState, eager: bool) -> NodeWitness:
        """The run from a start to ``end``, with real nodes: canonical states stand for every
        permutation of interchangeable nodes, so each step is redone on the concrete state."""
        chain = [end]
        while (up := parent[chain[-1]]) is not None:
            chain.append(up)
        chain.reverse()
        per, pool = chain[0]
        events: list[NodeEvent] = []
        for target in chain[1:]:
            event, per, pool = next((e, p, u) for e, p, u in self.successors(per, pool, eager)
                                    if self.canon(p, u) == target)
            events.append(event)
        empty = next(j for j, (ol, _, _, na) in enumerate(per) if ol + na == 0)
        return NodeWitness(tuple(c[0] for c in chain[0][0]), tuple(events), self.nodes[empty])


def _spread_over(base: list[int], groups: list[list[int]], per: tuple[_NodeCounts, ...], k: int) -> list[list[int]]:
    """``base`` plus ``k`` picks among the old pods of the ``groups``' nodes, in every way up
    to swapping nodes within a group (nodes of a group are interchangeable)."""
    if not groups:
        return [base] if k == 0 else []
    first, rest = groups[0], groups[1:]
    room_after = sum(per[j][0] for g in rest for j in g)
    out = []
    for counts in _non_increasing(len(first), per[first[0]][0], k):
        if k - sum(counts) > room_after:
            continue
        pick = list(base)
        for j, d in zip(first, counts):
            pick[j] += d
        out += _spread_over(pick, rest, per, k - sum(counts))
    return out


def _non_increasing(n: int, most_each: int, most_total: int) -> list[tuple[int, ...]]:
    """Every non-increasing sequence of ``n`` counts, each at most ``most_each``, summing to
    at most ``most_total``."""
    if n == 0:
        return [()]
    return [(d,) + tail for d in range(min(most_each, most_total), -1, -1)
            for tail in _non_increasing(n - 1, d, most_total - d)]
