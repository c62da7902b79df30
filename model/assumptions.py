"""The bounds a proof rests on: delays, application behaviour, load-balancer health checks.

Defaults are upstream defaults and measured reaction times; each bound's note says where it
comes from.
Each bound is overridable with ``--assume KEY=RANGE`` (ranges as ``0s..5s``); every proof
prints the bounds it used and where each came from.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Callable, Mapping, Protocol

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
    ip_only: bool = False  # only load balancers that target pod IPs use it


BOUNDS: tuple[Bound, ...] = (
    Bound("controller", Interval(0, 1), "Deployment/ReplicaSet controller reaction to a change"),
    Bound("endpointslice", Interval(0, 1), "pod change -> EndpointSlice written"),
    Bound("kube-proxy", Interval(0, 2), "EndpointSlice -> rules applied, independently per node"),
    Bound("kubelet", Interval(0, 1), "pod deleted -> kubelet starts shutdown"),
    Bound("pod-start", Interval(1, 30), "pod created -> container started (schedule, pull, start)"),
    Bound("app-startup", Interval(0, 10), "container started -> application accepts connections"),
    Bound("app-close", Interval(0, 0), "SIGTERM -> application stops accepting connections"),
    Bound("request", Interval(0, 1), "duration of one request"),
    Bound("lb-register", Interval(0, 120), "IP targets: endpoint ready (or pod started, with a readiness gate) "
          "-> target registered (aws-load-balancer-controller#3270: ~2 min observed)", ip_only=True),
    Bound("lb-deregister", Interval(0, 120), "IP targets: endpoint terminating -> the load balancer stops "
          "sending new requests (aws-load-balancer-controller#3270)", ip_only=True),
)


class Cadence(Enum):
    """When a load balancer starts its next health check."""

    FIXED = "fixed-rate"  # every interval, whatever the answer time (the clouds)
    AFTER_ANSWER = "after-answer"  # interval after the previous check finished (haproxy's inter)


@dataclass(frozen=True)
class LBProfile:
    """Health checking of a cloud load balancer in front of ``externalTrafficPolicy: Local``."""

    name: str
    interval: float
    timeout: float
    healthy: int
    unhealthy: int
    source: str
    stated_at: Loc | None = None  # where a custom profile was written; None for built-in profiles
    ip_targets: bool = False  # targets are pod IPs (AWS ip mode): kube-proxy is bypassed
    fail_open: bool = False  # with no healthy target it sends to every registered one (else to none)
    fail_open_source: str = "not documented: assumed to send to no target (every new connection fails)"
    cadence: Cadence = Cadence.FIXED

    @property
    def gap(self) -> float:
        """The longest time between the starts of two checks of one target."""
        return self.interval + (self.timeout if self.cadence is Cadence.AFTER_ANSWER else 0)

    @property
    def removal_max(self) -> float:
        """How long after its check starts failing a node may still get new flows."""
        return self.unhealthy * self.gap + self.timeout

    @property
    def add_max(self) -> float:
        """How long after its check starts passing a node may still be out."""
        return self.healthy * self.gap + self.timeout


_AWS_NLB_FAIL_OPEN = ("AWS Network Load Balancer target-group health checks: when every target fails its checks "
                      "the load balancer fails open and sends to all registered targets (docs.aws.amazon.com "
                      "elasticloadbalancing/latest/network/target-group-health-checks)")

LB_PROFILES: Mapping[str, LBProfile] = {
    p.name: p for p in (
        LBProfile("generic", 10, 6, 3, 3,
                  "AWS Load Balancer Controller NLB defaults (HTTP 10 s / 6 s, 3/3)",
                  fail_open=True, fail_open_source=_AWS_NLB_FAIL_OPEN),
        LBProfile("aws-nlb", 10, 6, 3, 3,
                  "AWS Load Balancer Controller NLB, HTTP check on healthCheckNodePort: 10 s, timeout 6 s, "
                  "3/3 (kubernetes-sigs/aws-load-balancer-controller docs/guide/service/annotations.md)",
                  fail_open=True, fail_open_source=_AWS_NLB_FAIL_OPEN),
        LBProfile("aws-nlb-in-tree", 10, 10, 2, 2,
                  "in-tree AWS NLB (service.beta.kubernetes.io/aws-load-balancer-type: nlb) with "
                  "externalTrafficPolicy: Local: HTTP check of the health-check node port every 10 s, timeout "
                  "10 s, healthy 2, unhealthy 2 (kubernetes/cloud-provider-aws pkg/providers/v1/aws.go "
                  "buildNLBHealthCheckConfiguration, which replaces the 30 s / 10 s / 3 defaults under Local)",
                  fail_open=True, fail_open_source=_AWS_NLB_FAIL_OPEN),
        LBProfile("aws-clb", 10, 5, 2, 6,
                  "in-tree AWS Classic ELB: 10 s, timeout 5 s, healthy 2, unhealthy 6 "
                  "(kubernetes/cloud-provider-aws aws_loadbalancer.go defaultElbHC*)",
                  fail_open_source="Classic ELB routes only to healthy instances; with none it answers 503 (HTTP "
                                   "listeners) or closes the connection"),
        LBProfile("gcp", 8, 1, 1, 3,
                  "GCP L4 (in-tree GCE / ingress-gce): 8 s, timeout 1 s, healthy 1, unhealthy 3 "
                  "(gce.go gceHcCheckIntervalSeconds and friends)",
                  fail_open=True,
                  fail_open_source="GCP passthrough Network Load Balancer traffic distribution: when every backend "
                                   "is unhealthy, new connections go to all backends as a last resort "
                                   "(cloud.google.com load-balancing/docs/network/ext-netlb-traffic-distribution)"),
        LBProfile("azure", 5, 5, 2, 2,
                  "Azure (cloud-provider-azure): probe every 5 s, 2 probes (HealthProbeDefaultProbeInterval, "
                  "HealthProbeDefaultNumOfProbe); no documented timeout or healthy count: "
                  "5 s and 2 assumed",
                  fail_open_source="Azure Load Balancer probe noHealthyBackendsBehavior defaults to AllProbedDown: "
                                   "no new flows when every instance is probed down (learn.microsoft.com "
                                   "load-balancer-custom-probe-overview)"),
        LBProfile("aws-alb-ip", 15, 5, 2, 2,
                  "AWS ALB from the AWS Load Balancer Controller, target-type ip: pod IPs are the targets, "
                  "health check every 15 s, timeout 5 s, healthy 2, unhealthy 2 (kubernetes-sigs/"
                  "aws-load-balancer-controller docs/guide/ingress/annotations.md, pkg/ingress/model_builder.go); "
                  "registration and deregistration lags are the lb-register / lb-deregister bounds "
                  "(#3270, #2366: ~2 min observed)", ip_targets=True,
                  fail_open=True,
                  fail_open_source="ALB target-group health checks: with only unhealthy targets the load balancer "
                                   "fails open to all of them (docs.aws.amazon.com elasticloadbalancing/latest/"
                                   "application/target-group-health-checks); zdverify does not model it for IP "
                                   "targets: an empty target group counts as failed requests"),
        LBProfile("gcp-neg", 15, 15, 1, 2,
                  "GCP container-native load balancing (ingress-gce NEG): pod IPs are the targets, health check "
                  "every 15 s, timeout 15 s, healthy 1, unhealthy 2 (kubernetes/ingress-gce "
                  "pkg/translator/healthchecks.go defaultNEGHealthCheckInterval, defaultNEGTimeout, "
                  "defaultHealthyThreshold, defaultNEGUnhealthyThreshold); a readiness probe's period and "
                  "timeout replace interval and timeout upstream (ApplyProbeSettingsToHC), not modelled",
                  ip_targets=True,
                  fail_open_source="an application load balancer with no healthy endpoint answers 503"),
        LBProfile("alibaba-slb", 2, 5, 3, 3,
                  "Alibaba Cloud CLB (formerly SLB) TCP listener from the ACK cloud-controller-manager, which "
                  "sets no health-check field unless annotated (kubernetes/cloud-provider-alibaba-cloud "
                  "pkg/controller/service/clbv1/listeners.go), so CLB defaults apply: every 2 s, timeout 5 s, "
                  "3/3 (https://www.alibabacloud.com/help/doc-detail/55205.htm; timeout default 5 s: "
                  "https://www.alibabacloud.com/help/en/server-load-balancer/latest/createloadbalancertcplistener). "
                  "Approximate: the check is TCP on the NodePort and under Local the CCM registers only "
                  "nodes with pods"),
    )
}
"""Health checking per cloud (each cloud's load-balancer health-check documentation; Alibaba from its CLB documentation).
IP-target load balancers have their own profiles (``aws-alb-ip``, ``gcp-neg``). Any other load
balancer is stated in the cluster file as a mapping (:func:`custom_lb_profile`), on its own
or starting from one of these (``base:``)."""

LB_FIELDS = ("name", "base", "interval", "timeout", "healthyThreshold", "unhealthyThreshold", "failOpen", "cadence")
"""The keys of a custom load-balancer profile (``loadBalancer:`` as a mapping)."""
_LB_NUMBERS = {"interval": "interval", "timeout": "timeout",
               "healthyThreshold": "healthy", "unhealthyThreshold": "unhealthy"}


def lb_profile(name: str, loc: Loc | None = None, what: str = "--lb") -> LBProfile:
    try:
        return LB_PROFILES[name]
    except KeyError:
        raise InputError(f"{what}: unknown load-balancer profile {name!r}; profiles: "
                         f"{', '.join(LB_PROFILES)}", loc) from None


def custom_lb_profile(spec: Mapping[str, Any], loc_of: Callable[..., Loc], what: str = "loadBalancer") -> LBProfile:
    """A load balancer the user describes, e.g. ``{name: my-haproxy, base: aws-nlb,
    interval: 5s, timeout: 2s, healthyThreshold: 2, unhealthyThreshold: 3}``.

    ``name`` defaults to ``custom``; ``base`` starts from a built-in profile whose fields
    the others override; without ``base`` all four numbers are required. Durations use the
    duration grammar (one duration, not a range): the interval is above 0, the timeout 0 or
    more. The timeout may exceed the interval: clouds disagree (AWS CLB requires it to be
    below, Alibaba CLB's default is 5 s against a 2 s interval) and the model judges each
    check on its own. Thresholds are integers from 1. ``failOpen`` (default: the base's, else
    false) says whether, with no healthy target, it sends to every registered one (AWS NLB,
    GCP passthrough) or to none (Azure's default). ``cadence`` says whether the next check
    starts ``interval`` after the previous one started (``fixed-rate``, the clouds) or
    finished (``after-answer``, haproxy's ``inter``); without base it is ``after-answer``,
    whose bounds cover both. ``loc_of(key)`` locates a key's value,
    ``loc_of()`` the mapping; every error names the key, what it expects and what it got.
    """
    for key in spec:
        if key not in LB_FIELDS:
            raise InputError(f"{what}: unknown key {key!r}; known keys: {', '.join(LB_FIELDS)}", loc_of(key))
    name = spec.get("name", "custom")
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"{what}.name: expected a profile name, got {name!r}", loc_of("name"))
    name = name.strip()
    if name in LB_PROFILES:
        raise InputError(f"{what}.name: {name!r} is a built-in profile; give yours another name "
                         f"(base: {name} starts from it)", loc_of("name"))
    base = None
    if "base" in spec:
        if not isinstance(spec["base"], str):
            raise InputError(f"{what}.base: expected a profile name ({', '.join(LB_PROFILES)}), "
                             f"got {spec['base']!r}", loc_of("base"))
        base = lb_profile(spec["base"], loc_of("base"), f"{what}.base")
    missing = [key for key in _LB_NUMBERS if key not in spec]
    if base is None and missing:
        raise InputError(f"{what}: missing {', '.join(missing)}; without base: PROFILE, interval, timeout, "
                         f"healthyThreshold and unhealthyThreshold are all required", loc_of())
    values: dict[str, Any] = {}
    for key, field_name in _LB_NUMBERS.items():
        if key not in spec:
            values[field_name] = getattr(base, field_name)
        elif key in ("interval", "timeout"):
            values[field_name] = _lb_duration(spec[key], f"{what}.{key}", loc_of(key), positive=key == "interval")
        else:
            count = spec[key]
            if not isinstance(count, int) or isinstance(count, bool) or count < 1:
                raise InputError(f"{what}.{key}: expected a whole number of checks, 1 or more, got {count!r}",
                                 loc_of(key))
            values[field_name] = count
    fail_open = base.fail_open if base is not None else False
    fail_open_source = base.fail_open_source if base is not None else \
        "custom profile without failOpen: assumed to send to no target (every new connection fails)"
    if "failOpen" in spec:
        if not isinstance(spec["failOpen"], bool):
            raise InputError(f"{what}.failOpen: expected true or false (with no healthy target, does the load "
                             f"balancer send to every registered target?), got {spec['failOpen']!r}",
                             loc_of("failOpen"))
        fail_open, fail_open_source = spec["failOpen"], "stated in the cluster file (failOpen)"
    # the next check: `interval` after the previous one started (the clouds) or finished
    # (haproxy's inter); a custom profile without base or cadence gets the later, which
    # covers both
    cadence = base.cadence if base is not None else Cadence.AFTER_ANSWER
    if "cadence" in spec:
        known = {c.value: c for c in Cadence}
        if spec["cadence"] not in known:
            raise InputError(f"{what}.cadence: expected {' or '.join(known)} (does the next check start an "
                             f"interval after the previous one started, or after it finished?), got "
                             f"{spec['cadence']!r}", loc_of("cadence"))
        cadence = known[spec["cadence"]]
    if cadence is Cadence.AFTER_ANSWER and base is not None and base.ip_targets:
        raise InputError(f"{what}.cadence: {cadence.value} is not modelled for pod IP targets ({base.name}); "
                         f"use {Cadence.FIXED.value}", loc_of("cadence") if "cadence" in spec else loc_of())
    if base is None:
        source = "custom profile"
    else:
        changed = [key for key in _LB_NUMBERS if key in spec]
        source = (f"custom profile starting from {base.name}"
                  + (f", with {', '.join(changed)} changed" if changed else "") + f"; {base.name}: {base.source}")
    return LBProfile(name, source=source, stated_at=loc_of(), fail_open=fail_open,
                     fail_open_source=fail_open_source, cadence=cadence, **values)


def _lb_duration(value: Any, what: str, loc: Loc, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InputError(f"{what}: expected a duration such as 5s or 500ms, got {value!r}", loc)
    if not isinstance(value, str):
        raise InputError(f"{what}: expected a duration with its unit, such as {value:g}s, got {value!r}", loc)
    try:
        lo, hi = parse_range(value)
    except DurationError:
        raise InputError(f"{what}: expected a duration such as 5s or 500ms, got {value!r}", loc) from None
    if lo != hi:
        raise InputError(f"{what}: expected one duration such as 5s, not a range, got {value!r}", loc)
    if positive and lo <= 0:
        raise InputError(f"{what}: expected a duration above 0s, got {value!r}", loc)
    return lo


class IdleConnections(Enum):
    """What the application does with its clients' idle keep-alive connections at SIGTERM."""

    CLOSE = "close-idle"  # closes them when it stops accepting (Go's Shutdown, nginx's quit)
    CONNECTION_CLOSE = "connection-close"  # answers "Connection: close" while draining, closes the rest at exit


@dataclass(frozen=True)
class KeepAlive:
    """Pooled (keep-alive) clients, stated with ``zdverify/keep-alive``: a pooled connection
    stays on its pod whatever the endpoints say (kube-proxy clears conntrack for UDP only)."""

    idle: IdleConnections
    client_idle_timeout: float | None  # the clients close a connection idle that long (None: never)
    loc: Loc | None = None

    @property
    def text(self) -> str:
        timeout = (f", clients close idle connections after {self.client_idle_timeout:g}s"
                   if self.client_idle_timeout is not None else ", clients keep idle connections")
        how = ("closes idle connections when it stops accepting" if self.idle is IdleConnections.CLOSE else
               "answers 'Connection: close' while draining and closes the rest at exit")
        return f"pooled clients; the application {how}{timeout}"


@dataclass(frozen=True)
class Settings:
    """Resolved bounds and switches for one run."""

    bounds: Mapping[str, Interval]
    origins: Mapping[str, str]
    k8s_version: tuple[int, int]
    lb: LBProfile
    fail_readiness_on_sigterm: bool = False  # the app fails its readiness probe from SIGTERM on
    keep_alive: KeepAlive | None = None  # pooled clients and how the app treats them (annotation)
    exec_probe_port: int | None = None  # the port the pod's exec probes connect to (annotation)
    likelihood_runs: int = 0  # random rollouts simulated per counterexample (model/likelihood.py); 0: none
    time_budget_s: float = 600.0  # per (workload, Service) check: past it, what is left is inconclusive
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

    def assumptions(self, ip_targets: bool = False) -> tuple[Assumption, ...]:
        out = [Assumption(b.key, str(self.bounds[b.key]), self.origins[b.key], b.doc, self.sources.get(b.key))
               for b in BOUNDS if ip_targets or not b.ip_only]
        if self.fail_readiness_on_sigterm:
            out.append(Assumption("on-sigterm", "fails readiness, keeps serving until app-close",
                                  self.origins.get("fail-readiness", "annotation"),
                                  "the readiness probe fails from SIGTERM on", self.sources.get("fail-readiness")))
        out.append(Assumption("k8s-version", self.version_text, self.origins.get("k8s-version", "default"),
                              "terminating-endpoint fallback " + ("on" if self.terminating_fallback else "off")))
        lb = self.lb
        out.append(Assumption(
            "load-balancer", f"{lb.name}: every {lb.interval:g}s, timeout {lb.timeout:g}s, "
            f"unhealthy after {lb.unhealthy}, healthy after {lb.healthy}, "
            + ("fails open" if lb.fail_open else "no fail-open")
            + (", next check after the previous answer" if lb.cadence is Cadence.AFTER_ANSWER else ""),
            self.origins.get("load-balancer", "default"), f"{lb.source}; with no healthy target: {lb.fail_open_source}",
            self.sources.get("load-balancer")))
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
    sources: dict[str, Loc] = {}
    version_text, profile = DEFAULT_K8S_VERSION, LB_PROFILES["generic"]
    if cluster is not None:
        where = f"cluster file {cluster.path}"
        origins["nodes"] = where
        for key, text in cluster.bounds.items():
            bounds[key] = parse_bound(key, text, "bounds:", None)
            origins[key] = where
        if cluster.k8s_version:
            version_text, origins["k8s-version"] = cluster.k8s_version, where
        if cluster.lb is not None:
            profile, origins["load-balancer"] = cluster.lb, where
            if cluster.lb.stated_at is not None:  # a custom profile: "cluster file FILE:LINE"
                origins["load-balancer"], sources["load-balancer"] = "cluster file", cluster.lb.stated_at
    for key, text in (assume or {}).items():
        bounds[key] = parse_bound(key, text, "--assume", None)
        origins[key] = "flag"
    if k8s_version:
        version_text, origins["k8s-version"] = k8s_version, "flag"
    if lb:
        profile, origins["load-balancer"] = lb_profile(lb), "flag"
        sources.pop("load-balancer", None)
    return Settings(bounds, origins, parse_version(version_text), profile, sources=sources)


class ClusterSettings(Protocol):
    """What the cluster file contributes to the settings (see ``model/cluster.py``)."""

    path: str
    bounds: dict[str, str]
    k8s_version: str | None
    lb: LBProfile | None


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
KEEP_ALIVE = "zdverify/keep-alive"
EXEC_PROBE_PORT = "zdverify/exec-probe-port"  # every exec probe of the pod checks this port (model/exec_probes.py)


def keep_alive(text: str, loc: Loc) -> KeepAlive:
    """``zdverify/keep-alive: "connection-close, client-idle-timeout 60s"`` (or ``close-idle``)."""
    parts = [p.strip() for p in text.split(",")]
    modes = {m.value: m for m in IdleConnections}
    usage = (f'annotation {KEEP_ALIVE}: expected "close-idle" or "connection-close", optionally followed by '
             f'", client-idle-timeout <duration>", got {text!r}')
    if not parts or parts[0] not in modes or len(parts) > 2:
        raise InputError(usage, loc)
    timeout = None
    if len(parts) == 2:
        words = parts[1].split(None, 1)
        if len(words) != 2 or words[0] != "client-idle-timeout":
            raise InputError(usage, loc)
        try:
            lo, hi = parse_range(words[1])
        except DurationError as e:
            raise InputError(f"annotation {KEEP_ALIVE}: client-idle-timeout: {e}", loc) from None
        if lo != hi:
            raise InputError(f"annotation {KEEP_ALIVE}: client-idle-timeout is one duration, not a range, "
                             f"got {words[1]!r}", loc)
        timeout = hi
    return KeepAlive(modes[parts[0]], timeout, loc)


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
        elif key == KEEP_ALIVE:
            s = replace(s, keep_alive=keep_alive(text, loc))
            continue
        elif key == EXEC_PROBE_PORT:
            if not text.strip().isdigit() or not 1 <= int(text) <= 65535:
                raise InputError(f'annotation {key}: expected the port number the exec probes connect to, such as '
                                 f'"8080", got {text!r}', loc)
            s = replace(s, exec_probe_port=int(text))
            continue
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

