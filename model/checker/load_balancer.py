"""Cloud load balancer in front of a LoadBalancer Service.

Follows KEP-1669/KEP-3836 and the clouds' health-check documentation (profiles and their
sources in ``model/assumptions.py``): with
``externalTrafficPolicy: Cluster`` every node is a healthy backend; with ``Local`` the
load balancer health-checks each node's healthCheckNodePort, which fails from the moment
that node's kube-proxy has no local ready, non-terminating endpoint.

Simplifications:
 1. Health checks run every ``interval`` per node with an arbitrary phase (with the
    ``after-answer`` cadence, haproxy's ``inter``: ``interval`` after the previous check
    answered, so each gap is up to a timeout longer); a node stops getting new flows after
    ``unhealthy`` consecutive failures (the last answering within ``timeout``), i.e.
    ``[(U-1)·I, U·gap + timeout)`` after the flip; it is added back after ``healthy``
    consecutive successes.
 2. Profiles (``assumptions.LB_PROFILES``) set the interval, timeout and thresholds; a
    cluster file may describe any other load balancer.
 3. IP targets (AWS Load Balancer Controller ``ip`` mode and its pod readiness gate):
    the load balancer sends to pod IPs, bypassing kube-proxy. A target is registered
    ``lb-register`` after its endpoint is ready in the EndpointSlice (with the
    target-health readiness gate: after the pod starts, and Ready waits for it) and gets
    traffic once ``healthy`` consecutive checks reached the application; it stops getting
    new requests ``lb-deregister`` after the endpoint turned terminating, or after
    ``unhealthy`` failed checks once the listener closed, whichever is first. Not
    modelled: fail-open when every target is unhealthy (ALB/NLB route to all of them),
    draining of established connections (deregistration delay, 300 s by default), cross-zone
    settings; an empty target group counts as failed requests.
 4. With no healthy node (``no_healthy``), a load balancer that fails open (the profile's
    ``fail_open``, with its source) sends to every node — nodes without a local endpoint
    DROP — and one that does not sends to none. A node is added back ``healthy`` checks
    after its kube-proxy has a local ready endpoint again.
 5. A DaemonSet without surge cannot leave every node removed at once when its nodes are
    too many for its ``maxUnavailable`` (``rotation_bound``), nor can a Deployment whose
    replicas are too many to turn Ready within one add-back time (``refill_bound``), nor a
    StatefulSet whose one-at-a-time replacements outlast it (``ordered_bound``): counting
    arguments over the whole rollout, the same for 4 nodes or 4,000; the query then needs no
    search.
"""
from __future__ import annotations

import math
from fractions import Fraction

import z3

from zdverify.model.assumptions import Interval, LBProfile
from zdverify.model.verdict import Fact
from zdverify.model.checker.encoding import Encoding
from zdverify.model.checker.entities import Case, NodeEntity
from zdverify.model.objects import Strategy
from zdverify.model.scenario import Scenario


def stops_sending(enc: Encoding, node: str, flip: z3.ArithRef) -> z3.ArithRef:
    """When the load balancer stops sending new flows to ``node`` whose check fails from ``flip``."""
    lb = enc.sc.settings.lb
    first = enc.within(f"lb.{node}.first", Interval(0, lb.gap))
    enc.add(first < lb.gap)
    resp = enc.within(f"lb.{node}.resp", Interval(0, lb.timeout))
    # after-answer cadence: each of the next checks starts up to an answer time later
    drift = enc.within(f"lb.{node}.drift", Interval(0, (lb.gap - lb.interval) * (lb.unhealthy - 1)))
    t = enc.real(f"lb.{node}.removed")
    enc.add(t >= flip)
    enc.hold(_removal(lb), t == flip + first + (lb.unhealthy - 1) * lb.interval + drift + resp)
    return t


def _removal(lb: LBProfile) -> Fact:
    return Fact("load-balancer", f"load balancer {lb.name} removes a failing node within {lb.removal_max:g}s")


def _add_back(lb: LBProfile) -> Fact:
    return Fact("load-balancer", f"load balancer {lb.name} adds a passing node within {lb.add_max:g}s")


def target_healthy(enc: Encoding, name: str, registered: z3.ArithRef, listen: z3.ArithRef) -> z3.ArithRef:
    """IP targets: a registered target turns healthy after ``healthy`` consecutive checks
    that reach the application (checks every interval from registration, any phase)."""
    lb = enc.sc.settings.lb
    need = z3.If(registered >= listen, registered, listen)
    phase = enc.fraction(f"{name}.tg.phase")
    k = enc.integer(f"{name}.tg.k")
    tick = registered + phase * lb.interval + k * lb.interval
    enc.add(k >= 0, tick >= need, z3.Or(k == 0, tick - lb.interval < need))
    resp = enc.within(f"{name}.tg.resp", Interval(0, lb.timeout))
    t = enc.real(f"{name}.tg.in")
    enc.add(t == tick + (lb.healthy - 1) * lb.interval + resp)
    return t


