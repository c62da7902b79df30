"""From a decided property to what a user reads: the trace steps that matter, the
manifest lines to blame, why it fails, and the smallest fix the checker verifies."""
from __future__ import annotations

from dataclasses import dataclass

from zdverify.model.causes import CauseHandler, Witness, handler
from zdverify.model.causes.handler import claim_fails
from zdverify.model.schedule import schedule
from zdverify.model.simulator.engine import simulate
from zdverify.model.checker.graph import GraphFacts
from zdverify.model.checker.endpointslice import MAX_ENDPOINTS_PER_SLICE
from zdverify.model.objects import Field, Strategy
from zdverify.grammar.spec_language import ClaimKind, Sort
from zdverify.model.scenario import Entry, Scenario
from zdverify.model.scheduler import Node, discouraged
from zdverify.model.run import Choices, Timing
from zdverify.model.simulator.engine import Run, Violation
from zdverify.model.verdict import (
    Assumption,
    Blame,
    Component,
    EventKind,
    Fact,
    Property,
    Result,
    Step,
    Verdict,
)

TRACE_CAP = 40  # steps kept in a printed trace (the first and the last half)


@dataclass(frozen=True)
class Outcome:
    """What deciding one property produced; ``result`` turns it into what users read."""

    verdict: Verdict
    run: Run | None = None
    violation: Violation | None = None
    reason: str = ""
    candidate: tuple[Choices, Timing] | None = None  # the replayed run's inputs (a counterexample's)
    rests_on: tuple[Fact, ...] | None = ()  # a proof's support (None: not named within the budget)



def _assumptions(sc: Scenario, gf: GraphFacts | None) -> tuple[Assumption, ...]:
    from_file = sc.settings.origins.get("nodes")
    extra = (
        Assumption("nodes", ", ".join(sc.node_names) if from_file else str(sc.nodes),
                   from_file or ("flag" if sc.nodes != 3 else "default"),
                   f"pods of this workload may run on {len(sc.feasible)} of them"
                   if from_file else "every node is feasible for every pod (no cluster file)"),
        Assumption("deletion-order", "highest ordinal" if sc.rollout.strategy is Strategy.STATEFUL_SET
                   else "ReplicaSet ranking" if gf is not None and gf.node_kept else "any old pod", "model",
                   "highest ordinal first; the ordinals only name pods that differ in placement, which "
                   "the proofs leave free" if sc.rollout.strategy is Strategy.STATEFUL_SET else
                   f"old pods on nodes with more pods of the Deployment go first (rule 5; the template's "
                   f"pod-deletion-cost alike), ties free: with the placement rules, every node keeps a "
                   f"Ready pod in all {gf.node_states} per-node states, and the old pods were placed by the "
                   + ("same rules (their template, --from, has them)" if sc.from_previous else
                      "same rules (use --from if this change adds them)") if gf is not None and gf.node_kept else
                   "proofs over-approximate the ReplicaSet ranking; replayed traces follow it "
                   "(doubled-up nodes first, ties free)"),
        Assumption("entries", ", ".join(e.text for e in sc.entries), "manifest",
                   "clients may send a request at any instant"),
        _connections(sc),
    )
    most = _most_endpoints(sc)
    if most > MAX_ENDPOINTS_PER_SLICE:
        extra += (Assumption("endpointslices", "one slice, in order", "model",
                             f"up to {most} endpoints at once (old pods until gone, and new ones): past "
                             f"{MAX_ENDPOINTS_PER_SLICE} the controller splits them over several slices, written "
                             "one at a time, and kube-proxy may briefly see one before another — not modelled"),)
    rules = sc.placement
    if rules.limited:
        slots = rules.slots()
        extra += (Assumption("placement", f"{slots} pods at once" if slots else "per revision", "manifest",
                             f"{rules.why()}: a new pod without room stays Pending until a pod is gone "
                             "(a terminating pod still holds its place); proofs leave its start unbounded",
                             rules.loc),)
    if not rules.exact:
        extra += (Assumption("scheduling", "not modelled exactly", "model",
                             f"{rules.unmodelled}: proofs let a new pod wait for a node any time, but take "
                             "the rollout to finish (a pod Pending forever is not found)",
                             rules.loc or sc.pair.workload.loc_of(Field.AFFINITY)),)
    return sc.settings.assumptions(any(e.ip for e in sc.entries)) + extra


