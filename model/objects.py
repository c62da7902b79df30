"""Typed, validated Kubernetes objects — only the fields the rollout model reads.

Every object keeps the position of each field it was built from (``locs``: dotted field
path -> Loc, e.g. ``"spec.strategy.rollingUpdate.maxSurge"``), so that errors and trace
steps point at the manifest line. ``loc_of(path)`` falls back to the nearest parent that
was written, then to the object itself (useful for "field absent" blame).

Parsing (documents -> these objects) lives in :mod:`zdverify.model.kube`.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Mapping

from zdverify.model.source import Loc


class Field(StrEnum):
    """Manifest fields the model points at (``Located.loc_of``). Written once here, each is
    checked by ``tests/unit/test_fields.py`` against a manifest that writes it, so a typo
    fails a test instead of silently pointing at the parent's line."""

    REPLICAS = "spec.replicas"
    MIN_READY_SECONDS = "spec.minReadySeconds"
    PAUSED = "spec.paused"
    STRATEGY = "spec.strategy"
    STRATEGY_TYPE = "spec.strategy.type"
    ROLLING_UPDATE = "spec.strategy.rollingUpdate"
    MAX_SURGE = "spec.strategy.rollingUpdate.maxSurge"
    MAX_UNAVAILABLE = "spec.strategy.rollingUpdate.maxUnavailable"
    UPDATE_STRATEGY = "spec.updateStrategy"  # DaemonSet, StatefulSet
    UPDATE_ROLLING_UPDATE = "spec.updateStrategy.rollingUpdate"
    UPDATE_MAX_UNAVAILABLE = "spec.updateStrategy.rollingUpdate.maxUnavailable"
    POD_SPEC = "spec.template.spec"
    GRACE = "spec.template.spec.terminationGracePeriodSeconds"
    READINESS_GATES = "spec.template.spec.readinessGates"
    AFFINITY = "spec.template.spec.affinity"
    TEMPLATE_GRACE = "terminationGracePeriodSeconds"  # within a PodTemplate (its own ``locs``)
    PUBLISH_NOT_READY = "spec.publishNotReadyAddresses"  # Service
    EXTERNAL_TRAFFIC_POLICY = "spec.externalTrafficPolicy"
    INTERNAL_TRAFFIC_POLICY = "spec.internalTrafficPolicy"
    SERVICE_SELECTOR = "spec.selector"  # Service


class Located:
    """Mixin: positions of the fields an object was built from."""

    loc: Loc
    locs: Mapping[str, Loc]

    def loc_of(self, path: Field | str) -> Loc:
        """Position of ``path`` or of its nearest written parent, else of the object.
        Fixed paths are ``Field`` constants; built ones (an annotation, a port by index)
        are strings."""
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
    command: tuple[str, ...] = ()  # exec probes


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
    host_port: int | None = None  # hostPort: the node's port, one pod per node may hold it
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
    nothing: bool = False  # a null labelSelector of an affinity term or spread: selects no pod

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.nothing:
            return False
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
        return not self.nothing and not self.match_labels and not self.match_expressions


_INTEGER = re.compile(r"^[+-]?[0-9]+$")  # what Go's strconv.ParseInt(s, 10, 64) accepts


def _as_integer(value: str | None) -> int | None:
    return int(value) if value is not None and _INTEGER.match(value) else None


@dataclass(frozen=True)
class NodeSelectorRequirement:
    """One ``matchExpressions`` entry of a node selector term.

    ``operator`` is In, NotIn, Exists, DoesNotExist, Gt or Lt (validated by the parser).
    Semantics as the scheduler applies them (k8s.io/component-helpers nodeaffinity):
    In needs the label present with one of ``values``; NotIn holds when the label is absent
    or has none of them; Gt/Lt parse the label and the single value as integers, and an
    absent or non-integer label never matches.
    """

    key: str
    operator: str
    values: tuple[str, ...] = ()
    loc: Loc = field(default=Loc("<unknown>", 0), compare=False)

    def matches(self, labels: Mapping[str, str]) -> bool:
        value = labels.get(self.key)
        op = self.operator
        if op == "In":
            return value is not None and value in self.values
        if op == "NotIn":
            return value is None or value not in self.values
        if op == "Exists":
            return value is not None
        if op == "DoesNotExist":
            return value is None
        if op in ("Gt", "Lt"):
            have = _as_integer(value)
            bound = _as_integer(self.values[0]) if len(self.values) == 1 else None
            if have is None or bound is None:
                return False
            return have > bound if op == "Gt" else have < bound
        return False