def target_removed(enc: Encoding, name: str, slice_removed: z3.ArithRef, close: z3.ArithRef) -> z3.ArithRef:
    """IP targets: no new requests once the target is deregistered (after the endpoint's
    removal from the slice) or has failed ``unhealthy`` checks after the listener closed."""
    lb = enc.sc.settings.lb
    dereg = slice_removed + enc.within(f"{name}.lbdereg", enc.bound("lb-deregister"))
    phase = enc.fraction(f"{name}.tg.phase")
    resp = enc.within(f"{name}.tg.resp", Interval(0, lb.timeout))
    unhealthy = close + phase * lb.interval + (lb.unhealthy - 1) * lb.interval + resp
    t = enc.real(f"{name}.tg.out")
    enc.add(t == z3.If(dereg <= unhealthy, dereg, unhealthy))
    return t


def ip_targets(case: Case, slice_times: dict[str, z3.ArithRef]) -> None:
    """IP targets: when each pod entity is in the target group (an old pod: from before the
    rollout until its removal; a new pod: once healthy)."""
    enc = case.enc
    for p in case.pods:
        z = p.z
        if p.old:  # kubelet.OldPod
            case.targets[p.name] = (z.deleted, target_removed(enc, p.name, slice_times[f"{p.name}.del"], z.close))
        else:  # kubelet.NewPod
            healthy = enc.vars.get(f"{p.name}.tg.in")
            if healthy is None:  # no readiness gate: registered once the slice has the ready endpoint
                registered = slice_times[f"{p.name}.ready"] + enc.within(f"{p.name}.lbreg", enc.bound("lb-register"))
                healthy = target_healthy(enc, p.name, registered, z.listen)
            case.targets[p.name] = (healthy, None)


def healthy(case: Case, n: NodeEntity) -> z3.BoolRef:
    """``healthy(lb, n)`` at t. Without health checks (Cluster, no load balancer): always.
    IP targets (n stands for the target group): some pod target is healthy. Local: never a
    node that cannot run the pods; a node with no local ready endpoint only until its
    checks remove it, counted from the last local endpoint's removal; never while no node
    is healthy (``no_healthy``)."""
    enc = case.enc
    if n.target_group:
        return z3.Not(case.no_ready[n.name])
    if not case.lb:
        return z3.BoolVal(True, enc.ctx)
    if not n.feasible:
        return z3.BoolVal(False, enc.ctx)
    key = f"healthy.{n.name}"
    if key in case.env:
        return case.env[key]  # type: ignore[return-value]
    h = z3.Bool(key, enc.ctx)
    case.env[key] = h
    x = n.last_local
    if x is not None:
        flip = case.applied[(n.name, f"{x.name}.del")]
        enc.add(z3.Implies(z3.And(h, case.no_ready[n.name]), case.t < stops_sending(enc, n.name, flip)))
    if not case.gf.deletes:
        # no pod ever leaves: a node without a local ready endpoint now never had one, and
        # the load balancer never found it healthy
        enc.add(z3.Implies(case.no_ready[n.name], z3.Not(h)))
    enc.add(z3.Implies(no_healthy(case), z3.Not(h)))
    return h


def sends(case: Case, n: NodeEntity) -> z3.BoolRef:
    """``sends(lb, n)`` at t: requests for the entry arrive at n — while the load balancer
    finds n healthy, and (a profile that fails open) while it finds no node healthy."""
    if not case.lb or n.target_group:
        return z3.BoolVal(True, case.enc.ctx)
    h = healthy(case, n)
    return z3.Or(h, no_healthy(case)) if case.sc.settings.lb.fail_open else h


