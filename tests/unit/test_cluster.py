"""The cluster file: named nodes, zones, taints, version, load balancer, bounds — and how
scheduling feasibility narrows where pods go (k8s-semantics.md §7)."""
from __future__ import annotations

from pathlib import Path

import pytest

from zdverify import verify
from zdverify.model.assumptions import LB_PROFILES
from zdverify.model.cluster import ZONE_LABEL, load_cluster
from zdverify.model.source import InputError

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = """\
kubernetesVersion: "1.24"
kubeProxyMode: ipvs
loadBalancer: gcp
bounds:
  kube-proxy: 0s..5s
nodes:
  - name: a-1
    zone: a
    labels: {deploy: nginx}
  - name: b-1
    zone: b
    taints: [{key: dedicated, value: db, effect: NoSchedule}]
"""


def write(tmp_path: Path, text: str) -> str:
    f = tmp_path / "cluster.yaml"
    f.write_text(text)
    return str(f)


def test_parse(tmp_path: Path) -> None:
    c = load_cluster(write(tmp_path, CLUSTER))
    assert [n.name for n in c.nodes] == ["a-1", "b-1"]
    assert c.nodes[0].labels[ZONE_LABEL] == "a" and c.nodes[0].labels["kubernetes.io/hostname"] == "a-1"
    assert c.nodes[1].taints[0].effect == "NoSchedule"
    assert (c.k8s_version, c.proxy_mode, c.lb, c.bounds) == ("1.24", "ipvs", LB_PROFILES["gcp"], {"kube-proxy": "0s..5s"})


@pytest.mark.parametrize("text,line,words", [
    ("nodes: []\n", 1, "non-empty list"),
    ("nodes:\n  - name: a\n  - name: a\n", 3, "duplicate node name"),
    ("nodes:\n  - {name: a, taints: [{key: k, effect: Sometimes}]}\n", 2, "effect"),
    ("loadBalancer: alibaba\nnodes: [{name: a}]\n", 1, "unknown load-balancer profile"),
    ("nodes: [{name: a}]\nloadBalancer:\n  base: aws-nlb\n  timeout: 2\n", 4, "loadBalancer.timeout"),
    ("nodes: [{name: a}]\nloadBalancer:\n  interval: 5s\n", 2, "loadBalancer: missing timeout"),
    ("bounds: {kube-proxy: 5x}\nnodes: [{name: a}]\n", 1, "expected a duration"),
    ("kubeProxyMode: userspace\nnodes: [{name: a}]\n", 1, "kubeProxyMode"),
    ("nodez: []\n", 1, "unknown key"),
    ("nodes:\n  - {name: a, pods: -1}\n", 2, "nodes[0].pods"),
    ("nodes:\n  - {name: a, pods: two}\n", 2, "expected an integer"),
])
def test_errors_are_located(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as e:
        load_cluster(path)
    assert e.value.loc is not None and e.value.loc.file == path and e.value.loc.line == line
    assert words in e.value.message


def test_file_sets_version_lb_bounds_and_node_names(tmp_path: Path) -> None:
    report = verify([str(ROOT / "examples/recommended-local.yaml")], cluster=write(tmp_path, CLUSTER))
    a = {x.key: x for x in report.results[0].assumptions}
    assert a["k8s-version"].value == "1.24" and a["k8s-version"].origin.startswith("cluster file")
    assert a["kube-proxy"].value == "0s..5s" and a["load-balancer"].value.startswith("gcp")
    assert a["nodes"].value == "a-1, b-1" and "1 of them" in a["nodes"].note  # b-1 is tainted
    assert report.nodes == 2


def test_flags_win_over_the_file(tmp_path: Path) -> None:
    report = verify([str(ROOT / "examples/recommended-local.yaml")], cluster=write(tmp_path, CLUSTER),
                    k8s_version="1.34", lb="azure")
    a = {x.key: x for x in report.results[0].assumptions}
    assert (a["k8s-version"].value, a["k8s-version"].origin) == ("1.34", "flag")
    assert a["load-balancer"].value.startswith("azure")


def test_a_single_feasible_node_keeps_local_traffic_on_the_node_that_gets_the_new_pods(tmp_path: Path) -> None:
    """With one feasible node every new pod lands there: the node never loses its last
    local endpoint to a pod placed elsewhere (contrast: three interchangeable nodes)."""
    manifest = (ROOT / "examples/local-without-in-place.yaml").read_text()
    f = tmp_path / "web.yaml"
    f.write_text(manifest.replace("      terminationGracePeriodSeconds: 60",
                                  "      terminationGracePeriodSeconds: 60\n      nodeSelector: {deploy: nginx}"))
    cluster = write(tmp_path, "nodes:\n  - {name: a-1, labels: {deploy: nginx}}\n  - {name: b-1}\n  - {name: c-1}\n")
    many = {r.property.value: r.verdict.value for r in verify([str(ROOT / "examples/local-without-in-place.yaml")]).results}
    one = {r.property.value: r.verdict.value for r in verify([str(f)], cluster=cluster).results}
    assert many["no-endpoint"] == "counterexample"
    # b-1 and c-1 never have a pod, so the load balancer never sends there; a-1 keeps
    # maxUnavailable 0 worth of ready pods throughout: no node is left without an endpoint
    assert one["no-endpoint"] == "proved" and one["termination"] == "proved"


def test_no_feasible_node_is_a_located_error(tmp_path: Path) -> None:
    manifest = (ROOT / "examples/recommended-cluster.yaml").read_text()
    f = tmp_path / "web.yaml"
    f.write_text(manifest.replace("      terminationGracePeriodSeconds: 60",
                                  "      terminationGracePeriodSeconds: 60\n      nodeSelector: {gpu: 'yes'}"))
    report = verify([str(f)], cluster=write(tmp_path, "nodes: [{name: a-1}]\n"))
    [error] = report.errors
    assert "no node of the cluster file" in error.message and error.loc.line == 24  # the nodeSelector
    assert report.results == ()


def test_nodes_flag_must_agree_with_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="conflicts"):
        verify([str(ROOT / "examples/recommended-cluster.yaml")], cluster=write(tmp_path, CLUSTER), nodes=5)
