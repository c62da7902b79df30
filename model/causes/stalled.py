"""Cause ``stalled``: the rollout (or drain) can fail to finish — paused, a probe that kills
new containers before they listen, a budget the drain cannot get past, or new pods with no
room to be scheduled."""
from __future__ import annotations

from dataclasses import dataclass

from zdverify.model.causes.handler import CauseHandler, FixPlan
from zdverify.model.causes.no_endpoint import budget_blame
from zdverify.model.checker.graph import GraphFacts
from zdverify.model.objects import Field, Strategy
from zdverify.model.scenario import Scenario
from zdverify.model.verdict import Blame, Cause, Property


@dataclass(frozen=True)
class Stalled(CauseHandler):
    cause = Cause.STALLED

    def why(self, sc: Scenario) -> str:
        if sc.drain is not None:
            return ("kubectl drain evicts through the Eviction API, which refuses while the PodDisruptionBudget's "
                    f"{sc.rollout.desired_healthy} Ready pods would not remain: the drain retries forever")
        if sc.paused:
            return "a paused Deployment does not roll out its new template"
        return "a probe that checks the served port can kill the container before the application listens"

    def blame(self, sc: Scenario) -> list[Blame]:
        if sc.drain is not None:
            return budget_blame(sc)
        w, pod = sc.pair.workload, sc.pod
        if sc.paused:
            return [Blame(w.loc_of(Field.PAUSED), Field.PAUSED, "true: the rollout does not start")]
        probe = pod.startup if pod.startup and pod.startup.checks_port else pod.liveness
        return [Blame(probe.loc if probe else pod.container_loc, f"containers[{pod.container}] probes",
                      "can fail before the application listens")]

    def fix(self, sc: Scenario, prop: Property, gf: GraphFacts | None) -> str:
        if sc.drain is not None:
            return (f"let the budget allow one eviction: minAvailable: {max(sc.rollout.replicas - 1, 0)} "
                    "(or maxUnavailable: 1), or run more replicas")
        if not prop.builtin:
            return prop.remediation
        if sc.paused:
            return "resume the rollout (kubectl rollout resume) or remove spec.paused"
        return (f"add a startupProbe on port {sc.pair.container_port} (failureThreshold x periodSeconds longer "
                f"than the application's start-up, {sc.settings['app-startup'].hi:g}s), or raise the liveness "
                "initialDelaySeconds")

    def answer(self, sc: Scenario, prop: Property, gf: GraphFacts | None) -> tuple[list[Blame], str, FixPlan]:
        if gf is not None and gf.pending and not gf.always_completes:
            blame, why, fix = _no_room(sc)
            return blame, why, FixPlan(fix)
        return super().answer(sc, prop, gf)


HANDLER = Stalled()


def _no_room(sc: Scenario) -> tuple[list[Blame], str, str]:
    """A rollout stuck on Pending pods: the required rules leave no room for a surge pod, and
    the controller deletes no old pod until a new one is available."""
    w, r = sc.pair.workload, sc.rollout
    rules = sc.placement
    slots = rules.slots()
    blame = [Blame(rules.loc or w.loc_of(Field.POD_SPEC), "placement",
                   f"{rules.why()}: {slots} pods fit on the {len(sc.feasible)} feasible node(s)")]
    if r.strategy is Strategy.ROLLING_UPDATE:
        blame.append(Blame(w.loc_of(Field.ROLLING_UPDATE), Field.ROLLING_UPDATE,
                           f"maxSurge {r.surge}, maxUnavailable {r.unavailable} of {r.replicas} replicas"))
    if r.strategy is Strategy.DAEMON_SET:
        blame.append(Blame(w.loc_of(Field.UPDATE_ROLLING_UPDATE), Field.UPDATE_ROLLING_UPDATE,
                           f"maxSurge {r.surge}: a node's new pod is created before its old pod is deleted"))
    why = (f"only {slots} pods fit at once and all {r.replicas} old pods hold their places: the surge pod stays "
           "Pending, and with maxUnavailable 0 the controller deletes no old pod before a new one is available")
    host = [c for c in rules.caps if c.host_port]
    fix = ("strategy.rollingUpdate: {maxSurge: 0, maxUnavailable: 1} — the rollout then frees a place before it "
           "needs one; "
           + ("" if host and len(host) == len(rules.caps) and not rules.node_room else
              "or, on Kubernetes 1.31+, matchLabelKeys: [pod-template-hash] in the anti-affinity term, "
              "so new pods do not avoid the old ones; ")
           + ("or drop the hostPort (the Service reaches the containerPort without it); " if host else "")
           + "or add nodes")
    if r.strategy is Strategy.DAEMON_SET:
        why = ("a node's surge pod needs the place its old pod holds, so it stays Pending, and the DaemonSet "
               "deletes a node's old pod only once the new one is available: the rollout waits forever")
        fix = (("drop the hostPort (the Service reaches the containerPort without it), so the surge pod fits "
                "next to the old one; or " if host else "")
               + "spec.updateStrategy.rollingUpdate: {maxSurge: 0, maxUnavailable: 1} — each node's old pod then "
               "goes first, and the node is without a pod of the DaemonSet until its new pod is Ready "
               "(with externalTrafficPolicy: Local it drops the traffic it gets meanwhile)")
    if r.strategy is Strategy.DRAIN:
        why = ("the evicted pods' replacements have no room on the other nodes (the drained node is cordoned): "
               "they stay Pending and the drain waits on the budget forever")
        fix = "add a node with room for the evicted pods, or relax the required placement rule"
    return blame, why, fix
