"""Complete runs that follow a per-node witness (``deployment.NodeWitness``).

For Local traffic, Z3 decides the timing of the few pods a query names, and the layout of
the other pods is left to ``candidates.witnesses``: the followed pod on the observed node,
every other pod elsewhere. Placement rules (a DoNotSchedule spread) often forbid that
layout, and then no candidate replays although the per-node exploration has found how a
node loses its last Ready pod. This module turns that run of the exploration into the
simulator's inputs: the old pods' nodes, each new pod's node and binding time, the
deletion tie-breaks, each controller trigger's delay and each new pod's start-up delay, so
that the simulator's run takes the same steps in the same order. The simulator still
judges: a run is printed only if it replays the violation.

Simplifications (the runs are candidates, not claims):
 1. Steps of one controller burst are a millisecond apart; a pod turns available no
    sooner than its start-up allows (``pod-start`` low bound and the probe's offset,
    measured once with the simulator), at the same instant as others if need be (a sync
    counts the pods available at its instant) — a witness that needs it sooner is
    followed as closely as the bounds allow (a sync at most ``controller`` after its
    trigger), and may then not replay.
 2. New pods the witness never makes available start as late as the bounds allow;
    pods it leaves unbound are bound when it is over, away from the emptied node when the
    filters allow.
 3. Terminating pods going away (node room caps) are not timed to the witness.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace

from zdverify.model.checker.graph import reconcile
from zdverify.model.checker.node_exploration import NodeEvent, NodeStep, NodeWitness
from zdverify.model.rollout import RolloutState
from zdverify.model.scenario import Scenario
from zdverify.model.run import Choices, NewTiming, OldTiming, Timing
from zdverify.model.simulator.engine import simulate

_EPS = 1e-3  # between the steps of one controller burst


def _start_offset(sc: Scenario) -> float | None:
    """Container start -> available for a new pod that listens at once (probe phases 0),
    measured with the simulator; None if such a pod never turns available."""
    lo = sc.settings["pod-start"].lo
    one = replace(sc, rollout=replace(sc.rollout, replicas=1, surge=1, unavailable=0))  # the pod spec is what counts
    run = simulate(one, Choices(), Timing(default_new=NewTiming(start=lo)))
    assert run.timeline is not None
    pod = next((p for p in run.timeline.pods if not p.old), None)
    if pod is None or pod.ready == float("inf"):
        return None
    return pod.ready - pod.created - lo + sc.min_ready


def _initial(sc: Scenario, w: NodeWitness) -> tuple[tuple[int, ...], dict[int, list[int]]]:
    """Old pods placed one at a time on the node with the fewest so far that still takes
    some (an order every spread and cap accepts for a placement they allow); the choice
    indexes the feasible nodes."""
    left = dict(zip(sc.placement.feasible, w.initial))
    placed = {n: 0 for n in left}
    order: list[int] = []
    for _ in range(sum(w.initial)):
        n = min((n for n in left if left[n]), key=lambda n: (placed[n], n))
        left[n] -= 1
        placed[n] += 1
        order.append(n)
    on: dict[int, list[int]] = {}
    for i, n in enumerate(order):
        on.setdefault(n, []).append(i)
    return tuple(sc.feasible.index(n) for n in order), on


@dataclass
class _Walk:
    """The witness's run followed event by event: the simulator's inputs it takes so far."""

    sc: Scenario
    offset: float  # container start -> available (``_start_offset``)
    old_on: dict[int, list[int]]  # per node: its old pods, in the order the ReplicaSet deletes them
    old: int
    new: int = 0
    available: int = 0
    now: float = 0.0
    # the rollout-start trigger, then one follow-up per action
    ctrl: list[float] = field(default_factory=lambda: [0.0])
    react: dict[int, float] = field(default_factory=dict)  # per bound pod (react triggers: in binding order)
    # the trigger the next action answers: (a follow-up, else a pod's react trigger; its index; since)
    pending: tuple[bool, int, float] | None = (True, 0, 0.0)
    created: list[float] = field(default_factory=list)
    bound: dict[int, float] = field(default_factory=dict)
    node_of: dict[int, int] = field(default_factory=dict)
    avail: dict[int, float] = field(default_factory=dict)
    binding: list[int] = field(default_factory=list)
    unbound: deque[int] = field(default_factory=deque)
    waiting: dict[int, deque[int]] = field(default_factory=dict)  # per node: its bound new pods not available yet
    safe: set[int] = field(default_factory=set)  # nodes with an available new pod
    deletion: list[int] = field(default_factory=list)

    def enabled(self) -> bool:
        return reconcile(self.sc.rollout, RolloutState(self.old, self.new, self.available)) is not None

    def answer(self, t: float) -> None:
        """The pending trigger fires at ``t`` and the sync acts."""
        assert self.pending is not None
        ctl = self.sc.settings["controller"]
        follow, i, since = self.pending
        delay = min(max(t - since, ctl.lo), ctl.hi)
        if follow:
            self.ctrl[i] = delay
        else:
            self.react[i] = delay
        self.pending = None

    def follow_up(self, t: float) -> None:
        """An action's follow-up trigger: it answers the next action if the controller has
        more to do at once, and otherwise fires into a state with nothing to do."""
        self.ctrl.append(self.sc.settings["controller"].lo)
        if self.enabled():
            self.pending = (True, len(self.ctrl) - 1, t)

    def follow(self, e: NodeEvent) -> None:
        """One event of the witness."""
        if e.kind in (NodeStep.SCALE_UP, NodeStep.SCALE_DOWN):
            self.now = self.now + _EPS if self.created or self.deletion else self.now
            if self.pending is not None:
                self.answer(self.now)
            if e.kind is NodeStep.SCALE_UP:
                for _ in range(e.count):
                    self.unbound.append(len(self.created))
                    self.created.append(self.now)
                self.new += e.count
            else:
                for j, d in enumerate(e.picks):
                    for _ in range(d):
                        self.deletion.append(self.old_on[self.sc.placement.feasible[j]].pop(0))
                self.old -= sum(e.picks)
            self.follow_up(self.now)
        elif e.kind is NodeStep.BIND:
            self.now += _EPS
            i = self.unbound.popleft()
            self.bound[i], self.node_of[i] = self.now, e.node
            self.react[i] = self.sc.settings["controller"].lo
            self.binding.append(i)
            self.waiting.setdefault(e.node, deque()).append(i)
        elif e.kind is NodeStep.AVAILABLE:
            self._available(e.node)
        # NodeStep.GONE: not timed (simplification 3)

    def _available(self, node: int) -> None:
        waiting = self.waiting
        if node >= 0:
            i = waiting[node].popleft()
        else:  # any new pod still starting on a node that has an available one
            i = min((q[0] for n, q in waiting.items() if q and n in self.safe), key=lambda x: self.bound[x])
            waiting[self.node_of[i]].popleft()
        self.safe.add(self.node_of[i])
        start = self.sc.settings["pod-start"]
        self.now = max(self.now, self.created[i] + start.lo + self.offset, self.bound[i] + self.offset + _EPS)
        self.avail[i] = self.now
        self.available += 1
        if self.pending is None and self.enabled():
            self.pending = (False, i, self.now)


def guided_runs(sc: Scenario, w: NodeWitness) -> list[tuple[Choices, Timing]]:
    """Candidates that follow ``w``: old pods' termination at the defaults, then the emptied
    node's last old pod fast or slow to leave the rules."""
    if sc.feasible != sc.placement.feasible or not w.events:
        return []
    offset = _start_offset(sc)
    if offset is None:
        return []
    initial, old_on = _initial(sc, w)
    walk = _Walk(sc, offset, old_on, sc.rollout.replicas)
    for e in w.events:
        walk.follow(e)
    choices, timing = _inputs(sc, w, walk, initial)
    # the emptied node's last old pod: at the defaults it leaves the rules at once
    # (no-endpoint); slow to leave them (termination)
    out = [(choices, timing)]
    if walk.deletion:
        b = sc.settings
        slow_out = OldTiming(eps_del=b["endpointslice"].hi, eps_unready=b["endpointslice"].hi,
                             proxy_del=(b["kube-proxy"].hi,) * sc.nodes, proxy_unready=(b["kube-proxy"].hi,) * sc.nodes)
        olds = [OldTiming()] * sc.rollout.replicas
        olds[walk.deletion[-1]] = slow_out
        out.append((choices, replace(timing, old=tuple(olds))))
    return out


