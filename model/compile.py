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
"""
from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field, replace
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
from zdverify.model import scheduler
from zdverify.model.checker import kube_proxy, kubelet, load_balancer
from zdverify.model.assumptions import Interval
from zdverify.model.checker.graph import GraphFacts
from zdverify.model.checker.endpointslice import RANK_NOT_SERVING, RANK_READY, RANK_TERMINATING, Change, publish
from zdverify.model.scenario import scopes
from zdverify.model.objects import Strategy, WorkloadKind
from zdverify.model.scenario import Scenario
from zdverify.model.run import Choices, NewTiming, OldTiming, Timing
from zdverify.model.checker.encoding import Encoding, zmin
from zdverify.model.verdict import Property

SOLVER_TIMEOUT_MS = 20_000  # per query; a timeout is "unknown", i.e. inconclusive
NEVER = 1e9  # an instant that never comes (a new pod's deletion), beyond every horizon


@dataclass(frozen=True)
class Query:
    """One case of a property as a Z3 problem, with how to turn its model into runs."""

    prop: Property
    label: str
    build: Callable[[Encoding], None]
    witness: Callable[[Encoding], list[tuple[Choices, Timing]]]


# ---------------------------------------------------------------------------------------
# Entities of one query
# ---------------------------------------------------------------------------------------


@dataclass
class _Pod:
    name: str
    old: bool
    role: str  # "bound", "first-new", "last-old", "last-local"
    z: kubelet.OldPod | kubelet.NewPod | None = None
    past: z3.ArithRef | None = None  # old pods: when they were created/started/ready (before 0)


@dataclass
class _Node:
    name: str
    feasible: bool
    last_local: _Pod | None = None
    target_group: bool = False  # IP targets: the load balancer's target group stands for the node


@dataclass
class _Case:
    """Entities of one query and the encoding context."""

    enc: Encoding
    gf: GraphFacts
    local: bool
    lb: bool
    ip: bool = False
    pods: list[_Pod] = field(default_factory=list)
    targets: dict[str, tuple[z3.ArithRef, z3.ArithRef | None]] = field(default_factory=dict)  # pod -> (in, out)
    nodes: list[_Node] = field(default_factory=list)
    env: dict[str, object] = field(default_factory=dict)
    applied: dict[tuple[str, str], z3.ArithRef] = field(default_factory=dict)  # (node, change) -> instant
    on_vars: dict[tuple[str, str], z3.BoolRef] = field(default_factory=dict)
    no_ready: dict[str, z3.BoolRef] = field(default_factory=dict)
    fresh: itertools.count = field(default_factory=itertools.count)

    @property
    def sc(self) -> Scenario:
        return self.enc.sc

    @property
    def t(self) -> z3.ArithRef:
        return self.enc.real("t")

    def bool(self, name: str) -> z3.BoolRef:
        return z3.Bool(f"{name}#{next(self.fresh)}", self.enc.ctx)


def _changes(sc: Scenario, p: _Pod) -> tuple[list[Change], list[tuple[str, str]]]:
    z = p.z
    if p.old:
        assert isinstance(z, kubelet.OldPod)
        if sc.publish_not_ready:
            return ([Change(f"{p.name}.del", z.exit, RANK_NOT_SERVING),
                     Change(f"{p.name}.unready", z.exit, RANK_NOT_SERVING)], [(f"{p.name}.del", f"{p.name}.unready")])
        return ([Change(f"{p.name}.del", z.deleted, RANK_TERMINATING),
                 Change(f"{p.name}.unready", z.unready, RANK_NOT_SERVING)], [(f"{p.name}.del", f"{p.name}.unready")])
    assert isinstance(z, kubelet.NewPod)
    return [Change(f"{p.name}.ready", z.start if sc.publish_not_ready else z.ready, RANK_READY)], []


def _setup(case: _Case) -> None:
    """Pods' lifecycles, the rollout's relations between them, slice and rules per node."""
    enc, sc = case.enc, case.sc
    ctrl = enc.bound("controller").hi
    olds = [p for p in case.pods if p.old]
    for p in olds:
        d = enc.real(f"{p.name}.deleted")
        enc.add(d >= 0)
        p.z = kubelet.old_pod(enc, p.name, d)
        p.past = enc.real(f"{p.name}.past")
        enc.add(p.past < 0)
    last = next((p for p in olds if p.role == "last-old"), None)
    for p in case.pods:
        if p.old:
            continue
        c = enc.real(f"{p.name}.created")
        enc.add(c >= 0)
        p.z = kubelet.new_pod(enc, p.name, c, may_pend=case.gf.pending or not sc.placement.exact)
        if not case.gf.starts:
            enc.add(p.z.start >= NEVER)  # every new pod stays Pending (the graph schedules none)
        if p.role != "first-new":
            continue
        # the rollout's first new pod, relative to every old pod's deletion
        for o in olds:
            oz = o.z
            assert isinstance(oz, kubelet.OldPod)
            if sc.rollout.waits_gone:
                continue  # a node's (an ordinal's) new pod waits for its own old pod's exit: no bound via another pod
            if sc.rollout.strategy is Strategy.RECREATE:
                enc.add(c >= oz.exit)
                if o is last:
                    enc.add(c <= oz.exit + ctrl)
            elif sc.rollout.surge >= 1:
                enc.add(c <= oz.deleted)
            else:
                enc.add(c <= oz.deleted + ctrl)
    if last is not None:
        lz = last.z
        assert isinstance(lz, kubelet.OldPod)
        for o in olds:
            oz = o.z
            assert isinstance(oz, kubelet.OldPod)
            if o is not last:
                if sc.rollout.strategy is Strategy.RECREATE:
                    enc.add(oz.deleted == lz.deleted, oz.exit <= lz.exit)
                else:
                    enc.add(oz.deleted <= lz.deleted)
    changes: list[Change] = []
    order: list[tuple[str, str]] = []
    for p in case.pods:
        ch, o = _changes(sc, p)
        changes += ch
        order += o
    if not changes:
        enc.add(case.t >= 0, case.t < NEVER / 2)
        for n in case.nodes:
            _node_lemmas(case, n)
        return
    sl = publish(enc, changes, order)
    for n in case.nodes:
        if n.target_group:
            continue
        ap = kube_proxy.apply(enc, n.name, changes, sl, order)
        for c in changes:
            case.applied[(n.name, c.name)] = ap[c.name]
    if case.ip:
        for p in case.pods:
            z = p.z
            if isinstance(z, kubelet.OldPod):
                case.targets[p.name] = (z.deleted, load_balancer.target_removed(enc, p.name, sl[f"{p.name}.del"], z.close))
            else:
                assert isinstance(z, kubelet.NewPod)
                healthy = enc.vars.get(f"{p.name}.tg.in")
                if healthy is None:  # no readiness gate: registered once the slice has the ready endpoint
                    registered = sl[f"{p.name}.ready"] + enc.within(f"{p.name}.lbreg", enc.bound("lb-register"))
                    healthy = load_balancer.target_healthy(enc, p.name, registered, z.listen)
                case.targets[p.name] = (healthy, None)
    single = len(sc.feasible) == 1
    real_nodes = [n for n in case.nodes if not n.target_group]
    for p in case.pods:
        for n in real_nodes:
            v = z3.Bool(f"on.{p.name}.{n.name}", enc.ctx)
            case.on_vars[(p.name, n.name)] = v
            if not n.feasible:
                enc.add(z3.Not(v))
            elif single:
                enc.add(v)
        if len(real_nodes) > 1:  # a pod runs on one node
            enc.add(z3.AtMost(*[case.on_vars[(p.name, n.name)] for n in real_nodes], 1))
    if not scheduler.can_place_elsewhere(sc):
        for p in case.pods:
            for n in real_nodes:
                if n.feasible:
                    enc.add(case.on_vars[(p.name, n.name)])
    _one_per_node(case, real_nodes)
    _one_old_pod(case, real_nodes)
    t = case.t
    enc.add(t >= 0, t < NEVER / 2)  # an instant of the run (events that never come are at NEVER)
    if not case.gf.deletes:  # the controllers never delete a pod (a blocked drain, a paused rollout)
        for p in olds:
            assert isinstance(p.z, kubelet.OldPod)
            enc.add(p.z.deleted > t)
    for n in case.nodes:
        _node_lemmas(case, n)


_EVENTS = {kubelet.OldPod: ("deleted", "seen", "sigterm", "close", "exit", "kill", "unready"),
           kubelet.NewPod: ("created", "start", "listen", "started", "ready")}


def _same_pod(p: _Pod, q: _Pod) -> z3.BoolRef:
    """Two entities of one revision name the same pod: their events coincide."""
    return z3.And(*[getattr(p.z, f) == getattr(q.z, f) for f in _EVENTS[type(p.z)]])


def _one_old_pod(case: _Case, nodes: list[_Node]) -> None:
    """With a single old pod (one replica, one node), every old entity is that pod — the
    node's last local pod, the one deleted last and a bound pod alike."""
    if case.sc.rollout.replicas != 1:
        return
    olds = [p for p in case.pods if p.old]
    for p, q in zip(olds, olds[1:]):
        case.enc.add(_same_pod(p, q))
        for n in nodes:
            case.enc.add(case.on_vars[(p.name, n.name)] == case.on_vars[(q.name, n.name)])


