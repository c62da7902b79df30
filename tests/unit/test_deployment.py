"""Controller models (model/checker/: deployment.py, daemonset.py, statefulset.py, drain.py,
graph.py, node_exploration.py) against k8s-semantics.md §1.

Every test names the fact-sheet section it checks.
"""
from __future__ import annotations

import pytest

from zdverify.model.checker.deployment import Action, ActionKind
from zdverify.model.checker.graph import apply, build_graph, facts, reconcile, successors
from zdverify.model.checker.node_exploration import NodeFacts, NodeStep, NodeWitness, node_facts, node_witness
from zdverify.model.rollout import Rollout, RolloutState, resolve_fenceposts, scaled
from zdverify.model.objects import LabelSelector, SpreadConstraint, Strategy
from zdverify.model.scheduler import Cap, Placed, Placement

UP, DOWN, AVAIL, GONE = ActionKind.SCALE_UP, ActionKind.SCALE_DOWN, ActionKind.AVAILABLE, ActionKind.GONE


def rolling(replicas: int, surge: int | str, unavailable: int | str) -> Rollout:
    s, u = resolve_fenceposts(surge, unavailable, replicas)
    return Rollout(replicas, Strategy.ROLLING_UPDATE, s, u)


def recreate(replicas: int) -> Rollout:
    return Rollout(replicas, Strategy.RECREATE, 0, 0)


def drive(r: Rollout, limit: int = 200) -> list[tuple[ActionKind, int]]:
    """Run the rollout, syncing eagerly and making one new pod available only when the
    controller has nothing to do (the slowest pods the controller can wait for)."""
    s, out = r.initial, []
    for _ in range(limit):
        a = reconcile(r, s)
        if a is None:
            if s.new_available < s.new:
                a = Action(AVAIL)
            elif s.old_terminating:
                a = Action(GONE)
            else:
                break
        out.append((a.kind, a.count))
        s = apply(r, s, a)
    assert s == r.final, f"rollout stopped in {s}"
    return out


# ---------------------------------------------------------------- §1.1 arithmetic


@pytest.mark.parametrize("value,total,up,expected", [
    ("25%", 10, True, 3),    # 2.5 -> 3 (surge rounds up)
    ("25%", 10, False, 2),   # 2.5 -> 2 (unavailable rounds down)
    ("10%", 5, True, 1),     # 0.5 -> 1
    ("10%", 5, False, 0),    # 0.5 -> 0
    ("100%", 7, False, 7),
    ("0%", 7, True, 0),
    ("33%", 3, True, 1),     # 0.99 -> 1
    ("33%", 3, False, 0),
    ("50%", 4, True, 2),     # exact: no rounding either way
    ("50%", 4, False, 2),
    (2, 10, True, 2),        # absolute numbers are taken as written
    (2, 10, False, 2),
])
def test_scaled_rounding(value, total, up, expected) -> None:
    """§1.1 Rounding: percentage surge rounds up, percentage unavailable rounds down,
    both as a percentage of .spec.replicas (GetScaledValueFromIntOrPercent)."""
    assert scaled(value, total, up) == expected


@pytest.mark.parametrize("surge,unav,replicas,expected", [
    ("25%", "25%", 4, (1, 1)),    # defaults
    ("25%", "25%", 10, (3, 2)),   # surge up, unavailable down
    ("25%", "25%", 1, (1, 0)),    # 0.25 -> surge 1, unavailable 0
    ("0%", "10%", 5, (0, 1)),     # §1.1 "Both zero": the sheet's own example
    (0, "25%", 3, (0, 1)),        # unavailable rounds to 0, surge 0 -> forced to 1
    ("0%", "0%", 3, (0, 1)),
    (1, 0, 3, (1, 0)),            # surge 1: no fix-up, unavailable stays 0
    ("1%", 0, 3, (1, 0)),         # surge rounds up to 1, so no fix-up
    (0, 5, 3, (0, 3)),            # MaxUnavailable is capped at replicas
    (2, "100%", 3, (2, 3)),
])
def test_resolve_fenceposts(surge, unav, replicas, expected) -> None:
    """§1.1 ResolveFenceposts: surge up, unavailable down, 0/0 -> unavailable 1;
    MaxUnavailable capped at .spec.replicas."""
    assert resolve_fenceposts(surge, unav, replicas) == expected


# ---------------------------------------------------------------- §1.3 stepping


