"""The search: state graph for the discrete choices, Z3 for the timing, the simulator as judge.

For each (workload, Service port) scenario:

1. The rollout's state-transition graph (networkx; states are counts, i.e. canonical
   under pod and node symmetry) tells which configurations the controllers can reach:
   can the Service's ready set become empty, is any old pod deleted, does every
   interleaving finish.
2. Each hazard is a Z3 query over the events of the few pods it involves
   (``kubelet``, ``application``, ``endpointslice``, ``kube_proxy``, ``load_balancer``),
   with every other pod's constraints dropped. Dropping constraints only adds behaviours,
   so ``unsat`` proves the hazard impossible for every timing within the bounds and every
   choice the graph allows.
3. ``sat`` gives a timing; it is turned into a complete run (choices + every delay) and
   replayed by the independent simulator (for Local traffic under placement rules, runs
   that follow the per-node exploration's way of emptying a node come first). Only a replayed violation is printed as a
   counterexample; if no candidate replays, or Z3 answers ``unknown``, the verdict is
   inconclusive — never proved.
"""
from __future__ import annotations

import functools
import gc
import random
import time
from dataclasses import replace
from typing import Callable, Sequence

import z3

from zdverify.model import autoscaling, companions, lb_annotations, likelihood, parallel, suppression
from zdverify.model.assumptions import Settings, for_workload
from zdverify.model.checker.graph import GraphFacts, StateBudgetExceeded, facts
from zdverify.model.checker.node_exploration import NodeWitness, node_facts, node_witness, some_node_kept
from zdverify.model.guided import guided_runs
from zdverify.model.explain import Outcome, result
from zdverify.model.objects import Objects, Strategy, Workload, WorkloadKind
from zdverify.model.pairing import Pair
from zdverify.model.candidates import queries, random_timings, stalled_query
from zdverify.model.checker.properties import SOLVER_TIMEOUT_MS, Query
from zdverify.model.scenario import Entry, LeftUnverified, Scenario, build_scenario
from zdverify.model.scheduler import Node
from zdverify.model.run import Choices, Timing
from zdverify.model.simulator.engine import Run, simulate
from zdverify.model.simulator.run import Violation
from zdverify.model.source import InputError, InputProblem
from zdverify.model.suppression import Suppression
from zdverify.model.checker.encoding import Encoding
from zdverify.grammar.spec_language import ClaimKind, Sort, grounding
from zdverify.model.verdict import Cause, Fact, Note, NoteKind, Property, Report, Result, Verdict


def _tune_lb(sc: Scenario, choices: Choices, timing: Timing, run: Run) -> list[Timing]:
    """Second pass for Local load balancers: put a health check just before the moment a
    node lost its last local endpoint, so the load balancer keeps sending for as long as
    the bounds allow — first with prompt answers (kube-proxy's health port answers 503 at
    once), then answering at the timeout (a node that does not answer; the trace says so)."""
    if not any(e.kind is Entry.LOAD_BALANCER and e.local for e in sc.entries) or not run.local_empty_at:
        return []
    interval = sc.settings.lb.interval
    phases = [0.0] * sc.nodes
    for node, flip in run.local_empty_at.items():
        phases[node] = ((flip - 1e-6) % interval) / interval
    prompt = replace(timing, lb_phase=tuple(phases), lb_resp=0.0, lb_node_resp=())
    return [prompt, replace(prompt, lb_resp=sc.settings.lb.timeout * 0.999)]


def _tune_no_healthy(sc: Scenario, timing: Timing, run: Run) -> list[Timing]:
    """Third pass for Local load balancers: nodes that lose their last local endpoint are
    checked just after (removed as early as the bounds allow), nodes that gain their first
    one just before (added as late as they allow): the longest time with no healthy node —
    first with prompt answers, then with the gaining nodes answering at the timeout."""
    if not any(e.kind is Entry.LOAD_BALANCER and e.local for e in sc.entries) or not run.local_ready_at:
        return []
    lb = sc.settings.lb
    phases, slow = [0.0] * sc.nodes, [0.0] * sc.nodes
    for node, flip in run.local_empty_at.items():
        phases[node] = ((flip + 1e-6) % lb.interval) / lb.interval
    for node, gain in run.local_ready_at.items():
        if node not in run.local_empty_at or run.local_empty_at[node] > gain:
            phases[node] = ((gain - 1e-6) % lb.interval) / lb.interval
            slow[node] = lb.timeout * 0.999
    prompt = replace(timing, lb_phase=tuple(phases), lb_resp=0.0, lb_node_resp=(0.0,) * sc.nodes)
    return [prompt, replace(prompt, lb_node_resp=tuple(slow))]