def _one_per_node(case: _Case, nodes: list[_Node]) -> None:
    """A cap of one pod per node (required hostname anti-affinity, ``pods: 1``): two entities
    on one node are the same pod (entities may name one pod twice: then their events are
    equal), or the later one was scheduled after the earlier one was gone. Per revision, the
    cap ties only pods of one revision."""
    cross, own = case.sc.placement.one_per_node()
    if not own:
        return
    enc = case.enc
    for i, p in enumerate(case.pods):
        for q in case.pods[i + 1:]:
            if p.old != q.old and not cross:
                continue
            pz, qz = p.z, q.z
            if type(pz) is type(qz):  # same revision: both alive at once (old pods from before the
                # rollout, new pods until its end), so only one pod named twice fits
                apart = _same_pod(p, q)
            else:
                old_z, new_z = (pz, qz) if p.old else (qz, pz)
                assert isinstance(old_z, kubelet.OldPod) and isinstance(new_z, kubelet.NewPod)
                apart = new_z.start >= old_z.exit
            for n in nodes:
                enc.add(z3.Implies(z3.And(case.on_vars[(p.name, n.name)], case.on_vars[(q.name, n.name)]), apart))


def _ready_route(case: _Case, n: _Node, p: _Pod) -> z3.BoolRef:
    """n's rules hold p as a ready endpoint at t (the target group: p is a healthy target)."""
    t = case.t
    if n.target_group:
        healthy, removed = case.targets[p.name]
        return t < removed if p.old and removed is not None else t >= healthy
    if p.old:
        return t < case.applied[(n.name, f"{p.name}.del")]
    return t >= case.applied[(n.name, f"{p.name}.ready")]


