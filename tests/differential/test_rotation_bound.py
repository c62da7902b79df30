"""The DaemonSet rotation bound (``model/checker/load_balancer.py: rotation_bound``) against
the simulator: where the bound says no instant finds every node removed, no simulated run
of any kind the search builds shows one; where it does not apply, the simulator finds such
runs (the check is not vacuous)."""
from __future__ import annotations

import random
from dataclasses import replace

import pytest

from zdverify.model.assumptions import settings as make_settings
from zdverify.model.candidates import _no_healthy_runs, random_timings
from zdverify.model.checker.load_balancer import rotation_bound
from zdverify.model.kube import build_objects
from zdverify.model.load import load_text
from zdverify.model.pairing import pair
from zdverify.model.run import Choices, NewTiming, OldTiming, Timing
from zdverify.model.scenario import Scenario, build_scenario
from zdverify.model.search import _tune_no_healthy
from zdverify.model.simulator.engine import simulate
from zdverify.specs import registry

# the pod template (a readiness probe; {hook}: a preStop line or none) and a Local LoadBalancer Service
POD_AND_SERVICE = """  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: c
        image: nginx
        ports: [{{containerPort: 80}}]
        readinessProbe: {{tcpSocket: {{port: 80}}, periodSeconds: 2}}
{hook}---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: {{app: web}}
  ports: [{{port: 80}}]
"""
PRESTOP_5 = "        lifecycle: {{preStop: {{sleep: {{seconds: 5}}}}}}\n"

DS = """apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: web}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  updateStrategy: {{type: RollingUpdate, rollingUpdate: {{maxSurge: 0, maxUnavailable: {k}}}}}
""" + POD_AND_SERVICE.replace("{hook}", PRESTOP_5)

PROFILES = ("generic", "gcp", "azure", "aws-clb")
NO_HEALTHY = next(p for p in registry.load(()) if p.slug == "no-healthy-target")


def _scenario(nodes: int, k: int, lb: str) -> Scenario:
    pairs, _ = pair(build_objects(load_text(DS.format(k=k), "ds.yaml")))
    return build_scenario(pairs[0], nodes, make_settings(lb=lb))


def _chain_runs(sc: Scenario) -> list[Timing]:
    """One node at a time with every gap near the removal threshold: the first nodes' new
    pods after a grid of start delays (their Ready reaching the nodes as late as allowed), the
    last one as slow as allowed."""
    b, n = sc.settings, sc.nodes
    lo, hi = b["pod-start"].lo, b["pod-start"].hi
    slow = (b["kube-proxy"].hi,) * n
    last = NewTiming(start=hi, app=b["app-startup"].hi, eps=b["endpointslice"].hi, proxy=slow)
    old = OldTiming(kubelet=0, eps_del=0, proxy_del=(0.0,) * n)
    grid = [lo + (hi - lo) * i / 12 for i in range(13)]
    out = []
    for first in grid:
        for rest in grid:
            mid = NewTiming(start=rest, eps=b["endpointslice"].hi, proxy=slow)
            new = (replace(mid, start=first),) + (mid,) * (n - 2) + (last,)
            out.append(Timing(ctrl=(0.0,), react=(0.0,), new=new, default_new=last, default_old=old))
    return out


def _violates(sc: Scenario, choices: Choices, timing: Timing) -> bool:
    run = simulate(sc, choices, timing, trace=False)
    if run.first(NO_HEALTHY) is not None:
        return True
    return any(simulate(sc, choices, t, trace=False).first(NO_HEALTHY) is not None
               for t in _tune_no_healthy(sc, timing, run))


def _runs(sc: Scenario) -> list[tuple[Choices, Timing]]:
    n = sc.nodes
    orders = [Choices(initial=tuple(range(n)), placement=tuple(range(n)), deletion=tuple(range(n))),
              Choices(initial=tuple(range(n)), placement=tuple(range(n)), deletion=tuple(reversed(range(n))))]
    timings = [t for _, t in _no_healthy_runs(sc, orders[:1])] + _chain_runs(sc)
    runs = [(ch, t) for ch in orders for t in timings]
    return runs + random_timings(sc, random.Random(n * 7 + sc.rollout.unavailable), 30, binding=True)


@pytest.mark.parametrize("lb", PROFILES)
def test_no_run_leaves_every_node_removed_where_the_bound_says_so(lb: str) -> None:
    applies = unbounded = 0
    for nodes, k in ((2, 1), (3, 1), (4, 1), (7, 1), (3, 2), (4, 2), (6, 2), (5, 3)):
        sc = _scenario(nodes, k, lb)
        bound = rotation_bound(sc)
        violated = next(((ch, t) for ch, t in _runs(sc) if _violates(sc, ch, t)), None)
        if bound is not None:
            applies += 1
            assert violated is None, f"{lb}, {nodes} nodes, maxUnavailable {k}: {bound.text}, yet a run has none healthy"
        elif violated is not None:
            unbounded += 1
    assert applies, f"{lb}: the bound applied to no case"
    if lb == "generic":  # where it does not apply, such runs exist (2 nodes one at a time, 3 nodes two at a time)
        assert unbounded >= 2


