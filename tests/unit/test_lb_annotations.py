"""The load-balancer profile from the Service's own annotations (model/lb_annotations.py)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from zdverify.api import verify
from zdverify.model.assumptions import settings
from zdverify.model.lb_annotations import for_service
from zdverify.model.source import InputError, Loc


def where(path: str) -> Loc:
    return Loc("svc.yaml", 7 if path.endswith("-type") else 9)


@pytest.mark.parametrize("annotations,profile", [
    ({"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}, "aws-nlb-in-tree"),
    ({"service.beta.kubernetes.io/aws-load-balancer-type": "external"}, "aws-nlb"),
    ({"service.beta.kubernetes.io/aws-load-balancer-type": "nlb-ip"}, "aws-nlb"),
    ({"service.beta.kubernetes.io/aws-load-balancer-backend-protocol": "tcp"}, "aws-clb"),
    ({"networking.gke.io/load-balancer-type": "Internal"}, "gcp"),
    ({"cloud.google.com/neg": '{"ingress": true}'}, "gcp-neg"),
    ({"service.beta.kubernetes.io/azure-load-balancer-internal": "true"}, "azure"),
    ({"service.beta.kubernetes.io/alibaba-cloud-loadbalancer-spec": "slb.s1.small"}, "alibaba-slb"),
    ({"prometheus.io/scrape": "true"}, "generic"),
])
def test_the_cloud_and_its_load_balancer_come_from_the_annotations(annotations: dict, profile: str) -> None:
    s = for_service(settings(), annotations, lambda p: Loc("svc.yaml", 7))
    assert s.lb.name == profile
    assert s.origins.get("load-balancer", "default") == ("default" if profile == "generic" else "annotation")


def test_health_check_annotations_set_the_numbers_and_are_located() -> None:
    aws = "service.beta.kubernetes.io/aws-load-balancer-"
    s = for_service(settings(), {aws + "type": "nlb", aws + "healthcheck-interval": "10",
                                 aws + "healthcheck-unhealthy-threshold": "2"}, where)
    assert (s.lb.name, s.lb.interval, s.lb.timeout, s.lb.unhealthy, s.lb.healthy) == ("aws-nlb-in-tree", 10, 10, 2, 2)
    assert s.sources["load-balancer"].line == 7
    [a] = [a for a in s.assumptions() if a.key == "load-balancer"]
    assert a.origin == "annotation" and "interval 10, unhealthy 2" in a.note
    with pytest.raises(InputError) as e:
        for_service(settings(), {aws + "type": "nlb", aws + "healthcheck-interval": "ten"}, where)
    assert e.value.loc.line == 9 and "whole number" in e.value.message


def test_a_flag_or_the_cluster_file_still_wins() -> None:
    s = for_service(settings(lb="gcp"), {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}, where)
    assert s.lb.name == "gcp" and s.origins["load-balancer"] == "flag"


def test_the_in_tree_nlb_annotation_checks_what_the_flag_checks(tmp_path: Path) -> None:
    """ingress-nginx's AWS manifest: the in-tree NLB annotation, Local traffic — the fix is
    sized for the in-tree NLB (as with --lb aws-nlb-in-tree), not the generic profile."""
    text = (Path(__file__).parents[2] / "examples/recommended-local.yaml").read_text()
    annotated = text.replace("kind: Service\nmetadata:\n", "kind: Service\nmetadata:\n  annotations:\n"
                             "    service.beta.kubernetes.io/aws-load-balancer-type: nlb\n", 1)
    assert annotated != text
    (tmp_path / "plain.yaml").write_text(text)
    (tmp_path / "nlb.yaml").write_text(annotated)

    def fix_seconds(name: str, **options: str) -> int:
        [r] = verify([str(tmp_path / name)], select=["termination"], **options).results
        assert r.verdict.value == "counterexample"
        return int(re.search(r"seconds: (\d+)", r.fix).group(1))

    by_annotation = fix_seconds("nlb.yaml")
    assert by_annotation == fix_seconds("plain.yaml", lb="aws-nlb-in-tree") != fix_seconds("plain.yaml")
