"""Scheduler: where a pod may be placed, and when it has to wait.

Follows the scheduler's filter plugins (``pkg/scheduler/framework/plugins``): NodeAffinity,
TaintToleration, InterPodAffinity, PodTopologySpread, and the node's room for pods.

Simplifications:
 1. Without a cluster file every one of the ``--nodes`` nodes carries the labels the
    workload asks for (nodeSelector, required node affinity) and has room: every node is
    feasible for every pod. Zones are unknown then.
 2. With a cluster file, a node is feasible when ``feasible(template, node)`` holds
    (nodeSelector, required node affinity, NoSchedule/NoExecute taints). Preferred rules
    (preferred node/pod (anti-)affinity, ScheduleAnyway spreads) only score: the scheduler
    may still pick any feasible node, so they narrow nothing; a counterexample that relies on
    a placement they discourage says so (``discouraged``).
 3. Required pod anti-affinity of the workload's own pods per hostname or zone, and a node's
    ``pods:`` room (cluster file), are caps: at most k pods of the workload per node or zone.
    With a cluster file, "zone" stands for any one node label besides the hostname that the
    rules use (a rack, a region); a node without the label is in no such domain (a spread
    whose pods may go to such a node is not modelled: its filter rejects the node).
    Old and new pods count against each other (their labels match the same selector) unless
    the term has ``matchLabelKeys: [pod-template-hash]`` (KEP-3633, on from 1.31). A
    terminating pod still counts until it is gone [inference: the scheduler's snapshot keeps a
    pod until it is deleted from the API server; kubernetes#116891, #90151]. A new pod with no
    room stays Pending until a pod is gone.
 4. DoNotSchedule spread constraints (hostname or zone) filter nodes by skew, counting the
    matching pods that are not terminating (``countPodsMatchSelector``), per revision with
    ``matchLabelKeys: [pod-template-hash]``. On their own they never keep a pod Pending: the
    domain with the fewest pods always passes (skew 1 <= maxSkew).
 5. ``minDomains`` (on from 1.27) changes nothing while the spread has at least that many
    eligible domains (nodes its pods may go to, or their zones); with fewer, the global
    minimum is taken as 0 (``pkg/scheduler/framework/plugins/podtopologyspread/filtering.go``).
 6. Not modelled exactly (the proof then lists a ``scheduling`` assumption): required pod
    affinity (it depends on other workloads' pods), topology keys other than the hostname
    without a cluster file or two of them at once, ``minDomains`` above the eligible domains,
    a DoNotSchedule spread together with caps, with
    tainted nodes (``nodeTaintsPolicy: Ignore`` keeps them as domains) or during a drain
    (the cordoned node stays a domain), and with ``--from`` caps the old pods were not
    placed by (``scenario.build_scenario``: they may leave room the caps' count denies).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping, Sequence

from zdverify.model.objects import PodTemplate, SpreadConstraint, Taint
from zdverify.model.source import Loc

if TYPE_CHECKING:
    from zdverify.model.scenario import Scenario

# Taint effects the scheduler's filter enforces; PreferNoSchedule only scores.
_BLOCKING_EFFECTS = ("NoSchedule", "NoExecute")


ZONE_LABEL = "topology.kubernetes.io/zone"
HOSTNAME_LABEL = "kubernetes.io/hostname"
REVISION_LABEL = "pod-template-hash"  # set by the Deployment controller on every pod of a ReplicaSet


@dataclass(frozen=True)
class Node:
    """A cluster node as the scheduler's filters see it."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    taints: tuple[Taint, ...] = ()
    pods: int | None = None  # cluster file ``pods:``: room for this many pods of the workload


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


def feasible_ignoring_taints(template: PodTemplate, node: Node) -> bool:
    """The spread's domains: nodes that pass nodeSelector and required node affinity
    (``nodeAffinityPolicy: Honor``), taints aside (``nodeTaintsPolicy: Ignore``)."""
    return feasible(template, Node(node.name, node.labels))


def feasible_nodes(sc: Scenario) -> tuple[int, ...]:
    return sc.feasible


def can_place_elsewhere(sc: Scenario) -> bool:
    """Can a new pod avoid a given node? (What lets a node lose its last local pod.)"""
    return len(feasible_nodes(sc)) >= 2


@dataclass(frozen=True)
class Cap:
    """At most ``limit`` pods of the workload per node (``zone`` False) or per zone;
    ``cross``: old and new pods count together (else each revision on its own)."""

    limit: int
    zone: bool
    cross: bool
    why: str
    loc: Loc | None = None
    host_port: bool = False  # a hostPort (NodePorts filter), not an anti-affinity rule


