"""The entities of one Z3 query: the pods, nodes and zones a property's violation names,
plus the representatives the components' lemmas talk about, and the encoding context.

A query (``properties.py``) takes the outermost ``exists`` of a violation as entities; the
components' rooms (``kubelet.py``, ``deployment.py``, ``scheduler.py``, ``endpointslice.py``,
``kube_proxy.py``, ``load_balancer.py``) constrain them, wired in ``wiring.py``.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import z3

from zdverify.model.checker.encoding import Encoding
from zdverify.model.run import NEVER  # noqa: F401  (the checker's name for it)

if TYPE_CHECKING:
    from zdverify.model.checker import kubelet
    from zdverify.model.checker.graph import GraphFacts
    from zdverify.model.scenario import Scenario



@dataclass
class PodEntity:
    """A symbolic old or new pod of a query."""

    name: str
    old: bool
    role: str  # "bound", "first-new", "last-old", "last-local", "available" (a new pod available before the last old pod's deletion)
    z: kubelet.OldPod | kubelet.NewPod | None = None
    past: z3.ArithRef | None = None  # old pods: when they were created/started/ready (before 0)


@dataclass
class NodeEntity:
    """A symbolic node of a query (feasible for the workload's pods, or not)."""

    name: str
    feasible: bool
    last_local: PodEntity | None = None
    target_group: bool = False  # IP targets: the load balancer's target group stands for the node


@dataclass
class Case:
    """Entities of one query and the encoding context."""

    enc: Encoding
    gf: GraphFacts
    local: bool
    lb: bool
    ip: bool = False
    pods: list[PodEntity] = field(default_factory=list)
    targets: dict[str, tuple[z3.ArithRef, z3.ArithRef | None]] = field(default_factory=dict)  # pod -> (in, out)
    nodes: list[NodeEntity] = field(default_factory=list)
    env: dict[str, object] = field(default_factory=dict)
    applied: dict[tuple[str, str], z3.ArithRef] = field(default_factory=dict)  # (node, change) -> instant
    on_vars: dict[tuple[str, str], z3.BoolRef] = field(default_factory=dict)
    no_ready: dict[str, z3.BoolRef] = field(default_factory=dict)
    slices: dict[str, z3.ArithRef] = field(default_factory=dict)  # change -> when the slice has it
    fresh: itertools.count = field(default_factory=itertools.count)

    @property
    def sc(self) -> Scenario:
        return self.enc.sc

    @property
    def t(self) -> z3.ArithRef:
        return self.enc.real("t")

    def bool(self, name: str) -> z3.BoolRef:
        return z3.Bool(f"{name}#{next(self.fresh)}", self.enc.ctx)
