"""EndpointSlice controller, the simulator's side: pod changes -> slice writes.

Follows ``kubernetes/kubernetes:staging/src/k8s.io/endpointslice/utils.go`` ``podToEndpoint``
(``serving = Ready``, ``terminating = deletionTimestamp != nil``,
``ready = publishNotReadyAddresses || (serving && !terminating)``) and ``reconciler.go``
(terminating pods stay in slices until they are gone).

Simplifications (as ``model/checker/endpointslice.py``):
 1. One slice per Service, FIFO: a pod change reaches the slice after its own
    ``endpointslice`` delay but never before an earlier change (``max(previous, change +
    delay)``). Changes at the same instant are written in causal order: ready before
    terminating before not serving (a deletion at that instant can be the consequence of a
    pod becoming available). The splitting over several slices past
    ``MAX_ENDPOINTS_PER_SLICE`` endpoints is not modelled (the ``endpointslices`` assumption).
 2. A pod gets its IP when its container starts (only matters with
    ``publishNotReadyAddresses``: its endpoint is then published from the start and removed
    when it is gone).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from zdverify.model.verdict import Component, EventKind

if TYPE_CHECKING:
    from zdverify.model.simulator.state import SimPod, SimState

INF = math.inf


class EndpointChange(Enum):
    """An EndpointSlice change, as kube-proxy applies it."""

    ADD = "ready"
    DEL = "terminating"
    UNREADY = "not serving"
    GONE = "removed"


@dataclass(frozen=True, eq=False)
class PodChange:
    """A pod change the slice reflects: ``at`` is when it happened; ``eps`` the slice's
    delay, ``proxy`` each node's kube-proxy delay (cycled over the nodes)."""

    at: float
    order: int
    pod: SimPod
    change: EndpointChange
    eps: float
    proxy: tuple[float, ...]


RANK = {EndpointChange.ADD: 0, EndpointChange.DEL: 1, EndpointChange.UNREADY: 2, EndpointChange.GONE: 2}
"""Same instant: ready before terminating before not-serving (causal order)."""


def changes(s: SimState, all_pods: list[SimPod]) -> list[PodChange]:
    """Every pod change the slice reflects, in the order the controller writes them."""
    pnr = s.sc.publish_not_ready
    out: list[PodChange] = []
    order = 0
    for p in all_pods:
        if p.old:
            ot = s.timing.old_at(p.index)
            if p.deleted < INF:
                if not pnr:
                    out.append(PodChange(p.deleted, order, p, EndpointChange.DEL, ot.eps_del, ot.proxy_del))
                    order += 1
                    out.append(PodChange(p.unready, order, p, EndpointChange.UNREADY, ot.eps_unready,
                                         ot.proxy_unready))
                else:
                    out.append(PodChange(p.exit, order, p, EndpointChange.GONE, ot.eps_unready, ot.proxy_unready))
                order += 1
        else:
            nt = s.timing.new_at(p.index)
            at = p.start if pnr else p.ready
            if at < INF:
                out.append(PodChange(at, order, p, EndpointChange.ADD, nt.eps, nt.proxy))
                order += 1
            if p.killed < INF and p.ready < p.killed:
                out.append(PodChange(p.killed, order, p, EndpointChange.UNREADY, nt.eps, nt.proxy))
                order += 1
    out.sort(key=lambda c: (c.at, RANK[c.change], c.order))
    return out


_SLICE_STEP = {EndpointChange.ADD: EventKind.SLICE_ADD, EndpointChange.DEL: EventKind.SLICE_TERMINATING,
               EndpointChange.UNREADY: EventKind.SLICE_NOT_SERVING, EndpointChange.GONE: EventKind.SLICE_NOT_SERVING}


@dataclass
class SliceWriter:
    """The Service's slice, written in FIFO order."""

    s: SimState
    last: float = -INF
    slice_of: dict[tuple[str, EndpointChange], float] = field(default_factory=dict)

    def write(self, c: PodChange) -> float:
        """When the slice reflects ``c``."""
        beps = self.s.sc.settings["endpointslice"]
        self.last = max(self.last, c.at + min(max(c.eps, beps.lo), beps.hi))
        self.slice_of[(c.pod.name, c.change)] = self.last
        self.s.step(self.last, Component.ENDPOINTSLICE, "", _SLICE_STEP[c.change],
                    f"EndpointSlice: {c.pod.name} {c.change.value}", pod=c.pod.name)
        return self.last