@dataclass(frozen=True)
class Placed:
    """A pod as the scheduler's filters see it at one instant."""

    node: int
    new: bool
    terminating: bool


@dataclass(frozen=True)
class Placement:
    """The required inter-pod rules of one workload on a cluster (simplifications 3-6)."""

    caps: tuple[Cap, ...] = ()
    node_room: tuple[int | None, ...] = ()  # per node: the cluster file's ``pods:``
    spread: tuple[tuple[SpreadConstraint, bool], ...] = ()  # hard constraints, per revision?
    zones: tuple[str, ...] = ()
    feasible: tuple[int, ...] = ()
    unmodelled: str = ""  # what keeps these rules from being exact ("" if nothing)
    loc: Loc | None = None
    group: str = ZONE_LABEL  # the node label whose values ``zones`` holds (the zone, a rack, a region)

    def _limit(self, node: int, zone: bool, cross: bool) -> float:
        limits = [c.limit for c in self.caps if c.zone == zone and c.cross == cross]
        if not zone and cross and node < len(self.node_room) and self.node_room[node] is not None:
            limits.append(self.node_room[node])  # type: ignore[arg-type]
        return min(limits, default=float("inf"))

    def slots(self) -> int:
        """How many pods of the workload, old and new together, fit at once (0: no limit).
        Only the caps shared by both revisions bound the rollout's total."""
        return self._fit(True)

    def per_revision_slots(self) -> int:
        """How many pods of one revision fit (0: no limit)."""
        return self._fit(False)

    def _fit(self, cross: bool) -> int:
        """Pods that fit under the shared caps (and, unless ``cross``, the per-revision ones):
        each node's room, summed per zone and cut at the zone's cap."""
        zone_cap = min(self._limit(0, True, True), self._limit(0, True, cross))
        by_zone: dict[str, float] = {}
        total = 0.0
        for n in self.feasible:
            room = min(self._limit(n, False, True), self._limit(n, False, cross))
            z = self.zones[n] if n < len(self.zones) else ""
            if z and zone_cap < float("inf"):
                by_zone[z] = by_zone.get(z, 0.0) + room
            else:
                total += room
        total += sum(min(room, zone_cap) for room in by_zone.values())
        return 0 if total == float("inf") else int(total)

    def room(self, node: int, new: bool, pods: Sequence[Placed]) -> bool:
        """May a pod (``new`` revision or not) go to ``node`` next to ``pods``? Caps count
        pods until they are gone; spreads skip terminating pods."""
        zone = self.zones[node] if node < len(self.zones) else ""
        for zone_scope in (False, True):
            if zone_scope and not zone:
                continue
            for cross in (True, False):
                limit = self._limit(node, zone_scope, cross)
                if limit == float("inf"):
                    continue
                same = [p for p in pods if (p.node == node if not zone_scope else
                                            (self.zones[p.node] if p.node < len(self.zones) else "") == zone)
                        and (cross or p.new == new)]
                if len(same) + 1 > limit:
                    return False
        for c, per_revision in self.spread:
            domain = self._domain(c)
            counts = {domain(n): 0 for n in self.feasible}
            for p in pods:
                if not p.terminating and (not per_revision or p.new == new):
                    d = domain(p.node)
                    if d in counts:
                        counts[d] += 1
            if counts and counts[domain(node)] + 1 - min(counts.values()) > c.max_skew:
                return False
        return True

    def _domain(self, c: SpreadConstraint):  # type: ignore[no-untyped-def]
        if c.topology_key != HOSTNAME_LABEL:
            return lambda n: self.zones[n] if n < len(self.zones) else ""
        return lambda n: n

    def same_caps(self, other: Placement) -> bool:
        """Do both cap the pods alike (anti-affinity caps, node room, on the same domains)?"""
        def key(p: Placement) -> tuple:
            return (tuple((c.limit, c.zone, c.cross) for c in p.caps), p.node_room,
                    (p.zones, p.group) if p.caps else (), p.feasible)
        return key(self) == key(other)

    def same_rules(self, other: Placement) -> bool:
        """Do both place pods alike (where the rules are written aside)?"""
        return self.same_caps(other) and (self.spread, self.zones, self.group, self.unmodelled) == (
            other.spread, other.zones, other.group, other.unmodelled)

    @property
    def limited(self) -> bool:
        """Does anything cap how many pods fit (anti-affinity caps, a node's room)?"""
        return bool(self.caps) or any(x is not None for x in self.node_room)

    def one_per_node(self) -> tuple[bool, bool]:
        """(old and new pods together, each revision) hold at most one pod on every feasible
        node — the cap the proofs use exactly."""
        def one(cross: bool) -> bool:
            return bool(self.feasible) and all(self._limit(n, False, cross) <= 1 for n in self.feasible)
        shared = one(True)
        return shared, shared or one(False)

    def why(self) -> str:
        """What limits the room, for messages."""
        parts = [c.why + ("" if c.cross else ", per revision") for c in self.caps]
        if any(x is not None for x in self.node_room):
            parts.append("the nodes' pods: room in the cluster file")
        return "; ".join(parts) or "no rule"

    @property
    def exact(self) -> bool:
        return not self.unmodelled


