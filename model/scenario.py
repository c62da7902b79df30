"""Scenario: one (workload, Service port) pair, resolved into what the model needs.

This is where manifest fields become model parameters (probe relation to the served
port, preStop duration, resolved surge/unavailable, traffic entry points), each keeping
the manifest position that a counterexample will blame.
"""
from __future__ import annotations

import json

import re
import shlex
from dataclasses import dataclass, replace
from enum import Enum
from typing import Mapping, Sequence

from zdverify.model.assumptions import Settings
from zdverify.model.rollout import Rollout, resolve_fenceposts, scaled
from zdverify.model import exec_probes
from zdverify.model.objects import (
    Field,
    DisruptionBudget,
    Container,
    PodTemplate,
    Workload,
    HandlerKind,
    Hook,
    Probe,
    ServiceType,
    Strategy,
    TrafficPolicy,
    WorkloadKind,
)
from zdverify.model.pairing import Pair
from zdverify.model.scheduler import ZONE_LABEL, Node, Placement, feasible, placement
from zdverify.model.source import InputError, Loc


@dataclass(frozen=True)
class ProbeSpec:
    """A probe's timing, and whether its success proves the served port accepts connections."""

    checks_port: bool
    initial_delay: float
    period: float
    timeout: float
    success: int
    failure: int
    loc: Loc


@dataclass(frozen=True)
class HookSpec:
    """preStop as the model sees it.

    ``serve_min``: seconds the hook certainly keeps the app serving (a leading ``sleep``);
    ``lo``/``hi``: bounds of the hook's duration (already capped at the grace period);
    ``may_stop_app``: the hook runs something that may shut the application down.
    """

    serve_min: float
    lo: float
    hi: float
    may_stop_app: bool
    text: str
    loc: Loc | None

    @property
    def exact(self) -> bool:
        return self.lo == self.hi and not self.may_stop_app


NO_HOOK = HookSpec(0, 0, 0, False, "no preStop hook", None)


@dataclass(frozen=True)
class SideContainer:
    """Another container of the pod (not the one serving the Service's port): its preStop;
    it gets SIGTERM once that ran and may exit at once — the pod's Ready turns False with
    it (``kuberuntime_container.go`` ``killContainersWithSyncResult`` stops every container
    in parallel, each with its own hook and grace period)."""

    name: str
    hook: HookSpec
    loc: Loc
    readiness: ProbeSpec | None = None  # its own readiness probe: the pod is Ready once it passes too
    native: bool = False  # a native sidecar: stopped after the main containers (it never ends Ready first)


@dataclass(frozen=True)
class PodSpec:
    readiness: ProbeSpec | None
    liveness: ProbeSpec | None
    startup: ProbeSpec | None
    hook: HookSpec
    grace: float
    readiness_exec: bool  # exec readiness probe (skipped while terminating on 1.35)
    container: str
    container_loc: Loc
    grace_loc: Loc | None = None  # terminationGracePeriodSeconds, or the pod spec when absent
    lb_gate: Loc | None = None  # a target-health readiness gate (AWS LBC): Ready waits for the target
    others: tuple[SideContainer, ...] = ()  # the pod's other containers (native sidecars not: they stop last)


class Entry(Enum):
    """Where requests enter the Service."""

    LOAD_BALANCER = "load balancer"
    NODE_PORT = "NodePort"
    CLUSTER_IP = "ClusterIP"


@dataclass(frozen=True)
class EntrySpec:
    kind: Entry
    local: bool  # traffic policy Local for this entry
    ip: bool = False  # a load balancer that targets pod IPs (bypasses kube-proxy)

    @property
    def text(self) -> str:
        if self.ip:
            return f"{self.kind.value} (pod IP targets)"
        return f"{self.kind.value} ({'Local' if self.local else 'Cluster'} policy)"


@dataclass(frozen=True)
class Scope:
    """How an entry's requests are routed: node-local endpoints only, and whether a Local
    load balancer decides which nodes receive them."""

    local: bool
    lb: bool
    ip: bool = False  # a load balancer sending to pod IPs: its target group is the one "node"


def scope_of(e: EntrySpec) -> Scope:
    return Scope(e.local, e.local and e.kind is Entry.LOAD_BALANCER, e.ip)


