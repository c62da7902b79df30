"""A counterexample's run as plain instants, for replaying it on a real data plane.

The JSON report carries it (``schedule``), so a replay reads numbers, never prose: every
pod with its node and instants, every node's kube-proxy applying each EndpointSlice change,
and a Local load balancer's checks of each node (phase, answer time, the instants its
verdict changes). Instants are seconds from the rollout's start; ``None`` is "before the
rollout" for an old pod's creation, listening and readiness, and "never" otherwise.
"""
from __future__ import annotations

import math

from zdverify.model.run import Timing
from zdverify.model.scenario import Scenario
from zdverify.model.simulator.run import Run, Violation
from zdverify.model.verdict import NodeHealth, PodSchedule, ProxyApply, Schedule


def _at(t: float) -> float | None:
    return None if math.isinf(t) else round(t, 6)


MAX_NODES = 64  # a replay builds a namespace per node; past this the schedule is not kept


def schedule(sc: Scenario, run: Run, timing: Timing | None, v: Violation | None = None) -> Schedule | None:
    """The run's instants; None without a timeline, or on more than ``MAX_NODES`` nodes (every
    node applies every change: 300 nodes made 22 MB of JSON per counterexample, and no replay
    builds that many namespaces)."""
    tl = run.timeline
    if tl is None or len(run.node_names) > MAX_NODES:
        return None
    names = run.node_names

    def node(i: int) -> str:
        return names[i] if 0 <= i < len(names) else "load-balancer"

    pods = tuple(PodSchedule(p.name, p.old, node(p.node), _at(p.created), _at(p.listen), _at(p.ready),
                             _at(p.deleted), _at(p.sigterm), _at(p.close), _at(p.unready), _at(p.exit),
                             _at(p.sigkill), _at(p.tg_in), _at(p.tg_out)) for p in tl.pods)
    applies = tuple(ProxyApply(node(n), round(t, 6), tl.pods[i].name, change.value)
                    for n, changes in enumerate(tl.applied) for t, i, change in changes)
    health: tuple[NodeHealth, ...] = ()
    if any(e.local and e.kind.value == "load balancer" for e in sc.entries) and timing is not None:
        lb = sc.settings.lb
        health = tuple(NodeHealth(
            node(n), round((timing.lb_phase[n] if n < len(timing.lb_phase) else 0.0) * lb.interval, 6),
            round(timing.lb_node_resp[n] if n < len(timing.lb_node_resp) else timing.lb_resp, 6),
            tuple((round(t, 6), ok) for t, ok in tl.lb[n] if not math.isinf(t)), tl.lb[n][0][1])
            for n in range(len(tl.lb)))
    e = v.entry if v is not None else None
    return Schedule(pods, applies, health, tl.request, round(tl.horizon, 6), tuple(names), sc.fallback,
                    violation_t=round(v.t, 6) if v is not None else 0.0,
                    violation_end=round(min(v.t_end, tl.horizon), 6) if v is not None else 0.0,
                    violation_node=node(v.node) if v is not None else "",
                    violation_pod=v.pod or "" if v is not None else "",
                    entry=e.kind.value if e is not None else "", entry_local=bool(e and e.local),
                    entry_ip=bool(e and e.ip),
                    lb_checks=(sc.settings.lb.interval, sc.settings.lb.timeout, sc.settings.lb.healthy,
                               sc.settings.lb.unhealthy),
                    fail_open=tl.fail_open, violation_property=v.prop.slug if v is not None else "",
                    keep_alive=None if tl.keep_alive is None else (tl.keep_alive.idle.value,
                                                                   tl.keep_alive.client_idle_timeout))
