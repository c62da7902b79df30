"""The Z3 timing components (model/checker/: kubelet.py, endpointslice.py, kube_proxy.py,
load_balancer.py, encoding.py): small facts as sat/unsat queries."""
from __future__ import annotations

import pytest
import z3

from zdverify.model.checker import endpointslice, kube_proxy, load_balancer
from zdverify.model.assumptions import settings
from zdverify.model.checker.endpointslice import RANK_NOT_SERVING, RANK_READY, RANK_TERMINATING, SliceChange
from zdverify.model.kube import build_objects
from zdverify.model.checker.kubelet import new_pod, old_pod
from zdverify.model.load import load_text
from zdverify.model.pairing import pair
from zdverify.model.scenario import Scenario, build_scenario
from zdverify.model.checker.encoding import Encoding
from zdverify.model.checker.entities import Case, NodeEntity, PodEntity
from zdverify.model.checker.graph import GraphFacts


def manifest(pod: str = "", grace: int = 30) -> str:
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
        "  replicas: 2\n  selector: {matchLabels: {app: web}}\n"
        "  template:\n    metadata: {labels: {app: web}}\n    spec:\n"
        f"      terminationGracePeriodSeconds: {grace}\n      containers:\n"
        "      - name: web\n        image: nginx\n        ports: [{name: http, containerPort: 8080}]\n" + pod +
        "---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n"
        "  selector: {app: web}\n  ports: [{port: 80, targetPort: 8080}]\n")


def prestop(command: str) -> str:
    return f"        lifecycle:\n          preStop:\n            exec: {{command: {command}}}\n"


def build(text: str, **kw) -> Scenario:
    pairs, _ = pair(build_objects(load_text(text, "t.yaml")))
    return build_scenario(pairs[0], 2, settings(**kw))


def encoding(pod: str = "", grace: int = 30, **kw) -> Encoding:
    return Encoding(build(manifest(pod, grace), **kw))


def sat(enc: Encoding, *extra: z3.BoolRef) -> bool:
    enc.solver.push()
    enc.add(*extra)
    r = enc.solver.check()
    enc.solver.pop()
    assert r in (z3.sat, z3.unsat)
    return r == z3.sat


# ------------------------------------------------------------------ the DESIGN worked example


def termination_race(enc: Encoding) -> z3.BoolRef:
    """Old pod deleted at 0; some instant t after its listener closed and before node-2's
    kube-proxy applied the deletion (DESIGN "Worked example", Implications A.4)."""
    deleted = enc.real("old.deleted")
    enc.add(deleted == 0)
    p = old_pod(enc, "old", deleted)
    c = SliceChange("old.del", deleted, RANK_TERMINATING)
    slices = endpointslice.publish(enc, [c], [])
    applied = kube_proxy.apply(enc, "node-2", [c], slices, [])
    t = enc.real("t")
    return z3.And(t >= p.close, t < applied["old.del"])


def test_worked_example_without_prestop_is_sat() -> None:
    """DESIGN worked example: with no preStop, closed(p) ≤ t < rules_n(p) is satisfiable."""
    enc = encoding()
    assert sat(enc, termination_race(enc))


def test_worked_example_prestop_3s_is_unsat() -> None:
    """Implications B: preStop ≥ D_eps + max D_proxy (1 s + 2 s, table C) proves the race away."""
    enc = encoding(prestop('[sleep, "3"]'))
    assert not sat(enc, termination_race(enc))
    enc = encoding(prestop('[sleep, "2"]'))
    assert sat(enc, termination_race(enc))


def test_worked_example_with_pessimistic_proxy_is_sat() -> None:
    """Table C: D_proxy [0, 5 s] pessimistic; the 3 s preStop no longer covers it."""
    enc = encoding(prestop('[sleep, "3"]'), assume={"kube-proxy": "0s..5s"})
    assert sat(enc, termination_race(enc))
    enc = encoding(prestop('[sleep, "6"]'), assume={"kube-proxy": "0s..5s"})
    assert not sat(enc, termination_race(enc))


# ------------------------------------------------------------------ readiness (§3)


@pytest.mark.parametrize("probe", [
    "        readinessProbe: {tcpSocket: {port: 8080}}\n",
    "        readinessProbe: {httpGet: {path: /, port: http}, periodSeconds: 3, successThreshold: 2}\n",
    "        readinessProbe: {tcpSocket: {port: 8080}}\n        startupProbe: {exec: {command: [cat, /x]}}\n",
])
def test_probe_on_served_port_ready_after_listen(probe) -> None:
    """§3: TCP/HTTP success on the served port means it accepts: ready ≥ listen is valid."""
    enc = encoding(probe)
    created = enc.real("new.created")
    enc.add(created == 0)
    p = new_pod(enc, "new", created)
    assert not sat(enc, p.ready < p.listen)
    assert sat(enc, p.ready >= p.listen)


