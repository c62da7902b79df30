"""The bounds a proof rests on: delays, application behaviour, load-balancer health checks.

Defaults follow ../shared/k8s-semantics.md, section "Modelling implications" (table C).
Each bound is overridable with ``--assume KEY=RANGE`` (ranges as ``0s..5s``); every proof
prints the bounds it used and where each came from.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Mapping, Protocol

from zdverify.grammar.durations import DurationError, parse_range
from zdverify.model.source import InputError, Loc
from zdverify.model.verdict import Assumption

DEFAULT_K8S_VERSION = "1.34"
"""A recent release with no known readiness-during-termination regression (1.35 skips exec
readiness probes on terminating pods, kubernetes/kubernetes#140509)."""


@dataclass(frozen=True)
class Interval:
    lo: float
    hi: float

    def __str__(self) -> str:
        def f(x: float) -> str:
            return f"{x:g}s"

        return f(self.lo) if self.lo == self.hi else f"{f(self.lo)}..{f(self.hi)}"


@dataclass(frozen=True)
class Bound:
    """One named bound with its documentation (shown in proofs and ``--help``)."""

    key: str
    default: Interval
    doc: str


BOUNDS: tuple[Bound, ...] = (
    Bound("controller", Interval(0, 1), "Deployment/ReplicaSet controller reaction to a change"),
    Bound("endpointslice", Interval(0, 1), "pod change -> EndpointSlice written"),
    Bound("kube-proxy", Interval(0, 2), "EndpointSlice -> rules applied, independently per node"),
    Bound("kubelet", Interval(0, 1), "pod deleted -> kubelet starts shutdown"),
    Bound("pod-start", Interval(1, 30), "pod created -> container started (schedule, pull, start)"),
    Bound("app-startup", Interval(0, 10), "container started -> application accepts connections"),
    Bound("app-close", Interval(0, 0), "SIGTERM -> application stops accepting connections"),
    Bound("request", Interval(0, 1), "duration of one request"),
)


@dataclass(frozen=True)
class LBProfile:
    """Health checking of a cloud load balancer in front of ``externalTrafficPolicy: Local``."""

    name: str
    interval: float
    timeout: float
    healthy: int
    unhealthy: int
    source: str


LB_PROFILES: Mapping[str, LBProfile] = {
    p.name: p for p in (
        LBProfile("generic", 10, 6, 3, 3,
                  "AWS Load Balancer Controller NLB defaults (HTTP 10 s / 6 s, 3/3), k8s-semantics.md §6.2"),
        LBProfile("aws-nlb", 10, 6, 3, 3,
                  "AWS Load Balancer Controller NLB, HTTP check on healthCheckNodePort: 10 s, timeout 6 s, "
                  "3/3 (kubernetes-sigs/aws-load-balancer-controller docs/guide/service/annotations.md)"),
        LBProfile("aws-nlb-in-tree", 30, 10, 3, 3,
                  "in-tree AWS NLB (service.beta.kubernetes.io/aws-load-balancer-type: nlb): 30 s, 10 s, 3/3 "
                  "(kubernetes/cloud-provider-aws aws_loadbalancer.go defaultNlbHealthCheck*)"),
        LBProfile("aws-clb", 10, 5, 2, 6,
                  "in-tree AWS Classic ELB: 10 s, timeout 5 s, healthy 2, unhealthy 6 "
                  "(kubernetes/cloud-provider-aws aws_loadbalancer.go defaultElbHC*)"),
        LBProfile("gcp", 8, 1, 1, 3,
                  "GCP L4 (in-tree GCE / ingress-gce): 8 s, timeout 1 s, healthy 1, unhealthy 3 "
                  "(gce.go gceHcCheckIntervalSeconds and friends)"),
        LBProfile("azure", 5, 5, 2, 2,
                  "Azure (cloud-provider-azure): probe every 5 s, 2 probes (HealthProbeDefaultProbeInterval, "
                  "HealthProbeDefaultNumOfProbe); the fact sheet gives no timeout or healthy count: "
                  "5 s and 2 assumed"),
    )
}
"""Health checking per cloud (k8s-semantics.md §6.2). Alibaba SLB and IP-target load
balancers (AWS ALB/NLB ip mode, GCP NEG) are not profiled yet."""


def lb_profile(name: str, loc: Loc | None = None, what: str = "--lb") -> LBProfile:
    try:
        return LB_PROFILES[name]
    except KeyError:
        raise InputError(f"{what}: unknown load-balancer profile {name!r}; profiles: "
                         f"{', '.join(LB_PROFILES)}", loc) from None


@dataclass(frozen=True)
class Settings:
    """Resolved bounds and switches for one run."""

    bounds: Mapping[str, Interval]
    origins: Mapping[str, str]
    k8s_version: tuple[int, int]
    lb: LBProfile
    fail_readiness_on_sigterm: bool = False  # the app fails its readiness probe from SIGTERM on
    sources: Mapping[str, Loc] = field(default_factory=dict)  # key -> where an annotation set it

    def __getitem__(self, key: str) -> Interval:
        return self.bounds[key]

    @property
    def terminating_fallback(self) -> bool:
        """KEP-1669 ProxyTerminatingEndpoints: on by default from 1.26 (GA 1.28)."""
        return self.k8s_version >= (1, 26)

    @property
    def native_sleep(self) -> bool:
        """KEP-3960 lifecycle ``sleep`` action: beta and on from 1.30."""
        return self.k8s_version >= (1, 30)

    @property
    def exec_readiness_skipped_when_terminating(self) -> bool:
        """kubernetes/kubernetes#140509: exec readiness probes skipped for terminating pods in 1.35."""
        return self.k8s_version == (1, 35)

    @property
    def version_text(self) -> str:
        return f"{self.k8s_version[0]}.{self.k8s_version[1]}"

    def assumptions(self) -> tuple[Assumption, ...]:
        out = [Assumption(b.key, str(self.bounds[b.key]), self.origins[b.key], b.doc, self.sources.get(b.key))
               for b in BOUNDS]
        if self.fail_readiness_on_sigterm:
            out.append(Assumption("on-sigterm", "fails readiness, keeps serving until app-close",
                                  self.origins.get("fail-readiness", "annotation"),
                                  "the readiness probe fails from SIGTERM on", self.sources.get("fail-readiness")))
        out.append(Assumption("k8s-version", self.version_text, self.origins.get("k8s-version", "default"),
                              "terminating-endpoint fallback " + ("on" if self.terminating_fallback else "off")))
        lb = self.lb
        out.append(Assumption(
            "load-balancer", f"{lb.name}: every {lb.interval:g}s, timeout {lb.timeout:g}s, "
            f"unhealthy after {lb.unhealthy}, healthy after {lb.healthy}",
            self.origins.get("load-balancer", "default"), lb.source))
        return tuple(out)


def parse_version(text: str) -> tuple[int, int]:
    parts = text.strip().lstrip("v").split(".")
    try:
        major, minor = int(parts[0]), int(parts[1])
    except (ValueError, IndexError):
        raise InputError(f"--k8s-version: expected MAJOR.MINOR such as 1.34, got {text!r}") from None
    if major != 1 or not 19 <= minor <= 40:
        raise InputError(f"--k8s-version: {text!r} is outside the supported range 1.19..1.40")
    return major, minor


def settings(assume: Mapping[str, str] | None = None, k8s_version: str | None = None,
             lb: str | None = None, cluster: "ClusterSettings | None" = None) -> Settings:
    """Defaults, overridden by the cluster file, then by ``--assume KEY=RANGE``,
    ``--k8s-version`` and ``--lb``."""
    bounds = {b.key: b.default for b in BOUNDS}
    origins = {b.key: "default" for b in BOUNDS}
    version_text, profile = DEFAULT_K8S_VERSION, LB_PROFILES["generic"]
    if cluster is not None:
        where = f"cluster file {cluster.path}"
        origins["nodes"] = where
        for key, text in cluster.bounds.items():
            bounds[key] = parse_bound(key, text, "bounds:", None)
            origins[key] = where
        if cluster.k8s_version:
            version_text, origins["k8s-version"] = cluster.k8s_version, where
        if cluster.lb:
            profile, origins["load-balancer"] = lb_profile(cluster.lb), where
    for key, text in (assume or {}).items():
        bounds[key] = parse_bound(key, text, "--assume", None)
        origins[key] = "flag"
    if k8s_version:
        version_text, origins["k8s-version"] = k8s_version, "flag"
    if lb:
        profile, origins["load-balancer"] = lb_profile(lb), "flag"
    return Settings(bounds, origins, parse_version(version_text), profile)


class ClusterSettings(Protocol):
    """What the cluster file contributes to the settings (see ``model/cluster.py``)."""

    path: str
    bounds: dict[str, str]
    k8s_version: str | None
    lb: str | None


def parse_bound(key: str, text: str, what: str, loc: Loc | None) -> Interval:
    if key not in {b.key for b in BOUNDS}:
        known = ", ".join(b.key for b in BOUNDS)
        raise InputError(f"{what}: unknown bound {key!r}; known bounds: {known}", loc)
    try:
        lo, hi = parse_range(text)
    except DurationError as e:
        raise InputError(f"{what} {key}: {e}", loc) from None
    return Interval(lo, hi)


ANNOTATIONS = {
    "zdverify/app-startup": "app-startup",
    "zdverify/request-duration": "request",
}
ON_SIGTERM = "zdverify/on-sigterm"


def for_workload(s: Settings, annotations: Mapping[str, str], loc_of: Callable[[str], Loc]) -> Settings:
    """Bounds only the workload's owner knows, from its annotations (origin "annotation"):
    ``zdverify/app-startup: 2s..20s``, ``zdverify/request-duration: 0s..30s``,
    ``zdverify/on-sigterm: close`` (stops accepting at once), ``drain 10s`` (keeps
    accepting for 10 s after SIGTERM, then closes) or ``fail-readiness, drain 10s`` (also
    fails its readiness probe from SIGTERM on — the recipe of kubernetes/kubernetes#20473)."""
    bounds, origins, sources = dict(s.bounds), dict(s.origins), dict(s.sources)
    for key, text in annotations.items():
        loc = loc_of(f"metadata.annotations.{key}")
        if key in ANNOTATIONS:
            bound = ANNOTATIONS[key]
            bounds[bound] = parse_bound(bound, text, f"annotation {key}:", loc)
        elif key == ON_SIGTERM:
            fail_readiness = False
            for part in (p.strip() for p in text.split(",")):
                words = part.split(None, 1)
                if words == ["close"]:
                    bounds["app-close"] = Interval(0, 0)
                elif len(words) == 2 and words[0] == "drain":
                    bounds["app-close"] = parse_bound("app-close", words[1], f"annotation {key}:", loc)
                elif words == ["fail-readiness"]:
                    fail_readiness = True
                else:
                    raise InputError(f'annotation {key}: expected "close", "drain <duration>" or '
                                     f'"fail-readiness, drain <duration>", got {text!r}', loc)
            bound = "app-close"
            if fail_readiness:
                origins["fail-readiness"], sources["fail-readiness"] = "annotation", loc
                s = replace(s, fail_readiness_on_sigterm=True)
        else:
            continue
        origins[bound], sources[bound] = "annotation", loc
    return replace(s, bounds=bounds, origins=origins, sources=sources)

