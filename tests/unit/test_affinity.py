"""Node affinity, tolerations and the scheduler's per-node filter.

Semantics follow the Kubernetes API reference (NodeSelectorTerm, NodeSelectorRequirement,
Toleration: https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/),
"Assigning Pods to Nodes" (https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/),
"Taints and Tolerations" (https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/)
and the scheduler's filters (pkg/scheduler/framework/plugins).
"""
from __future__ import annotations

import textwrap

import pytest

from zdverify.model.kube import build_objects
from zdverify.model.load import load_text
from zdverify.model.objects import (
    NodeSelectorRequirement,
    NodeSelectorTerm,
    Objects,
    PodTemplate,
    Taint,
    Toleration,
)
from zdverify.model.scheduler import Node, feasible
from zdverify.model.source import InputError

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  nodeSelector:
    pool: general
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions:
          - key: zone
            operator: In
            values: [a, b]
          - key: cpu
            operator: Gt
            values: ["4"]
        - matchExpressions:
          - key: spot
            operator: DoesNotExist
      preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 10
        preference:
          matchExpressions:
          - key: disk
            operator: In
            values: [ssd]
  tolerations:
  - key: dedicated
    operator: Equal
    value: web
    effect: NoSchedule
  - operator: Exists
    effect: NoExecute
  containers:
  - name: web
"""

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      nodeSelector: {pool: general}
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
            - matchExpressions:
              - {key: zone, operator: Exists}
      tolerations:
      - {key: dedicated, operator: Exists}
      containers:
      - name: web
"""


def build(text: str) -> Objects:
    return build_objects(load_text(textwrap.dedent(text), "m.yaml"))


def template(text: str = POD) -> PodTemplate:
    return build(text).workloads[0].template


def fails(text: str) -> InputError:
    with pytest.raises(InputError) as info:
        build(text)
    assert info.value.loc is not None and info.value.loc.file == "m.yaml"
    return info.value


