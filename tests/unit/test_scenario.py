"""Manifest fields -> model parameters (model/scenario.py), against k8s-semantics.md §1–§5."""
from __future__ import annotations

import pytest

from zdverify.model.assumptions import settings
from zdverify.model.kube import build_objects
from zdverify.model.load import load_text
from zdverify.model.objects import Container, ContainerPort, HandlerKind, Hook, Probe, Strategy
from zdverify.model.pairing import pair
from zdverify.model.scenario import (
    NO_HOOK,
    Entry,
    EntrySpec,
    build_scenario,
    entries_of,
    exec_hook_commands,
    hook_spec,
    probe_spec,
)
from zdverify.model.source import InputError

S = settings()


def deployment(replicas: int = 3, strategy: str = "", container: str = "", grace: int = 30,
               extra_spec: str = "") -> str:
    container = container or "        ports: [{name: http, containerPort: 8080}]\n"
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
        f"  replicas: {replicas}\n  selector: {{matchLabels: {{app: web}}}}\n" + strategy + extra_spec +
        "  template:\n    metadata: {labels: {app: web}}\n    spec:\n"
        f"      terminationGracePeriodSeconds: {grace}\n      containers:\n"
        "      - name: web\n        image: nginx\n" + container)


def service(svc_type: str = "ClusterIP", etp: str = "", itp: str = "", target: str = "8080") -> str:
    return (
        "---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n"
        f"  type: {svc_type}\n" + (f"  externalTrafficPolicy: {etp}\n" if etp else "") +
        (f"  internalTrafficPolicy: {itp}\n" if itp else "") +
        f"  selector: {{app: web}}\n  ports: [{{port: 80, targetPort: {target}}}]\n")


def first_pair(text: str):
    pairs, _ = pair(build_objects(load_text(text, "t.yaml")))
    assert pairs, "nothing paired"
    return pairs[0]


def scenario(text: str, nodes: int = 2, version: str | None = None):
    return build_scenario(first_pair(text), nodes, settings(k8s_version=version))


def exec_hook(*command: str) -> Hook:
    return Hook(HandlerKind.EXEC, command=tuple(command))


# ------------------------------------------------------------------- preStop (§2.2–§2.4)


@pytest.mark.parametrize("command,expected", [
    (("sleep", "30"), [["sleep", "30"]]),
    (("/bin/sleep", "5"), [["/bin/sleep", "5"]]),
    (("sh", "-c", "sleep 5"), [["sleep", "5"]]),
    (("/bin/sh", "-c", "sleep 5 && nginx -s quit"), [["sleep", "5"], ["nginx", "-s", "quit"]]),
    (("bash", "-c", "sleep 2; kill 1"), [["sleep", "2"], ["kill", "1"]]),
    (("nginx", "-s", "quit"), [["nginx", "-s", "quit"]]),
])
def test_exec_hook_commands(command, expected) -> None:
    """§2.3 exec hooks run a command in the container; ``sh -c`` scripts are unwrapped."""
    assert exec_hook_commands(command) == expected


@pytest.mark.parametrize("command,seconds", [
    (("sleep", "30"), 30.0),
    (("/bin/sleep", "5"), 5.0),
    (("sh", "-c", "sleep 5"), 5.0),
    (("sleep", "1m"), 60.0),
    (("sleep", "2s"), 2.0),
    (("sleep", "0.5"), 0.5),
])
def test_exec_sleep_is_exact(command, seconds) -> None:
    """§2.2: a synchronous preStop sleep delays SIGTERM by exactly its length (within grace);
    coreutils/busybox ``sleep`` takes s/m/h suffixes (``sleep 1m`` = 60 s)."""
    h = hook_spec(exec_hook(*command), 90, S)
    assert (h.serve_min, h.lo, h.hi, h.may_stop_app) == (seconds, seconds, seconds, False)
    assert h.exact


def test_sleep_then_quit_may_stop_the_app() -> None:
    """§2.3: an exec hook that runs a command after its sleep may stop the application any
    time after the sleep; the hook lasts at most the grace period (§2.2)."""
    h = hook_spec(exec_hook("/bin/sh", "-c", "sleep 5 && nginx -s quit"), 30, S)
    assert (h.serve_min, h.lo, h.hi, h.may_stop_app) == (5, 5, 30, True)
    assert not h.exact


