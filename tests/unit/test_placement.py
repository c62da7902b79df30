"""Required and preferred inter-pod placement (model/scheduler.py ``Placement``) and the
Pending pods it causes in the rollout graph (model/rollout.py ``Rollout.slots``, model/checker/graph.py).

Facts: k8s-semantics.md §7 (required hostname anti-affinity with replicas == nodes leaves
surge pods Pending; topology spread counts both revisions unless matchLabelKeys names
pod-template-hash); the scheduler's PodTopologySpread skips terminating pods
(``countPodsMatchSelector``, kubernetes#87621); KEP-3633 (matchLabelKeys in pod
(anti-)affinity: beta and on in 1.31); kubernetes#116891 (3 replicas, 3 nodes, required
anti-affinity: the rollout hangs).
"""
from __future__ import annotations

import textwrap

import pytest

from zdverify.model.checker.graph import facts
from zdverify.model.rollout import Rollout
from zdverify.model.kube import build_objects
from zdverify.model.load import load_text
from zdverify.model.objects import PodTemplate, Strategy
from zdverify.model.scheduler import ZONE_LABEL, Node, Placed, discouraged, placement
from zdverify.model.source import InputError

BASE = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx}]
"""


def template(rules: str) -> PodTemplate:
    text = BASE + textwrap.indent(textwrap.dedent(rules), "      ")
    (w,) = build_objects(load_text(text, "p.yaml")).workloads
    return w.template


ANTI_HOST = """\
affinity:
  podAntiAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
    - labelSelector: {matchLabels: {app: web}}
      topologyKey: kubernetes.io/hostname
"""


def rules_of(rules: str, nodes: int | list[Node] = 3, version: tuple[int, int] = (1, 34)):  # type: ignore[no-untyped-def]
    t = template(rules)
    n = nodes if isinstance(nodes, int) else len(nodes)
    return placement(t, "default", nodes, tuple(range(n)), version, True)


def test_required_hostname_anti_affinity_is_one_pod_per_node_across_revisions() -> None:
    r = rules_of(ANTI_HOST)
    assert r.exact and r.slots() == 3
    old_on_0 = [Placed(0, False, False)]
    assert not r.room(0, True, old_on_0) and r.room(1, True, old_on_0)
    # a terminating old pod still holds its node until it is gone
    assert not r.room(0, True, [Placed(0, False, True)])
    assert r.room(0, True, [])


@pytest.mark.parametrize("version, per_revision", [((1, 31), True), ((1, 34), True), ((1, 30), False)])
def test_match_label_keys_pod_template_hash_separates_revisions_from_1_31(version, per_revision) -> None:
    r = rules_of(ANTI_HOST + "      matchLabelKeys: [pod-template-hash]\n", version=version)
    assert r.room(0, True, [Placed(0, False, False)]) is per_revision
    assert not r.room(0, True, [Placed(0, True, False)])  # one new pod per node either way
    assert r.slots() == (0 if per_revision else 3) and r.per_revision_slots() == 3


def test_terms_about_other_workloads_are_not_caps() -> None:
    r = rules_of(ANTI_HOST.replace("{app: web}", "{app: db}"))
    assert r.caps == () and r.slots() == 0 and r.room(0, True, [Placed(0, False, False)])


def test_zone_anti_affinity_needs_zones_from_a_cluster_file() -> None:
    zone = ANTI_HOST.replace("kubernetes.io/hostname", "topology.kubernetes.io/zone")
    nodes = [Node(f"n{i}", {"topology.kubernetes.io/zone": z}) for i, z in enumerate("aab")]
    r = rules_of(zone, nodes)
    assert r.exact and r.slots() == 2  # one pod per zone, two zones
    assert not r.room(1, True, [Placed(0, False, False)]) and r.room(2, True, [Placed(0, False, False)])
    unknown = rules_of(zone, 3)
    assert not unknown.exact and "topology.kubernetes.io/zone" in unknown.unmodelled


def test_node_room_from_the_cluster_file() -> None:
    nodes = [Node("a", {}, (), 2), Node("b", {}, (), 1)]
    r = rules_of("", nodes)
    assert r.slots() == 3
    assert r.room(0, True, [Placed(0, False, True)]) and not r.room(1, True, [Placed(1, False, True)])


def test_spread_skips_terminating_pods_and_allows_the_emptiest_domain() -> None:
    r = rules_of("""\
topologySpreadConstraints:
- {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule,
   labelSelector: {matchLabels: {app: web}}}
