"""Verdicts: what the search found, in a form the renderers read without deriving anything.

Three verdicts, never two: a solver ``unknown``, an exhausted budget, or a counterexample
the simulator could not replay is ``INCONCLUSIVE`` — never ``PROVED``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

from zdverify.grammar.spec_language import Claim
from zdverify.model.source import InputProblem, Loc


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


@dataclass(frozen=True)
class Property:
    """A property as the spec language states it (``specs/*.zds``), with what reports say
    about it. Built-ins and user properties are the same kind of value."""

    rule_id: str  # stable across releases (SARIF ruleId), e.g. ZDV002
    slug: str  # e.g. "termination": --property, suppressions, JSON
    name: str  # PascalCase (SARIF rule name)
    title: str  # the claim in words: "no request reaches a pod after it stopped serving"
    description: str  # one line: what fails
    explanation: str
    remediation: str
    cause: "Cause"
    claim: Claim = field(compare=False, hash=False, repr=False)
    text: str = ""  # the claim as written
    source: Loc | None = None
    builtin: bool = False

    @property
    def value(self) -> str:
        return self.slug


class Component(Enum):
    """Who acts in a trace step."""

    DEPLOYMENT = "deployment-controller"
    REPLICASET = "replicaset-controller"
    DAEMONSET = "daemonset-controller"
    STATEFULSET = "statefulset-controller"
    SCHEDULER = "scheduler"
    KUBELET = "kubelet"
    APP = "app"
    ENDPOINTSLICE = "endpointslice-controller"
    KUBE_PROXY = "kube-proxy"
    LOAD_BALANCER = "load-balancer"
    CLIENT = "client"
    KUBECTL = "kubectl"  # kubectl drain (--drain)


class EventKind(Enum):
    """Typed events of the model; trace steps carry one."""

    ROLLOUT_START = "rollout-start"
    SCALE_UP = "scale-up"
    SCALE_DOWN = "scale-down"
    POD_CREATED = "pod-created"
    POD_SCHEDULED = "pod-scheduled"  # the scheduler binds a pod it took its time over, or a Pending one
    POD_PENDING = "pod-pending"  # no feasible node has room for the pod
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
    SIDE_CONTAINER_EXITED = "side-container-exited"  # another container of the pod exits: the pod is not Ready
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
    LB_TARGET_ADDED = "lb-target-added"  # IP targets: a pod's target turns healthy
    LB_TARGET_REMOVED = "lb-target-removed"  # IP targets: deregistered or failing its checks
    REQUEST = "request"
    VIOLATION = "violation"
    ROLLOUT_COMPLETE = "rollout-complete"


class Cause(Enum):
    """What a violation is reported as; decides the blamed lines and the fix."""

    STARTUP = "startup"
    TERMINATION = "termination"
    NO_ENDPOINT = "no-endpoint"
    NO_HEALTHY_TARGET = "no-healthy-target"
    CONNECTION_REUSE = "connection-reuse"
    KILLED_IN_FLIGHT = "killed-in-flight"
    STALLED = "stalled"
    CAPACITY = "capacity"


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
    # preferred placement rules the counterexample goes against (they only score: the
    # scheduler may still place pods so, but it is unlikely)
    discouraged: tuple[Blame, ...] = ()
    # a proof: the bounds and manifest values the solver needed (an unsat core of them), so a
    # reviewer knows which to doubt; () with a proof: none (the rollout's structure alone)
    rests_on: tuple[Fact, ...] | None = ()  # None: not named within the solver budget
    # a proof about a rollout that can stall (its ``stalled`` result is a counterexample): it
    # holds for the part that runs, the rest of the rollout never happens
    vacuous: bool = False
    likelihood: "Likelihood | None" = None  # a counterexample: the share of random rollouts that fail
    schedule: "Schedule | None" = None  # a counterexample: its run's every instant, for a replay
    fix_edits: tuple["FixEdit", ...] = ()  # the fix as data, when it is one the model checked
    fix_schedule: "Schedule | None" = None  # the same run with the fix applied (for replay --with-fix)


@dataclass(frozen=True)
class FixEdit:
    """One change of a suggested fix, as data: the manifest field (a path from the object's
    root, a container named as ``containers[name=web]``), its new value, and what it replaces
    ("" when the field is not written)."""

    path: str
    value: object
    replaces: str = ""


@dataclass(frozen=True)
class PodSchedule:
    """One pod of a counterexample's run: its node and instants (None: before the rollout
    for ``created``/``listening``/``ready`` of an old pod, never for the others)."""

    name: str
    old: bool
    node: str
    created: float | None
    listening: float | None
    ready: float | None
    deleted: float | None
    sigterm: float | None
    closed: float | None  # stops accepting connections
    unready: float | None  # an old pod's readiness turns false
    exited: float | None
    sigkill: float | None
    # a load balancer that targets pod IPs sends new connections to the pod from ... until
    target_in: float | None = None
    target_out: float | None = None


@dataclass(frozen=True)
class ProxyApply:
    """A node's kube-proxy applies one EndpointSlice change for one pod."""

    node: str
    t: float
    pod: str
    change: str  # "ready", "terminating", "not serving", "removed"


@dataclass(frozen=True)
class NodeHealth:
    """A Local load balancer's view of one node: its checks' phase and answer time, and
    the instants its verdict changes."""

    node: str
    phase: float  # the first check's offset, seconds into the interval
    answer: float  # seconds each check takes to answer
    changes: tuple[tuple[float, bool], ...]  # (instant, healthy) after the start
    initially: bool = True  # healthy before the rollout (it had a ready local endpoint)


@dataclass(frozen=True)
class Schedule:
    """A counterexample's complete run, for replaying it elsewhere (docs/json-format.md)."""

    pods: tuple[PodSchedule, ...]
    applies: tuple[ProxyApply, ...]
    load_balancer: tuple[NodeHealth, ...]
    request: float  # the longest request, seconds
    horizon: float  # the run's end
    nodes: tuple[str, ...] = ()
    fallback: bool = True  # kube-proxy falls back to serving terminating endpoints when none is ready
    # the violation: when, where (node), through which entry, and until when it lasts
    violation_t: float = 0.0
    violation_end: float = 0.0
    violation_node: str = ""
    violation_pod: str = ""
    entry: str = ""  # "ClusterIP", "NodePort", "load balancer"
    entry_local: bool = False
    entry_ip: bool = False
    # the load balancer's health checking: interval, timeout (s), healthy and unhealthy counts
    lb_checks: tuple[float, float, int, int] = (0.0, 0.0, 0, 0)
    fail_open: bool = False  # with no healthy target the load balancer sends to every one
    violation_property: str = ""
    # pooled clients (zdverify/keep-alive): what the application does with idle connections
    # ("close-idle", "connection-close") and the clients' idle timeout (None: never)
    keep_alive: tuple[str, float | None] | None = None


@dataclass(frozen=True)
class Likelihood:
    """The share of randomly drawn rollouts that fail (``model/likelihood.py``)."""

    failed: int
    runs: int
    low: float  # Wilson 95 % interval of the share
    high: float
    seed: int
    distribution: str  # what was drawn, in words

    @property
    def share(self) -> float:
        return self.failed / self.runs if self.runs else 0.0

    @property
    def text(self) -> str:
        share = ("none" if self.failed == 0 else "under 1%" if self.share < 0.01 else f"{self.share:.0%}")
        race = ": a race at the edge of the bounds" if self.share < 0.01 else ""
        return (f"fails in {share} of {self.runs:,} simulated rollouts{race} (95% interval "
                f"{self.low:.1%}–{self.high:.1%}, seed {self.seed}; {self.distribution})")


@dataclass(frozen=True, order=True)
class Fact:
    """A bound or a manifest value a proof may rest on."""

    key: str  # the bound's key ("kube-proxy"), or the manifest field ("preStop", "minReadySeconds")
    text: str  # "kube-proxy <= 2s", "preStop sleep 60s"
    loc: Loc | None = field(default=None, compare=False)  # where the manifest writes it


class NoteKind(Enum):
    """Why something in the input has no result (or what a result assumes)."""

    SKIPPED = "skipped"  # a Service zdverify does not route through (ExternalName, no selector, …)
    UNSELECTED = "unselected"  # a workload no Service selects, a Service that selects no workload
    LEFT_UNVERIFIED = "left-unverified"  # a workload the model cannot check (the reason is given)
    ASSUMPTION = "assumption"  # checked, under the stated assumption


@dataclass(frozen=True)
class Note:
    """One sentence on what was not verified, or assumed, and why."""

    kind: NoteKind
    text: str


@dataclass(frozen=True)
class Finding:
    """Counterexamples that are one problem: the same workload, cause, blamed lines and fix,
    found through several Services, ports or entries. ``results[0]`` is shown in full."""

    results: tuple[Result, ...]

    @property
    def first(self) -> Result:
        return self.results[0]

    @property
    def also(self) -> tuple[Result, ...]:
        return self.results[1:]


@dataclass(frozen=True)
class Headline:
    """One line of a report's opening summary: a property's counterexamples across workloads."""

    property: Property
    workloads: tuple[str, ...]
    reason: str  # the first blamed line's field and why, when all of them share it; else ""


def findings(results: tuple[Result, ...]) -> tuple[Finding, ...]:
    """Active counterexamples grouped into findings, in report order."""
    groups: dict[tuple, list[Result]] = {}
    for r in results:
        if r.verdict is Verdict.COUNTEREXAMPLE and r.suppressed is None:
            key = (r.workload, r.property.slug, r.cause, tuple((b.loc, b.field) for b in r.blame), r.fix)
            groups.setdefault(key, []).append(r)
    return tuple(Finding(tuple(rs)) for rs in groups.values())


_INDEX = re.compile(r"\[[^\]]*\]")  # containers[web] -> containers[*]


def headlines(found: tuple[Finding, ...]) -> tuple[Headline, ...]:
    """Per property and shared reason (the first blamed field and why, the container's name
    left out), the workloads with a counterexample: "termination — no preStop hook: 11
    workloads"."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for f in found:
        b = f.first.blame[0] if f.first.blame else None
        reason = f"{b.why} ({_INDEX.sub('[*]', b.field)})" if b is not None and b.why else ""
        groups.setdefault((f.first.property.slug, reason), []).append(f)
    return tuple(Headline(fs[0].first.property, tuple(dict.fromkeys(f.first.workload for f in fs)), reason)
                 for (_, reason), fs in groups.items())


@dataclass(frozen=True)
class Report:
    """Everything one run found; the renderers' only input."""

    results: tuple[Result, ...]
    notes: tuple[Note, ...] = ()  # unpaired workloads/services, skipped objects
    nodes: int = 3
    k8s_version: str = ""
    properties: tuple[Property, ...] = ()  # the properties checked, in catalogue order
    errors: tuple[InputProblem, ...] = ()  # input errors; what they did not touch was still verified

    @property
    def findings(self) -> tuple[Finding, ...]:
        """The counterexamples grouped (same workload, cause, blame and fix)."""
        return findings(self.results)

    @property
    def headlines(self) -> tuple[Headline, ...]:
        return headlines(self.findings)

    @property
    def verdict(self) -> Verdict:
        """The gate's verdict: suppressed results are reported (as skipped) but do not count."""
        active = [r.verdict for r in self.results if r.suppressed is None]
        if not active:
            return Verdict.PROVED
        return max(active, key=lambda v: v.rank)
