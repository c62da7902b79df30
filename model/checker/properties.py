"""Compile a property (spec language) to Z3 queries over the model's components.

A property's violation condition is a formula at one instant ``t``. The compiler:

1. takes the outermost ``exists`` of the violation as *entities*: each bound pod becomes
   a symbolic old or new pod (one query per combination), each bound node a symbolic
   node (feasible for the workload's pods, or not), each zone a symbolic zone;
2. adds *representatives* the model's lemmas talk about: the first new pod the rollout
   creates, the old pod deleted last, and — for a node a Local load balancer sends to —
   the node's last local ready pod;
3. encodes every atom exactly from the components' event variables (``kubelet``,
   ``application``, ``endpointslice``, ``kube_proxy``, ``load_balancer``) and every
   nested quantifier, count and aggregate as a truth variable constrained only by facts
   valid in every run (``forall`` implies each of its instances, ``exists`` follows from
   any instance, the graph's facts, the load balancer's removal bound).

Every constraint holds in every run, and dropping the constraints of the pods that are
not entities only adds behaviours, so ``unsat`` proves the property for every timing and
choice. A model is only a candidate: ``witnesses`` turns it into complete runs the
simulator replays, and only a replayed violation is reported.

The components' rooms (``model/checker/``) hold the rules; ``wiring.py`` applies them to a
query's entities (``entities.py``); this module compiles the formula. Turning a model into
runs is the orchestration's (``model/candidates.py``), which hands ``queries`` its witness
builder.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Callable

import z3

from zdverify.grammar.spec_language import (
    And,
    ClaimKind,
    Compare,
    Const,
    Count,
    Event,
    Formula,
    Not,
    Now,
    Or,
    Pred,
    Quant,
    Request,
    Sort,
    Sum,
    Term,
    Var,
)
from zdverify.model.checker import application, kube_proxy, kubelet, load_balancer
from zdverify.model.checker.encoding import Encoding, zmin
from zdverify.model.checker.entities import NEVER, Case, NodeEntity, PodEntity
from zdverify.model.checker.graph import GraphFacts
from zdverify.model.checker.wiring import setup
from zdverify.model.objects import Strategy, WorkloadKind
from zdverify.model.run import Choices, Timing
from zdverify.model.scenario import Scenario, scopes
from zdverify.model.verdict import Property

SOLVER_TIMEOUT_MS = 20_000  # per query; a timeout is "unknown", i.e. inconclusive

Runs = list[tuple[Choices, Timing]]


@dataclass(frozen=True)
class Query:
    """One case of a property as a Z3 problem, with how to turn its model into runs."""

    prop: Property
    label: str
    build: Callable[[Encoding], None]
    witness: Callable[[Encoding], Runs]



# ---------------------------------------------------------------------------------------
# Formulas
# ---------------------------------------------------------------------------------------


def _pod(case: Case, env: dict[str, object], v: Var) -> PodEntity:
    x = env[v.name]
    assert isinstance(x, PodEntity)
    return x


def _node(env: dict[str, object], v: Var) -> NodeEntity:
    x = env[v.name]
    assert isinstance(x, NodeEntity)
    return x


def _atom(case: Case, f: Pred, env: dict[str, object]) -> z3.BoolRef:
    enc, t = case.enc, case.t
    ctx = enc.ctx
    true, false = z3.BoolVal(True, ctx), z3.BoolVal(False, ctx)
    if f.name == "sends":
        return load_balancer.sends(case, _node(env, f.args[0]))
    if f.name == "healthy":
        return load_balancer.healthy(case, _node(env, f.args[0]))
    if f.name == "in_zone":
        n, zone = _node(env, f.args[0]), env[f.args[1].name]
        return z3.Bool(f"zone.{n.name}.{zone}", ctx)
    if f.name == "routes":
        return kube_proxy.routes(case, _node(env, f.args[0]), _pod(case, env, f.args[1]))
    p = _pod(case, env, f.args[0])
    z = p.z
    if f.name == "on":
        return case.on_vars.get((p.name, _node(env, f.args[1]).name), false)
    if f.name == "old":
        return true if p.old else false
    if f.name == "new":
        return false if p.old else true
    if isinstance(z, kubelet.OldPod):
        if f.name == "pooled_closed":
            return t >= application.pooled_closed(enc, z.close, z.sigterm, z.exit)
        return {"killed": z.exit == z.kill, "terminating": t >= z.deleted, "running": t < z.exit,
                "serving": t < zmin(z.close, z.exit), "ready": t < z.unready}[f.name]
    assert isinstance(z, kubelet.NewPod)
    return {"killed": false, "terminating": false, "running": t >= z.created, "serving": t >= z.listen,
            "ready": t >= z.ready, "pooled_closed": false}[f.name]


def _past(case: Case, p: PodEntity, name: str) -> z3.ArithRef:
    """An old pod's instants before the rollout: created at some instant before 0, listening
    and Ready after it (in either order; a probe need not check the served port), before 0.
    Only what a property mentions is declared."""
    assert p.past is not None
    if name == "created_at":
        return p.past
    enc = case.enc
    key = f"{p.name}.past.{name}"
    if key not in enc.vars:
        enc.add(enc.real(key) >= p.past, enc.real(key) < 0)
    return enc.vars[key]


def _event(case: Case, p: PodEntity, name: str) -> z3.ArithRef:
    z = p.z
    enc = case.enc
    if isinstance(z, kubelet.OldPod):
        if name in ("created_at", "listen_at", "ready_at"):
            return _past(case, p, name)
        return {"deleted_at": z.deleted, "sigterm_at": z.sigterm, "close_at": z.close, "sigkill_at": z.kill,
                "exit_at": z.exit}[name]
    assert isinstance(z, kubelet.NewPod)
    never = enc.const(NEVER)
    return {"created_at": z.created, "listen_at": z.listen, "ready_at": z.ready, "deleted_at": never,
            "sigterm_at": never, "close_at": never, "sigkill_at": never, "exit_at": never}[name]


def _term(case: Case, t: Term, env: dict[str, object]) -> z3.ArithRef:
    enc = case.enc
    if isinstance(t, Now):
        return case.t
    if isinstance(t, Request):
        return enc.within("req.duration", enc.bound("request")) if "req.duration" not in enc.vars \
            else enc.vars["req.duration"]
    if isinstance(t, Const):
        return enc.const(t.value)
    if isinstance(t, Event):
        return _event(case, _pod(case, env, t.var), t.name)
    if isinstance(t, Count):
        v = z3.Int(f"count#{next(case.fresh)}", enc.ctx)  # counts: any value (over-approximation) ...
        enc.add(v >= 0, v >= _count_floor(case, t))  # ... above what the rollout guarantees
        return v
    assert isinstance(t, Sum)
    out = None
    for sign, x in t.terms:
        y = _term(case, x, env)
        out = (y if sign > 0 else -y) if out is None else (out + y if sign > 0 else out - y)
    assert out is not None
    return out


def _count_floor(case: Case, t: Count) -> int:
    """A lower bound of ``count(p: body)`` at every instant, from the controller: during a
    RollingUpdate (and a DaemonSet's), old pods not yet deleted plus new pods available never
    drop below ``replicas - maxUnavailable`` (rolling.go scales down only that far; available
    pods stay available, deployment.py simplification 5); a drain keeps the budget's
    desiredHealthy Ready pods. Old pods run, are Ready and serve until
    after their deletion; an available new pod runs and is Ready, and it serves when Ready
    waits for the application (a readiness probe on the served port, or the load
    balancer's readiness gate). Any other body, or zones (unless the cluster has one), gets 0."""
    sc = case.sc
    if sc.rollout.strategy is Strategy.RECREATE or sc.pair.workload.kind is WorkloadKind.POD:
        return 0
    # a drain evicts only while the budget's floor of Ready pods remains (no budget: none)
    floor = sc.rollout.desired_healthy if sc.rollout.strategy is Strategy.DRAIN else \
        sc.rollout.replicas - sc.rollout.unavailable
    body = t.body
    parts = list(body.parts) if isinstance(body, And) else [body]
    zones = {sc.node_zone(i) for i in range(sc.nodes)}
    atoms = [x for x in parts if not _zone_membership(x, t.var)]
    if len(atoms) != len(parts) and len(zones) != 1:
        return 0
    if len(atoms) != 1 or not isinstance(atoms[0], Pred) or atoms[0].args != (t.var,):
        return 0
    name = atoms[0].name
    serving_ok = (sc.pod.readiness is not None and sc.pod.readiness.checks_port) or sc.pod.lb_gate is not None
    if name in ("ready", "running") or (name == "serving" and serving_ok):
        return max(min(floor, sc.rollout.replicas), 0)
    return 0


def _zone_membership(f: Formula, var: Var) -> bool:
    """``exists node n: on(p, n) and in_zone(n, z)``."""
    if not (isinstance(f, Quant) and not f.universal and f.var.sort is Sort.NODE and isinstance(f.body, And)):
        return False
    names = sorted(x.name for x in f.body.parts if isinstance(x, Pred))
    return names == ["in_zone", "on"] and len(f.body.parts) == 2


_OPS = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


def _domain(case: Case, sort: Sort) -> list[object]:
    if sort is Sort.POD:
        return list(case.pods)
    if sort is Sort.NODE:
        return list(case.nodes)
    return [e for e in case.env.values() if isinstance(e, str)]


def _implies_not_routed(body: Formula, var: Var) -> str | None:
    """If ``body`` entails ``not routes(n, var)``, the node variable ``n``."""
    parts = body.parts if isinstance(body, And) else (body,)
    for part in parts:
        if isinstance(part, Not) and isinstance(part.body, Pred) and part.body.name == "routes" \
                and part.body.args[1] == var:
            return part.body.args[0].name
    return None


def _routed(body: Formula, var: Var) -> str | None:
    """If ``routes(n, var)`` entails ``body``, the node variable ``n``."""
    parts = body.parts if isinstance(body, Or) else (body,)
    for part in parts:
        if isinstance(part, Pred) and part.name == "routes" and part.args[1] == var:
            return part.args[0].name
    return None


def _healthy_node(body: Formula, var: Var, universal: bool) -> bool:
    """``forall n`` whose body entails ``not healthy(lb, n)``, or ``exists n`` whose body
    ``healthy(lb, n)`` entails: the quantifier says no node is healthy (or is implied by some)."""
    def atom(x: Formula) -> bool:
        return isinstance(x, Pred) and x.name == "healthy" and x.args == (var,)

    if universal:
        parts = body.parts if isinstance(body, And) else (body,)
        return any(isinstance(x, Not) and atom(x.body) for x in parts)
    parts = body.parts if isinstance(body, Or) else (body,)
    return any(atom(x) for x in parts)


def _formula(case: Case, f: Formula, env: dict[str, object]) -> z3.BoolRef:
    enc = case.enc
    if isinstance(f, Pred):
        return _atom(case, f, env)
    if isinstance(f, Not):
        return z3.Not(_formula(case, f.body, env))
    if isinstance(f, And):
        return z3.And(*[_formula(case, x, env) for x in f.parts])
    if isinstance(f, Or):
        return z3.Or(*[_formula(case, x, env) for x in f.parts])
    if isinstance(f, Compare):
        return _OPS[f.op](_term(case, f.left, env), _term(case, f.right, env))
    assert isinstance(f, Quant)
    b = case.bool("q")
    instances = [_formula(case, f.body, {**env, f.var.name: x}) for x in _domain(case, f.var.sort)]
    if f.universal:
        for i in instances:
            enc.add(z3.Implies(b, i))
        node_var = _implies_not_routed(f.body, f.var) if f.var.sort is Sort.POD else None
        if node_var is not None and node_var in env:  # routes includes every ready endpoint in scope
            enc.add(z3.Implies(b, case.no_ready[_node(env, Var(node_var, Sort.NODE)).name]))
        if f.var.sort is Sort.NODE and _healthy_node(f.body, f.var, True):  # no node is healthy
            enc.add(z3.Implies(b, load_balancer.no_healthy(case)))
    else:
        for i in instances:
            enc.add(z3.Implies(i, b))
        node_var = _routed(f.body, f.var) if f.var.sort is Sort.POD else None
        if node_var is not None and node_var in env:  # no pod routed: in particular no ready endpoint in scope
            enc.add(z3.Implies(z3.Not(b), case.no_ready[_node(env, Var(node_var, Sort.NODE)).name]))
        if f.var.sort is Sort.NODE and _healthy_node(f.body, f.var, False):  # no node is healthy
            enc.add(z3.Implies(z3.Not(b), load_balancer.no_healthy(case)))
    return b


# ---------------------------------------------------------------------------------------
# From a property to queries
# ---------------------------------------------------------------------------------------


def _prefix(f: Formula) -> list[tuple[list[Var], Formula]]:
    """``f`` as a disjunction of ``exists vars: matrix``."""
    if isinstance(f, Quant) and not f.universal:
        return [([f.var] + vs, m) for vs, m in _prefix(f.body)]
    if isinstance(f, Not) and isinstance(f.body, Quant) and f.body.universal:
        return _prefix(Quant(False, f.body.var, Not(f.body.body), f.body.loc))
    if isinstance(f, Not) and isinstance(f.body, Not):
        return _prefix(f.body.body)
    if isinstance(f, Or):
        return [x for part in f.parts for x in _prefix(part)]
    if isinstance(f, Not) and isinstance(f.body, And):
        return _prefix(Or(tuple(Not(x) for x in f.body.parts)))
    return [([], f)]


def _mentions(f: Formula | Term, kinds: tuple[str, ...]) -> bool:
    if isinstance(f, Pred):
        return f.name in kinds
    if isinstance(f, (Not, Quant, Count)):
        return _mentions(f.body, kinds)
    if isinstance(f, (And, Or)):
        return any(_mentions(x, kinds) for x in f.parts)
    if isinstance(f, Compare):
        return _mentions(f.left, kinds) or _mentions(f.right, kinds)
    if isinstance(f, Sum):
        return any(_mentions(x, kinds) for _, x in f.terms)
    return False


def _has_pod_forall(f: Formula | Term) -> bool:
    if isinstance(f, Quant):
        return f.var.sort is Sort.POD or _has_pod_forall(f.body)
    if isinstance(f, (Not, Count)):
        return _has_pod_forall(f.body)
    if isinstance(f, (And, Or)):
        return any(_has_pod_forall(x) for x in f.parts)
    return False


def queries(prop: Property, sc: Scenario, gf: GraphFacts, witnesses: Callable[[Encoding, bool], Runs]
            ) -> list[Query]:
    """The Z3 queries whose joint unsatisfiability proves ``prop`` (a ``never``/``always``
    claim) on ``sc``; completion is decided by ``search``. ``witnesses(enc, local)`` turns a
    query's model into runs (``model/candidates.py``)."""
    violation = prop.claim.violation()
    assert violation is not None and prop.claim.kind is not ClaimKind.COMPLETES
    creates = not sc.paused and sc.rollout.replicas > 0
    if sc.rollout.strategy is Strategy.DRAIN or sc.rollout.waits_gone:
        creates = creates and gf.deletes  # new pods only replace deleted ones
    out = _queries(prop, sc, gf, violation, creates, witnesses)
    if gf.idle:  # some run does nothing (a drain that evicts none of the pods): no pod is new, none deleted
        quiet = replace(gf, deletes=False, zero_ready=False, pending=False, starts=False, idle=False)
        out += _queries(prop, sc, quiet, violation, False, witnesses)
    return out


def _queries(prop: Property, sc: Scenario, gf: GraphFacts, violation: Formula, creates: bool,
             witnesses: Callable[[Encoding, bool], Runs]) -> list[Query]:
    out: list[Query] = []
    infeasible = len(sc.feasible) < sc.nodes
    for scope in scopes(sc.entries):
        for binders, matrix in _prefix(violation):
            pod_vars = [v for v in binders if v.sort is Sort.POD]
            node_vars = [v for v in binders if v.sort is Sort.NODE]
            for classes in itertools.product((True, False), repeat=len(pod_vars)):
                if not creates and not all(classes):
                    continue  # no new pod exists
                splits = (True, False) if infeasible and not scope.ip else (True,)
                for kinds in itertools.product(splits, repeat=len(node_vars)):
                    out.append(_query(prop, sc, gf, scope.local, scope.lb, binders, matrix, classes, kinds,
                                      creates, witnesses, scope.ip))
    return out


def _query(prop: Property, sc: Scenario, gf: GraphFacts, local: bool, lb: bool, binders: list[Var],
           matrix: Formula, classes: tuple[bool, ...], kinds: tuple[bool, ...], creates: bool,
           witnesses: Callable[[Encoding, bool], Runs], ip: bool = False) -> Query:
    pod_vars = [v for v in binders if v.sort is Sort.POD]
    node_vars = [v for v in binders if v.sort is Sort.NODE]
    zone_vars = [v for v in binders if v.sort is Sort.ZONE]
    needs_guards = _has_pod_forall(matrix) or (sc.fallback and _mentions(matrix, ("routes",)))
    # whether no node may be healthy matters: the load balancer's health, or its fail-open
    needs_healthy = (lb or ip) and (_mentions(matrix, ("healthy",))
                            or (sc.settings.lb.fail_open and _mentions(matrix, ("sends",))))

    def build(enc: Encoding) -> None:
        case = Case(enc, gf, local, lb, ip)
        env: dict[str, object] = {}
        n_old = n_new = 0
        for v, old in zip(pod_vars, classes):
            if old:
                n_old += 1
                p = PodEntity("old" if n_old == 1 else f"old{n_old}", True, "bound")
            else:
                n_new += 1
                p = PodEntity("new" if n_new == 1 else f"new{n_new}", False, "bound")
            case.pods.append(p)
            env[v.name] = p
        if needs_guards and creates and gf.deletes:
            if n_new == 0:
                case.pods.append(PodEntity("new", False, "first-new"))
            else:
                case.pods.append(PodEntity("newfirst", False, "first-new"))
            if n_old == 0:
                case.pods.append(PodEntity("old", True, "last-old"))
        if needs_healthy and gf.deletes:
            _healthy_representatives(case, sc, creates)
        for i, (v, feasible) in enumerate(zip(node_vars, kinds)):
            n = NodeEntity("n" if i == 0 else f"n{i + 1}", feasible, target_group=ip)
            case.nodes.append(n)
            env[v.name] = n
            if local and feasible and gf.deletes and not ip:
                x = PodEntity(f"last.{n.name}", True, "last-local")
                case.pods.append(x)
                n.last_local = x
        for i, v in enumerate(zone_vars):
            env[v.name] = f"z{i + 1}"
            case.env[f"zone{i}"] = f"z{i + 1}"
        if ip and needs_healthy and not node_vars:  # the target group, for "no target is healthy"
            case.nodes.append(NodeEntity("tg", True, target_group=True))
        setup(case)
        enc.add(_formula(case, matrix, env))
        enc.entities = case  # the witness builder reads the entities

    what = ", ".join([f"{v.name} {'old' if o else 'new'}" for v, o in zip(pod_vars, classes)]
                     + [f"{v.name} {'feasible' if k else 'infeasible'}" for v, k in zip(node_vars, kinds)])
    scope = "IP targets" if ip else "Local" if local else "Cluster"
    label = f"{prop.slug} ({scope}{', ' + what if what else ''})"
    return Query(prop, label, build, lambda enc: witnesses(enc, local))


def _healthy_representatives(case: Case, sc: Scenario, creates: bool) -> None:
    """For ``no_healthy``: the old pod deleted last and, when the rollout keeps a floor of
    available pods, a new pod available before that deletion (its node is then added while
    the last old pod's node is still healthy, or not)."""
    last = next((p for p in case.pods if p.role == "last-old"), None)
    if last is None:
        last = PodEntity("lastold", True, "last-old")
        case.pods.append(last)
    r = sc.rollout
    floor = r.desired_healthy if r.strategy is Strategy.DRAIN else r.replicas - r.unavailable
    if creates and floor >= 1 and r.strategy is not Strategy.RECREATE:
        case.pods.append(PodEntity("avail", False, "available"))


def stalled_query(prop: Property, sc: Scenario, witness: Callable[[Encoding], Runs]) -> Query:
    """Completion, per pod: a probe that checks the served port kills a new pod before its
    application listens (it restarts just as slowly: the rollout never finishes)."""

    def build(enc: Encoding) -> None:
        q = kubelet.new_pod(enc, "new", enc.const(0), may_be_killed=True)
        enc.add(kubelet.killed_before_listening(enc, q))

    return Query(prop, "a probe kills new pods before they listen", build, witness)