def edit(old: str, new: str, text: str = POD) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def line_of(fragment: str, text: str = POD) -> int:
    """1-based line of the first line containing ``fragment``."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


def req(key: str, op: str, *values: str) -> NodeSelectorRequirement:
    return NodeSelectorRequirement(key, op, values)


# ---------------------------------------------------------------- parsing


def test_parses_affinity_and_tolerations() -> None:
    t = template()
    assert t.node_selector == {"pool": "general"}
    assert t.required_node_terms == (
        NodeSelectorTerm((req("zone", "In", "a", "b"), req("cpu", "Gt", "4"))),
        NodeSelectorTerm((req("spot", "DoesNotExist"),)),
    )
    assert t.preferred_node_terms == (NodeSelectorTerm((req("disk", "In", "ssd"),)),)
    assert t.tolerations == (
        Toleration("dedicated", "Equal", "web", "NoSchedule"),
        Toleration("", "Exists", "", "NoExecute"),
    )


def test_positions_of_terms_tolerations_and_locs() -> None:
    t = template()
    assert t.required_node_terms[0].loc.line == line_of("        - matchExpressions:")
    assert t.required_node_terms[0].requirements[1].loc.line == line_of("key: cpu")
    assert t.tolerations[1].loc.line == line_of("- operator: Exists")
    for path, fragment in {
        "affinity": "affinity:",
        "affinity.nodeAffinity": "nodeAffinity:",
        "tolerations": "tolerations:",
        "nodeSelector": "nodeSelector:",
    }.items():
        assert t.locs[path].line == line_of(fragment), path
    w = build(POD).workloads[0]
    assert w.locs["spec.template.spec.affinity.nodeAffinity"].line == line_of("nodeAffinity:")
    d = build(DEPLOYMENT).workloads[0]
    for path, fragment in {
        "spec.template.spec.affinity": "affinity:",
        "spec.template.spec.affinity.nodeAffinity": "nodeAffinity:",
        "spec.template.spec.tolerations": "tolerations:",
        "spec.template.spec.nodeSelector": "nodeSelector:",
    }.items():
        assert d.locs[path].line == line_of(fragment, DEPLOYMENT), path
    assert d.template.required_node_terms == (NodeSelectorTerm((req("zone", "Exists"),)),)
    assert d.template.tolerations == (Toleration("dedicated", "Exists"),)


def test_defaults_when_absent() -> None:
    t = template(
        """\
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          containers: [{name: web}]
        """
    )
    assert (t.required_node_terms, t.preferred_node_terms, t.tolerations) == ((), (), ())
    assert feasible(t, Node("n", {}))


def test_toleration_defaults_and_empty_operator() -> None:
    """Operator defaults to Equal ("" is Equal too); effect defaults to "" (all effects)."""
    t = template(edit("    operator: Equal\n", "    operator: ''\n"))
    assert t.tolerations[0].operator == "Equal"
    t = template(edit("    operator: Equal\n", "", edit("    effect: NoSchedule\n", "")))
    assert t.tolerations[0] == Toleration("dedicated", "Equal", "web", "")


def test_match_fields_are_accepted_and_ignored() -> None:
    """matchFields (metadata.name) are not modelled: no error, and treated as satisfied."""
    text = edit(
        "          - key: spot\n            operator: DoesNotExist\n",
        "          - key: spot\n            operator: DoesNotExist\n"
        "        - matchFields:\n          - {key: metadata.name, operator: In, values: [n1]}\n",
    )
    t = template(text)
    assert t.required_node_terms[2] == NodeSelectorTerm((), ignored_fields=True)
    assert t.required_node_terms[2].matches({})


def test_empty_pod_anti_affinity_adds_no_term() -> None:
    text = edit("    nodeAffinity:\n", "    podAntiAffinity: {}\n    nodeAffinity:\n")
    t = template(text)
    assert len(t.required_node_terms) == 2 and t.anti_affinity == () and t.preferred_anti_affinity == ()


@pytest.mark.parametrize(
    "old, new, fragment, message",
    [
        ("operator: In\n            values: [a, b]", "operator: Near\n            values: [a, b]", "operator: Near",
         ('spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]'
          '.matchExpressions[0].operator: "Near" is not one of In, NotIn, Exists, DoesNotExist, Gt, Lt')),
        ("values: [a, b]", "values: []", "values: []",
         "nodeSelectorTerms[0].matchExpressions[0].values: must be non-empty for operator In"),
        ("operator: In\n            values: [a, b]\n", "operator: NotIn\n", "- key: zone",
         "nodeSelectorTerms[0].matchExpressions[0].values: must be non-empty for operator NotIn"),
        ("operator: DoesNotExist\n", "operator: DoesNotExist\n            values: [x]\n", "values: [x]",
         "nodeSelectorTerms[1].matchExpressions[0].values: must be empty for operator DoesNotExist"),
        ("operator: In\n            values: [a, b]", "operator: Exists\n            values: [a]", "values: [a]",
         "must be empty for operator Exists"),
        ('values: ["4"]', 'values: ["4", "8"]', 'values: ["4", "8"]',
         "matchExpressions[1].values: must have exactly one value for operator Gt, got 2"),
        ('operator: Gt\n            values: ["4"]\n', "operator: Lt\n", "- key: cpu",
         "must have exactly one value for operator Lt, got 0"),
        ('values: ["4"]', "values: [four]", "values: [four]",
         'matchExpressions[1].values[0]: must be an integer for operator Gt, got "four"'),
        ('values: ["4"]', "values: [4]", "values: [4]", "matchExpressions[1].values[0]: expected a string, got number 4"),
        ("          - key: zone\n", "          - keyy: zone\n", "keyy",
         "matchExpressions[0].key: required field is missing"),
        ("        nodeSelectorTerms:\n", "        nodeSelectorTerms: []\n        x:\n", "nodeSelectorTerms: []",
         "requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: must have at least one node selector term"),
        ("  affinity:\n", "  affinity: []\n  x:\n", "affinity: []", "spec.affinity: expected a mapping, got a list"),
        ("weight: 10", "weight: 0", "weight: 0",
         "preferredDuringSchedulingIgnoredDuringExecution[0].weight: must be at least 1, got 0"),
        ("weight: 10", "weight: 101", "weight: 101", "must be at most 100, got 101"),
        ("values: [ssd]", "values: []", "values: []",
         "preferredDuringSchedulingIgnoredDuringExecution[0].preference.matchExpressions[0].values: must be non-empty"),
        ("    operator: Equal\n", "    operator: Equals\n", "operator: Equals",
         'spec.tolerations[0].operator: "Equals" is not one of Equal, Exists'),
        ("    operator: Equal\n", "    operator: Exists\n", "value: web",
         'spec.tolerations[0].value: must be empty when operator is Exists, got "web"'),
        ("    effect: NoSchedule\n", "    effect: NoEntry\n", "effect: NoEntry",
         'spec.tolerations[0].effect: "NoEntry" is not one of NoSchedule, PreferNoSchedule, NoExecute (or empty for all)'),
        ("  - key: dedicated\n    operator: Equal\n", "  - operator: Equal\n", "operator: Equal",
         "spec.tolerations[0].operator: must be Exists when key is empty"),
        ("    effect: NoSchedule\n", "    effect: NoSchedule\n    tolerationSeconds: 30\n", "tolerationSeconds",
         "spec.tolerations[0].tolerationSeconds: may only be set when effect is NoExecute"),
        ("    effect: NoExecute\n", "    effect: NoExecute\n    tolerationSeconds: soon\n", "tolerationSeconds",
         "spec.tolerations[1].tolerationSeconds: expected an integer"),
        ("  tolerations:\n", "  tolerations: {}\n  x:\n", "tolerations: {}", "spec.tolerations: expected a list, got a mapping"),
        ("    effect: NoExecute\n", "    effect: NoExecute\n    tolerationSeconds: 300\n", None, None),
        ('values: ["4"]', 'values: ["-4"]', None, None),
    ],
)
def test_errors(old: str, new: str, fragment: str | None, message: str | None) -> None:
    """Validation mirrors the API server's ValidateNodeSelectorRequirement / validateTolerations."""
    text = edit(old, new)
    if message is None:
        build(text)
        return
    e = fails(text)
    assert message in e.message, e
    assert e.loc is not None and e.loc.line == line_of(fragment, text), e  # type: ignore[arg-type]