def scopes(entries: tuple[EntrySpec, ...]) -> dict[Scope, EntrySpec]:
    out: dict[Scope, EntrySpec] = {}
    for e in entries:
        out.setdefault(scope_of(e), e)
    return out


@dataclass(frozen=True)
class Scenario:
    pair: Pair
    rollout: Rollout
    min_ready: float
    paused: bool
    nodes: int
    pod: PodSpec
    entries: tuple[EntrySpec, ...]
    publish_not_ready: bool
    settings: Settings
    node_names: tuple[str, ...] = ()  # from the cluster file; node-1.. otherwise
    feasible: tuple[int, ...] = ()  # nodes where the scheduler may place this workload's pods
    old_pod: PodSpec | None = None  # the template old pods run (``--from``); None: the same as ``pod``
    old_source: str = ""  # where the old template came from, for messages
    node_zones: tuple[str, ...] = ()  # topology.kubernetes.io/zone per node (cluster file); "" unknown
    drain: int | None = None  # the node ``kubectl drain`` empties (--drain); new pods avoid it
    budget: Loc | None = None  # the PodDisruptionBudget that limits the drain's evictions
    placement: Placement = Placement()  # required inter-pod rules (caps, spreads); none by default
    old_placed_alike: bool = True  # the old pods were placed by these rules (--from: checked)
    node_labels: tuple[Mapping[str, str], ...] = ()  # per node (cluster file); () without one
    old_placement: Placement | None = None  # --from: the rules the old pods were placed by (None: ``placement``)
    # every entry's requests also reach other workloads' Ready pods (``model/companions.py``):
    # kube-proxy then always has a ready endpoint and never falls back to terminating ones
    others_ready: bool = False

    def node_zone(self, i: int) -> str:
        return self.node_zones[i] if i < len(self.node_zones) else ""

    @property
    def from_previous(self) -> bool:
        """Do the old pods come from ``--from`` (they run their own template)?"""
        return bool(self.old_source)

    @property
    def old(self) -> PodSpec:
        """What the old pods run: their termination follows this spec, not the new one."""
        return self.old_pod or self.pod

    def node_name(self, i: int) -> str:
        """Node ``i``; index ``nodes`` stands for a load balancer's target group (IP targets)."""
        if i >= self.nodes:
            return "load-balancer"
        return self.node_names[i] if i < len(self.node_names) else f"node-{i + 1}"

    @property
    def workload(self) -> str:
        return self.pair.workload.ref

    @property
    def service(self) -> str:
        return self.pair.service.ref

    @property
    def fallback(self) -> bool:
        return self.settings.terminating_fallback and not self.others_ready


_SHELLS = {"sh", "bash", "ash", "dash", "zsh", "busybox"}
_SLEEP_ARG = re.compile(r"^(\d+(?:\.\d+)?)([smh]?)$")
_SUFFIX = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}


def _sleep_seconds(words: list[str]) -> float | None:
    """``["sleep", "15"]`` -> 15.0; anything else -> None."""
    if len(words) == 2 and words[0].rsplit("/", 1)[-1] == "sleep":
        m = _SLEEP_ARG.match(words[1])
        if m:
            return float(m.group(1)) * _SUFFIX[m.group(2)]
    return None


def _split_script(script: str) -> list[list[str]] | None:
    """A ``sh -c`` script as a list of simple commands run one after another (split on
    ``;``, ``&&``, ``||``, newlines); None when a command runs in the background or in a
    pipeline, because then nothing waits for the leading ``sleep``."""
    try:
        lexer = shlex.shlex(script, posix=True, punctuation_chars=";&|\n")
        lexer.whitespace = " \t"
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:
        return None
    commands: list[list[str]] = [[]]
    for tok in tokens:
        if tok in (";", "&&", "||", "\n", ";;"):
            if commands[-1]:
                commands.append([])
        elif tok and set(tok) <= set(";&|\n"):
            return None  # background (&) or pipeline (|): the next command does not wait
        else:
            commands[-1].append(tok)
    return [c for c in commands if c]