def test_surge1_unavailable0_new_up_then_old_down() -> None:
    """§1.3.3: with maxSurge=1, maxUnavailable=0 the order is "new +1, then old -1", and
    each old pod is deleted only after one new pod became available."""
    steps = drive(rolling(3, 1, 0))
    assert steps == [(UP, 1), (AVAIL, 1), (DOWN, 1)] * 3


def test_surge0_unavailable1_old_down_first() -> None:
    """§1.3.3: with maxSurge=0 the order is "old -1, then new +1"."""
    steps = drive(rolling(3, 0, 1))
    assert steps[:2] == [(DOWN, 1), (UP, 1)]
    assert steps == [(DOWN, 1), (UP, 1), (AVAIL, 1)] * 3


def test_unavailable0_waits_for_availability() -> None:
    """§1.3.2: maxScaledDown = allPods − minAvailable − newRSUnavailable ≤ 0 stops the
    scale-down: with maxUnavailable=0 and the surge pod not yet available, nothing happens;
    surge is counted on spec.replicas (§1.3.1), so no second pod is created either."""
    r = rolling(3, 1, 0)
    s = apply(r, r.initial, reconcile(r, r.initial))
    assert s == RolloutState(3, 1, 0)
    assert reconcile(r, s) is None
    assert successors(r, s) == [Action(AVAIL)]
    s = apply(r, s, Action(AVAIL))
    assert reconcile(r, s) == Action(DOWN, 1)


def test_surge_uses_all_headroom_at_once() -> None:
    """§1.3.1: newRS goes to spec + min(maxTotal − current, replicas − newRS.spec)."""
    r = rolling(4, 2, 0)
    assert reconcile(r, r.initial) == Action(UP, 2)
    r = rolling(2, 5, 0)
    assert reconcile(r, r.initial) == Action(UP, 2)  # never more than replicas new pods


def test_scale_down_bounded_by_available_minus_min_available() -> None:
    """§1.3.2(b): remove up to availableAll − minAvailable (with maxScaledDown > 0)."""
    r = rolling(4, 0, 2)  # minAvailable 2
    assert reconcile(r, r.initial) == Action(DOWN, 2)
    r = rolling(4, 1, 1)
    # after +1 new, nothing new available: allPods 5, minAvailable 3, newUnavailable 1 -> 1
    s = RolloutState(4, 1, 0)
    assert reconcile(r, s) == Action(DOWN, 1)


def test_recreate_sequence() -> None:
    """§1.5 Recreate: all old pods terminated, the controller waits until they are gone,
    then creates the new pods."""
    r = recreate(3)
    assert reconcile(r, r.initial) == Action(DOWN, 3)
    s = apply(r, r.initial, Action(DOWN, 3))
    assert s == RolloutState(0, 0, 0, old_terminating=True)
    assert reconcile(r, s) is None  # waits while old pods still run
    assert successors(r, s) == [Action(GONE)]
    s = apply(r, s, Action(GONE))
    assert reconcile(r, s) == Action(UP, 3)
    assert drive(recreate(3)) == [(DOWN, 3), (GONE, 1), (UP, 3), (AVAIL, 1), (AVAIL, 1), (AVAIL, 1)]


def test_rolling_update_never_waits_for_terminating_pods() -> None:
    """§1.2/§1.3.4: terminating pods are not counted; RollingUpdate scales up again without
    waiting for deleted pods to be gone."""
    r = rolling(2, 0, 1)
    s = apply(r, r.initial, reconcile(r, r.initial))
    assert not s.old_terminating
    assert reconcile(r, s) == Action(UP, 1)


# ---------------------------------------------------------------- graph facts


@pytest.mark.parametrize("replicas,surge,unav", [
    (r, s, u) for r in range(1, 7) for s in range(3) for u in range(4) if (s, u) != (0, 0)])  # 0/0 is invalid
def test_zero_ready_iff_unavailable_is_replicas(replicas, surge, unav) -> None:
    """Implications B: zero-endpoint windows are unavoidable with maxSurge=0 ∧ replicas=1;
    in general (§1.3.2) no scale-down goes below minAvailable = R − maxUnavailable, so
    "no old pod and no new pod available" is reachable iff maxUnavailable resolves to R."""
    r = rolling(replicas, surge, unav)
    f = facts(r)
    assert f.zero_ready == (r.unavailable == replicas)
    assert f.deletes and f.always_completes


@pytest.mark.parametrize("replicas", [1, 2, 5])
def test_recreate_facts(replicas) -> None:
    """§1.5 / Implications B: Recreate always has a zero-endpoint window, deletes, completes."""
    f = facts(recreate(replicas))
    assert f.zero_ready and f.deletes and f.always_completes
    assert RolloutState(0, 0, 0, True) in build_graph(recreate(replicas))