def test_error_line_numbers_in_a_deployment() -> None:
    text = DEPLOYMENT.replace("{key: zone, operator: Exists}", "{key: zone, operator: Has}")
    e = fails(text)
    assert e.message.startswith("spec.template.spec.affinity.nodeAffinity.")
    assert e.loc is not None and e.loc.line == 18


# ---------------------------------------------------------------- matching


@pytest.mark.parametrize(
    "requirement, labels, expected",
    [
        (req("zone", "In", "a", "b"), {"zone": "a"}, True),
        (req("zone", "In", "a", "b"), {"zone": "c"}, False),
        (req("zone", "In", "a", "b"), {}, False),
        (req("zone", "NotIn", "a"), {"zone": "b"}, True),
        (req("zone", "NotIn", "a"), {"zone": "a"}, False),
        (req("zone", "NotIn", "a"), {}, True),  # absent label: NotIn holds
        (req("gpu", "Exists"), {"gpu": ""}, True),
        (req("gpu", "Exists"), {}, False),
        (req("gpu", "DoesNotExist"), {}, True),
        (req("gpu", "DoesNotExist"), {"gpu": "x"}, False),
        (req("cpu", "Gt", "4"), {"cpu": "8"}, True),
        (req("cpu", "Gt", "4"), {"cpu": "4"}, False),
        (req("cpu", "Gt", "4"), {"cpu": "10"}, True),  # integers, not strings ("10" < "4")
        (req("cpu", "Gt", "-1"), {"cpu": "0"}, True),
        (req("cpu", "Lt", "10"), {"cpu": "9"}, True),
        (req("cpu", "Lt", "10"), {"cpu": "10"}, False),
        (req("cpu", "Lt", "10"), {"cpu": "-3"}, True),
        (req("cpu", "Gt", "4"), {"cpu": "eight"}, False),  # not an integer: never matches
        (req("cpu", "Lt", "4"), {"cpu": "eight"}, False),
        (req("cpu", "Lt", "4"), {"cpu": "1.5"}, False),
        (req("cpu", "Lt", "4"), {"cpu": ""}, False),
        (req("cpu", "Gt", "4"), {}, False),
        (req("cpu", "Lt", "4"), {}, False),  # absent label never matches Lt either
    ],
)
def test_requirement_operators(requirement: NodeSelectorRequirement, labels: dict[str, str], expected: bool) -> None:
    """NodeSelectorRequirement semantics (API reference; nodeaffinity in k8s component-helpers)."""
    assert requirement.matches(labels) is expected


def test_requirements_are_anded_and_terms_ored() -> None:
    """"nodeSelectorTerms are ORed; matchExpressions within a term are ANDed" (Assigning Pods to Nodes)."""
    t = template()
    a, b = t.required_node_terms
    assert a.matches({"zone": "a", "cpu": "8", "spot": "1"})
    assert not a.matches({"zone": "a", "cpu": "2", "spot": "1"})  # one requirement fails: term fails
    assert not a.matches({"zone": "c", "cpu": "8", "spot": "1"})
    assert b.matches({"zone": "c"})
    base = {"pool": "general"}
    assert feasible(t, Node("n", {**base, "zone": "a", "cpu": "8", "spot": "1"}))  # first term
    assert feasible(t, Node("n", {**base, "zone": "z", "cpu": "1"}))  # second term
    assert not feasible(t, Node("n", {**base, "zone": "z", "cpu": "1", "spot": "1"}))  # neither