def test_unknown_exec_hook() -> None:
    """§2.2/§2.3: an unknown command keeps nothing serving for sure, and may take up to grace."""
    h = hook_spec(exec_hook("nginx", "-s", "quit"), 30, S)
    assert (h.serve_min, h.lo, h.hi, h.may_stop_app) == (0, 0, 30, True)


def test_sleep_longer_than_grace_is_capped() -> None:
    """§2.2: the hook is bounded by the grace period (kubelet stops waiting at the deadline)."""
    h = hook_spec(exec_hook("sleep", "60"), 30, S)
    assert (h.serve_min, h.lo, h.hi) == (30, 30, 30)
    h = hook_spec(exec_hook("sh", "-c", "sleep 1h; nginx -s quit"), 20, S)
    assert (h.serve_min, h.lo, h.hi, h.may_stop_app) == (20, 20, 20, True)


def test_grace_zero_means_hook_not_run() -> None:
    """§2.1.3/§2.2: the preStop hook runs only "if a preStop hook exists and grace > 0"."""
    for hook in (exec_hook("sleep", "5"), Hook(HandlerKind.SLEEP, seconds=5),
                 Hook(HandlerKind.HTTP_GET, port=80)):
        h = hook_spec(hook, 0, S)
        assert (h.serve_min, h.lo, h.hi, h.may_stop_app) == (0, 0, 0, False)


def test_no_hook() -> None:
    assert hook_spec(None, 30, S) is NO_HOOK
    assert (NO_HOOK.lo, NO_HOOK.hi, NO_HOOK.may_stop_app) == (0, 0, False)


def test_native_sleep() -> None:
    """§2.4: native lifecycle.preStop.sleep (beta/on from 1.30) keeps serving for N seconds."""
    h = hook_spec(Hook(HandlerKind.SLEEP, seconds=10), 30, settings(k8s_version="1.30"))
    assert (h.serve_min, h.lo, h.hi, h.may_stop_app) == (10, 10, 10, False)


def test_native_sleep_rejected_before_1_30() -> None:
    """§2.4: PodLifecycleSleepAction is alpha (off) in 1.29, beta (on) from 1.30."""
    with pytest.raises(InputError, match="1.30"):
        hook_spec(Hook(HandlerKind.SLEEP, seconds=10), 30, settings(k8s_version="1.29"))
    text = deployment(container="        ports: [{containerPort: 8080}]\n"
                      "        lifecycle: {preStop: {sleep: {seconds: 5}}}\n") + service()
    with pytest.raises(InputError):
        scenario(text, version="1.29")
    assert scenario(text, version="1.30").pod.hook.lo == 5


def test_http_get_hook_is_unknown() -> None:
    """§2.3: an httpGet hook's duration and effect on the app are unknown to the model."""
    h = hook_spec(Hook(HandlerKind.HTTP_GET, port=8080), 30, S)
    assert (h.serve_min, h.lo, h.hi, h.may_stop_app) == (0, 0, 30, True)


def test_hook_from_manifest() -> None:
    text = deployment(grace=45, container="        ports: [{containerPort: 8080}]\n"
                      "        lifecycle:\n          preStop:\n"
                      "            exec: {command: [/bin/sh, -c, 'sleep 5 && nginx -s quit']}\n") + service()
    sc = scenario(text)
    assert sc.pod.grace == 45
    h = sc.pod.hook
    assert (h.serve_min, h.lo, h.hi, h.may_stop_app) == (5, 5, 45, True)


# ------------------------------------------------------------------- probes (§3)

CONTAINER = Container("web", ports=(ContainerPort(8080, "http"), ContainerPort(9090, "metrics")))


@pytest.mark.parametrize("kind,port,checks", [
    (HandlerKind.TCP_SOCKET, 8080, True),
    (HandlerKind.TCP_SOCKET, "http", True),
    (HandlerKind.HTTP_GET, 8080, True),
    (HandlerKind.HTTP_GET, "http", True),
    (HandlerKind.GRPC, 8080, True),
    (HandlerKind.HTTP_GET, 9090, False),
    (HandlerKind.HTTP_GET, "metrics", False),
    (HandlerKind.TCP_SOCKET, 9090, False),
    (HandlerKind.EXEC, None, False),
])
def test_probe_checks_port(kind, port, checks) -> None:
    """§3: TCP success means the connect succeeds, HTTP success a 2xx/3xx answer: only a
    probe of the served port (by number or by container port name) proves it accepts."""
    ps = probe_spec(Probe(kind, port, initial_delay=2, period=5, timeout=2, success_threshold=2,
                          failure_threshold=4), CONTAINER, 8080)
    assert ps is not None and ps.checks_port is checks
    assert (ps.initial_delay, ps.period, ps.timeout, ps.success, ps.failure) == (2, 5, 2, 2, 4)


