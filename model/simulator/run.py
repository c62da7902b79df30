"""What one simulation produced (``Run``) and its violations in the client's words.

``Run.first`` evaluates a property on the run's timeline (``properties.find``) and says
what the client experiences (``_describe``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from zdverify.grammar.spec_language import Sort
from zdverify.model.scenario import EntrySpec
from zdverify.model.simulator.properties import Found, PodLife, Timeline, find
from zdverify.model.verdict import Cause, Property, Step


@dataclass(frozen=True)
class Violation:
    prop: Property
    t: float
    t_end: float
    node: int
    pod: str | None
    entry: EntrySpec | None
    text: str
    found: Found | None = None


@dataclass
class Run:
    """Everything one simulation produced; properties are evaluated on ``timeline``."""

    steps: list[Step] = field(default_factory=list)
    completed: bool = False
    local_empty_at: dict[int, float] = field(default_factory=dict)  # node -> first time it has no local ready pod
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

    def _evaluate(self, prop: Property) -> Violation | None:
        tl = self.timeline
        assert tl is not None
        violation = prop.claim.violation()
        if violation is None:  # always completes
            if tl.completed:
                return None
            return Violation(prop, tl.horizon, tl.horizon, 0, None, None,
                             "the drain does not finish" if self.drain else "the rollout does not finish")
        found = find(tl, violation)
        if found is None:
            return None
        pod_i = found.bound(Sort.POD)
        node = found.bound(Sort.NODE)
        pod = tl.pods[int(pod_i)] if pod_i is not None else None
        if node is None:
            node = pod.node if pod is not None else 0
        where = self.node_names[int(node)] if int(node) < len(self.node_names) else "load-balancer"
        return Violation(prop, found.t, found.t_end, int(node), pod.name if pod else None, found.entry,
                         _describe(prop, found, pod, where, tl), found)


def _describe(prop: Property, found: Found, pod: PodLife | None, where: str, tl: Timeline) -> str:
    """What the client experiences, in the words of the property's cause."""
    e = found.entry
    via = (f"a request via the {e.text}" if e is not None and e.ip else
           f"a request via the {e.text} entering {where}" if e is not None else f"at {where}")
    if prop.cause is Cause.NO_ENDPOINT and e is not None and e.ip:
        return f"{via} finds no healthy target (503, or fail-open to unhealthy targets)"
    if prop.cause is Cause.NO_ENDPOINT and e is not None:
        return f"{via} finds no endpoint ({'dropped' if e.local else 'rejected'})"
    if pod is not None and prop.cause in (Cause.STARTUP, Cause.TERMINATION):
        why = ("has already closed its listener" if pod.old else
               "was killed and is restarting" if found.t >= pod.killed else "has not started listening yet")
        return f"{via} is sent to {pod.name}, which {why}"
    if pod is not None and prop.cause is Cause.KILLED_IN_FLIGHT:
        return (f"{via} is accepted by {pod.name} at t={found.t:.2f}s and still runs ({tl.request:g}s) "
                f"when SIGKILL arrives at t={pod.sigkill:.2f}s")
    names = ", ".join(f"{name} = {tl.pods[int(v)].name if s is Sort.POD else where if s is Sort.NODE else v}"
                      for name, s, v in found.bindings)
    claim = prop.claim.kind.value
    return (f"{prop.description.rstrip('.')}: the {claim} claim of {prop.rule_id} fails"
            + (f" for {names}" if names else ""))
