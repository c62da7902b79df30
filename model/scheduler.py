"""Scheduler: where a pod may be placed.

Simplifications:
 1. Without a cluster file every one of the ``--nodes`` nodes carries the labels the
    workload asks for (nodeSelector, required node affinity) and has room: every node is
    feasible for every pod.
 2. With a cluster file, a node is feasible when ``feasible(template, node)`` holds
    (nodeSelector, required node affinity, NoSchedule/NoExecute taints). The scheduler may
    pick any feasible node: preferred rules narrow nothing in a proof.
 3. Pod (anti-)affinity, topology spread constraints and node capacity are not modelled.
    As placement rules they only narrow the choices; but required anti-affinity or a
    DoNotSchedule spread can keep a new pod Pending, which the ``pod-start`` bound does not
    cover — such workloads' proofs list that assumption (``scheduling``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from typing import TYPE_CHECKING

from zdverify.model.objects import PodTemplate, Taint

if TYPE_CHECKING:
    from zdverify.model.scenario import Scenario

# Taint effects the scheduler's filter enforces; PreferNoSchedule only scores.
_BLOCKING_EFFECTS = ("NoSchedule", "NoExecute")


ZONE_LABEL = "topology.kubernetes.io/zone"


@dataclass(frozen=True)
class Node:
    """A cluster node as the scheduler's filters see it."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    taints: tuple[Taint, ...] = ()


def feasible(template: PodTemplate, node: Node) -> bool:
    """May the scheduler place a pod of ``template`` on ``node``? (Its filter phase.)

    Kubernetes "Assigning Pods to Nodes" and "Taints and Tolerations": every nodeSelector
    label must be equal; if required node affinity is set, at least one of its terms must
    match (terms ORed, requirements ANDed); every NoSchedule/NoExecute taint must be
    tolerated. Preferred terms and PreferNoSchedule taints only score, never filter.
    """
    labels = node.labels
    if any(labels.get(k) != v for k, v in template.node_selector.items()):
        return False
    if template.required_node_terms and not any(t.matches(labels) for t in template.required_node_terms):
        return False
    return all(
        any(t.tolerates(taint) for t in template.tolerations)
        for taint in node.taints
        if taint.effect in _BLOCKING_EFFECTS
    )


def feasible_nodes(sc: Scenario) -> tuple[int, ...]:
    return sc.feasible


def can_place_elsewhere(sc: Scenario) -> bool:
    """Can a new pod avoid a given node? (What lets a node lose its last local pod.)"""
    return len(feasible_nodes(sc)) >= 2
