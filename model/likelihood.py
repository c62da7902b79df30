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
5. Runs are drawn in batches of ``BATCH`` and drawing stops once the interval is no wider
   than ``WIDTH`` (±2.5 points; a share near 0 % or 100 % gets there after 75 runs, one
   near 50 % needs the 500 of the default). The stopping point depends only on the draws,
   so it is as deterministic as they are. Stopping on a width (not on the share) keeps the
   interval's meaning, up to the small coverage loss any sequential rule has.
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
BATCH = 25  # runs between looks at the interval
WIDTH = 0.05  # stop once high - low is at most this


def estimate(sc: Scenario, prop: Property, runs: int, seed: int = 0) -> Likelihood:
    """The share of ``runs`` random rollouts in which ``prop`` is violated."""
    rng = random.Random(seed)
    failed = drawn = 0
    for choices, timing in random_timings(sc, rng, runs_for(sc.rollout.replicas, runs), uniform=True):
        drawn += 1
        failed += simulate(sc, choices, timing, trace=False).first(prop) is not None
        if drawn % BATCH == 0 and _narrow(failed, drawn):
            break
    low, high = wilson(failed, drawn)
    return Likelihood(failed, drawn, low, high, seed, DISTRIBUTION)


def _narrow(failed: int, drawn: int) -> bool:
    low, high = wilson(failed, drawn)
    return high - low <= WIDTH


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
    low = 0.0 if k == 0 else max(0.0, centre - half)  # exactly, not a rounding error above the share
    high = 1.0 if k == n else min(1.0, centre + half)
    return low, high
