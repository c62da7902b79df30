"""The components' constraints on one query's entities, in one place and in a fixed order
(a solver's model can depend on the order of the assertions).

Each rule lives in its component's room: the pods' lifecycles in ``kubelet.py``, the
rollout's relations between pods in ``deployment.py``, the slice changes in
``endpointslice.py``, each node's rules and ``NR(n)`` in ``kube_proxy.py``, IP targets in
``load_balancer.py``, the on-node variables in ``scheduler.py``. This module only calls
them.
"""
from __future__ import annotations

import z3

from zdverify.model.checker import deployment, endpointslice, kube_proxy, kubelet, load_balancer, scheduler
from zdverify.model.checker.endpointslice import SliceChange, publish
from zdverify.model.checker.entities import NEVER, Case, PodEntity


def setup(case: Case) -> None:
    """Pods' lifecycles, the rollout's relations between them, slice and rules per node."""
    enc = case.enc
    olds = [p for p in case.pods if p.old]
    for p in olds:
        _old_pod(case, p)
    last = next((p for p in olds if p.role == "last-old"), None)
    for p in case.pods:
        if p.old:
            continue
        created = _new_pod(case, p)
        if p.role == "first-new":
            deployment.first_new_pod(case, created, olds, last)
        if p.role == "available" and last is not None:
            deployment.available_before_last(case, p, last)
    if last is not None:
        deployment.last_old_pod(case, last, olds)
    changes: list[SliceChange] = []
    order: list[tuple[str, str]] = []
    for p in case.pods:
        ch, o = endpointslice.pod_changes(case.sc, p)
        changes += ch
        order += o
    if not changes:
        enc.add(case.t >= 0, case.t < NEVER / 2)
        for n in case.nodes:
            kube_proxy.no_ready_lemmas(case, n)
        return
    sl = publish(enc, changes, order)
    case.slices = sl
    kube_proxy.program(case, changes, sl, order)
    if case.ip:
        load_balancer.ip_targets(case, sl)
    scheduler.place(case)
    t = case.t
    enc.add(t >= 0, t < NEVER / 2)  # an instant of the run (events that never come are at NEVER)
    deployment.never_deleted(case, olds)
    for n in case.nodes:
        kube_proxy.no_ready_lemmas(case, n)


def _old_pod(case: Case, p: PodEntity) -> None:
    """An old pod entity: deleted at some instant of the rollout, created (started, Ready)
    before it."""
    enc = case.enc
    d = enc.real(f"{p.name}.deleted")
    enc.add(d >= 0)
    p.z = kubelet.old_pod(enc, p.name, d)
    p.past = enc.real(f"{p.name}.past")
    enc.add(p.past < 0)


def _new_pod(case: Case, p: PodEntity) -> z3.ArithRef:
    """A new pod entity, created during the rollout; it may wait Pending when the graph
    says some new pod may, or the placement is not exact. Returns its creation instant."""
    enc, sc = case.enc, case.sc
    c = enc.real(f"{p.name}.created")
    enc.add(c >= 0)
    p.z = kubelet.new_pod(enc, p.name, c, may_pend=case.gf.pending or not sc.placement.exact)
    if not case.gf.starts:
        enc.add(p.z.start >= NEVER)  # every new pod stays Pending (the graph schedules none)
    return c
