"""The public API: ``verify(paths) -> Report``."""
from __future__ import annotations

from typing import Mapping, Sequence

from zdverify.model.assumptions import settings as make_settings
from zdverify.model.kube import build_objects
from zdverify.model.load import load_paths
from zdverify.model.pairing import pair
from zdverify.model.source import InputError
from zdverify.model.suppression import Suppression
from zdverify.model.verdict import Report


def verify(
    paths: Sequence[str],
    *,
    nodes: int = 3,
    k8s_version: str | None = None,
    assume: Mapping[str, str] | None = None,
    stdin_text: str | None = None,
    stdin_name: str = "<stdin>",
    suppressions: Sequence[Suppression] = (),
    lb: str | None = None,
) -> Report:
    """Load manifests, pair workloads with Services, and check every built-in property.

    Raises :class:`InputError` (with a location where there is one) for bad input; the
    pipeline flows one way: load -> objects -> pairs -> scenarios -> search -> Report.
    """
    from zdverify.model.search import check_all  # the search is the only heavy import

    if nodes < 1:
        raise InputError(f"--nodes: expected at least 1 node, got {nodes}")
    s = make_settings(assume, k8s_version, lb)
    docs = load_paths(paths, stdin_text=stdin_text, stdin_name=stdin_name)
    objects = build_objects(docs)
    pairs, notes = pair(objects)
    return check_all(pairs, notes, objects, nodes, s, suppressions)