def _in_scope(case: _Case, n: _Node, p: _Pod) -> z3.BoolRef:
    if case.local and not n.target_group:
        return case.on_vars[(p.name, n.name)]
    return z3.BoolVal(True, case.enc.ctx)


def _node_lemmas(case: _Case, n: _Node) -> None:
    """``NR(n)``: no ready endpoint in scope at n. Valid facts: each pod entity is not a
    ready endpoint in scope; the state graph can rule it out altogether (FIFO delivery
    keeps every node's view a past state of the ready set)."""
    enc, sc, gf = case.enc, case.sc, case.gf
    nr = z3.Bool(f"NR.{n.name}", enc.ctx)
    case.no_ready[n.name] = nr
    for p in case.pods:
        enc.add(z3.Implies(nr, z3.Not(z3.And(_in_scope(case, n, p), _ready_route(case, n, p)))))
    never_empty = not gf.zero_ready and (not case.local or (n.feasible and len(sc.feasible) == 1))
    if case.local and n.feasible and sc.rollout.strategy is Strategy.DAEMON_SET and sc.rollout.surge > 0:
        # a DaemonSet with surge deletes a node's old pod only once the new pod on that node
        # is available (Ready before), and kube-proxy applies the two changes in order
        never_empty = True
    if case.local and n.feasible and gf.node_kept:
        # the per-node exploration (placement rules, the ReplicaSet's ranking) keeps a Ready,
        # non-terminating pod on every feasible node at every instant; kube-proxy's view is a
        # past state of the slice, which is a past state of the pods
        never_empty = True
    if n.target_group:
        # every available pod is a healthy target when Ready waits for the target (the gate);
        # old pods stay targets until after their deletion
        never_empty = not gf.zero_ready and sc.pod.lb_gate is not None
        if (not gf.deletes or sc.rollout.kept > 0) and sc.rollout.replicas > 0:
            never_empty = True  # some old pod never leaves the target group (none deleted, or kept)
    if never_empty:
        enc.add(z3.Not(nr))
    if not case.local or not n.feasible or n.target_group:
        return
    # a node that had local pods: the pod whose removal emptied it last is an entity
    x = n.last_local
    if x is not None:
        enc.add(z3.Implies(nr, z3.And(case.on_vars[(x.name, n.name)],
                                      case.applied[(n.name, f"{x.name}.del")] <= case.t)))