def test_reduced_graphs_agree_with_full_graph() -> None:
    """The reduced graphs (facts(..., max_states=1)) decide the same facts as the full
    graph, over R 1..10, surge 0..4, unavailable 0..4 (0/0 skipped), both strategies."""
    cases = [rolling(r, s, u) for r in range(1, 11) for s in range(5) for u in range(5) if (s, u) != (0, 0)]
    cases += [recreate(r) for r in range(1, 11)]
    for ro in cases:
        full = facts(ro)
        red = facts(ro, max_states=1)
        assert not full.reduced and red.reduced, ro
        assert (red.zero_ready, red.deletes, red.always_completes) == (
            full.zero_ready, full.deletes, full.always_completes), ro


def test_graph_states_are_counts() -> None:
    """DESIGN "The model": states are controller-level counts, canonical under pod and
    node symmetry, so the graph stays small."""
    r = rolling(3, 1, 0)
    g = build_graph(r)
    assert all(isinstance(s, RolloutState) for s in g)
    assert all(isinstance(x, (int, bool)) for s in g for x in (s.old, s.new, s.new_available, s.old_terminating))
    assert r.initial in g and r.final in g
    assert g.number_of_nodes() <= 12
    # the only states: eager maxSurge=1 alternation, 3 steps each, plus the final state
    assert g.number_of_nodes() == 10
    f = facts(r)
    assert f.states == g.number_of_nodes() and f.edges == g.number_of_edges()
    # counts never exceed replicas + maxSurge on spec (§1.3.1, Implications B)
    assert all(s.old + s.new <= r.replicas + r.surge for s in g)


# ------------------------------------------------------------ DaemonSet (daemon/update.go)
def test_daemonset_without_surge_replaces_a_node_only_after_its_old_pod_is_gone() -> None:
    """maxUnavailable 1, maxSurge 0: one old pod deleted; its node's new pod is created only
    when the old pod is gone; never two nodes down at once."""
    r = Rollout(3, Strategy.DAEMON_SET, 0, 1)
    s = r.initial
    assert reconcile(r, s) == Action(ActionKind.SCALE_DOWN, 1)
    s = apply(r, s, Action(ActionKind.SCALE_DOWN, 1))
    assert reconcile(r, s) is None  # the node's old pod still runs: nothing to create yet
    s = apply(r, s, Action(ActionKind.GONE))
    assert reconcile(r, s) == Action(ActionKind.SCALE_UP, 1)
    g = build_graph(r)
    assert all(3 - st.old - st.new_available <= 1 for st in g)  # at most maxUnavailable nodes down
    f = facts(r)
    assert f.always_completes and f.deletes and not f.zero_ready


def test_daemonset_with_surge_deletes_a_node_s_old_pod_once_its_new_pod_is_available() -> None:
    r = Rollout(3, Strategy.DAEMON_SET, 1, 0)
    s = r.initial
    assert reconcile(r, s) == Action(ActionKind.SCALE_UP, 1)
    s = apply(r, s, Action(ActionKind.SCALE_UP, 1))
    assert reconcile(r, s) is None  # surge budget used, nothing available yet
    s = apply(r, s, Action(ActionKind.AVAILABLE))
    assert reconcile(r, s) == Action(ActionKind.SCALE_DOWN, 1)
    g = build_graph(r)
    assert all(st.old + st.new_available >= 3 for st in g)  # every node keeps an available pod
    assert facts(r).always_completes


def test_one_node_daemonset_without_surge_has_a_zero_ready_state() -> None:
    assert facts(Rollout(1, Strategy.DAEMON_SET, 0, 1)).zero_ready
    assert not facts(Rollout(1, Strategy.DAEMON_SET, 1, 0)).zero_ready


# ------------------------------------------------------------ kubectl drain (k8s-semantics §7)
def test_drain_evicts_only_while_the_budget_keeps_its_ready_pods() -> None:
    """§7: evictions go through the PodDisruptionBudget (Ready pods above desiredHealthy);
    the ReplicaSet replaces an evicted pod only after the eviction (no surge)."""
    r = Rollout(2, Strategy.DRAIN, 0, 0, on_drained=2, desired_healthy=1)
    s = r.initial
    assert reconcile(r, s) == Action(ActionKind.SCALE_DOWN, 1)  # 2 Ready, 1 must stay
    s = apply(r, s, Action(ActionKind.SCALE_DOWN, 1))
    assert reconcile(r, s) == Action(ActionKind.SCALE_UP, 1)  # the replacement
    s = apply(r, s, Action(ActionKind.SCALE_UP, 1))
    assert reconcile(r, s) is None  # 1 Ready: the second eviction waits for the replacement
    assert not facts(r).zero_ready and facts(r).always_completes


