"""Cloud load balancer in front of a LoadBalancer Service, the simulator's side.

Follows KEP-1669/KEP-3836 and the clouds' health-check documentation (profiles and their
sources in ``model/assumptions.py``): with
``externalTrafficPolicy: Cluster`` every node is a healthy backend; with ``Local`` the
load balancer health-checks each node's healthCheckNodePort, which fails from the moment
that node's kube-proxy has no local ready, non-terminating endpoint.

Simplifications (as ``model/checker/load_balancer.py``):
 1. Health checks run every ``interval`` per node with the timing's phase (``after-answer``
    cadence: ``interval`` after the previous check answered); a node stops
    getting new flows after ``unhealthy`` consecutive failures (the last answering within
    ``timeout``); it is added back after ``healthy`` consecutive successes.
 2. Profiles (``assumptions.LB_PROFILES``) set the interval, timeout and thresholds; a
    cluster file may describe any other load balancer.
 3. IP targets (AWS Load Balancer Controller ``ip`` mode and its pod readiness gate):
    the load balancer sends to pod IPs, bypassing kube-proxy. A target is registered
    ``lb-register`` after its endpoint is ready in the EndpointSlice (with the
    target-health readiness gate: after the pod starts, and Ready waits for it) and gets
    traffic once ``healthy`` consecutive checks reached the application; it stops getting
    new requests ``lb-deregister`` after the endpoint turned terminating, or after
    ``unhealthy`` failed checks once the listener closed, whichever is first. Not
    modelled: fail-open when every target is unhealthy (ALB/NLB route to all of them; an
    empty target group counts as failed requests), draining of established connections (deregistration delay, 300 s by default), cross-zone
    settings.
 4. With no healthy node (``healthy``), a load balancer that fails open (the profile's
    ``fail_open``, with its source) sends to every node — nodes without a local endpoint
    DROP — and one that does not sends to none: every new connection fails there.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

from zdverify.model.assumptions import Cadence, LBProfile
from zdverify.model.run import NewTiming, OldTiming
from zdverify.model.simulator.endpointslice import EndpointChange
from zdverify.model.simulator.state import SimPod, SimState, cyc, first_tick
from zdverify.model.verdict import Component, EventKind

if TYPE_CHECKING:
    from zdverify.model.simulator.properties import PodLife

INF = math.inf


# ---- IP targets: the load balancer's target group (AWS LBC ip mode) ---------------------
def _target_healthy(registered: float, listen: float, nt: NewTiming, lb: LBProfile) -> float:
    """A registered target turns healthy after ``healthy`` consecutive checks that reach the
    application: checks every interval from the registration, with the timing's phase."""
    if registered == INF or listen == INF:
        return INF
    base = registered + (nt.lb_phase % 1.0) * lb.interval
    _, tick = first_tick(base, lb.interval, listen, registered)
    return tick + (lb.healthy - 1) * lb.interval + min(max(nt.lb_resp, 0.0), lb.timeout)


def _target_unhealthy(close: float, ot: OldTiming, lb: LBProfile) -> float:
    """After the listener closed, the target fails ``unhealthy`` consecutive checks."""
    if close == INF:
        return INF
    first = close + (ot.lb_phase % 1.0) * lb.interval
    return first + (lb.unhealthy - 1) * lb.interval + min(max(ot.lb_resp, 0.0), lb.timeout)


def gated_target_healthy(s: SimState, p: SimPod, nt: NewTiming) -> float:
    """With the target-health readiness gate: the pod is registered as soon as it has an IP
    (its endpoint, not yet ready, is in the slice); when its target turns healthy."""
    b = s.sc.settings
    beps, breg = b["endpointslice"], b["lb-register"]
    reg = p.start + min(max(nt.eps, beps.lo), beps.hi) + min(max(nt.lb_reg, breg.lo), breg.hi)
    return _target_healthy(reg, p.listen, nt, b.lb)


def targets(s: SimState, all_pods: list[SimPod], slice_of: dict[tuple[str, EndpointChange], float]) -> None:
    """When the load balancer starts (``tg_in``) and stops (``tg_out``) sending new requests
    to each pod's IP."""
    b, pod = s.sc.settings, s.sc.pod
    breg, bdereg = b["lb-register"], b["lb-deregister"]
    for p in all_pods:
        if p.old:
            ot = s.timing.old_at(p.index)
            removed = slice_of.get((p.name, EndpointChange.DEL), slice_of.get((p.name, EndpointChange.GONE), INF))
            dereg = removed + min(max(ot.lb_dereg, bdereg.lo), bdereg.hi)
            p.tg_out = min(dereg, _target_unhealthy(p.close, ot, b.lb))
            if p.tg_out < INF:
                s.step(p.tg_out, Component.LOAD_BALANCER, "load-balancer", EventKind.LB_TARGET_REMOVED,
                       f"stops sending new requests to {p.name} ("
                       + ("deregistered" if dereg <= p.tg_out else "failed its health checks") + ")",
                       pod=p.name)
        else:
            nt = s.timing.new_at(p.index)
            if pod.lb_gate is None:
                reg = slice_of.get((p.name, EndpointChange.ADD), INF) + min(max(nt.lb_reg, breg.lo), breg.hi)
                p.tg_in = _target_healthy(reg, p.listen if p.listen < p.killed else INF, nt, b.lb)
            if p.tg_in < INF:
                s.step(p.tg_in, Component.LOAD_BALANCER, "load-balancer", EventKind.LB_TARGET_ADDED,
                       f"target {p.name} healthy: the load balancer sends to it", pod.lb_gate, pod=p.name)


