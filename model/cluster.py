"""The cluster file (``--cluster FILE``): the topology and bounds a proof assumes.

    kubernetesVersion: "1.34"
    kubeProxyMode: iptables          # iptables | ipvs | nftables (recorded; same semantics)
    loadBalancer: aws-nlb            # a profile, see model/assumptions.py LB_PROFILES
    bounds:                          # any model bound, as with --assume
      kube-proxy: 0s..5s
    nodes:
      - name: worker-a
        zone: eu-west-1a             # shorthand for the topology.kubernetes.io/zone label
        labels: {deploy: nginx}
        taints: [{key: dedicated, value: db, effect: NoSchedule}]
        pods: 2                      # room for at most 2 pods of the checked workload

``loadBalancer`` may instead describe the load balancer (``custom_lb_profile``); ``base``
and ``name`` are optional, and ``base`` lets the other fields override a profile:

    loadBalancer:
      name: my-haproxy
      base: aws-nlb
      interval: 5s
      timeout: 2s
      healthyThreshold: 2
      unhealthyThreshold: 3

Every node named here is one kube-proxy and one load-balancer backend; a workload's pods
may be scheduled on the nodes its nodeSelector, required node affinity and tolerations
allow. Errors are located in the file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from zdverify.model.assumptions import (
    LB_FIELDS,
    LBProfile,
    custom_lb_profile,
    lb_profile,
    parse_bound,
    parse_version,
)
from zdverify.model.load import KEY, Document, load_settings_file
from zdverify.model.objects import TAINT_EFFECTS, Taint
from zdverify.model.scheduler import ZONE_LABEL, Node
from zdverify.model.source import InputError, Loc


PROXY_MODES = ("iptables", "ipvs", "nftables")
MAX_NODES = 10_000  # a cluster bigger than this is refused (--nodes, the config and cluster files alike)
_KEYS = ("apiVersion", "kind", "kubernetesVersion", "kubeProxyMode", "loadBalancer", "bounds", "nodes")
_NODE_KEYS = ("name", "zone", "labels", "taints", "pods")


@dataclass(frozen=True)
class Cluster:
    path: str
    nodes: tuple[Node, ...]
    k8s_version: str | None = None
    proxy_mode: str = "iptables"
    lb: LBProfile | None = None  # a built-in profile by name, or a custom one (stated_at set)
    bounds: dict[str, str] = field(default_factory=dict)


def load_cluster(path: str) -> Cluster:
    doc = load_settings_file(path, "cluster")
    if doc is None:
        raise InputError("the cluster file is empty: it needs at least nodes", Loc(path, 1))
    return _parse(doc, path)


def _parse(doc: Document, path: str) -> Cluster:
    data: dict[str, Any] = doc.data
    loc = doc.at
    doc.check_keys(_KEYS)
    version = data.get("kubernetesVersion")
    if version is not None:
        version = str(version)
        try:
            parse_version(version)
        except InputError as e:
            raise InputError(e.message.replace("--k8s-version", "kubernetesVersion"), loc("kubernetesVersion")) from None
    mode = data.get("kubeProxyMode", "iptables")
    if mode not in PROXY_MODES:
        raise InputError(f"kubeProxyMode: expected one of {', '.join(PROXY_MODES)}, got {mode!r}",
                         loc("kubeProxyMode"))
    lb = _load_balancer(data.get("loadBalancer"), doc)
    bounds = data.get("bounds") or {}
    if not isinstance(bounds, dict):
        raise InputError("bounds: expected a mapping of bound to range", loc("bounds"))
    for key, text in bounds.items():
        parse_bound(str(key), str(text), "bounds", loc("bounds", key))
    raw_nodes = data.get("nodes")
    if not isinstance(raw_nodes, list) or not raw_nodes:
        raise InputError("nodes: expected a non-empty list of nodes", loc("nodes"))
    if len(raw_nodes) > MAX_NODES:
        raise InputError(f"nodes: {len(raw_nodes)} nodes; at most {MAX_NODES:,} are supported", loc("nodes"))
    nodes = tuple(_node(n, i, loc) for i, n in enumerate(raw_nodes))
    seen: dict[str, int] = {}
    for i, n in enumerate(nodes):
        if n.name in seen:
            raise InputError(f"nodes: duplicate node name {n.name!r}", loc("nodes", i, "name"))
        seen[n.name] = i
    return Cluster(path, nodes, version, mode, lb, {str(k): str(v) for k, v in bounds.items()})


def _load_balancer(value: Any, doc: Document) -> LBProfile | None:
    """``loadBalancer:`` is a profile name or a mapping describing the load balancer."""
    if value is None:
        return None
    if isinstance(value, str):
        return lb_profile(value, doc.at("loadBalancer"), "loadBalancer")
    if isinstance(value, dict):
        def loc_of(*key: str) -> Loc:  # a field's value, or the ``loadBalancer:`` key itself
            return doc.at("loadBalancer", *key) if key else doc.locs.get(("loadBalancer", KEY), doc.at("loadBalancer"))
        return custom_lb_profile(value, loc_of, "loadBalancer")
    raise InputError(f"loadBalancer: expected a profile name or a mapping with {', '.join(LB_FIELDS)}, "
                     f"got {value!r}", doc.at("loadBalancer"))


def _node(entry: Any, i: int, loc: Any) -> Node:
    if not isinstance(entry, dict):
        raise InputError("nodes: each node is a mapping with a name", loc("nodes", i))
    for key in entry:
        if key not in _NODE_KEYS:
            raise InputError(f"nodes[{i}]: unknown key {key!r}; known keys: {', '.join(_NODE_KEYS)}",
                             loc("nodes", i, key))
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise InputError(f"nodes[{i}].name is required", loc("nodes", i))
    labels = entry.get("labels") or {}
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise InputError(f"nodes[{i}].labels: expected a mapping of strings", loc("nodes", i, "labels"))
    labels = {"kubernetes.io/hostname": name, **{str(k): v for k, v in labels.items()}}
    if entry.get("zone") is not None:
        labels[ZONE_LABEL] = str(entry["zone"])
    taints = []
    for j, t in enumerate(entry.get("taints") or []):
        where = loc("nodes", i, "taints", j)
        if not isinstance(t, dict) or not isinstance(t.get("key"), str):
            raise InputError(f"nodes[{i}].taints[{j}]: expected a mapping with key, value, effect", where)
        effect = t.get("effect", "NoSchedule")
        if effect not in TAINT_EFFECTS:
            raise InputError(f"nodes[{i}].taints[{j}].effect: expected one of {', '.join(TAINT_EFFECTS)}, "
                             f"got {effect!r}", where)
        taints.append(Taint(t["key"], str(t.get("value", "")), effect))
    pods = entry.get("pods")
    if pods is not None and (isinstance(pods, bool) or not isinstance(pods, int) or pods < 0):
        raise InputError(f"nodes[{i}].pods: expected an integer >= 0 (room for this many pods of the "
                         f"workload), got {pods!r}", loc("nodes", i, "pods"))
    return Node(name, labels, tuple(taints), pods)