def _sends(case: _Case, n: _Node) -> z3.BoolRef:
    """Requests for the entry arrive at n at t. Local load balancer: never to a node that
    cannot run the pods; to a node with no local ready endpoint only until its health
    checks remove it, counted from the last local endpoint's removal."""
    if not case.lb or n.target_group:
        return z3.BoolVal(True, case.enc.ctx)
    if not n.feasible:
        return z3.BoolVal(False, case.enc.ctx)
    key = f"sends.{n.name}"
    if key in case.env:
        return case.env[key]  # type: ignore[return-value]
    enc = case.enc
    s = z3.Bool(key, enc.ctx)
    case.env[key] = s
    x = n.last_local
    if x is not None:
        flip = case.applied[(n.name, f"{x.name}.del")]
        enc.add(z3.Implies(z3.And(s, case.no_ready[n.name]),
                           case.t < load_balancer.stops_sending(enc, n.name, flip)))
    if not case.gf.deletes:
        # no pod ever leaves: a node without a local ready endpoint now never had one, and
        # the load balancer never found it healthy
        enc.add(z3.Implies(case.no_ready[n.name], z3.Not(s)))
    return s


# ---------------------------------------------------------------------------------------
# Formulas
# ---------------------------------------------------------------------------------------


def _pod(case: _Case, env: dict[str, object], v: Var) -> _Pod:
    x = env[v.name]
    assert isinstance(x, _Pod)
    return x


def _node(env: dict[str, object], v: Var) -> _Node:
    x = env[v.name]
    assert isinstance(x, _Node)
    return x


def _atom(case: _Case, f: Pred, env: dict[str, object]) -> z3.BoolRef:
    enc, t, sc = case.enc, case.t, case.sc
    ctx = enc.ctx
    true, false = z3.BoolVal(True, ctx), z3.BoolVal(False, ctx)
    if f.name == "sends":
        return _sends(case, _node(env, f.args[0]))
    if f.name == "in_zone":
        n, zone = _node(env, f.args[0]), env[f.args[1].name]
        return z3.Bool(f"zone.{n.name}.{zone}", ctx)
    if f.name == "routes":
        n, p = _node(env, f.args[0]), _pod(case, env, f.args[1])
        if not case.applied and not case.targets:
            return false
        rr = _ready_route(case, n, p)
        if p.old and sc.fallback and not n.target_group:
            tr = t < case.applied[(n.name, f"{p.name}.unready")]
            rr = z3.Or(rr, z3.And(tr, case.no_ready[n.name]))
        return z3.And(_in_scope(case, n, p), rr)
    p = _pod(case, env, f.args[0])
    z = p.z
    if f.name == "on":
        return case.on_vars.get((p.name, _node(env, f.args[1]).name), false)
    if f.name == "old":
        return true if p.old else false
    if f.name == "new":
        return false if p.old else true
    if isinstance(z, kubelet.OldPod):
        return {"killed": z.exit == z.kill, "terminating": t >= z.deleted, "running": t < z.exit,
                "serving": t < zmin(z.close, z.exit), "ready": t < z.unready}[f.name]
    assert isinstance(z, kubelet.NewPod)
    return {"killed": false, "terminating": false, "running": t >= z.created, "serving": t >= z.listen,
            "ready": t >= z.ready}[f.name]


