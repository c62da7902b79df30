"""From a decided property to what a user reads: the trace steps that matter, the
manifest lines to blame, why it fails, and the smallest fix the checker verifies."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable

import z3

from zdverify.model.deployment import GraphFacts, facts, node_facts
from zdverify.model.checker.endpointslice import MAX_ENDPOINTS_PER_SLICE
from zdverify.model.objects import Strategy, WorkloadKind
from zdverify.model.compile import SOLVER_TIMEOUT_MS, Query, queries
from zdverify.grammar.spec_language import ClaimKind
from zdverify.model.scenario import Entry, HookSpec, Scenario
from zdverify.model.scheduler import HOSTNAME_LABEL, Node, discouraged
from zdverify.model.run import Choices, Timing
from zdverify.model.simulator.engine import Run, Violation
from zdverify.model.checker.encoding import Encoding
from zdverify.model.verdict import (
    Assumption,
    Blame,
    Cause,
    Component,
    EventKind,
    Property,
    Result,
    Step,
    Verdict,
)

TRACE_CAP = 40  # steps kept in a printed trace (the first and the last half)


@dataclass(frozen=True)
class Outcome:
    """What deciding one property produced; ``result`` turns it into what users read."""

    verdict: Verdict
    run: Run | None = None
    violation: Violation | None = None
    reason: str = ""
    candidate: tuple[Choices, Timing] | None = None  # the replayed run's inputs (a counterexample's)



def _assumptions(sc: Scenario, gf: GraphFacts | None) -> tuple[Assumption, ...]:
    from_file = sc.settings.origins.get("nodes")
    extra = (
        Assumption("nodes", ", ".join(sc.node_names) if from_file else str(sc.nodes),
                   from_file or ("flag" if sc.nodes != 3 else "default"),
                   f"pods of this workload may run on {len(sc.feasible)} of them"
                   if from_file else "every node is feasible for every pod (no cluster file)"),
        Assumption("deletion-order", "highest ordinal" if sc.rollout.strategy is Strategy.STATEFUL_SET
                   else "ReplicaSet ranking" if gf is not None and gf.node_kept else "any old pod", "model",
                   "highest ordinal first; the ordinals only name pods that differ in placement, which "
                   "the proofs leave free" if sc.rollout.strategy is Strategy.STATEFUL_SET else
                   f"old pods on nodes with more pods of the Deployment go first (rule 5; the template's "
                   f"pod-deletion-cost alike), ties free: with the placement rules, every node keeps a "
                   f"Ready pod in all {gf.node_states} per-node states, and the old pods were placed by the "
                   + ("same rules (their template, --from, has them)" if sc.from_previous else
                      "same rules (use --from if this change adds them)") if gf is not None and gf.node_kept else
                   "proofs over-approximate the ReplicaSet ranking; replayed traces follow it "
                   "(doubled-up nodes first, ties free)"),
        Assumption("entries", ", ".join(e.text for e in sc.entries), "manifest",
                   "clients may send a request at any instant"),
    )
    most = _most_endpoints(sc)
    if most > MAX_ENDPOINTS_PER_SLICE:
        extra += (Assumption("endpointslices", "one slice, in order", "model",
                             f"up to {most} endpoints at once (old pods until gone, and new ones): past "
                             f"{MAX_ENDPOINTS_PER_SLICE} the controller splits them over several slices, written "
                             "one at a time, and kube-proxy may briefly see one before another — not modelled"),)
    rules = sc.placement
    if rules.limited:
        slots = rules.slots()
        extra += (Assumption("placement", f"{slots} pods at once" if slots else "per revision", "manifest",
                             f"{rules.why()}: a new pod without room stays Pending until a pod is gone "
                             "(a terminating pod still holds its place); proofs leave its start unbounded",
                             rules.loc),)
    if not rules.exact:
        extra += (Assumption("scheduling", "not modelled exactly", "model",
                             f"{rules.unmodelled}: proofs let a new pod wait for a node any time, but take "
                             "the rollout to finish (a pod Pending forever is not found)",
                             rules.loc or sc.pair.workload.loc_of("spec.template.spec.affinity")),)
    return sc.settings.assumptions(any(e.ip for e in sc.entries)) + extra


def _trace(sc: Scenario, run: Run, v: Violation) -> tuple[Step, ...]:
    """The steps a reader needs: controller actions, the pods involved (the violating pod,
    or for a Local entry the pods on the node), that node's kube-proxy and load balancer."""
    node = sc.node_name(v.node)
    if v.pod is not None:
        pods = {v.pod}
    elif v.entry is not None and v.entry.local:
        pods = {name for name, n in run.pod_nodes.items() if n == v.node}
    else:
        pods = set(run.pod_nodes)

    def about(s: Step) -> bool:
        return s.pod in pods

    # a node loses its last local pod by where the others are (the ReplicaSet deletes on the
    # fullest nodes first): with few pods, show where every new pod went and which went away
    others = [s for s in run.steps if s.t <= v.t_end + 1e-9 and s.pod not in pods
              and s.kind in (EventKind.POD_CREATED, EventKind.POD_SCHEDULED, EventKind.POD_DELETED)]
    placing = set(map(id, others)) if v.entry is not None and v.entry.local and len(others) <= 12 else set()
    keep = []
    for s in run.steps:
        if s.t > v.t_end + 1e-9:
            break
        if s.component in (Component.DEPLOYMENT, Component.DAEMONSET, Component.STATEFULSET, Component.KUBECTL) \
                and not s.where:  # controller actions; their pod steps are kept below when they matter
            keep.append(s)
        elif s.component in (Component.KUBE_PROXY, Component.LOAD_BALANCER):
            ip = v.entry is not None and v.entry.ip
            if s.where == node and ((s.component is Component.LOAD_BALANCER and not ip) or about(s)):
                keep.append(s)
        elif id(s) in placing:
            keep.append(s)
        elif about(s) and (v.pod is not None or s.kind in (
                EventKind.POD_DELETED, EventKind.POD_CREATED, EventKind.POD_SCHEDULED, EventKind.POD_PENDING,
                EventKind.READY, EventKind.SIGTERM,
                EventKind.SLICE_ADD, EventKind.SLICE_TERMINATING, EventKind.SLICE_NOT_SERVING)):
            keep.append(s)
    if v.entry is not None and v.entry.kind is Entry.LOAD_BALANCER and v.entry.local:
        flip = run.local_empty_at.get(v.node)
        removed = [s.t for s in run.steps if s.component is Component.LOAD_BALANCER and s.where == node
                   and s.kind is EventKind.LB_REMOVES_NODE and s.t > v.t]
        if flip is not None:
            until = f"; it removes the node at t={removed[0]:.2f}s" if removed else ""
            keep.append(Step(v.t, Component.LOAD_BALANCER, node, EventKind.REQUEST,
                             f"still sends new connections to {node}: its health check fails since "
                             f"t={flip:.2f}s (no local ready endpoint){until}",
                             sc.pair.service.loc_of("spec.externalTrafficPolicy")))
    if len(keep) > TRACE_CAP:
        keep = keep[:TRACE_CAP // 2] + keep[-TRACE_CAP // 2:]
    blame = _blame(sc, v.prop.cause)
    src = blame[0].loc if blame else None
    if v.pod is not None:
        later = [s for s in run.steps if s.component is Component.KUBE_PROXY and s.where == node
                 and s.pod == v.pod and s.t > v.t]
        if v.prop.cause is Cause.STARTUP:
            text = f"already routes to {v.pod}"
        else:
            until = f" (its removal applies at t={later[0].t:.2f}s)" if later else ""
            text = f"still routes to {v.pod}{until}"
        if v.entry is not None and v.entry.ip:
            keep.append(Step(v.t, Component.LOAD_BALANCER, node, EventKind.REQUEST,
                             text.replace("routes to", "sends new requests to"), pod=v.pod))
        else:
            keep.append(Step(v.t, Component.KUBE_PROXY, node, EventKind.REQUEST, text, pod=v.pod))
    keep.append(Step(v.t, Component.CLIENT, node, EventKind.VIOLATION, v.text, src, pod=v.pod or ""))
    keep.sort(key=lambda s: s.t)
    return tuple(keep)


def _drain_blame(sc: Scenario) -> list[Blame]:
    w = sc.pair.workload
    r = sc.rollout
    if sc.budget is not None:
        return [Blame(sc.budget, "PodDisruptionBudget",
                      f"keeps {r.desired_healthy} of {r.replicas} pods Ready during evictions")]
    return [Blame(w.loc, "PodDisruptionBudget", "none selects these pods: kubectl drain may evict all of a "
                                                "node's pods at once")]


def _blame(sc: Scenario, cause: Cause) -> list[Blame]:
    w = sc.pair.workload
    svc = sc.pair.service
    pod = sc.pod
    if sc.drain is not None and (cause is Cause.STALLED or (
            cause is Cause.NO_ENDPOINT and not any(e.local for e in sc.entries))):
        return _drain_blame(sc)
    if cause is Cause.STARTUP:
        if sc.publish_not_ready:
            return [Blame(svc.loc_of("spec.publishNotReadyAddresses"), "spec.publishNotReadyAddresses",
                          "not-ready pods are published as ready endpoints")]
        if pod.readiness is None:
            return [Blame(pod.container_loc, f"containers[{pod.container}].readinessProbe",
                          "absent: the pod is Ready as soon as the container starts")]
        if not pod.readiness.checks_port:
            return [Blame(pod.readiness.loc, f"containers[{pod.container}].readinessProbe",
                          f"does not check the Service's target port {sc.pair.container_port}")]
        return [Blame(pod.readiness.loc, f"containers[{pod.container}].readinessProbe", "")]
    if cause in (Cause.TERMINATION, Cause.KILLED_IN_FLIGHT):
        pod = sc.old  # the deleted pods run the old template
        h = pod.hook
        out = [Blame(h.loc or pod.container_loc, f"containers[{pod.container}].lifecycle.preStop", h.text)]
        out.append(Blame(pod.grace_loc or w.loc_of("spec.template.spec.terminationGracePeriodSeconds"),
                         "terminationGracePeriodSeconds", f"{pod.grace:g}s"))
        if sc.publish_not_ready:
            out.insert(0, Blame(svc.loc_of("spec.publishNotReadyAddresses"), "spec.publishNotReadyAddresses",
                                "terminating pods stay published as ready endpoints"))
        if cause is Cause.KILLED_IN_FLIGHT:
            out.reverse()
        return out
    if cause is Cause.NO_ENDPOINT and any(e.ip for e in sc.entries) and sc.pod.lb_gate is None:
        return [Blame(w.loc_of("spec.template.spec"), "spec.template.spec.readinessGates",
                      "absent: a new pod is Ready (and old pods are deleted) before its target is healthy "
                      "in the load balancer")]
    if cause is Cause.NO_ENDPOINT:
        out = []
        if any(e.local for e in sc.entries):
            field = ("spec.externalTrafficPolicy" if any(e.local and e.kind is not Entry.CLUSTER_IP
                                                         for e in sc.entries) else "spec.internalTrafficPolicy")
            out.append(Blame(svc.loc_of(field), field,
                             "Local: a node without a local ready pod drops the traffic it receives"))
            if sc.rollout.strategy is Strategy.DAEMON_SET and sc.rollout.surge == 0:
                out.append(Blame(w.loc_of("spec.updateStrategy"), "spec.updateStrategy",
                                 "no surge: a node's old pod is deleted before its new pod exists"))
                return out
            h = sc.old.hook
            out.append(Blame(h.loc or sc.old.container_loc, f"containers[{sc.old.container}].lifecycle.preStop",
                             f"{h.text}: how long the node keeps a serving endpoint"))
            return out
        if w.kind is WorkloadKind.POD:
            out.append(Blame(w.loc, "kind: Pod", "a bare Pod is replaced by delete + create"))
        elif _statefulset_batch_takes_all(sc):
            field = "spec.updateStrategy.rollingUpdate.maxUnavailable"
            out.append(Blame(w.loc_of(field), field,
                             f"resolves to {sc.rollout.unavailable} of {sc.rollout.replicas} replicas: every pod is "
                             "deleted at once (a StatefulSet never surges)"))
        elif sc.rollout.strategy is Strategy.STATEFUL_SET:
            out.append(Blame(w.loc_of("spec.replicas"), "spec.replicas",
                             f"{sc.rollout.replicas}: a StatefulSet deletes a pod before it recreates it (no surge)"))
        elif sc.rollout.strategy is Strategy.RECREATE:
            out.append(Blame(w.loc_of("spec.strategy.type"), "spec.strategy.type",
                             "Recreate deletes every old pod before creating new ones"))
        else:
            out.append(Blame(w.loc_of("spec.strategy.rollingUpdate.maxUnavailable"),
                             "spec.strategy.rollingUpdate.maxUnavailable",
                             f"resolves to {sc.rollout.unavailable} of {sc.rollout.replicas} replicas"))
        return out
    if cause is Cause.CAPACITY:
        out = [Blame(w.loc_of("spec.replicas"), "spec.replicas", f"{sc.rollout.replicas} replicas")]
        if w.kind is WorkloadKind.DEPLOYMENT and sc.rollout.strategy is Strategy.ROLLING_UPDATE:
            out.append(Blame(w.loc_of("spec.strategy.rollingUpdate.maxUnavailable"),
                             "spec.strategy.rollingUpdate.maxUnavailable",
                             f"resolves to {sc.rollout.unavailable} of {sc.rollout.replicas} replicas"))
        return out
    probe = pod.startup if pod.startup and pod.startup.checks_port else pod.liveness
    if sc.paused:
        return [Blame(w.loc_of("spec.paused"), "spec.paused", "true: the rollout does not start")]
    return [Blame(probe.loc if probe else pod.container_loc, f"containers[{pod.container}] probes",
                  "can fail before the application listens")]


def _minimal_prestop(sc: Scenario, make: Callable[[Scenario], list[Query]]) -> int | None:
    """Smallest preStop sleep (whole seconds, up to 600) under which ``make``'s queries are
    all unsat, with the grace period raised to keep SIGKILL after the requests drain."""
    b = sc.settings

    def safe(n: int) -> bool:
        grace = max(sc.old.grace, n + math.ceil(b["app-close"].hi + b["request"].hi) + 2)
        old = replace(sc.old, hook=HookSpec(n, n, n, False, f"preStop sleep {n}s", None), grace=grace)
        variant = replace(sc, old_pod=old)
        for q in make(variant):
            enc = Encoding(variant, z3.Context())
            enc.solver.set("timeout", SOLVER_TIMEOUT_MS)
            q.build(enc)
            if enc.solver.check() != z3.unsat:
                return False
        return True

    lb = b.lb
    guess = math.ceil(b["kubelet"].hi + b["endpointslice"].hi + b["kube-proxy"].hi
                      + lb.unhealthy * lb.interval + lb.timeout + b["controller"].hi) + 1
    lo, hi = 0, guess
    if not safe(hi):
        lo, hi = guess + 1, 600
        if not safe(hi):
            return None
    while lo < hi:
        mid = (lo + hi) // 2
        if safe(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _fix(sc: Scenario, prop: Property, gf: GraphFacts | None) -> str:
    pod = sc.pod
    b = sc.settings
    port = sc.pair.container_port
    cause = prop.cause
    if sc.drain is not None and cause is Cause.STALLED:
        return (f"let the budget allow one eviction: minAvailable: {max(sc.rollout.replicas - 1, 0)} "
                "(or maxUnavailable: 1), or run more replicas")
    if sc.drain is not None and cause is Cause.NO_ENDPOINT and not any(e.local for e in sc.entries):
        return ("a PodDisruptionBudget with maxUnavailable: 1 for these pods, and replicas >= 2 on different "
                "nodes, so a drain never evicts the last Ready pod")
    if cause is Cause.STARTUP:
        if sc.publish_not_ready:
            return "remove publishNotReadyAddresses: true from the Service"
        return (f"give container {pod.container!r} a readinessProbe on the Service's target port:\n"
                f"readinessProbe:\n  tcpSocket:\n    port: {port}\n  periodSeconds: 2")
    if cause in (Cause.TERMINATION, Cause.NO_ENDPOINT) and any(e.local for e in sc.entries) \
            and not sc.fallback and cause is Cause.NO_ENDPOINT:
        return ("use Kubernetes 1.26 or later (terminating-endpoint fallback) and a preStop sleep, "
                "or set externalTrafficPolicy: Cluster")
    if cause is Cause.NO_ENDPOINT and any(e.ip for e in sc.entries) and sc.pod.lb_gate is None:
        return (f"enable the AWS Load Balancer Controller's pod readiness gate: label namespace "
                f"{sc.pair.workload.namespace!r} with elbv2.k8s.aws/pod-readiness-gate-inject=enabled "
                "(new pods then stay un-Ready until their target is healthy)")
    if cause is Cause.NO_ENDPOINT and not any(e.local for e in sc.entries):
        if sc.pair.workload.kind is WorkloadKind.POD:
            return "run the pod from a Deployment with replicas >= 2 and maxUnavailable: 0"
        if _statefulset_batch_takes_all(sc):
            return (f"spec.updateStrategy.rollingUpdate.maxUnavailable: {sc.rollout.replicas - 1} (below the "
                    f"{sc.rollout.replicas} replicas) — a StatefulSet never surges, so a batch of every pod leaves "
                    "the Service without an endpoint")
        if sc.rollout.strategy is Strategy.STATEFUL_SET:
            return ("spec.replicas: 2 or more — a StatefulSet replaces one pod at a time and never surges, "
                    "so a single replica leaves the Service without an endpoint")
        if sc.rollout.strategy is Strategy.RECREATE:
            return "strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}"
        return "strategy.rollingUpdate: {maxSurge: 1, maxUnavailable: 0} (or more replicas)"
    if cause in (Cause.TERMINATION, Cause.NO_ENDPOINT) and sc.rollout.strategy is Strategy.DAEMON_SET \
            and sc.rollout.surge == 0 and any(e.local for e in sc.entries):
        return ("spec.updateStrategy.rollingUpdate: {maxSurge: 1, maxUnavailable: 0} — each node's new pod "
                "is then Ready before its old pod is deleted, so no node loses its local endpoint "
                "(examples/daemonset-local-surge.yaml is proved)")
    if cause in (Cause.TERMINATION, Cause.NO_ENDPOINT):
        if sc.publish_not_ready:
            return "remove publishNotReadyAddresses: true from the Service"
        gfx = gf if gf is not None else facts(sc.rollout)
        local_lb = any(e.local and e.kind is Entry.LOAD_BALANCER for e in sc.entries)
        several = False

        def make(v: Scenario) -> list[Query]:
            return queries(prop, v, gfx)

        n = _minimal_prestop(sc, make)
        if n is None and cause is Cause.TERMINATION and local_lb and sc.rollout.replicas > 1:
            # while another local pod keeps the node in the load balancer, no delay is
            # provably enough; size it for a node's last pod, as the no-endpoint property does
            from zdverify.specs.registry import builtin_by_slug
            last_pod = builtin_by_slug("no-endpoint")
            n = _minimal_prestop(sc, lambda v: queries(last_pod, v, gfx))
            several = n is not None
        if n is None:
            if gfx.zero_ready and sc.fallback:
                return (f"keep a ready pod during the {'drain' if sc.drain is not None else 'rollout'}: with no "
                        "ready endpoint left, kube-proxy falls back to terminating pods until they are removed. "
                        + ("Run it from a Deployment with replicas >= 2 and maxUnavailable: 0"
                           if sc.pair.workload.kind is WorkloadKind.POD else
                           "Add a PodDisruptionBudget with maxUnavailable: 1 for these pods (and run replicas >= 2), "
                           "so the drain never evicts the last Ready pod" if sc.drain is not None else
                           f"Set spec.updateStrategy.rollingUpdate.maxUnavailable to {sc.rollout.replicas - 1} "
                           "(a StatefulSet never surges)" if _statefulset_batch_takes_all(sc) else
                           "Set spec.replicas to 2 or more (a StatefulSet never surges)"
                           if sc.rollout.strategy is Strategy.STATEFUL_SET else
                           "strategy.rollingUpdate: {maxSurge: 1, maxUnavailable: 0}"))
            return "set externalTrafficPolicy: Cluster (no preStop delay up to 600s closes this window)"
        pod = sc.old
        grace = max(int(pod.grace), n + math.ceil(b["app-close"].hi + b["request"].hi) + 2)
        hook = (f"lifecycle:\n  preStop:\n    sleep:\n      seconds: {n}" if b.native_sleep else
                f"lifecycle:\n  preStop:\n    exec:\n      command: [\"sleep\", \"{n}\"]")
        text = f"in container {pod.container!r}:\n{hook}"
        if grace > pod.grace:
            text += f"\nand terminationGracePeriodSeconds: {grace}"
        if several:
            text += ("\n(this covers a node whose last local pod is deleted; while a node has several pods "
                     "no preStop delay alone is provably enough. What is: an application that fails its "
                     "readiness at SIGTERM and keeps serving — declare it with the annotation, e.g. "
                     "zdverify/on-sigterm: \"fail-readiness, drain 45s\" — or externalTrafficPolicy: Cluster)")
        keeping = _keeping_fix(sc)
        if keeping:
            text += "\n" + keeping
        if sc.old_pod is not None and sc.old_pod != sc.pod:
            text = (f"the pods this rollout deletes run the old template ({sc.old_source}, --from): a change "
                    f"to the new template protects only the next rollout. The old template would need:\n"
                    + text)
        return text
    if cause is Cause.CAPACITY or not prop.builtin and cause is Cause.STALLED:
        return prop.remediation
    if cause is Cause.KILLED_IN_FLIGHT:
        old = sc.old
        need = math.ceil(old.hook.hi + b["app-close"].hi + b["request"].hi) + 1
        return f"terminationGracePeriodSeconds: {max(need, int(old.grace) + 1)} (preStop + close + longest request)"
    if sc.paused:
        return "resume the rollout (kubectl rollout resume) or remove spec.paused"
    return (f"add a startupProbe on port {port} (failureThreshold x periodSeconds longer than the "
            f"application's start-up, {b['app-startup'].hi:g}s), or raise the liveness initialDelaySeconds")


def _why(sc: Scenario, cause: Cause) -> str:
    b = sc.settings
    if sc.drain is not None and cause is Cause.STALLED:
        return ("kubectl drain evicts through the Eviction API, which refuses while the PodDisruptionBudget's "
                f"{sc.rollout.desired_healthy} Ready pods would not remain: the drain retries forever")
    if sc.drain is not None and cause is Cause.NO_ENDPOINT and not any(e.local for e in sc.entries):
        return (("the StatefulSet recreates an evicted pod (same name) only once it is gone"
                 if sc.rollout.same_name else "the ReplicaSet replaces an evicted pod only after the eviction")
                + " (no surge); if the budget lets the drain evict the last Ready pods, the Service has no endpoint "
                "until a replacement is Ready")
    lag = b["endpointslice"].hi + b["kube-proxy"].hi
    lb = b.lb
    if cause is Cause.STARTUP:
        return ("kube-proxy routes to a pod once it is Ready; Ready does not wait for the application "
                f"to listen on port {sc.pair.container_port} (start-up takes up to {b['app-startup'].hi:g}s)")
    if cause is Cause.TERMINATION:
        return ("the kubelet and the EndpointSlice controller react to the deletion concurrently: "
                f"SIGTERM can come {sc.old.hook.serve_min:g}s after deletion, while removing the endpoint "
                f"from every node's rules can take up to {lag:g}s"
                + (f", and a Local load balancer keeps sending for up to {lb.unhealthy * lb.interval + lb.timeout:g}s"
                   if any(e.local for e in sc.entries) else "")
                + (f", and a load balancer with pod IP targets keeps sending new requests until the target is "
                   f"deregistered (up to {b['lb-deregister'].hi:g}s) or fails {lb.unhealthy} health checks"
                   if any(e.ip for e in sc.entries) else ""))
    if cause is Cause.NO_ENDPOINT and any(e.ip for e in sc.entries) and sc.pod.lb_gate is None:
        return ("without the readiness gate a new pod is Ready as soon as its probe passes, so old pods are "
                "deleted and deregistered while the new targets are still registering "
                f"(up to {b['lb-register'].hi:g}s) and passing {lb.healthy} health checks")
    if cause is Cause.NO_ENDPOINT:
        if any(e.local for e in sc.entries):
            return ("with externalTrafficPolicy: Local a node whose last local pod is terminating has no "
                    "ready endpoint, but the load balancer only stops sending after its health checks fail "
                    f"(up to {lb.unhealthy * lb.interval + lb.timeout:g}s)")
        return "the controller may delete the last ready pod before any new pod is ready"
    if cause is Cause.CAPACITY:
        return ("the scheduler may put the pods on any feasible node (no spread constraint is modelled yet) "
                "and the rollout deletes and restarts them: a count of pods can drop below the floor")
    if cause is Cause.KILLED_IN_FLIGHT:
        return ("SIGKILL comes max(grace - preStop, 2s) after SIGTERM; a request accepted just before the "
                f"listener closed may still be running (requests last up to {b['request'].hi:g}s)")
    if sc.paused:
        return "a paused Deployment does not roll out its new template"
    return "a probe that checks the served port can kill the container before the application listens"


def result(sc: Scenario, prop: Property, o: Outcome, gf: GraphFacts | None) -> Result:
    base = dict(property=prop, workload=sc.workload, service=sc.service, port=sc.pair.port.port,
                assumptions=_assumptions(sc, gf), source=sc.pair.workload.loc)
    port = f"port {sc.pair.port.port}"
    title = prop.title
    if sc.drain is not None and prop.claim.kind is ClaimKind.COMPLETES:
        title = f"the drain of {sc.node_name(sc.drain)} always finishes, its pods replaced and available"
    if o.verdict is Verdict.PROVED:
        return Result(verdict=Verdict.PROVED, summary=f"{title} ({port})", **base)
    if o.verdict is Verdict.INCONCLUSIVE:
        return Result(verdict=Verdict.INCONCLUSIVE, summary=f"not decided: {o.reason}", why=o.reason, **base)
    assert o.run is not None and o.violation is not None
    v = o.violation
    blame, why, fix = _blame(sc, prop.cause), _why(sc, prop.cause), _fix(sc, prop, gf)
    if prop.cause is Cause.STALLED and gf is not None and gf.pending and not gf.always_completes:
        blame, why, fix = _no_room(sc)
    w = sc.pair.workload
    nodes = [Node(n, dict(labels)) for n, labels in zip(sc.node_names, sc.node_labels)] if sc.node_labels \
        else sc.nodes
    preferred = discouraged(w.template, w.namespace, nodes, sc.feasible, o.run.placements)
    return Result(verdict=Verdict.COUNTEREXAMPLE, cause=prop.cause,
                  summary=f"{v.text} at t={v.t:.2f}s ({port})", trace=_trace(sc, o.run, v),
                  blame=tuple(blame), why=why, fix=fix,
                  discouraged=tuple(Blame(loc, "preferred placement", text) for text, loc in preferred), **base)


def _no_room(sc: Scenario) -> tuple[list[Blame], str, str]:
    """A rollout stuck on Pending pods: the required rules leave no room for a surge pod, and
    the controller deletes no old pod until a new one is available."""
    w, r = sc.pair.workload, sc.rollout
    rules = sc.placement
    slots = rules.slots()
    blame = [Blame(rules.loc or w.loc_of("spec.template.spec"), "placement",
                   f"{rules.why()}: {slots} pods fit on the {len(sc.feasible)} feasible node(s)")]
    if r.strategy is Strategy.ROLLING_UPDATE:
        blame.append(Blame(w.loc_of("spec.strategy.rollingUpdate"), "spec.strategy.rollingUpdate",
                           f"maxSurge {r.surge}, maxUnavailable {r.unavailable} of {r.replicas} replicas"))
    why = (f"only {slots} pods fit at once and all {r.replicas} old pods hold their places: the surge pod stays "
           "Pending, and with maxUnavailable 0 the controller deletes no old pod before a new one is available")
    fix = ("strategy.rollingUpdate: {maxSurge: 0, maxUnavailable: 1} — the rollout then frees a place before it "
           "needs one; or, on Kubernetes 1.31+, matchLabelKeys: [pod-template-hash] in the anti-affinity term, "
           "so new pods do not avoid the old ones; or add nodes")
    if r.strategy is Strategy.DRAIN:
        why = ("the evicted pods' replacements have no room on the other nodes (the drained node is cordoned): "
               "they stay Pending and the drain waits on the budget forever")
        fix = "add a node with room for the evicted pods, or relax the required placement rule"
    return blame, why, fix


def _statefulset_batch_takes_all(sc: Scenario) -> bool:
    """Does a StatefulSet of several replicas lose every pod at once because its
    ``maxUnavailable`` (feature gate on) covers all of them?"""
    r = sc.rollout
    return r.strategy is Strategy.STATEFUL_SET and r.kept == 0 and 1 < r.replicas <= r.unavailable


def _keeping_fix(sc: Scenario) -> str:
    """For Local traffic under required placement rules: which change to the Deployment
    would keep a Ready pod on every node (checked with ``node_facts``)? Counting each
    revision on its own in a hostname spread, ``maxUnavailable: 0``, or both; "" if none."""
    rules, r, w = sc.placement, sc.rollout, sc.pair.workload
    if not any(e.local for e in sc.entries) or w.kind is not WorkloadKind.DEPLOYMENT or not rules.exact \
            or r.strategy is not Strategy.ROLLING_UPDATE or not (rules.spread or rules.limited):
        return ""
    c = next((c for c, per in rules.spread if not per and c.topology_key == HOSTNAME_LABEL), None)
    per_revision = replace(rules, spread=tuple((x, True) for x, _ in rules.spread))
    no_unavailable = replace(r, unavailable=0, surge=max(r.surge, 1))
    keys = (f"add matchLabelKeys: [pod-template-hash] to the topologySpreadConstraints entry at line {c.loc.line}"
            if c is not None and c.loc is not None and sc.settings.k8s_version >= (1, 27) else "")
    loc = w.loc_of("spec.strategy.rollingUpdate.maxUnavailable") or w.loc_of("spec.strategy")
    zero = ("set maxUnavailable: 0" + (f" (line {loc.line})" if loc is not None else "")
            + ("" if r.surge else " and maxSurge: 1") if r.unavailable else "")
    why_keys = "each revision then spreads on its own and the ReplicaSet deletes the old pod beside each new one first"
    why_zero = "an old pod is then deleted only once a new pod is available"
    tried = [(keys, why_keys, r, per_revision), (zero, why_zero, no_unavailable, rules),
             (f"{keys}, and {zero}" if keys and zero else "", f"{why_keys}, and {why_zero}", no_unavailable,
              per_revision)]
    for change, why, rollout, placement in tried:
        if change and node_facts(rollout, placement, max_states=10_000).kept:  # a suggestion, not a proof: kept short
            return (f"(or {change}: {why}; every node then keeps a Ready local pod throughout — checked over "
                    "every placement and deletion order)")
    return ""


def _most_endpoints(sc: Scenario) -> int:
    """How many endpoints the slice may hold at once: every old pod until it is gone (a
    drain's and a partition's kept pods too) and every new pod."""
    r = sc.rollout
    if r.strategy is Strategy.DAEMON_SET:
        return 2 * r.replicas
    return r.replicas + r.moving + r.surge
