"""Several workloads behind one Service: canary, blue/green, versions (bookinfo's reviews
v1/v2/v3). The Service's endpoints are the union of their pods.

A workload's rollout is checked with the other workloads' pods serving throughout — they
are not rolled at the same time; this is stated as an assumption on every result. What
their pods change:

1. ``no-healthy-target`` holds outright: a node with one of their pods stays healthy (pod
   IP targets: their targets do), so the load balancer always has a healthy target and
   never fails open.
2. ``no-endpoint`` (a node or the Service without a usable endpoint) holds on the entries
   they cover, and there kube-proxy always has a Ready endpoint, so it never falls back to
   terminating ones. Claims about a bad pod receiving a request (``startup``,
   ``termination``, ``killed-in-flight``, ``connection-reuse``) and ``stalled`` are
   otherwise checked as for the workload alone: more serving endpoints do not remove a path
   to a bad one (kube-proxy picks among all endpoints), so proofs and counterexamples stand.
3. An entry is *covered* — the other pods are endpoints wherever its requests go — when its
   traffic policy is Cluster (every node routes to every endpoint), when the load balancer
   targets pod IPs (its target group holds their pods), or, for Local traffic, when one of
   them runs a pod on every node: a DaemonSet without node constraints in a cluster without
   a cluster file (one that every node runs). Otherwise, for Local traffic, their pods are
   taken to be on other nodes — a placement the scheduler may choose — and the entry is
   checked as for the workload alone.
4. Spec-file properties are checked as for the workload alone (the other pods are not part
   of the model's pod domain); the assumption says so.
"""
from __future__ import annotations

from dataclasses import replace

from zdverify.model.objects import Field, Workload, WorkloadKind
from zdverify.model.scenario import EntrySpec, Scenario
from zdverify.model.verdict import Assumption, Cause, Fact, Property

def holds(prop: Property, covered: bool) -> bool:
    """Does a built-in property hold outright with the other pods serving, on entries they
    cover (``covered``) or not?"""
    if not prop.builtin:
        return False
    return prop.cause is Cause.NO_HEALTHY_TARGET or (covered and prop.cause is Cause.NO_ENDPOINT)


def never_fails_open(sc: Scenario) -> Scenario:
    """Some node (or target) is always healthy: a load balancer that fails open never does."""
    lb = sc.settings.lb
    return replace(sc, settings=replace(sc.settings, lb=replace(lb, fail_open=False))) if lb.fail_open else sc


def _everywhere(w: Workload, sc: Scenario) -> bool:
    t = w.template
    return (w.kind is WorkloadKind.DAEMON_SET and not sc.node_labels and not t.node_selector
            and not t.required_node_terms)


def covered(entry: EntrySpec, sc: Scenario) -> bool:
    """Are the other workloads' pods endpoints wherever this entry's requests go?"""
    return entry.ip or not entry.local or any(_everywhere(w, sc) for w in sc.pair.companions)


def describe(companions: tuple[Workload, ...]) -> str:
    return ", ".join(f"{w.ref} ({'a pod per node' if w.kind is WorkloadKind.DAEMON_SET else _replicas(w.replicas)})"
                     for w in companions)


def _replicas(n: int) -> str:
    return f"{n} replica{'' if n == 1 else 's'}"


def assumption(sc: Scenario) -> Assumption:
    pair = sc.pair
    return Assumption(
        "other-workloads", describe(pair.companions), "manifest",
        f"{pair.service.ref} also selects their pods: they serve throughout, not rolled at the same time; "
        "the load balancer always has a healthy target; no-endpoint holds and kube-proxy never falls back to "
        "terminating endpoints where they are endpoints (Cluster policy, pod IP targets; Local only where they "
        "surely run on every node, else they are taken to be on other nodes); spec-file properties are checked "
        "without them",
        pair.service.loc_of(Field.SERVICE_SELECTOR))


def fact(sc: Scenario) -> Fact:
    """What a proof by the other workloads' pods rests on."""
    return Fact("other-workloads", f"{sc.pair.service.ref} also selects {describe(sc.pair.companions)}",
                sc.pair.service.loc_of(Field.SERVICE_SELECTOR))