def _event(case: _Case, p: _Pod, name: str) -> z3.ArithRef:
    z = p.z
    enc = case.enc
    if isinstance(z, kubelet.OldPod):
        assert p.past is not None
        return {"created_at": p.past, "listen_at": p.past, "ready_at": p.past, "deleted_at": z.deleted,
                "sigterm_at": z.sigterm, "close_at": z.close, "sigkill_at": z.kill, "exit_at": z.exit}[name]
    assert isinstance(z, kubelet.NewPod)
    never = enc.const(NEVER)
    return {"created_at": z.created, "listen_at": z.listen, "ready_at": z.ready, "deleted_at": never,
            "sigterm_at": never, "close_at": never, "sigkill_at": never, "exit_at": never}[name]


def _term(case: _Case, t: Term, env: dict[str, object]) -> z3.ArithRef:
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


def _count_floor(case: _Case, t: Count) -> int:
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


def _domain(case: _Case, sort: Sort) -> list[object]:
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


def _formula(case: _Case, f: Formula, env: dict[str, object]) -> z3.BoolRef:
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
    else:
        for i in instances:
            enc.add(z3.Implies(i, b))
        node_var = _routed(f.body, f.var) if f.var.sort is Sort.POD else None
        if node_var is not None and node_var in env:  # no pod routed: in particular no ready endpoint in scope
            enc.add(z3.Implies(z3.Not(b), case.no_ready[_node(env, Var(node_var, Sort.NODE)).name]))
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


def queries(prop: Property, sc: Scenario, gf: GraphFacts) -> list[Query]:
    """The Z3 queries whose joint unsatisfiability proves ``prop`` (a ``never``/``always``
    claim) on ``sc``; completion is decided by ``search``."""
    violation = prop.claim.violation()
    assert violation is not None and prop.claim.kind is not ClaimKind.COMPLETES
    creates = not sc.paused and sc.rollout.replicas > 0
    if sc.rollout.strategy is Strategy.DRAIN or sc.rollout.waits_gone:
        creates = creates and gf.deletes  # new pods only replace deleted ones
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
                                      creates, scope.ip))
    return out


def _query(prop: Property, sc: Scenario, gf: GraphFacts, local: bool, lb: bool, binders: list[Var],
           matrix: Formula, classes: tuple[bool, ...], kinds: tuple[bool, ...], creates: bool,
           ip: bool = False) -> Query:
    pod_vars = [v for v in binders if v.sort is Sort.POD]
    node_vars = [v for v in binders if v.sort is Sort.NODE]
    zone_vars = [v for v in binders if v.sort is Sort.ZONE]
    needs_guards = _has_pod_forall(matrix) or (sc.fallback and _mentions(matrix, ("routes",)))

    def build(enc: Encoding) -> None:
        case = _Case(enc, gf, local, lb, ip)
        env: dict[str, object] = {}
        n_old = n_new = 0
        for v, old in zip(pod_vars, classes):
            if old:
                n_old += 1
                p = _Pod("old" if n_old == 1 else f"old{n_old}", True, "bound")
            else:
                n_new += 1
                p = _Pod("new" if n_new == 1 else f"new{n_new}", False, "bound")
            case.pods.append(p)
            env[v.name] = p
        if needs_guards and creates and gf.deletes:
            if n_new == 0:
                case.pods.append(_Pod("new", False, "first-new"))
            else:
                case.pods.append(_Pod("newfirst", False, "first-new"))
            if n_old == 0:
                case.pods.append(_Pod("old", True, "last-old"))
        for i, (v, feasible) in enumerate(zip(node_vars, kinds)):
            n = _Node("n" if i == 0 else f"n{i + 1}", feasible, target_group=ip)
            case.nodes.append(n)
            env[v.name] = n
            if local and feasible and gf.deletes and not ip:
                x = _Pod(f"last.{n.name}", True, "last-local")
                case.pods.append(x)
                n.last_local = x
        for i, v in enumerate(zone_vars):
            env[v.name] = f"z{i + 1}"
            case.env[f"zone{i}"] = f"z{i + 1}"
        _setup(case)
        enc.add(_formula(case, matrix, env))
        enc.entities = case  # the witness builder reads the entities

    what = ", ".join([f"{v.name} {'old' if o else 'new'}" for v, o in zip(pod_vars, classes)]
                     + [f"{v.name} {'feasible' if k else 'infeasible'}" for v, k in zip(node_vars, kinds)])
    scope = "IP targets" if ip else "Local" if local else "Cluster"
    label = f"{prop.slug} ({scope}{', ' + what if what else ''})"
    return Query(prop, label, build, lambda enc: witnesses(enc, local))


