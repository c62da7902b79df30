"""The public API: ``verify(paths) -> Report``."""
from __future__ import annotations

from typing import Mapping, Sequence

from zdverify.model.assumptions import settings as make_settings
from zdverify.model.cluster import load_cluster
from zdverify.model.kube import build_objects
from zdverify.model.load import load_paths
from zdverify.model.pairing import pair
from zdverify.model.source import InputError
from zdverify.model import suppression
from zdverify.model.suppression import Suppression
from zdverify.specs import registry
from zdverify.model.verdict import Report


def verify(
    paths: Sequence[str],
    *,
    nodes: int | None = None,
    k8s_version: str | None = None,
    assume: Mapping[str, str] | None = None,
    stdin_text: str | None = None,
    stdin_name: str = "<stdin>",
    suppressions: Sequence[Suppression] = (),
    lb: str | None = None,
    cluster: str | None = None,
    previous: Sequence[str] = (),
    specs: Sequence[str] = (),
    select: Sequence[str] = (),
    drain: str | None = None,
    allow_empty: bool = False,
) -> Report:
    """Load manifests, pair workloads with Services, and check the properties: the
    built-ins plus those of ``specs`` (spec files), narrowed to ``select`` (ids or names).

    ``allow_empty``: a directory without YAML files is nothing to verify, not an error.
    Raises :class:`InputError` (with a location where there is one) for bad input; the
    pipeline flows one way: load -> objects -> pairs -> scenarios -> search -> Report.
    """
    from zdverify.model.search import check_all, node_index  # the search is the only heavy import

    if nodes is not None and nodes < 1:
        raise InputError(f"--nodes: expected at least 1 node, got {nodes}")
    topology = load_cluster(cluster) if cluster else None
    if topology is not None and nodes is not None and nodes != len(topology.nodes):
        raise InputError(f"--nodes {nodes} conflicts with the {len(topology.nodes)} nodes of {cluster}")
    s = make_settings(assume, k8s_version, lb, topology)
    known = registry.load(specs)
    properties = registry.select(known, select)
    suppression.check(suppressions, known)
    docs = load_paths(paths, stdin_text=stdin_text, stdin_name=stdin_name, allow_empty=allow_empty)
    objects = build_objects(docs)
    pairs, notes = pair(objects)
    node_spec = topology.nodes if topology is not None else (nodes or 3)
    old = build_objects(load_paths(previous)) if previous else None
    drained = node_index(node_spec, drain) if drain is not None else None
    return check_all(pairs, notes, objects, node_spec, s, properties, suppressions, old, drained)
