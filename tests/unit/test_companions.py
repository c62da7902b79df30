"""Several workloads behind one Service (model/companions.py): each rollout is checked
with the other workloads' pods serving."""
from __future__ import annotations

from pathlib import Path

from zdverify.api import verify

SERVICE = """\
apiVersion: v1
kind: Service
metadata: {name: reviews}
spec:
  {policy}
  selector: {app: reviews}
  ports: [{port: 9080, targetPort: http}]
"""

WORKLOAD = """\
---
apiVersion: apps/v1
kind: {kind}
metadata: {name: reviews-{version}}
spec:
  {replicas}
  {strategy}
  selector: {matchLabels: {app: reviews, version: {version}}}
  template:
    metadata: {labels: {app: reviews, version: {version}}}
    spec:
      containers:
      - name: reviews
        ports: [{name: {port}, containerPort: 9080}]
        readinessProbe: {tcpSocket: {port: 9080}}
        lifecycle: {preStop: {sleep: {seconds: 5}}}
"""

V1 = dict(kind="Deployment", version="v1", replicas="replicas: 1", port="http",
          strategy="strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: 1}}")
V2 = dict(kind="Deployment", version="v2", replicas="replicas: 2", port="http", strategy="")


def manifest(tmp_path: Path, *workloads: dict[str, str], policy: str = "type: ClusterIP") -> str:
    text = SERVICE.replace("{policy}", policy)
    for w in workloads:
        part = WORKLOAD
        for key, value in w.items():
            part = part.replace("{" + key + "}", value)
        text += part
    f = tmp_path / "reviews.yaml"
    f.write_text(text)
    return str(f)


def verdicts(path: str, workload: str = "Deployment/default/reviews-v1") -> dict[str, str]:
    return {r.property.slug: r.verdict.value for r in verify([path]).results if r.workload == workload}


def test_alone_one_replica_without_surge_has_no_endpoint_and_falls_back_to_its_terminating_pod(
        tmp_path: Path) -> None:
    v = verdicts(manifest(tmp_path, V1))
    assert v["no-endpoint"] == "counterexample" and v["termination"] == "counterexample"


def test_beside_another_version_the_service_always_has_an_endpoint(tmp_path: Path) -> None:
    report = verify([manifest(tmp_path, V1, V2)])
    v1 = [r for r in report.results if r.workload == "Deployment/default/reviews-v1"]
    assert {r.property.slug: r.verdict.value for r in v1} == {
        "startup": "proved", "termination": "proved", "no-endpoint": "proved", "killed-in-flight": "proved",
        "stalled": "proved", "no-healthy-target": "proved", "connection-reuse": "proved"}
    for r in v1:
        [other] = [a for a in r.assumptions if a.key == "other-workloads"]
        assert other.value == "Deployment/default/reviews-v2 (2 replicas)" and other.source.line == 6
    no_endpoint = next(r for r in v1 if r.property.slug == "no-endpoint")
    termination = next(r for r in v1 if r.property.slug == "termination")
    assert [f.key for f in no_endpoint.rests_on] == ["other-workloads"]
    assert "other-workloads" in [f.key for f in termination.rests_on]  # no fallback to the terminating pod


def test_local_traffic_counts_them_only_for_a_healthy_target(tmp_path: Path) -> None:
    path = manifest(tmp_path, V1, V2, policy="type: LoadBalancer\n  externalTrafficPolicy: Local")
    v = verdicts(path)
    assert v["no-healthy-target"] == "proved"  # a node with a v2 pod stays healthy
    assert v["no-endpoint"] == "counterexample"  # v2's pods may run on other nodes


def test_a_daemonset_beside_it_covers_local_traffic_on_every_node(tmp_path: Path) -> None:
    ds = dict(V2, kind="DaemonSet", replicas="", strategy="")
    path = manifest(tmp_path, V1, ds, policy="type: LoadBalancer\n  externalTrafficPolicy: Local")
    v = verdicts(path)
    assert v["no-endpoint"] == "proved" and v["termination"] == "proved"


def test_a_workload_without_the_named_target_port_is_no_endpoint_of_it(tmp_path: Path) -> None:
    v = verdicts(manifest(tmp_path, V1, dict(V2, port="grpc")))
    assert v["no-endpoint"] == "counterexample"
