"""Cause ``killed-in-flight``: SIGKILL cuts off a request the pod already accepted."""
from __future__ import annotations

import math
from dataclasses import dataclass

from zdverify.model.causes.handler import CauseHandler, Witness, claim_fails, via
from zdverify.model.causes.termination import shutdown_blame
from zdverify.model.checker.graph import GraphFacts
from zdverify.model.scenario import Scenario
from zdverify.model.verdict import Blame, Cause, Property


@dataclass(frozen=True)
class KilledInFlight(CauseHandler):
    cause = Cause.KILLED_IN_FLIGHT

    def why(self, sc: Scenario) -> str:
        return ("SIGKILL comes max(grace - preStop in whole seconds, 2s) after SIGTERM; a request accepted just before the "
                f"listener closed may still be running (requests last up to {sc.settings['request'].hi:g}s)")

    def blame(self, sc: Scenario) -> list[Blame]:
        return shutdown_blame(sc)[::-1]  # the grace period first

    def fix(self, sc: Scenario, prop: Property, gf: GraphFacts | None) -> str:
        b = sc.settings
        old = sc.old
        need = math.ceil(old.hook.hi + b["app-close"].hi + b["request"].hi) + 1
        return f"terminationGracePeriodSeconds: {max(need, int(old.grace) + 1)} (preStop + close + longest request)"

    def describe(self, w: Witness) -> str:
        if w.found is None or w.pod is None:
            return claim_fails(w)
        # the instant itself is the step's (and the summary's): say how much later SIGKILL comes
        return (f"{via(w)} is accepted by {w.pod.name} and still runs ({w.timeline.request:g}s) when "
                f"SIGKILL arrives {w.pod.sigkill - w.found.t:.2f}s later")


HANDLER = KilledInFlight()
