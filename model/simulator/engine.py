"""An independent, plain discrete-event simulator of one rollout.

The checker decides timing with Z3; this module shares none of that encoding. Given a
scenario, the discrete choices (placement, deletion order) and every delay as a number,
it runs the controllers forward in time, computes what each node's kube-proxy and the
load balancer did, and scans the resulting timeline for violations. Every counterexample
is replayed here before it is printed, and the differential tests compare the two.

Semantics (the same facts the checker encodes, written out independently):
 1. Controller: each change (rollout start, a pod available, an old pod gone) triggers a
    reconcile after a ``controller`` delay; a reconcile applies ``rolling.go``'s arithmetic
    to the live counts and creates/deletes pods at once.
 1a. Scheduler: a new pod is bound to a node when it is created, or after a ``schedule``
    delay that is part of its ``pod-start`` delay, by the filters as they are then; until
    it is bound it is on no node (the ReplicaSet's ranking does not count it anywhere).
    Old pods were placed by the rules of the template they run (``--from``).
 2. EndpointSlice and kube-proxy are FIFO: a pod change reaches the slice after its own
    delay but never before an earlier change; each node applies slice changes in order,
    each after its own delay (``max(previous, slice + delay)``).
 3. A request entering node n at time t uses n's programmed set at t: ready endpoints in
    scope (all, or local for policy Local); if none and the terminating fallback is on,
    serving-terminating ones; if still none the request fails (REJECT/DROP).
 4. Local load balancing: health checks every I seconds per node with an arbitrary phase;
    a node leaves after U consecutive failures and returns after H successes; the check
    fails while the node's kube-proxy has no local ready, non-terminating endpoint.
 5. A liveness/startup kill before the application listens restarts the container; the
    simulator treats such a pod as never ready again (every restart equally slow), which
    stalls the rollout.
"""
from __future__ import annotations

import heapq
import math
from functools import partial
from dataclasses import dataclass, field
from typing import Sequence

from zdverify.model.assumptions import LBProfile
from zdverify.model.objects import Strategy, WorkloadKind
from zdverify.model.scenario import Entry, EntrySpec, Scenario
from zdverify.model.scheduler import Placed, Placement
from zdverify.model.source import Loc
from zdverify.grammar.spec_language import Sort
from zdverify.model.simulator.properties import Change, Found, PodLife, Timeline, find
from zdverify.model.verdict import Cause, Component, EventKind, Property, Step
from zdverify.model.run import Choices, NewTiming, OldTiming, Timing

INF = math.inf


def _cyc(values: tuple[float, ...], i: int) -> float:
    return values[i % len(values)] if values else 0.0


@dataclass
class _Pod:
    name: str
    old: bool
    index: int
    node: int
    created: float = -INF
    start: float = -INF
    listen: float = -INF
    started: float = -INF
    ready: float = -INF
    available: float = -INF
    killed: float = INF  # liveness/startup kill before listening (new pods)
    deleted: float = INF
    seen: float = INF
    sigterm: float = INF
    close: float = INF
    unready: float = INF
    exit: float = INF
    sigkill: float = INF
    tg_in: float = -INF  # IP targets: the load balancer sends to the pod from ... (new pods: INF until healthy)
    tg_out: float = INF  # ... until


@dataclass(frozen=True)
class Violation:
    prop: Property
    t: float
    t_end: float
    node: int
    pod: str | None
    entry: EntrySpec | None
    text: str
    found: Found | None = None


@dataclass
class Run:
    """Everything one simulation produced; properties are evaluated on ``timeline``."""

    steps: list[Step] = field(default_factory=list)
    completed: bool = False
    local_empty_at: dict[int, float] = field(default_factory=dict)  # node -> first time it has no local ready pod
    pod_nodes: dict[str, int] = field(default_factory=dict)  # pod name -> node index
    # each pod's scheduling: (pod, node, the workload's pods then on nodes, with their nodes)
    placements: list[tuple[str, int, list[tuple[str, int]]]] = field(default_factory=list)
    timeline: Timeline | None = None
    node_names: tuple[str, ...] = ()
    drain: bool = False  # a drain (--drain) rather than a rollout
    _found: dict[str, Violation | None] = field(default_factory=dict, repr=False)

    def first(self, prop: Property) -> Violation | None:
        """The earliest violation of ``prop`` in this run, if any."""
        if prop.rule_id not in self._found:
            self._found[prop.rule_id] = self._evaluate(prop)
        return self._found[prop.rule_id]

    def _evaluate(self, prop: Property) -> Violation | None:
        tl = self.timeline
        assert tl is not None
        violation = prop.claim.violation()
        if violation is None:  # always completes
            if tl.completed:
                return None
            return Violation(prop, tl.horizon, tl.horizon, 0, None, None,
                             "the drain does not finish" if self.drain else "the rollout does not finish")
        found = find(tl, violation)
        if found is None:
            return None
        pod_i = found.bound(Sort.POD)
        node = found.bound(Sort.NODE)
        pod = tl.pods[int(pod_i)] if pod_i is not None else None
        if node is None:
            node = pod.node if pod is not None else 0
        where = self.node_names[int(node)] if int(node) < len(self.node_names) else "load-balancer"
        return Violation(prop, found.t, found.t_end, int(node), pod.name if pod else None, found.entry,
                         _describe(prop, found, pod, where, tl), found)


