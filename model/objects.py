"""Typed, validated Kubernetes objects — only the fields the rollout model reads.

Every object keeps the position of each field it was built from (``locs``: dotted field
path -> Loc, e.g. ``"spec.strategy.rollingUpdate.maxSurge"``), so that errors and trace
steps point at the manifest line. ``loc_of(path)`` falls back to the nearest parent that
was written, then to the object itself (useful for "field absent" blame).

Parsing (documents -> these objects) lives in :mod:`zdverify.model.kube`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Mapping

from zdverify.model.source import Loc


class Located:
    """Mixin: positions of the fields an object was built from."""

    loc: Loc
    locs: Mapping[str, Loc]

    def loc_of(self, path: str) -> Loc:
        """Position of ``path`` or of its nearest written parent, else of the object."""
        p = path
        while p:
            if p in self.locs:
                return self.locs[p]
            p = p.rpartition(".")[0]
        return self.loc


class HandlerKind(Enum):
    HTTP_GET = "httpGet"
    TCP_SOCKET = "tcpSocket"
    GRPC = "grpc"
    EXEC = "exec"
    SLEEP = "sleep"


@dataclass(frozen=True)
class Probe(Located):
    """A readiness/liveness/startup probe with Kubernetes defaults applied."""

    kind: HandlerKind
    port: int | str | None  # as written: number, or a container port *name*; None for exec
    initial_delay: int = 0
    period: int = 10
    timeout: int = 1
    success_threshold: int = 1
    failure_threshold: int = 3
    loc: Loc = field(default=Loc("<unknown>", 0), compare=False)
    locs: Mapping[str, Loc] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Hook(Located):
    """A lifecycle handler (preStop). ``command`` for exec, ``seconds`` for sleep."""

    kind: HandlerKind
    command: tuple[str, ...] = ()
    seconds: int | None = None
    port: int | str | None = None
    loc: Loc = field(default=Loc("<unknown>", 0), compare=False)
    locs: Mapping[str, Loc] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class ContainerPort:
    port: int
    name: str | None = None
    protocol: str = "TCP"
    loc: Loc = field(default=Loc("<unknown>", 0), compare=False)


@dataclass(frozen=True)
class Container(Located):
    name: str
    ports: tuple[ContainerPort, ...] = ()
    readiness: Probe | None = None
    liveness: Probe | None = None
    startup: Probe | None = None
    pre_stop: Hook | None = None
    loc: Loc = field(default=Loc("<unknown>", 0), compare=False)
    locs: Mapping[str, Loc] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class LabelSelector:
    match_labels: tuple[tuple[str, str], ...] = ()
    # (key, operator In|NotIn|Exists|DoesNotExist, values)
    match_expressions: tuple[tuple[str, str, tuple[str, ...]], ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        for k, v in self.match_labels:
            if labels.get(k) != v:
                return False
        for k, op, values in self.match_expressions:
            if op == "In" and labels.get(k) not in values:
                return False
            if op == "NotIn" and k in labels and labels[k] in values:
                return False
            if op == "Exists" and k not in labels:
                return False
            if op == "DoesNotExist" and k in labels:
                return False
        return True

    @property
    def empty(self) -> bool:
        return not self.match_labels and not self.match_expressions


@dataclass(frozen=True)
class PodTemplate(Located):
    labels: Mapping[str, str]
    containers: tuple[Container, ...]
    grace_seconds: int = 30  # terminationGracePeriodSeconds, default 30
    node_selector: Mapping[str, str] = field(default_factory=dict)
    readiness_gates: tuple[str, ...] = ()
    loc: Loc = field(default=Loc("<unknown>", 0), compare=False)
    locs: Mapping[str, Loc] = field(default_factory=dict, compare=False, hash=False)


class Strategy(Enum):
    ROLLING_UPDATE = "RollingUpdate"
    RECREATE = "Recreate"


class WorkloadKind(Enum):
    DEPLOYMENT = "Deployment"
    POD = "Pod"  # a bare Pod: "rolled out" by delete + create


@dataclass(frozen=True)
class Workload(Located):
    """A Deployment, or a bare Pod (replicas 1, replaced by delete + create)."""

    kind: WorkloadKind
    namespace: str
    name: str
    replicas: int
    selector: LabelSelector
    template: PodTemplate
    strategy: Strategy = Strategy.ROLLING_UPDATE
    max_surge: int | str = "25%"  # IntOrString as written (validated)
    max_unavailable: int | str = "25%"
    min_ready_seconds: int = 0
    paused: bool = False
    annotations: Mapping[str, str] = field(default_factory=dict)
    loc: Loc = field(default=Loc("<unknown>", 0), compare=False)
    locs: Mapping[str, Loc] = field(default_factory=dict, compare=False, hash=False)

    @property
    def ref(self) -> str:
        return f"{self.kind.value}/{self.namespace}/{self.name}"


class ServiceType(Enum):
    CLUSTER_IP = "ClusterIP"
    NODE_PORT = "NodePort"
    LOAD_BALANCER = "LoadBalancer"
    EXTERNAL_NAME = "ExternalName"


class TrafficPolicy(Enum):
    CLUSTER = "Cluster"
    LOCAL = "Local"


@dataclass(frozen=True)
class ServicePort:
    port: int
    target_port: int | str  # number, or a container port name
    name: str | None = None
    protocol: str = "TCP"
    loc: Loc = field(default=Loc("<unknown>", 0), compare=False)


@dataclass(frozen=True)
class Service(Located):
    namespace: str
    name: str
    type: ServiceType
    selector: Mapping[str, str] | None  # None: no selector (endpoints managed by hand)
    ports: tuple[ServicePort, ...]
    external_traffic_policy: TrafficPolicy = TrafficPolicy.CLUSTER
    internal_traffic_policy: TrafficPolicy = TrafficPolicy.CLUSTER
    publish_not_ready: bool = False
    headless: bool = False  # clusterIP: None
    annotations: Mapping[str, str] = field(default_factory=dict)
    loc: Loc = field(default=Loc("<unknown>", 0), compare=False)
    locs: Mapping[str, Loc] = field(default_factory=dict, compare=False, hash=False)

    @property
    def ref(self) -> str:
        return f"Service/{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Unverified:
    """A workload kind zdverify does not model yet (StatefulSet, DaemonSet, …)."""

    ref: str
    reason: str
    loc: Loc


@dataclass(frozen=True)
class Objects:
    """Everything the model reads from the input, in input order."""

    workloads: tuple[Workload, ...]
    services: tuple[Service, ...]
    unverified: tuple[Unverified, ...] = ()