@dataclass(frozen=True)
class NodeSelectorTerm:
    """A node selector term: its requirements are ANDed; a pod's terms are ORed.

    A term with no requirements matches no node (Kubernetes API: "A null or empty node
    selector term matches no objects"). ``matchFields`` are not modelled: a term that had
    some (``ignored_fields``) treats them as satisfied, so one with only matchFields
    matches every node rather than none.
    """

    requirements: tuple[NodeSelectorRequirement, ...] = ()
    ignored_fields: bool = False
    loc: Loc = field(default=Loc("<unknown>", 0), compare=False)

    def matches(self, labels: Mapping[str, str]) -> bool:
        if not self.requirements and not self.ignored_fields:
            return False
        return all(r.matches(labels) for r in self.requirements)


TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


@dataclass(frozen=True)
class Taint:
    """A node taint; ``effect`` is NoSchedule, PreferNoSchedule or NoExecute."""

    key: str
    value: str = ""
    effect: str = "NoSchedule"


@dataclass(frozen=True)
class Toleration:
    """A pod toleration (``operator`` Equal or Exists; ``effect`` "" means every effect).

    ``tolerates`` is Kubernetes' ``Toleration.ToleratesTaint``: the effect must match unless
    empty, the key must match unless empty (empty key with Exists tolerates every taint),
    Exists ignores the value and Equal compares it.
    """

    key: str = ""
    operator: str = "Equal"
    value: str = ""
    effect: str = ""
    loc: Loc = field(default=Loc("<unknown>", 0), compare=False)

    def tolerates(self, taint: Taint) -> bool:
        if self.effect and self.effect != taint.effect:
            return False
        if self.key and self.key != taint.key:
            return False
        if self.operator == "Exists":
            return True
        return self.operator == "Equal" and self.value == taint.value


@dataclass(frozen=True)
class PodAffinityTerm:
    """A pod (anti-)affinity term: pods matching ``selector`` (in ``namespaces``; () = the
    pod's own; ``any_namespace``: a namespaceSelector) count per ``topology_key`` domain.
    ``match_label_keys`` (KEP-3633) narrows the selector to the incoming pod's values of
    those labels (``pod-template-hash``: the same ReplicaSet)."""

    selector: LabelSelector
    topology_key: str
    namespaces: tuple[str, ...] = ()
    any_namespace: bool = False
    match_label_keys: tuple[str, ...] = ()
    weight: int = 0  # preferred terms only
    loc: Loc = field(default=Loc("<unknown>", 0), compare=False)

    def selects_own(self, namespace: str, labels: Mapping[str, str]) -> bool:
        """Does the term select the workload's own pods (of either revision)?"""
        in_ns = self.any_namespace or (namespace in self.namespaces if self.namespaces else True)
        return in_ns and self.selector.matches(labels)


@dataclass(frozen=True)
class SpreadConstraint:
    """A ``topologySpreadConstraints`` entry (``whenUnsatisfiable`` DoNotSchedule filters,
    ScheduleAnyway only scores)."""

    max_skew: int
    topology_key: str
    hard: bool  # DoNotSchedule
    selector: LabelSelector
    match_label_keys: tuple[str, ...] = ()
    min_domains: int = 1
    loc: Loc = field(default=Loc("<unknown>", 0), compare=False)


@dataclass(frozen=True)
class PodTemplate(Located):
    labels: Mapping[str, str]
    containers: tuple[Container, ...]
    grace_seconds: int = 30  # terminationGracePeriodSeconds, default 30
    # native sidecars: initContainers with restartPolicy: Always (started before the main
    # containers, stopped after them; part of the pod's readiness)
    sidecars: tuple[Container, ...] = ()
    node_selector: Mapping[str, str] = field(default_factory=dict)
    readiness_gates: tuple[str, ...] = ()
    # affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms
    # (ORed; () = no constraint)
    required_node_terms: tuple[NodeSelectorTerm, ...] = ()
    # ...preferredDuringSchedulingIgnoredDuringExecution[*].preference: narrow nothing in a
    # proof (the scheduler may still pick any feasible node), kept for reporting
    preferred_node_terms: tuple[NodeSelectorTerm, ...] = ()
    tolerations: tuple[Toleration, ...] = ()
    # affinity.podAntiAffinity required / preferred terms
    anti_affinity: tuple[PodAffinityTerm, ...] = ()
    preferred_anti_affinity: tuple[PodAffinityTerm, ...] = ()
    # affinity.podAffinity required terms: about other workloads' pods, not modelled
    pod_affinity: bool = False
    spread: tuple[SpreadConstraint, ...] = ()
    loc: Loc = field(default=Loc("<unknown>", 0), compare=False)
    locs: Mapping[str, Loc] = field(default_factory=dict, compare=False, hash=False)