def exec_hook_commands(command: tuple[str, ...]) -> list[list[str]] | None:
    """The simple commands an exec hook runs, unwrapping ``sh -c '…'``; None if unknown."""
    words = list(command)
    if not words:
        return None
    if words[0].rsplit("/", 1)[-1] in _SHELLS:
        rest = words[1:]
        if rest and rest[0] == "sh" and words[0].endswith("busybox"):
            rest = rest[1:]
        if len(rest) >= 2 and rest[0] in ("-c", "-ec", "-ce", "-xc", "-cx"):
            return _split_script(rest[1])
        return None
    return [words]


def hook_spec(hook: Hook | None, grace: float, settings: Settings) -> HookSpec:
    if hook is None:
        return NO_HOOK
    if grace <= 0:
        return HookSpec(0, 0, 0, False, "preStop hook (not run: grace period 0)", hook.loc)
    if hook.kind is HandlerKind.SLEEP:
        if not settings.native_sleep:
            raise InputError(
                f"lifecycle.preStop.sleep needs Kubernetes 1.30 or later (PodLifecycleSleepAction); "
                f"--k8s-version is {settings.version_text}", hook.loc)
        n = min(float(hook.seconds or 0), grace)
        return HookSpec(n, n, n, False, f"preStop sleep {hook.seconds}s", hook.loc)
    if hook.kind is HandlerKind.TCP_SOCKET:
        return HookSpec(0, 0, 0, False, "preStop tcpSocket (not supported by kubelet: no delay)", hook.loc)
    if hook.kind is HandlerKind.EXEC:
        commands = exec_hook_commands(hook.command)
        if commands:
            first = _sleep_seconds(commands[0])
            if first is not None:
                n = min(first, grace)
                rest = commands[1:]
                if not rest:
                    return HookSpec(n, n, n, False, f"preStop exec sleep {first:g}s", hook.loc)
                return HookSpec(n, n, grace, True,
                                f"preStop exec sleep {first:g}s, then {' '.join(rest[0])!r}", hook.loc)
        return HookSpec(0, 0, grace, True, f"preStop exec {' '.join(hook.command)!r} (duration unknown)",
                        hook.loc)
    return HookSpec(0, 0, grace, True, "preStop httpGet (duration and effect unknown)", hook.loc)


def _port_number(container: Container, port: int | str | None) -> int | None:
    if isinstance(port, int):
        return port
    for p in container.ports:
        if p.name == port:
            return p.port
    return None


def probe_spec(probe: Probe | None, container: Container, served_port: int,
               exec_port: int | None = None) -> ProbeSpec | None:
    """``exec_port``: the port the pod's exec probes are stated to connect to (annotation)."""
    if probe is None:
        return None
    if probe.kind is HandlerKind.EXEC:
        checks = served_port in (exec_probes.checked_port(probe.command), exec_port)
    else:
        checks = probe.kind in (HandlerKind.HTTP_GET, HandlerKind.TCP_SOCKET, HandlerKind.GRPC) and (
            _port_number(container, probe.port) == served_port)
    return ProbeSpec(checks, float(probe.initial_delay), float(probe.period), float(probe.timeout),
                     probe.success_threshold, probe.failure_threshold, probe.loc)


NLB_TARGET_TYPE = "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"
NEG_ANNOTATION = "cloud.google.com/neg"  # '{"ingress": true}': an Ingress load balancer targets pod IPs
LB_READINESS_GATES = ("target-health.elbv2.k8s.aws/",  # AWS LBC pod readiness gate (a prefix)
                      "cloud.google.com/load-balancer-neg-ready")  # GKE pod readiness feedback


def ip_targets(pair: Pair, settings: Settings) -> bool:
    """The Service's load balancer targets pod IPs: the profile says so (aws-alb-ip), or
    the AWS Load Balancer Controller's NLB annotation asks for ``ip`` targets."""
    return settings.lb.ip_targets or dict(pair.service.annotations).get(NLB_TARGET_TYPE, "").strip() == "ip"


def _neg_ingress(pair: Pair) -> bool:
    """``cloud.google.com/neg: '{"ingress": true}'`` (JSON; anything else is not a NEG ingress)."""
    try:
        value = json.loads(dict(pair.service.annotations).get(NEG_ANNOTATION, "") or "{}")
    except ValueError:
        return False
    return isinstance(value, dict) and value.get("ingress") is True


