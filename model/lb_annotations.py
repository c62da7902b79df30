"""The load balancer a Service asks its cloud for, read from its own annotations.

The Service's annotations say which load balancer a cloud controller builds, and often how
it health-checks. Without ``--lb`` or a cluster file's ``loadBalancer:`` (which still win),
the profile comes from them, with origin ``annotation`` and the annotation's line:

1. AWS: ``service.beta.kubernetes.io/aws-load-balancer-type: nlb`` is the in-tree NLB
   (``aws-nlb-in-tree``); ``external`` (and the older ``nlb-ip``) the AWS Load Balancer
   Controller's NLB (``aws-nlb``); other ``aws-load-balancer-*`` annotations without a type
   the in-tree Classic ELB (``aws-clb``). ``aws-load-balancer-healthcheck-interval``,
   ``-timeout``, ``-healthy-threshold`` and ``-unhealthy-threshold`` set the numbers
   (kubernetes/cloud-provider-aws and aws-load-balancer-controller annotation docs).
2. GCP: ``cloud.google.com/neg: '{"ingress": true}'``: container-native load balancing
   (``gcp-neg``); any other ``cloud.google.com/`` or ``networking.gke.io/`` annotation: ``gcp``.
3. Azure: ``service.beta.kubernetes.io/azure-*``: ``azure``;
   ``azure-load-balancer-health-probe-interval`` and ``-num-of-probe`` set the interval
   and the unhealthy count (cloud-provider-azure).
4. Alibaba: ``service.beta.kubernetes.io/alibaba-cloud-loadbalancer-*``: ``alibaba-slb``;
   ``-health-check-interval``, ``-health-check-connect-timeout``, ``-healthy-threshold``,
   ``-unhealthy-threshold`` set the numbers (cloud-provider-alibaba-cloud).
Pod IP targets (``aws-load-balancer-nlb-target-type: ip``, ``cloud.google.com/neg``) are
read by the scenario, as before.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Mapping

from zdverify.model.assumptions import LB_PROFILES, Settings
from zdverify.model.source import InputError, Loc

AWS = "service.beta.kubernetes.io/aws-load-balancer-"
AWS_TYPE = AWS + "type"
AZURE = "service.beta.kubernetes.io/azure-"
ALIBABA = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-"
GCP = ("cloud.google.com/", "networking.gke.io/")
NEG = "cloud.google.com/neg"

_AWS_TYPES = {"nlb": "aws-nlb-in-tree", "external": "aws-nlb", "nlb-ip": "aws-nlb"}
# profile field -> annotation (by cloud)
_NUMBERS = {
    "aws": {"interval": AWS + "healthcheck-interval", "timeout": AWS + "healthcheck-timeout",
            "healthy": AWS + "healthcheck-healthy-threshold", "unhealthy": AWS + "healthcheck-unhealthy-threshold"},
    "azure": {"interval": AZURE + "load-balancer-health-probe-interval",
              "unhealthy": AZURE + "load-balancer-health-probe-num-of-probe"},
    "alibaba": {"interval": ALIBABA + "health-check-interval", "timeout": ALIBABA + "health-check-connect-timeout",
                "healthy": ALIBABA + "healthy-threshold", "unhealthy": ALIBABA + "unhealthy-threshold"},
}


def _cloud(annotations: Mapping[str, str]) -> tuple[str, str, str] | None:
    """(cloud, profile name, the annotation that decided it)."""
    keys = sorted(annotations)
    if AWS_TYPE in annotations:
        kind = annotations[AWS_TYPE].strip().lower()
        return "aws", _AWS_TYPES.get(kind, "aws-clb"), AWS_TYPE
    for cloud, prefix, name in (("aws", AWS, "aws-clb"), ("azure", AZURE, "azure"), ("alibaba", ALIBABA, "alibaba-slb")):
        first = next((k for k in keys if k.startswith(prefix)), None)
        if first is not None:
            return cloud, name, first
    first = next((k for k in keys if k.startswith(GCP)), None)
    if first is None:
        return None
    neg = annotations.get(NEG, "").replace(" ", "").lower()
    return ("gcp", "gcp-neg", NEG) if '"ingress":true' in neg else ("gcp", "gcp", first)


def for_service(s: Settings, annotations: Mapping[str, str], loc_of: Callable[[str], Loc]) -> Settings:
    """``s`` with the load-balancer profile the Service's annotations ask for, when neither a
    flag nor the cluster file chose one."""
    if s.origins.get("load-balancer", "default") != "default":
        return s
    found = _cloud(annotations)
    if found is None:
        return s
    cloud, name, key = found
    profile = LB_PROFILES[name]
    numbers = {}
    for field_name, annotation in _NUMBERS.get(cloud, {}).items():
        if annotation in annotations:
            numbers[field_name] = _number(annotations[annotation], annotation, field_name,
                                          loc_of(f"metadata.annotations.{annotation}"))
    if numbers:
        profile = replace(profile, **numbers, source=f"{profile.source}; from the Service's annotations: "
                          + ", ".join(f"{k} {v:g}" for k, v in numbers.items()))
    where = loc_of(f"metadata.annotations.{key}")
    return replace(s, lb=profile, origins={**s.origins, "load-balancer": "annotation"},
                   sources={**s.sources, "load-balancer": where})


def _number(text: str, annotation: str, field_name: str, loc: Loc) -> float | int:
    try:
        value = int(text.strip())
    except ValueError:
        raise InputError(f"annotation {annotation}: expected a whole number, got {text!r}", loc) from None
    if value < 1:
        raise InputError(f"annotation {annotation}: expected 1 or more, got {value}", loc)
    return value if field_name in ("healthy", "unhealthy") else float(value)

