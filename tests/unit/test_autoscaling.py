"""HorizontalPodAutoscaler (model/autoscaling.py): replicas over the autoscaler's range."""
from __future__ import annotations

from pathlib import Path

import pytest

from zdverify.api import verify
from zdverify.model import autoscaling
from zdverify.model.objects import Autoscaler, LabelSelector, PodTemplate, Workload, WorkloadKind

MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: 1}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        ports: [{containerPort: 80}]
        readinessProbe: {tcpSocket: {port: 80}}
        lifecycle: {preStop: {sleep: {seconds: 5}}}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: {low}
  maxReplicas: 4
"""


def run(tmp_path: Path, low: str) -> dict[str, object]:
    f = tmp_path / "hpa.yaml"
    f.write_text(MANIFEST.replace("{low}", low))
    report = verify([str(f)])
    return {r.property.slug: r for r in report.results}


def test_without_spec_replicas_every_count_of_the_range_is_checked(tmp_path: Path) -> None:
    at_two = run(tmp_path, "2")
    assert {r.verdict.value for r in at_two.values()} == {"proved"}  # one replica may go, one stays
    [replicas] = [a for a in at_two["no-endpoint"].assumptions if a.key == "replicas"]
    assert (replicas.value, replicas.origin, replicas.source.line) == ("2..4", "HorizontalPodAutoscaler/default/web", 24)
    at_one = run(tmp_path, "1")
    assert at_one["no-endpoint"].verdict.value == "counterexample"
    assert at_one["no-endpoint"].summary.endswith("with 1 replica (HorizontalPodAutoscaler/default/web)")


def test_an_invalid_range_is_a_located_error(tmp_path: Path) -> None:
    f = tmp_path / "hpa.yaml"
    f.write_text(MANIFEST.replace("{low}", "5"))
    [error] = verify([str(f)]).errors
    assert error.loc.line == 29 and "at least minReplicas (5)" in error.message


def _workload(surge: str, unavailable: str) -> Workload:
    return Workload(WorkloadKind.DEPLOYMENT, "default", "web", 1, LabelSelector(()), PodTemplate({}, ()),
                    max_surge=surge, max_unavailable=unavailable)


@pytest.mark.parametrize("high", [30, 31, 100])
def test_a_long_range_checks_its_ends_and_where_the_fenceposts_change(high: int) -> None:
    w = _workload("25%", "25%")
    span = autoscaling.counts(w, Autoscaler("default", "web", "Deployment", "web", 1, high))
    assert span.checked[0] == 1 and span.checked[-1] == high and len(span.checked) <= autoscaling.MAX_COUNTS
    assert set(span.checked) | set(span.left_out) == set(range(1, high + 1))
    if high > autoscaling.MAX_COUNTS:
        assert span.left_out and 4 in span.checked and 5 in span.checked  # 25% of 4 rounds down to 1, of 5 to 1
        assert "not checked" in span.assumption().note
    else:
        assert span.left_out == ()


def test_a_range_too_long_to_check_whole_is_not_reported_proved(tmp_path: Path) -> None:
    f = tmp_path / "hpa.yaml"
    f.write_text(MANIFEST.replace("{low}", "2").replace("maxReplicas: 4", "maxReplicas: 40"))
    results = verify([str(f)], select=["no-endpoint"]).results
    [r] = results
    assert r.verdict.value == "inconclusive" and "not a proof for the range" in r.why
