"""Cause ``termination``: a request reaches an old pod after it stopped serving. Its fix,
the smallest preStop sleep the checker proves enough, also closes a node's Local
no-endpoint window (``no_endpoint.py``); the shutdown's blamed lines are also those of a
request killed in flight (``killed_in_flight.py``)."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable

from zdverify.model.fix_search import context, proved, smallest
from zdverify.model.causes.handler import CauseHandler, FixPlan, Witness, claim_fails, via
from zdverify.model.candidates import queries
from zdverify.model.checker.properties import Query
from zdverify.model.checker.graph import GraphFacts, facts
from zdverify.model.checker.node_exploration import node_facts
from zdverify.model.objects import Field, HandlerKind, Strategy, WorkloadKind
from zdverify.model.scenario import Entry, HookSpec, Scenario, SideContainer
from zdverify.model.scheduler import HOSTNAME_LABEL
from zdverify.model.verdict import Blame, Cause, FixEdit, Property


@dataclass(frozen=True)
class Termination(CauseHandler):
    cause = Cause.TERMINATION

    def why(self, sc: Scenario) -> str:
        return self.why_given(sc, None)

    def why_given(self, sc: Scenario, gf: GraphFacts | None) -> str:
        """With the state graph: whether some state has no pod Ready (``zero_ready``), when
        kube-proxy falls back to the terminating pods."""
        b = sc.settings
        lag = b["endpointslice"].hi + b["kube-proxy"].hi
        lb = b.lb
        return ("the kubelet and the EndpointSlice controller react to the deletion concurrently: "
                f"SIGTERM can come {sc.old.hook.serve_min:g}s after deletion, while removing the endpoint "
                f"from every node's rules can take up to {lag:g}s"
                + (f", and a Local load balancer keeps sending for up to {lb.removal_max:g}s"
                   if any(e.local for e in sc.entries) else "")
                + (f", and a load balancer with pod IP targets keeps sending new requests until the target is "
                   f"deregistered (up to {b['lb-deregister'].hi:g}s) or fails {lb.unhealthy} health checks"
                   if any(e.ip for e in sc.entries) else "")
                + ("; and while no pod is Ready (the state graph has a state with none available), kube-proxy "
                   "falls back to the terminating pods, so requests reach them until a new pod is Ready"
                   if sc.fallback and gf is not None and gf.zero_ready else "")
                + ("; the application is taken to stop accepting at SIGTERM (app-close 0s, the default: if it "
                   "keeps serving while it shuts down, state it with zdverify/on-sigterm, e.g. \"drain 5s\")"
                   if b.origins.get("app-close") == "default" and b["app-close"].hi == 0 else ""))

    def blame(self, sc: Scenario) -> list[Blame]:
        return shutdown_blame(sc)

    def fix(self, sc: Scenario, prop: Property, gf: GraphFacts | None) -> str:
        return closing_plan(sc, prop, gf).text

    def fix_plan(self, sc: Scenario, prop: Property, gf: GraphFacts | None) -> FixPlan:
        return closing_plan(sc, prop, gf)

    def describe(self, w: Witness) -> str:
        return reaches_not_serving(w) if w.found is not None and w.pod is not None else claim_fails(w)


HANDLER = Termination()


def reaches_not_serving(w: Witness) -> str:
    """A request sent to a pod that does not serve: closed (old), restarting or not yet listening."""
    assert w.found is not None and w.pod is not None
    pod = w.pod
    why = ("has already closed its listener" if pod.old else
           "was killed and is restarting" if w.found.t >= pod.killed else "has not started listening yet")
    return f"{via(w)} is sent to {pod.name}, which {why}"


def shutdown_blame(sc: Scenario) -> list[Blame]:
    """The deleted pods' shutdown: their preStop hook, then the grace period (and a Service
    that publishes terminating pods as ready first)."""
    pod = sc.old  # the deleted pods run the old template
    h = pod.hook
    out = [Blame(h.loc or pod.container_loc, f"containers[{pod.container}].lifecycle.preStop", h.text)]
    out.append(Blame(pod.grace_loc or sc.pair.workload.loc_of(Field.GRACE),
                     Field.TEMPLATE_GRACE, f"{pod.grace:g}s"))
    out += side_blame(sc)
    if sc.publish_not_ready:
        out.insert(0, Blame(sc.pair.service.loc_of(Field.PUBLISH_NOT_READY), Field.PUBLISH_NOT_READY,
                            "terminating pods stay published as ready endpoints"))
    return out


def early_sides(sc: Scenario) -> list[SideContainer]:
    """The deleted pods' other containers whose preStop ends before the serving one's: each
    gets SIGTERM first and may exit, ending the pod's Ready while it still serves."""
    main = sc.old.hook
    return [c for c in sc.old.others if c.hook.lo < main.lo and not c.native]