def entries_of(pair: Pair, settings: Settings) -> tuple[EntrySpec, ...]:
    """Where requests enter: the Service's own entries; an Ingress load balancer with
    container-native (NEG) pod-IP targets when the Service asks for one."""
    base = _entries(pair, settings)
    if _neg_ingress(pair) and not any(e.ip for e in base):
        return (EntrySpec(Entry.LOAD_BALANCER, False, ip=True),) + base
    return base


def _entries(pair: Pair, settings: Settings) -> tuple[EntrySpec, ...]:
    svc = pair.service
    internal = EntrySpec(Entry.CLUSTER_IP, svc.internal_traffic_policy is TrafficPolicy.LOCAL)
    external_local = svc.external_traffic_policy is TrafficPolicy.LOCAL
    if svc.type is ServiceType.LOAD_BALANCER:
        if ip_targets(pair, settings):
            return (EntrySpec(Entry.LOAD_BALANCER, False, ip=True), internal)
        return (EntrySpec(Entry.LOAD_BALANCER, external_local), internal)
    if svc.type is ServiceType.NODE_PORT:
        return (EntrySpec(Entry.NODE_PORT, external_local), internal)
    return (internal,)


def pod_spec(template: PodTemplate, c: Container, port: int, settings: Settings) -> PodSpec:
    grace = float(template.grace_seconds)
    return PodSpec(
        readiness=probe_spec(c.readiness, c, port, settings.exec_probe_port),
        liveness=probe_spec(c.liveness, c, port, settings.exec_probe_port),
        startup=probe_spec(c.startup, c, port, settings.exec_probe_port),
        hook=hook_spec(c.pre_stop, grace, settings),
        grace=grace,
        readiness_exec=c.readiness is not None and c.readiness.kind is HandlerKind.EXEC,
        container=c.name,
        container_loc=c.loc,
        grace_loc=template.loc_of(Field.TEMPLATE_GRACE),
        others=tuple(SideContainer(x.name, hook_spec(x.pre_stop, grace, settings), x.loc,
                                   probe_spec(x.readiness, x, port, settings.exec_probe_port))
                     for x in template.containers if x is not c)
        + tuple(SideContainer(x.name, NO_HOOK, x.loc, probe_spec(x.readiness, x, port, settings.exec_probe_port),
                              native=True)
                for x in _native_sidecars(template, settings)),
    )


def _native_sidecars(template: PodTemplate, settings: Settings) -> tuple[Container, ...]:
    """The template's native sidecars, where the version runs them as such: SidecarContainers
    is beta and on from 1.29 (before, the field is dropped and the init container would have
    to finish before the main containers start)."""
    if template.sidecars and settings.k8s_version < (1, 29):
        x = template.sidecars[0]
        raise InputError(f"initContainers {x.name!r}: restartPolicy: Always (a native sidecar) needs Kubernetes "
                         f"1.29 or later (SidecarContainers); --k8s-version is {settings.version_text}", x.loc)
    return template.sidecars


def _serving_container(old: Workload, name: str, pair: Pair) -> tuple[Container, int]:
    """The old template's container serving the Service port: same name, else the first;
    a named targetPort is resolved in the old container."""
    c = next((x for x in old.template.containers if x.name == name), old.template.containers[0])
    target = pair.port.target_port
    if isinstance(target, str):
        port = next((p.port for p in c.ports if p.name == target), None)
        if port is None:
            raise InputError(f'targetPort "{target}" names no port of container "{c.name}" in the old '
                             f"template of {old.ref} (--from)", c.loc)
        return c, port
    return c, target


class LeftUnverified(Exception):
    """The workload cannot be checked on this cluster: some of its pods could never be
    scheduled (no steady state to roll from), or its update is one the model does not cover.
    It is left unverified with this reason."""

    def __init__(self, message: str, loc: Loc) -> None:
        super().__init__(message)
        self.message, self.loc = message, loc


def statefulset_unavailable(w: Workload, version: tuple[int, int]) -> int:
    """``getStatefulSetMaxUnavailable``: a percentage of replicas rounded down, at least 1 —
    honoured only with the feature gate MaxUnavailableStatefulSet (beta and on from 1.35;
    before, the controller updates one pod at a time whatever the field says)."""
    if version < (1, 35):
        return 1
    return min(max(scaled(w.max_unavailable, w.replicas, False), 1), max(w.replicas, 1))