def test_no_probe() -> None:
    assert probe_spec(None, CONTAINER, 8080) is None


def test_probe_defaults_from_manifest() -> None:
    """§3 field defaults: initialDelay 0, period 10, timeout 1, success 1, failure 3."""
    text = deployment(container="        ports: [{name: http, containerPort: 8080}]\n"
                      "        readinessProbe: {httpGet: {path: /, port: http}}\n"
                      "        livenessProbe: {exec: {command: [cat, /ok]}}\n") + service(target="http")
    sc = scenario(text)
    rp = sc.pod.readiness
    assert rp is not None and rp.checks_port
    assert (rp.initial_delay, rp.period, rp.timeout, rp.success, rp.failure) == (0, 10, 1, 1, 3)
    assert sc.pod.liveness is not None and not sc.pod.liveness.checks_port
    assert not sc.pod.readiness_exec and sc.pod.startup is None


# ------------------------------------------------------------------- entries (§5.3, §5.4)


@pytest.mark.parametrize("svc_type,etp,itp,expected", [
    ("LoadBalancer", "Local", "", (EntrySpec(Entry.LOAD_BALANCER, True), EntrySpec(Entry.CLUSTER_IP, False))),
    ("LoadBalancer", "Cluster", "", (EntrySpec(Entry.LOAD_BALANCER, False), EntrySpec(Entry.CLUSTER_IP, False))),
    ("LoadBalancer", "", "Local", (EntrySpec(Entry.LOAD_BALANCER, False), EntrySpec(Entry.CLUSTER_IP, True))),
    ("NodePort", "Local", "", (EntrySpec(Entry.NODE_PORT, True), EntrySpec(Entry.CLUSTER_IP, False))),
    ("NodePort", "", "", (EntrySpec(Entry.NODE_PORT, False), EntrySpec(Entry.CLUSTER_IP, False))),
    ("ClusterIP", "", "", (EntrySpec(Entry.CLUSTER_IP, False),)),
    ("ClusterIP", "", "Local", (EntrySpec(Entry.CLUSTER_IP, True),)),
])
def test_entries_of(svc_type, etp, itp, expected) -> None:
    """§5.3/§5.4: externalTrafficPolicy applies to NodePort/LB traffic only; internal
    (ClusterIP) traffic follows internalTrafficPolicy."""
    p = first_pair(deployment() + service(svc_type, etp, itp))
    assert entries_of(p, S) == expected


# ------------------------------------------------------------------- build_scenario (§1.1, §1.5)


@pytest.mark.parametrize("strategy,replicas,expected", [
    ("", 4, (1, 1)),  # defaults 25%/25%
    ("", 10, (3, 2)),
    ("  strategy:\n    rollingUpdate: {maxSurge: 0%, maxUnavailable: 10%}\n", 5, (0, 1)),
    ("  strategy:\n    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}\n", 3, (1, 0)),
    ("  strategy:\n    rollingUpdate: {maxSurge: 2, maxUnavailable: 100%}\n", 3, (2, 3)),
])
def test_build_scenario_resolves_fenceposts(strategy, replicas, expected) -> None:
    """§1.1: surge rounds up, unavailable down, 0/0 -> 0/1; defaults 25%/25%."""
    sc = scenario(deployment(replicas=replicas, strategy=strategy) + service())
    assert sc.rollout.strategy is Strategy.ROLLING_UPDATE
    assert (sc.rollout.replicas, sc.rollout.surge, sc.rollout.unavailable) == (replicas, *expected)


def test_build_scenario_recreate_paused_min_ready() -> None:
    """§1.5 Recreate and pause; §1.2 minReadySeconds."""
    text = deployment(replicas=2, strategy="  strategy: {type: Recreate}\n",
                      extra_spec="  paused: true\n  minReadySeconds: 7\n") + service()
    sc = scenario(text, nodes=3)
    assert sc.rollout.strategy is Strategy.RECREATE and sc.rollout.replicas == 2
    assert sc.paused and sc.min_ready == 7 and sc.nodes == 3


