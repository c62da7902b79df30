"""Runs that follow the per-node exploration's witness (model/guided.py): the simulator
takes the witness's steps — the same deletions, batch by batch, on the same nodes — and
the node it names loses its last local ready endpoint."""
from __future__ import annotations

from collections import Counter

import pytest

from zdverify.model.assumptions import settings
from zdverify.model.checker.node_exploration import NodeStep, node_facts, node_witness
from zdverify.model.guided import guided_runs
from zdverify.model.kube import build_objects
from zdverify.model.load import load_text
from zdverify.model.pairing import pair
from zdverify.model.scenario import Scenario, build_scenario
from zdverify.model.simulator.engine import simulate
from zdverify.model.verdict import EventKind


def scenario(replicas: int, nodes: int, surge: str, unavailable: str, keys: bool = True) -> Scenario:
    text = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
        f"  replicas: {replicas}\n  selector: {{matchLabels: {{app: web}}}}\n"
        f"  strategy: {{rollingUpdate: {{maxSurge: {surge}, maxUnavailable: {unavailable}}}}}\n"
        "  template:\n    metadata: {labels: {app: web}}\n    spec:\n"
        "      topologySpreadConstraints:\n      - {maxSkew: 1, topologyKey: kubernetes.io/hostname,"
        " whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: web}}"
        + (", matchLabelKeys: [pod-template-hash]" if keys else "") + "}\n"
        "      containers:\n      - name: web\n        image: nginx\n        ports: [{containerPort: 80}]\n"
        "        readinessProbe: {tcpSocket: {port: 80}, periodSeconds: 5}\n"
        "        lifecycle: {preStop: {sleep: {seconds: 30}}}\n"
        "---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n"
        "  type: LoadBalancer\n  externalTrafficPolicy: Local\n  selector: {app: web}\n  ports: [{port: 80}]\n")
    pairs, _ = pair(build_objects(load_text(text, "t.yaml")))
    return build_scenario(pairs[0], nodes, settings())


@pytest.mark.parametrize("replicas, nodes, surge, unavailable, keys", [
    (6, 3, "25%", "25%", True),  # the shapes the search left inconclusive before
    (12, 3, "25%", "25%", True),
    (12, 5, "25%", "25%", True),
    (30, 10, "25%", "25%", True),
    (3, 3, 1, 0, False),  # without matchLabelKeys a second new pod may join the first
])
def test_guided_run_takes_the_witness_deletions_and_empties_its_node(replicas, nodes, surge, unavailable,
                                                                      keys) -> None:
    sc = scenario(replicas, nodes, surge, unavailable, keys)
    w = node_witness(sc.rollout, sc.placement)
    assert w is not None
    want = [Counter({n: d for n, d in zip(sc.placement.feasible, e.picks) if d})
            for e in w.events if e.kind is NodeStep.SCALE_DOWN]
    runs = guided_runs(sc, w)
    assert runs
    for choices, timing in runs:
        run = simulate(sc, choices, timing)
        got: list[Counter] = []
        for s in run.steps:
            if s.kind is EventKind.SCALE_DOWN:
                got.append(Counter())
            elif s.kind is EventKind.POD_DELETED:
                got[-1][run.pod_nodes[s.pod]] += 1
        assert got[:len(want)] == want
        assert w.empty in run.local_empty_at


def test_a_witness_that_needs_the_bounds_exactly_is_followed_at_them() -> None:
    """30 replicas on 3 nodes, 25 %/25 %: no eager run empties a node; the exploration's run
    waits with the scale-down until three new pods are available. That is a timed run only
    at the bounds — the controller's follow-up after its full 1 s, pods available after
    exactly the 1 s pod-start low bound, at the same instant — and the guided run takes it."""
    sc = scenario(30, 3, "25%", "25%")
    assert node_witness(sc.rollout, sc.placement) is None
    w = node_facts(sc.rollout, sc.placement).witness
    assert w is not None
    assert any(w.empty in simulate(sc, c, t).local_empty_at for c, t in guided_runs(sc, w))
