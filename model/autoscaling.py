"""HorizontalPodAutoscaler: the replicas a rollout starts from are the autoscaler's choice.

``spec.replicas`` is often absent when an HPA owns the workload; the HPA keeps it within
``minReplicas..maxReplicas`` (``pkg/controller/podautoscaler``), and a rollout can start at
any count in that range. So each count is checked, and a property's verdict is the worst
over them:

1. Every count of the range is checked when there are at most ``MAX_COUNTS``.
2. A longer range is checked at its ends and at the counts where the resolved maxSurge or
   maxUnavailable changes (percentages round differently), up to ``MAX_COUNTS`` of them, so
   a counterexample at one of them is found; but no argument here says the counts left out
   behave like their neighbours, so a property proved at every count checked is reported
   *inconclusive* for the range, naming the counts checked.
3. A minReplicas of 0 (the HPAScaleToZero gate) adds nothing to check: at 0 nothing rolls.
4. The HPA scaling *during* the rollout is not modelled (the Deployment controller scales
   both ReplicaSets proportionally): the replicas are taken to stay at the count checked.
"""
from __future__ import annotations

from dataclasses import dataclass

from zdverify.model.objects import Autoscaler, Workload, WorkloadKind
from zdverify.model.rollout import resolve_fenceposts
from zdverify.model.verdict import Assumption

MAX_COUNTS = 30
_SCALED_KINDS = (WorkloadKind.DEPLOYMENT, WorkloadKind.STATEFUL_SET)


@dataclass(frozen=True)
class Counts:
    """The replica counts checked for a workload and those of the range left out."""

    autoscaler: Autoscaler
    checked: tuple[int, ...]
    left_out: tuple[int, ...] = ()

    def assumption(self) -> Assumption:
        a = self.autoscaler
        every = not self.left_out
        value = f"{a.min_replicas}..{a.max_replicas}" if every else ", ".join(map(str, self.checked))
        note = ("every count of the autoscaler's range is checked; the verdict is the worst of them" if every else
                f"of the autoscaler's range {a.min_replicas}..{a.max_replicas}, the counts listed (its ends and where "
                f"the resolved maxSurge/maxUnavailable change); {len(self.left_out)} others are not checked, so a "
                f"proof at these is reported inconclusive")
        return Assumption("replicas", value, a.ref, note + "; the autoscaler is taken not to scale during the rollout",
                          a.loc)


def autoscaler_of(w: Workload, autoscalers: tuple[Autoscaler, ...]) -> Autoscaler | None:
    if w.kind not in _SCALED_KINDS:
        return None
    return next((a for a in autoscalers if a.scales(w)), None)


def counts(w: Workload, a: Autoscaler) -> Counts:
    low, high = max(a.min_replicas, 1), a.max_replicas
    every = list(range(low, high + 1))
    if len(every) <= MAX_COUNTS:
        return Counts(a, tuple(every))
    steps = [r for r in every[1:] if _fenceposts(w, r) != _fenceposts(w, r - 1)]
    chosen = [low, high]
    for r in steps:
        if len(chosen) >= MAX_COUNTS:
            break
        chosen.append(r)
        if r - 1 > low and len(chosen) < MAX_COUNTS:
            chosen.append(r - 1)  # both sides of the change
    checked = tuple(sorted(set(chosen)))
    return Counts(a, checked, tuple(r for r in every if r not in checked))


def _fenceposts(w: Workload, replicas: int) -> tuple[int, int]:
    if w.kind is WorkloadKind.STATEFUL_SET:
        return 0, resolve_fenceposts(0, w.max_unavailable, replicas)[1]
    return resolve_fenceposts(w.max_surge, w.max_unavailable, replicas)