def build_scenario(pair: Pair, nodes: int | Sequence[Node], settings: Settings,
                   old: Workload | None = None, drain: int | None = None,
                   budget: DisruptionBudget | None = None) -> Scenario:
    """``nodes``: a node count (every node feasible), or the cluster file's nodes.
    ``old``: the workload's previous version (``--from``): old pods run its template.
    ``drain``: instead of a rollout, node ``drain`` is drained (``budget``: its PDB)."""
    w = pair.workload
    c = pair.container
    if w.kind is WorkloadKind.POD:
        rollout = Rollout(1, Strategy.RECREATE, 0, 1)
    elif w.kind is WorkloadKind.DAEMON_SET:
        rollout = Rollout(0, Strategy.DAEMON_SET, 0, 1)  # sized below, from the feasible nodes
    elif w.kind is WorkloadKind.STATEFUL_SET:
        rollout = Rollout(w.replicas, Strategy.STATEFUL_SET, 0,
                          statefulset_unavailable(w, settings.k8s_version), partition=w.partition, ordered=w.ordered)
    else:
        surge, unavailable = resolve_fenceposts(w.max_surge, w.max_unavailable, w.replicas)
        rollout = Rollout(w.replicas, w.strategy, surge, unavailable)
    pod = pod_spec(w.template, c, pair.container_port, settings)
    if any(e.ip for e in entries_of(pair, settings)) and any(
            g.startswith(LB_READINESS_GATES) for g in w.template.readiness_gates):
        pod = replace(pod, lb_gate=w.loc_of(Field.READINESS_GATES))
    old_pod = pod
    if old is not None:
        old_pod = pod_spec(old.template, *_serving_container(old, c.name, pair), settings)
    if isinstance(nodes, int):
        count, names, feasible_idx = nodes, tuple(f"node-{i + 1}" for i in range(nodes)), tuple(range(nodes))
        zones: tuple[str, ...] = ("",) * nodes
    else:
        count, names = len(nodes), tuple(n.name for n in nodes)
        zones = tuple(n.labels.get(ZONE_LABEL, "") for n in nodes)
        feasible_idx = tuple(i for i, n in enumerate(nodes) if feasible(w.template, n))
        if not feasible_idx:
            where = next((w.loc_of(f"spec.template.spec.{f}") for f in ("affinity", "nodeSelector", "tolerations")
                          if f"spec.template.spec.{f}" in w.locs), w.loc_of(Field.POD_SPEC))
            raise InputError(f"no node of the cluster file can run pods of {w.ref} "
                             "(nodeSelector, required node affinity and taints rule out all of them)", where)
    entries = entries_of(pair, settings)
    if w.kind is WorkloadKind.DAEMON_SET:
        # update.go: both scale on the nodes that should run a pod and round up; 0/0 -> 1
        f = len(feasible_idx)
        surge, unavailable = scaled(w.max_surge, f, True), scaled(w.max_unavailable, f, True)
        if surge == 0 and unavailable == 0:
            unavailable = 1
        rollout = Rollout(f, Strategy.DAEMON_SET, min(surge, f), min(unavailable, f))
    paused = w.paused
    rules = placement(w.template, w.namespace, nodes, feasible_idx, settings.k8s_version,
                      w.kind is WorkloadKind.DEPLOYMENT)
    old_alike = True
    old_rules: Placement | None = None
    caps_alike = True  # the old pods were placed under these caps (their count of places holds)
    if old is not None:  # --from: were the old pods placed by the same rules?
        old_feasible = feasible_idx if isinstance(nodes, int) else tuple(
            i for i, n in enumerate(nodes) if feasible(old.template, n))
        old_rules = placement(old.template, old.namespace, nodes, old_feasible, settings.k8s_version,
                              w.kind is WorkloadKind.DEPLOYMENT)
        old_alike = rules.same_rules(old_rules)
        caps_alike = rules.same_caps(old_rules)
        if rules.limited and not caps_alike:
            # the old pods were not placed under these caps: they may leave room the caps'
            # count denies (two old pods in one rack leave the other rack free), so the
            # rollout's count of places says nothing; new pods may still wait for room
            rules = replace(rules, unmodelled="; ".join(x for x in (
                rules.unmodelled, "caps the old pods were not placed by (--from: the change adds or alters them)")
                if x))
    per_node_caps = (rules.exact and not rules.spread and all(not c.zone for c in rules.caps)
                     and all(x is None for x in rules.node_room))
    if w.kind is WorkloadKind.DAEMON_SET and (rules.caps or rules.spread or not rules.exact) and not per_node_caps:
        # a DaemonSet pod is bound to its node; with maxSurge its new pod needs room next to
        # the old one: per-node caps (a hostPort, required anti-affinity per node) are modelled
        # (the rollout's slots); anything else is not, and is stated
        rules = Placement(unmodelled="required inter-pod rules on a DaemonSet (a surge pod may never find room)",
                          loc=rules.loc)
    if drain is not None:
        # a drain rolls nothing: replacements belong to the same ReplicaSet as the pods they
        # join, so per-revision rules (matchLabelKeys: [pod-template-hash]) tie them all
        rules = replace(rules, caps=tuple(replace(c, cross=True) for c in rules.caps),
                        spread=tuple((c, False) for c, _ in rules.spread))
    if rules.spread and drain is not None:
        # the cordoned node stays a domain (nodeTaintsPolicy: Ignore) with no pod left: the
        # evicted pods' replacements may find no node within maxSkew
        rules = replace(rules, unmodelled="; ".join(x for x in (
            rules.unmodelled, "a DoNotSchedule spread during a drain (the cordoned node still counts)") if x))
    if drain is not None:  # the same template before and after: the pods move, nothing rolls
        r = w.replicas
        rollout = Rollout(r, Strategy.DRAIN, 0, 0, 0, budget.desired_healthy(r) if budget is not None else 0,
                          same_name=w.kind is WorkloadKind.STATEFUL_SET)
        old_pod, paused = pod, False
        # the cordoned node takes no replacement: the room is the other nodes'
        rules_rest = replace(rules, feasible=tuple(i for i in feasible_idx if i != drain))
        on_node = replace(rules, feasible=(drain,)).slots() if drain in feasible_idx else 0
        rest = rules_rest.slots()
        rollout = replace(rollout, slots=rest, node_cap=on_node,
                          may_miss=len(rules_rest.feasible) > 0 and (rest == 0 or rest >= r))
    elif rollout.strategy is Strategy.ROLLING_UPDATE:
        rollout = replace(rollout, slots=rules.slots() if caps_alike else 0)
    elif rollout.strategy is Strategy.DAEMON_SET:
        # a node's new pod needs the place its old pod holds (a hostPort, anti-affinity): a
        # surge pod waits, Pending, for an old pod that is deleted only once it is available
        rollout = replace(rollout, slots=rules.slots() if caps_alike else 0)
    rooms = [rules.node_room[i] if i < len(rules.node_room) else None for i in feasible_idx]
    if w.kind is not WorkloadKind.DAEMON_SET and w.replicas > 0 and rooms and all(r == 0 for r in rooms):
        raise LeftUnverified(f"{w.ref}: every node its pods may use has room for 0 of them (pods: 0 in the cluster "
                             "file): its pods stay Pending before any rollout — give some node room",
                             rules.loc or w.loc_of(Field.REPLICAS))
    most = min((x for x in (rules.slots(), rules.per_revision_slots()) if x), default=0)
    if most and w.kind is not WorkloadKind.DAEMON_SET and w.replicas > most:
        raise LeftUnverified(f"{w.ref}: only {most} of its {w.replicas} replicas fit on the {len(feasible_idx)} "
                          f"node(s) its pods may use ({rules.why()}); the others stay Pending before any "
                          "rollout — add nodes or lower spec.replicas", rules.loc or w.loc_of(Field.REPLICAS))
    return Scenario(pair, rollout, float(w.min_ready_seconds), paused, count, pod, entries,
                    pair.service.publish_not_ready, settings, names, feasible_idx, old_pod,
                    f"{old.ref} at {old.loc}" if old is not None else "", zones, drain,
                    budget.loc if budget is not None else None, rules, old_alike,
                    tuple(n.labels for n in nodes) if not isinstance(nodes, int) else (),
                    None if old_alike or drain is not None or w.kind is WorkloadKind.DAEMON_SET else old_rules)