def test_bare_pod_is_recreate_with_one_replica() -> None:
    """A bare Pod is replaced by delete + create: Recreate with 1 replica (§1.5)."""
    text = ("apiVersion: v1\nkind: Pod\nmetadata: {name: solo, labels: {app: web}}\nspec:\n"
            "  containers:\n  - name: web\n    image: nginx\n    ports: [{containerPort: 8080}]\n") + service()
    sc = scenario(text)
    assert sc.rollout.replicas == 1 and sc.rollout.strategy is Strategy.RECREATE
    assert sc.rollout.surge == 0 and sc.rollout.unavailable == 1
    assert sc.pod.grace == 30  # §2.2 default terminationGracePeriodSeconds


def test_fallback_follows_version() -> None:
    """§5.4/Implications A.5: ProxyTerminatingEndpoints on by default from 1.26."""
    text = deployment() + service()
    assert not scenario(text, version="1.25").fallback
    assert scenario(text, version="1.26").fallback


# ----------------------------------------------- background and pipelined commands

@pytest.mark.parametrize("script", ["sleep 5 & nginx -s quit", "sleep 5 | nginx -s quit"])
def test_background_or_piped_sleep_keeps_nothing_serving(script) -> None:
    """§2.1.3/§2.3: the app may be stopped as soon as the concurrent command runs."""
    h = hook_spec(exec_hook("sh", "-c", script), 30, S)
    assert h.may_stop_app and h.serve_min == 0


def test_backgrounded_sleep_is_not_an_exact_delay() -> None:
    h = hook_spec(exec_hook("sh", "-c", "sleep 5 &"), 30, S)
    assert h.lo == 0 and not h.exact


# ------------------------------------------------------------ IP targets (k8s-semantics §6.4)
def test_ip_targets_from_the_nlb_annotation_or_the_profile() -> None:
    """AWS LBC `nlb-target-type: ip` registers pod IPs: the load balancer entry bypasses
    kube-proxy and the traffic policy. The aws-alb-ip profile says the same for every Service."""
    text = deployment() + service("LoadBalancer", "Local", "")
    annotated = text.replace("metadata: {name: web}\nspec:\n  type: LoadBalancer",
                             "metadata: {name: web, annotations: "
                             "{service.beta.kubernetes.io/aws-load-balancer-nlb-target-type: ip}}\n"
                             "spec:\n  type: LoadBalancer", 1)
    assert annotated != text
    assert entries_of(first_pair(annotated), S)[0] == EntrySpec(Entry.LOAD_BALANCER, False, ip=True)
    assert entries_of(first_pair(text), settings(lb="aws-alb-ip"))[0].ip
    assert not entries_of(first_pair(text), S)[0].ip


def test_target_health_readiness_gate_only_with_ip_targets() -> None:
    """pod_readiness_gate.md: the gate (prefix target-health.elbv2.k8s.aws) is injected only
    for IP targets; Ready then waits for the target to be healthy."""
    text = deployment().replace("    spec:\n      terminationGracePeriodSeconds",
                                "    spec:\n      readinessGates:\n"
                                "      - conditionType: target-health.elbv2.k8s.aws/tg-1\n"
                                "      terminationGracePeriodSeconds", 1)
    assert "readinessGates" in text
    svc = service("LoadBalancer", "", "")
    assert build_scenario(first_pair(text + svc), 3, settings(lb="aws-alb-ip")).pod.lb_gate is not None
    assert build_scenario(first_pair(text + svc), 3, S).pod.lb_gate is None


def test_neg_ingress_annotation_is_read_as_json() -> None:
    """cloud.google.com/neg: '{"ingress": true}' adds a pod-IP load balancer entry; other
    values (false, exposed ports only, not JSON) do not."""
    def entries(value: str) -> tuple[EntrySpec, ...]:
        text = deployment() + service().replace(
            "metadata: {name: web}", f"metadata: {{name: web, annotations: {{cloud.google.com/neg: '{value}'}}}}", 1)
        return entries_of(first_pair(text), S)
    assert entries('{"ingress": true}')[0] == EntrySpec(Entry.LOAD_BALANCER, False, ip=True)
    for value in ('{"ingress": false}', '{"exposed_ports": {"80": {}}}', "not json"):
        assert not any(e.ip for e in entries(value)), value