def scaled(value: int | str, total: int, round_up: bool) -> int:
    """``intstr.GetScaledValueFromIntOrPercent``: percentages of ``total``, rounded."""
    if isinstance(value, int):
        return value
    pct = int(value.rstrip("%"))
    exact = pct * total / 100
    return math.ceil(exact) if round_up else math.floor(exact)



class Strategy(Enum):
    ROLLING_UPDATE = "RollingUpdate"
    RECREATE = "Recreate"
    DAEMON_SET = "DaemonSet RollingUpdate"  # one pod per feasible node, replaced on its node
    DRAIN = "drain"  # kubectl drain of one node: evictions under PodDisruptionBudgets, replacements after
    STATEFUL_SET = "StatefulSet RollingUpdate"  # highest ordinal first, delete, wait until gone, recreate


class WorkloadKind(Enum):
    DEPLOYMENT = "Deployment"
    POD = "Pod"  # a bare Pod: "rolled out" by delete + create
    DAEMON_SET = "DaemonSet"  # one pod per feasible node (replicas: the cluster's nodes)
    STATEFUL_SET = "StatefulSet"  # ordinals 0..replicas-1; pods of ordinal >= partition are updated


@dataclass(frozen=True)
class Workload(Located):
    """A Deployment, a DaemonSet, a StatefulSet, or a bare Pod (replicas 1, replaced by
    delete + create)."""

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
    partition: int = 0  # StatefulSet: pods with a lower ordinal keep the old template
    ordered: bool = True  # StatefulSet podManagementPolicy: OrderedReady (else Parallel)
    scope: str = ""  # one rendering (a kustomization) of its own: pairs only within it
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
    scope: str = ""  # one rendering (a kustomization) of its own: pairs only within it
    loc: Loc = field(default=Loc("<unknown>", 0), compare=False)
    locs: Mapping[str, Loc] = field(default_factory=dict, compare=False, hash=False)

    @property
    def ref(self) -> str:
        return f"Service/{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Autoscaler(Located):
    """A HorizontalPodAutoscaler: it sets the replicas of its target between its bounds."""

    namespace: str
    name: str
    target_kind: str
    target_name: str
    min_replicas: int
    max_replicas: int
    loc: Loc = field(default=Loc("<unknown>", 0), compare=False)
    locs: Mapping[str, Loc] = field(default_factory=dict, compare=False, hash=False)
    scope: str = ""

    @property
    def ref(self) -> str:
        return f"HorizontalPodAutoscaler/{self.namespace}/{self.name}"

    def scales(self, w: "Workload") -> bool:
        return (w.kind.value, w.name, w.namespace, w.scope) == (self.target_kind, self.target_name,
                                                                 self.namespace, self.scope)


@dataclass(frozen=True)
class DisruptionBudget(Located):
    """A PodDisruptionBudget (policy/v1): limits evictions (``kubectl drain``), not rollouts."""

    namespace: str
    name: str
    selector: LabelSelector
    min_available: int | str | None = None
    max_unavailable: int | str | None = None
    loc: Loc = field(default=Loc("<unknown>", 0), compare=False)
    locs: Mapping[str, Loc] = field(default_factory=dict, compare=False, hash=False)
    scope: str = ""  # one rendering (a kustomization) of its own: pairs only within it

    @property
    def ref(self) -> str:
        return f"PodDisruptionBudget/{self.namespace}/{self.name}"

    def desired_healthy(self, expected: int) -> int:
        """``disruption.go`` getExpectedScale/desiredHealthy: minAvailable (percentages of
        the expected pods, rounded up), or expected - maxUnavailable (rounded up)."""
        if self.min_available is not None:
            v = self.min_available
            return -(-int(v[:-1]) * expected // 100) if isinstance(v, str) else v
        if self.max_unavailable is not None:
            v = self.max_unavailable
            u = -(-int(v[:-1]) * expected // 100) if isinstance(v, str) else v
            return max(expected - u, 0)
        return 0


@dataclass(frozen=True)
class Unverified:
    """A workload zdverify does not check: a kind it does not model, or an update it cannot roll."""

    ref: str
    reason: str
    loc: Loc


@dataclass(frozen=True)
class Objects:
    """Everything the model reads from the input, in input order."""

    workloads: tuple[Workload, ...]
    services: tuple[Service, ...]
    unverified: tuple[Unverified, ...] = ()
    budgets: tuple[DisruptionBudget, ...] = ()
    autoscalers: tuple["Autoscaler", ...] = ()
