"""A counterexample's run as plain instants (model/schedule.py, JSON ``schedule``)."""
from __future__ import annotations

import json
from pathlib import Path

from zdverify.api import verify
from zdverify.reports.json_report import render_json

ROOT = Path(__file__).resolve().parents[2]


def test_the_schedule_agrees_with_the_trace(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    report = verify(["examples/recommended-local.yaml"])
    for r in report.results:
        if r.verdict.value != "counterexample":
            assert r.schedule is None
            continue
        s = r.schedule
        by_name = {p.name: p for p in s.pods}
        assert {st.pod for st in r.trace if st.pod} <= set(by_name)
        for step in r.trace:
            pod = by_name.get(step.pod)
            if pod is None:
                continue
            instant = {"sigterm": pod.sigterm, "pod-deleted": pod.deleted, "listener-closed": pod.closed,
                       "app-listening": pod.listening, "ready": pod.ready}.get(step.kind.value)
            if instant is not None:
                assert abs(instant - step.t) < 1e-6, (step, pod)
        for p in s.pods:  # instants in order
            seq = [x for x in (p.deleted, p.sigterm, p.exited) if x is not None]
            assert seq == sorted(seq)
        assert s.load_balancer and {h.node for h in s.load_balancer} == {"node-1", "node-2", "node-3"}
        assert all(0 <= h.phase < 10 for h in s.load_balancer)  # generic: every 10 s
        assert s.applies == tuple(sorted(s.applies, key=lambda a: (a.node, a.t)))
    doc = json.loads(render_json(report))
    cex = [r for r in doc["results"] if r["verdict"] == "counterexample"]
    assert cex and all(set(r["schedule"]) == {"pods", "applies", "load_balancer", "request", "horizon", "nodes",
                                                          "fallback", "violation", "checks", "keep_alive"}
                          for r in cex)
    assert all(r["schedule"]["violation"]["property"] == r["property"] for r in cex)
    assert all(set(h) >= {"initially", "changes"} for r in cex for h in r["schedule"]["load_balancer"])


def test_the_fix_comes_as_data_with_the_same_run_fixed(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    [r] = verify(["examples/no-prestop.yaml"], select=["termination"]).results
    assert [(e.path, e.value, e.replaces) for e in r.fix_edits] == [
        ("spec.template.spec.containers[name=nginx].lifecycle.preStop", {"sleep": {"seconds": 3}}, "")]
    before = {p.name: p for p in r.schedule.pods}
    after = {p.name: p for p in r.fix_schedule.pods}
    pod = r.schedule.violation_pod
    assert after[pod].deleted == before[pod].deleted and after[pod].sigterm == before[pod].deleted + 3
    assert r.fix_schedule.violation_t == r.schedule.violation_t  # the window the replay watches
    local = {x.property.slug: x for x in verify(["examples/recommended-local.yaml"]).results}
    edits = {e.path: e for e in local["termination"].fix_edits}
    assert edits["spec.template.spec.containers[name=nginx].lifecycle.preStop"].replaces == "preStop exec sleep 30s"
    assert "spec.minReadySeconds" in edits and edits["spec.minReadySeconds"].replaces == "0"
    advice = verify(["examples/article-pod.yaml"]).results  # a bare Pod: advice, not data
    assert all(x.fix_edits == () and x.fix_schedule is None for x in advice if x.property.slug == "no-endpoint")


def test_ip_targets_keep_alive_and_fail_open_are_in_the_schedule(monkeypatch) -> None:
    """What an L4 load balancer and pooled clients need: when each pod IP target is sent to,
    whether the profile fails open, what the application does with idle connections."""
    monkeypatch.chdir(ROOT)
    [ip] = verify(["examples/ip-targets-no-gate.yaml"], select=["no-endpoint"]).results
    s = ip.schedule
    assert s.entry_ip and s.violation_node == "load-balancer"
    olds = [p for p in s.pods if p.old]
    news = [p for p in s.pods if not p.old]
    assert all(p.target_in is None and p.target_out is not None for p in olds)  # sent to before the rollout
    assert all(p.target_out is None for p in news)
    # the violation: no target at all while the load balancer waits for a new one
    assert max(p.target_out for p in olds) <= s.violation_t < min(p.target_in or 1e9 for p in news)
    [pooled] = verify(["examples/pooled-clients.yaml"], select=["connection-reuse"]).results
    assert pooled.schedule.keep_alive == ("close-idle", 90.0)
    assert pooled.schedule.violation_property == "connection-reuse"
    [nlb] = verify(["examples/local-no-healthy-node.yaml"], select=["no-healthy-target"]).results
    assert nlb.schedule.fail_open and {h.initially for h in nlb.schedule.load_balancer} == {True, False}