def no_healthy(case: Case) -> z3.BoolRef:
    """``NH``: the load balancer finds no node healthy at t (Local). Valid facts: an old
    pod's node was healthy before the rollout (old pods were Ready long before) and fails
    its checks only once the pod's removal reaches that node's kube-proxy, then
    ``unhealthy`` checks later; a new pod's node passes from when its Ready reaches that
    node's kube-proxy (new pods stay Ready) and is healthy ``healthy`` checks later; and a
    node never loses its local ready endpoints when the rollout keeps one on it (pods it
    never moves: a drain's on other nodes, a partition's)."""
    enc, sc, gf = case.enc, case.sc, case.gf
    if "NH" in case.env:
        return case.env["NH"]  # type: ignore[return-value]
    nh = z3.Bool("NH", enc.ctx)
    case.env["NH"] = nh
    if case.ip:  # the target group stands for the nodes: no healthy target
        for n in case.nodes:
            if n.target_group:
                enc.add(nh == case.no_ready[n.name])
        return nh
    if not case.lb:
        enc.add(z3.Not(nh))
        return nh
    lb = sc.settings.lb
    kept = sc.rollout.replicas > 0 and (
        not gf.deletes or gf.node_kept or gf.node_some_kept or sc.rollout.kept > 0
        or (not gf.zero_ready and len(sc.feasible) == 1)
        or (sc.rollout.strategy is Strategy.DAEMON_SET and sc.rollout.surge > 0))
    if kept:
        enc.add(z3.Not(nh))
        return nh
    bound = rollout_bound(sc) if gf.whole_rollout else None  # counts over the whole rollout
    if bound is not None:
        enc.hold(bound, z3.Not(nh))
        return nh
    for p in case.pods:
        if p.old and f"{p.name}.del" in case.slices:
            home = case.slices[f"{p.name}.del"] + enc.within(f"home.{p.name}.del", enc.bound("kube-proxy"))
            enc.add(z3.Implies(nh, case.t >= home))  # (its removal: at the earliest (U-1) checks later)
            enc.hold(Fact("load-balancer", f"load balancer {lb.name} keeps a failing node "
                                           f"{(lb.unhealthy - 1) * lb.interval:g}s or more"),
                     z3.Implies(nh, case.t >= home + (lb.unhealthy - 1) * lb.interval))
        elif not p.old and f"{p.name}.ready" in case.slices:
            home = case.slices[f"{p.name}.ready"] + enc.within(f"home.{p.name}.ready", enc.bound("kube-proxy"))
            enc.hold(_add_back(lb), z3.Implies(nh, case.t < home + lb.add_max))
    return nh


def _exact(x: float) -> Fraction:
    """A bound as the decimal it was written as: the counts below are often equalities."""
    return Fraction(repr(x))


def _removal_min(lb: LBProfile) -> Fraction:
    """The least time from a node's first failing check to its removal: ``(U-1)·I``."""
    return (lb.unhealthy - 1) * _exact(lb.interval)


def _back_within(sc: Scenario) -> Fraction:
    """How long after a new pod's Ready its node is healthy at the latest: the EndpointSlice
    and kube-proxy bounds, then ``add_max``."""
    b = sc.settings
    return _exact(b.lb.add_max) + _exact(b["endpointslice"].hi) + _exact(b["kube-proxy"].hi)


def rollout_bound(sc: Scenario) -> Fact | None:
    """Why no instant of this rollout finds every node removed (Local), or None. These are
    counts over the whole rollout — the controllers' limits on how many pods move at once —
    so they apply only where the facts describe a whole rollout (``GraphFacts.whole_rollout``),
    unlike the per-node lemmas above, which hold for any single node's history."""
    return rotation_bound(sc) or refill_bound(sc) or ordered_bound(sc)


def rotation_bound(sc: Scenario) -> Fact | None:
    """Why no instant finds every node of a DaemonSet (no surge, Local) removed, or None.

    Times are where the EndpointSlice controller writes them: it writes a Service's changes
    in order, so node i's old pod leaves the slice at ``e_i`` and its new pod's Ready lands at
    ``f_i``, and at most k = maxUnavailable nodes are between the two at any moment (the
    controller deletes an old pod only while fewer than k nodes are unavailable; their order
    survives the writes). A node's kube-proxy sees each write within ``p`` (kube-proxy's bound).
    To be removed, node i fails ``U`` checks ``I`` apart between the two: ``f_i - e_i > L =
    (U-1)·I - p``; to be still out at ``t`` it passed its first check less than ``add_max``
    ago: ``f_i > t - p - add_max``; a node whose Ready it has not seen by ``t`` was removed,
    so ``e_i <= t - (U-1)·I``; a node not yet updated keeps its Ready old pod and is healthy.

    1. One node at a time (k = 1): the gaps follow one another, so with N nodes the last one's
       removal comes after ``(N-2)·L + (U-1)·I`` past the first node's Ready; none healthy needs
       that before ``p + add_max`` — impossible when N >= 3 and it is not shorter.
    2. Any k: each of the N nodes spends more than L of the window ``(t - W, t]``,
       ``W = L + p + add_max``, between the two writes, at most k at a time: impossible when
       N·L > k·W.

    Both are counts over the whole rollout, so they hold for any larger N too."""
    r = sc.rollout
    if r.strategy is not Strategy.DAEMON_SET or r.surge > 0 or r.unavailable < 1:
        return None
    lb = sc.settings.lb
    p, add_max, removal = _exact(sc.settings["kube-proxy"].hi), _exact(lb.add_max), _removal_min(lb)
    span, n, k = removal - p, r.replicas, r.unavailable
    if span <= 0:
        return None
    if k == 1 and n >= 3 and (n - 2) * span + removal >= p + add_max:
        least = max(3, 2 + math.ceil((p + add_max - removal) / span))
        return Fact("load-balancer", f"a DaemonSet updating one of {n} nodes at a time cannot leave every node removed by "
                                     f"{lb.name}: the last is removed more than {float((n - 2) * span + removal):g}s "
                                     f"after the first node's new pod is Ready, which is back within "
                                     f"{float(p + add_max):g}s (holds for any number of nodes >= {least})")
    window = span + p + add_max
    if n * span > k * window:
        return Fact("load-balancer", f"a DaemonSet updating {k} of {n} nodes at a time cannot leave every node removed by "
                                     f"{lb.name}: each node is out more than {float(span):g}s of any {float(window):g}s "
                                     f"window with none healthy, at most {k} at once (holds for more nodes at this "
                                     f"maxUnavailable, or at this share of them)")
    return None


