"""What ``zdverify replay`` builds from a schedule, without building it (zdverify/replay.py,
zdverify/dataplane.py): the load balancer and client modes, the L4 load balancer's targets
over time, and its rules."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from zdverify.api import verify
from zdverify.dataplane import LB_VIP, NODE_PORT, POD_PORT, DataPlaneError, lb_rules, node_ip, pod_ip
from zdverify.replay import _lb_targets, modes
from zdverify.reports.json_report import render_json

ROOT = Path(__file__).resolve().parents[2]


def _schedule(example: str, prop: str) -> dict:
    doc = json.loads(render_json(verify([str(ROOT / "examples" / example)], select=[prop])))
    return next(r["schedule"] for r in doc["results"] if r["verdict"] == "counterexample")


def test_modes_follow_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("zdverify.replay.shutil.which", lambda tool: "/usr/sbin/" + tool)
    nlb = _schedule("local-no-healthy-node.yaml", "no-healthy-target")
    assert modes(nlb).lb == "l4"  # haproxy does not fail open
    assert modes(nlb, lb="haproxy").lb == "haproxy"  # asked for: built, not the run's load balancer
    local = _schedule("recommended-local.yaml", "termination")
    assert modes(local) == modes(local, "auto", "new") and modes(local).lb == "haproxy"
    assert modes(_schedule("no-prestop.yaml", "termination")).lb == "direct"
    assert modes(_schedule("pooled-clients.yaml", "connection-reuse")).client == "pooled"
    ip = _schedule("ip-targets-no-gate.yaml", "no-endpoint")
    assert modes(ip).lb == "l4"
    with pytest.raises(DataPlaneError, match="pod IPs"):
        modes(ip, lb="haproxy")
    monkeypatch.setattr("zdverify.replay.shutil.which", lambda tool: None)
    assert modes(local).lb == "l4"
    with pytest.raises(DataPlaneError, match="needs haproxy"):
        modes(local, lb="haproxy")


def test_the_l4_load_balancer_fails_open_when_no_node_is_healthy() -> None:
    s = _schedule("local-no-healthy-node.yaml", "no-healthy-target")
    every = [(node_ip(i), NODE_PORT) for i in range(len(s["nodes"]))]
    events = _lb_targets(s, 0.0, s["horizon"])
    assert events[0][0] == 0.0 and all(a[0] < b[0] for a, b in zip(events, events[1:]))
    v = s["violation"]
    at = [targets for t, targets in events if t <= v["t"]][-1]  # during the violation
    assert at == every  # no node healthy: the NLB sends to all of them
    healthy = {h["node"] for h in s["load_balancer"] if h["initially"]}
    assert events[0][1] == sorted((node_ip(s["nodes"].index(n)), NODE_PORT) for n in healthy)
    s["checks"]["fail_open"] = False
    closed = _lb_targets(s, 0.0, s["horizon"])
    assert [targets for t, targets in closed if t <= v["t"]][-1] == []


def test_the_l4_load_balancer_sends_to_pod_ips_while_their_targets_are_healthy() -> None:
    s = _schedule("ip-targets-no-gate.yaml", "no-endpoint")
    events = _lb_targets(s, 0.0, s["horizon"])
    olds = [(pod_ip(j), POD_PORT) for j, p in enumerate(s["pods"]) if p["old"]]
    assert events[0] == (0.0, sorted(olds))
    v = s["violation"]
    assert [targets for t, targets in events if t <= v["t"]][-1] == []  # the violation: no target
    assert events[-1][1] and all(x not in olds for x in events[-1][1])  # in the end: the new pods


def test_lb_rules_spread_over_targets_and_reset_without_one() -> None:
    text = lb_rules([("10.0.0.1", 1), ("10.0.0.2", 2)])
    assert f"-A OUTPUT -d {LB_VIP}/32 -p tcp --dport 80 -j ZDV-LB" in text
    assert "--probability 0.50000 -p tcp -j DNAT --to-destination 10.0.0.1:1" in text
    assert "-A ZDV-LB -p tcp -j DNAT --to-destination 10.0.0.2:2" in text and "REJECT" not in text
    assert "REJECT --reject-with tcp-reset" in lb_rules([])


def test_a_short_window_gets_more_connections() -> None:
    from zdverify.replay import Modes, auto_period
    s = _schedule("no-prestop.yaml", "termination")
    s["violation"]["t"], s["violation"]["end"] = 10.0, 20.0
    assert auto_period(s, Modes("direct", "new"), 1.0) == 0.02
    s["violation"]["end"] = 10.25  # 0.25 s, three nodes behind a load balancer, twice the speed
    assert auto_period(s, Modes("l4", "new"), 0.5) == pytest.approx(0.125 / 30)
    s["violation"]["end"] = 10.001
    assert auto_period(s, Modes("direct", "new"), 1.0) == 0.002