@pytest.mark.parametrize("replicas, stated", [(3, False), (49, False), (50, True)])
def test_more_endpoints_than_one_slice_holds_are_a_stated_assumption(tmp_path, replicas: int, stated: bool) -> None:
    """k8s-semantics.md: at most 100 endpoints per slice by default. A RollingUpdate with
    maxSurge 1 holds up to 2 x replicas + 1 endpoints (old pods stay until gone): from 50
    replicas the slices may split, which the model's in-order single slice does not cover."""
    from pathlib import Path

    from zdverify import verify

    root = Path(__file__).resolve().parents[2]
    text = (root / "examples/recommended-cluster.yaml").read_text().replace("replicas: 3", f"replicas: {replicas}")
    (tmp_path / "big.yaml").write_text(text)
    report = verify([str(tmp_path / "big.yaml")], nodes=3, select=("startup",))
    keys = [a.key for a in report.results[0].assumptions]
    assert ("endpointslices" in keys) is stated


@pytest.mark.parametrize("old_text, alike", [
    ("same", True),  # --from with the same placement rules (another image)
    ("no-spread", False),  # the change adds the spread: the old pods were not placed by it
])
def test_from_says_whether_the_old_pods_were_placed_by_the_same_rules(old_text: str, alike: bool) -> None:
    """Local proofs through the per-node exploration start from placements the rules allow;
    with --from that is checked against the old template instead of assumed."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    new = (root / "examples/local-spread-per-revision.yaml").read_text()
    old = new.replace("nginx:1.27", "nginx:1.26")
    if old_text == "no-spread":
        old = old[:old.index("      topologySpreadConstraints:")] + old[old.index("      containers:"):]
    (pair_,), _ = pair(build_objects(load_text(new, "new.yaml")))
    previous = build_objects(load_text(old, "old.yaml")).workloads[0]
    sc = build_scenario(pair_, 3, settings(), previous)
    assert sc.from_previous and sc.old_placed_alike is alike
    # the exploration runs only when they were (README: skipped when the change adds the rules)
    from zdverify.model.search import check_scenario
    from builtin_properties import builtin_by_slug

    (r,) = check_scenario(sc, [builtin_by_slug("no-endpoint")])
    assert (r.stats["node_states"] > 0) is alike
    assert (r.verdict.value == "proved") is alike
    # replayed runs place the old pods by the old template's rules: without its spread
    # they may all share node 0, with it they take one node each
    from zdverify.model.run import Choices, Timing
    from zdverify.model.simulator.engine import simulate

    run = simulate(sc, Choices(initial=(0, 0, 0)), Timing())
    old_nodes = sorted(n for name, n in run.pod_nodes.items() if "-old-" in name)
    assert old_nodes == ([0, 1, 2] if alike else [0, 0, 0])


def test_from_an_old_template_without_the_caps_counts_no_places() -> None:
    """--from adds one-pod-per-rack anti-affinity: the old pods were placed without it, so two
    may share rack r0 and leave r1 free for a surge pod — counting places by the new caps
    (2 racks, 2 old pods: no room) would 'prove' that no old pod is ever deleted (found by the
    differential test). The caps are then not used to count, and the scheduling assumption
    is stated."""
    from zdverify.model.scheduler import Node
    from zdverify.model.search import check_scenario
    from builtin_properties import builtin_by_slug

    anti = ("      affinity:\n        podAntiAffinity:\n          requiredDuringSchedulingIgnoredDuringExecution:\n"
            "          - {labelSelector: {matchLabels: {app: web}}, topologyKey: example.com/rack}\n")
    new = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 2\n"
           "  selector: {matchLabels: {app: web}}\n  strategy: {rollingUpdate: {maxSurge: 2, maxUnavailable: 0}}\n"
           "  template:\n    metadata: {labels: {app: web}}\n    spec:\n" + anti +
           "      containers: [{name: web, image: nginx, ports: [{containerPort: 80}]}]\n"
           "---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n"
           "  ports: [{port: 80}]\n")
    old = new.replace(anti, "")
    nodes = [Node("n0", {"example.com/rack": "r0"}), Node("n1", {"example.com/rack": "r0"}),
             Node("n2", {"example.com/rack": "r1"})]
    (pair_,), _ = pair(build_objects(load_text(new, "new.yaml")))
    previous = build_objects(load_text(old, "old.yaml")).workloads[0]
    sc = build_scenario(pair_, nodes, settings(), previous)
    assert sc.rollout.slots == 0 and not sc.placement.exact
    assert "caps the old pods were not placed by" in sc.placement.unmodelled
    (r,) = check_scenario(sc, [builtin_by_slug("termination")])
    assert r.verdict.value == "counterexample"  # no preStop: the deleted old pod closes at once
    # with the same caps before and after, the count of places holds
    same = build_scenario(pair_, nodes, settings(), build_objects(load_text(new, "old.yaml")).workloads[0])
    assert same.rollout.slots == 2 and same.placement.exact