# ---------------------------------------------------------------------------------------
# From a Z3 model to simulator runs
# ---------------------------------------------------------------------------------------


def _val(enc: Encoding, name: str, default: float = 0.0) -> float:
    return enc.value(name) if name in enc.vars else default


def _true(enc: Encoding, v: z3.BoolRef) -> bool:
    return z3.is_true(enc.solver.model().eval(v, model_completion=True))


def _per_node(n_nodes: int, entry: int, value: float) -> tuple[float, ...]:
    return tuple(value if i == entry else 0.0 for i in range(n_nodes))


def _new_timing(enc: Encoding, p: str, node: str, n_nodes: int, entry: int) -> NewTiming:
    change = f"{p}.ready"
    return NewTiming(
        start=_val(enc, f"{p}.start_delay", 1.0), app=_val(enc, f"{p}.app"),
        startup_phase=_val(enc, f"{p}.startup.phase"), startup_resp=_val(enc, f"{p}.startup.resp"),
        ready_phase=_val(enc, f"{p}.readiness.phase"), ready_resp=_val(enc, f"{p}.readiness.resp"),
        liveness_phase=_val(enc, f"{p}.liveness.phase"), eps=_val(enc, f"slice.{change}.delay"),
        proxy=_per_node(n_nodes, entry, _val(enc, f"{node}.{change}.delay")),
        lb_reg=_val(enc, f"{p}.lbreg"), lb_phase=_val(enc, f"{p}.tg.phase"), lb_resp=_val(enc, f"{p}.tg.resp"))


def _old_timing(enc: Encoding, p: str, node: str, n_nodes: int, entry: int) -> OldTiming:
    h = enc.sc.old.hook
    if h.may_stop_app:
        close = _val(enc, f"{p}.close") - (_val(enc, f"{p}.seen") + h.serve_min)
    else:
        close = _val(enc, f"{p}.close_delay")
    return OldTiming(
        kubelet=_val(enc, f"{p}.kubelet"), hook=_val(enc, f"{p}.hook"), close=close,
        drain=_val(enc, f"{p}.drain"), unready_phase=_val(enc, f"{p}.unready.phase"),
        unready_resp=_val(enc, f"{p}.unready.resp"),
        eps_del=_val(enc, f"slice.{p}.del.delay"), eps_unready=_val(enc, f"slice.{p}.unready.delay"),
        proxy_del=_per_node(n_nodes, entry, _val(enc, f"{node}.{p}.del.delay")),
        proxy_unready=_per_node(n_nodes, entry, _val(enc, f"{node}.{p}.unready.delay")),
        lb_dereg=_val(enc, f"{p}.lbdereg"), lb_phase=_val(enc, f"{p}.tg.phase"), lb_resp=_val(enc, f"{p}.tg.resp"))


def _other_node(sc: Scenario, not_this: int) -> int:
    return next((i for i in range(sc.nodes) if i != not_this), not_this)


