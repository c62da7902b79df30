"""What one simulation produced (``Run``) and its violations.

``Run.first`` evaluates a property on the run's timeline (``properties.find``). A violation
is structured data (instant, node, pod, entry, the bindings found); its wording is the
cause handler's (``model/causes``), not the simulator's.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from zdverify.grammar.spec_language import Sort
from zdverify.model.scenario import EntrySpec
from zdverify.model.simulator.properties import Found, Timeline, find
from zdverify.model.verdict import Property, Step


@dataclass(frozen=True)
class Violation:
    prop: Property
    t: float
    t_end: float
    node: int
    pod: str | None
    entry: EntrySpec | None
    found: Found | None = None


@dataclass
class Run:
    """Everything one simulation produced; properties are evaluated on ``timeline``."""

    steps: list[Step] = field(default_factory=list)
    completed: bool = False
    local_empty_at: dict[int, float] = field(default_factory=dict)  # node -> first time it has no local ready pod
    local_ready_at: dict[int, float] = field(default_factory=dict)  # node -> first time it gains one (none at 0)
    pod_nodes: dict[str, int] = field(default_factory=dict)  # pod name -> node index
    # each pod's scheduling: (pod, node, the workload's pods then on nodes, with their nodes)
    placements: list[tuple[str, int, list[tuple[str, int]]]] = field(default_factory=list)
    timeline: Timeline | None = None
    node_names: tuple[str, ...] = ()
    drain: bool = False  # a drain (--drain) rather than a rollout
    _found: dict[str, Violation | None] = field(default_factory=dict, repr=False)

    def first(self, prop: Property) -> Violation | None:
        """The earliest violation of ``prop`` in this run, if any."""
        if prop.rule_id not in self._found:
            self._found[prop.rule_id] = self._evaluate(prop)
        return self._found[prop.rule_id]

    def known(self, v: Violation) -> None:
        """``v`` was found on a run with the same choices and delays (same timeline)."""
        self._found[v.prop.rule_id] = v

    def _evaluate(self, prop: Property) -> Violation | None:
        tl = self.timeline
        assert tl is not None
        violation = prop.claim.violation()
        if violation is None:  # always completes
            if tl.completed:
                return None
            return Violation(prop, tl.horizon, tl.horizon, 0, None, None)
        found = find(tl, violation)
        if found is None:
            return None
        pod_i = found.bound(Sort.POD)
        node = found.bound(Sort.NODE)
        pod = tl.pods[int(pod_i)] if pod_i is not None else None
        if node is None:
            node = pod.node if pod is not None else 0
        return Violation(prop, found.t, found.t_end, int(node), pod.name if pod else None, found.entry, found)