def _connections(sc: Scenario) -> Assumption:
    """How clients connect: a new connection per request, or (``zdverify/keep-alive``) pooled."""
    ka = sc.settings.keep_alive
    if ka is not None:
        return Assumption("connections", ka.text, "annotation",
                          "a pooled connection stays on its pod whatever the endpoints say (conntrack is cleared "
                          "for UDP only); the connection-reuse property checks when it is closed under a client",
                          ka.loc)
    return Assumption("connections", "a new connection per request", "model",
                      "kube-proxy flushes conntrack only for UDP: a client's keep-alive (pooled) TCP connection "
                      "stays on its pod through preStop whatever the endpoints say, and a request on it fails when "
                      "the pod closes it or exits — state pooled clients with the zdverify/keep-alive annotation "
                      "to check it (the connection-reuse property)")


def _witness(run: Run, v: Violation) -> Witness:
    """The violation's structured data, as its cause's handler words it."""
    tl = run.timeline
    assert tl is not None
    pod_i = v.found.bound(Sort.POD) if v.found is not None else None
    pod = tl.pods[int(pod_i)] if pod_i is not None else None
    where = run.node_names[v.node] if v.node < len(run.node_names) else "load-balancer"
    return Witness(v.prop, v.found, pod, where, tl, run.drain)


