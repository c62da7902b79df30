"""Verdicts: what the search found, in a form the renderers read without deriving anything.

Three verdicts, never two: a solver ``unknown``, an exhausted budget, or a counterexample
the simulator could not replay is ``INCONCLUSIVE`` — never ``PROVED``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from zdverify.model.source import Loc


class Verdict(Enum):
    PROVED = "proved"
    COUNTEREXAMPLE = "counterexample"
    INCONCLUSIVE = "inconclusive"

    @property
    def rank(self) -> int:
        """Severity order used to combine verdicts: a counterexample outranks an
        inconclusive result (the gate fails either way, but the trace is the news), and
        both outrank a proof."""
        return {Verdict.PROVED: 0, Verdict.INCONCLUSIVE: 1, Verdict.COUNTEREXAMPLE: 2}[self]


class Property(Enum):
    """Built-in properties (issue C moves them into the spec language)."""

    STARTUP = "startup"  # a request reaches a new pod before it serves
    TERMINATION = "termination"  # a request reaches an old pod after it stopped serving
    NO_ENDPOINT = "no-endpoint"  # a request reaches a node/Service with no endpoint
    KILLED_IN_FLIGHT = "killed-in-flight"  # SIGKILL cuts a request that was accepted
    STALLED = "stalled"  # some execution never finishes the rollout

    @property
    def title(self) -> str:
        return {
            Property.STARTUP: "no request reaches a pod before it serves",
            Property.TERMINATION: "no request reaches a pod after it stopped serving",
            Property.NO_ENDPOINT: "no request reaches a node or Service without an endpoint",
            Property.KILLED_IN_FLIGHT: "no accepted request is cut off by SIGKILL",
            Property.STALLED: "the rollout always finishes",
        }[self]


class Component(Enum):
    """Who acts in a trace step."""

    DEPLOYMENT = "deployment-controller"
    REPLICASET = "replicaset-controller"
    SCHEDULER = "scheduler"
    KUBELET = "kubelet"
    APP = "app"
    ENDPOINTSLICE = "endpointslice-controller"
    KUBE_PROXY = "kube-proxy"
    LOAD_BALANCER = "load-balancer"
    CLIENT = "client"


class EventKind(Enum):
    """Typed events of the model; trace steps carry one."""

    ROLLOUT_START = "rollout-start"
    SCALE_UP = "scale-up"
    SCALE_DOWN = "scale-down"
    POD_CREATED = "pod-created"
    CONTAINER_STARTED = "container-started"
    APP_LISTENING = "app-listening"
    READY = "ready"
    AVAILABLE = "available"
    LIVENESS_KILL = "liveness-kill"
    POD_DELETED = "pod-deleted"
    KUBELET_SEES_DELETE = "kubelet-sees-delete"
    SIGTERM = "sigterm"
    LISTENER_CLOSED = "listener-closed"
    NOT_READY = "not-ready"
    CONTAINER_EXITED = "container-exited"
    SIGKILL = "sigkill"
    SLICE_ADD = "slice-ready"
    SLICE_TERMINATING = "slice-terminating"
    SLICE_NOT_SERVING = "slice-not-serving"
    PROXY_ADD = "proxy-add"
    PROXY_TERMINATING = "proxy-terminating"
    PROXY_NOT_SERVING = "proxy-not-serving"
    LB_REMOVES_NODE = "lb-removes-node"
    LB_ADDS_NODE = "lb-adds-node"
    REQUEST = "request"
    VIOLATION = "violation"
    ROLLOUT_COMPLETE = "rollout-complete"


class Cause(Enum):
    STARTUP = "startup"
    TERMINATION = "termination"
    NO_ENDPOINT = "no-endpoint"
    KILLED_IN_FLIGHT = "killed-in-flight"
    STALLED = "stalled"


@dataclass(frozen=True)
class Step:
    """One line of a counterexample trace."""

    t: float
    component: Component
    where: str  # e.g. "node-2", "web-new-1", "" for cluster-wide actors
    kind: EventKind
    text: str
    source: Loc | None = None
    pod: str = ""  # the pod the step concerns, if any


@dataclass(frozen=True)
class Assumption:
    """A bound or fact a proof rests on, and where it came from."""

    key: str
    value: str
    origin: str  # "default", "flag", "cluster file", "annotation", "manifest", "model"
    note: str = ""
    source: Loc | None = None  # the annotation or file entry it came from, when there is one


@dataclass(frozen=True)
class Blame:
    """A manifest line responsible for a counterexample, and why."""

    loc: Loc
    field: str
    why: str


@dataclass(frozen=True)
class Result:
    """The verdict for one (workload, Service, property)."""

    property: Property
    workload: str  # "Deployment/<ns>/<name>"
    service: str  # "Service/<ns>/<name>"
    verdict: Verdict
    summary: str
    cause: Cause | None = None
    trace: tuple[Step, ...] = ()
    blame: tuple[Blame, ...] = ()
    why: str = ""
    fix: str = ""
    assumptions: tuple[Assumption, ...] = ()
    source: Loc | None = None  # where the result is reported (workload or Service line)
    stats: dict = field(default_factory=dict, compare=False, hash=False)
    port: int | None = None  # the Service port this result is about
    suppressed: str | None = None  # the reason, when an annotation or the config suppresses it
    suppressed_by: Loc | None = None  # where that suppression is written


@dataclass(frozen=True)
class Report:
    """Everything one run found; the renderers' only input."""

    results: tuple[Result, ...]
    notes: tuple[str, ...] = ()  # unpaired workloads/services, skipped objects
    nodes: int = 3
    k8s_version: str = ""

    @property
    def verdict(self) -> Verdict:
        """The gate's verdict: suppressed results are reported (as skipped) but do not count."""
        active = [r.verdict for r in self.results if r.suppressed is None]
        if not active:
            return Verdict.PROVED
        return max(active, key=lambda v: v.rank)
