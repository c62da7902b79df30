"""How likely is a counterexample (model/likelihood.py): the share of random rollouts that fail."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from zdverify.api import verify
from zdverify.model.likelihood import BATCH, MIN_RUNS, WIDTH, runs_for, wilson
from zdverify.reports.json_report import render_json
from zdverify.reports.text import render_text

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("k,n,low,high", [(0, 100, 0.0, 0.037), (50, 100, 0.404, 0.596), (100, 100, 0.963, 1.0)])
def test_wilson_interval(k: int, n: int, low: float, high: float) -> None:
    lo, hi = wilson(k, n)
    assert lo == pytest.approx(low, abs=1e-3) and hi == pytest.approx(high, abs=1e-3)


def test_large_rollouts_draw_fewer_runs_deterministically() -> None:
    assert runs_for(3, 500) == 500 and runs_for(100, 500) == 50 and runs_for(10_000, 500) == MIN_RUNS


def test_every_counterexample_says_how_likely_it_is_the_same_each_time(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    first = verify(["examples/recommended-local.yaml"], likelihood_runs=200)
    again = verify(["examples/recommended-local.yaml"], likelihood_runs=200)
    found = {r.property.slug: r.likelihood for r in first.results if r.verdict.value == "counterexample"}
    assert found and all(x is not None and x.runs <= 200 for x in found.values())
    assert all(x.runs == 200 or x.high - x.low <= WIDTH for x in found.values())  # all drawn, or stopped narrow
    assert found == {r.property.slug: r.likelihood for r in again.results if r.verdict.value == "counterexample"}
    assert 0 < found["termination"].failed < 200  # neither routine nor impossible under these bounds
    assert all(x.low <= x.share <= x.high for x in found.values())
    assert all(r.likelihood is None for r in first.results if r.verdict.value != "counterexample")
    doc = json.loads(render_json(first))
    [term] = [r for r in doc["results"] if r["property"] == "termination"]
    assert term["likelihood"]["runs"] == found["termination"].runs and "not a measured distribution" in term["likelihood"]["distribution"]
    assert "how likely: fails in" in render_text(first)
    off = verify(["examples/recommended-local.yaml"], select=["termination"])
    assert off.results[0].likelihood is None  # the API's default is none; the CLI's is 200


def test_a_counterexample_every_rollout_meets_is_routine_and_stops_early(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    [r] = verify(["examples/no-prestop.yaml"], select=["termination"], likelihood_runs=500).results
    # every run fails: the interval is narrow enough (<= WIDTH) after three batches, not 500 runs
    assert r.likelihood.failed == r.likelihood.runs == 3 * BATCH
    assert r.likelihood.high - r.likelihood.low <= WIDTH < wilson(2 * BATCH, 2 * BATCH)[1] - wilson(2 * BATCH, 2 * BATCH)[0]
    assert r.likelihood.text.startswith("fails in 100% of 75 simulated rollouts")
    [few] = verify(["examples/no-prestop.yaml"], select=["termination"], likelihood_runs=30).results
    assert few.likelihood.runs == 30  # the requested count is a ceiling
