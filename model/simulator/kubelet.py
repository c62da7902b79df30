"""kubelet, the simulator's side: container start, probes, Ready; preStop, SIGTERM, SIGKILL.

Follows ``kubernetes/kubernetes:pkg/kubelet/prober/worker.go`` (probe ticks, thresholds,
startup gating, readiness during termination) and ``pkg/kubelet/kuberuntime/
kuberuntime_container.go`` ``killContainer`` (preStop within grace, 2 s minimum; the hook's
run time counts in whole seconds, truncated — ``executePreStopHook``).

Simplifications (as ``model/checker/kubelet.py``):
 1. The pod turns Ready once every container is ready (another container's readiness probe
    passes at its first tick once it runs). At deletion every other container runs its own preStop, gets
    SIGTERM and exits ``side_exit`` of the way to its SIGKILL (0: at once): the pod's
    Ready ends with the first of them (``killContainersWithSyncResult``).
 2. A probe ticks every ``periodSeconds`` from ``start + initialDelaySeconds`` with the
    timing's phase (kubelet's start-up jitter); a successful probe answers within
    ``timeoutSeconds``; a probe that does not check the Service's port (exec, or another
    port) is assumed to succeed once the container runs — it proves nothing about the port.
 3. ``readinessGates``: a target-health gate of the AWS Load Balancer Controller (IP
    targets) holds Ready until the pod's target is healthy in the load balancer (the
    controller registers the pod once it has an IP); any other gate is taken as satisfied
    (it only delays Ready). Source: aws-load-balancer-controller docs/deploy/pod_readiness_gate.md.
 4. A liveness/startup kill before the application listens restarts the container; the
    simulator treats such a pod as never ready again (every restart equally slow), which
    stalls the rollout.
 5. Readiness keeps being probed during termination (PR #110191), except exec probes on
    1.35 (kubernetes/kubernetes#140509); Ready ends at the failure threshold after the
    listener closed (or SIGTERM, when the application fails its readiness on purpose), or
    when the container exits.
"""
from __future__ import annotations

import math
from functools import partial

from zdverify.model.run import NewTiming
from zdverify.model.simulator import application, load_balancer
from zdverify.model.scenario import HookSpec
from zdverify.model.simulator.state import SimPod, SimState, cyc, first_tick
from zdverify.model.verdict import Component, EventKind
from zdverify.model.objects import Field

INF = math.inf


def start_new(s: SimState, p: SimPod, t: float, created_text: str, since: float | None = None) -> None:
    """A new pod's life once it is scheduled at ``t``: container start, probes, Ready.
    ``since``: the ``pod-start`` delay counts from then (creation) instead of from ``t``."""
    b, pod = s.sc.settings, s.sc.pod
    nt = s.timing.new_at(p.index)
    bpod = b["pod-start"]
    p.start = max(t, (t if since is None else since) + min(max(nt.start, bpod.lo), bpod.hi))
    p.listen = application.listen(s, p, nt)
    _startup(s, p, nt)
    rp = pod.readiness
    if rp is None or p.started == INF:  # no probe; or killed before it started: never Ready
        p.ready = p.started
    else:
        base = p.start + rp.initial_delay + (nt.ready_phase % 1.0) * rp.period
        cond = p.listen if rp.checks_port else p.start
        k, tick = first_tick(base, rp.period, cond, p.started)
        p.ready = tick + (rp.success - 1) * rp.period + min(max(nt.ready_resp, 0.0), rp.timeout)
    for i, side in enumerate(pod.others):  # every container must be ready
        sp = side.readiness
        if sp is not None and p.ready < INF:
            base = p.start + sp.initial_delay + (cyc(nt.side_ready_phase, i) % 1.0) * sp.period
            _, tick = first_tick(base, sp.period, p.start, p.start)
            p.ready = max(p.ready, tick + (sp.success - 1) * sp.period
                          + min(max(cyc(nt.side_ready_resp, i), 0.0), sp.timeout))
    p.tg_in = INF
    if s.ip and pod.lb_gate is not None:  # registered as soon as the pod has an IP; Ready waits for it
        p.tg_in = load_balancer.gated_target_healthy(s, p, nt)
        p.ready = max(p.ready, p.tg_in)
    lp = pod.liveness
    if lp is not None and lp.checks_port and p.started < INF:
        base = p.start + lp.initial_delay + (nt.liveness_phase % 1.0) * lp.period
        k0, first = first_tick(base, lp.period, p.started, p.started)
        kill_tick = first + (lp.failure - 1) * lp.period
        if kill_tick < p.listen:
            p.killed = min(p.killed, kill_tick)
    if p.ready >= p.killed:
        p.ready = INF
    p.available = p.ready + s.sc.min_ready if p.ready < INF else INF
    _announce_start(s, p, created_text)
    if p.available < INF:
        s.react(p.available, f"{p.name} available")