def test_drain_without_budget_can_empty_the_service_and_a_full_budget_blocks_it() -> None:
    free = facts(Rollout(2, Strategy.DRAIN, 0, 0))  # any number of the 2 pods on the node, no PDB
    assert free.zero_ready and free.always_completes
    blocked = facts(Rollout(2, Strategy.DRAIN, 0, 0, desired_healthy=2))
    assert not blocked.always_completes and not blocked.deletes


def test_drain_of_a_statefulset_recreates_an_evicted_pod_once_it_is_gone() -> None:
    """A StatefulSet's evicted pod comes back with its name, so only once the old pod is
    gone (stateful_set_control.go); the budget counts the same Ready pods as for a Deployment."""
    r = Rollout(2, Strategy.DRAIN, 0, 0, on_drained=2, desired_healthy=1, same_name=True)
    assert r.waits_gone
    s = apply(r, r.initial, Action(ActionKind.SCALE_DOWN, 1))
    assert reconcile(r, s) is None  # terminating: no replacement yet (a Deployment's would exist)
    s = apply(r, s, Action(ActionKind.GONE))
    assert reconcile(r, s) == Action(ActionKind.SCALE_UP, 1)
    s = apply(r, s, Action(ActionKind.SCALE_UP, 1))
    assert reconcile(r, s) is None  # 1 Ready: the second eviction waits for the replacement
    assert not facts(r).zero_ready and facts(r).always_completes
    assert facts(Rollout(1, Strategy.DRAIN, 0, 0, same_name=True)).zero_ready  # one replica: a gap


# ------------------------------------------- StatefulSet (statefulset/stateful_set_control.go)
def test_statefulset_deletes_one_pod_when_all_are_healthy_and_recreates_it_once_gone() -> None:
    """updateStatefulSet: the highest not-updated ordinal is deleted only while every pod is
    healthy; the missing ordinal is recreated once its old pod is gone (same name); the
    next deletion waits until the new pod is available."""
    r = Rollout(3, Strategy.STATEFUL_SET, 0, 1)
    s = r.initial
    assert reconcile(r, s) == Action(ActionKind.SCALE_DOWN, 1)
    s = apply(r, s, Action(ActionKind.SCALE_DOWN, 1))
    assert reconcile(r, s) is None  # terminating: no second deletion, no replacement yet
    s = apply(r, s, Action(ActionKind.GONE))
    assert reconcile(r, s) == Action(ActionKind.SCALE_UP, 1)
    s = apply(r, s, Action(ActionKind.SCALE_UP, 1))
    assert reconcile(r, s) is None  # the new pod is not available yet
    s = apply(r, s, Action(ActionKind.AVAILABLE))
    assert reconcile(r, s) == Action(ActionKind.SCALE_DOWN, 1)
    g = build_graph(r)
    assert all(3 - st.old - st.new_available <= 1 for st in g)  # never two pods down
    f = facts(r)
    assert f.always_completes and f.deletes and not f.zero_ready


def test_statefulset_partition_keeps_the_lower_ordinals() -> None:
    """rollingUpdate.partition: ordinals below it keep the old template and stay Ready, so
    even a single updated pod never empties the Service."""
    r = Rollout(2, Strategy.STATEFUL_SET, 0, 1, partition=1)
    assert (r.moving, r.kept, r.initial, r.final) == (1, 1, RolloutState(1, 0, 0), RolloutState(0, 1, 1))
    assert not facts(r).zero_ready and facts(r).always_completes
    assert facts(Rollout(1, Strategy.STATEFUL_SET, 0, 1)).zero_ready  # one replica: always a gap


def test_statefulset_parallel_max_unavailable_deletes_a_batch() -> None:
    """updateStatefulSetAfterInvariantEstablished (gate on, Parallel): delete
    maxUnavailable - unhealthy pods at once; recreate each once gone."""
    r = Rollout(4, Strategy.STATEFUL_SET, 0, 2)
    s = r.initial
    assert reconcile(r, s) == Action(ActionKind.SCALE_DOWN, 2)
    s = apply(r, s, Action(ActionKind.SCALE_DOWN, 2))
    assert reconcile(r, s) is None
    s = apply(r, s, Action(ActionKind.GONE))
    assert reconcile(r, s) == Action(ActionKind.SCALE_UP, 1)
    assert all(4 - st.old - st.new_available <= 2 for st in build_graph(r))
    assert facts(r).always_completes and not facts(r).zero_ready
    assert facts(Rollout(2, Strategy.STATEFUL_SET, 0, 2)).zero_ready  # both pods at once