def _out_of_time(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() > deadline


def _budget_reason(sc: Scenario) -> str:
    return (f"the time budget of {sc.settings.time_budget_s:g}s per workload and Service was spent before this "
            "was decided (--time-budget)")


def replay(sc: Scenario, prop: Property, candidates: Sequence[tuple[Choices, Timing]],
           deadline: float | None = None) -> Outcome | None:
    """The counterexample of the first candidate whose simulation violates ``prop``, with
    the run's inputs."""
    def traced(timing: Timing, v: Violation) -> Outcome:
        """The run to print, again with its trace — the violation is the untraced run's (the
        timelines are the same: tests/unit/test_trace_focus.py); of the per-node steps only the
        violation's node's, the only ones the printed trace shows."""
        focus = sc.node_name(v.node) if 0 <= v.node < sc.nodes else ""
        run = simulate(sc, choices, timing, focus=focus)
        run.known(v)
        return Outcome(Verdict.COUNTEREXAMPLE, run, v, candidate=(choices, timing))

    for choices, timing in candidates:
        if _out_of_time(deadline):
            return None
        run = simulate(sc, choices, timing, trace=False)
        v = run.first(prop)
        if v is not None:
            return traced(timing, v)
        for tune in (*_tune_lb(sc, choices, timing, run), *_tune_no_healthy(sc, timing, run)):
            v = simulate(sc, choices, tune, trace=False).first(prop) if tune is not None else None
            if v is not None:
                return traced(tune, v)
    return None




Candidates = Callable[[], Sequence[tuple[Choices, Timing]]]


def decide(sc: Scenario, queries: Sequence[Query], prop: Property, seed: int = 0,
           guided: Candidates | None = None, deadline: float | None = None) -> Outcome:
    """``guided``: candidates tried first once a query is satisfiable (runs that follow the
    per-node exploration's witness, ``model/guided.py``). One Z3 context per property (a
    context costs ~20 ms and ~17 MB): each query gets its own solver in it, so no query sees
    another's assertions."""
    inconclusive = ""
    ctx = z3.Context()
    for q in queries:
        if _out_of_time(deadline):
            return Outcome(Verdict.INCONCLUSIVE, reason=_budget_reason(sc))
        enc = Encoding(sc, ctx)
        enc.solver.set("timeout", SOLVER_TIMEOUT_MS)
        q.build(enc)
        res = enc.solver.check()
        if res == z3.unsat:
            continue
        if res == z3.unknown:
            inconclusive = f"Z3 could not decide '{q.label}': {enc.solver.reason_unknown()}"
            continue
        # runs that follow the per-node exploration first: Z3's layouts put every other pod
        # away from the observed node, which the placement rules behind them often forbid
        found = replay(sc, prop, guided(), deadline) if guided is not None else None
        if found is None:
            found = replay(sc, prop, q.witness(enc), deadline)
        if found is None:
            found = replay(sc, prop, random_timings(sc, random.Random(seed), 24), deadline)
        if found is not None:
            return found
        if _out_of_time(deadline):
            return Outcome(Verdict.INCONCLUSIVE, reason=_budget_reason(sc))
        inconclusive = (f"Z3 found a timing for '{q.label}', but no complete run built from it "
                        "replayed in the simulator")
    if inconclusive:
        return Outcome(Verdict.INCONCLUSIVE, reason=inconclusive)
    return Outcome(Verdict.PROVED, rests_on=rests_on(sc, queries))


CORE_BUDGET_S = 5.0  # per property: past it, a proof names the facts found so far as incomplete


def rests_on(sc: Scenario, queries: Sequence[Query]) -> tuple[Fact, ...] | None:
    """What a proof needed: per query, rebuilt with the bounds and manifest values as
    assumptions, a minimal unsat core of them; their union. None when a query's core could
    not be taken within the budget (the proof stands; only its support is not named)."""
    out: set[Fact] = set()
    t0 = time.perf_counter()
    for q in queries:
        left = CORE_BUDGET_S - (time.perf_counter() - t0)
        if left <= 0:
            return None
        enc = Encoding(sc, z3.Context(), tracking=True)  # its own: a minimal core depends on the term ids
        q.build(enc)
        core = enc.core(int(left * 1000))
        if core is None:
            return None
        out.update(core)
    return tuple(sorted(out))



MAX_GROUNDING = 10_000_000  # instances of a spec file's claim over a rollout's pods, nodes and zones


def _too_big(sc: Scenario, prop: Property) -> str:
    """Why a spec file's claim is too big to check on this rollout (its quantifiers
    expanded), or "". (The built-in claims are checked per node and pod pair, not expanded.)"""
    formula = prop.claim.violation()
    if formula is None or prop.builtin:
        return ""
    pods = 2 * sc.rollout.replicas + max(1, sc.rollout.surge)  # old and new, surge pods included
    sizes = {Sort.POD: pods, Sort.NODE: sc.nodes, Sort.ZONE: max(1, len(set(sc.node_zones)))}
    n = grounding(formula, sizes)
    if n <= MAX_GROUNDING:
        return ""
    return (f"the claim expands to {n:,} instances over this rollout's pods, nodes and zones (nested quantifiers "
            f"multiply); at most {MAX_GROUNDING:,} are checked — quantify over fewer variables")


def decide_property(sc: Scenario, prop: Property, gf: GraphFacts, guided: Candidates | None = None,
                    deadline: float | None = None) -> Outcome:
    """Prove ``prop`` on ``sc``, or find a replayed counterexample, or say why neither
    (``deadline``: ``time.monotonic()`` past which it stops, inconclusive)."""
    if _out_of_time(deadline):
        return Outcome(Verdict.INCONCLUSIVE, reason=_budget_reason(sc))
    too_big = _too_big(sc, prop)
    if too_big:
        return Outcome(Verdict.INCONCLUSIVE, reason=too_big)
    if prop.claim.kind is ClaimKind.COMPLETES:
        if sc.paused:
            found = replay(sc, prop, [(Choices(), Timing())])
            return (found if found else
                    Outcome(Verdict.INCONCLUSIVE, reason="the paused rollout did not replay as stalled"))
        if not gf.always_completes:
            # the graph has a state that cannot finish: a run that gets stuck is the trace
            found = replay(sc, prop, [(Choices(), Timing())] + random_timings(sc, random.Random(0), 24))
            if found is not None:
                return found
            if gf.reduced and gf.pending:
                return Outcome(Verdict.INCONCLUSIVE, reason=(
                    f"the state graph with Pending pods exceeds its budget ({gf.states} states without them): "
                    "whether every run finishes is not decided, and no stuck run was found"))
            return Outcome(Verdict.INCONCLUSIVE, reason="the state graph has a state that cannot finish")
        if sc.rollout.replicas == 0:
            return Outcome(Verdict.PROVED)
        return decide(sc, [stalled_query(prop, sc)], prop, deadline=deadline)
    return decide(sc, queries(prop, sc, gf), prop, guided=guided, deadline=deadline)


def _checks_nodes(sc: Scenario) -> bool:
    """Does a load balancer health-check the nodes (a LoadBalancer entry with policy Local)?"""
    return any(e.local and e.kind is Entry.LOAD_BALANCER for e in sc.entries)


def _placement_may_keep_nodes(sc: Scenario) -> bool:
    """Is it worth exploring the rollout per node? Only Local traffic asks whether every node
    keeps a pod, only required placement rules (spreads, caps) can make it so, and only
    when they are modelled exactly and the old pods were placed by the same rules."""
    return (any(e.local for e in sc.entries) and sc.rollout.strategy is Strategy.ROLLING_UPDATE
            and sc.placement.exact and bool(sc.placement.spread or sc.placement.limited)
            and sc.old_placed_alike and sc.drain is None and not sc.paused)


def _guided(sc: Scenario, untimed: NodeWitness | None) -> Candidates:
    """Runs that follow how a node loses its last Ready pod: the eager controller's witness
    (a timed run can follow it), then the exploration's own; built once, when first asked."""
    @functools.cache  # built when first asked (the eager search may be long), then kept
    def candidates() -> Sequence[tuple[Choices, Timing]]:
        eager = node_witness(sc.rollout, sc.placement, max_states=10_000)  # candidates, not proofs: kept short
        return [run for w in (eager, untimed) if w is not None for run in guided_runs(sc, w)]

    return candidates


def check_scenario(sc: Scenario, properties: Sequence[Property]) -> list[Result]:
    t0 = time.perf_counter()
    deadline = time.monotonic() + sc.settings.time_budget_s
    try:
        gf = facts(sc.rollout)
    except StateBudgetExceeded as e:
        return [result(sc, p, Outcome(Verdict.INCONCLUSIVE, reason=str(e)), None) for p in properties]
    guided: Candidates | None = None
    if _placement_may_keep_nodes(sc):
        nf = node_facts(sc.rollout, sc.placement)
        # a second exploration of the same states only where the first finished (found a witness)
        some = nf.kept or (_checks_nodes(sc) and nf.witness is not None and some_node_kept(sc.rollout, sc.placement))
        gf = replace(gf, node_kept=nf.kept, node_states=nf.states, node_some_kept=some)
        if not nf.kept:
            guided = _guided(sc, nf.witness)
    gf = replace(gf, whole_rollout=True)  # the search's facts: a whole rollout from its start
    graph_s = time.perf_counter() - t0
    # every query gets a fresh Z3 context (see ``decide``): models do not depend on what
    # ran before in the process, so traces and goldens are reproducible
    results = [_with_likelihood(sc, prop, result(sc, prop, decide_property(sc, prop, gf, guided, deadline), gf))
               for prop in properties]
    elapsed = time.perf_counter() - t0
    gc.collect()  # the Z3 contexts sit in reference cycles: free their native memory now, not at some later pass
    return [replace(r, stats={"states": gf.states, "edges": gf.edges, "reduced_graph": gf.reduced,
                              "node_states": gf.node_states,
                              "graph_s": round(graph_s, 4),
                              "total_s": round(elapsed, 4)}) for r in results]


def _with_likelihood(sc: Scenario, prop: Property, r: Result) -> Result:
    """A counterexample with the share of random rollouts that fail (``model/likelihood.py``)."""
    runs = sc.settings.likelihood_runs
    if r.verdict is not Verdict.COUNTEREXAMPLE or runs <= 0:
        return r
    return replace(r, likelihood=likelihood.estimate(sc, prop, runs))


def check_all(pairs: Sequence[Pair], notes: Sequence[Note], objects: Objects, nodes: int | Sequence[Node],
              settings: Settings, properties: Sequence[Property], suppressions: Sequence[Suppression] = (),
              previous: Objects | None = None, drain: int | None = None,
              errors: Sequence[InputProblem] = (), jobs: int = 1) -> Report:
    """``nodes``: a node count, or the cluster file's nodes. ``previous``: the objects the
    cluster runs now (``--from``): old pods run their templates. ``drain``: check a drain of
    that node (evictions under PodDisruptionBudgets) instead of a rollout. ``errors``: input
    errors met so far; a pair whose own input is bad (an annotation, a port) adds its error
    there and the other pairs are still checked. ``jobs``: processes checking pairs at once
    (the report is the same for any number)."""
    old_by_ref = {w.ref: w for w in previous.workloads} if previous is not None else {}
    results: list[Result] = []
    notes = list(notes)
    problems = list(errors)
    for u in objects.unverified:
        notes.append(Note(NoteKind.LEFT_UNVERIFIED, f"{u.ref}: {u.reason}; left unverified ({u.loc})"))
    # every (pair, replica count) is one unit of work, checked in parallel (``jobs``) and
    # assembled in order: the output is the serial run's
    spans = [_span(p, objects) for p in pairs]
    units = [(p, k) for p, span in zip(pairs, spans) for k in (span.checked if span is not None else (None,))]

    def unit(i: int) -> tuple[list[Result], list[Note], InputProblem | None]:
        p, k = units[i]
        own: list[Note] = []
        try:
            one = p if k is None else replace(p, workload=replace(p.workload, replicas=k))
            return _check_pair(one, objects, nodes, settings, properties, suppressions, previous,
                               old_by_ref.get(p.workload.ref), drain, own), own, None
        except InputError as e:
            return [], own, InputProblem.of(e)

    done = iter(parallel.map_forked(unit, len(units), jobs))
    for p, span in zip(pairs, spans):
        per_count = []
        failed = False
        for _ in span.checked if span is not None else (None,):
            rs, own, problem = next(done)
            if failed:
                continue  # as a serial run: a pair stops at its first input error
            notes.extend(own)
            if problem is not None:
                problems.append(problem)
                failed = True
            per_count.append(rs)
        if not failed:
            results.extend(per_count[0] if span is None else _over_counts(span, per_count))
    count = nodes if isinstance(nodes, int) else len(nodes)
    return Report(tuple(results), tuple(dict.fromkeys(notes)), count, settings.version_text, tuple(properties),
                  tuple(dict.fromkeys(problems)))


def _span(p: Pair, objects: Objects) -> autoscaling.Counts | None:
    """The replica counts an autoscaler may choose for the pair's workload (None: none)."""
    scaler = autoscaling.autoscaler_of(p.workload, objects.autoscalers)
    return None if scaler is None else autoscaling.counts(p.workload, scaler)


def _over_counts(span: autoscaling.Counts, per_count: Sequence[Sequence[Result]]) -> list[Result]:
    """One result per property over an autoscaler's replica counts: the worst; a
    counterexample or an inconclusive result says at which count."""
    out = []
    for rs in zip(*per_count):
        worst = _worse(*rs)
        if worst.verdict is not Verdict.PROVED:
            k = span.checked[list(rs).index(worst)]
            worst = replace(worst, summary=f"{worst.summary} — with {k} replica{'' if k == 1 else 's'} ({span.autoscaler.ref})")
        elif span.left_out:
            a = span.autoscaler
            reason = (f"proved with replicas {', '.join(map(str, span.checked))}, but {a.ref} may choose any of "
                      f"{a.min_replicas}..{a.max_replicas} and {len(span.left_out)} counts were not checked (at most "
                      f"{autoscaling.MAX_COUNTS} are): not a proof for the range")
            worst = replace(worst, verdict=Verdict.INCONCLUSIVE, summary=f"not decided: {reason}", why=reason,
                            rests_on=())
        out.append(replace(worst, assumptions=worst.assumptions + (span.assumption(),)))
    return out


def _check_pair(p: Pair, objects: Objects, nodes: int | Sequence[Node], settings: Settings,
                properties: Sequence[Property], suppressions: Sequence[Suppression], previous: Objects | None,
                old: Workload | None, drain: int | None, notes: list[Note]) -> list[Result]:
    """The results of one (workload, Service port); what it leaves unverified goes to ``notes``."""
    if p.workload.replicas == 0 and p.workload.kind is not WorkloadKind.DAEMON_SET:
        notes.append(Note(NoteKind.LEFT_UNVERIFIED, f"{p.workload.ref}: replicas is 0; nothing rolls out, "
                          "left unverified"))
        return []
    if p.service.headless:
        notes.append(Note(NoteKind.LEFT_UNVERIFIED, f"{p.service.ref}: headless (clusterIP: None), clients "
                          f"resolve pod IPs without kube-proxy; {p.workload.ref} left unverified for it"))
        return []
    own_settings = lb_annotations.for_service(for_workload(settings, p.workload.annotations, p.workload.loc_of),
                                              p.service.annotations, p.service.loc_of)
    if previous is not None and old is None:
        notes.append(Note(NoteKind.ASSUMPTION,
                          f"{p.workload.ref}: not in --from; its old pods are taken to run the new template"))
    budget = None
    if drain is not None:
        if p.workload.kind not in (WorkloadKind.DEPLOYMENT, WorkloadKind.STATEFUL_SET):
            notes.append(Note(NoteKind.LEFT_UNVERIFIED, f"{p.workload.ref}: " + (
                "kubectl drain leaves DaemonSet pods running (--ignore-daemonsets)"
                if p.workload.kind is WorkloadKind.DAEMON_SET else
                "kubectl drain deletes a bare Pod only with --force, and nothing replaces it")
                + " (Deployments and StatefulSets are checked under --drain); left unverified"))
            return []
        budget = next((b for b in objects.budgets if (b.namespace, b.scope) == (p.workload.namespace, p.workload.scope)
                       and b.selector.matches(p.workload.template.labels)), None)
    try:
        sc = build_scenario(p, nodes, own_settings, old, drain, budget)
    except LeftUnverified as e:
        notes.append(Note(NoteKind.LEFT_UNVERIFIED, f"{e.message}; left unverified ({e.loc})"))
        return []
    if drain is not None and (drain not in sc.feasible or len(sc.feasible) < 2):
        notes.append(Note(NoteKind.LEFT_UNVERIFIED, f"{p.workload.ref}: " + (
            "none of its pods can run on the drained node" if drain not in sc.feasible else
            "no other node can run its pods: evicted pods stay Pending") + "; left unverified"))
        return []
    own = (suppression.from_annotations(p.workload, dict(p.workload.annotations), p.workload.ref,
                                        properties, is_service=False)
           + suppression.from_annotations(p.service, dict(p.service.annotations), p.service.ref,
                                          properties, is_service=True))
    results = _with_companions(sc, properties) if p.companions else check_scenario(sc, properties)
    return suppression.apply(_vacuous_if_stalled(results), [*own, *suppressions])


def _vacuous_if_stalled(results: list[Result]) -> list[Result]:
    """When the rollout can stall, its proofs hold only for the part that runs: say so."""
    if not any(r.property.builtin and r.property.cause is Cause.STALLED and r.verdict is Verdict.COUNTEREXAMPLE
               for r in results):
        return results
    return [replace(r, vacuous=True, summary=f"{r.summary}; vacuous in part: the rollout can stall (see stalled), "
                    "so this holds only for the part that runs") if r.verdict is Verdict.PROVED else r
            for r in results]


def _with_companions(sc: Scenario, properties: Sequence[Property]) -> list[Result]:
    """A workload whose Service selects other workloads too (``model/companions.py``): some
    node keeps a healthy target, and the entries the other pods cover always have a Ready
    endpoint. What holds outright is proved by them; the rest is checked on the covered
    entries (no terminating fallback) and on the others as for the workload alone. A
    property's result is the worse of the two."""
    sc = companions.never_fails_open(sc)
    covered = tuple(e for e in sc.entries if companions.covered(e, sc))
    uncovered = tuple(e for e in sc.entries if not companions.covered(e, sc))
    groups: list[list[Result]] = []
    for entries, is_covered in ((covered, True), (uncovered, False)):
        if not entries:
            continue
        group = replace(sc, entries=entries, others_ready=is_covered)
        checked = [p for p in properties if not companions.holds(p, is_covered)]
        by_slug = {r.property.slug: r for r in (check_scenario(group, checked) if checked else [])}
        if is_covered and sc.fallback:  # their proofs also rest on the other pods: no terminating fallback
            by_slug = {k: replace(r, rests_on=r.rests_on + (companions.fact(sc),))
                       if r.verdict is Verdict.PROVED and r.rests_on is not None else r for k, r in by_slug.items()}
        groups.append([by_slug[p.slug] if p.slug in by_slug else result(
            group, p, Outcome(Verdict.PROVED, rests_on=(companions.fact(sc),)), None) for p in properties])
    extra = (companions.assumption(sc),)
    return [replace(_worse(*rs), assumptions=_worse(*rs).assumptions + extra) for rs in zip(*groups)]


def _worse(*results: Result) -> Result:
    """One property's result over several groups of entries: the worst verdict; proofs
    rest on what each group's proof rested on."""
    worst = max(results, key=lambda r: r.verdict.rank)
    if worst.verdict is not Verdict.PROVED:
        return worst
    cores = [r.rests_on for r in results]
    rests = None if any(c is None for c in cores) else tuple(sorted(set().union(*cores)))
    return replace(results[0], rests_on=rests)


def node_index(nodes: int | Sequence[Node], name: str) -> int:
    """``--drain NAME``: a cluster file's node name, or node-K with ``--nodes``."""
    names = [f"node-{i + 1}" for i in range(nodes)] if isinstance(nodes, int) else [n.name for n in nodes]
    if name not in names:
        raise InputError(f"--drain: no node {name!r}; nodes: {', '.join(names)}")
    return names.index(name)