def witnesses(enc: Encoding, local: bool) -> list[tuple[Choices, Timing]]:
    """Complete runs built from the model: entities become the first pods of their kind
    (old ones deleted in the model's order), the first node entity's kube-proxy takes the
    model's delays, the rest keep the defaults or copy the entities' timing."""
    case = enc.entities
    assert isinstance(case, _Case)
    sc = enc.sc
    n, r = sc.nodes, sc.rollout.replicas
    home = sc.feasible[0]
    node = case.nodes[0] if case.nodes else None
    # the observed node: where the entities run (Local) or another node (Cluster)
    on_node = [p for p in case.pods if node is not None and (p.name, node.name) in case.on_vars
               and _true(enc, case.on_vars[(p.name, node.name)])]
    if node is None:
        entry = _other_node(sc, home)
    elif on_node or local:
        entry = home
    else:
        entry = _other_node(sc, home) if node.feasible else next(
            (i for i in range(n) if i not in sc.feasible), home)
    if node is not None and not node.feasible:
        entry = next((i for i in range(n) if i not in sc.feasible), entry)
    nname = node.name if node is not None else "n"
    # the pods the property names come first; representatives ("the last old pod") after
    # them (they may be the same pod: with few replicas only the first ones exist)
    olds = sorted((p for p in case.pods if p.old),
                  key=lambda p: (p.role != "bound", _val(enc, f"{p.name}.deleted")))[:max(r, 1)]
    news = sorted((p for p in case.pods if not p.old), key=lambda p: _val(enc, f"{p.name}.created"))
    old_t = tuple(_old_timing(enc, p.name, nname, n, entry) for p in olds)
    new_t = tuple(_new_timing(enc, p.name, nname, n, entry) for p in news)
    # controller delays that put the first new pod's creation where the model has it
    ctrl: tuple[float, ...] = (0.0,)
    react: tuple[float, ...] = (0.0,)
    if news and olds:
        created = _val(enc, f"{news[0].name}.created")
        if sc.rollout.strategy is Strategy.RECREATE:
            react = (max(0.0, created - max(_val(enc, f"{p.name}.exit") for p in olds)),)
            ctrl = (0.0, 0.0)
        elif sc.rollout.strategy is Strategy.DRAIN:  # the replacement follows its eviction
            react = (min(max(0.0, created - _val(enc, f"{olds[0].name}.deleted")), enc.bound("controller").hi),)
        else:
            ctrl = (0.0, min(abs(created - _val(enc, f"{olds[0].name}.deleted")), enc.bound("controller").hi))
    req = _val(enc, "req.duration")
    others = tuple(i for i in range(len(sc.feasible)) if sc.feasible[i] != entry) or (0,)
    home_i = sc.feasible.index(entry) if entry in sc.feasible else 0

    def placements(pair: bool) -> Choices:
        """Local: the followed old pod (two with ``pair``) on the observed node, every other
        pod elsewhere, so the node can lose its last local endpoint. Cluster: spread."""
        deletion = tuple(range(len(olds)))
        if not local:
            return Choices(initial=tuple(i % n for i in range(r)), placement=(home_i,), deletion=deletion)
        if len(sc.feasible) == 1:
            return Choices(initial=(0,) * r, placement=(0,), deletion=deletion)
        k = min(2 if pair else 1, r)
        initial = (home_i,) * k + tuple(others[i % len(others)] for i in range(r - k))
        return Choices(initial=initial, placement=others, deletion=deletion)

    out: list[tuple[Choices, Timing]] = []
    base = Timing(request=req)
    layouts = [placements(pair) for pair in ((False, True) if local and r >= 2 else (False,))]
    if sc.old_placement is not None and r >= 2:
        # --from: the old pods were placed by other rules; piled on one node they leave the
        # others free for new pods that the new caps would keep Pending otherwise
        layouts.append(Choices(initial=(home_i,) * r, placement=others, deletion=tuple(range(len(olds)))))
    if sc.drain is not None and sc.drain in sc.feasible:  # every pod on the drained node: the worst case
        d = sc.feasible.index(sc.drain)
        layouts.append(Choices(initial=(d,) * r, placement=tuple(i for i in range(len(sc.feasible)) if i != d) or (0,),
                               deletion=tuple(range(len(olds)))))
    for ch in layouts:
        if news and olds:
            out.append((ch, replace(base, ctrl=ctrl, react=react, old=old_t, default_new=new_t[0], new=new_t)))
            out.append((ch, replace(base, ctrl=ctrl, react=react, default_old=old_t[0], old=old_t,
                                    default_new=new_t[0])))
        if olds:
            out.append((ch, replace(base, old=old_t)))
            out.append((ch, replace(base, default_old=old_t[0])))
            out.append((ch, replace(base, default_old=replace(old_t[0], kubelet=0, hook=0), old=old_t,
                                    default_new=new_t[0] if new_t else NewTiming())))
        if news:
            out.append((ch, replace(base, new=new_t, default_new=new_t[0])))
            out.append((ch, replace(base, new=new_t)))
        if not olds and not news:
            out.append((ch, base))
    return out