def side_blame(sc: Scenario) -> list[Blame]:
    """Blame naming each container that may end the pod's Ready early."""
    main = sc.old
    return [Blame(c.hook.loc or c.loc, f"containers[{c.name}].lifecycle.preStop",
                  f"{c.hook.text}: container {c.name!r} gets SIGTERM before {main.container!r} ({main.hook.text}) "
                  "and may exit at once; the pod's Ready ends with it, and a terminating endpoint that is not "
                  "Ready no longer serves as kube-proxy's fallback") for c in early_sides(sc)]


def _side_fix(sc: Scenario) -> tuple[Scenario, str]:
    """The scenario with every early container given the serving one's preStop, and the
    change in words ("" if none is needed)."""
    sides = early_sides(sc)
    if not sides:
        return sc, ""
    main = sc.old
    others = tuple(replace(c, hook=main.hook) if c in sides else c for c in main.others)
    names = ", ".join(repr(c.name) for c in sides)
    text = (f"in container{'s' if len(sides) > 1 else ''} {names}: the same preStop as {main.container!r} "
            f"({main.hook.text}), so that no container ends the pod's Ready before {main.container!r} stops "
            "serving")
    return replace(sc, old_pod=replace(main, others=others)), text


def closing_fix(sc: Scenario, prop: Property, gf: GraphFacts | None) -> str:
    return closing_plan(sc, prop, gf).text


def closing_plan(sc: Scenario, prop: Property, gf: GraphFacts | None) -> FixPlan:
    """The fix that keeps a deleted pod serving until no traffic reaches it (for
    ``termination``, and ``no-endpoint`` under Local traffic): a surge for a DaemonSet
    without one, else the smallest preStop sleep under which ``prop`` is proved — that
    one as data too (its edits, and the scenario with it)."""
    if sc.rollout.strategy is Strategy.DAEMON_SET and sc.rollout.surge == 0 and any(e.local for e in sc.entries):
        return FixPlan("spec.updateStrategy.rollingUpdate: {maxSurge: 1, maxUnavailable: 0} — each node's new pod "
                       "is then Ready before its old pod is deleted, so no node loses its local endpoint "
                       "(examples/daemonset-local-surge.yaml is proved)")
    if sc.publish_not_ready:
        return FixPlan("remove publishNotReadyAddresses: true from the Service")
    gfx = gf if gf is not None else facts(sc.rollout)
    local_lb = any(e.local and e.kind is Entry.LOAD_BALANCER for e in sc.entries)
    several = False

    def make(v: Scenario) -> list[Query]:
        return queries(prop, v, gfx)

    variant, sides = _side_fix(sc)
    if sides:
        enough = minimal_prestop(variant, make)
        if enough is not None and enough <= variant.old.hook.lo:
            return FixPlan(sides)  # the serving container's preStop is enough once the others wait as long
    ready = _fail_open_min_ready(sc, gfx) if local_lb else None
    if ready is not None:  # with no node healthy the load balancer fails open: close that first
        sc = replace(sc, min_ready=float(ready))
    n = minimal_prestop(sc, make)
    min_ready_edit = (FixEdit("spec.minReadySeconds", ready, str(int(sc.pair.workload.min_ready_seconds))),) \
        if ready is not None else ()
    if ready is not None and n is not None and n <= sc.old.hook.hi:
        # the preStop delay is enough once a node stays healthy
        return FixPlan(_min_ready_fix(ready), min_ready_edit, sc)
    if n is None and prop.cause is Cause.TERMINATION and local_lb and sc.rollout.replicas > 1:
        # while another local pod keeps the node in the load balancer, no delay is
        # provably enough; size it for a node's last pod, as the no-endpoint property does
        last_pod = _builtin_of(Cause.NO_ENDPOINT)
        n = minimal_prestop(sc, lambda v: queries(last_pod, v, gfx))
        several = n is not None
    if n is None:
        if gfx.zero_ready and sc.fallback:
            return FixPlan(_keep_ready_fix(sc))
        return FixPlan("set externalTrafficPolicy: Cluster (no preStop delay up to 600s closes this window)")
    text = _prestop_fix(sc, n, several)
    shorter = [c.name for c in sc.old.others if c.hook.lo < n and not c.native]
    if shorter:
        text += (f"\nand the same preStop in container{'s' if len(shorter) > 1 else ''} "
                 f"{', '.join(map(repr, shorter))} (each container gets SIGTERM after its own preStop; one that "
                 "exits first ends the pod's Ready)")
    fixed = prestop_variant(sc, n)
    return FixPlan(text + ("\nand " + _min_ready_fix(ready) if ready is not None else ""),
                   _prestop_edits(sc, fixed, n, shorter) + min_ready_edit, fixed)


