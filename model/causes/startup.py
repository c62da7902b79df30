"""Cause ``startup``: a request reaches a new pod before its application listens."""
from __future__ import annotations

from dataclasses import dataclass

from zdverify.model.causes.handler import CauseHandler, Witness, claim_fails
from zdverify.model.causes.termination import reaches_not_serving
from zdverify.model.checker.graph import GraphFacts
from zdverify.model.scenario import Scenario
from zdverify.model.verdict import Blame, Cause, Property
from zdverify.model.objects import Field, HandlerKind


@dataclass(frozen=True)
class Startup(CauseHandler):
    cause = Cause.STARTUP

    def why(self, sc: Scenario) -> str:
        b = sc.settings
        return ("kube-proxy routes to a pod once it is Ready; Ready does not wait for the application "
                f"to listen on port {sc.pair.container_port} (start-up takes up to {b['app-startup'].hi:g}s)")

    def blame(self, sc: Scenario) -> list[Blame]:
        svc, pod = sc.pair.service, sc.pod
        if sc.publish_not_ready:
            return [Blame(svc.loc_of(Field.PUBLISH_NOT_READY), Field.PUBLISH_NOT_READY,
                          "not-ready pods are published as ready endpoints")]
        if pod.readiness is None:
            return [Blame(pod.container_loc, f"containers[{pod.container}].readinessProbe",
                          "absent: the pod is Ready as soon as the container starts")]
        if not pod.readiness.checks_port:
            return [Blame(pod.readiness.loc, f"containers[{pod.container}].readinessProbe",
                          f"does not check the Service's target port {sc.pair.container_port}")]
        return [Blame(pod.readiness.loc, f"containers[{pod.container}].readinessProbe", "")]

    def fix(self, sc: Scenario, prop: Property, gf: GraphFacts | None) -> str:
        if sc.publish_not_ready:
            return "remove publishNotReadyAddresses: true from the Service"
        snippet = (f"readinessProbe:\n  tcpSocket:\n    port: {sc.pair.container_port}\n  periodSeconds: 2")
        existing = sc.pair.container.readiness
        if existing is None or sc.pod.readiness is None:
            return f"give container {sc.pod.container!r} a readinessProbe on the Service's target port:\n{snippet}"
        what = (f"exec {' '.join(existing.command)!r}" if existing.kind is HandlerKind.EXEC else
                f"{existing.kind.value} on port {existing.port}")
        text = (f"container {sc.pod.container!r}'s readinessProbe at line {sc.pod.readiness.loc.line} ({what}) does not show "
                f"that port {sc.pair.container_port} accepts connections; replace it with one that does, e.g.:\n"
                f"{snippet}")
        if existing.kind is HandlerKind.EXEC:
            text += (f"\n(or, if the command does connect to port {sc.pair.container_port} and fails when it is "
                     f"refused, keep it and say so: annotation zdverify/exec-probe-port: "
                     f'"{sc.pair.container_port}")')
        elif existing.kind is HandlerKind.HTTP_GET:
            text += "\n(an httpGet on the target port with the same path keeps what it checks)"
        return text

    def describe(self, w: Witness) -> str:
        return reaches_not_serving(w) if w.found is not None and w.pod is not None else claim_fails(w)

    def routing(self, pod: str, removal: float | None) -> str:
        return f"already routes to {pod}"


HANDLER = Startup()
