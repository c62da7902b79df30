"""A DaemonSet's facts without its graph (``graph.daemon_facts``, used past the state budget)
against the full graph on every small size."""
from __future__ import annotations

import pytest

from zdverify.model.checker.graph import daemon_facts, facts
from zdverify.model.objects import Strategy
from zdverify.model.rollout import Rollout


@pytest.mark.parametrize("nodes", range(1, 8))
def test_the_closed_forms_match_the_graph(nodes: int) -> None:
    shapes = [(0, k) for k in range(1, nodes + 1)] + [(s, 0) for s in range(1, nodes + 1)] + [(1, 1)]
    for surge, unavailable in shapes:
        rollout = Rollout(nodes, Strategy.DAEMON_SET, surge, unavailable)
        full, closed = facts(rollout, max_states=10**6), daemon_facts(rollout)
        assert not full.reduced
        got = (closed.zero_ready, closed.deletes, closed.always_completes, closed.pending, closed.starts)
        assert got == (full.zero_ready, full.deletes, full.always_completes, full.pending, full.starts), \
            (nodes, surge, unavailable)


def test_past_the_budget_the_closed_forms_answer() -> None:
    big = facts(Rollout(100, Strategy.DAEMON_SET, 0, 25))
    assert big.reduced and not big.zero_ready and big.always_completes
    assert facts(Rollout(100, Strategy.DAEMON_SET, 0, 100)).zero_ready
