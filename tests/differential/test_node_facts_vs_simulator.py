"""The per-node exploration against the simulator, on shapes larger than the main
differential test draws (up to 4 nodes and 13 replicas): when ``node_facts`` says every
node keeps a Ready pod, no simulated run — any placement the scheduler's filters allow,
any tie the ReplicaSet's ranking leaves, any timing within the bounds — leaves a node's
kube-proxy without a local ready endpoint. Proofs of Local traffic rest on that claim.
When it says a node is not kept, a run that follows its witness empties that node.
"""
from __future__ import annotations

import random

from hypothesis import HealthCheck, assume, given, settings, strategies as st

from test_checker_vs_simulator import EXAMPLES
from zdverify.model.assumptions import settings as make_settings
from zdverify.model.candidates import random_timings
from zdverify.model.checker.node_exploration import node_facts, node_witness
from zdverify.model.guided import guided_runs
from zdverify.model.kube import build_objects
from zdverify.model.load import load_text
from zdverify.model.pairing import pair
from zdverify.model.scenario import build_scenario
from zdverify.model.simulator.engine import simulate


def manifest(replicas: int, surge: int, unavailable: int, per_revision: bool) -> str:
    keys = ", matchLabelKeys: [pod-template-hash]" if per_revision else ""
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
        f"  replicas: {replicas}\n  selector: {{matchLabels: {{app: web}}}}\n"
        f"  strategy: {{rollingUpdate: {{maxSurge: {surge}, maxUnavailable: {unavailable}}}}}\n"
        "  template:\n    metadata: {labels: {app: web}}\n    spec:\n"
        "      topologySpreadConstraints:\n      - {maxSkew: 1, topologyKey: kubernetes.io/hostname,"
        f" whenUnsatisfiable: DoNotSchedule, labelSelector: {{matchLabels: {{app: web}}}}{keys}}}\n"
        "      containers:\n      - name: web\n        image: nginx\n        ports: [{containerPort: 80}]\n"
        "        readinessProbe: {tcpSocket: {port: 80}, periodSeconds: 2}\n"
        "        lifecycle: {preStop: {sleep: {seconds: 5}}}\n"
        "---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n"
        "  type: LoadBalancer\n  externalTrafficPolicy: Local\n  selector: {app: web}\n  ports: [{port: 80}]\n")


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(nodes=st.integers(2, 4), per_node=st.integers(1, 3), extra=st.integers(0, 1),
       surge=st.integers(0, 2), unavailable=st.sampled_from([0, 0, 1]), per_revision=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_when_every_node_keeps_a_pod_no_run_empties_one(nodes: int, per_node: int, extra: int, surge: int,
                                                       unavailable: int, per_revision: bool, seed: int) -> None:
    assume(surge or unavailable)
    text = manifest(nodes * per_node + extra, surge, unavailable, per_revision)
    pairs, _ = pair(build_objects(load_text(text, "spread.yaml")))
    sc = build_scenario(pairs[0], nodes, make_settings())
    facts = node_facts(sc.rollout, sc.placement)
    assume(facts.kept)
    # random placements among those the filters allow (bound at once or later), deletion
    # tie-breaks and delays at or between their bounds
    for choices, timing in random_timings(sc, random.Random(seed), 8, binding=True):
        run = simulate(sc, choices, timing)
        assert run.completed
        assert not run.local_empty_at, (f"node_facts kept every node, but node(s) {run.local_empty_at} lost their "
                                        f"last local ready endpoint\n{text}")


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(nodes=st.integers(2, 4), per_node=st.integers(1, 3), extra=st.integers(0, 1),
       surge=st.integers(0, 2), unavailable=st.sampled_from([0, 1, 2]), per_revision=st.booleans())
def test_a_node_the_exploration_empties_is_emptied_by_a_run_that_follows_it(
        nodes: int, per_node: int, extra: int, surge: int, unavailable: int, per_revision: bool) -> None:
    """The other way round: when a node is not kept, the eager controller's witness is a
    run the simulator can take — the guided candidates (model/guided.py) leave that node's
    kube-proxy without a local ready endpoint. Local counterexamples under spreads rest on
    that (they were inconclusive when no hand-made layout replayed)."""
    assume(surge or unavailable)
    text = manifest(nodes * per_node + extra, surge, unavailable, per_revision)
    pairs, _ = pair(build_objects(load_text(text, "spread.yaml")))
    sc = build_scenario(pairs[0], nodes, make_settings())
    assume(not node_facts(sc.rollout, sc.placement).kept)
    w = node_witness(sc.rollout, sc.placement)
    assert w is not None, f"no eager witness\n{text}"
    emptied = [simulate(sc, choices, timing).local_empty_at for choices, timing in guided_runs(sc, w)]
    assert any(w.empty in e for e in emptied), f"no guided run empties node {w.empty}: {emptied}\n{text}"
