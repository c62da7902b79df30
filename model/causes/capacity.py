"""Cause ``capacity``: a count of pods can drop below a floor (user properties only)."""
from __future__ import annotations

from dataclasses import dataclass

from zdverify.model.causes.handler import CauseHandler
from zdverify.model.checker.graph import GraphFacts
from zdverify.model.objects import Field, Strategy, WorkloadKind
from zdverify.model.scenario import Scenario
from zdverify.model.verdict import Blame, Cause, Property


@dataclass(frozen=True)
class Capacity(CauseHandler):
    cause = Cause.CAPACITY

    def why(self, sc: Scenario) -> str:
        return ("the scheduler may put the pods on any feasible node (no spread constraint is modelled yet) "
                "and the rollout deletes and restarts them: a count of pods can drop below the floor")

    def blame(self, sc: Scenario) -> list[Blame]:
        w = sc.pair.workload
        out = [Blame(w.loc_of(Field.REPLICAS), Field.REPLICAS, f"{sc.rollout.replicas} replicas")]
        if w.kind is WorkloadKind.DEPLOYMENT and sc.rollout.strategy is Strategy.ROLLING_UPDATE:
            out.append(Blame(w.loc_of(Field.MAX_UNAVAILABLE),
                             Field.MAX_UNAVAILABLE,
                             f"resolves to {sc.rollout.unavailable} of {sc.rollout.replicas} replicas"))
        return out

    def fix(self, sc: Scenario, prop: Property, gf: GraphFacts | None) -> str:
        return prop.remediation


HANDLER = Capacity()