""", 2)
    assert r.exact and r.slots() == 0  # a spread alone is not a cap
    two_on_0 = [Placed(0, False, False), Placed(0, False, False)]
    assert not r.room(0, True, two_on_0) and r.room(1, True, two_on_0)
    # a terminating pod is not counted: 1 on each node, so either node may take one more
    assert r.room(0, True, [Placed(0, False, False), Placed(0, False, True), Placed(1, False, False)])


@pytest.mark.parametrize("rules, what", [
    ("affinity:\n  podAffinity:\n    requiredDuringSchedulingIgnoredDuringExecution:\n"
     "    - {labelSelector: {matchLabels: {app: db}}, topologyKey: kubernetes.io/hostname}\n", "pod affinity"),
    (ANTI_HOST.replace("kubernetes.io/hostname", "example.com/rack"), "example.com/rack"),
    ("topologySpreadConstraints:\n- {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: "
     "DoNotSchedule, minDomains: 5, labelSelector: {matchLabels: {app: web}}}\n", "minDomains 5 above its 3"),
])
def test_rules_not_modelled_exactly_are_named(rules: str, what: str) -> None:
    r = rules_of(rules)
    assert not r.exact and what in r.unmodelled


@pytest.mark.parametrize("rules, message, line", [
    ("affinity:\n  podAntiAffinity:\n    requiredDuringSchedulingIgnoredDuringExecution:\n"
     "    - {labelSelector: {matchLabels: {app: web}}, topologyKey: ''}\n", "can not be empty", 14),
    ("topologySpreadConstraints:\n- {maxSkew: 0, topologyKey: zone, whenUnsatisfiable: DoNotSchedule}\n",
     "must be at least 1", 12),
    ("topologySpreadConstraints:\n- {maxSkew: 1, topologyKey: zone, whenUnsatisfiable: Sometimes}\n",
     "DoNotSchedule", 12),
    ("affinity:\n  podAntiAffinity:\n    preferredDuringSchedulingIgnoredDuringExecution:\n"
     "    - {weight: 101, podAffinityTerm: {topologyKey: x}}\n", "at most 100", 14),
])
def test_invalid_rules_are_located(rules: str, message: str, line: int) -> None:
    with pytest.raises(InputError) as e:
        template(rules)
    assert message in e.value.message and e.value.loc is not None and e.value.loc.line == line


# ------------------------------------------------------------------- Pending in the rollout graph
def test_replicas_equal_to_nodes_with_surge_and_no_unavailable_hangs() -> None:
    """kubernetes#116891: 3 replicas, 3 nodes, required hostname anti-affinity, maxSurge 1 /
    maxUnavailable 0: the surge pod stays Pending and no old pod is ever deleted."""
    stuck = facts(Rollout(3, Strategy.ROLLING_UPDATE, 1, 0, slots=3))
    assert not stuck.always_completes and stuck.pending and not stuck.starts and not stuck.deletes
    # maxUnavailable 1 frees a place first: the new pod waits for the old one to be gone
    ok = facts(Rollout(3, Strategy.ROLLING_UPDATE, 0, 1, slots=3))
    assert ok.always_completes and ok.pending and ok.starts
    # a fourth node gives the surge pod room
    assert facts(Rollout(3, Strategy.ROLLING_UPDATE, 1, 0, slots=4)).always_completes
    assert not facts(Rollout(3, Strategy.ROLLING_UPDATE, 1, 0)).pending


def test_drain_replacements_need_room_on_the_other_nodes() -> None:
    # 2 replicas, both on the drained node, room for 1 pod on the rest: one replacement never starts
    r = Rollout(2, Strategy.DRAIN, 0, 0, on_drained=2, slots=1)
    assert facts(r).pending and not facts(r).always_completes


# ------------------------------------------------------------------- preferred rules are reported
def test_discouraged_names_preferred_rules_a_placement_goes_against() -> None:
    t = template("""\
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 50
      podAffinityTerm: {labelSelector: {matchLabels: {app: web}}, topologyKey: kubernetes.io/hostname}
