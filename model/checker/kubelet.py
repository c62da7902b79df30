"""kubelet: container start, probes, Ready, preStop, SIGTERM, grace period, SIGKILL.

Follows ``kubernetes/kubernetes:pkg/kubelet/prober/worker.go`` (probe ticks, thresholds,
startup gating, readiness during termination) and ``pkg/kubelet/kuberuntime/
kuberuntime_container.go`` ``killContainer`` (preStop within grace, 2 s minimum; the hook's
run time is subtracted from the grace period in whole seconds, truncated —
``executePreStopHook``).

Simplifications:
 1. The pod turns Ready once every container is ready: the serving container by its
    probes, another one when it runs or, with a readiness probe (of another port: it
    passes once the container runs), at its first passing tick. At deletion every
    container runs its own preStop, then gets SIGTERM, and may exit at once (at the latest
    at its SIGKILL): the pod's Ready ends with the first of them
    (``killContainersWithSyncResult``). Native sidecars (init containers with
    ``restartPolicy: Always``, 1.29+) count for Ready and stop after the main containers.
 2. A probe ticks every ``periodSeconds`` from ``start + initialDelaySeconds`` with an
    arbitrary phase (kubelet's start-up jitter); a successful probe answers within
    ``timeoutSeconds``; a probe that does not check the Service's port (exec, or another
    port) is assumed to succeed once the container runs — it proves nothing about the port.
 3. ``readinessGates``: a target-health gate of the AWS Load Balancer Controller (IP
    targets) holds Ready until the pod's target is healthy in the load balancer (the
    controller registers the pod once it has an IP); any other gate is taken as satisfied
    (it only delays Ready). Source: aws-load-balancer-controller docs/deploy/pod_readiness_gate.md.
 4. A liveness/startup kill before the application listens is followed by restarts that
    are just as slow: the pod never becomes Ready (a stalled rollout).
 5. A pod that may wait for a node (scheduler.py: no room under required pod
    anti-affinity or the node's ``pods:``) starts any time after ``pod-start``'s lower end.
 6. Readiness keeps being probed during termination (PR #110191), except exec probes on
    1.35 (kubernetes/kubernetes#140509); Ready ends at the failure threshold after the
    listener closed, or when the container exits.
"""
from __future__ import annotations

from dataclasses import dataclass

import z3

from zdverify.model.checker import application, load_balancer
from zdverify.model.assumptions import Interval
from zdverify.model.scenario import HookSpec, ProbeSpec
from zdverify.model.checker.encoding import Encoding, zmax, zmin
from zdverify.model.verdict import Fact


def first_tick(enc: Encoding, name: str, probe: ProbeSpec, start: z3.ArithRef,
               need: z3.ArithRef) -> tuple[z3.ArithRef, z3.ArithRef]:
    """(k, time) of the first probe tick at or after ``need``."""
    phase = enc.fraction(f"{name}.phase")
    k = enc.integer(f"{name}.k")
    delay = enc.real(f"{name}.initial_delay")
    which = name.rpartition(".")[2]  # readiness, startup, liveness
    enc.hold(Fact(f"{which}Probe.initialDelaySeconds", f"{which}Probe.initialDelaySeconds: {probe.initial_delay:g}",
                  probe.loc), delay == probe.initial_delay)
    enc.add(delay >= 0)
    base = start + delay + phase * probe.period
    tick = base + k * probe.period
    enc.add(k >= 0, tick >= need, z3.Or(k == 0, tick - probe.period < need))
    return k, tick


@dataclass(frozen=True)
class NewPod:
    name: str
    created: z3.ArithRef
    start: z3.ArithRef
    listen: z3.ArithRef
    started: z3.ArithRef
    ready: z3.ArithRef


def new_pod(enc: Encoding, name: str, created: z3.ArithRef, *, may_be_killed: bool = False,
            may_pend: bool = False) -> NewPod:
    """A new pod's start-up. Unless ``may_be_killed``, assumes probes do not kill it.
    ``may_pend``: the pod may wait for a node (Pending) any time before the ``pod-start``
    delay, so only the bound's lower end holds."""
    pod = enc.sc.pod
    start = enc.real(f"{name}.start")
    bound = enc.bound("pod-start")
    delay = enc.real(f"{name}.start_delay")
    enc.add(delay >= bound.lo)
    if not may_pend:
        enc.add(delay <= bound.hi)
    enc.add(start == created + delay)
    listen = application.listen(enc, name, start)
    started: z3.ArithRef = start
    if pod.startup is not None:
        sp = pod.startup
        cond = listen if sp.checks_port else start
        k, tick = first_tick(enc, f"{name}.startup", sp, start, cond)
        resp = enc.within(f"{name}.startup.resp", Interval(0, sp.timeout))
        started = enc.real(f"{name}.started")
        enc.add(started == tick + resp)
        if not may_be_killed:
            enc.add(k < sp.failure)
    ready = enc.real(f"{name}.ready")
    if pod.readiness is None:
        enc.add(ready == started)
    else:
        rp = pod.readiness
        cond = listen if rp.checks_port else start
        _, tick = first_tick(enc, f"{name}.readiness", rp, start, zmax(cond, started))
        resp = enc.within(f"{name}.readiness.resp", Interval(0, rp.timeout))
        enc.add(ready == tick + (rp.success - 1) * rp.period + resp)
    for i, side in enumerate(pod.others):  # every container must be ready: a side probe may delay it
        sp = side.readiness
        if sp is None:
            continue
        _, tick = first_tick(enc, f"{name}.side{i}.readiness", sp, start, start)
        resp = enc.within(f"{name}.side{i}.readiness.resp", Interval(0, sp.timeout))
        both = enc.real(f"{name}.ready.side{i}")
        enc.add(both == zmax(ready, tick + (sp.success - 1) * sp.period + resp))
        ready = both
    if pod.lb_gate is not None and any(e.ip for e in enc.sc.entries):
        registered = (start + enc.within(f"slice.{name}.ready.delay", enc.bound("endpointslice"))
                      + enc.within(f"{name}.lbreg", enc.bound("lb-register")))
        healthy = load_balancer.target_healthy(enc, name, registered, listen)
        probed = ready
        ready = enc.real(f"{name}.ready.gated")
        enc.add(ready == zmax(probed, healthy))
    return NewPod(name, created, start, listen, started, ready)