def _fail_open_min_ready(sc: Scenario, gf: GraphFacts) -> int | None:
    """A load balancer that fails open sends to every node while it finds none healthy: no
    preStop delay closes that. The smallest minReadySeconds that keeps a node healthy
    (``no_healthy_target.minimal_min_ready``), when the scenario needs a larger one."""
    if not sc.settings.lb.fail_open:
        return None
    from zdverify.model.causes.no_healthy_target import minimal_min_ready
    m = minimal_min_ready(sc, _builtin_of(Cause.NO_HEALTHY_TARGET), gf)
    return m if m is not None and m > sc.min_ready else None


def _min_ready_fix(m: int) -> str:
    return (f"spec.minReadySeconds: {m} — with no node healthy the load balancer fails open to nodes without a "
            "pod; an old pod is then deleted only once a new pod's node has passed its checks")


def _builtin_of(cause: Cause) -> Property:
    """The built-in property reported as ``cause``."""
    from zdverify.specs.registry import builtin
    return next(p for p in builtin() if p.cause is cause)


def _keep_ready_fix(sc: Scenario) -> str:
    """No preStop delay helps when no ready endpoint is left (kube-proxy then falls back
    to the terminating pods): keep one."""
    return (f"keep a ready pod during the {'drain' if sc.drain is not None else 'rollout'}: with no "
            "ready endpoint left, kube-proxy falls back to terminating pods until they are removed. "
            + ("Run it from a Deployment with replicas >= 2 and maxUnavailable: 0"
               if sc.pair.workload.kind is WorkloadKind.POD else
               "Add a PodDisruptionBudget with maxUnavailable: 1 for these pods (and run replicas >= 2), "
               "so the drain never evicts the last Ready pod" if sc.drain is not None else
               f"Set spec.updateStrategy.rollingUpdate.maxUnavailable to {sc.rollout.replicas - 1} "
               "(a StatefulSet never surges)" if statefulset_batch_takes_all(sc) else
               "Set spec.replicas to 2 or more (a StatefulSet never surges)"
               if sc.rollout.strategy is Strategy.STATEFUL_SET else
               "strategy.rollingUpdate: {maxSurge: 1, maxUnavailable: 0}"))


def _replaced_hook(sc: Scenario, n: int) -> str:
    """What the suggested sleep replaces: an existing preStop is named, and an exec command
    that does more than sleep is kept after the sleep."""
    h = sc.old.hook
    if h.loc is None:
        return ""
    existing = sc.pair.container.pre_stop
    text = f"\n(this replaces the {h.text} at line {h.loc.line}"
    if existing is not None and existing.kind is HandlerKind.EXEC and h.may_stop_app:
        chained = " ".join(existing.command[2:] if existing.command[:1] and existing.command[0] in _SHELLS
                           and existing.command[1:2] == ("-c",) else existing.command)
        return text + (f"; to keep it, run it after the sleep: command: [\"sh\", \"-c\", \"sleep {n} && "
                       f"{chained}\"] (needs a shell in the image))")
    return text + ")"


_SHELLS = ("sh", "bash", "/bin/sh", "/bin/bash")


def _prestop_fix(sc: Scenario, n: int, several: bool) -> str:
    """A preStop sleep of ``n`` seconds in the old template, the grace period raised above it."""
    b = sc.settings
    pod = sc.old
    grace = max(int(pod.grace), n + math.ceil(b["app-close"].hi + b["request"].hi) + 2)
    hook = (f"lifecycle:\n  preStop:\n    sleep:\n      seconds: {n}" if b.native_sleep else
            f"lifecycle:\n  preStop:\n    exec:\n      command: [\"sleep\", \"{n}\"]")
    text = f"in container {pod.container!r}:\n{hook}" + _replaced_hook(sc, n)
    if grace > pod.grace:
        text += f"\nand terminationGracePeriodSeconds: {grace}"
    if several:
        text += ("\n(this covers a node whose last local pod is deleted; while a node has several pods "
                 "no preStop delay alone is provably enough. What is: an application that fails its "
                 "readiness at SIGTERM and keeps serving — declare it with the annotation, e.g. "
                 "zdverify/on-sigterm: \"fail-readiness, drain 45s\" — or externalTrafficPolicy: Cluster)")
    keeping = keeping_fix(sc)
    if keeping:
        text += "\n" + keeping
    if sc.old_pod is not None and sc.old_pod != sc.pod:
        text = (f"the pods this rollout deletes run the old template ({sc.old_source}, --from): a change "
                f"to the new template protects only the next rollout. The old template would need:\n"
                + text)
    return text


