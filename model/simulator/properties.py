"""Evaluate a property on one simulated run: the simulator's side of the spec language.

The simulator produces a ``Timeline`` (each pod's event instants, what every node's
kube-proxy applied and when, each node's load-balancer health); this module decides a
property's violation condition on it exactly, at every instant of ``[0, horizon)``.

Exactness without a clock: every window is a half-open interval between two event
instants, and a time comparison ``now + c op e`` switches at one instant. With the sorted
set ``T`` of all those instants, the real line splits into *pieces* — the points of ``T``
and the open intervals between them — on which every atom is constant. A set of instants
is a bitmask over the pieces (Python ints), so ``and``/``or``/``not`` are single integer
operations and quantifiers fold them over pods, nodes and zones. Counts sum pieces.

This module shares nothing with the Z3 compiler (``model/checker/properties.py``): the differential tests
compare the two.
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from itertools import product
from typing import Iterator

from zdverify.grammar.spec_language import (
    And,
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
from zdverify.model.scenario import EntrySpec, Scope, scope_of, scopes
from zdverify.model.assumptions import KeepAlive
from zdverify.model.simulator import application, kube_proxy, load_balancer
from zdverify.model.simulator.endpointslice import EndpointChange
from zdverify.model.run import NEVER

INF = math.inf


@dataclass(frozen=True)
class PodLife:
    """One pod's instants (``-inf``: before the rollout; ``inf``: never)."""

    name: str
    old: bool
    node: int
    created: float = -INF
    listen: float = -INF
    ready: float = -INF
    killed: float = INF  # liveness/startup kill before listening
    deleted: float = INF
    sigterm: float = INF
    close: float = INF
    unready: float = INF
    exit: float = INF
    sigkill: float = INF
    tg_in: float = INF  # IP targets: the load balancer sends new requests to the pod from ...
    tg_out: float = INF  # ... until


@dataclass(frozen=True)
class Timeline:
    pods: tuple[PodLife, ...]
    # per node: (instant, pod index, change), in order
    applied: tuple[tuple[tuple[float, int, EndpointChange], ...], ...]
    lb: tuple[tuple[tuple[float, bool], ...], ...]  # per node: (instant, healthy); first entry at -inf
    zones: tuple[str, ...]  # per node
    entries: tuple[EntrySpec, ...]
    fallback: bool
    request: float
    horizon: float
    completed: bool
    fail_open: bool = False  # the load balancer sends to every node when it finds none healthy
    keep_alive: KeepAlive | None = None  # pooled clients (``zdverify/keep-alive``)


@dataclass(frozen=True)
class Found:
    """A violating instant: the first piece, the binding of the outer ``exists``, the entry."""

    t: float
    t_end: float
    bindings: tuple[tuple[str, Sort, int | str], ...]
    entry: EntrySpec | None

    def bound(self, sort: Sort) -> int | str | None:
        return next((v for _, s, v in self.bindings if s is sort), None)


EPS = 1e-9  # instants closer than this are one instant (floating-point sums of delays)


def _canonical(times: list[float]) -> list[float]:
    """Sorted instants, each cluster of instants within ``EPS`` of its first kept once."""
    out: list[float] = []
    for t in sorted(times):
        if not out or t - out[-1] > EPS * max(1.0, abs(t)):
            out.append(t)
    return out