def placement(template: PodTemplate, namespace: str, nodes: Sequence[Node] | int, feasible: Sequence[int],
              version: tuple[int, int], kind_has_revision_label: bool) -> Placement:
    """The workload's required inter-pod rules on these nodes (an int: ``--nodes``)."""
    from_file = not isinstance(nodes, int)
    labels = template.labels
    # the one topology key besides the hostname the rules may use (the zone, or a rack or
    # region label of the cluster file): its values group the nodes ("zones" below)
    keys = {t.topology_key for t in template.anti_affinity if t.selects_own(namespace, labels)} | {
        c.topology_key for c in template.spread if c.hard and c.selector.matches(labels)}
    keys.discard(HOSTNAME_LABEL)
    group = next(iter(keys)) if from_file and len(keys) == 1 else ZONE_LABEL
    grouped = from_file and len(keys) <= 1
    word = "zone" if group == ZONE_LABEL else group
    zones = tuple(n.labels.get(group, "") for n in nodes) if not isinstance(nodes, int) else ()
    room = tuple(n.pods for n in nodes) if not isinstance(nodes, int) else ()
    caps: list[Cap] = []
    unmodelled: list[str] = []
    loc: Loc | None = None

    def per_revision(keys: tuple[str, ...], since: tuple[int, int]) -> bool:
        return kind_has_revision_label and REVISION_LABEL in keys and version >= since

    for t in template.anti_affinity:
        if not t.selects_own(namespace, labels):
            continue  # about other workloads' pods: they are not in the model
        loc = loc or t.loc
        cross = not per_revision(t.match_label_keys, (1, 31))
        if t.topology_key == HOSTNAME_LABEL:
            caps.append(Cap(1, False, cross, "required pod anti-affinity per node", t.loc))
        elif t.topology_key == group and grouped:
            caps.append(Cap(1, True, cross, f"required pod anti-affinity per {word}", t.loc))
        else:
            unmodelled.append(f"required pod anti-affinity on {t.topology_key}")
    host = next(((p, c) for c in template.containers for p in c.ports if p.host_port is not None), None)
    if host is not None:
        # the scheduler's NodePorts filter: a node whose pod holds the hostPort takes no other
        # pod asking for it — old and new pods alike, terminating ones until they are gone
        port, c = host
        loc = loc or port.loc
        caps.append(Cap(1, False, True, f"hostPort {port.host_port}/{port.protocol} of container {c.name!r} "
                                        "(one pod per node)", port.loc, host_port=True))
    if template.pod_affinity:
        unmodelled.append("required pod affinity (it depends on other workloads' pods)")
    spread: list[tuple[SpreadConstraint, bool]] = []
    for c in template.spread:
        if not c.hard or not c.selector.matches(labels):
            continue
        loc = loc or c.loc
        domains = _eligible_domains(template, nodes, c.topology_key)
        if c.min_domains > 1 and version >= (1, 27) and (domains is None or domains < c.min_domains):
            unmodelled.append(f"a spread constraint with minDomains {c.min_domains} above its "
                              + (f"{domains} eligible domains (at most maxSkew pods per domain, the rest Pending)"
                                 if domains is not None else "eligible domains"))
        elif c.topology_key != HOSTNAME_LABEL and grouped and not all(zones[i] for i in feasible):
            # the filter rejects a node without the label: pods may find no node at all
            unmodelled.append(f"a DoNotSchedule spread on {word} with nodes that lack the label")
        elif c.topology_key == HOSTNAME_LABEL or (c.topology_key == group and grouped):
            spread.append((c, per_revision(c.match_label_keys, (1, 27))))
        else:
            unmodelled.append(f"a DoNotSchedule spread on {c.topology_key}")
    if spread and (any(c.cross for c in caps) or any(r is not None for r in room)):
        unmodelled.append("a DoNotSchedule spread together with anti-affinity or node room")
    if spread and not isinstance(nodes, int) and any(
            n.taints and i not in feasible and feasible_ignoring_taints(template, n) for i, n in enumerate(nodes)):
        # nodeTaintsPolicy defaults to Ignore: a tainted node is still a domain, and an empty one
        # can keep the others at maxSkew
        unmodelled.append("a DoNotSchedule spread with tainted nodes its pods do not tolerate")
    if any(r is not None for r in room):
        loc = loc or template.loc
    return Placement(tuple(caps), room, tuple(spread), zones, tuple(feasible), "; ".join(unmodelled), loc,
                     group)


