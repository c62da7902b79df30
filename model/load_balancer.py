"""Cloud load balancer in front of a LoadBalancer Service.

Follows KEP-1669/KEP-3836 and k8s-semantics.md §5.4, §6.1–6.2: with
``externalTrafficPolicy: Cluster`` every node is a healthy backend; with ``Local`` the
load balancer health-checks each node's healthCheckNodePort, which fails from the moment
that node's kube-proxy has no local ready, non-terminating endpoint.

Simplifications:
 1. Health checks run every ``interval`` per node with an arbitrary phase; a node stops
    getting new flows after ``unhealthy`` consecutive failures (the last answering within
    ``timeout``), i.e. ``[(U-1)·I, U·I + timeout)`` after the flip; it is added back after
    ``healthy`` consecutive successes.
 2. Profiles other than ``generic`` (AWS, GCP, Azure, …) and IP-target load balancers come
    with issues C and D.
"""
from __future__ import annotations

import z3

from zdverify.model.assumptions import Interval
from zdverify.model.timing import Encoding


def stops_sending(enc: Encoding, node: str, flip: z3.ArithRef) -> z3.ArithRef:
    """When the load balancer stops sending new flows to ``node`` whose check fails from ``flip``."""
    lb = enc.sc.settings.lb
    first = enc.within(f"lb.{node}.first", Interval(0, lb.interval))
    enc.add(first < lb.interval)
    resp = enc.within(f"lb.{node}.resp", Interval(0, lb.timeout))
    t = enc.real(f"lb.{node}.removed")
    enc.add(t == flip + first + (lb.unhealthy - 1) * lb.interval + resp)
    return t

