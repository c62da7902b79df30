"""Scheduler: where a pod may be placed.

Simplifications:
 1. Without a cluster file every one of the ``--nodes`` nodes carries the labels the
    workload asks for (nodeSelector, required node affinity) and has room: every node is
    feasible for every pod, and the scheduler may pick any of them (preferred rules narrow
    nothing in a proof). Issue D adds affinity, spread constraints, taints and capacity.
"""
from __future__ import annotations

from zdverify.model.scenario import Scenario


def feasible_nodes(sc: Scenario) -> range:
    return range(sc.nodes)


def can_place_elsewhere(sc: Scenario) -> bool:
    """Can a new pod avoid a given node? (What lets a node lose its last local pod.)"""
    return len(feasible_nodes(sc)) >= 2
