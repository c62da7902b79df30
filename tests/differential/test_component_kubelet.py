"""Component differential test: the kubelet (``model/checker/kubelet.py`` against
``model/simulator/kubelet.py``) — a new pod's start, startup/readiness/liveness probe
ticks, Ready and a kill before listening; an old pod's preStop, SIGTERM, SIGKILL, exit and
the readiness failing during termination. Random probe fields, phases, answer delays,
hooks, grace periods, versions and bounds. (The application steps it calls are the
application's own, tested in ``test_component_application.py``; the load balancer's
readiness gate is left to ``test_component_load_balancer.py``.)"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable

import z3
from hypothesis import HealthCheck, given, settings, strategies as st

from component_support import (EXAMPLES, compare, grid, intervals, is_sat, phases, scenario, sim_state, soundness,
                               unique, value, with_bounds)
from zdverify.model.checker import kubelet as z_kubelet
from zdverify.model.checker.encoding import Encoding
from zdverify.model.run import NewTiming, OldTiming, Timing
from zdverify.model.scenario import NO_HOOK, HookSpec, ProbeSpec, Scenario, SideContainer
from zdverify.model.simulator import kubelet as s_kubelet
from zdverify.model.simulator.state import SimPod

INF = math.inf
NEW_OUT = ("start", "listen", "started", "ready")
OLD_OUT = ("seen", "sigterm", "close", "kill", "exit", "unready")


@dataclass(frozen=True)
class NewCase:
    sc: Scenario
    created: float
    nt: NewTiming


@dataclass(frozen=True)
class OldCase:
    sc: Scenario
    deleted: float
    ot: OldTiming


# ------------------------------------------------------------------ the simulator's steps


def sim_new(c: NewCase) -> dict[str, float]:
    s = sim_state(c.sc, Timing(new=(c.nt,)))
    p = SimPod("new", False, 0, 0, created=c.created)
    s_kubelet.start_new(s, p, c.created, "")
    return {"start": p.start, "listen": p.listen, "started": p.started, "ready": p.ready, "killed": p.killed}


def sim_old(c: OldCase) -> dict[str, float]:
    s = sim_state(c.sc, Timing(old=(c.ot,)))
    p = SimPod("old", True, 0, 0)
    s_kubelet.delete_old(s, c.deleted, p)
    return {"seen": p.seen, "sigterm": p.sigterm, "close": p.close, "kill": p.sigkill, "exit": p.exit,
            "unready": p.unready}


def sim_side_exits(c: OldCase) -> tuple[float, ...]:
    s = sim_state(c.sc, Timing(old=(c.ot,)))
    p = SimPod("old", True, 0, 0)
    s_kubelet.delete_old(s, c.deleted, p)
    return p.side_exits


# ------------------------------------------------------------------ the Z3 encodings


def encode_new(c: NewCase) -> tuple[Encoding, z3.ArithRef, z_kubelet.NewPod, z3.BoolRef]:
    enc = Encoding(c.sc)
    created = enc.real("new.created")
    p = z_kubelet.new_pod(enc, "new", created, may_be_killed=True)
    return enc, created, p, z_kubelet.killed_before_listening(enc, p)


def new_mismatches(c: NewCase, step: Callable[[NewCase], dict[str, float]] = sim_new) -> list[str]:
    """Soundness: the simulated start-up satisfies the Z3 kubelet (a pod the simulator
    kills before it listens is one ``killed_before_listening`` holds for)."""
    out = step(c)
    enc, created, p, killed = encode_new(c)
    pins: dict[str, tuple] = {"created": (created, c.created), "killed": (killed, out["killed"] < INF)}
    for k in NEW_OUT:
        if out[k] < INF:  # a pod killed by its startup probe is never started nor Ready
            pins[k] = (getattr(p, k), out[k])
    return soundness(enc, pins)


def new_exactness(c: NewCase) -> list[str]:
    """The drawn delays pinned in Z3: its model's outputs are the simulator's on them."""
    enc, created, p, killed = encode_new(c)
    pod = c.sc.pod
    nt = c.nt
    enc.add(created == c.created, enc.real("new.start_delay") == nt.start, enc.real("new.app") == nt.app)
    for probe, name, phase, resp in ((pod.startup, "startup", nt.startup_phase, nt.startup_resp),
                                     (pod.readiness, "readiness", nt.ready_phase, nt.ready_resp)):
        if probe is not None:
            enc.add(enc.real(f"new.{name}.phase") == phase, enc.real(f"new.{name}.resp") == resp)
    if "new.liveness.phase" in enc.vars:
        enc.add(enc.real("new.liveness.phase") == nt.liveness_phase)
    for i, side in enumerate(pod.others):
        if side.readiness is not None:
            enc.add(enc.real(f"new.side{i}.readiness.phase") == nt.side_ready_phase[i],
                    enc.real(f"new.side{i}.readiness.resp") == nt.side_ready_resp[i])
    if not is_sat(enc):
        return ["the drawn delays are unsat"]
    enc.solver.check()
    is_killed = z3.is_true(enc.solver.model().eval(killed, model_completion=True))
    sim = sim_new(c)
    errors = [] if is_killed == (sim["killed"] < INF) else [f"killed: simulator {sim['killed']} Z3 {is_killed}"]
    outputs = {k: getattr(p, k) for k in NEW_OUT if sim[k] < INF}
    z = {k: value(enc, v) for k, v in outputs.items()}
    return errors + compare(sim, z) + unique(enc, outputs, z)


def encode_old(c: OldCase) -> tuple[Encoding, z3.ArithRef, z_kubelet.OldPod]:
    enc = Encoding(c.sc)
    deleted = enc.real("old.deleted")
    return enc, deleted, z_kubelet.old_pod(enc, "old", deleted)


def old_mismatches(c: OldCase, step: Callable[[OldCase], dict[str, float]] = sim_old) -> list[str]:
    out = step(c)
    enc, deleted, p = encode_old(c)
    return soundness(enc, {"deleted": (deleted, c.deleted), **{k: (getattr(p, k), out[k]) for k in OLD_OUT}})


def old_exactness(c: OldCase) -> list[str]:
    enc, deleted, p = encode_old(c)
    ot, h = c.ot, c.sc.old.hook
    enc.add(deleted == c.deleted, enc.real("old.kubelet") == ot.kubelet, enc.real("old.hook") == ot.hook,
            enc.real("old.drain") == ot.drain)
    if h.may_stop_app:
        enc.add(p.close == p.seen + h.serve_min + ot.close)
    else:
        enc.add(enc.real("old.close_delay") == ot.close)
    if "old.unready.phase" in enc.vars:
        enc.add(enc.real("old.unready.phase") == ot.unready_phase, enc.real("old.unready.resp") == ot.unready_resp)
    for i, side in enumerate(c.sc.old.others):  # each other container's hook and exit, as the simulator has them
        hook = min(max(ot.side_hook[i], side.hook.lo), side.hook.hi)
        enc.add(enc.real(f"old.side{i}.hook") == hook)
        enc.add(enc.real(f"old.side{i}.exit") == sim_side_exits(c)[i])
    if not is_sat(enc):
        return ["the drawn delays are unsat"]
    enc.solver.check()
    outputs = {k: getattr(p, k) for k in OLD_OUT}
    z = {k: value(enc, v) for k, v in outputs.items()}
    return compare(sim_old(c), z) + unique(enc, outputs, z)


# ------------------------------------------------------------------ random cases


@st.composite
def probes(draw: st.DrawFn, success: bool = True) -> ProbeSpec | None:
    if draw(st.booleans()) and draw(st.booleans()):
        return None
    period = draw(st.sampled_from([1, 2, 3, 5, 10]))
    return ProbeSpec(checks_port=draw(st.booleans()), initial_delay=draw(grid(0, 12, 1)), period=period,
                     timeout=draw(st.sampled_from([1, 2, 5])), success=draw(st.integers(1, 3)) if success else 1,
                     failure=draw(st.integers(1, 4)), loc=scenario().pod.container_loc)


@st.composite
def hooks(draw: st.DrawFn, grace: float) -> HookSpec:
    kind = draw(st.sampled_from(["none", "sleep", "stops"]))
    if kind == "none":
        return NO_HOOK
    if kind == "sleep":
        n = min(draw(grid(0, 8, 1)), grace)
        return HookSpec(n, n, n, False, f"sleep {n}", None)
    serve = min(draw(grid(0, 4, 1)), grace)
    return HookSpec(serve, serve, max(serve, grace), True, f"sleep {serve} && stop", None)


def bounds_of(draw: st.DrawFn) -> dict:
    return dict(pod_start=draw(intervals(0, 6)), app_startup=draw(intervals(0, 12)), kubelet=draw(intervals(0, 2)),
                app_close=draw(intervals(0, 3)), request=draw(intervals(0, 4)))


@st.composite
def new_cases(draw: st.DrawFn) -> NewCase:
    bounds = bounds_of(draw)
    base = scenario()
    sides = tuple(SideContainer(f"side{i}", NO_HOOK, base.pod.container_loc, draw(probes()))
                  for i in range(draw(st.integers(0, 2))))
    pod = replace(base.pod, readiness=draw(probes()), startup=draw(probes(success=False)),
                  liveness=draw(probes(success=False)), others=sides)
    sc = scenario(settings=with_bounds(**bounds), pod=pod)
    ps, app = bounds["pod_start"], bounds["app_startup"]
    startup, readiness = pod.startup, pod.readiness
    nt = NewTiming(start=draw(grid(ps.lo, ps.hi)), app=draw(grid(app.lo, app.hi)),
                   startup_phase=draw(phases()), startup_resp=draw(grid(0, startup.timeout if startup else 0)),
                   ready_phase=draw(phases()), ready_resp=draw(grid(0, readiness.timeout if readiness else 0)),
                   liveness_phase=draw(phases()),
                   side_ready_phase=tuple(draw(phases()) for _ in sides),
                   side_ready_resp=tuple(draw(grid(0, x.readiness.timeout if x.readiness else 0)) for x in sides))
    return NewCase(sc, draw(grid(0, 10)), nt)


@st.composite
def old_cases(draw: st.DrawFn) -> OldCase:
    bounds = bounds_of(draw)
    grace = draw(st.sampled_from([0, 1, 5, 30]))
    hook = draw(hooks(grace))
    rp = draw(probes())
    base = scenario()
    sides = tuple(SideContainer(f"side{i}", draw(hooks(grace)), base.pod.container_loc)
                  for i in range(draw(st.integers(0, 2))))
    old = replace(base.pod, readiness=rp, readiness_exec=rp is not None and not rp.checks_port and draw(st.booleans()),
                  hook=hook, grace=grace, others=sides)
    sett = with_bounds(version=draw(st.sampled_from(["1.25", "1.34", "1.35"])),
                       fail_readiness_on_sigterm=draw(st.booleans()), **bounds)
    sc = scenario(settings=sett, old_pod=old)
    kb, close, req = bounds["kubelet"], bounds["app_close"], bounds["request"]
    seen_hook = draw(grid(hook.lo, hook.hi))
    if hook.may_stop_app:  # the listener closes anywhere in [seen + serve_min, SIGTERM + app-close hi]
        close_delay = draw(grid(0, seen_hook - hook.serve_min + close.hi))
    else:
        close_delay = draw(grid(close.lo, close.hi))
    ot = OldTiming(kubelet=draw(grid(kb.lo, kb.hi)), hook=seen_hook, close=close_delay, drain=draw(grid(0, req.hi)),
                   unready_phase=draw(phases()), unready_resp=draw(grid(0, rp.timeout if rp else 0)),
                   side_hook=tuple(draw(grid(x.hook.lo, x.hook.hi)) for x in sides),
                   side_exit=tuple(draw(st.sampled_from([0.0, 0.5, 1.0])) for _ in sides))
    return OldCase(sc, draw(grid(0, 10)), ot)


# ------------------------------------------------------------------ the tests


SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(new_cases())
def test_simulated_start_up_satisfies_the_kubelet_constraints(c: NewCase) -> None:
    assert new_mismatches(c) == []


@SETTINGS
@given(new_cases())
def test_kubelet_start_up_encoding_is_the_simulator_given_its_delays(c: NewCase) -> None:
    assert new_exactness(c) == []


@SETTINGS
@given(old_cases())
def test_simulated_termination_satisfies_the_kubelet_constraints(c: OldCase) -> None:
    assert old_mismatches(c) == []


@SETTINGS
@given(old_cases())
def test_kubelet_termination_encoding_is_the_simulator_given_its_delays(c: OldCase) -> None:
    assert old_exactness(c) == []


def test_a_readiness_probe_one_tick_late_is_caught() -> None:
    """A wrong simulator variant (Ready one probe period late: an off-by-one tick) is reported."""
    def one_tick_late(c: NewCase) -> dict[str, float]:
        out = sim_new(c)
        return {**out, "ready": out["ready"] + c.sc.pod.readiness.period}

    base = scenario()
    rp = ProbeSpec(True, 0, 10, 1, 1, 3, base.pod.container_loc)
    c = NewCase(scenario(pod=replace(base.pod, readiness=rp)), 0.0, NewTiming(start=2, app=0, ready_phase=0.5))
    assert new_mismatches(c) == []
    assert new_mismatches(c, one_tick_late) != []


def test_termination_that_ignores_the_grace_period_is_caught() -> None:
    """A wrong simulator variant (SIGKILL at grace after SIGTERM, no 2 s minimum) is reported."""
    def no_minimum(c: OldCase) -> dict[str, float]:
        out = sim_old(c)
        return {**out, "kill": out["sigterm"] + max(c.sc.old.grace - c.ot.hook, 0.0)}

    base = scenario()
    c = OldCase(scenario(old_pod=replace(base.pod, grace=0)), 0.0, OldTiming())
    assert old_mismatches(c) == []
    assert old_mismatches(c, no_minimum) != []


def test_a_sidecar_that_keeps_the_pod_ready_is_caught() -> None:
    """A wrong variant (the pod stays Ready although a container without preStop exited at
    SIGTERM) is reported: the pod's Ready ends with its first container."""
    base = scenario()
    side = SideContainer("shipper", HookSpec(0, 0, 0, False, "no preStop hook", None), base.pod.container_loc)
    # the serving container's preStop runs 29.5 s of a 30 s grace: its SIGKILL comes 2 s after
    # SIGTERM (the minimum), at 31.5 s, and it exits at 30.5 s; the shipper's SIGKILL is at 30 s
    hook = HookSpec(29.5, 29.5, 29.5, False, "preStop sleep 29.5s", None)
    c = OldCase(scenario(old_pod=replace(base.pod, hook=hook, grace=30, others=(side,))), 0.0, OldTiming(drain=1.0))
    assert sim_old(c)["unready"] == 0.0 and sim_old(c)["exit"] == 30.5  # the shipper exits at its SIGTERM
    assert old_mismatches(c) == []

    def ready_until_exit(c: OldCase) -> dict[str, float]:
        out = sim_old(c)
        return {**out, "unready": out["exit"]}

    assert old_mismatches(c, ready_until_exit) != []


def test_startup_kill_with_a_readiness_probe() -> None:
    """A startup probe of the served port kills the container before it listens (period 1 s,
    failureThreshold 1, the application listens after 5 s) and a readiness probe exists: the
    pod is never Ready, as on the Z3 side (``killed_before_listening``). The simulator used to
    take math.ceil(inf) here (an internal error on such a manifest)."""
    base = scenario()
    loc = base.pod.container_loc
    pod = replace(base.pod, startup=ProbeSpec(True, 0, 1, 1, 1, 1, loc), readiness=ProbeSpec(True, 0, 10, 1, 1, 3, loc))
    c = NewCase(scenario(pod=pod), 0.0, NewTiming(start=1, app=5))
    s = sim_state(c.sc, Timing(new=(c.nt,)))
    p = SimPod("new", False, 0, 0, created=0.0)
    s_kubelet.start_new(s, p, 0.0, "")
    assert p.ready == INF and p.killed < INF
    assert new_mismatches(c) == []
