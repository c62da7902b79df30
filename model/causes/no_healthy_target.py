"""Cause ``no-healthy-target``: the load balancer finds no node (Local) or pod target (IP
targets) healthy, so every new connection fails there — or, where it fails open, goes to
every registered node, and those without a local endpoint drop it. Its fix, the smallest
``minReadySeconds`` the checker proves enough, keeps the last old pod until a new pod's
node has passed the load balancer's checks."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

from zdverify.model.candidates import queries
from zdverify.model.causes.handler import CauseHandler, Witness, claim_fails, via
from zdverify.model.checker.graph import GraphFacts, facts
from zdverify.model.fix_search import context, proved, smallest
from zdverify.model.objects import Field, Strategy, WorkloadKind
from zdverify.model.scenario import Scenario
from zdverify.model.verdict import Blame, Cause, Property

MAX_MIN_READY = 600  # the largest minReadySeconds the fix search tries


def _ip(sc: Scenario) -> bool:
    return any(e.ip for e in sc.entries)


def _outcome(sc: Scenario) -> str:
    lb = sc.settings.lb
    if lb.fail_open and not _ip(sc):
        return (f"then {lb.name} fails open: it sends to every node, and a node without a local endpoint "
                "DROPs the request")
    return f"then {lb.name} has nowhere to send a new connection: it fails"


@dataclass(frozen=True)
class NoHealthyTarget(CauseHandler):
    cause = Cause.NO_HEALTHY_TARGET

    def why(self, sc: Scenario) -> str:
        lb, b = sc.settings.lb, sc.settings
        if _ip(sc):
            return ("old pod targets leave the target group (deregistered, or failing their checks) before a new "
                    f"target has passed {lb.healthy} health checks (registration alone takes up to "
                    f"{b['lb-register'].hi:g}s); " + _outcome(sc))
        add = lb.add_max
        return ("with externalTrafficPolicy: Local a node passes the load balancer's check only while its "
                "kube-proxy has a local ready, non-terminating endpoint: an old pod's node fails from the pod's "
                f"deletion on and is removed {(lb.unhealthy - 1) * lb.interval:g}s or more later, while a new "
                f"pod's node is added only after {lb.healthy} passing checks (up to {add:g}s after its Ready "
                f"reaches the node). With {sc.rollout.replicas} replica(s) every old pod's node can be removed "
                "before any new pod's node is added; " + _outcome(sc))

    def blame(self, sc: Scenario) -> list[Blame]:
        w, svc = sc.pair.workload, sc.pair.service
        lb = sc.settings.lb
        if _ip(sc):
            return [Blame(w.loc_of(Field.MIN_READY_SECONDS), Field.MIN_READY_SECONDS,
                          f"{sc.min_ready:g}: an old pod is deleted before the new pod's target is healthy")]
        out = [Blame(svc.loc_of(Field.EXTERNAL_TRAFFIC_POLICY), Field.EXTERNAL_TRAFFIC_POLICY,
                     f"Local: {lb.name} sends only to nodes that passed {lb.healthy} health checks with a local "
                     "ready pod")]
        if w.kind is WorkloadKind.DEPLOYMENT or sc.rollout.strategy is Strategy.DAEMON_SET:
            out.append(Blame(w.loc_of(Field.MIN_READY_SECONDS), Field.MIN_READY_SECONDS,
                             f"{sc.min_ready:g}s: the last old pod is deleted as soon as a new pod is available, "
                             "before the load balancer adds the new pod's node"))
        return out

    def fix(self, sc: Scenario, prop: Property, gf: GraphFacts | None) -> str:
        ip = _ip(sc)
        if ip and sc.pod.lb_gate is None:
            return (f"enable the AWS Load Balancer Controller's pod readiness gate: label namespace "
                    f"{sc.pair.workload.namespace!r} with elbv2.k8s.aws/pod-readiness-gate-inject=enabled (a new pod "
                    "is then Ready, and an old one deleted, only once its target is healthy)")
        cluster = ("more replicas (the target group keeps healthy old targets longer)" if ip else
                   "set externalTrafficPolicy: Cluster (every node is then a healthy target)")
        r = sc.rollout
        if r.strategy not in (Strategy.ROLLING_UPDATE, Strategy.DAEMON_SET) or r.replicas - r.unavailable < 1:
            keep = ("strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}} and "
                    if r.strategy in (Strategy.ROLLING_UPDATE, Strategy.RECREATE) else "")
            return f"{keep}{cluster}" if not keep else \
                f"{keep}a minReadySeconds above the load balancer's add-back time; or {cluster}"
        n = minimal_min_ready(sc, prop, gf if gf is not None else facts(sc.rollout))
        if n is None:
            return cluster
        if ip:
            return f"spec.minReadySeconds: {n} — the last old pod is then deleted only once a new target is healthy"
        return (f"spec.minReadySeconds: {n} — the last old pod is then deleted only once a new pod's node has "
                f"passed the load balancer's checks; or {cluster}; or pod IP targets with the AWS Load Balancer "
                "Controller's readiness gate (a new pod is Ready only once its target is healthy)")

    def describe(self, w: Witness) -> str:
        if w.found is None or w.found.bindings:  # not the built-in claim's shape: say which claim fails
            return claim_fails(w)
        e = w.found.entry
        lb = "the load balancer"
        if e is not None and e.ip:
            return f"{via(w)} finds no healthy target: the connection fails"
        if w.timeline.fail_open:
            return (f"{lb} finds no node healthy and fails open: it sends to every node, and nodes without a "
                    "local endpoint DROP the request (the client waits until its timeout)")
        return f"{lb} finds no node healthy: every new connection fails there"


HANDLER = NoHealthyTarget()


def minimal_min_ready(sc: Scenario, prop: Property, gf: GraphFacts) -> int | None:
    """Smallest ``minReadySeconds`` (whole seconds, up to 600) under which the checker proves
    ``prop``; None if none does."""
    ctx = context()  # one for the whole search

    def safe(n: int) -> bool:
        variant = replace(sc, min_ready=float(n))
        return proved(variant, queries(prop, variant, gf), ctx)

    b, lb = sc.settings, sc.settings.lb
    guess = math.ceil(b["endpointslice"].hi + b["kube-proxy"].hi + lb.add_max) + 1
    return smallest(safe, math.ceil(sc.min_ready), guess, MAX_MIN_READY)
