"""A counterexample's printed run is simulated again with its trace, keeping only the
violation's node's kube-proxy and load-balancer steps (``simulate(..., focus=)``), and takes
the violation of the untraced run: both must change nothing but memory."""
from __future__ import annotations

from pathlib import Path

import pytest

from zdverify.model.assumptions import settings as make_settings
from zdverify.model.candidates import random_timings
from zdverify.model.kube import build_objects
from zdverify.model.load import load_text
from zdverify.model.pairing import pair
from zdverify.model.scenario import build_scenario
from zdverify.model.simulator.engine import simulate
from zdverify.model.verdict import Component
from zdverify.specs import registry

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ("recommended-local.yaml", "daemonset-local-unavailable.yaml", "no-prestop.yaml",
            "local-spread.yaml", "ip-targets-no-gate.yaml")


@pytest.mark.parametrize("name", EXAMPLES)
def test_traced_focused_runs_have_the_untraced_verdicts_and_only_the_focus_nodes_steps(name: str) -> None:
    import random
    text = (ROOT / "examples" / name).read_text()
    pairs, _ = pair(build_objects(load_text(text, name)))
    sc = build_scenario(pairs[0], 4, make_settings())
    props = registry.load(())
    focus = sc.node_name(1)
    for choices, timing in random_timings(sc, random.Random(7), 6):
        plain = simulate(sc, choices, timing, trace=False)
        full = simulate(sc, choices, timing)
        focused = simulate(sc, choices, timing, focus=focus)
        assert plain.timeline == full.timeline == focused.timeline
        assert [plain.first(p) for p in props] == [focused.first(p) for p in props]
        per_node = (Component.KUBE_PROXY, Component.LOAD_BALANCER)
        assert {s.where for s in focused.steps if s.component in per_node} <= {focus}
        assert any(s.where != focus for s in full.steps if s.component in per_node)  # something was left out
        assert [s for s in full.steps if s.component not in per_node or s.where == focus] == focused.steps
