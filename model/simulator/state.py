"""The mutable state one simulation shares between its components, and its queue entries.

``SimState`` holds the scenario, the choices and the timing, the pods, the event queue,
the trace of steps and the controllers' counters; the components (``deployment``,
``scheduler``, ``kubelet``, ...) read and change it, and ``engine`` runs the loop that pops
the queue's typed entries (``Sync``, ``Bind``, ``SchedulerRetry``) in (time, sequence) order.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from zdverify.model.objects import Field, Strategy, WorkloadKind
from zdverify.model.run import Choices, Timing
from zdverify.model.scenario import Scenario
from zdverify.model.scheduler import Placement, has_preferences
from zdverify.model.source import Loc
from zdverify.model.verdict import Component, EventKind, Step

if TYPE_CHECKING:
    from zdverify.model.simulator.run import Run

INF = math.inf


def cyc(values: tuple[float, ...], i: int) -> float:
    """The i-th of ``values``, cycling (0.0 when there are none)."""
    return values[i % len(values)] if values else 0.0


def first_tick(base: float, period: float, cond: float, gate: float) -> tuple[int, float]:
    """Index and time of the first tick of a periodic check (ticks at base + k*period: a
    kubelet probe, a load balancer's health check) at or after both ``cond`` (the check
    can succeed) and ``gate`` (the check runs at all)."""
    need = max(cond, gate)
    k = 0 if need <= base else math.ceil((need - base) / period - 1e-12)
    return k, base + k * period


@dataclass
class SimPod:
    """One pod's instants as the simulation sets them (``-inf``: before; ``inf``: never)."""

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
    side_exits: tuple[float, ...] = ()  # the pod's other containers' exits
    tg_in: float = -INF  # IP targets: the load balancer sends to the pod from ... (new pods: INF until healthy)
    tg_out: float = INF  # ... until


@dataclass(frozen=True)
class Sync:
    """A queue entry: the workload's controller reconciles (``reason``: what triggered it)."""

    reason: str


@dataclass(frozen=True, eq=False)
class Bind:
    """A queue entry: the scheduler binds ``pod`` (created earlier) now."""

    pod: SimPod


@dataclass(frozen=True)
class SchedulerRetry:
    """A queue entry: the scheduler retries Pending pods (a pod is gone)."""


Event = Sync | Bind | SchedulerRetry


@dataclass
class SimState:
    """The mutable state one simulation shares between its components."""

    sc: Scenario
    choices: Choices
    timing: Timing
    run: Run
    olds: list[SimPod] = field(default_factory=list)
    news: list[SimPod] = field(default_factory=list)
    pending: list[SimPod] = field(default_factory=list)  # new pods waiting for room (Pending), in creation order
    queue: list[tuple[float, int, Event]] = field(default_factory=list)
    seq: int = 0
    n_sync: int = 0
    n_react: int = 0
    old_spec: int = 0
    new_spec: int = 0
    deletion_order: list[int] = field(default_factory=list)
    preference: dict[int, int] = field(default_factory=dict)  # old pod index -> deletion rank
    ordinal: dict[int, int] = field(default_factory=dict)  # StatefulSet: old pod index -> ordinal
    recreated: dict[int, SimPod] = field(default_factory=dict)  # StatefulSet: ordinal -> its new pod
    by_ordinal: dict[int, SimPod] = field(default_factory=dict)  # StatefulSet: ordinal -> its old pod
    trace: bool = True  # record the trace's steps (off for runs only checked, never printed)
    focus: str = ""  # with trace: kube-proxy and load-balancer steps of this node only ("": every node)
    # read off the scenario once
    name: str = field(init=False)
    ctl: Component = field(init=False)  # who scales
    podctl: Component = field(init=False)  # who creates and deletes the pods
    feasible: tuple[int, ...] = field(init=False)
    rules: Placement = field(init=False)
    daemon: bool = field(init=False)
    stateful: bool = field(init=False)
    recreate: bool = field(init=False)
    ip: bool = field(init=False)  # IP targets: the load balancer sends to pod IPs

    def __post_init__(self) -> None:
        sc = self.sc
        w = sc.pair.workload
        self.name = w.name
        # who scales (ctl) and who creates and deletes the pods (podctl)
        self.ctl = {WorkloadKind.DAEMON_SET: Component.DAEMONSET,
                    WorkloadKind.STATEFUL_SET: Component.STATEFULSET}.get(w.kind, Component.DEPLOYMENT)
        self.podctl = Component.REPLICASET if self.ctl is Component.DEPLOYMENT else self.ctl
        self.feasible = sc.feasible or tuple(range(sc.nodes))
        self.rules = sc.placement
        self.daemon = sc.rollout.strategy is Strategy.DAEMON_SET
        self.stateful = sc.rollout.strategy is Strategy.STATEFUL_SET
        self.recreate = sc.rollout.strategy is Strategy.RECREATE
        self.ip = any(e.ip for e in sc.entries)
        self.preferences = has_preferences(w.template)  # record placements for ``scheduler.discouraged``

    # ---- the trace ------------------------------------------------------------------
    def step(self, t: float, comp: Component, where: str, kind: EventKind, text: str, loc: Loc | None = None,
             pod: str = "") -> None:
        if self.keeps(comp, where):
            self.run.steps.append(Step(t, comp, where, kind, text, loc, pod))

    def keeps(self, comp: Component, where: str) -> bool:
        """Is a step of ``comp`` at ``where`` recorded? (``focus``: one node's per-node steps.)"""
        return self.trace and (not self.focus or where == self.focus
                               or comp not in (Component.KUBE_PROXY, Component.LOAD_BALANCER))

    def loc_of(self, path: Field) -> Loc | None:
        return self.sc.pair.workload.loc_of(path)

    def node_name(self, n: int) -> str:
        return self.sc.node_name(n)

    # ---- the queue --------------------------------------------------------------------
    def _push(self, t: float, event: Event) -> None:
        heapq.heappush(self.queue, (t, self.seq, event))
        self.seq += 1

    def trigger(self, t: float, why: str) -> None:
        """The controller's own follow-up syncs take delays from ``timing.ctrl`` in order."""
        bctl = self.sc.settings["controller"]  # every delay is clamped to its bound
        self._push(t + min(max(cyc(self.timing.ctrl, self.n_sync), bctl.lo), bctl.hi), Sync(why))
        self.n_sync += 1

    def react(self, t: float, why: str) -> None:
        """Syncs caused by pod changes take delays from ``timing.react``."""
        bctl = self.sc.settings["controller"]
        self._push(t + min(max(cyc(self.timing.react, self.n_react), bctl.lo), bctl.hi), Sync(why))
        self.n_react += 1

    def bind_later(self, t: float, p: SimPod) -> None:
        self._push(t, Bind(p))

    def retry_scheduler(self, t: float) -> None:
        heapq.heappush(self.queue, (t, -1, SchedulerRetry()))  # the scheduler retries at once
