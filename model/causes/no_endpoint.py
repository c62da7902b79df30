"""Cause ``no-endpoint``: a request reaches a node or Service with no usable endpoint.
Under Local traffic its fix is the preStop sleep of ``termination.py``; the budget's
blamed line is also that of a drain that stalls (``stalled.py``)."""
from __future__ import annotations

from dataclasses import dataclass

from zdverify.model.causes.handler import CauseHandler, FixPlan, Witness, claim_fails, via
from zdverify.model.causes.termination import closing_plan, side_blame, statefulset_batch_takes_all
from zdverify.model.checker.graph import GraphFacts
from zdverify.model.objects import Field, Strategy, WorkloadKind
from zdverify.model.scenario import Entry, Scenario
from zdverify.model.simulator import kube_proxy, load_balancer
from zdverify.grammar.spec_language import Sort
from zdverify.model.verdict import Blame, Cause, Property


def _local(sc: Scenario) -> bool:
    return any(e.local for e in sc.entries)


def _drained(sc: Scenario) -> bool:
    """A drain that can evict the last Ready pods a Service (not a node's Local traffic) needs."""
    return sc.drain is not None and not _local(sc)


def _ungated(sc: Scenario) -> bool:
    """Pod IP targets without the load balancer's readiness gate."""
    return any(e.ip for e in sc.entries) and sc.pod.lb_gate is None


@dataclass(frozen=True)
class NoEndpoint(CauseHandler):
    cause = Cause.NO_ENDPOINT

    def why(self, sc: Scenario) -> str:
        b = sc.settings
        lb = b.lb
        if _drained(sc):
            return (("the StatefulSet recreates an evicted pod (same name) only once it is gone"
                     if sc.rollout.same_name else "the ReplicaSet replaces an evicted pod only after the eviction")
                    + " (no surge); if the budget lets the drain evict the last Ready pods, the Service has no "
                    "endpoint until a replacement is Ready")
        if _ungated(sc):
            return ("without the readiness gate a new pod is Ready as soon as its probe passes, so old pods are "
                    "deleted and deregistered while the new targets are still registering "
                    f"(up to {b['lb-register'].hi:g}s) and passing {lb.healthy} health checks")
        if _local(sc):
            return ("with externalTrafficPolicy: Local a node whose last local pod is terminating has no "
                    "ready endpoint, but the load balancer only stops sending after its health checks fail "
                    f"(up to {lb.removal_max:g}s)")
        return "the controller may delete the last ready pod before any new pod is ready"

    def blame(self, sc: Scenario) -> list[Blame]:
        w = sc.pair.workload
        if _drained(sc):
            return budget_blame(sc)
        if _ungated(sc):
            return [Blame(w.loc_of(Field.POD_SPEC), Field.READINESS_GATES,
                          "absent: a new pod is Ready (and old pods are deleted) before its target is healthy "
                          "in the load balancer")]
        if _local(sc):
            return _local_blame(sc)
        if w.kind is WorkloadKind.POD:
            return [Blame(w.loc, "kind: Pod", "a bare Pod is replaced by delete + create")]
        if statefulset_batch_takes_all(sc):
            field = Field.UPDATE_MAX_UNAVAILABLE
            return [Blame(w.loc_of(field), field,
                          f"resolves to {sc.rollout.unavailable} of {sc.rollout.replicas} replicas: every pod is "
                          "deleted at once (a StatefulSet never surges)")]
        if sc.rollout.strategy is Strategy.STATEFUL_SET:
            return [Blame(w.loc_of(Field.REPLICAS), Field.REPLICAS,
                          f"{sc.rollout.replicas}: a StatefulSet deletes a pod before it recreates it (no surge)")]
        if sc.rollout.strategy is Strategy.RECREATE:
            return [Blame(w.loc_of(Field.STRATEGY_TYPE), Field.STRATEGY_TYPE,
                          "Recreate deletes every old pod before creating new ones")]
        return [Blame(w.loc_of(Field.MAX_UNAVAILABLE),
                      Field.MAX_UNAVAILABLE,
                      f"resolves to {sc.rollout.unavailable} of {sc.rollout.replicas} replicas")]

    def fix(self, sc: Scenario, prop: Property, gf: GraphFacts | None) -> str:
        return self.fix_plan(sc, prop, gf).text

    def fix_plan(self, sc: Scenario, prop: Property, gf: GraphFacts | None) -> FixPlan:
        advice = self._advice(sc)
        if advice:
            return FixPlan(advice)
        return closing_plan(sc, prop, gf)  # Local: the deleted pod serves until no traffic reaches it

    def _advice(self, sc: Scenario) -> str:
        """The fixes that are advice, not a change the model applies; "" for the closing fix."""
        if _drained(sc):
            return ("a PodDisruptionBudget with maxUnavailable: 1 for these pods, and replicas >= 2 on different "
                    "nodes, so a drain never evicts the last Ready pod")
        if _local(sc) and not sc.fallback:
            return ("use Kubernetes 1.26 or later (terminating-endpoint fallback) and a preStop sleep, "
                    "or set externalTrafficPolicy: Cluster")
        if _ungated(sc):
            return (f"enable the AWS Load Balancer Controller's pod readiness gate: label namespace "
                    f"{sc.pair.workload.namespace!r} with elbv2.k8s.aws/pod-readiness-gate-inject=enabled "
                    "(new pods then stay un-Ready until their target is healthy)")
        if not _local(sc):
            return _service_fix(sc)
        return ""

    def describe(self, w: Witness) -> str:
        e = w.found.entry if w.found is not None else None
        if e is not None and e.ip:
            return f"{via(w)} finds no healthy target (503, or fail-open to unhealthy targets)"
        if e is not None:
            if e.local and e.kind is Entry.LOAD_BALANCER and _failed_open(w):
                return (f"{via(w)}, sent there because the load balancer finds no node healthy and fails open, "
                        "finds no local endpoint: kube-proxy DROPs it (the client waits until its timeout)")
            if e.local and _usable_elsewhere(w):
                return f"{via(w)} finds no local endpoint: kube-proxy DROPs it (the client waits until its timeout)"
            return f"{via(w)} finds no endpoint: kube-proxy REJECTs it (the connection is refused at once)"
        return claim_fails(w)