def test_statefulset_ordered_max_unavailable_recreates_one_pod_at_a_time() -> None:
    """OrderedReady with maxUnavailable 2 (gate on): the batch is deleted only while every pod
    is healthy; processReplica stops at the first unhealthy ordinal, so the batch comes back
    one pod per sync, the next once the previous one is available."""
    r = Rollout(4, Strategy.STATEFUL_SET, 0, 2, ordered=True)
    s = r.initial
    assert reconcile(r, s) == Action(ActionKind.SCALE_DOWN, 2)
    s = apply(r, s, Action(ActionKind.SCALE_DOWN, 2))
    s = apply(r, apply(r, s, Action(ActionKind.GONE)), Action(ActionKind.GONE))
    assert reconcile(r, s) == Action(ActionKind.SCALE_UP, 1)  # Parallel would create both
    s = apply(r, s, Action(ActionKind.SCALE_UP, 1))
    assert reconcile(r, s) is None  # waits for the recreated pod to be available
    s = apply(r, s, Action(ActionKind.AVAILABLE))
    assert reconcile(r, s) == Action(ActionKind.SCALE_UP, 1)
    s = apply(r, s, Action(ActionKind.SCALE_UP, 1))
    assert reconcile(r, s) is None  # one pod unhealthy: Parallel would delete one more here
    assert reconcile(Rollout(4, Strategy.STATEFUL_SET, 0, 2), s) == Action(ActionKind.SCALE_DOWN, 1)
    g = build_graph(r)
    assert all(st.new - st.new_available <= 1 for st in g)  # never two recreated pods starting
    assert all(4 - st.old - st.new_available <= 2 for st in g)
    assert facts(r).always_completes and not facts(r).zero_ready
    assert facts(Rollout(2, Strategy.STATEFUL_SET, 0, 2, ordered=True)).zero_ready


# ------------------------------------------------- per node: placement and the ranking


def _spread(nodes: int, per_revision: bool) -> Placement:
    c = SpreadConstraint(1, "kubernetes.io/hostname", True, LabelSelector((("app", "web"),)))
    return Placement(spread=((c, per_revision),), feasible=tuple(range(nodes)))


@pytest.mark.parametrize("per_revision, kept", [
    # each new pod goes to a node without a new pod; its node then has two pods of the
    # Deployment, so the ReplicaSet deletes the old pod there (rule 5): every node keeps one
    (True, True),
    # old and new pods counted together: the second new pod may join the first, and the
    # remaining old pods, alone on their nodes and tied, leave a node empty
    (False, False),
])
def test_node_facts_spread_and_ranking_keep_a_pod_per_node(per_revision: bool, kept: bool) -> None:
    f = node_facts(Rollout(3, Strategy.ROLLING_UPDATE, 1, 0), _spread(3, per_revision))
    assert f.kept is kept and f.states > 0


def test_node_facts_more_replicas_than_nodes_keep_every_node() -> None:
    """Two pods per node with a spread over both revisions: every new pod goes to a node
    with the fewest, and a node is never left without a Ready pod."""
    assert node_facts(Rollout(6, Strategy.ROLLING_UPDATE, 1, 0), _spread(3, False)).kept


def test_node_facts_without_rules_or_with_a_cap_lose_a_node() -> None:
    """No placement rule: new pods may all go to one node. One pod per node (required
    anti-affinity) on 4 nodes: the new pod takes the free node, and the old pod deleted
    next (all ranked alike) leaves its node empty."""
    assert not node_facts(Rollout(3, Strategy.ROLLING_UPDATE, 1, 0), Placement(feasible=(0, 1, 2))).kept
    cap = Placement(caps=(Cap(1, False, True, "required pod anti-affinity per node"),), feasible=(0, 1, 2, 3))
    assert not node_facts(Rollout(3, Strategy.ROLLING_UPDATE, 1, 0), cap).kept