def test_exec_probe_can_be_ready_before_listen() -> None:
    """§3: an exec probe proves nothing about the port; with app-startup (0..10 s) longer
    than initialDelay the pod can be Ready before it listens."""
    enc = encoding("        readinessProbe: {exec: {command: [cat, /ready]}, initialDelaySeconds: 2}\n")
    created = enc.real("new.created")
    enc.add(created == 0)
    p = new_pod(enc, "new", created)
    assert sat(enc, p.ready < p.listen)
    # ...but not if initialDelay exceeds every app start-up time
    enc = encoding("        readinessProbe: {exec: {command: [cat, /ready]}, initialDelaySeconds: 20}\n")
    created = enc.real("new.created")
    enc.add(created == 0)
    p = new_pod(enc, "new", created)
    assert not sat(enc, p.ready < p.listen)


def test_no_probe_ready_at_start() -> None:
    """§3: with no readiness probe the container is Ready as soon as it runs."""
    enc = encoding()
    created = enc.real("new.created")
    enc.add(created == 0)
    p = new_pod(enc, "new", created)
    assert not sat(enc, p.ready != p.start)
    assert sat(enc, p.ready < p.listen)


def test_first_readiness_in_window() -> None:
    """§3 [inference]: first success in [start+initialDelay, start+initialDelay+period]
    + (successThreshold−1)·period (+ answer within timeout)."""
    enc = encoding("        readinessProbe: {exec: {command: [cat, /r]}, initialDelaySeconds: 4, "
                   "periodSeconds: 5, successThreshold: 3, timeoutSeconds: 1}\n")
    created = enc.real("new.created")
    enc.add(created == 0)
    p = new_pod(enc, "new", created)
    lo, hi = 4 + 2 * 5, 4 + 5 + 2 * 5 + 1
    assert not sat(enc, p.ready - p.start < lo)
    assert not sat(enc, p.ready - p.start > hi)
    assert sat(enc, p.ready - p.start == lo)


# ------------------------------------------------------------------ grace period (§2.2)


@pytest.mark.parametrize("pod,grace", [
    ("", 30),
    (prestop('[sleep, "29"]'), 30),
    (prestop('[sleep, "60"]'), 10),
    (prestop("[nginx, -s, quit]"), 30),
    (prestop('[sh, -c, "sleep 5 && nginx -s quit"]'), 30),
    ("", 0),
    (prestop('[sleep, "5"]'), 1),
    (prestop('[sleep, "27.5"]'), 30),
])
def test_sigkill_at_least_two_seconds_after_sigterm(pod, grace) -> None:
    """§2.2: SIGKILL at SIGTERM + max(grace − preStop in whole seconds, 2): never less than
    2 s (``executePreStopHook`` returns ``int64(elapsed.Seconds())``)."""
    enc = encoding(pod, grace)
    deleted = enc.real("old.deleted")
    enc.add(deleted == 0)
    p = old_pod(enc, "old", deleted)
    assert not sat(enc, p.kill - p.sigterm < 2)
    hook = p.sigterm - p.seen
    whole = z3.ToReal(z3.ToInt(hook))
    assert not sat(enc, p.kill - p.sigterm != z3.If(grace - whole >= 2, grace - whole, 2))
    assert not sat(enc, hook > grace)  # the hook is bounded by the grace period
    assert not sat(enc, p.exit > p.kill)


def test_a_fractional_prestop_counts_in_whole_seconds() -> None:
    """After ``sleep 27.5`` with grace 30 the kubelet leaves 30 - 27 = 3 s, not 2.5 s."""
    enc = encoding(prestop('[sleep, "27.5"]'), 30)
    deleted = enc.real("old.deleted")
    enc.add(deleted == 0)
    p = old_pod(enc, "old", deleted)
    assert sat(enc, p.kill - p.sigterm == 3)
    assert not sat(enc, p.kill - p.sigterm != 3)


def test_kubelet_reaction_bound() -> None:
    """Table C: D_kubelet ∈ [0, 1 s]; exact preStop: SIGTERM = seen + preStop."""
    enc = encoding(prestop('[sleep, "4"]'))
    deleted = enc.real("old.deleted")
    enc.add(deleted == 0)
    p = old_pod(enc, "old", deleted)
    assert not sat(enc, z3.Or(p.seen < 0, p.seen > 1))
    assert not sat(enc, p.sigterm != p.seen + 4)


# ------------------------------------------------------------------ FIFO (§4, §5.1)


@pytest.mark.parametrize("rank_a,rank_b", [(RANK_READY, RANK_TERMINATING), (RANK_TERMINATING, RANK_READY),
                                           (RANK_NOT_SERVING, RANK_NOT_SERVING)])
