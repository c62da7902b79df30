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
"""
from __future__ import annotations

import z3

from zdverify.model.checker.endpointslice import Change, fifo
from zdverify.model.checker.encoding import Encoding


def apply(enc: Encoding, node: str, changes: list[Change], slice_times: dict[str, z3.ArithRef],
          same_order: list[tuple[str, str]]) -> dict[str, z3.ArithRef]:
    """When ``node``'s rules reflect each change."""
    out: dict[str, z3.ArithRef] = {}
    for c in changes:
        a = enc.real(f"{node}.{c.name}")
        enc.add(a == slice_times[c.name] + enc.within(f"{node}.{c.name}.delay", enc.bound("kube-proxy")))
        out[c.name] = a
    fifo(enc, changes, out, same_order)  # rules follow the slice's order of changes
    return out


def routes_terminating(t: z3.ArithRef, removed: z3.ArithRef, not_serving: z3.ArithRef,
                       fallback: bool) -> z3.BoolRef:
    """A deleted pod is still chosen at ``t``: its removal from the ready set has not been
    applied, or (fallback) no ready endpoint is left in scope and it still counts as serving.
    The caller decides whether the fallback can be active (``fallback``)."""
    if fallback:
        return z3.Or(t < removed, t < not_serving)
    return t < removed