""")
    apart = discouraged(t, "default", 3, (0, 1, 2), [("web-new-1", 1, [("web-old-1", 0)])])
    assert apart == []
    shared = discouraged(t, "default", 3, (0, 1, 2), [("web-new-1", 0, [("web-old-1", 0)])])
    assert len(shared) == 1 and "web-old-1" in shared[0][0] and "weight 50" in shared[0][0]
    assert shared[0][1].line == 15  # the podAffinityTerm
    # with every node taken, sharing is no choice of the scheduler's: nothing to report
    full = [("web-old-1", 0), ("web-old-2", 1), ("web-old-3", 2)]
    assert discouraged(t, "default", 3, (0, 1, 2), [("web-new-1", 0, full)]) == []


def test_progress_lemma_with_pending_pods_never_claims_more_than_the_full_graph() -> None:
    """Large graphs with Pending pods decide completion by the progress lemma; where it says
    "completes", the full graph must agree (it may only be more cautious)."""
    from zdverify.model.checker.graph import _progress_lemma

    checked = 0
    for r in range(1, 7):
        for surge in range(0, 3):
            for unavailable in range(0, 3):
                if surge == unavailable == 0 or unavailable > r:
                    continue
                for slots in range(r, 2 * r):
                    rollout = Rollout(r, Strategy.ROLLING_UPDATE, surge, unavailable, slots=slots)
                    full = facts(rollout).always_completes
                    assert not _progress_lemma(rollout) or full, rollout
                    checked += 1
    assert checked > 100


@pytest.mark.parametrize("version, per_revision", [((1, 27), True), ((1, 26), False)])
def test_spread_match_label_keys_counts_one_revision_from_1_27(version, per_revision) -> None:
    """k8s-semantics §7: spreads count old and new pods together unless matchLabelKeys names
    pod-template-hash (KEP-3243, beta and on from 1.27)."""
    r = rules_of("""\
topologySpreadConstraints:
- {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule,
   labelSelector: {matchLabels: {app: web}}, matchLabelKeys: [pod-template-hash]}
""", 2, version)
    two_old_on_0 = [Placed(0, False, False), Placed(0, False, False)]
    # a new pod on node 0: per revision, it is the first new pod anywhere (skew 1)
    assert r.room(0, True, two_old_on_0) is per_revision


def _daemonset(rule: str, surge: int = 0) -> str:
    strategy = (f"  updateStrategy: {{rollingUpdate: {{maxSurge: {surge}, maxUnavailable: 0}}}}\n"
                if surge else "")
    return (BASE.replace("kind: Deployment", "kind: DaemonSet").replace("  replicas: 3\n", strategy)
            + textwrap.indent(rule, "      ")
            + "---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n"
              "  ports: [{port: 80}]\n")


def test_a_daemonsets_per_node_caps_are_modelled() -> None:
    """A DaemonSet's pod is bound to its node: required anti-affinity per node is a cap of
    one pod per node there too, and the rollout's places are the nodes (a surge pod needs the
    place its node's old pod holds)."""
    from zdverify.model.assumptions import settings
    from zdverify.model.pairing import pair
    from zdverify.model.scenario import build_scenario

    pairs, _ = pair(build_objects(load_text(_daemonset(ANTI_HOST), "ds.yaml")))
    sc = build_scenario(pairs[0], 3, settings())
    assert len(sc.placement.caps) == 1 and sc.placement.exact and sc.rollout.slots == 3


def test_a_daemonset_surging_into_its_own_hostport_never_finishes() -> None:
    """The scheduler's NodePorts filter: the surge pod waits for the old pod's hostPort,
    and the old pod is deleted only once the surge pod is available."""
    from zdverify.model.assumptions import settings
    from zdverify.model.checker.graph import facts
    from zdverify.model.pairing import pair
    from zdverify.model.scenario import build_scenario

    def finishes(surge: int) -> bool:
        text = _daemonset("", surge).replace(
            "containers: [{name: web, image: nginx}]",
            "containers: [{name: web, image: nginx, ports: [{containerPort: 80, hostPort: 8080}]}]")
        assert "hostPort: 8080" in text
        pairs, _ = pair(build_objects(load_text(text, "ds.yaml")))
        sc = build_scenario(pairs[0], 3, settings())
        assert [c.host_port for c in sc.placement.caps] == [True] and sc.placement.exact
        return facts(sc.rollout).always_completes

    assert not finishes(1)
    assert finishes(0)


def _min_domains(key: str, k: int) -> str:
    return (f"topologySpreadConstraints:\n- {{maxSkew: 1, topologyKey: {key}, whenUnsatisfiable: "
            f"DoNotSchedule, minDomains: {k}, labelSelector: {{matchLabels: {{app: web}}}}}}\n")


@pytest.mark.parametrize("k, version, exact", [
    (3, (1, 34), True),  # three nodes, three domains: minDomains changes nothing
    (4, (1, 34), False),  # fewer domains than minDomains: the global minimum is taken as 0
    (4, (1, 26), True),  # before 1.27 the MinDomainsInPodTopologySpread gate is off: the field is ignored
])
def test_min_domains_matters_only_above_the_eligible_domains(k: int, version: tuple[int, int], exact: bool) -> None:
    """Pod topology spread: "when the number of eligible domains with matching topology keys
    is less than minDomains, ... global minimum is 0"; otherwise it has no effect."""
    r = rules_of(_min_domains("kubernetes.io/hostname", k), nodes=3, version=version)
    assert r.exact is exact
    assert bool(r.spread) is exact
    if not exact:
        assert "minDomains 4 above its 3 eligible domains" in r.unmodelled