HANDLER = NoEndpoint()


def _failed_open(w: Witness) -> bool:
    """Did the load balancer send the request because it found no node healthy (fail-open)?"""
    assert w.found is not None
    tl = w.timeline
    t = (w.found.t + w.found.t_end) / 2 if w.found.t_end > w.found.t else w.found.t
    return tl.fail_open and not any(load_balancer.value_at(list(series), t) for series in tl.lb)


def _usable_elsewhere(w: Witness) -> bool:
    """Policy Local, no local endpoint: does the node's kube-proxy know a usable endpoint on
    another node (then ``proxier.go`` DROPs; with none anywhere it REJECTs)? Read in the middle
    of the violation's window."""
    assert w.found is not None
    n = w.found.bound(Sort.NODE)
    if n is None or int(n) >= len(w.timeline.applied):
        return True
    t = (w.found.t + w.found.t_end) / 2 if w.found.t_end > w.found.t else w.found.t
    return kube_proxy.any_usable(w.timeline.pods, w.timeline.applied[int(n)], t, w.timeline.fallback)


def budget_blame(sc: Scenario) -> list[Blame]:
    """A drain's evictions: the PodDisruptionBudget that lets them through, or its absence."""
    w, r = sc.pair.workload, sc.rollout
    if sc.budget is not None:
        return [Blame(sc.budget, "PodDisruptionBudget",
                      f"keeps {r.desired_healthy} of {r.replicas} pods Ready during evictions")]
    return [Blame(w.loc, "PodDisruptionBudget", "none selects these pods: kubectl drain may evict all of a "
                                                "node's pods at once")]


def _local_blame(sc: Scenario) -> list[Blame]:
    """Local traffic: the policy, and what decides how long a node keeps a serving endpoint."""
    w, svc = sc.pair.workload, sc.pair.service
    field = (Field.EXTERNAL_TRAFFIC_POLICY if any(e.local and e.kind is not Entry.CLUSTER_IP
                                                  for e in sc.entries) else Field.INTERNAL_TRAFFIC_POLICY)
    out = [Blame(svc.loc_of(field), field, "Local: a node without a local ready pod drops the traffic it receives")]
    out += side_blame(sc)
    if sc.rollout.strategy is Strategy.DAEMON_SET and sc.rollout.surge == 0:
        out.append(Blame(w.loc_of(Field.UPDATE_STRATEGY), Field.UPDATE_STRATEGY,
                         "no surge: a node's old pod is deleted before its new pod exists"))
        return out
    h = sc.old.hook
    out.append(Blame(h.loc or sc.old.container_loc, f"containers[{sc.old.container}].lifecycle.preStop",
                     f"{h.text}: how long the node keeps a serving endpoint"))
    return out


def _service_fix(sc: Scenario) -> str:
    """Service-wide: keep a ready pod while the rollout deletes the old ones."""
    if sc.pair.workload.kind is WorkloadKind.POD:
        return "run the pod from a Deployment with replicas >= 2 and maxUnavailable: 0"
    if statefulset_batch_takes_all(sc):
        return (f"spec.updateStrategy.rollingUpdate.maxUnavailable: {sc.rollout.replicas - 1} (below the "
                f"{sc.rollout.replicas} replicas) — a StatefulSet never surges, so a batch of every pod leaves "
                "the Service without an endpoint")
    if sc.rollout.strategy is Strategy.STATEFUL_SET:
        return ("spec.replicas: 2 or more — a StatefulSet replaces one pod at a time and never surges, "
                "so a single replica leaves the Service without an endpoint")
    if sc.rollout.strategy is Strategy.RECREATE:
        return "strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}"
    return "strategy.rollingUpdate: {maxSurge: 1, maxUnavailable: 0} (or more replicas)"