def _describe(prop: Property, found: Found, pod: PodLife | None, where: str, tl: Timeline) -> str:
    """What the client experiences, in the words of the property's cause."""
    e = found.entry
    via = (f"a request via the {e.text}" if e is not None and e.ip else
           f"a request via the {e.text} entering {where}" if e is not None else f"at {where}")
    if prop.cause is Cause.NO_ENDPOINT and e is not None and e.ip:
        return f"{via} finds no healthy target (503, or fail-open to unhealthy targets)"
    if prop.cause is Cause.NO_ENDPOINT and e is not None:
        return f"{via} finds no endpoint ({'dropped' if e.local else 'rejected'})"
    if pod is not None and prop.cause in (Cause.STARTUP, Cause.TERMINATION):
        why = ("has already closed its listener" if pod.old else
               "was killed and is restarting" if found.t >= pod.killed else "has not started listening yet")
        return f"{via} is sent to {pod.name}, which {why}"
    if pod is not None and prop.cause is Cause.KILLED_IN_FLIGHT:
        return (f"{via} is accepted by {pod.name} at t={found.t:.2f}s and still runs ({tl.request:g}s) "
                f"when SIGKILL arrives at t={pod.sigkill:.2f}s")
    names = ", ".join(f"{name} = {tl.pods[int(v)].name if s is Sort.POD else where if s is Sort.NODE else v}"
                      for name, s, v in found.bindings)
    claim = prop.claim.kind.value
    return (f"{prop.description.rstrip('.')}: the {claim} claim of {prop.rule_id} fails"
            + (f" for {names}" if names else ""))


def _probe_first(base: float, period: float, cond: float, gate: float) -> tuple[int, float]:
    """Index and time of the first probe tick (ticks at base + k*period) at or after both
    ``cond`` (the probe can succeed) and ``gate`` (the probe runs at all)."""
    need = max(cond, gate)
    k = 0 if need <= base else math.ceil((need - base) / period - 1e-12)
    return k, base + k * period


SCHEDULER_RETRY = "scheduler retries Pending pods"


@dataclass(frozen=True, eq=False)
class _Bind:
    """A queue entry: the scheduler binds ``pod`` (created earlier) now."""

    pod: _Pod


