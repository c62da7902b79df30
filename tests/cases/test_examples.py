"""Golden end-to-end cases: every example's verdicts, causes, trace step kinds and blamed
lines (structure, not prose). Regenerate the goldens with ZDVERIFY_UPDATE_GOLDENS=1.

The EXPECTED table is the pinned, reviewed verdict per example and property — the goldens
add the finer structure and must agree with it.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from example_options import OPTIONS
from zdverify import verify
from zdverify.model.verdict import Report
from zdverify.specs.registry import builtin

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
GOLDENS = Path(__file__).parent / "goldens"

P, C, I = "proved", "counterexample", "inconclusive"
# property order: startup, termination, no-endpoint, killed-in-flight, stalled, no-healthy-target,
# connection-reuse
EXPECTED: dict[tuple[str, str | None], tuple[str, str, str, str, str, str, str]] = {
    ("no-readiness-probe.yaml", None): (C, P, P, P, P, P, P),
    ("no-prestop.yaml", None): (P, C, P, P, P, P, P),
    ("local-without-in-place.yaml", None): (P, C, C, P, P, C, P),
    ("local-without-in-place.yaml", "1.24"): (P, P, C, P, P, C, P),
    ("recommended-cluster.yaml", None): (P, P, P, P, P, P, P),
    ("recommended-local.yaml", None): (P, C, C, P, P, C, P),
    ("local-fail-readiness.yaml", None): (P, P, P, P, P, P, P),
    ("article-pod.yaml", None): (P, C, C, P, P, P, P),
    ("ip-targets-gate.yaml", None): (P, C, P, P, P, P, P),
    ("ip-targets-no-gate.yaml", None): (P, P, C, P, P, C, P),  # the empty target group, both ways
    ("ip-targets-long-prestop.yaml", None): (P, P, P, P, P, P, P),
    ("daemonset-local-surge.yaml", None): (P, P, P, P, P, P, P),
    ("daemonset-hostport-surge.yaml", None): (P, P, P, P, C, P, P),  # the surge pod waits for the hostPort
    # no healthy node: every node must be out long enough to be removed, one after the other,
    # and the last removed before the first is back — 38 s or more against less than 38 s
    # once the EndpointSlice writes keep their order (rotation_bound; was inconclusive)
    ("daemonset-local-unavailable.yaml", None): (P, C, C, P, P, P, P),
    ("local-preferred-anti-affinity.yaml", None): (P, C, C, P, P, C, P),
    ("local-spread.yaml", None): (P, C, C, P, P, P, P),
    ("local-spread-per-revision.yaml", None): (P, P, P, P, P, P, P),
    ("local-spread-max-unavailable.yaml", None): (P, C, C, P, P, P, P),
    ("statefulset-single-replica.yaml", None): (P, C, C, P, P, P, P),
    ("statefulset-three-replicas.yaml", None): (P, P, P, P, P, P, P),
    ("statefulset-max-unavailable.yaml", None): (P, P, P, P, P, P, P),  # the field needs the 1.35 gate
    ("statefulset-max-unavailable.yaml", "1.35"): (P, C, C, P, P, P, P),
    ("statefulset-drain.yaml", None): (P, C, C, P, P, P, P),
    ("statefulset-drain-budget.yaml", None): (P, P, P, P, P, P, P),
    ("local-no-healthy-node.yaml", None): (P, P, C, P, P, C, P),  # no node healthy: the NLB fails open
    ("sidecar-without-prestop.yaml", None): (P, P, C, P, P, P, P),  # the sidecar exits at SIGTERM: not Ready
    ("haproxy-cadence.yaml", None): (P, C, C, P, P, P, P),  # checks drift: after-answer cadence
    ("pooled-clients.yaml", None): (P, P, P, P, P, P, C),  # pooled connections closed at SIGTERM
    ("killed-in-flight.yaml", None): (P, P, P, C, P, P, P),
    # the incident corpus (flags in example_options.py, stories in the README)
    ("incident-k8s-85643.yaml", None): (P, C, C, P, P, P, P),
    ("incident-k8s-85643-fixed.yaml", None): (P, C, P, P, P, P, P),
    ("incident-k8s-85643-one-per-node.yaml", None): (P, P, P, P, P, P, P),
    ("incident-k8s-99299.yaml", None): (P, C, C, P, P, C, P),
    ("incident-k8s-50977.yaml", None): (P, P, C, P, P, C, P),
    ("incident-ingress-gce-769.yaml", None): (P, C, P, P, P, P, P),
    ("incident-ingress-gce-769-fixed.yaml", None): (P, P, P, P, P, P, P),
    ("incident-k8s-116891.yaml", None): (P, P, P, P, C, P, P),
    ("incident-k8s-116891-fixed.yaml", None): (C, C, P, P, P, P, P),
}


def structure(report: Report) -> list[dict]:
    return [{
        "property": r.property.value,
        "verdict": r.verdict.value,
        "cause": r.cause.value if r.cause else None,
        "steps": [s.kind.value for s in r.trace],
        "blame": [[Path(b.loc.file).name, b.loc.line] for b in r.blame],
        "source_lines": sorted({s.source.line for s in r.trace if s.source}),
        "discouraged": [[Path(b.loc.file).name, b.loc.line] for b in r.discouraged],
    } for r in report.results]


@pytest.mark.parametrize("name,version", sorted(EXPECTED, key=str))
def test_example(name: str, version: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # option paths are relative to the repository
    options = dict(OPTIONS.get(name, {}))
    if version:
        options["k8s_version"] = version
    report = verify([str(EXAMPLES / name)], **options)
    got = structure(report)
    assert tuple(r["verdict"] for r in got) == EXPECTED[(name, version)]
    for r in got:
        assert (r["cause"] is None) == (r["verdict"] != C)
        if r["verdict"] == C:
            assert r["cause"] == r["property"]
            assert r["steps"].count("violation") == 1
            assert r["blame"], "a counterexample must blame a manifest line"
    golden = GOLDENS / f"{name.removesuffix('.yaml')}{'-' + version if version else ''}.json"
    if os.environ.get("ZDVERIFY_UPDATE_GOLDENS"):
        golden.write_text(json.dumps(got, indent=1) + "\n")
    assert got == json.loads(golden.read_text())


def test_every_example_is_pinned() -> None:
    names = {p.name for p in EXAMPLES.glob("*.yaml")}
    assert names == {n for n, _ in EXPECTED}


def test_every_builtin_property_fires_in_an_example() -> None:
    """kube-linter style: each built-in property has an example where it finds a
    counterexample (the pinned verdicts, which the goldens hold by property name), so that
    none of them can go quiet unnoticed."""
    fired = {r["property"] for g in GOLDENS.glob("*.json") for r in json.loads(g.read_text())
             if r["verdict"] == C}
    assert fired >= {p.value for p in builtin()}, f"never fires: {sorted({p.value for p in builtin()} - fired)}"
    order = [p.value for p in builtin()]  # the EXPECTED tuples' order
    pinned = {order[i] for verdicts in EXPECTED.values() for i, v in enumerate(verdicts) if v == C}
    assert pinned == set(order)


def test_the_killed_in_flight_fix_is_suggested_and_proved(tmp_path: Path) -> None:
    """The suggested grace period covers preStop + close + the longest request (the
    annotation's 120 s); applied to the manifest, every property is proved."""
    name = "killed-in-flight.yaml"
    report = verify([str(EXAMPLES / name)])
    killed = next(r for r in report.results if r.property.slug == "killed-in-flight")
    assert killed.verdict.value == C
    assert killed.fix.startswith("terminationGracePeriodSeconds: 136 ")
    text = (EXAMPLES / name).read_text()
    old = "terminationGracePeriodSeconds: 60\n"
    assert text.count(old) == 1
    fixed = tmp_path / name
    fixed.write_text(text.replace(old, "terminationGracePeriodSeconds: 136\n"))
    assert all(r.verdict.value == P for r in verify([str(fixed)]).results)


def test_the_no_healthy_target_fix_is_suggested_and_proved(tmp_path: Path) -> None:
    """A Local load balancer that finds no node healthy (issue F, item 1): the suggested
    minReadySeconds is the smallest that is proved — applied, every property is proved;
    one second less still has a window, on both sides (the checker's candidate replays)."""
    name = "local-no-healthy-node.yaml"
    report = verify([str(EXAMPLES / name)])
    nh = next(r for r in report.results if r.property.slug == "no-healthy-target")
    assert nh.verdict.value == C
    assert nh.fix.startswith("spec.minReadySeconds: 19 ")
    assert [b.field for b in nh.blame] == ["spec.externalTrafficPolicy", "spec.minReadySeconds"]
    text = (EXAMPLES / name).read_text()
    old = "  replicas: 1\n"
    assert text.count(old) == 1
    for seconds, verdict in ((19, P), (18, C)):
        fixed = tmp_path / f"{seconds}-{name}"
        fixed.write_text(text.replace(old, f"{old}  minReadySeconds: {seconds}\n"))
        got = {r.property.slug: r.verdict.value for r in verify([str(fixed)]).results}
        assert got["no-healthy-target"] == verdict and got["no-endpoint"] == verdict, got


def test_the_sidecar_fix_is_suggested_and_proved(tmp_path: Path) -> None:
    """A container without preStop beside the serving one (issue F, item 3): blamed by name,
    the fix gives it the same preStop, and applied, every property is proved."""
    name = "sidecar-without-prestop.yaml"
    report = verify([str(EXAMPLES / name)])
    ne = next(r for r in report.results if r.property.slug == "no-endpoint")
    assert ne.verdict.value == C
    assert any(b.field == "containers[log-shipper].lifecycle.preStop" for b in ne.blame)
    assert ne.fix.startswith("in container 'log-shipper': the same preStop as 'web'")
    assert any(s.kind.value == "side-container-exited" for s in ne.trace)
    text = (EXAMPLES / name).read_text()
    old = "          image: fluent/fluent-bit:3.1\n"
    assert text.count(old) == 1
    fixed = tmp_path / name
    fixed.write_text(text.replace(old, old + "          lifecycle:\n            preStop:\n              sleep:\n"
                                            "                seconds: 60\n"))
    assert all(r.verdict.value == P for r in verify([str(fixed)]).results)


def test_a_proof_resting_on_fixed_rate_checks_does_not_hold_for_haproxy(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Health-check cadence (issue F, item 2): the same manifest and load balancer is proved
    with checks at a fixed rate and not with haproxy's (next check after the previous
    answer); the suggested preStop is proved with haproxy's."""
    monkeypatch.chdir(ROOT)
    name, cluster = "haproxy-cadence.yaml", ROOT / "examples/clusters/haproxy-1-34.yaml"
    fixed_rate = tmp_path / "fixed-rate.yaml"
    fixed_rate.write_text(cluster.read_text().replace("cadence: after-answer", "cadence: fixed-rate"))
    assert all(r.verdict.value == P for r in verify([str(EXAMPLES / name)], cluster=str(fixed_rate)).results)
    after = {r.property.slug: r for r in verify([str(EXAMPLES / name)], cluster=str(cluster)).results}
    assert after["termination"].verdict.value == C
    assert "seconds: 17" in after["termination"].fix
    text = (EXAMPLES / name).read_text()
    assert text.count("seconds: 15\n") == 1
    fixed = tmp_path / name
    fixed.write_text(text.replace("seconds: 15\n", "seconds: 17\n"))
    assert all(r.verdict.value == P for r in verify([str(fixed)], cluster=str(cluster)).results)


def test_a_native_sidecar_stops_after_the_main_container(tmp_path: Path) -> None:
    """The same log-shipper as a native sidecar (an init container with restartPolicy:
    Always) stops after the web container: every property is proved. Before 1.29 the field
    is dropped (the init container would have to finish first): a located input error."""
    text = (EXAMPLES / "sidecar-without-prestop.yaml").read_text()
    shipper = "        - name: log-shipper\n          image: fluent/fluent-bit:3.1\n"
    assert text.count(shipper) == 1
    native = text.replace(shipper, "").replace(
        "      containers:\n", "      initContainers:\n" + shipper + "          restartPolicy: Always\n"
        "      containers:\n")
    path = tmp_path / "native.yaml"
    path.write_text(native)
    assert all(r.verdict.value == P for r in verify([str(path)]).results)
    old = path.read_text().replace("              sleep:\n                seconds: 60\n",
                                   "              exec:\n                command: [sleep, \"60\"]\n")
    path.write_text(old)
    [error] = verify([str(path)], k8s_version="1.28").errors
    assert "restartPolicy: Always (a native sidecar) needs Kubernetes 1.29" in error.message
    assert error.loc is not None and error.loc.line == old.splitlines().index("        - name: log-shipper") + 1


def test_the_pooled_clients_fix_is_suggested_and_proved(tmp_path: Path) -> None:
    """Pooled clients (issue F, item 5): the suggested annotations and grace period, applied,
    prove every property; a drain shorter than the clients' idle timeout does not."""
    name = "pooled-clients.yaml"
    report = verify([str(EXAMPLES / name)])
    pooled = next(r for r in report.results if r.property.slug == "connection-reuse")
    assert pooled.verdict.value == C and pooled.blame[0].field == "metadata.annotations.zdverify/keep-alive"
    assert 'connection-close, client-idle-timeout 90s' in pooled.fix and 'drain 95s' in pooled.fix
    assert "terminationGracePeriodSeconds: 108" in pooled.fix
    text = (EXAMPLES / name).read_text()
    old = '    zdverify/keep-alive: "close-idle, client-idle-timeout 90s"\n'
    assert text.count(old) == 1 and text.count("terminationGracePeriodSeconds: 30\n") == 1
    for drain, verdict in (("95s", P), ("80s", C)):
        fixed = tmp_path / f"{drain}-{name}"
        fixed.write_text(text.replace(old, '    zdverify/keep-alive: "connection-close, client-idle-timeout 90s"\n'
                                           f'    zdverify/on-sigterm: "drain {drain}"\n')
                         .replace("terminationGracePeriodSeconds: 30\n", "terminationGracePeriodSeconds: 108\n"))
        got = {r.property.slug: r.verdict.value for r in verify([str(fixed)]).results}
        assert got["connection-reuse"] == verdict and all(v == P for k, v in got.items() if k != "connection-reuse")


def test_adding_a_prestop_protects_only_the_next_rollout() -> None:
    """--from: the rollout that introduces the preStop hook still deletes pods that run the
    old template without it; the rollout after that is proved."""
    first = verify([str(EXAMPLES / "recommended-cluster.yaml")], previous=[str(EXAMPLES / "no-prestop.yaml")])
    verdicts = {r.property.value: r for r in first.results}
    term = verdicts["termination"]
    assert term.verdict.value == C
    assert {Path(b.loc.file).name for b in term.blame} == {"no-prestop.yaml"}  # the old template is to blame
    assert "protects only the next rollout" in term.fix
    assert verdicts["startup"].verdict.value == P  # new pods have the readiness probe
    second = verify([str(EXAMPLES / "recommended-cluster.yaml")], previous=[str(EXAMPLES / "recommended-cluster.yaml")])
    assert all(r.verdict.value == P for r in second.results)


@pytest.mark.parametrize("name, change, old, new", [
    ("local-spread-max-unavailable.yaml", "set maxUnavailable: 0 (line 22)", "maxUnavailable: 25%", "maxUnavailable: 0"),
    ("local-spread.yaml", "add matchLabelKeys: [pod-template-hash] to the topologySpreadConstraints entry at line 28",
     "            app: web\n", "            app: web\n        matchLabelKeys:\n        - pod-template-hash\n"),
])
def test_a_local_spread_fix_that_keeps_every_node_is_suggested_and_proved(name: str, change: str, old: str, new: str,
                                                                           tmp_path: Path) -> None:
    """The counterexample's fix names the change the per-node exploration says keeps a Ready
    pod on every node; applied to the manifest, every property is proved."""
    report = verify([str(EXAMPLES / name)])
    for r in report.results:
        if r.verdict.value == C:
            assert f"(or {change}:" in r.fix
    text = (EXAMPLES / name).read_text()
    assert text.count(old) == 1
    fixed = tmp_path / name
    fixed.write_text(text.replace(old, new))
    assert all(r.verdict.value == P for r in verify([str(fixed)]).results)
