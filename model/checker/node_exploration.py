"""Per node: placement and the ReplicaSet's ranking, for Local traffic under placement rules.

Follows ``kubernetes/kubernetes:pkg/controller/replicaset/replica_set.go``
(``getPodsToDelete``, ``ActivePodsWithRanks``: rules 1-4 tie for old pods that are all
scheduled, Running and Ready with one template's deletion cost; rule 5 ranks by the node's
active pods of the Deployment, old and new ReplicaSets; later rules are free) and the
scheduler's filters (``model/scheduler.py`` ``Placement.room``).

Simplifications:
 1. RollingUpdate only; the controller's syncs are ``reconcile`` on the totals
    (``graph.py``), the scheduler places each new pod on a node its filters allow at any
    moment after its creation.
 2. Nodes that differ in nothing are interchangeable (states are canonical up to swapping
    them), and a node with an available new pod keeps a Ready pod for good (new pods are
    not deleted): which of its new pods are available changes nothing but the total.
 3. The exploration stops at a state budget (``max_states``, and the filter checks
    ``work`` allows); then nothing is claimed.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from zdverify.model.checker.deployment import ActionKind
from zdverify.model.checker.graph import reconcile
from zdverify.model.objects import Strategy
from zdverify.model.rollout import Rollout, RolloutState
from zdverify.model.scheduler import Placed, Placement

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
    some_kept: bool = False  # at every instant some node has held one since the rollout started


def node_facts(rollout: Rollout, rules: Placement, max_states: int = 400_000, work: int = 400_000_000) -> NodeFacts:
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


def some_node_kept(rollout: Rollout, rules: Placement, max_states: int = 50_000, work: int = 50_000_000) -> bool:
    """At every instant of every run ``node_facts`` explores, is there a node that has held a
    Ready, non-terminating pod without a break since the rollout started? Such a node's
    kube-proxy never lacks a local ready endpoint (its view is a past state of the node's
    pods), so a load balancer checking nodes never stops finding it healthy. False past the
    budget (kept at 50,000 states: its states carry a flag per node, and at 400,000 it cost
    minutes where it ended undecided anyway)."""
    return _NodeExploration(rollout, rules, max_states, work).some_kept()


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
        a = reconcile(self.rollout, RolloutState(old, new, sum(c[3] for c in per) - waiting))
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

    def some_kept(self) -> bool:
        """``some_node_kept``: the exploration with, per node, whether it has kept a Ready pod
        since the start (canonical together with the node's counts)."""
        if self.rollout.strategy is not Strategy.ROLLING_UPDATE or not self.nodes or self.rollout.replicas == 0:
            return False
        starts = self.starts()
        if starts is None:
            return False

        def canon(per: tuple[_NodeCounts, ...], pool: _Pool, kept: tuple[bool, ...]
                  ) -> tuple[tuple[tuple[_NodeCounts, bool], ...], _Pool]:
            pairs = tuple(zip(per, kept))
            return (tuple(sorted(pairs)) if self.symmetric else pairs, pool)

        seen = {canon(per, pool, tuple(c[0] > 0 for c in per)) for per, pool in starts}
        frontier = list(seen)
        while frontier:
            nxt = []
            for pairs, pool in frontier:
                per = tuple(c for c, _ in pairs)
                kept = tuple(k for _, k in pairs)
                if not any(kept):
                    return False
                for _, p, u in self.successors(per, pool, False):
                    t = canon(p, u, tuple(k and ol + na > 0 for k, (ol, _, _, na) in zip(kept, p)))
                    if t not in seen:
                        if len(seen) >= self.max_states:
                            return False
                        seen.add(t)
                        nxt.append(t)
            frontier = nxt
        return True

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