def _trace(sc: Scenario, run: Run, v: Violation, cause: CauseHandler, text: str) -> tuple[Step, ...]:
    """The steps a reader needs: controller actions, the pods involved (the violating pod,
    or for a Local entry the pods on the node), that node's kube-proxy and load balancer."""
    node = sc.node_name(v.node)
    if v.pod is not None:
        pods = {v.pod}
    elif v.entry is not None and v.entry.local:
        pods = {name for name, n in run.pod_nodes.items() if n == v.node}
    else:
        pods = set(run.pod_nodes)

    def about(s: Step) -> bool:
        return s.pod in pods

    # a node loses its last local pod by where the others are (the ReplicaSet deletes on the
    # fullest nodes first): with few pods, show where every new pod went and which went away
    others = [s for s in run.steps if s.t <= v.t_end + 1e-9 and s.pod not in pods
              and s.kind in (EventKind.POD_CREATED, EventKind.POD_SCHEDULED, EventKind.POD_DELETED)]
    placing = set(map(id, others)) if v.entry is not None and v.entry.local and len(others) <= 12 else set()
    keep = []
    for s in run.steps:
        if s.t > v.t_end + 1e-9:
            break
        if s.component in (Component.DEPLOYMENT, Component.DAEMONSET, Component.STATEFULSET, Component.KUBECTL) \
                and not s.where:  # controller actions; their pod steps are kept below when they matter
            keep.append(s)
        elif s.component in (Component.KUBE_PROXY, Component.LOAD_BALANCER):
            ip = v.entry is not None and v.entry.ip
            if s.where == node and ((s.component is Component.LOAD_BALANCER and not ip) or about(s)):
                keep.append(s)
        elif id(s) in placing:
            keep.append(s)
        elif about(s) and (v.pod is not None or s.kind in (
                EventKind.POD_DELETED, EventKind.POD_CREATED, EventKind.POD_SCHEDULED, EventKind.POD_PENDING,
                EventKind.READY, EventKind.SIGTERM, EventKind.SIDE_CONTAINER_EXITED,
                EventKind.SLICE_ADD, EventKind.SLICE_TERMINATING, EventKind.SLICE_NOT_SERVING)):
            keep.append(s)
    if v.entry is not None and v.entry.kind is Entry.LOAD_BALANCER and v.entry.local:
        flip = run.local_empty_at.get(v.node)
        removed = [s.t for s in run.steps if s.component is Component.LOAD_BALANCER and s.where == node
                   and s.kind is EventKind.LB_REMOVES_NODE and s.t > v.t]
        if flip is not None:
            until = f"; it removes the node at t={removed[0]:.2f}s" if removed else ""
            keep.append(Step(v.t, Component.LOAD_BALANCER, node, EventKind.REQUEST,
                             f"still sends new connections to {node}: its health check fails since "
                             f"t={flip:.2f}s (no local ready endpoint){until}",
                             sc.pair.service.loc_of(Field.EXTERNAL_TRAFFIC_POLICY)))
    if len(keep) > TRACE_CAP:
        keep = keep[:TRACE_CAP // 2] + keep[-TRACE_CAP // 2:]
    blame = cause.blame(sc)
    src = blame[0].loc if blame else None
    if v.pod is not None:
        later = [s for s in run.steps if s.component is Component.KUBE_PROXY and s.where == node
                 and s.pod == v.pod and s.t > v.t]
        routing = cause.routing(v.pod, later[0].t if later else None)
        if v.entry is not None and v.entry.ip:
            keep.append(Step(v.t, Component.LOAD_BALANCER, node, EventKind.REQUEST,
                             routing.replace("routes to", "sends new requests to"), pod=v.pod))
        else:
            keep.append(Step(v.t, Component.KUBE_PROXY, node, EventKind.REQUEST, routing, pod=v.pod))
    keep.append(Step(v.t, Component.CLIENT, node, EventKind.VIOLATION, text, src, pod=v.pod or ""))
    keep.sort(key=lambda s: s.t)
    return tuple(keep)


def result(sc: Scenario, prop: Property, o: Outcome, gf: GraphFacts | None) -> Result:
    base = dict(property=prop, workload=sc.workload, service=sc.service, port=sc.pair.port.port,
                assumptions=_assumptions(sc, gf), source=sc.pair.workload.loc)
    port = f"port {sc.pair.port.port}"
    title = prop.title
    if sc.drain is not None and prop.claim.kind is ClaimKind.COMPLETES:
        title = f"the drain of {sc.node_name(sc.drain)} always finishes, its pods replaced and available"
    if o.verdict is Verdict.PROVED:
        return Result(verdict=Verdict.PROVED, summary=f"{title} ({port})", rests_on=o.rests_on, **base)
    if o.verdict is Verdict.INCONCLUSIVE:
        return Result(verdict=Verdict.INCONCLUSIVE, summary=f"not decided: {o.reason}", why=o.reason, **base)
    assert o.run is not None and o.violation is not None
    v = o.violation
    cause = handler(prop.cause)
    blame, why, plan = cause.answer(sc, prop, gf)
    fix = plan.text
    # a spec file's property in its own words (its description and bindings); the built-ins' wording
    # belongs to their claims, which a custom claim with the same cause need not share
    text = cause.describe(_witness(o.run, v)) if prop.builtin else claim_fails(_witness(o.run, v))
    w = sc.pair.workload
    nodes = [Node(n, dict(labels)) for n, labels in zip(sc.node_names, sc.node_labels)] if sc.node_labels \
        else sc.nodes
    preferred = discouraged(w.template, w.namespace, nodes, sc.feasible, o.run.placements)
    timing = o.candidate[1] if o.candidate is not None else None
    run_schedule = schedule(sc, o.run, timing, v)
    fixed = None
    if plan.variant is not None and o.candidate is not None:  # the same run with the fix applied
        fixed = schedule(plan.variant, simulate(plan.variant, *o.candidate), timing, v)
    return Result(verdict=Verdict.COUNTEREXAMPLE, cause=prop.cause, schedule=run_schedule,
                  fix_edits=plan.edits, fix_schedule=fixed,
                  summary=f"{text} at t={v.t:.2f}s ({port})", trace=_trace(sc, o.run, v, cause, text),
                  blame=tuple(blame), why=why, fix=fix,
                  discouraged=tuple(Blame(loc, "preferred placement", text) for text, loc in preferred), **base)


def _most_endpoints(sc: Scenario) -> int:
    """How many endpoints the slice may hold at once: every old pod until it is gone (a
    drain's and a partition's kept pods too) and every new pod."""
    r = sc.rollout
    if r.strategy is Strategy.DAEMON_SET:
        return 2 * r.replicas
    return r.replicas + r.moving + r.surge
