"""kube-proxy on every node, the simulator's side: slice changes -> each node's rules, and
which endpoints a request entering the node may reach.

Follows ``kubernetes/kubernetes:pkg/proxy/topology.go`` ``CategorizeEndpoints`` (ready
endpoints, else serving-terminating ones when ProxyTerminatingEndpoints is on — KEP-1669,
default from 1.26), ``pkg/proxy/iptables/proxier.go`` (REJECT with no endpoints, DROP for
Local with no local endpoints) and ``pkg/proxy/healthcheck/service_health.go`` (the
healthCheckNodePort counts local ready, non-terminating endpoints).

Simplifications (as ``model/checker/kube_proxy.py``):
 1. Each node applies slice changes in order (a sync programs the whole current state),
    each after its own ``kube-proxy`` delay, independently per node
    (``max(previous, slice + delay)``).
 2. A request entering node n at time t uses n's programmed set at t: ready endpoints in
    scope (all, or local for policy Local); if none and the terminating fallback is on,
    serving-terminating ones; if still none the request fails (REJECT/DROP). A new
    connection picks any endpoint of the set (random in iptables, round-robin in ipvs): if
    any member is not serving, some request fails.
 3. Established keep-alive connections are not modelled (they stay on their pod).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

from zdverify.model.simulator.endpointslice import EndpointChange, PodChange
from zdverify.model.simulator.state import cyc
from zdverify.model.verdict import Component, EventKind

if TYPE_CHECKING:
    from zdverify.model.simulator.properties import PodLife
    from zdverify.model.simulator.state import SimPod, SimState

INF = math.inf

_PROXY_STEP = {EndpointChange.ADD: EventKind.PROXY_ADD, EndpointChange.DEL: EventKind.PROXY_TERMINATING,
               EndpointChange.UNREADY: EventKind.PROXY_NOT_SERVING, EndpointChange.GONE: EventKind.PROXY_NOT_SERVING}


class Proxies:
    """Every node's kube-proxy, applying the slice's changes in order.

    Nodes whose delays have been equal for every change so far have equal histories: they
    share one list (``classes``, split when a change's delays differ between its members), so
    1,000 nodes with one delay cost one list, not 1,000 — and so do the timeline and the
    properties evaluated on it (``applied[n]`` is that shared list)."""

    def __init__(self, s: SimState) -> None:
        self.s = s
        self.classes: list[tuple[list[int], list[tuple[float, SimPod, EndpointChange]]]] = \
            [(list(range(s.sc.nodes)), [])]
        self.last_apply: list[float] = [-INF]

    @property
    def applied(self) -> list[list[tuple[float, SimPod, EndpointChange]]]:
        out: list[list[tuple[float, SimPod, EndpointChange]]] = [[] for _ in range(self.s.sc.nodes)]
        for members, history in self.classes:
            for n in members:
                out[n] = history
        return out

    def apply(self, slice_t: float, c: PodChange) -> None:
        """Each node applies ``c``, written to the slice at ``slice_t``."""
        bproxy = self.s.sc.settings["kube-proxy"]
        p, ch = c.pod, c.change
        uniform = len(set(c.proxy)) <= 1
        classes, lasts = [], []
        for (members, history), last in zip(self.classes, self.last_apply):
            groups: dict[float, list[int]] = {}
            if uniform:
                groups[min(max(cyc(c.proxy, 0), bproxy.lo), bproxy.hi)] = members
            else:
                for n in members:
                    groups.setdefault(min(max(cyc(c.proxy, n), bproxy.lo), bproxy.hi), []).append(n)
            items = list(groups.items())
            copies = [history] + [list(history) for _ in items[1:]]  # before the first appends
            for (delay, nodes), own in zip(items, copies):
                a = max(last, slice_t + delay)
                own.append((a, p, ch))
                classes.append((nodes, own))
                lasts.append(a)
                if self.s.trace:  # N changes x N nodes: the text only for a run that is printed
                    for n in nodes:
                        if self.s.keeps(Component.KUBE_PROXY, self.s.node_name(n)):
                            self.s.step(a, Component.KUBE_PROXY, self.s.node_name(n), _PROXY_STEP[ch],
                                        f"applies: {p.name} {ch.value}", pod=p.name)
        self.classes, self.last_apply = classes, lasts


def routes(pods: tuple[PodLife, ...], applied: tuple[tuple[float, int, EndpointChange], ...], n: int,
           local: bool, fallback: bool, window: Callable[[float, float], int], full: int) -> dict[int, int]:
    """Pod index -> the instants (``window``'s masks) node n's kube-proxy picks the pod for
    a request of a scope (``local``: policy Local, only the node's own pods): ready
    endpoints in scope; if there is no ready endpoint in scope and the fallback is on,
    serving terminating ones. ``applied``: the node's (instant, pod index, change), in order."""
    in_scope = [not local or p.node == n for p in pods]
    # ready, serving, terminating — of the pods in scope (the others are never picked)
    state = {i: (True, True, False) for i, p in enumerate(pods) if p.old and in_scope[i]}
    since = {i: -INF for i in state}
    ready: dict[int, int] = {}
    terminating: dict[int, int] = {}  # serving, terminating, not ready

    def close(i: int, until: float) -> None:
        r, s, term = state[i]
        w = window(since[i], until)
        if r:
            ready[i] = ready.get(i, 0) | w
        elif s and term:
            terminating[i] = terminating.get(i, 0) | w

    for a, i, ch in applied:
        if not in_scope[i]:
            continue
        if i in state:
            close(i, a)
        _endpoint_change(state, i, ch)
        if i in state:
            since[i] = a
        else:
            since.pop(i, None)
    for i in list(state):
        close(i, INF)
    return _pick(ready, terminating, in_scope, fallback, full)


def _endpoint_change(state: dict[int, tuple[bool, bool, bool]], i: int, ch: EndpointChange) -> None:
    """Pod ``i``'s endpoint conditions (ready, serving, terminating) after a slice change."""
    if ch is EndpointChange.ADD:
        state[i] = (True, True, False)
    elif ch is EndpointChange.DEL and i in state:
        state[i] = (False, state[i][1], True)
    elif ch is EndpointChange.UNREADY and i in state:
        state[i] = (False, False, state[i][2])
    elif ch is EndpointChange.GONE:
        state.pop(i, None)


def any_usable(pods: tuple[PodLife, ...], applied: tuple[tuple[float, int, EndpointChange], ...], t: float,
               fallback: bool) -> bool:
    """Does node n's kube-proxy hold a usable endpoint anywhere in the cluster at ``t`` (its
    applied changes: ``applied``)? ``CategorizeEndpoints``' "any endpoints": a ready one, or
    (the fallback) a serving terminating one. Without any, ``proxier.go`` REJECTs the
    Service's traffic; with some elsewhere but none local, policy Local DROPs it."""
    state = {i: (True, True, False) for i, p in enumerate(pods) if p.old}  # ready, serving, terminating
    for a, i, ch in applied:
        if a > t:
            break
        _endpoint_change(state, i, ch)
    return any(r or (fallback and s and term) for r, s, term in state.values())


def _pick(ready: dict[int, int], terminating: dict[int, int], in_scope: list[bool], fallback: bool,
          full: int) -> dict[int, int]:
    """``CategorizeEndpoints``: the ready endpoints in scope; with the fallback, the
    serving-terminating ones in scope while no endpoint in scope is ready."""
    any_ready = 0
    for i, m in ready.items():
        if in_scope[i]:
            any_ready |= m
    out: dict[int, int] = {}
    for i in set(ready) | set(terminating):
        if not in_scope[i]:
            continue
        m = ready.get(i, 0)
        if fallback:
            m |= terminating.get(i, 0) & ~any_ready
        if m:
            out[i] = m & full
    return out