def test_min_domains_counts_the_zones_of_the_nodes_the_pods_may_go_to() -> None:
    """Zones come from the cluster file; a tainted node is still a domain (nodeTaintsPolicy:
    Ignore), a node the pods' node affinity excludes is not."""
    nodes = [Node("a", {ZONE_LABEL: "z1", "pool": "web"}), Node("b", {ZONE_LABEL: "z2", "pool": "web"}),
             Node("c", {ZONE_LABEL: "z3", "pool": "batch"})]
    rules = _min_domains(ZONE_LABEL, 3) + "nodeSelector: {pool: web}\n"
    r = rules_of(rules, nodes=nodes)
    assert not r.exact and "minDomains 3 above its 2 eligible domains" in r.unmodelled
    assert rules_of(_min_domains(ZONE_LABEL, 2) + "nodeSelector: {pool: web}\n", nodes=nodes).spread


RACK = "example.com/rack"


def _racks(*values: str) -> list[Node]:
    return [Node(f"n{i}", {RACK: v} if v else {}) for i, v in enumerate(values)]


def test_another_topology_key_groups_the_nodes_of_a_cluster_file() -> None:
    """A rack label of the cluster file works as the zone does: required anti-affinity per
    rack is one pod per rack, a spread on racks counts pods per rack."""
    nodes = _racks("r1", "r1", "r2")
    cap = rules_of(ANTI_HOST.replace("kubernetes.io/hostname", RACK), nodes=nodes)
    assert cap.exact and cap.group == RACK and cap.slots() == 2
    assert "per example.com/rack" in cap.why()
    assert not cap.room(1, True, [Placed(0, False, False)]) and cap.room(2, True, [Placed(0, False, False)])
    spread = rules_of(f"topologySpreadConstraints:\n- {{maxSkew: 1, topologyKey: {RACK}, whenUnsatisfiable: "
                      "DoNotSchedule, labelSelector: {matchLabels: {app: web}}}\n", nodes=nodes)
    assert spread.exact and spread.spread
    # one pod in rack r1: the next must go to rack r2
    assert not spread.room(1, True, [Placed(0, False, False)]) and spread.room(2, True, [Placed(0, False, False)])


@pytest.mark.parametrize("rules, nodes, what", [
    # without a cluster file nothing says which node is in which rack
    (ANTI_HOST.replace("kubernetes.io/hostname", RACK), 3, "required pod anti-affinity on example.com/rack"),
    # two keys besides the hostname at once
    (ANTI_HOST.replace("kubernetes.io/hostname", RACK) + "topologySpreadConstraints:\n- {maxSkew: 1, topologyKey: "
     "topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: web}}}\n",
     _racks("r1", "r2", "r2"), "on example.com/rack"),
    # a node the pods may use has no rack label: the spread's filter rejects it
    (f"topologySpreadConstraints:\n- {{maxSkew: 1, topologyKey: {RACK}, whenUnsatisfiable: DoNotSchedule, "
     "labelSelector: {matchLabels: {app: web}}}\n", _racks("r1", "r2", ""), "nodes that lack the label"),
])
def test_other_topology_keys_are_stated_when_the_nodes_do_not_say(rules: str, nodes: int | list[Node],
                                                                   what: str) -> None:
    r = rules_of(rules, nodes=nodes)
    assert not r.exact and what in r.unmodelled


def test_a_rack_anti_affinity_of_a_cluster_file_stalls_a_surge_end_to_end(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two racks of two nodes, one pod per rack (old and new pods together): the surge pod
    finds no rack and the rollout stalls — before, the rack rule was only an assumption and
    the stall went unreported."""
    from zdverify import verify

    (tmp_path / "cluster.yaml").write_text(
        "nodes:\n" + "".join(f"  - {{name: {n}, labels: {{{RACK}: {n[0]}}}}}\n" for n in ("a1", "a2", "b1", "b2")))
    (tmp_path / "web.yaml").write_text(
        BASE.replace("  template:", "  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}\n  template:")
        .replace("replicas: 3", "replicas: 2")
        + textwrap.indent(ANTI_HOST.replace("kubernetes.io/hostname", RACK), "      ")
        + "---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n"
        "  ports: [{port: 80}]\n")
    report = verify([str(tmp_path / "web.yaml")], cluster=str(tmp_path / "cluster.yaml"), select=("stalled",))
    (r,) = report.results
    assert r.verdict.value == "counterexample"
    assert "scheduling" not in [a.key for a in r.assumptions]
