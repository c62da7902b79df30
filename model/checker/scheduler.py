"""Scheduler, Z3 side: which node entity each pod entity runs on.

Follows the placement rules of ``model/scheduler.py`` (the scheduler's filter plugins,
``pkg/scheduler/framework/plugins``; the rules are shared with the simulator).

Simplifications:
 1. A pod entity runs on at most one node entity (``on.<pod>.<node>``), never on a node
    the workload's pods cannot run on; on the only feasible node when there is one, and on
    every feasible node entity when a new pod cannot avoid a node
    (``scheduler.can_place_elsewhere``).
 2. Of the caps (``model/scheduler.py`` simplification 3), only one pod per node is encoded
    exactly (``one_per_node``); the others are left to the state graph and the per-node
    exploration.
 3. With a single old pod (one replica), every old entity is that pod (``one_old_pod``).
"""
from __future__ import annotations

import z3

from zdverify.model.checker import kubelet
from zdverify.model.checker.entities import Case, NodeEntity, PodEntity
from zdverify.model.scheduler import can_place_elsewhere


def place(case: Case) -> None:
    """The on-node variables of every pod entity on every node entity but the target group,
    and the placement rules that tie them."""
    enc, sc = case.enc, case.sc
    single = len(sc.feasible) == 1
    real_nodes = [n for n in case.nodes if not n.target_group]
    for p in case.pods:
        for n in real_nodes:
            v = z3.Bool(f"on.{p.name}.{n.name}", enc.ctx)
            case.on_vars[(p.name, n.name)] = v
            if not n.feasible:
                enc.add(z3.Not(v))
            elif single:
                enc.add(v)
        if len(real_nodes) > 1:  # a pod runs on one node
            enc.add(z3.AtMost(*[case.on_vars[(p.name, n.name)] for n in real_nodes], 1))
    if not can_place_elsewhere(sc):
        for p in case.pods:
            for n in real_nodes:
                if n.feasible:
                    enc.add(case.on_vars[(p.name, n.name)])
    one_per_node(case, real_nodes)
    one_old_pod(case, real_nodes)


_EVENTS = {kubelet.OldPod: ("deleted", "seen", "sigterm", "close", "exit", "kill", "unready"),
           kubelet.NewPod: ("created", "start", "listen", "started", "ready")}


def same_pod(p: PodEntity, q: PodEntity) -> z3.BoolRef:
    """Two entities of one revision name the same pod: their events coincide."""
    return z3.And(*[getattr(p.z, f) == getattr(q.z, f) for f in _EVENTS[type(p.z)]])


def one_old_pod(case: Case, nodes: list[NodeEntity]) -> None:
    """With a single old pod (one replica, one node), every old entity is that pod — the
    node's last local pod, the one deleted last and a bound pod alike."""
    if case.sc.rollout.replicas != 1:
        return
    olds = [p for p in case.pods if p.old]
    for p, q in zip(olds, olds[1:]):
        case.enc.add(same_pod(p, q))
        for n in nodes:
            case.enc.add(case.on_vars[(p.name, n.name)] == case.on_vars[(q.name, n.name)])


def one_per_node(case: Case, nodes: list[NodeEntity]) -> None:
    """A cap of one pod per node (required hostname anti-affinity, ``pods: 1``): two entities
    on one node are the same pod (entities may name one pod twice: then their events are
    equal), or the later one was scheduled after the earlier one was gone. Per revision, the
    cap ties only pods of one revision."""
    cross, own = case.sc.placement.one_per_node()
    if not own:
        return
    enc = case.enc
    for i, p in enumerate(case.pods):
        for q in case.pods[i + 1:]:
            if p.old != q.old and not cross:
                continue
            pz, qz = p.z, q.z
            if type(pz) is type(qz):  # same revision: both alive at once (old pods from before the
                # rollout, new pods until its end), so only one pod named twice fits
                apart = same_pod(p, q)
            else:
                old_z, new_z = (pz, qz) if p.old else (qz, pz)
                assert isinstance(old_z, kubelet.OldPod) and isinstance(new_z, kubelet.NewPod)
                apart = new_z.start >= old_z.exit
            for n in nodes:
                enc.add(z3.Implies(z3.And(case.on_vars[(p.name, n.name)], case.on_vars[(q.name, n.name)]), apart))