def _eligible_domains(template: PodTemplate, nodes: Sequence[Node] | int, key: str) -> int | None:
    """How many domains a spread on ``key`` counts (``TpKeyToDomainsNum``): the distinct
    values among the nodes its pods may go to, taints aside (``nodeTaintsPolicy: Ignore``);
    None when unknown (keys other than the hostname without a cluster file)."""
    if isinstance(nodes, int):
        return nodes if key == HOSTNAME_LABEL else None
    eligible = [n for n in nodes if feasible_ignoring_taints(template, n)]
    if key == HOSTNAME_LABEL:
        return len(eligible)
    return len({n.labels[key] for n in eligible if key in n.labels})


def has_preferences(template: PodTemplate) -> bool:
    """Does the template have rules ``discouraged`` reads (preferred affinities, ScheduleAnyway
    spreads)?"""
    return bool(template.preferred_node_terms or template.preferred_anti_affinity
                or any(not c.hard for c in template.spread))


def discouraged(template: PodTemplate, namespace: str, nodes: Sequence[Node] | int, feasible: Sequence[int],
                placed: Sequence[tuple[str, int, Sequence[tuple[str, int]]]]) -> list[tuple[str, Loc]]:
    """What preferred rules say about a run's placements: (text, where) for each rule some pod
    went against — a preferred node affinity term another feasible node matches, a preferred
    pod anti-affinity term (hostname/zone), a ScheduleAnyway spread. ``placed``: (pod, node,
    the workload's pods then running with their nodes) for each new pod at its scheduling."""
    out: list[tuple[str, Loc]] = []
    labels_of = (lambda n: nodes[n].labels) if not isinstance(nodes, int) else (lambda n: {})
    zones = [labels_of(n).get(ZONE_LABEL, "") for n in range(len(nodes) if not isinstance(nodes, int) else nodes)]

    def domain(key: str, n: int) -> str | int | None:
        if key == HOSTNAME_LABEL:
            return n
        if key == ZONE_LABEL:
            return (zones[n] if n < len(zones) else "") or None
        return None

    seen: set[Loc] = set()
    for name, node, running in placed:
        for term in template.preferred_node_terms:
            if term.loc in seen or term.matches(labels_of(node)):
                continue
            if any(term.matches(labels_of(n)) for n in feasible):
                seen.add(term.loc)
                out.append((f"{name} runs on a node its preferred node affinity does not match (another node "
                            "does): preferences only score — the scheduler may still place it so", term.loc))
        for t in template.preferred_anti_affinity:
            d = domain(t.topology_key, node)
            if d is None or t.loc in seen or not t.selects_own(namespace, template.labels):
                continue
            near = [b for b, n in running if domain(t.topology_key, n) == d]
            free = any(domain(t.topology_key, f) is not None
                       and all(domain(t.topology_key, n) != domain(t.topology_key, f) for _, n in running)
                       for f in feasible)
            if near and free:  # another node was free of such pods: the preference pointed there
                seen.add(t.loc)
                out.append((f"{name} shares {'a node' if t.topology_key == HOSTNAME_LABEL else 'a zone'} "
                            f"with {near[0]}: preferred pod anti-affinity (weight {t.weight}) discourages it, "
                            "but only scores — the scheduler may still place it so", t.loc))
        for c in template.spread:
            if c.hard or c.loc in seen or not c.selector.matches(template.labels):
                continue
            d = domain(c.topology_key, node)
            if d is None:
                continue
            counts = {domain(c.topology_key, n): 0 for n in feasible}
            for _, n in running:
                counts[domain(c.topology_key, n)] = counts.get(domain(c.topology_key, n), 0) + 1
            low = min(counts.values(), default=0)
            if counts.get(d, 0) + 1 - low > c.max_skew and low + 1 - low <= c.max_skew:
                seen.add(c.loc)
                out.append((f"{name} makes the skew exceed maxSkew {c.max_skew}: the ScheduleAnyway spread "
                            "discourages it, but only scores — the scheduler may still place it so", c.loc))
    return out
