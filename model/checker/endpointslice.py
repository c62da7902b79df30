"""EndpointSlice controller: pod changes -> endpoint conditions in the Service's slice.

Follows ``kubernetes/kubernetes:staging/src/k8s.io/endpointslice/utils.go`` ``podToEndpoint``
(``serving = Ready``, ``terminating = deletionTimestamp != nil``,
``ready = publishNotReadyAddresses || (serving && !terminating)``) and ``reconciler.go``
(terminating pods stay in slices until they are gone).

Simplifications:
 1. One slice per Service: each sync writes a snapshot of the pods, so changes reach the
    slice in the order they happened (FIFO), each at most ``endpointslice`` after it. Past
    ``MAX_ENDPOINTS_PER_SLICE`` endpoints the controller splits them over several slices,
    written one at a time, so kube-proxy may briefly see one slice of a sync before another;
    that reordering is not modelled — results state it as the ``endpointslices`` assumption.
 2. A pod gets its IP when its container starts (only matters with
    ``publishNotReadyAddresses``).
"""
from __future__ import annotations

from dataclasses import dataclass

import z3

from zdverify.model.checker import kubelet
from zdverify.model.checker.encoding import Encoding, pairs
from zdverify.model.checker.entities import PodEntity
from zdverify.model.scenario import Scenario


MAX_ENDPOINTS_PER_SLICE = 100
"""kube-controller-manager ``--max-endpoints-per-slice`` default."""

RANK_READY, RANK_TERMINATING, RANK_NOT_SERVING = 0, 1, 2
"""At the same instant a pod becoming ready comes first: a deletion at that instant can be
its consequence (the controller deletes an old pod because a new one became available)."""


@dataclass(frozen=True)
class SliceChange:
    """A pod change the slice reflects: ``at`` is when it happened."""

    name: str
    at: z3.ArithRef
    rank: int


def pod_changes(sc: Scenario, p: PodEntity) -> tuple[list[SliceChange], list[tuple[str, str]]]:
    """The slice changes of pod entity ``p`` and the pairs (earlier, later) whose order is
    known: an old pod turns terminating (``.del``, when deleted) then not serving
    (``.unready``); a new pod turns ready. With ``publishNotReadyAddresses`` an old pod's
    endpoint goes when it exits and a new pod's comes when it starts."""
    z = p.z
    if p.old:
        assert isinstance(z, kubelet.OldPod)
        if sc.publish_not_ready:
            return ([SliceChange(f"{p.name}.del", z.exit, RANK_NOT_SERVING),
                     SliceChange(f"{p.name}.unready", z.exit, RANK_NOT_SERVING)],
                    [(f"{p.name}.del", f"{p.name}.unready")])
        return ([SliceChange(f"{p.name}.del", z.deleted, RANK_TERMINATING),
                 SliceChange(f"{p.name}.unready", z.unready, RANK_NOT_SERVING)], [(f"{p.name}.del", f"{p.name}.unready")])
    assert isinstance(z, kubelet.NewPod)
    return [SliceChange(f"{p.name}.ready", z.start if sc.publish_not_ready else z.ready, RANK_READY)], []


def _before(a: SliceChange, b: SliceChange) -> z3.BoolRef:
    if a.rank < b.rank:
        return a.at <= b.at
    return a.at < b.at


def fifo(enc: Encoding, changes: list[SliceChange], out: dict[str, z3.ArithRef],
         same_order: list[tuple[str, str]]) -> None:
    """Order-preserving delivery: an earlier change is never delivered after a later one.
    Changes at the same instant with the same rank may go either way. ``same_order``
    lists pairs (earlier, later) whose order is known (same pod)."""
    known = set(same_order)
    for a, b in pairs(changes):
        if (a.name, b.name) in known:
            enc.add(out[a.name] <= out[b.name])
        elif (b.name, a.name) in known:
            enc.add(out[b.name] <= out[a.name])
        else:
            enc.add(z3.Implies(_before(a, b), out[a.name] <= out[b.name]),
                    z3.Implies(_before(b, a), out[b.name] <= out[a.name]))


def publish(enc: Encoding, changes: list[SliceChange], same_order: list[tuple[str, str]]) -> dict[str, z3.ArithRef]:
    """Slice write time of each change."""
    out: dict[str, z3.ArithRef] = {}
    for c in changes:
        s = enc.real(f"slice.{c.name}")
        enc.add(s == c.at + enc.within(f"slice.{c.name}.delay", enc.bound("endpointslice")))
        out[c.name] = s
    fifo(enc, changes, out, same_order)
    return out
