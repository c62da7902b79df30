"""The built-in properties' catalogue: stable ids, descriptions, remediation.

Issue C rewrites the properties themselves in the spec language; until then the checker
is in ``zdverify.model.queries`` and this catalogue is what reports (SARIF rules, Markdown,
JUnit) say about each one.
"""
from __future__ import annotations

from dataclasses import dataclass

from zdverify.model.verdict import Property


@dataclass(frozen=True)
class PropertyInfo:
    property: Property
    rule_id: str  # stable across releases (SARIF ruleId)
    name: str  # PascalCase (SARIF rule name)
    short: str
    full: str
    help: str


CATALOGUE: tuple[PropertyInfo, ...] = (
    PropertyInfo(
        Property.STARTUP, "ZDV001", "TrafficBeforeStartup",
        "A request can reach a new pod before its application listens",
        "During the rollout kube-proxy can route a request to a new pod that is Ready in "
        "Kubernetes' eyes while its application does not accept connections yet: the pod "
        "has no readiness probe, or the probe does not check the Service's target port.",
        "Give the serving container a readinessProbe (tcpSocket or httpGet) on the port the "
        "Service targets, so Ready waits for the application.",
    ),
    PropertyInfo(
        Property.TERMINATION, "ZDV002", "TrafficAfterShutdown",
        "A request can reach an old pod after it stopped accepting connections",
        "The kubelet sends SIGTERM while the EndpointSlice change is still on its way to every "
        "node's kube-proxy (and, for externalTrafficPolicy: Local, while the load balancer "
        "still sends to the node): requests reach a pod whose listener is closed.",
        "Add a preStop sleep longer than endpoint propagation (and the load balancer's "
        "health-check removal time for Local traffic), with terminationGracePeriodSeconds "
        "above it.",
    ),
    PropertyInfo(
        Property.NO_ENDPOINT, "ZDV003", "NoEndpoint",
        "A request can reach a node or Service with no usable endpoint",
        "Some node's kube-proxy can be left with no usable endpoint for the Service while "
        "requests still arrive: the Service REJECTs them, or with traffic policy Local the node "
        "DROPs them until the load balancer's health checks remove it.",
        "Keep a ready pod during the rollout (maxUnavailable: 0 with maxSurge >= 1, more than "
        "one replica); for Local traffic keep the terminating pod serving until the load "
        "balancer has removed the node, or use externalTrafficPolicy: Cluster.",
    ),
    PropertyInfo(
        Property.KILLED_IN_FLIGHT, "ZDV004", "KilledInFlight",
        "SIGKILL can cut off a request the pod already accepted",
        "SIGKILL comes max(grace - preStop, 2 s) after SIGTERM; a request accepted just before "
        "the listener closed can still be running then.",
        "Raise terminationGracePeriodSeconds above preStop + shutdown + the longest request.",
    ),
    PropertyInfo(
        Property.STALLED, "ZDV005", "RolloutStalls",
        "The rollout can fail to finish",
        "Some execution never completes the rollout: the Deployment is paused, or a "
        "liveness/startup probe kills new containers before their application listens.",
        "Resume the Deployment, or add a startupProbe that allows for the application's "
        "start-up time.",
    ),
)

BY_PROPERTY: dict[Property, PropertyInfo] = {i.property: i for i in CATALOGUE}