def test_the_bound_is_size_independent_and_scales_with_max_unavailable() -> None:
    assert rotation_bound(_scenario(2, 1, "generic")) is None  # two nodes: a real counterexample
    assert rotation_bound(_scenario(3, 1, "generic")) is not None  # one at a time: the exact chain
    assert all(rotation_bound(_scenario(n, 1, "generic")) is not None for n in (4, 40, 400))
    assert rotation_bound(_scenario(3, 2, "generic")) is None
    quarter = [rotation_bound(_scenario(n, "25%", "generic")) for n in (8, 100, 1000)]  # type: ignore[arg-type]
    assert all(f is not None for f in quarter)
    assert rotation_bound(_scenario(10, "100%", "generic")) is None  # type: ignore[arg-type]


DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  strategy: {{type: RollingUpdate, rollingUpdate: {{maxSurge: {surge}, maxUnavailable: {unavailable}}}}}
""" + POD_AND_SERVICE.replace("{hook}", "")


def _deployment(replicas: int, surge: int, unavailable: int, lb: str = "generic") -> Scenario:
    text = DEPLOYMENT.format(replicas=replicas, surge=surge, unavailable=unavailable)
    pairs, _ = pair(build_objects(load_text(text, "web.yaml")))
    return build_scenario(pairs[0], 3, make_settings(lb=lb))


def _deployment_runs(sc: Scenario) -> list[tuple[Choices, Timing]]:
    """The search's no-healthy-node runs (old pods piled on one node, new ones elsewhere),
    every pod as fast as allowed or after a grid of start delays, and random ones."""
    r = sc.rollout.replicas
    piled = [Choices(initial=(0,) * r, placement=(1, 2), deletion=tuple(range(r))),
             Choices(initial=(0,) * r, placement=(1,), deletion=tuple(range(r)))]
    runs = [(ch, t) for ch, t in _no_healthy_runs(sc, piled)]
    return runs + random_timings(sc, random.Random(r), 30, binding=True)


def test_no_deployment_run_leaves_every_node_removed_where_the_refill_bound_says_so() -> None:
    from zdverify.model.checker.load_balancer import refill_bound
    found_unbounded = False
    for replicas, surge, unavailable in ((2, 1, 0), (3, 1, 0), (21, 1, 0), (25, 1, 0), (45, 2, 0), (12, 1, 1)):
        sc = _deployment(replicas, surge, unavailable)
        bound = refill_bound(sc)
        violated = any(_violates(sc, ch, t) for ch, t in _deployment_runs(sc))
        if bound is not None:
            assert not violated, f"{replicas} replicas {surge}/{unavailable}: {bound.text}, yet a run has none healthy"
        found_unbounded |= violated
    assert found_unbounded  # with few replicas such runs exist: the check is not vacuous
    assert refill_bound(_deployment(20, 1, 0)) is None and refill_bound(_deployment(21, 1, 0)) is not None
    assert refill_bound(_deployment(1000, 1, 0)) is not None  # and for every larger count


STATEFULSET = """apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: web}}
spec:
  replicas: {replicas}
  serviceName: web
  selector: {{matchLabels: {{app: web}}}}
""" + POD_AND_SERVICE


def test_no_statefulset_run_leaves_every_node_removed_where_the_ordered_bound_says_so() -> None:
    from zdverify.model.checker.load_balancer import ordered_bound
    hook = "        lifecycle: {preStop: {sleep: {seconds: 20}}}\n"
    found_unbounded = False
    for replicas, with_hook in ((1, False), (2, True), (3, False), (3, True), (22, False)):
        text = STATEFULSET.format(replicas=replicas, hook=hook if with_hook else "")
        pairs, _ = pair(build_objects(load_text(text, "web.yaml")))
        sc = build_scenario(pairs[0], 3, make_settings())
        bound = ordered_bound(sc)
        violated = any(_violates(sc, ch, t) for ch, t in _deployment_runs(sc))
        if bound is not None:
            assert not violated, f"{replicas} replicas: {bound.text}, yet a run has none healthy"
        else:
            found_unbounded |= violated
        assert (bound is not None) == (replicas == 22 or (replicas == 3 and with_hook)), replicas
    assert found_unbounded  # one pod, or two, one after the other: such runs exist