def refill_bound(sc: Scenario) -> Fact | None:
    """Why no instant finds every node of a Deployment's RollingUpdate (Local) removed, or None.

    At such an instant ``t`` the node of the last old pod was removed, ``(U-1)·I`` or more after
    that pod's deletion ``L`` (it held that Ready pod until then); and every new pod turned
    Ready after ``t0 = t - A``, ``A = add_max`` plus the EndpointSlice and kube-proxy bounds
    (new pods stay Ready: a node that has had one for ``add_max`` is healthy). When the last
    old pod goes, the controller keeps ``R - u`` pods available (maxUnavailable u): all new,
    so ``R - u`` new pods turn Ready within ``(t0, t0 + W]``, ``W = A - (U-1)·I``. But a new pod
    is Ready ``m`` (pod-start's lower bound) or more after its creation, and the controller
    creates new pods only while ``new <= s + u + available`` (maxSurge s): at most
    ``(s + u)·(floor(W/m) + 1)`` new pods turn Ready in a window of W that starts with none.
    Where ``R - u`` is larger, that instant does not exist, for any timing within the bounds."""
    r, b = sc.rollout, sc.settings
    if r.strategy is not Strategy.ROLLING_UPDATE or r.replicas - r.unavailable < 1 or sc.drain is not None:
        return None
    lb = b.lb
    m = _exact(b["pod-start"].lo)
    if m <= 0:
        return None
    reach = _back_within(sc)
    window = reach - _removal_min(lb)
    need = r.replicas - r.unavailable
    most = 0 if window < 0 else (r.surge + r.unavailable) * (window // m + 1)
    if need <= most:
        return None
    return Fact("load-balancer", f"{need} new pods must turn Ready within {float(max(window, 0)):g}s for {lb.name} to find "
                                 f"no node healthy; with maxSurge {r.surge} and maxUnavailable {r.unavailable}, and "
                                 f"pods Ready {float(m):g}s or more after creation, at most {most} can (holds for any "
                                 f"number of nodes, and for more replicas)")


def ordered_bound(sc: Scenario) -> Fact | None:
    """Why no instant finds every node of a StatefulSet's RollingUpdate (one pod at a time,
    Local) removed, or None.

    The controller replaces ordinals one at a time: it deletes the next only once the last
    replaced pod is Ready, and recreates a pod only once the old one is gone — its preStop
    takes ``h`` or more (the hook's lower bound) — and a pod is Ready ``m`` (pod-start's lower
    bound) or more after its creation. So with R replicas the last old pod is deleted
    ``(R-2)·(h + m)`` or more after the first new pod is Ready, and its node is removed
    ``(U-1)·I`` later; by then the first new pod's node is back when that is ``A = add_max``
    plus the EndpointSlice and kube-proxy bounds or more."""
    r, b = sc.rollout, sc.settings
    if r.strategy is not Strategy.STATEFUL_SET or r.unavailable != 1 or r.replicas < 2 or sc.drain is not None:
        return None
    lb = b.lb
    step = _exact(sc.old.hook.lo) + _exact(b["pod-start"].lo)
    reach = _back_within(sc)
    last = (r.replicas - 2) * step + _removal_min(lb)
    if last < reach:
        return None
    return Fact("load-balancer", f"a StatefulSet replacing one of {r.replicas} pods at a time cannot leave every node "
                                 f"removed by {lb.name}: the last old pod's node is removed {float(last):g}s or more "
                                 f"after the first new pod is Ready, whose node is back within {float(reach):g}s (holds "
                                 f"for any number of nodes, and for more replicas)")