def killed_before_listening(enc: Encoding, p: NewPod) -> z3.BoolRef:
    """A startup or liveness probe (checking the served port) kills the container first."""
    pod = enc.sc.pod
    cases = []
    if pod.startup is not None and pod.startup.checks_port:
        cases.append(enc.integer(f"{p.name}.startup.k") >= pod.startup.failure)
    lp = pod.liveness
    if lp is not None and lp.checks_port:
        _, tick = first_tick(enc, f"{p.name}.liveness", lp, p.start, p.started)
        cases.append(tick + (lp.failure - 1) * lp.period < p.listen)
    return z3.Or(*cases) if cases else enc.false()


@dataclass(frozen=True)
class OldPod:
    name: str
    deleted: z3.ArithRef
    seen: z3.ArithRef
    sigterm: z3.ArithRef
    close: z3.ArithRef
    exit: z3.ArithRef
    kill: z3.ArithRef
    unready: z3.ArithRef


def whole_seconds(hook: z3.ArithRef, lo: float, hi: float) -> z3.ArithRef:
    """The preStop hook's run time as the kubelet subtracts it from the grace period: whole
    seconds, truncated (``executePreStopHook`` returns ``int64(elapsed.Seconds())``). A hook of
    a fixed whole number of seconds is its own value (no integer reasoning needed)."""
    if lo == hi and float(lo).is_integer():
        return hook
    return z3.ToReal(z3.ToInt(hook))


def old_pod(enc: Encoding, name: str, deleted: z3.ArithRef) -> OldPod:
    """An old pod's termination from its deletion on."""
    pod = enc.sc.old  # old pods run the old template
    h = pod.hook
    seen = enc.real(f"{name}.seen")
    enc.add(seen == deleted + enc.within(f"{name}.kubelet", enc.bound("kubelet")))
    hook = enc.real(f"{name}.hook")
    enc.add(hook >= 0, hook <= h.hi)
    enc.hold(Fact("preStop", f"{pod.container}: {h.text}", h.loc or pod.container_loc), hook >= h.lo)
    sigterm = enc.real(f"{name}.sigterm")
    enc.add(sigterm == seen + hook)
    grace = enc.real(f"{name}.grace")
    enc.add(grace >= 0)
    enc.hold(Fact("terminationGracePeriodSeconds", f"terminationGracePeriodSeconds: {pod.grace:g}", pod.grace_loc),
             grace == pod.grace)
    kill = enc.real(f"{name}.kill")
    enc.add(kill == sigterm + zmax(grace - whole_seconds(hook, h.lo, h.hi), 2.0))
    close = application.close(enc, name, seen, sigterm)
    exit_t = application.exit_time(enc, name, close, kill)
    unready = enc.real(f"{name}.unready")
    rp = pod.readiness
    settings = enc.sc.settings
    probe_runs = rp is not None and not (pod.readiness_exec and settings.exec_readiness_skipped_when_terminating)
    # failing starts when the listener closes (a probe of the served port), or at SIGTERM
    # when the application fails its readiness on purpose (zdverify/on-sigterm)
    starts = [x for x, on in ((close, rp is not None and rp.checks_port),
                              (sigterm, settings.fail_readiness_on_sigterm)) if on]
    if probe_runs and starts:
        assert rp is not None
        fails_from = starts[0] if len(starts) == 1 else zmin(starts[0], starts[1])
        phase = enc.fraction(f"{name}.unready.phase")
        resp = enc.within(f"{name}.unready.resp", Interval(0, rp.timeout))
        ready_ends = zmin(fails_from + phase * rp.period + (rp.failure - 1) * rp.period + resp, exit_t)
    else:
        ready_ends = exit_t
    # every other container: its own preStop, then SIGTERM; it may exit at once, and the
    # pod's Ready turns False with it (each container must be ready)
    stopping = [i for i, side in enumerate(pod.others) if not side.native]  # native sidecars stop last
    for i in stopping:
        enc.add(unready <= side_exit(enc, name, i, pod.others[i].hook, seen, pod.grace))
    enc.add(unready <= ready_ends)
    enc.add(z3.Or(unready == ready_ends, *[unready == enc.vars[f"{name}.side{i}.exit"] for i in stopping]))
    return OldPod(name, deleted, seen, sigterm, close, exit_t, kill, unready)


def side_exit(enc: Encoding, name: str, i: int, h: HookSpec, seen: z3.ArithRef, grace: float) -> z3.ArithRef:
    """When the pod's ``i``-th other container exits: after its own preStop and SIGTERM,
    at the latest at its SIGKILL."""
    hook = enc.real(f"{name}.side{i}.hook")
    enc.add(hook >= h.lo, hook <= h.hi)
    sigterm = seen + hook
    kill = sigterm + zmax(grace - whole_seconds(hook, h.lo, h.hi), 2.0)
    t = enc.real(f"{name}.side{i}.exit")
    enc.add(t >= sigterm, t <= kill)
    return t
