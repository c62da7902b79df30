"""kube-proxy on every node: EndpointSlice -> iptables/ipvs/nftables rules.

Follows ``kubernetes/kubernetes:pkg/proxy/topology.go`` ``CategorizeEndpoints`` (ready
endpoints, else serving-terminating ones when ProxyTerminatingEndpoints is on — KEP-1669,
default from 1.26), ``pkg/proxy/iptables/proxier.go`` (REJECT with no endpoints, DROP for
Local with no local endpoints) and ``pkg/proxy/healthcheck/service_health.go`` (the
healthCheckNodePort counts local ready, non-terminating endpoints).

Simplifications:
 1. Each node applies slice changes in order (a sync programs the whole current state),
    each at most ``kube-proxy`` after the slice was written, independently per node.
 2. A new connection picks any endpoint of the node's programmed set (random in
    iptables, round-robin in ipvs): if any member is not serving, some request fails.
 3. Established keep-alive connections are not modelled (they stay on their pod).

For a query (``entities.Case``): ``program`` times each node's rules, ``routes`` is the
``routes(n, p)`` atom — a ready endpoint in scope, or (the terminating fallback) a
terminating endpoint that still counts as serving while ``NR(n)``, no ready endpoint in
scope, holds — and ``no_ready_lemmas`` states the facts ``NR(n)`` obeys.
"""
from __future__ import annotations

import z3

from zdverify.model.checker.encoding import Encoding
from zdverify.model.checker.endpointslice import SliceChange, fifo
from zdverify.model.checker import load_balancer
from zdverify.model.checker.entities import Case, NodeEntity, PodEntity
from zdverify.model.objects import Strategy


def apply(enc: Encoding, node: str, changes: list[SliceChange], slice_times: dict[str, z3.ArithRef],
          same_order: list[tuple[str, str]]) -> dict[str, z3.ArithRef]:
    """When ``node``'s rules reflect each change."""
    out: dict[str, z3.ArithRef] = {}
    for c in changes:
        a = enc.real(f"{node}.{c.name}")
        enc.add(a == slice_times[c.name] + enc.within(f"{node}.{c.name}.delay", enc.bound("kube-proxy")))
        out[c.name] = a
    fifo(enc, changes, out, same_order)  # rules follow the slice's order of changes
    return out


def program(case: Case, changes: list[SliceChange], slice_times: dict[str, z3.ArithRef],
            same_order: list[tuple[str, str]]) -> None:
    """When each node entity's rules reflect each change (not the target group's: IP targets
    bypass kube-proxy)."""
    for n in case.nodes:
        if n.target_group:
            continue
        ap = apply(case.enc, n.name, changes, slice_times, same_order)
        for c in changes:
            case.applied[(n.name, c.name)] = ap[c.name]


def ready_route(case: Case, n: NodeEntity, p: PodEntity) -> z3.BoolRef:
    """n's rules hold p as a ready endpoint at t (the target group: p is a healthy target)."""
    t = case.t
    if n.target_group:
        healthy, removed = case.targets[p.name]
        return t < removed if p.old and removed is not None else t >= healthy
    if p.old:
        return t < case.applied[(n.name, f"{p.name}.del")]
    return t >= case.applied[(n.name, f"{p.name}.ready")]


def in_scope(case: Case, n: NodeEntity, p: PodEntity) -> z3.BoolRef:
    """p is an endpoint n may pick: any pod (Cluster), a pod on n (Local)."""
    if case.local and not n.target_group:
        return case.on_vars[(p.name, n.name)]
    return z3.BoolVal(True, case.enc.ctx)


def routes(case: Case, n: NodeEntity, p: PodEntity) -> z3.BoolRef:
    """``routes(n, p)`` at t: p is a ready endpoint in scope at n, or (ProxyTerminatingEndpoints,
    ``CategorizeEndpoints``) p is terminating but still serving in n's rules and no ready
    endpoint is in scope (``NR(n)``)."""
    if not case.applied and not case.targets:
        return z3.BoolVal(False, case.enc.ctx)
    rr = ready_route(case, n, p)
    if p.old and case.sc.fallback and not n.target_group:
        tr = case.t < case.applied[(n.name, f"{p.name}.unready")]
        rr = z3.Or(rr, z3.And(tr, case.no_ready[n.name]))
    return z3.And(in_scope(case, n, p), rr)


def no_ready_lemmas(case: Case, n: NodeEntity) -> None:
    """``NR(n)``: no ready endpoint in scope at n. Valid facts: each pod entity is not a
    ready endpoint in scope; the state graph can rule it out altogether (FIFO delivery
    keeps every node's view a past state of the ready set)."""
    enc, sc, gf = case.enc, case.sc, case.gf
    nr = z3.Bool(f"NR.{n.name}", enc.ctx)
    case.no_ready[n.name] = nr
    for p in case.pods:
        enc.add(z3.Implies(nr, z3.Not(z3.And(in_scope(case, n, p), ready_route(case, n, p)))))
    never_empty = not gf.zero_ready and (not case.local or (n.feasible and len(sc.feasible) == 1))
    if case.local and n.feasible and sc.rollout.strategy is Strategy.DAEMON_SET and sc.rollout.surge > 0:
        # a DaemonSet with surge deletes a node's old pod only once the new pod on that node
        # is available (Ready before), and kube-proxy applies the two changes in order
        never_empty = True
    if case.local and n.feasible and gf.node_kept:
        # the per-node exploration (placement rules, the ReplicaSet's ranking) keeps a Ready,
        # non-terminating pod on every feasible node at every instant; kube-proxy's view is a
        # past state of the slice, which is a past state of the pods
        never_empty = True
    if n.target_group:
        # every available pod is a healthy target when Ready waits for the target (the gate);
        # old pods stay targets until after their deletion
        never_empty = not gf.zero_ready and sc.pod.lb_gate is not None
        if (not gf.deletes or sc.rollout.kept > 0) and sc.rollout.replicas > 0:
            never_empty = True  # some old pod never leaves the target group (none deleted, or kept)
    if never_empty:
        enc.add(z3.Not(nr))
    if not case.local or not n.feasible or n.target_group:
        return
    # a node that had local pods: the pod whose removal emptied it last is an entity; a
    # node that never had one gets traffic only from a load balancer failing open with no
    # healthy node
    x = n.last_local
    if x is not None:
        had = z3.And(case.on_vars[(x.name, n.name)], case.applied[(n.name, f"{x.name}.del")] <= case.t)
        if case.lb and sc.settings.lb.fail_open:
            had = z3.Or(had, load_balancer.no_healthy(case))
        enc.add(z3.Implies(nr, had))
