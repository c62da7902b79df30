"""What one run is made of: the discrete choices and every delay, as plain numbers.

Both halves of the model speak this vocabulary and neither owns it: the checker turns a
Z3 model into ``Choices`` and ``Timing`` (``model/candidates.py``), the simulator replays
them (``model/simulator``), and the differential tests draw them directly from the bounds.
"""
from __future__ import annotations

from dataclasses import dataclass

NEVER = 1e9
"""An instant that never comes (a new pod's deletion, an old pod kept), beyond every horizon:
how both halves write it in the spec language's instant arithmetic (``deleted_at(p)`` of a
pod never deleted), so that ``deleted_at(p) - deleted_at(q)`` has one value on both sides."""


@dataclass(frozen=True)
class NewTiming:
    """Delays of one new pod. Phases are fractions of the probe period in [0, 1)."""

    start: float = 1.0
    schedule: float = 0.0  # created -> bound to a node (part of ``pod-start``; the node is chosen then)
    app: float = 0.0
    startup_phase: float = 0.0
    startup_resp: float = 0.0
    ready_phase: float = 0.0
    ready_resp: float = 0.0
    liveness_phase: float = 0.0
    eps: float = 0.0
    proxy: tuple[float, ...] = (0.0,)
    lb_reg: float = 0.0  # IP targets: endpoint (or, with a readiness gate, pod start) -> registered
    lb_phase: float = 0.0  # the target's health checks, fraction of the interval
    lb_resp: float = 0.0
    side_ready_phase: tuple[float, ...] = ()  # the pod's other containers' readiness probes
    side_ready_resp: tuple[float, ...] = ()


@dataclass(frozen=True)
class OldTiming:
    """Delays of one old pod's termination."""

    kubelet: float = 0.0
    hook: float = 0.0  # clamped to the hook's bounds
    close: float = 0.0  # after SIGTERM; for hooks that may stop the app: after the leading sleep
    drain: float = 0.0  # listener closed -> app exits (<= request bound)
    unready_phase: float = 0.0
    unready_resp: float = 0.0
    eps_del: float = 0.0
    eps_unready: float = 0.0
    proxy_del: tuple[float, ...] = (0.0,)
    proxy_unready: tuple[float, ...] = (0.0,)
    lb_dereg: float = 0.0  # IP targets: endpoint terminating -> no new requests from the load balancer
    lb_phase: float = 0.0
    lb_resp: float = 0.0
    # the pod's other containers, each: its preStop's run time, and when it exits after its
    # SIGTERM (a fraction of the time to its SIGKILL; 0: at once)
    side_hook: tuple[float, ...] = ()
    side_exit: tuple[float, ...] = ()


@dataclass(frozen=True)
class Timing:
    ctrl: tuple[float, ...] = (0.0,)  # rollout start, then each follow-up sync after an action
    react: tuple[float, ...] = (0.0,)  # syncs caused by a pod becoming available or gone
    new: tuple[NewTiming, ...] = ()
    old: tuple[OldTiming, ...] = ()
    default_new: NewTiming = NewTiming()
    default_old: OldTiming = OldTiming()
    lb_phase: tuple[float, ...] = (0.0,)  # per node, fraction of the interval
    lb_resp: float = 0.0
    request: float = 0.0
    lb_node_resp: tuple[float, ...] = ()  # per node, when given: its checks' answer time (else lb_resp)

    def new_at(self, i: int) -> NewTiming:
        return self.new[i] if i < len(self.new) else self.default_new

    def old_at(self, i: int) -> OldTiming:
        return self.old[i] if i < len(self.old) else self.default_old


@dataclass(frozen=True)
class Choices:
    """Discrete choices: node of each old pod, node of each new pod (cycled), and the
    tie-break order among old pods the ReplicaSet ranks equally (``deletion``).
    Node choices index the workload's feasible nodes (``Scenario.feasible``)."""

    initial: tuple[int, ...] = ()
    placement: tuple[int, ...] = (0,)
    deletion: tuple[int, ...] = ()