def _startup(s: SimState, p: SimPod, nt: NewTiming) -> None:
    """The startup probe gates readiness and liveness; failing it kills the container."""
    sp = s.sc.pod.startup
    p.started = p.start
    if sp is not None:
        base = p.start + sp.initial_delay + (nt.startup_phase % 1.0) * sp.period
        cond = p.listen if sp.checks_port else p.start
        k, tick = first_tick(base, sp.period, cond, p.start)
        if k >= sp.failure:
            p.killed = base + (sp.failure - 1) * sp.period + min(max(nt.startup_resp, 0.0), sp.timeout)
            p.started = INF
        else:
            p.started = tick + min(max(nt.startup_resp, 0.0), sp.timeout)


def _announce_start(s: SimState, p: SimPod, created_text: str) -> None:
    pod = s.sc.pod
    where = s.node_name(p.node)
    pstep = partial(s.step, pod=p.name)
    if created_text:
        pstep(p.created, s.podctl, p.name, EventKind.POD_CREATED, created_text)
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


def delete_old(s: SimState, t: float, p: SimPod, why: str = "") -> None:
    """An old pod deleted at ``t``: the kubelet sees it, runs the preStop hook, sends SIGTERM;
    the application closes and exits (or SIGKILL); the readiness probe fails meanwhile."""
    pod = s.sc.old  # old pods run the old template (--from)
    b = s.sc.settings
    ot = s.timing.old_at(p.index)
    h = pod.hook
    p.deleted = t
    p.seen = t + min(max(ot.kubelet, b["kubelet"].lo), b["kubelet"].hi)
    hook = min(max(ot.hook, h.lo), h.hi)
    p.sigterm = p.seen + hook
    p.close = application.close(s, p, ot)
    # killContainer: the grace period less the hook's run time in whole seconds (truncated:
    # executePreStopHook returns int64(elapsed.Seconds())), at least 2 s
    p.sigkill = p.sigterm + max(pod.grace - math.floor(hook), 2.0)
    p.exit = application.exit_time(s, p, ot)
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
    p.side_exits = tuple(math.inf if side.native else  # native sidecars stop after the main containers
                         side_exit(p.seen, side.hook, pod.grace, cyc(ot.side_hook, i), cyc(ot.side_exit, i))
                         for i, side in enumerate(pod.others))
    p.unready = min((p.unready, *p.side_exits))
    _announce_delete(s, t, p, why)
    if s.recreate or s.sc.rollout.waits_gone:
        s.react(p.exit, f"{p.name} gone")
    elif s.rules.limited:
        s.retry_scheduler(p.exit)


def side_exit(seen: float, h: HookSpec, grace: float, hook: float, when: float) -> float:
    """When another container of the pod exits: its own preStop (``hook``, within its
    bounds), SIGTERM, then ``when`` of the way to its SIGKILL (0: at once)."""
    run = min(max(hook, h.lo), h.hi)
    sigterm = seen + run
    kill = sigterm + max(grace - math.floor(run), 2.0)
    return sigterm + min(max(when, 0.0), 1.0) * (kill - sigterm)


def _announce_delete(s: SimState, t: float, p: SimPod, why: str) -> None:
    pod = s.sc.old
    h, rp = pod.hook, pod.readiness
    where = s.node_name(p.node)
    pstep = partial(s.step, pod=p.name)
    pstep(t, s.podctl, p.name, EventKind.POD_DELETED, f"deletes {p.name} (on {where}{why})")
    pstep(p.seen, Component.KUBELET, where, EventKind.KUBELET_SEES_DELETE,
          f"sees {p.name} deleted; runs {h.text}", h.loc or pod.container_loc)
    pstep(p.sigterm, Component.KUBELET, where, EventKind.SIGTERM, f"sends SIGTERM to {p.name}",
          h.loc or pod.container_loc)
    pstep(p.close, Component.APP, p.name, EventKind.LISTENER_CLOSED,
          f"{p.name} stops accepting connections", h.loc if h.may_stop_app else None)
    side = next((i for i, x in enumerate(p.side_exits) if x == p.unready), None)
    if side is not None and p.unready < p.exit:
        c = pod.others[side]
        pstep(p.unready, Component.KUBELET, where, EventKind.SIDE_CONTAINER_EXITED,
              f"container {c.name!r} of {p.name} exits ({c.hook.text}, then SIGTERM): {p.name} not Ready",
              c.hook.loc or c.loc)
    elif p.unready < p.exit:
        pstep(p.unready, Component.KUBELET, where, EventKind.NOT_READY,
              f"readinessProbe fails: {p.name} not Ready", rp.loc if rp else None)
    if p.sigkill <= p.exit:
        pstep(p.sigkill, Component.KUBELET, where, EventKind.SIGKILL, f"sends SIGKILL to {p.name}",
              s.loc_of(Field.POD_SPEC))
    else:
        pstep(p.exit, Component.APP, p.name, EventKind.CONTAINER_EXITED, f"{p.name} exits")