def test_publish_and_apply_are_fifo(rank_a, rank_b) -> None:
    """EndpointSlice/kube-proxy simplification 1: a change made earlier is never delivered
    (to the slice, or to any node's rules) after a later one."""
    enc = encoding()
    a = SliceChange("a", enc.real("a.at"), rank_a)
    b = SliceChange("b", enc.real("b.at"), rank_b)
    slices = endpointslice.publish(enc, [a, b], [])
    n1 = kube_proxy.apply(enc, "node-1", [a, b], slices, [])
    n2 = kube_proxy.apply(enc, "node-2", [a, b], slices, [])
    enc.add(a.at < b.at)
    assert not sat(enc, slices["a"] > slices["b"])
    assert not sat(enc, n1["a"] > n1["b"])
    assert not sat(enc, n2["a"] > n2["b"])
    # nodes are independent of each other (§5.1 / A.3): node-2 may lag node-1 by D_proxy
    assert sat(enc, n2["a"] - n1["b"] == 2)
    # delays stay within the bounds
    assert not sat(enc, slices["a"] > a.at + 1)
    assert not sat(enc, n1["a"] < slices["a"])


def test_same_instant_ready_before_terminating() -> None:
    """endpointslice RANK_*: at the same instant a pod becoming ready precedes a deletion."""
    enc = encoding()
    a = SliceChange("ready", enc.real("t0"), RANK_READY)
    b = SliceChange("term", enc.real("t0"), RANK_TERMINATING)
    slices = endpointslice.publish(enc, [b, a], [])
    assert not sat(enc, slices["term"] < slices["ready"])
    c = SliceChange("x", enc.real("t1"), RANK_TERMINATING)
    d = SliceChange("y", enc.real("t1"), RANK_TERMINATING)
    s2 = endpointslice.publish(enc, [c, d], [])
    assert sat(enc, s2["x"] > s2["y"]) and sat(enc, s2["x"] < s2["y"])  # same rank: either order


def test_same_order_pairs() -> None:
    """fifo's ``same_order``: changes of one pod keep their known order."""
    enc = encoding()
    a = SliceChange("p.del", enc.real("p.del.at"), RANK_TERMINATING)
    b = SliceChange("p.unready", enc.real("p.unready.at"), RANK_NOT_SERVING)
    enc.add(a.at == b.at)
    slices = endpointslice.publish(enc, [a, b], [("p.del", "p.unready")])
    assert not sat(enc, slices["p.del"] > slices["p.unready"])


# ------------------------------------------------------------------ load balancer (A.6, §6.2)


def test_lb_stops_sending_window() -> None:
    """Implications A.6: the LB stops sending new flows [(U−1)·I, U·I + timeout] after the
    node's health check starts failing."""
    enc = encoding()
    lb = enc.sc.settings.lb
    flip = enc.real("flip")
    t = load_balancer.stops_sending(enc, "node-2", flip)
    lo = (lb.unhealthy - 1) * lb.interval
    hi = lb.unhealthy * lb.interval + lb.timeout
    assert not sat(enc, t - flip < lo)
    assert not sat(enc, t - flip > hi)
    assert sat(enc, t - flip == lo)
    assert sat(enc, t - flip > hi - 0.01)
    assert (lo, hi) == (20, 36)  # generic profile: every 10 s, timeout 6 s, 3 failures


def routes_of_a_deleted_pod(k8s_version: str) -> tuple[Encoding, z3.BoolRef, z3.BoolRef]:
    """``kube_proxy.routes`` for an old pod whose removal from the ready set node n applied
    at 1 and whose not-serving change at 5, at t = 3 (Cluster: every pod is in scope);
    also ``NR(n)``."""
    enc = encoding(k8s_version=k8s_version)
    case = Case(enc, GraphFacts(1, 0, True, True, True), local=False, lb=False)
    p = PodEntity("old", True, "bound", z=old_pod(enc, "old", enc.real("old.deleted")))
    n = NodeEntity("n", True)
    case.pods.append(p)
    case.nodes.append(n)
    case.applied[("n", "old.del")] = enc.real("n.old.del")
    case.applied[("n", "old.unready")] = enc.real("n.old.unready")
    case.no_ready["n"] = z3.Bool("NR.n", enc.ctx)
    enc.add(enc.real("n.old.del") == 1, enc.real("n.old.unready") == 5, case.t == 3)
    return enc, kube_proxy.routes(case, n, p), case.no_ready["n"]


def test_routes_to_a_terminating_endpoint_only_without_a_ready_one_in_scope() -> None:
    """§5.2/KEP-1669: without the fallback a deleted pod is chosen until its removal is
    applied; with it (1.26+), also while it still counts as serving — but only when no
    ready endpoint is in scope (``NR(n)``)."""
    enc, routes, nr = routes_of_a_deleted_pod("1.25")
    assert not sat(enc, routes)
    enc, routes, nr = routes_of_a_deleted_pod("1.28")
    assert sat(enc, routes, nr)
    assert not sat(enc, routes, z3.Not(nr))


def test_model_of_worked_example_is_a_trace() -> None:
    """DESIGN: "Z3's model *is* the trace": the values read back satisfy the race."""
    enc = encoding()
    race = termination_race(enc)
    enc.add(race)
    assert enc.solver.check() == z3.sat
    t, close, rules = enc.value("t"), enc.value("old.close"), enc.value("node-2.old.del")
    assert close <= t < rules <= 3.0
    assert enc.value("old.deleted") == 0.0
    assert 0.0 <= enc.value("old.kubelet") <= 1.0