def test_empty_term_matches_nothing() -> None:
    """API reference: "A null or empty node selector term matches no objects"."""
    assert not NodeSelectorTerm(()).matches({"any": "thing"})
    t = template(edit("        - matchExpressions:\n          - key: spot\n            operator: DoesNotExist\n", "        - {}\n"))
    assert t.required_node_terms[1] == NodeSelectorTerm(())
    assert not feasible(t, Node("n", {"pool": "general", "zone": "z"}))


def test_preferred_terms_narrow_nothing() -> None:
    t = template(edit("  affinity:\n    nodeAffinity:\n      requiredDuringScheduling", "  affinity:\n    nodeAffinity:\n      xrequiredDuringScheduling"))
    assert t.required_node_terms == () and t.preferred_node_terms
    assert feasible(t, Node("n", {"pool": "general", "disk": "hdd"}))


# ---------------------------------------------------------------- tolerations


@pytest.mark.parametrize(
    "toleration, taint, expected",
    [
        (Toleration("", "Exists"), Taint("anything", "v", "NoExecute"), True),  # tolerates everything
        (Toleration("", "Exists"), Taint("other", "", "PreferNoSchedule"), True),
        (Toleration("", "Exists", effect="NoSchedule"), Taint("k", "v", "NoExecute"), False),
        (Toleration("k", "Exists"), Taint("k", "whatever", "NoSchedule"), True),
        (Toleration("k", "Exists"), Taint("j", "", "NoSchedule"), False),
        (Toleration("k", "Equal", "v"), Taint("k", "v", "NoSchedule"), True),  # effect "": all effects
        (Toleration("k", "Equal", "v"), Taint("k", "v", "NoExecute"), True),
        (Toleration("k", "Equal", "v"), Taint("k", "w", "NoSchedule"), False),
        (Toleration("k", "Equal", ""), Taint("k", "", "NoSchedule"), True),
        (Toleration("k", "Equal", "v", "NoSchedule"), Taint("k", "v", "NoSchedule"), True),
        (Toleration("k", "Equal", "v", "NoSchedule"), Taint("k", "v", "NoExecute"), False),
        (Toleration("k", "Equal", "v", "PreferNoSchedule"), Taint("k", "v", "NoSchedule"), False),
    ],
)
def test_tolerates(toleration: Toleration, taint: Taint, expected: bool) -> None:
    """Toleration.ToleratesTaint (Taints and Tolerations; API reference, Toleration)."""
    assert toleration.tolerates(taint) is expected


# ---------------------------------------------------------------- feasibility


def test_feasible_combines_selector_affinity_and_taints() -> None:
    t = template()
    good = {"pool": "general", "zone": "b", "cpu": "16"}
    assert feasible(t, Node("n", good))
    # nodeSelector: every label must be equal
    assert not feasible(t, Node("n", {**good, "pool": "batch"}))
    assert not feasible(t, Node("n", {k: v for k, v in good.items() if k != "pool"}))
    # required affinity
    assert not feasible(t, Node("n", {**good, "zone": "c", "spot": "yes"}))
    # taints: tolerated NoSchedule (dedicated=web), any NoExecute (Exists, empty key)
    assert feasible(t, Node("n", good, (Taint("dedicated", "web", "NoSchedule"), Taint("drain", "", "NoExecute"))))
    assert not feasible(t, Node("n", good, (Taint("dedicated", "db", "NoSchedule"),)))
    assert not feasible(t, Node("n", good, (Taint("gpu", "", "NoSchedule"),)))
    # PreferNoSchedule never blocks
    assert feasible(t, Node("n", good, (Taint("gpu", "", "PreferNoSchedule"),)))
    # a right node with one untolerated taint is out, whatever else matches
    assert not feasible(t, Node("n", good, (Taint("drain", "", "NoExecute"), Taint("x", "", "NoSchedule"))))


def test_no_tolerations_means_only_untainted_or_prefer_nodes() -> None:
    t = PodTemplate(labels={}, containers=())
    assert feasible(t, Node("n", {}))
    assert feasible(t, Node("n", {}, (Taint("a", "", "PreferNoSchedule"),)))
    assert not feasible(t, Node("n", {}, (Taint("a", "", "NoExecute"),)))


def test_node_is_frozen_and_hashable() -> None:
    n = Node("n1", {"zone": "a"}, (Taint("k"),))
    with pytest.raises(AttributeError):
        n.name = "n2"  # type: ignore[misc]
    assert hash(n) == hash(Node("n1", {"zone": "b"}, (Taint("k"),)))
