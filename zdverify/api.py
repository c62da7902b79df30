"""The public API: ``verify(paths) -> Report``."""
from __future__ import annotations

import os
from dataclasses import replace
from typing import Mapping, Sequence

from zdverify.model.assumptions import settings as make_settings
from zdverify.model.cluster import MAX_NODES, load_cluster
from zdverify.model.inputs import Inputs, gather, template_note
from zdverify.model.kube import build_objects
from zdverify.model.load import Document
from zdverify.model.objects import Objects
from zdverify.model.pairing import pair
from zdverify.model.source import InputError, InputProblem
from zdverify.model import suppression
from zdverify.model.suppression import Suppression
from zdverify.specs import registry
from zdverify.model.verdict import Note, NoteKind, Report


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
    context: Sequence[str] = (),
    likelihood_runs: int = 0,
    jobs: int = 1,
    shard: tuple[int, int] | None = None,
    time_budget: float | None = None,
) -> Report:
    """Load manifests, pair workloads with Services, and check the properties: the
    built-ins plus those of ``specs`` (spec files), narrowed to ``select`` (ids or names).

    ``allow_empty``: a directory without YAML files is nothing to verify, not an error.
    ``likelihood_runs``: random rollouts simulated per counterexample for its likelihood (0: none).
    ``context``: more manifests (files, directories) the given ones pair with — a changed
    Deployment's Service in another file — whose own results are not reported.
    ``jobs``: processes checking (workload, Service) pairs at once; the report does not
    depend on it. ``shard``: (I, N) checks only the workloads of shard I of N (a stable hash
    of each workload's kind/namespace/name, ``model/parallel.py``); input errors and the
    reading's notes are reported by shard 1 only, so merged shards list each once.
    Raises :class:`InputError` (with a location where there is one) for bad input; the
    pipeline flows one way: load -> objects -> pairs -> scenarios -> search -> Report.
    """
    from zdverify.model.parallel import in_shard
    from zdverify.model.search import check_all, node_index  # the search is the only heavy import

    if nodes is not None and not 1 <= nodes <= MAX_NODES:
        raise InputError(f"--nodes: expected 1..{MAX_NODES:,} nodes, got {nodes}")
    topology = load_cluster(cluster) if cluster else None
    if topology is not None and nodes is not None and nodes != len(topology.nodes):
        raise InputError(f"--nodes {nodes} conflicts with the {len(topology.nodes)} nodes of {cluster}")
    s = make_settings(assume, k8s_version, lb, topology)
    if likelihood_runs:
        s = replace(s, likelihood_runs=likelihood_runs)
    if time_budget is not None:  # seconds per (workload, Service) check; past it: inconclusive
        s = replace(s, time_budget_s=float(time_budget))
    known = registry.load(specs)
    properties = registry.select(known, select)
    suppression.check(suppressions, known)
    inputs = gather(paths, stdin_text=stdin_text, stdin_name=stdin_name, allow_empty=allow_empty)
    objects, problems, notes = _objects(inputs)
    focus = None
    if context:
        objects, focus, hidden = _with_context(objects, inputs, context)
        if hidden:
            notes.append(Note(NoteKind.SKIPPED, f"{hidden} input error(s) in --context files not shown (only the "
                              "given files' errors are reported)"))
    old = None
    if previous:
        old, old_problems, old_notes = _objects(gather(previous))
        problems += old_problems
        notes += old_notes
    pairs, pair_notes = pair(objects, problems, focus)
    node_spec = topology.nodes if topology is not None else (nodes or 3)
    drained = node_index(node_spec, drain) if drain is not None else None
    if shard is not None:
        pairs = [p for p in pairs if in_shard(str(p.workload.ref), shard)]
        if shard[0] != 1:
            notes, pair_notes, problems = [], [], []
    return check_all(pairs, notes + pair_notes, objects, node_spec, s, properties, suppressions, old, drained,
                     _in_reading_order([InputProblem.of(e) for e in problems]), jobs=jobs)


def _with_context(objects: Objects, inputs: Inputs, context: Sequence[str]) -> tuple[Objects, set[int], int]:
    """The given files' objects together with those of ``context`` (other files they pair
    with: a Deployment's Service, its autoscaler), the ids of the given ones — results and
    notes are about those — and how many errors the context files had."""
    given = {os.path.realpath(d.origin) for d in inputs.docs} | {
        os.path.realpath(p.loc.file) for p in inputs.problems if p.loc}
    around = gather(context, allow_empty=True)
    extra = Inputs(tuple(d for d in around.docs if os.path.realpath(d.origin) not in given),
                   tuple(p for p in around.problems if not p.loc or os.path.realpath(p.loc.file) not in given),
                   (), around.templated)
    more, hidden, _ = _objects(extra)
    focus = {id(o) for o in (*objects.workloads, *objects.services)}
    merged = Objects(objects.workloads + more.workloads, objects.services + more.services, objects.unverified,
                     objects.budgets + more.budgets, objects.autoscalers + more.autoscalers)
    return merged, focus, len(hidden)


def _in_reading_order(problems: list[InputProblem]) -> list[InputProblem]:
    """Files in the order they were read, each from its first line down."""
    files: dict[str, int] = {}
    for p in problems:
        files.setdefault(p.loc.file if p.loc else "", len(files))
    return sorted(problems, key=lambda p: (files[p.loc.file], p.loc.line) if p.loc else (files[""], 0))


def _objects(inputs: Inputs) -> tuple[Objects, list[InputError], list[Note]]:
    """The valid objects of the input, every error met, and notes on what was skipped. A
    file with template actions (``{{ … }}``) whose objects are invalid is an unrendered
    template: it is skipped with a note, not reported as errors."""
    failed: list[tuple[Document, InputError]] = []
    objects = build_objects(inputs.docs, failed)
    templated = {d.origin for d, _ in failed if d.origin in inputs.templated}
    notes = list(inputs.notes)
    if templated:
        notes += [Note(NoteKind.SKIPPED, template_note(o, inputs.templated[o])) for o in sorted(templated)]
        failed = []
        objects = build_objects([d for d in inputs.docs if d.origin not in templated], failed)
    return objects, [*inputs.problems, *(e for _, e in failed)], notes
