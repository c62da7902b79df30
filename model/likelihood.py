"""How likely is a counterexample? The share of simulated rollouts that fail.

A counterexample shows that a rollout *can* drop requests; a reviewer also asks whether it
is a routine failure or an edge-of-bounds race. This draws ``runs`` rollouts at random and
replays each in the simulator:

1. Every delay is drawn uniformly within its bound (the same bounds the proof uses), every
   probe and health-check phase uniformly in its period, every node choice and the
   deletion order uniformly among the choices the model allows. This is *not* a measured
   distribution of real clusters: the share is a property of the bounds, for comparing
   counterexamples, not a failure rate to expect.
2. A run fails when the property is violated at some instant of it — requests are taken
   to arrive at every instant, so this is the share of rollouts in which *some* request can
   fail, not the share of requests that fail.
3. The interval is Wilson's 95 % score interval for a binomial share. The draws are seeded
   (``seed``), so the same input gives the same numbers.
4. A simulated run costs about as many pods as the rollout moves: above ``FULL_UP_TO``
   replicas the runs are cut in proportion (never below ``MIN_RUNS``), so that a large
   rollout stays within a few seconds; the count drawn is always reported.
"""
from __future__ import annotations

import math
import random
from zdverify.model.candidates import random_timings
from zdverify.model.scenario import Scenario
from zdverify.model.simulator.engine import simulate
from zdverify.model.verdict import Likelihood, Property

DISTRIBUTION = ("every delay uniform within its bound, every phase uniform in its period, every node choice and "
                "deletion order uniform; not a measured distribution")
_Z95 = 1.959964
FULL_UP_TO = 10  # replicas: up to this many, every requested run
MIN_RUNS = 20


def estimate(sc: Scenario, prop: Property, runs: int, seed: int = 0) -> Likelihood:
    """The share of ``runs`` random rollouts in which ``prop`` is violated."""
    rng = random.Random(seed)
    runs = runs_for(sc.rollout.replicas, runs)
    failed = sum(1 for choices, timing in random_timings(sc, rng, runs, uniform=True)
                 if simulate(sc, choices, timing, trace=False).first(prop) is not None)
    low, high = wilson(failed, runs)
    return Likelihood(failed, runs, low, high, seed, DISTRIBUTION)


def runs_for(replicas: int, requested: int) -> int:
    """How many runs to draw for a rollout of ``replicas`` (deterministic, so reports are)."""
    if replicas <= FULL_UP_TO:
        return requested
    return max(min(MIN_RUNS, requested), requested * FULL_UP_TO // replicas)


def wilson(k: int, n: int) -> tuple[float, float]:
    """Wilson's 95 % score interval for k successes in n trials."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    z2 = _Z95 * _Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = _Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)