def test_node_facts_answers_only_what_it_explores() -> None:
    """Past its budget it claims nothing; other strategies are not explored."""
    assert node_facts(Rollout(6, Strategy.ROLLING_UPDATE, 1, 0), _spread(3, False), max_states=10) == \
        NodeFacts(False, 10)
    assert node_facts(Rollout(3, Strategy.RECREATE, 0, 1), _spread(3, True)) == NodeFacts(False, 0)


def test_a_drain_over_any_count_keeps_the_pods_the_node_cannot_hold() -> None:
    """How many pods run on the drained node is the scheduler's choice, but no more than the
    node holds (one pod per node: required anti-affinity); the others stay Ready throughout
    (found by the differential tests: an IP target group was taken as possibly empty)."""
    assert Rollout(2, Strategy.DRAIN, 0, 0, node_cap=1).kept == 1
    assert Rollout(3, Strategy.DRAIN, 0, 0).kept == 0  # no cap: every pod may be on the node
    assert Rollout(3, Strategy.DRAIN, 0, 0, on_drained=2, node_cap=1).kept == 1  # a count given wins


def _follow(rollout: Rollout, rules: Placement, w: NodeWitness, eager: bool) -> None:
    """Replays a witness step by step on plain counts: every step is one the controller,
    the scheduler or a pod can take there (scale-downs by rank: no node keeps an old pod
    while one with fewer of the Deployment's pods loses one), with an eager controller only
    the scheduler acts before a pending sync, and ``empty`` ends with no Ready pod."""
    nodes = rules.feasible
    old = dict(zip(nodes, w.initial))
    starting = dict.fromkeys(nodes, 0)
    available = dict.fromkeys(nodes, 0)
    unbound = 0

    def action() -> Action | None:
        return reconcile(rollout, RolloutState(sum(old.values()), sum(starting.values()) + sum(available.values())
                                              + unbound, sum(available.values())))

    for e in w.events:
        a = action()
        if eager and a is not None:
            assert e.kind in (NodeStep.SCALE_UP, NodeStep.SCALE_DOWN, NodeStep.BIND)
        if e.kind is NodeStep.SCALE_UP:
            assert a == Action(ActionKind.SCALE_UP, e.count)
            unbound += e.count
        elif e.kind is NodeStep.SCALE_DOWN:
            assert a == Action(ActionKind.SCALE_DOWN, sum(e.picks))
            rank = {n: old[n] + starting[n] + available[n] for n in nodes}
            picked = [n for n, d in zip(nodes, e.picks) if d]
            kept = [n for n, d in zip(nodes, e.picks) if old[n] > d]
            assert all(rank[p] >= rank[k] for p in picked for k in kept)
            for n, d in zip(nodes, e.picks):
                assert 0 <= d <= old[n]
                old[n] -= d
        elif e.kind is NodeStep.BIND:
            here = [Placed(n, False, False) for n in nodes for _ in range(old[n])] + [
                Placed(n, True, False) for n in nodes for _ in range(starting[n] + available[n])]
            assert unbound and rules.room(e.node, True, here)
            unbound -= 1
            starting[e.node] += 1
        elif e.kind is NodeStep.AVAILABLE:
            # -1: a pod still starting on a node that already has an available one (which one
            # changes nothing)
            node = e.node if e.node >= 0 else next(n for n in nodes if starting[n] and available[n])
            assert starting[node]
            starting[node] -= 1
            available[node] += 1
    assert old[w.empty] + available[w.empty] == 0


@pytest.mark.parametrize("rollout, per_revision", [
    (Rollout(3, Strategy.ROLLING_UPDATE, 1, 0), False),  # the second new pod joins the first
    (Rollout(6, Strategy.ROLLING_UPDATE, 2, 1), True),  # maxUnavailable lets rule 5 take a node's pods
    (Rollout(9, Strategy.ROLLING_UPDATE, 3, 2), True),
])
def test_a_node_that_is_not_kept_has_a_witness_that_can_be_followed(rollout: Rollout, per_revision: bool) -> None:
    rules = _spread(3, per_revision)
    facts = node_facts(rollout, rules)
    assert not facts.kept and facts.witness is not None
    _follow(rollout, rules, facts.witness, eager=False)
    eager = node_witness(rollout, rules)
    assert eager is not None
    _follow(rollout, rules, eager, eager=True)


def test_no_witness_when_every_node_is_kept() -> None:
    rules = _spread(3, True)
    assert node_facts(Rollout(3, Strategy.ROLLING_UPDATE, 1, 0), rules).witness is None
    assert node_witness(Rollout(3, Strategy.ROLLING_UPDATE, 1, 0), rules) is None