def random_timings(sc: Scenario, rng: random.Random, count: int, binding: bool = False
                   ) -> list[tuple[Choices, Timing]]:
    """Extra candidates: random choices and delays at or between their bounds. ``binding``:
    the scheduler also takes a random part of each new pod's ``pod-start`` to bind it (the
    differential tests; the search's own candidates bind at once)."""
    b = sc.settings
    n, r = sc.nodes, sc.rollout.replicas

    def pick(lo: float, hi: float) -> float:
        x = rng.random()
        return lo if x < 0.35 else hi if x < 0.7 else rng.uniform(lo, hi)

    def node_delays(bound: str) -> tuple[float, ...]:
        return tuple(pick(b[bound].lo, b[bound].hi) for _ in range(n))

    out = []
    for _ in range(count):
        h = sc.old.hook
        olds = tuple(OldTiming(
            kubelet=pick(*_lohi(b["kubelet"])), hook=pick(h.lo, h.hi),
            close=pick(0, h.hi + b["app-close"].hi) if h.may_stop_app else pick(*_lohi(b["app-close"])),
            drain=pick(0, b["request"].hi), unready_phase=rng.random(), unready_resp=rng.random(),
            eps_del=pick(*_lohi(b["endpointslice"])), eps_unready=pick(*_lohi(b["endpointslice"])),
            proxy_del=node_delays("kube-proxy"), proxy_unready=node_delays("kube-proxy"),
            lb_dereg=pick(*_lohi(b["lb-deregister"])), lb_phase=rng.random(), lb_resp=pick(0, b.lb.timeout))
            for _ in range(r))
        news = tuple(NewTiming(
            start=pick(*_lohi(b["pod-start"])), app=pick(*_lohi(b["app-startup"])),
            startup_phase=rng.random(), ready_phase=rng.random(), liveness_phase=rng.random(),
            eps=pick(*_lohi(b["endpointslice"])), proxy=node_delays("kube-proxy"),
            lb_reg=pick(*_lohi(b["lb-register"])), lb_phase=rng.random(), lb_resp=pick(0, b.lb.timeout))
            for _ in range(r + 2))
        if binding:
            news = tuple(replace(nt, schedule=pick(0.0, nt.start)) for nt in news)
        choices = Choices(initial=tuple(rng.randrange(n) for _ in range(r)),
                          placement=tuple(rng.randrange(n) for _ in range(r + 2)),
                          deletion=tuple(rng.sample(range(r), r)))
        out.append((choices, Timing(ctrl=tuple(pick(*_lohi(b["controller"])) for _ in range(4 * r + 4)),
                                    react=tuple(pick(*_lohi(b["controller"])) for _ in range(2 * r + 2)),
                                    new=news, old=olds, lb_phase=tuple(rng.random() for _ in range(n)),
                                    lb_resp=pick(0, b.lb.timeout), request=pick(*_lohi(b["request"])))))
    return out


def _lohi(i: Interval) -> tuple[float, float]:
    return (i.lo, i.hi)


def stalled_query(prop: Property, sc: Scenario) -> Query:
    """Completion, per pod: a probe that checks the served port kills a new pod before its
    application listens (it restarts just as slowly: the rollout never finishes)."""

    def build(enc: Encoding) -> None:
        q = kubelet.new_pod(enc, "new", enc.const(0), may_be_killed=True)
        enc.add(kubelet.killed_before_listening(enc, q))

    def witness(enc: Encoding) -> list[tuple[Choices, Timing]]:
        nt = _new_timing(enc, "new", "n", sc.nodes, 0)
        return [(Choices(initial=tuple(i % sc.nodes for i in range(sc.rollout.replicas))),
                 Timing(default_new=nt))]

    return Query(prop, "a probe kills new pods before they listen", build, witness)