def prestop_variant(sc: Scenario, n: int) -> Scenario:
    """``sc`` with a preStop sleep of ``n`` seconds in the old template (and in its other
    containers that wait less: else one may exit first and end Ready), the grace period
    raised to keep SIGKILL after the requests drain."""
    b = sc.settings
    grace = max(sc.old.grace, n + math.ceil(b["app-close"].hi + b["request"].hi) + 2)
    hook = HookSpec(n, n, n, False, f"preStop sleep {n}s", None)
    others = tuple(replace(c, hook=hook) if c.hook.lo < n and not c.native else c for c in sc.old.others)
    return replace(sc, old_pod=replace(sc.old, hook=hook, grace=grace, others=others))


def _prestop_edits(sc: Scenario, fixed: Scenario, n: int, shorter: list[str]) -> tuple[FixEdit, ...]:
    """The preStop fix as edits of the template (what each replaces)."""
    value = {"sleep": {"seconds": n}} if sc.settings.native_sleep else {"exec": {"command": ["sleep", str(n)]}}
    old = sc.old
    edits = [FixEdit(f"spec.template.spec.containers[name={c}].lifecycle.preStop", value,
                     old.hook.text if c == old.container and old.hook.loc is not None else
                     next((x.hook.text for x in old.others if x.name == c and x.hook.loc is not None), ""))
             for c in (old.container, *shorter)]
    if fixed.old.grace > old.grace:
        edits.append(FixEdit("spec.template.spec.terminationGracePeriodSeconds", int(fixed.old.grace),
                             f"{old.grace:g}"))
    return tuple(edits)


def minimal_prestop(sc: Scenario, make: Callable[[Scenario], list[Query]]) -> int | None:
    """Smallest preStop sleep (whole seconds, up to 600) under which ``make``'s queries are
    all unsat, with the grace period raised to keep SIGKILL after the requests drain."""
    b = sc.settings
    ctx = context()  # one for the whole search

    def safe(n: int) -> bool:
        variant = prestop_variant(sc, n)
        return proved(variant, make(variant), ctx)

    guess = math.ceil(b["kubelet"].hi + b["endpointslice"].hi + b["kube-proxy"].hi
                      + b.lb.removal_max + b["controller"].hi) + 1
    return smallest(safe, 0, guess, 600)


def keeping_fix(sc: Scenario) -> str:
    """For Local traffic under required placement rules: which change to the Deployment
    would keep a Ready pod on every node (checked with ``node_facts``)? Counting each
    revision on its own in a hostname spread, ``maxUnavailable: 0``, or both; "" if none."""
    rules, r, w = sc.placement, sc.rollout, sc.pair.workload
    if not any(e.local for e in sc.entries) or w.kind is not WorkloadKind.DEPLOYMENT or not rules.exact \
            or r.strategy is not Strategy.ROLLING_UPDATE or not (rules.spread or rules.limited):
        return ""
    c = next((c for c, per in rules.spread if not per and c.topology_key == HOSTNAME_LABEL), None)
    per_revision = replace(rules, spread=tuple((x, True) for x, _ in rules.spread))
    no_unavailable = replace(r, unavailable=0, surge=max(r.surge, 1))
    keys = (f"add matchLabelKeys: [pod-template-hash] to the topologySpreadConstraints entry at line {c.loc.line}"
            if c is not None and c.loc is not None and sc.settings.k8s_version >= (1, 27) else "")
    loc = w.loc_of(Field.MAX_UNAVAILABLE) or w.loc_of(Field.STRATEGY)
    zero = ("set maxUnavailable: 0" + (f" (line {loc.line})" if loc is not None else "")
            + ("" if r.surge else " and maxSurge: 1") if r.unavailable else "")
    why_keys = "each revision then spreads on its own and the ReplicaSet deletes the old pod beside each new one first"
    why_zero = "an old pod is then deleted only once a new pod is available"
    tried = [(keys, why_keys, r, per_revision), (zero, why_zero, no_unavailable, rules),
             (f"{keys}, and {zero}" if keys and zero else "", f"{why_keys}, and {why_zero}", no_unavailable,
              per_revision)]
    for change, why, rollout, placement in tried:
        if change and node_facts(rollout, placement, max_states=10_000).kept:  # a suggestion, not a proof: kept short
            return (f"(or {change}: {why}; every node then keeps a Ready local pod throughout — checked over "
                    "every placement and deletion order)")
    return ""


def statefulset_batch_takes_all(sc: Scenario) -> bool:
    """Does a StatefulSet of several replicas lose every pod at once because its
    ``maxUnavailable`` (feature gate on) covers all of them?"""
    r = sc.rollout
    return r.strategy is Strategy.STATEFUL_SET and r.kept == 0 and 1 < r.replicas <= r.unavailable