def simulate(sc: Scenario, choices: Choices, timing: Timing) -> Run:
    run = Run(node_names=tuple(sc.node_name(i) for i in range(sc.nodes)), drain=sc.drain is not None)
    n_nodes = sc.nodes
    w = sc.pair.workload
    pod = sc.pod
    b = sc.settings
    steps = run.steps
    tpl_loc = w.loc_of("spec.template.spec")
    name = w.name
    # who scales (ctl) and who creates and deletes the pods (podctl)
    ctl = {WorkloadKind.DAEMON_SET: Component.DAEMONSET,
           WorkloadKind.STATEFUL_SET: Component.STATEFULSET}.get(w.kind, Component.DEPLOYMENT)
    podctl = Component.REPLICASET if ctl is Component.DEPLOYMENT else ctl

    def step(t: float, comp: Component, where: str, kind: EventKind, text: str, loc: Loc | None = None,
             pod: str = "") -> None:
        steps.append(Step(t, comp, where, kind, text, loc, pod))

    node_name = sc.node_name
    feasible = sc.feasible or tuple(range(n_nodes))

    rules = sc.placement
    daemon = sc.rollout.strategy is Strategy.DAEMON_SET

    def placed(t: float) -> list[Placed]:
        """The workload's pods on nodes at ``t`` as the scheduler sees them: old pods until
        they are gone, new pods once scheduled."""
        return ([Placed(p.node, False, p.deleted <= t) for p in olds if p.exit > t]
                + [Placed(q.node, True, False) for q in news if q.node >= 0])

    def place(choice: int, t: float = 0.0, new: bool = True, among: Sequence[int] | None = None,
              by: Placement | None = None) -> int:
        """Choices index the nodes where the scheduler may put this workload's pods; the
        first node from there on with room under the required rules (-1: none, Pending).
        ``by``: other rules (the old template's, with --from) and the nodes they allow."""
        rules_ = by if by is not None else rules
        nodes = list(among if among is not None else by.feasible if by is not None else feasible)
        if not nodes:
            return -1
        k = int(choice) % len(nodes)
        if daemon:
            return nodes[k]
        here = placed(t)
        return next((n for n in nodes[k:] + nodes[:k] if rules_.room(n, new, here)), -1)

    # ---- old pods, steady state ------------------------------------------------------
    r = sc.rollout.replicas
    olds: list[_Pod] = []
    news: list[_Pod] = []
    for i in range(r):
        choice = choices.initial[i] if i < len(choices.initial) else i
        # old pods were placed by the old template's rules (--from); if those could not have
        # placed them all, by the new ones (build_scenario checks that these fit)
        if daemon:
            node = feasible[i % len(feasible)]
        else:
            node = place(choice, -INF, False, by=sc.old_placement) if sc.old_placement is not None else -1
            node = node if node >= 0 else place(choice, -INF, False)
        olds.append(_Pod(f"{name}-old-{i + 1}", True, i, node))
    assert all(p.node >= 0 for p in olds), "scenario.build_scenario checks that the old pods fit"
    deletion_order = list(dict.fromkeys([i for i in choices.deletion if i < r] + list(range(r))))
    stateful = sc.rollout.strategy is Strategy.STATEFUL_SET
    ordinal: dict[int, int] = {}  # StatefulSet: old pod index -> ordinal
    if stateful:
        # upstream deletes the highest ordinal first; the pods are symmetric but for their
        # placement, so the ordinals follow the chosen deletion order, and the last
        # ``partition`` of them (ordinals below the partition) are never updated
        for rank, i in enumerate(deletion_order):
            ordinal[i] = r - 1 - rank
            olds[i].name = f"{name}-{r - 1 - rank}-old"
    elif sc.rollout.same_name:  # a StatefulSet's drain: its pods keep their ordinals
        for i, p in enumerate(olds):
            p.name = f"{name}-{i}-old"

    run.placements += [(p.name, p.node, [(q.name, q.node) for q in olds[:i]]) for i, p in enumerate(olds)]

    # ---- controller loop ------------------------------------------------------------
    queue: list[tuple[float, int, str | _Bind]] = []
    seq = 0
    n_sync = 0

    n_react = 0
    bctl = b["controller"]  # every delay is clamped to its bound: a candidate cannot step outside them

    def trigger(t: float, why: str) -> None:
        """The controller's own follow-up syncs take delays from ``timing.ctrl`` in order."""
        nonlocal seq, n_sync
        heapq.heappush(queue, (t + min(max(_cyc(timing.ctrl, n_sync), bctl.lo), bctl.hi), seq, why))
        seq += 1
        n_sync += 1

    def react(t: float, why: str) -> None:
        """Syncs caused by pod changes take delays from ``timing.react``."""
        nonlocal seq, n_react
        heapq.heappush(queue, (t + min(max(_cyc(timing.react, n_react), bctl.lo), bctl.hi), seq, why))
        seq += 1
        n_react += 1

    if sc.drain is not None:
        pass  # the drain loop below acts instead of the Deployment controller
    elif sc.paused:
        step(0.0, ctl, "", EventKind.ROLLOUT_START,
             "template changed, but spec.paused is true: no new ReplicaSet is scaled", w.loc_of("spec.paused"))
    else:
        step(0.0, ctl, "", EventKind.ROLLOUT_START, "template changed: rollout starts")
        trigger(0.0, "rollout start")

    old_spec = r
    new_spec = 0
    surge, unavailable = sc.rollout.surge, sc.rollout.unavailable
    recreate = sc.rollout.strategy is Strategy.RECREATE
    bpod = b["pod-start"]
    bapp = b["app-startup"]
    beps = b["endpointslice"]
    breg, bdereg = b["lb-register"], b["lb-deregister"]
    ip = any(e.ip for e in sc.entries)

    pending: list[_Pod] = []  # new pods waiting for room (Pending), in creation order

    def create_new(t: float, on: int | None = None, label: str = "", among: Sequence[int] | None = None) -> None:
        nonlocal seq
        i = len(news)
        later = min(max(timing.new_at(i).schedule, 0.0), bpod.hi) if on is None and among is None else 0.0
        if later > 0:  # the scheduler binds it later, by the filters as they are then
            p = _Pod(label or f"{name}-new-{i + 1}", False, i, -1, created=t)
            p.start = p.listen = p.started = p.ready = p.available = p.tg_in = INF
            news.append(p)
            step(t, podctl, p.name, EventKind.POD_CREATED, f"creates {p.name}", pod=p.name)
            heapq.heappush(queue, (t + later, seq, _Bind(p)))
            seq += 1
            return
        node = on if on is not None else place(_cyc(choices.placement, i) if choices.placement else 0, t, True, among)
        p = _Pod(label or f"{name}-new-{i + 1}", False, i, node, created=t)
        news.append(p)
        if node < 0:
            p.start = p.listen = p.started = p.ready = p.available = p.tg_in = INF  # nothing until scheduled
            pending.append(p)
            step(t, podctl, p.name, EventKind.POD_CREATED,
                 f"creates {p.name}; Pending: no feasible node has room ({rules.why()})", rules.loc, pod=p.name)
            return
        start_new(p, t, f"creates {p.name}; scheduled on {node_name(node)}")

    def bind(p: _Pod, t: float) -> None:
        """The scheduler's binding of a pod it took its time over (``NewTiming.schedule``)."""
        n = place(_cyc(choices.placement, p.index) if choices.placement else 0, t, True)
        if n < 0:
            pending.append(p)
            step(t, Component.SCHEDULER, "", EventKind.POD_PENDING,
                 f"cannot schedule {p.name}: Pending, no feasible node has room ({rules.why()})", rules.loc,
                 pod=p.name)
            return
        p.node = n
        step(t, Component.SCHEDULER, node_name(n), EventKind.POD_SCHEDULED, f"schedules {p.name} on {node_name(n)}",
             rules.loc, pod=p.name)
        start_new(p, t, "", since=p.created)

    def schedule_pending(t: float) -> None:
        """The scheduler retries Pending pods when a pod is gone (FIFO)."""
        for p in list(pending):
            n = place(_cyc(choices.placement, p.index) if choices.placement else 0, t, True,
                      [x for x in feasible if x != sc.drain] if sc.drain is not None else None)
            if n < 0:
                break
            pending.remove(p)
            p.node = n
            step(t, Component.SCHEDULER, node_name(n), EventKind.POD_SCHEDULED,
                 f"schedules {p.name} on {node_name(n)} (room freed)", rules.loc, pod=p.name)
            start_new(p, t, "")

    def start_new(p: _Pod, t: float, created_text: str, since: float | None = None) -> None:
        """A new pod's life once it is scheduled at ``t``: container start, probes, Ready.
        ``since``: the ``pod-start`` delay counts from then (creation) instead of from ``t``."""
        run.placements.append((p.name, p.node, [(q.name, q.node) for q in olds if q.exit > t]
                               + [(q.name, q.node) for q in news if q.node >= 0 and q is not p]))
        nt = timing.new_at(p.index)
        p.start = max(t, (t if since is None else since) + min(max(nt.start, bpod.lo), bpod.hi))
        p.listen = p.start + min(max(nt.app, bapp.lo), bapp.hi)
        # startup probe gates readiness and liveness
        sp = pod.startup
        p.started = p.start
        if sp is not None:
            base = p.start + sp.initial_delay + (nt.startup_phase % 1.0) * sp.period
            cond = p.listen if sp.checks_port else p.start
            k, tick = _probe_first(base, sp.period, cond, p.start)
            if k >= sp.failure:
                p.killed = base + (sp.failure - 1) * sp.period + min(max(nt.startup_resp, 0.0), sp.timeout)
                p.started = INF
            else:
                p.started = tick + min(max(nt.startup_resp, 0.0), sp.timeout)
        rp = pod.readiness
        if rp is None:
            p.ready = p.started
        else:
            base = p.start + rp.initial_delay + (nt.ready_phase % 1.0) * rp.period
            cond = p.listen if rp.checks_port else p.start
            k, tick = _probe_first(base, rp.period, cond, p.started)
            p.ready = tick + (rp.success - 1) * rp.period + min(max(nt.ready_resp, 0.0), rp.timeout)
        p.tg_in = INF
        if ip and pod.lb_gate is not None:  # registered as soon as the pod has an IP; Ready waits for it
            reg = p.start + min(max(nt.eps, beps.lo), beps.hi) + min(max(nt.lb_reg, breg.lo), breg.hi)
            p.tg_in = _target_healthy(reg, p.listen, nt, b.lb)
            p.ready = max(p.ready, p.tg_in)
        lp = pod.liveness
        if lp is not None and lp.checks_port and p.started < INF:
            base = p.start + lp.initial_delay + (nt.liveness_phase % 1.0) * lp.period
            k0, first = _probe_first(base, lp.period, p.started, p.started)
            kill_tick = first + (lp.failure - 1) * lp.period
            if kill_tick < p.listen:
                p.killed = min(p.killed, kill_tick)
        if p.ready >= p.killed:
            p.ready = INF
        p.available = p.ready + sc.min_ready if p.ready < INF else INF
        where = node_name(p.node)
        pstep = partial(step, pod=p.name)
        if created_text:
            pstep(p.created, podctl, p.name, EventKind.POD_CREATED, created_text)
        pstep(p.start, Component.KUBELET, where, EventKind.CONTAINER_STARTED, f"starts {p.name}", pod.container_loc)
        if p.listen < p.killed:
            pstep(p.listen, Component.APP, p.name, EventKind.APP_LISTENING, f"{p.name} accepts connections")
        if p.killed < INF:
            src = (pod.startup.loc if pod.startup and p.started == INF else pod.liveness.loc if pod.liveness else None)
            pstep(p.killed, Component.KUBELET, where, EventKind.LIVENESS_KILL,
                 f"kills {p.name}: probe failed before the app listened; it restarts just as slowly", src)
        if p.ready < INF:
            how = ("no readinessProbe: Ready as soon as the container runs" if pod.readiness is None else
                   "readinessProbe succeeded" + ("" if pod.readiness.checks_port else
                                                 " (it does not check the Service's port)"))
            pstep(p.ready, Component.KUBELET, where, EventKind.READY, f"marks {p.name} Ready ({how})",
                 pod.readiness.loc if pod.readiness else pod.container_loc)
        if p.available < INF:
            react(p.available, f"{p.name} available")

    preference = {i: rank for rank, i in enumerate(deletion_order)}

    def victims(t: float, k: int) -> list[_Pod]:
        """The k old pods the ReplicaSet controller deletes at ``t``: ``ActivePodsWithRanks``
        (controller_utils.go). For old pods that are all scheduled, Running and Ready for a
        long time, rules 1-3 and 6-7 tie and rule 4 (pod-deletion-cost) is the same for every
        pod of the template; rule 5 decides — pods on nodes with more active pods of the
        Deployment (old and new ReplicaSets) go first. Remaining ties (rule 8 in log2
        buckets, then UID) follow ``choices.deletion``."""
        alive = [p for p in olds if p.deleted == INF]
        alive.sort(key=lambda p: (-active_on(t, p.node), preference[p.index]))
        return alive[:k]

    def active_on(t: float, node: int) -> int:
        """The Deployment's pods on ``node`` at ``t`` as rule 5 counts them: old pods not
        deleted, new pods bound there."""
        return (sum(1 for p in olds if p.deleted > t and p.node == node)
                + sum(1 for p in news if p.created <= t and p.node == node))

    def delete_old(t: float, p: _Pod, why: str = "") -> None:
        pod = sc.old  # old pods run the old template (--from)
        i = p.index
        ot = timing.old_at(i)
        h = pod.hook
        grace = pod.grace
        p.deleted = t
        p.seen = t + min(max(ot.kubelet, b["kubelet"].lo), b["kubelet"].hi)
        hook = min(max(ot.hook, h.lo), h.hi)
        p.sigterm = p.seen + hook
        bclose = b["app-close"]
        if h.may_stop_app:
            span = (p.sigterm + bclose.hi) - (p.seen + h.serve_min)
            p.close = p.seen + h.serve_min + min(max(ot.close, 0.0), span)
        else:
            p.close = p.sigterm + min(max(ot.close, bclose.lo), bclose.hi)
        p.sigkill = p.sigterm + max(grace - hook, 2.0)
        p.exit = min(p.close + min(max(ot.drain, 0.0), b["request"].hi), p.sigkill)
        rp = pod.readiness
        probe_runs = rp is not None and not (pod.readiness_exec and b.exec_readiness_skipped_when_terminating)
        # the probe starts failing when the listener closes (if it checks the served port),
        # or at SIGTERM when the application fails its readiness on purpose
        fails_from = [x for x, on in ((p.close, rp is not None and rp.checks_port),
                                      (p.sigterm, b.fail_readiness_on_sigterm)) if on]
        if probe_runs and fails_from:
            assert rp is not None
            p.unready = min(min(fails_from) + (ot.unready_phase % 1.0) * rp.period + (rp.failure - 1) * rp.period
                            + min(max(ot.unready_resp, 0.0), rp.timeout), p.exit)
        else:
            p.unready = p.exit
        where = node_name(p.node)
        pstep = partial(step, pod=p.name)
        pstep(t, podctl, p.name, EventKind.POD_DELETED, f"deletes {p.name} (on {where}{why})")
        pstep(p.seen, Component.KUBELET, where, EventKind.KUBELET_SEES_DELETE,
             f"sees {p.name} deleted; runs {h.text}", h.loc or pod.container_loc)
        pstep(p.sigterm, Component.KUBELET, where, EventKind.SIGTERM, f"sends SIGTERM to {p.name}",
             h.loc or pod.container_loc)
        pstep(p.close, Component.APP, p.name, EventKind.LISTENER_CLOSED,
             f"{p.name} stops accepting connections", h.loc if h.may_stop_app else None)
        if p.unready < p.exit:
            pstep(p.unready, Component.KUBELET, where, EventKind.NOT_READY,
                 f"readinessProbe fails: {p.name} not Ready", rp.loc if rp else None)
        if p.sigkill <= p.exit:
            pstep(p.sigkill, Component.KUBELET, where, EventKind.SIGKILL, f"sends SIGKILL to {p.name}",
                 tpl_loc)
        else:
            pstep(p.exit, Component.APP, p.name, EventKind.CONTAINER_EXITED, f"{p.name} exits")
        if recreate or sc.rollout.waits_gone:
            react(p.exit, f"{p.name} gone")
        elif rules.limited:
            heapq.heappush(queue, (p.exit, -1, SCHEDULER_RETRY))  # the scheduler retries at once

    def _drain_loop() -> None:
        """``kubectl drain``: cordon, then evict the node's pods, retrying every 5 s while the
        PodDisruptionBudget refuses (``disruption.go``: Ready pods above desiredHealthy);
        the ReplicaSet creates each evicted pod's replacement on another node (a StatefulSet
        once the evicted pod is gone: the replacement takes its name)."""
        n = sc.drain
        assert n is not None
        others = [x for x in feasible if x != n] or [n]
        desired = sc.rollout.desired_healthy
        replacements: list[tuple[float, str]] = []  # creation times of replacements (and their names)
        step(0.0, Component.KUBECTL, "", EventKind.ROLLOUT_START,
             f"drain {node_name(n)}: cordons the node and evicts its pods", sc.budget)
        t, idle = 0.0, 0
        retried: set[int] = set()  # old pods whose exit let the scheduler retry Pending pods

        def catch_up(until: float) -> None:
            """Replacements created and Pending pods retried (a pod gone frees room), in time
            order, up to ``until``."""
            nonlocal replacements
            due = [(when, 0, label, -1) for when, label in replacements if when <= until] + [
                (p.exit, 1, "", p.index) for p in olds if p.exit <= until and p.exit < INF and p.index not in retried]
            for when, kind, label, i in sorted(due, key=lambda e: (e[0], e[1])):
                if kind == 0:
                    create_new(when, label=label, among=others)
                else:
                    retried.add(i)
                    schedule_pending(when)
            replacements = [x for x in replacements if x[0] > until]

        while True:
            catch_up(t)
            todo = sorted((p for p in olds if p.node == n and p.deleted == INF), key=lambda p: preference[p.index])
            if not todo:
                break
            healthy = sum(1 for p in olds if p.deleted == INF) + sum(1 for q in news if q.ready <= t)
            k = min(len(todo), healthy - desired)
            if k > 0:
                idle = 0
                for p in todo[:k]:
                    delete_old(t, p)
                    i = len(news) + len(replacements)
                    delay = min(max(_cyc(timing.react, i), b["controller"].lo), b["controller"].hi)
                    if sc.rollout.same_name:  # recreated under its name once it is gone
                        replacements.append((p.exit + delay, p.name.removesuffix("-old") + "-new"))
                    else:
                        replacements.append((t + delay, ""))
                step(t, Component.KUBECTL, "", EventKind.SCALE_DOWN,
                     f"evicts {', '.join(p.name for p in todo[:k])} ("
                     + (f"PodDisruptionBudget allows {healthy - desired})" if sc.budget is not None else
                        "no PodDisruptionBudget)"),
                     sc.budget)
            else:
                idle += 1
                gone_later = any(t < p.exit < INF for p in olds)
                if idle > 200 and not replacements and not gone_later and all(
                        q.ready <= t or q in pending for q in news):
                    return  # the budget never allows it: the drain is blocked
            t += 5.0  # kubectl drain retries an eviction every 5 s
        catch_up(INF)

    def daemon_sync(t: float) -> None:
        """update.go rollingUpdate, one pod per feasible node (see deployment.Rollout._daemon)."""
        running_old = [p for p in olds if p.deleted == INF]
        n_avail = sum(1 for p in news if p.available <= t)
        src = w.loc_of("spec.updateStrategy.rollingUpdate")
        if surge == 0:
            taken = {p.node for p in olds if p.exit > t} | {q.node for q in news}
            free = [n for n in feasible if n not in taken]
            if free:
                step(t, ctl, "", EventKind.SCALE_UP,
                     f"DaemonSet: creates new pods on {', '.join(node_name(n) for n in free)} (old pods gone)", src)
                for n in free:
                    create_new(t, n)
                trigger(t, "scaled up")
                return
            k = min(len(running_old), unavailable - (r - len(running_old) - n_avail))
            if k > 0:
                victims_ = sorted(running_old, key=lambda p: preference[p.index])[:k]
                step(t, ctl, "", EventKind.SCALE_DOWN,
                     f"DaemonSet: deletes {k} old pod{'s' if k > 1 else ''} (maxUnavailable {unavailable})", src)
                for p in victims_:
                    delete_old(t, p)
                trigger(t, "scaled down")
            return
        replaced = [p for p in running_old if any(q.node == p.node and q.available <= t for q in news)]
        if replaced:
            step(t, ctl, "", EventKind.SCALE_DOWN,
                 f"DaemonSet: deletes the old pod on {', '.join(node_name(p.node) for p in replaced)} "
                 "(its new pod is available)", src)
            for p in replaced:
                delete_old(t, p)
            trigger(t, "scaled down")
            return
        surging = sum(1 for q in news if q.available > t)
        with_new = {q.node for q in news}
        todo = [p.node for p in sorted(running_old, key=lambda p: preference[p.index]) if p.node not in with_new]
        k = min(surge - surging, len(todo))
        if k > 0:
            step(t, ctl, "", EventKind.SCALE_UP,
                 f"DaemonSet: surges new pods on {', '.join(node_name(n) for n in todo[:k])} (maxSurge {surge})", src)
            for n in todo[:k]:
                create_new(t, n)
            trigger(t, "scaled up")

    recreated: dict[int, _Pod] = {}  # StatefulSet: ordinal -> its new pod
    by_ordinal = {o: olds[i] for i, o in ordinal.items()}

    def stateful_sync(t: float) -> None:
        """stateful_set_control.go updateStatefulSet: recreate the pods whose old pod is gone
        (Parallel: all of them; OrderedReady: walking the ordinals upwards, stop at the first
        unhealthy pod, creating it if it is gone); then, unless the walk stopped, delete the
        old pods with the highest ordinals >= partition while fewer than maxUnavailable pods
        are unhealthy."""
        src = w.loc_of("spec.updateStrategy")

        def recreate_(p: _Pod) -> None:
            o = ordinal[p.index]
            step(t, ctl, "", EventKind.SCALE_UP,
                 f"StatefulSet: {p.name} is gone; creates {name}-{o} from the new template", src)
            create_new(t, label=f"{name}-{o}-new")
            recreated[o] = news[-1]

        if sc.rollout.ordered:
            for o in range(r):
                q, p = recreated.get(o), by_ordinal[o]
                if q is None and p.exit <= t:
                    recreate_(p)
                    trigger(t, "scaled up")
                    return  # OrderedReady creates one pod per sync
                if (q.available > t) if q is not None else p.deleted < INF:
                    return  # waits for this ordinal to be Running, Ready and available
        else:
            gone = [p for p in olds if p.exit <= t and ordinal[p.index] not in recreated]
            for p in gone:
                recreate_(p)
            if gone:
                trigger(t, "scaled up")
                return
        # unhealthy: deleted pods whose replacement is not available yet (terminating, gone,
        # Pending, starting); the partition's pods stay healthy
        unhealthy = sum(1 for p in olds if p.deleted < INF) - sum(1 for q in news if q.available <= t)
        todo = [i for i in deletion_order if olds[i].deleted == INF and ordinal[i] >= sc.rollout.partition]
        k = min(len(todo), unavailable - unhealthy)
        if k > 0:
            doomed = [olds[i] for i in todo[:k]]
            step(t, ctl, "", EventKind.SCALE_DOWN,
                 f"StatefulSet: {unhealthy} pod(s) unhealthy, maxUnavailable {unavailable}; deletes "
                 f"{', '.join(p.name for p in doomed)} (highest ordinals not updated)", src)
            for p in doomed:
                delete_old(t, p)
            trigger(t, "scaled down")

    if sc.drain is not None:
        _drain_loop()
        queue.clear()

    while queue:
        t, _, _why = heapq.heappop(queue)
        if isinstance(_why, _Bind):
            bind(_why.pod, t)
            continue
        if _why == SCHEDULER_RETRY:
            schedule_pending(t)
            continue
        n_avail = sum(1 for p in news if p.available <= t)
        if daemon:
            daemon_sync(t)
            continue
        if stateful:
            stateful_sync(t)
            continue
        if recreate:
            if old_spec > 0:
                k = old_spec
                old_spec = 0
                step(t, ctl, "", EventKind.SCALE_DOWN, "Recreate: scales old ReplicaSet to 0",
                     w.loc_of("spec.strategy.type"))
                for p in victims(t, k):
                    delete_old(t, p)
                trigger(t, "scaled down")
            elif any(p.exit > t for p in olds):
                pass
            elif new_spec < r:
                k = r - new_spec
                new_spec = r
                step(t, ctl, "", EventKind.SCALE_UP,
                     f"old pods gone: scales new ReplicaSet to {r}", w.loc_of("spec.strategy.type"))
                for _ in range(k):
                    create_new(t)
                trigger(t, "scaled up")
            continue
        max_total = r + surge
        current = old_spec + new_spec
        if current < max_total and new_spec < r:
            k = min(max_total - current, r - new_spec)
            new_spec += k
            step(t, ctl, "", EventKind.SCALE_UP,
                 f"scales new ReplicaSet to {new_spec} (maxSurge {surge})",
                 w.loc_of("spec.strategy.rollingUpdate.maxSurge"))
            for _ in range(k):
                create_new(t)
            trigger(t, "scaled up")
            continue
        min_available = r - unavailable
        if old_spec > 0 and current - min_available - (new_spec - n_avail) > 0:
            available_all = old_spec + n_avail
            if available_all > min_available:
                k = min(old_spec, available_all - min_available)
                old_spec -= k
                step(t, ctl, "", EventKind.SCALE_DOWN,
                     f"scales old ReplicaSet to {old_spec} ({n_avail} new available, maxUnavailable {unavailable})",
                     w.loc_of("spec.strategy.rollingUpdate.maxUnavailable"))
                # say why these pods: the ranking counts the Deployment's pods on each node
                doomed = [(p, active_on(t, p.node)) for p in victims(t, k)]
                for p, there in doomed:
                    delete_old(t, p, f", with {there} of the Deployment's pods: fullest nodes go first" if len(feasible) > 1 else "")
                trigger(t, "scaled down")

    all_pods = olds + news
    run.pod_nodes = {p.name: p.node for p in all_pods}
    run.completed = (not sc.paused and old_spec == 0 and new_spec == r
                     and all(p.available < INF for p in news))
    if daemon or stateful:
        moving = [p for p in olds if not stateful or ordinal[p.index] >= sc.rollout.partition]
        run.completed = (all(p.deleted < INF for p in moving) and len(news) == len(moving)
                         and all(p.available < INF for p in news))
    if sc.drain is not None:
        run.completed = (all(p.deleted < INF for p in olds if p.node == sc.drain)
                         and len(news) == sum(1 for p in olds if p.node == sc.drain)
                         and all(p.available < INF for p in news))
    if run.completed:
        done = max([p.available for p in news] + [p.exit for p in olds if p.exit < INF] + [0.0])
        step(done, ctl, "", EventKind.ROLLOUT_COMPLETE, "rollout complete")

    # ---- EndpointSlice (FIFO) and kube-proxy per node (FIFO) ----------------------------
    pnr = sc.publish_not_ready
    changes: list[tuple[float, int, _Pod, Change, float, tuple[float, ...]]] = []
    order = 0
    for p in all_pods:
        if p.old:
            ot = timing.old_at(p.index)
            if p.deleted < INF:
                if not pnr:
                    changes.append((p.deleted, order, p, Change.DEL, ot.eps_del, ot.proxy_del))
                    order += 1
                    changes.append((p.unready, order, p, Change.UNREADY, ot.eps_unready, ot.proxy_unready))
                else:
                    changes.append((p.exit, order, p, Change.GONE, ot.eps_unready, ot.proxy_unready))
                order += 1
        else:
            nt = timing.new_at(p.index)
            at = p.start if pnr else p.ready
            if at < INF:
                changes.append((at, order, p, Change.ADD, nt.eps, nt.proxy))
                order += 1
            if p.killed < INF and p.ready < p.killed:
                changes.append((p.killed, order, p, Change.UNREADY, nt.eps, nt.proxy))
                order += 1
    # same instant: ready before terminating before not-serving (causal order, see endpointslice)
    rank = {Change.ADD: 0, Change.DEL: 1, Change.UNREADY: 2, Change.GONE: 2}
    changes.sort(key=lambda c: (c[0], rank[c[3]], c[1]))
    bproxy = b["kube-proxy"]
    slice_t = -INF
    applied: list[list[tuple[float, _Pod, Change]]] = [[] for _ in range(n_nodes)]
    last_apply = [-INF] * n_nodes
    slice_of: dict[tuple[str, Change], float] = {}
    for (t, _, p, ch, eps, proxy) in changes:
        slice_t = max(slice_t, t + min(max(eps, beps.lo), beps.hi))
        slice_of[(p.name, ch)] = slice_t
        step(slice_t, Component.ENDPOINTSLICE, "", {
            Change.ADD: EventKind.SLICE_ADD, Change.DEL: EventKind.SLICE_TERMINATING,
            Change.UNREADY: EventKind.SLICE_NOT_SERVING, Change.GONE: EventKind.SLICE_NOT_SERVING}[ch],
            f"EndpointSlice: {p.name} {ch.value}", pod=p.name)
        for n in range(n_nodes):
            a = max(last_apply[n], slice_t + min(max(_cyc(proxy, n), bproxy.lo), bproxy.hi))
            last_apply[n] = a
            applied[n].append((a, p, ch))
            step(a, Component.KUBE_PROXY, node_name(n), {
                Change.ADD: EventKind.PROXY_ADD, Change.DEL: EventKind.PROXY_TERMINATING,
                Change.UNREADY: EventKind.PROXY_NOT_SERVING, Change.GONE: EventKind.PROXY_NOT_SERVING}[ch],
                f"applies: {p.name} {ch.value}", pod=p.name)

    # ---- IP targets: the load balancer's target group (AWS LBC ip mode) -----------------
    if ip:
        for p in all_pods:
            if p.old:
                ot = timing.old_at(p.index)
                removed = slice_of.get((p.name, Change.DEL), slice_of.get((p.name, Change.GONE), INF))
                dereg = removed + min(max(ot.lb_dereg, bdereg.lo), bdereg.hi)
                p.tg_out = min(dereg, _target_unhealthy(p.close, ot, b.lb))
                if p.tg_out < INF:
                    step(p.tg_out, Component.LOAD_BALANCER, "load-balancer", EventKind.LB_TARGET_REMOVED,
                         f"stops sending new requests to {p.name} ("
                         + ("deregistered" if dereg <= p.tg_out else "failed its health checks") + ")",
                         pod=p.name)
            else:
                nt = timing.new_at(p.index)
                if pod.lb_gate is None:
                    reg = slice_of.get((p.name, Change.ADD), INF) + min(max(nt.lb_reg, breg.lo), breg.hi)
                    p.tg_in = _target_healthy(reg, p.listen if p.listen < p.killed else INF, nt, b.lb)
                if p.tg_in < INF:
                    step(p.tg_in, Component.LOAD_BALANCER, "load-balancer", EventKind.LB_TARGET_ADDED,
                         f"target {p.name} healthy: the load balancer sends to it", pod.lb_gate, pod=p.name)

    def local_ready_times(n: int) -> list[tuple[float, bool]]:
        """When node n's kube-proxy has a local ready, non-terminating endpoint."""
        ready = {p.name for p in olds if p.node == n}
        out = [(-INF, bool(ready))]
        for (a, p, ch) in applied[n]:
            if p.node != n:
                continue
            if ch is Change.ADD:
                ready.add(p.name)
            else:
                ready.discard(p.name)
            if bool(ready) != out[-1][1]:
                out.append((a, bool(ready)))
        return out

    def value_at(series: list[tuple[float, bool]], t: float) -> bool:
        state = series[0][1]
        for (a, v) in series:
            if a <= t:
                state = v
            else:
                break
        return state

    # ---- horizon and change points ----------------------------------------------------
    times = {0.0}
    for p in all_pods:
        for x in (p.listen, p.close, p.killed, p.exit, p.sigkill):
            if -INF < x < INF:
                times.add(x)
    for n in range(n_nodes):
        times.update(a for (a, _, _) in applied[n] if a < INF)
    lb = b.lb
    horizon = max(times) + lb.interval * (max(lb.unhealthy, lb.healthy) + 2) + lb.timeout + 1.0

    # ---- load balancer health checks (Local) ------------------------------------------
    lb_changes: list[list[tuple[float, bool]]] = [[(-INF, True)] for _ in range(n_nodes)]
    uses_local_lb = any(e.kind is Entry.LOAD_BALANCER and e.local for e in sc.entries)
    if uses_local_lb:
        for n in range(n_nodes):
            series = local_ready_times(n)
            flips = [a for (a, v) in series if not v and a > -INF]
            if flips:
                run.local_empty_at[n] = flips[0]
            healthy = value_at(series, 0.0)
            lb_changes[n] = [(-INF, healthy)]
            phase = _cyc(timing.lb_phase, n) % 1.0
            tick = phase * lb.interval
            streak = 0
            while tick <= horizon:
                ok = value_at(series, tick)
                done = tick + min(max(timing.lb_resp, 0.0), lb.timeout)
                if ok != healthy:
                    streak += 1
                    if streak >= (lb.healthy if ok else lb.unhealthy):
                        healthy = ok
                        streak = 0
                        lb_changes[n].append((done, healthy))
                        step(done, Component.LOAD_BALANCER, node_name(n),
                             EventKind.LB_REMOVES_NODE if not ok else EventKind.LB_ADDS_NODE,
                             f"{'removes' if not ok else 'adds back'} {node_name(n)} after "
                             f"{lb.unhealthy if not ok else lb.healthy} health checks")
                else:
                    streak = 0
                tick += lb.interval

    # ---- the timeline the properties are evaluated on (see evaluate) ------------------
    index = {id(p): i for i, p in enumerate(all_pods)}
    req = min(max(timing.request, b["request"].lo), b["request"].hi)
    run.timeline = Timeline(
        pods=tuple(PodLife(p.name, p.old, p.node, p.created if not p.old else -INF,
                           p.listen if not p.old else -INF, p.ready if not p.old else -INF,
                           p.killed, p.deleted, p.sigterm, p.close, p.unready if p.old else p.killed,
                           p.exit, p.sigkill, p.tg_in if not p.old else -INF, p.tg_out) for p in all_pods),
        applied=tuple(tuple((a, index[id(p)], ch) for (a, p, ch) in applied[n]) for n in range(n_nodes)),
        lb=tuple(tuple(x) for x in lb_changes),
        zones=tuple(sc.node_zone(n) for n in range(n_nodes)),
        entries=sc.entries, fallback=sc.fallback, request=req, horizon=horizon, completed=run.completed)
    steps.sort(key=lambda s: s.t)
    return run


def _target_healthy(registered: float, listen: float, nt: NewTiming, lb: LBProfile) -> float:
    """A registered target turns healthy after ``healthy`` consecutive checks that reach the
    application: checks every interval from the registration, with the timing's phase."""
    if registered == INF or listen == INF:
        return INF
    base = registered + (nt.lb_phase % 1.0) * lb.interval
    _, tick = _probe_first(base, lb.interval, listen, registered)
    return tick + (lb.healthy - 1) * lb.interval + min(max(nt.lb_resp, 0.0), lb.timeout)


def _target_unhealthy(close: float, ot: OldTiming, lb: LBProfile) -> float:
    """After the listener closed, the target fails ``unhealthy`` consecutive checks."""
    if close == INF:
        return INF
    first = close + (ot.lb_phase % 1.0) * lb.interval
    return first + (lb.unhealthy - 1) * lb.interval + min(max(ot.lb_resp, 0.0), lb.timeout)
