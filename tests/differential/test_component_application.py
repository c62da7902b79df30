"""Component differential test: the application (``model/checker/application.py`` against
``model/simulator/application.py``) — listen after container start, listener close after
SIGTERM (or any time a stopping preStop hook chooses), exit after the accepted requests
or at SIGKILL. Random start/SIGTERM/SIGKILL instants, hooks, bounds and delays."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from hypothesis import HealthCheck, given, settings, strategies as st

from component_support import (EXAMPLES, compare, grid, intervals, is_sat, scenario, sim_state, soundness,
                               unique, value, with_bounds)
from zdverify.model.assumptions import Interval
from zdverify.model.checker import application as z_app
from zdverify.model.checker.encoding import Encoding
from zdverify.model.run import NewTiming, OldTiming, Timing
from zdverify.model.scenario import NO_HOOK, HookSpec, Scenario
from zdverify.model.simulator import application as s_app
from zdverify.model.simulator.state import SimPod


@dataclass(frozen=True)
class AppCase:
    sc: Scenario
    start: float  # new pod: container start
    seen: float  # old pod: the kubelet saw the deletion
    hook: float  # the preStop hook's duration (SIGTERM = seen + hook)
    nt: NewTiming
    ot: OldTiming

    @property
    def sigterm(self) -> float:
        return self.seen + self.hook

    @property
    def sigkill(self) -> float:
        return self.sigterm + max(self.sc.old.grace - self.hook, 2.0)


def sim_app(c: AppCase) -> dict[str, float]:
    """The simulator's application step on the case."""
    s = sim_state(c.sc, Timing(new=(c.nt,), old=(c.ot,)))
    new = SimPod("new", False, 0, 0, start=c.start)
    old = SimPod("old", True, 0, 0, seen=c.seen, sigterm=c.sigterm, sigkill=c.sigkill)
    old.close = s_app.close(s, old, c.ot)
    return {"listen": s_app.listen(s, new, c.nt), "close": old.close, "exit": s_app.exit_time(s, old, c.ot)}


def encode(c: AppCase) -> tuple[Encoding, dict[str, object], dict[str, object]]:
    """The Z3 application on the case: (encoding, inputs, outputs)."""
    enc = Encoding(c.sc)
    start, seen, sigterm, kill = (enc.real(n) for n in ("new.start", "old.seen", "old.sigterm", "old.kill"))
    listen = z_app.listen(enc, "new", start)
    close = z_app.close(enc, "old", seen, sigterm)
    exit_t = z_app.exit_time(enc, "old", close, kill)
    inputs = {"start": (start, c.start), "seen": (seen, c.seen), "sigterm": (sigterm, c.sigterm),
              "kill": (kill, c.sigkill)}
    return enc, inputs, {"listen": listen, "close": close, "exit": exit_t}


def app_mismatches(c: AppCase, step: Callable[[AppCase], dict[str, float]] = sim_app) -> list[str]:
    """Soundness: the simulated outputs satisfy the Z3 application."""
    out = step(c)
    enc, inputs, outputs = encode(c)
    return soundness(enc, {**inputs, **{k: (v, out[k]) for k, v in outputs.items()}})


def app_exactness(c: AppCase) -> list[str]:
    """A Z3 model's delays (drawn into the bounds) through the simulator give its outputs."""
    enc, inputs, outputs = encode(c)
    b = c.sc.settings
    for term, v in inputs.values():
        enc.add(term == v)
    enc.add(enc.real("new.app") == min(max(c.nt.app, b["app-startup"].lo), b["app-startup"].hi),
            enc.real("old.drain") == min(max(c.ot.drain, 0.0), b["request"].hi))
    h = c.sc.old.hook
    if h.may_stop_app:
        span = c.sigterm + b["app-close"].hi - (c.seen + h.serve_min)
        enc.add(outputs["close"] == c.seen + h.serve_min + min(max(c.ot.close, 0.0), span))
    else:
        enc.add(enc.real("old.close_delay") == min(max(c.ot.close, b["app-close"].lo), b["app-close"].hi))
    if not is_sat(enc):
        return ["the drawn delays are unsat"]
    enc.solver.check()
    z = {k: value(enc, v) for k, v in outputs.items()}
    nt = NewTiming(app=value(enc, enc.real("new.app")))
    ot = OldTiming(drain=value(enc, enc.real("old.drain")),
                   close=(z["close"] - c.seen - h.serve_min if h.may_stop_app
                          else value(enc, enc.real("old.close_delay"))))
    return compare(sim_app(AppCase(c.sc, c.start, c.seen, c.hook, nt, ot)), z) + unique(enc, outputs, z)


@st.composite
def app_cases(draw: st.DrawFn) -> AppCase:
    grace = draw(st.sampled_from([0, 1, 5, 30]))
    kind = draw(st.sampled_from(["none", "sleep", "stops"]))
    if kind == "none":
        hook = NO_HOOK
    elif kind == "sleep":
        n = min(draw(grid(0, 8, 1)), grace)
        hook = HookSpec(n, n, n, False, f"sleep {n}", None)
    else:
        serve = min(draw(grid(0, 4, 1)), grace)
        hook = HookSpec(serve, serve, max(serve, grace), True, f"sleep {serve} && stop", None)
    sett = with_bounds(app_startup=draw(intervals(0, 10)), app_close=draw(intervals(0, 3)),
                       request=Interval(0, draw(grid(0, 6))))
    base = scenario()
    sc = scenario(settings=sett, pod=base.pod, old_pod=replace(base.pod, hook=hook, grace=grace))
    return AppCase(sc, start=draw(grid(0, 20)), seen=draw(grid(0, 5)), hook=draw(grid(hook.lo, hook.hi)),
                   nt=NewTiming(app=draw(grid(-2, 12))),
                   ot=OldTiming(close=draw(grid(-1, 12)), drain=draw(grid(-1, 8))))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(app_cases())
def test_simulated_application_satisfies_its_constraints(c: AppCase) -> None:
    assert app_mismatches(c) == []


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(app_cases())
def test_application_encoding_is_the_simulator_given_its_delays(c: AppCase) -> None:
    assert app_exactness(c) == []


def test_an_application_that_outlives_sigkill_is_caught() -> None:
    """A wrong simulator variant (exit after the requests even past SIGKILL) is reported."""
    def outlives_sigkill(c: AppCase) -> dict[str, float]:
        out = sim_app(c)
        return {**out, "exit": out["close"] + min(max(c.ot.drain, 0.0), c.sc.settings["request"].hi)}

    base = scenario()
    sc = scenario(settings=with_bounds(request=Interval(0, 5)), old_pod=replace(base.pod, grace=0))
    c = AppCase(sc, start=0, seen=0, hook=0, nt=NewTiming(), ot=OldTiming(drain=4))
    assert app_mismatches(c) == []
    assert app_mismatches(c, outlives_sigkill) != []
