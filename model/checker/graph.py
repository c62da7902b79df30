"""The rollout's state graph: every interleaving of controller syncs and pod events, on counts.

Follows the controllers' syncs (``deployment.py``, ``daemonset.py``, ``statefulset.py``,
``drain.py``) and the scheduler's room (``Rollout.slots``: a new pod that finds no room is
Pending; the scheduler takes pods in creation order).

Simplifications:
 1. Pods of one ReplicaSet are interchangeable and nodes carry no identity: a state is a
    tuple of counts (``RolloutState``); which old pod is deleted is a free choice
    (``deployment.py`` simplification 4).
 2. A sync is deterministic given the counts; the timed pod events (a new pod turning
    available, a deleted pod going away) may happen before or after it.
 3. Past a state budget, the facts are read off two reduced graphs that decide the same
    facts exactly (``facts``), or the search is left to the solver and the simulator.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import networkx as nx

from zdverify.model.checker import daemonset, deployment, drain, statefulset
from zdverify.model.checker.deployment import Action, ActionKind
from zdverify.model.objects import Strategy
from zdverify.model.rollout import Rollout, RolloutState


def reconcile(rollout: Rollout, s: RolloutState) -> Action | None:
    """One sync of the workload's controller: the action taken in state ``s``, if any."""
    if rollout.strategy is Strategy.DAEMON_SET:
        return daemonset.reconcile(rollout, s)
    if rollout.strategy is Strategy.DRAIN:
        return drain.reconcile(rollout, s)
    if rollout.strategy is Strategy.STATEFUL_SET:
        return statefulset.reconcile(rollout, s)
    return deployment.reconcile(rollout, s)


def scheduled(rollout: Rollout, s: RolloutState) -> int:
    """New pods that found a node; the others are Pending (there is no room until an
    old pod is gone; the scheduler takes pods in creation order)."""
    if not rollout.slots:
        return s.new
    if rollout.strategy is Strategy.DRAIN:
        return max(0, min(s.new, rollout.slots - rollout.kept))
    return max(0, min(s.new, rollout.slots - s.old - s.gone_wait))


def apply(rollout: Rollout, s: RolloutState, a: Action) -> RolloutState:
    """The state after step ``a`` in ``s``."""
    if rollout.strategy in (Strategy.DAEMON_SET, Strategy.STATEFUL_SET) or rollout.waits_gone:
        if a.kind is ActionKind.SCALE_UP:
            return replace(s, new=s.new + a.count)
        if a.kind is ActionKind.SCALE_DOWN:
            return replace(s, old=s.old - a.count, gone_wait=s.gone_wait + (a.count if rollout.waits_gone else 0))
        if a.kind is ActionKind.AVAILABLE:
            return replace(s, new_available=s.new_available + 1)
        return replace(s, gone_wait=s.gone_wait - 1)
    if a.kind is ActionKind.SCALE_UP:
        return replace(s, new=s.new + a.count)
    if a.kind is ActionKind.SCALE_DOWN:
        # Recreate must wait for deleted pods to be gone; RollingUpdate never does, but
        # with limited room a deleted pod holds its place until it is gone
        held = a.count if rollout.slots and rollout.strategy is Strategy.ROLLING_UPDATE else 0
        return RolloutState(s.old - a.count, s.new, s.new_available,
                            rollout.strategy is Strategy.RECREATE, s.gone_wait + held)
    if a.kind is ActionKind.AVAILABLE:
        return replace(s, new_available=s.new_available + 1)
    if s.gone_wait:
        return replace(s, gone_wait=s.gone_wait - 1)
    return RolloutState(s.old, s.new, s.new_available, False)


def successors(rollout: Rollout, s: RolloutState) -> list[Action]:
    """Every step possible from ``s``: the sync (deterministic given the counts) and
    the timed pod events, which may happen before or after it."""
    out = []
    a = reconcile(rollout, s)
    if a is not None:
        out.append(a)
    if s.new_available < scheduled(rollout, s):
        out.append(Action(ActionKind.AVAILABLE))
    if s.old_terminating and rollout.strategy is Strategy.RECREATE and s.old == 0:
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
            for a in successors(rollout, s):
                if keep is not None and not keep(s, a):
                    continue
                t = apply(rollout, s, a)
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
    # at every instant some node has held one without a break since the start (``some_node_kept``)
    node_some_kept: bool = False
    node_states: int = 0  # the per-node states explored to decide it
    idle: bool = False  # some run does nothing: a drain of a node the scheduler left without these pods
    # the facts describe a whole rollout from its start, so counts over it apply
    # (``load_balancer.rollout_bound``); not for components checked on their own
    whole_rollout: bool = False


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
        # ... none at all when the other nodes have room for every pod (``queries`` then
        # adds the run in which nothing happens: ``idle``)
        return GraphFacts(sum(p.states for p in parts), sum(p.edges for p in parts),
                          any(p.zero_ready for p in parts), any(p.deletes for p in parts),
                          all(p.always_completes for p in parts), pending=any(p.pending for p in parts),
                          starts=any(p.starts for p in parts), idle=rollout.may_miss)
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
        if rollout.strategy is Strategy.DAEMON_SET and not rollout.slots:
            return daemon_facts(rollout)
        if rollout.strategy in (Strategy.DAEMON_SET, Strategy.DRAIN, Strategy.STATEFUL_SET):
            raise  # the reduced graphs' arguments are about the Deployment controller without Pending pods
        return _reduced_facts(rollout)
    # a drain and a partitioned StatefulSet keep the other pods
    zero = [s for s in g if s.old == 0 and s.new_available == 0 and rollout.kept == 0]
    final = rollout.final
    always = final in g and len(nx.ancestors(g, final)) + 1 == g.number_of_nodes()
    deletes = any(d["action"].kind is ActionKind.SCALE_DOWN for _, _, d in g.edges(data=True))
    pending = any(scheduled(rollout, s) < s.new for s in g)
    starts = any(scheduled(rollout, s) > 0 for s in g)
    return GraphFacts(g.number_of_nodes(), g.number_of_edges(), bool(zero), deletes, always, pending=pending,
                      starts=starts)


def daemon_facts(rollout: Rollout) -> GraphFacts:
    """A DaemonSet's facts without its graph (past the state budget: ~250,000 states at 100
    nodes with maxUnavailable 25), from ``daemonset.reconcile``:

    * without surge the controller deletes only while fewer than ``maxUnavailable`` nodes
      lack an available pod, so a state with no old pod and no available new pod (every node
      unavailable) is reached iff ``maxUnavailable`` covers every node — the first sync then
      deletes them all; with surge an old pod goes only once its node's new pod is available:
      never;
    * some old pod is deleted (there are nodes, and each is updated);
    * the rollout always completes: from any state, terminating pods go, missing pods are
      created, new pods turn available, and the controller deletes more until none is old;
    * a DaemonSet's pods are bound to their nodes: none waits for room (no ``slots``).

    ``tests/unit/test_graph.py`` compares every field with the full graph on small sizes."""
    zero = rollout.surge == 0 and rollout.unavailable >= rollout.replicas > 0
    return GraphFacts(0, 0, zero, rollout.replicas > 0, True, reduced=True, starts=rollout.replicas > 0)


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
            s = replace(s, new_available=scheduled(rollout, s))
            a = reconcile(rollout, s)
            if a is None and not (rollout.strategy is Strategy.RECREATE and s.old_terminating):
                return False
    return True