def _inputs(sc: Scenario, w: NodeWitness, walk: _Walk, initial: tuple[int, ...]) -> tuple[Choices, Timing]:
    """The simulator's inputs for the followed run."""
    b = sc.settings
    ctl, start, rollout = b["controller"], b["pod-start"], sc.rollout
    others = [i for i, n in enumerate(sc.feasible) if n != w.empty] or [0]
    created, bound, now = walk.created, walk.bound, walk.now
    # the react triggers are numbered in binding order; unbound pods bind next, in order
    rest = list(walk.unbound)
    order = walk.binding + rest
    reacts = tuple(walk.react.get(i, ctl.lo) for i in order)
    n_new = max(len(created), rollout.replicas) + rollout.surge + 1
    placement = [others[i % len(others)] for i in range(n_new)]
    news: list[NewTiming] = []
    slow = NewTiming(start=start.hi, app=b["app-startup"].hi, ready_phase=0.999, startup_phase=0.999,
                     eps=b["endpointslice"].hi, proxy=(b["kube-proxy"].hi,) * sc.nodes)
    for i in range(n_new):
        if i in walk.node_of:
            placement[i] = sc.feasible.index(walk.node_of[i])
        if i in walk.avail:
            news.append(NewTiming(start=walk.avail[i] - walk.offset - created[i], schedule=bound[i] - created[i]))
        elif i in bound:
            news.append(replace(slow, schedule=bound[i] - created[i]))
        else:  # bound once the witness is over, so it changes no ranking in it
            news.append(replace(slow, schedule=max(_EPS, now + _EPS - created[i]) if i < len(created) else _EPS))
    choices = Choices(initial=initial, placement=tuple(placement),
                      deletion=tuple(dict.fromkeys(walk.deletion + list(range(rollout.replicas)))))
    return choices, Timing(ctrl=tuple(walk.ctrl), react=reacts, new=tuple(news), default_new=slow)