def target_group(pods: tuple[PodLife, ...], window: Callable[[float, float], int]) -> dict[int, int]:
    """IP targets, as the properties see them: pod index -> the instants (``window``'s mask)
    the load balancer sends new requests to the pod (healthy, not yet deregistered)."""
    ip_routes = {i: window(p.tg_in, p.tg_out) for i, p in enumerate(pods)}
    return {i: m for i, m in ip_routes.items() if m}


# ---- Local: health checks per node --------------------------------------------------------
def local_ready_times(s: SimState, applied: list[tuple[float, SimPod, EndpointChange]],
                      n: int) -> list[tuple[float, bool]]:
    """When node n's kube-proxy has a local ready, non-terminating endpoint."""
    ready = {p.name for p in s.olds if p.node == n}
    out = [(-INF, bool(ready))]
    for (a, p, ch) in applied:
        if p.node != n:
            continue
        if ch is EndpointChange.ADD:
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


def health_checks(s: SimState, applied: list[list[tuple[float, SimPod, EndpointChange]]],
                  horizon: float) -> list[list[tuple[float, bool]]]:
    """Per node: (instant, healthy) as the load balancer's checks of its healthCheckNodePort
    decide; first entry at -inf. Records when each node first has no local ready pod."""
    lb = s.sc.settings.lb
    lb_changes: list[list[tuple[float, bool]]] = [[(-INF, True)] for _ in range(s.sc.nodes)]
    for n in range(s.sc.nodes):
        series = local_ready_times(s, applied[n], n)
        flips = [a for (a, v) in series if not v and a > -INF]
        if flips:
            s.run.local_empty_at[n] = flips[0]
        gains = [a for (a, v) in series if v and a > -INF]
        if gains:
            s.run.local_ready_at[n] = gains[0]
        healthy = series[0][1]  # before the rollout: old pods were Ready long before, their nodes healthy
        lb_changes[n] = [(-INF, healthy)]
        phase = cyc(s.timing.lb_phase, n) % 1.0
        tick = phase * lb.interval
        streak = 0
        resp = min(max(cyc(s.timing.lb_node_resp, n) if s.timing.lb_node_resp else s.timing.lb_resp, 0.0), lb.timeout)
        while tick <= horizon:
            ok = value_at(series, tick)
            done = tick + resp
            if ok != healthy:
                streak += 1
                if streak >= (lb.healthy if ok else lb.unhealthy):
                    healthy = ok
                    streak = 0
                    lb_changes[n].append((done, healthy))
                    slow = (f" (each answered {resp:g}s after it started: a slow or unreachable node — "
                            "kube-proxy's health port answers at once)" if resp > 0 else "")
                    s.step(done, Component.LOAD_BALANCER, s.node_name(n),
                           EventKind.LB_REMOVES_NODE if not ok else EventKind.LB_ADDS_NODE,
                           f"{'removes' if not ok else 'adds back'} {s.node_name(n)} after "
                           f"{lb.unhealthy if not ok else lb.healthy} health checks{slow}")
            else:
                streak = 0
            tick += lb.interval + (resp if lb.cadence is Cadence.AFTER_ANSWER else 0.0)
    return lb_changes


def healthy(lb: tuple[tuple[float, bool], ...], window: Callable[[float, float], int]) -> int:
    """The instants (``window``'s mask) the load balancer finds a node whose health it checks
    (Local) healthy. ``lb``: the node's (instant, healthy), first at -inf."""
    mask = 0
    for i, (a, healthy) in enumerate(lb):
        if healthy:
            b = lb[i + 1][0] if i + 1 < len(lb) else INF
            mask |= window(a, b)
    return mask


def sends(node: int, every: list[int], fail_open: bool, full: int) -> int:
    """The instants the load balancer sends new flows to a node whose health it checks: while
    it finds the node healthy (``node``, a mask of ``healthy``) and — a load balancer that
    fails open — while it finds no node healthy (``every``: each node's mask)."""
    if not fail_open:
        return node
    some = 0
    for m in every:
        some |= m
    return node | (full ^ some)