@dataclass
class _Pieces:
    """Sorted instants and the bitmask algebra over the pieces they cut the line into."""

    times: list[float]

    def __post_init__(self) -> None:
        self.times = _canonical(self.times)
        self.n = 2 * len(self.times) + 1
        self.full = (1 << self.n) - 1
        self._index: dict[float, int] = {}  # instants looked up before (the same few, many times)

    def index_of(self, x: float) -> int:
        """The instant ``x`` stands for (within ``EPS``)."""
        near = self._index.get(x)
        if near is None:
            i = bisect.bisect_left(self.times, x)
            near = min((j for j in (i - 1, i) if 0 <= j < len(self.times)), key=lambda j: abs(self.times[j] - x))
            assert abs(self.times[near] - x) <= 2 * EPS * max(1.0, abs(x)), x
            self._index[x] = near
        return near

    def start(self, a: float) -> int:
        """First piece of ``[a, …)``."""
        if a == -INF:
            return 0
        if a == INF:
            return self.n
        return 2 * self.index_of(a) + 1

    def window(self, a: float, b: float) -> int:
        """``[a, b)``."""
        lo, hi = self.start(a), self.start(b)
        return 0 if hi <= lo else ((1 << hi) - 1) ^ ((1 << lo) - 1)

    def compare(self, op: str, x: float) -> int:
        """Instants ``now`` with ``now op x``."""
        if x == INF:
            return self.full if op in ("<", "<=", "!=") else 0
        if x == -INF:
            return self.full if op in (">", ">=", "!=") else 0
        i = 2 * self.index_of(x) + 1  # the piece {x}
        below = (1 << i) - 1
        point = 1 << i
        return {"<": below, "<=": below | point, ">": self.full ^ below ^ point, ">=": self.full ^ below,
                "==": point, "!=": self.full ^ point}[op]

    def piece_bounds(self, i: int) -> tuple[float, float]:
        if i % 2:
            t = self.times[i // 2]
            return t, t
        lo = self.times[i // 2 - 1] if i else -INF
        hi = self.times[i // 2] if i // 2 < len(self.times) else INF
        return lo, hi

    def runs(self, mask: int) -> Iterator[tuple[int, int]]:
        """Maximal runs ``[lo, hi)`` of set pieces."""
        while mask:
            lo = (mask & -mask).bit_length() - 1
            z = mask >> lo
            length = ((z + 1) & ~z).bit_length() - 1
            yield lo, lo + length
            mask &= ~(((1 << length) - 1) << lo)


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_APPLY = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
          ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


# an old pod was created, listened and turned Ready long before the rollout (its life
# before 0 is -inf on the timeline); the spec language's arithmetic needs numbers
_LONG_AGO = {"created_at": -3e6, "listen_at": -2e6, "ready_at": -1e6}


def _event(p: PodLife, name: str) -> float:
    """A pod instant as the spec language computes with it: one that never comes is
    ``NEVER``, one before the rollout a number long before 0 (``_LONG_AGO``), so that the
    difference of two of them is a number, as on the checker's side."""
    x = {"created_at": p.created, "listen_at": p.listen, "ready_at": p.ready, "deleted_at": p.deleted,
         "sigterm_at": p.sigterm, "close_at": p.close, "sigkill_at": p.sigkill, "exit_at": p.exit}[name]
    if x == INF:
        return NEVER
    return _LONG_AGO[name] if x == -INF else x


def _linear(t: Term, env: dict[str, int], tl: Timeline) -> tuple[int, float]:
    """A time term as (coefficient of now, constant)."""
    if isinstance(t, Now):
        return 1, 0.0
    if isinstance(t, Request):
        return 0, tl.request
    if isinstance(t, Const):
        return 0, t.value
    if isinstance(t, Event):
        return 0, _event(tl.pods[env[t.var.name]], t.name)
    assert isinstance(t, Sum)
    c, k = 0, 0.0
    for sign, x in t.terms:
        xc, xk = _linear(x, env, tl)
        c += sign * xc
        k = k + sign * xk if not (math.isinf(k) and math.isinf(xk) and (k > 0) != (sign * xk > 0)) else math.nan
    return c, k


def _threshold(cmp: Compare, env: dict[str, int], tl: Timeline) -> tuple[str, float] | bool:
    """``now op' x`` for the comparison, or its constant truth when ``now`` cancels."""
    lc, lk = _linear(cmp.left, env, tl)
    rc, rk = _linear(cmp.right, env, tl)
    c, k = lc - rc, rk - lk  # c*now op k
    if math.isnan(k):
        return False
    if c == 0:
        return _APPLY[cmp.op](0.0, k)
    x = k / c
    return (cmp.op if c > 0 else _FLIP[cmp.op]), x


def _compares(f: Formula | Term) -> Iterator[Compare]:
    if isinstance(f, Compare):
        yield f
        for side in (f.left, f.right):
            yield from _compares(side)
    elif isinstance(f, (And, Or)):
        for part in f.parts:
            yield from _compares(part)
    elif isinstance(f, Not):
        yield from _compares(f.body)
    elif isinstance(f, (Quant, Count)):
        yield from _compares(f.body)
    elif isinstance(f, Sum):
        for _, x in f.terms:
            yield from _compares(x)


def _event_vars(t: Term) -> list[Var]:
    if isinstance(t, Event):
        return [t.var]
    if isinstance(t, Sum):
        return [v for _, x in t.terms for v in _event_vars(x)]
    return []


class _Evaluator:
    def __init__(self, tl: Timeline, violation: Formula) -> None:
        self.tl = tl
        times = {0.0, tl.horizon}
        for p in tl.pods:
            times.update(x for x in (p.created, p.listen, p.ready, p.killed, p.deleted, p.sigterm, p.close,
                                     p.unready, p.exit, p.sigkill, p.tg_in, p.tg_out) if not math.isinf(x))
        for history in {id(h): h for h in tl.applied}.values():  # nodes with equal delays share one
            times.update(a for a, _, _ in history if not math.isinf(a))
        for node in tl.lb:
            times.update(a for a, _ in node if not math.isinf(a))
        for cmp in _compares(violation):
            if cmp.numeric:
                continue
            vs = list(dict.fromkeys(v.name for v in _event_vars(cmp.left) + _event_vars(cmp.right)))
            for combo in product(range(len(tl.pods)), repeat=len(vs)):
                r = _threshold(cmp, dict(zip(vs, combo)), tl)
                if not isinstance(r, bool) and not math.isinf(r[1]) and not math.isnan(r[1]):
                    times.add(r[1])
        self.pc = _Pieces(sorted(times))
        self.domain = self.pc.window(0.0, tl.horizon)
        self.zones = sorted(set(tl.zones))
        self._routes: dict[tuple[Scope, int], dict[int, int]] = {}
        self._shared_routes: dict[tuple[Scope, int], dict[int, int]] = {}  # (scope, id of an applied history)
        self.scope_ip = False  # set per scope: nodes are then the load balancer's target group
        self._sends: dict[tuple[Scope, int], int] = {}
        self._healthy: dict[tuple[Scope, int], int] = {}

    # ---- atoms -----------------------------------------------------------------------
    def pred(self, p: Pred, env: dict[str, int | str], scope: Scope) -> int:
        pc, tl = self.pc, self.tl
        args = [env[a.name] for a in p.args]
        if p.name == "sends":
            return self.sends(scope, int(args[0]))
        if p.name == "healthy":
            return self.healthy(scope, int(args[0]))
        if p.name == "routes":
            return self.routes(scope, int(args[0])).get(int(args[1]), 0)
        if p.name == "in_zone":
            zone = tl.zones[int(args[0])] if int(args[0]) < len(tl.zones) else ""
            return pc.full if zone == args[1] else 0
        pod = tl.pods[int(args[0])]
        if p.name == "on":
            return pc.full if pod.node == args[1] else 0
        if p.name == "old":
            return pc.full if pod.old else 0
        if p.name == "new":
            return 0 if pod.old else pc.full
        if p.name == "killed":
            return pc.full if pod.deleted < INF and pod.sigkill <= pod.exit else 0
        if p.name == "terminating":
            return pc.window(pod.deleted, INF)
        if p.name == "running":
            return pc.window(pod.created, pod.exit)
        if p.name == "serving":
            if pod.old:
                return pc.window(-INF, min(pod.close, pod.exit))
            return pc.window(pod.listen, min(pod.killed, pod.exit))
        if p.name == "pooled_closed":
            if not pod.old:
                return 0
            return pc.window(application.pooled_closed(tl.keep_alive, pod.close, pod.sigterm, pod.exit), INF)
        if p.name == "ready":
            if pod.old:
                return pc.window(-INF, pod.unready)
            return pc.window(pod.ready, pod.killed)
        raise ValueError(p.name)  # pragma: no cover - the parser admits no other predicate

    def healthy(self, scope: Scope, n: int) -> int:
        """Instants the load balancer counts node n healthy (``load_balancer.healthy``): Local,
        while its checks pass; IP targets (n is the target group), while some target is
        healthy; without checks, always."""
        key = (scope, n)
        if key not in self._healthy:
            if scope.ip:
                m = 0
                for mask in load_balancer.target_group(self.tl.pods, self.pc.window).values():
                    m |= mask
            elif scope.lb:
                m = load_balancer.healthy(self.tl.lb[n], self.pc.window)
            else:
                m = self.pc.full
            self._healthy[key] = m
        return self._healthy[key]

    def sends(self, scope: Scope, n: int) -> int:
        """Instants the load balancer sends new flows to node n (``load_balancer.sends``):
        while it finds n healthy, and, failing open, while it finds no node healthy."""
        key = (scope, n)
        if key not in self._sends:
            if scope.lb and not scope.ip:  # Local: the load balancer checks each node's health
                nodes = range(len(self.tl.applied))
                self._sends[key] = load_balancer.sends(self.healthy(scope, n),
                                                       [self.healthy(scope, m) for m in nodes],
                                                       self.tl.fail_open, self.pc.full)
            else:
                self._sends[key] = self.pc.full
        return self._sends[key]

    def routes(self, scope: Scope, n: int) -> dict[int, int]:
        """Pod index -> instants the scope's requests entering node n go to the pod: the
        load balancer's target group for IP targets (``load_balancer.target_group``), else
        node n's kube-proxy (``kube_proxy.routes``: ready endpoints in scope; if none and the
        fallback is on, serving terminating ones)."""
        key = (scope, n)
        if key not in self._routes:
            tl, pc = self.tl, self.pc
            if scope.ip:
                self._routes[key] = load_balancer.target_group(tl.pods, pc.window)
            elif scope.local:
                self._routes[key] = kube_proxy.routes(tl.pods, tl.applied[n], n, True, tl.fallback, pc.window,
                                                      pc.full)
            else:  # every endpoint in scope: nodes that share their applied changes share the routes
                shared = (scope, id(tl.applied[n]))
                if shared not in self._shared_routes:
                    self._shared_routes[shared] = kube_proxy.routes(tl.pods, tl.applied[n], n, False, tl.fallback,
                                                                    pc.window, pc.full)
                self._routes[key] = self._shared_routes[shared]
        return self._routes[key]

    # ---- formulas --------------------------------------------------------------------
    def domain_of(self, sort: Sort) -> list[int | str]:
        if sort is Sort.POD:
            return list(range(len(self.tl.pods)))
        if sort is Sort.NODE:
            return [len(self.tl.applied)] if self.scope_ip else list(range(len(self.tl.applied)))
        return list(self.zones)

    def candidates(self, f: Quant, env: dict[str, int | str], scope: Scope) -> list[int | str]:
        """The values of ``f``'s variable worth evaluating its body at: all of its sort, except
        for ``exists pod p`` whose body is (a conjunction with) ``routes(n, p)`` for a bound
        n — then only the pods n's kube-proxy ever routes to (elsewhere the body is empty).
        With policy Local that is a node's own pods: 1,000 nodes x 2,000 pods become 2,000."""
        if f.universal or f.var.sort is not Sort.POD:
            return self.domain_of(f.var.sort)
        parts = f.body.parts if isinstance(f.body, And) else (f.body,)
        for part in parts:
            if isinstance(part, Pred) and part.name == "routes" and part.args[1].name == f.var.name \
                    and part.args[0].name in env:
                return sorted(self.routes(scope, int(env[part.args[0].name])))
        return self.domain_of(f.var.sort)

    def formula(self, f: Formula, env: dict[str, int | str], scope: Scope) -> int:
        if isinstance(f, Pred):
            return self.pred(f, env, scope)
        if isinstance(f, Not):
            return self.pc.full ^ self.formula(f.body, env, scope)
        if isinstance(f, And):
            m = self.pc.full
            for part in f.parts:
                m &= self.formula(part, env, scope)
                if not m & self.domain:
                    return 0
            return m
        if isinstance(f, Or):
            m = 0
            for part in f.parts:
                m |= self.formula(part, env, scope)
            return m
        if isinstance(f, Quant):
            m = self.pc.full if f.universal else 0
            for value in self.candidates(f, env, scope):
                x = self.formula(f.body, {**env, f.var.name: value}, scope)
                if f.universal:
                    m &= x
                    if not m & self.domain:
                        return 0
                else:
                    m |= x
            return m
        assert isinstance(f, Compare)
        if f.numeric:
            left, right = self.numeric(f.left, env, scope), self.numeric(f.right, env, scope)
            m = 0
            for i, (a, b) in enumerate(zip(left, right)):
                if _APPLY[f.op](a, b):
                    m |= 1 << i
            return m
        r = _threshold(f, {k: v for k, v in env.items() if isinstance(v, int)}, self.tl)
        if isinstance(r, bool):
            return self.pc.full if r else 0
        return self.pc.compare(*r)

    def numeric(self, t: Term, env: dict[str, int | str], scope: Scope) -> list[int]:
        n = self.pc.n
        if isinstance(t, Const):
            return [int(t.value)] * n
        if isinstance(t, Sum):
            out = [0] * n
            for sign, x in t.terms:
                for i, v in enumerate(self.numeric(x, env, scope)):
                    out[i] += sign * v
            return out
        assert isinstance(t, Count)
        diff = [0] * (n + 1)
        for value in self.domain_of(t.var.sort):
            m = self.formula(t.body, {**env, t.var.name: value}, scope)
            for lo, hi in self.pc.runs(m):
                diff[lo] += 1
                diff[hi] -= 1
        out, acc = [], 0
        for i in range(n):
            acc += diff[i]
            out.append(acc)
        return out

    def witness(self, f: Formula, env: dict[str, int | str], scope: Scope
                ) -> tuple[int, tuple[tuple[str, Sort, int | str], ...]] | None:
        """The earliest violating piece, and the binding of the outer ``exists`` there."""
        if isinstance(f, Quant) and not f.universal:
            best: tuple[int, tuple] | None = None
            for value in self.candidates(f, env, scope):
                inner = self.witness(f.body, {**env, f.var.name: value}, scope)
                if inner is not None and (best is None or inner[0] < best[0]):
                    best = (inner[0], ((f.var.name, f.var.sort, value),) + inner[1])
            return best
        m = self.formula(f, env, scope) & self.domain
        if not m:
            return None
        return (m & -m).bit_length() - 1, ()


def find(tl: Timeline, violation: Formula) -> Found | None:
    """The earliest instant in ``[0, horizon)`` at which ``violation`` holds, for any entry."""
    ev = _Evaluator(tl, violation)
    best: tuple[int, tuple, EntrySpec] | None = None
    for scope, entry in scopes(tl.entries).items():
        ev.scope_ip = scope.ip
        w = ev.witness(violation, {}, scope)
        if w is not None and (best is None or w[0] < best[0]):
            best = (w[0], w[1], entry)
    if best is None:
        return None
    piece, bindings, entry = best
    # the violation lasts while the same binding keeps it true
    env = {name: value for name, _, value in bindings}
    body = violation
    for _ in bindings:
        assert isinstance(body, Quant)
        body = body.body
    ev.scope_ip = entry.ip
    mask = ev.formula(body, env, scope_of(entry)) & ev.domain
    end = next(hi for lo, hi in ev.pc.runs(mask) if lo <= piece < hi)
    t0 = ev.pc.piece_bounds(piece)[0]
    t1 = ev.pc.piece_bounds(end - 1)[1]
    return Found(max(t0, 0.0), min(t1, tl.horizon), bindings, entry)
