"""Documents -> typed objects: defaults, positions and every validation error."""
from __future__ import annotations

import textwrap

import pytest

from zdverify.model.kube import build_objects
from zdverify.model.load import load_text
from zdverify.model.objects import (
    HandlerKind,
    LabelSelector,
    Objects,
    ServiceType,
    Strategy,
    TrafficPolicy,
    Unverified,
    WorkloadKind,
)
from zdverify.model.source import InputError, Loc

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  annotations:
    team: payments
spec:
  replicas: 3
  minReadySeconds: 5
  selector:
    matchLabels:
      app: web
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  template:
    metadata:
      labels:
        app: web
        tier: front
    spec:
      terminationGracePeriodSeconds: 45
      nodeSelector:
        pool: general
      readinessGates:
      - conditionType: example.com/lb-ready
      containers:
      - name: web
        ports:
        - name: http
          containerPort: 8080
        - containerPort: 9090
          protocol: UDP
        readinessProbe:
          httpGet:
            path: /healthz
            port: http
          periodSeconds: 2
          failureThreshold: 1
        livenessProbe:
          tcpSocket:
            port: 8080
        lifecycle:
          preStop:
            exec:
              command:
              - sleep
              - 30
"""


def build(text: str) -> Objects:
    return build_objects(load_text(textwrap.dedent(text), "m.yaml"))


def fails(text: str) -> InputError:
    with pytest.raises(InputError) as info:
        build(text)
    assert info.value.loc is not None and info.value.loc.file == "m.yaml"
    return info.value


def edit(old: str, new: str, text: str = DEPLOYMENT) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def line_of(fragment: str, text: str = DEPLOYMENT) -> int:
    """1-based line of the first line containing ``fragment``."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


# ---------------------------------------------------------------- Deployment


def test_deployment_fields() -> None:
    (w,) = build(DEPLOYMENT).workloads
    assert w.kind is WorkloadKind.DEPLOYMENT
    assert w.ref == "Deployment/shop/web"
    assert (w.replicas, w.min_ready_seconds, w.paused) == (3, 5, False)
    assert w.selector == LabelSelector((("app", "web"),))
    assert (w.strategy, w.max_surge, w.max_unavailable) == (Strategy.ROLLING_UPDATE, 1, 0)
    assert w.annotations == {"team": "payments"}
    t = w.template
    assert t.labels == {"app": "web", "tier": "front"}
    assert t.grace_seconds == 45
    assert t.node_selector == {"pool": "general"}
    assert t.readiness_gates == ("example.com/lb-ready",)
    (c,) = t.containers
    assert c.name == "web"
    assert [(p.port, p.name, p.protocol) for p in c.ports] == [(8080, "http", "TCP"), (9090, None, "UDP")]
    r = c.readiness
    assert r is not None and r.kind is HandlerKind.HTTP_GET and r.port == "http"
    assert (r.initial_delay, r.period, r.timeout, r.success_threshold, r.failure_threshold) == (0, 2, 1, 1, 1)
    assert c.liveness is not None and c.liveness.kind is HandlerKind.TCP_SOCKET and c.liveness.port == 8080
    assert c.startup is None
    assert c.pre_stop is not None and c.pre_stop.kind is HandlerKind.EXEC
    assert c.pre_stop.command == ("sleep", "30")  # the number is accepted as a word


def test_deployment_positions() -> None:
    (w,) = build(DEPLOYMENT).workloads
    expected = {
        "metadata.name": "name: web",
        "spec.replicas": "replicas:",
        "spec.strategy": "strategy:",
        "spec.strategy.type": "type: RollingUpdate",
        "spec.strategy.rollingUpdate.maxSurge": "maxSurge:",
        "spec.strategy.rollingUpdate.maxUnavailable": "maxUnavailable:",
        "spec.minReadySeconds": "minReadySeconds:",
        "spec.template": "template:",
        "spec.template.spec": "    spec:",
        "spec.template.spec.terminationGracePeriodSeconds": "terminationGracePeriodSeconds:",
        "spec.template.spec.containers": "containers:",
        "spec.template.spec.containers[0].readinessProbe": "readinessProbe:",
    }
    for path, fragment in expected.items():
        assert w.locs[path] == Loc("m.yaml", line_of(fragment), w.locs[path].col), path
    assert w.loc.line == 2
    assert w.loc_of("spec.paused").line == line_of("spec:")  # absent: nearest parent
    t = w.template
    assert t.loc.line == line_of("    spec:")
    assert t.locs["terminationGracePeriodSeconds"].line == line_of("terminationGracePeriodSeconds")
    assert t.locs["nodeSelector"].line == line_of("nodeSelector")
    (c,) = t.containers
    assert c.loc.line == line_of("- name: web")
    assert c.locs["lifecycle.preStop"].line == line_of("preStop:")
    assert c.readiness is not None and c.readiness.loc.line == line_of("readinessProbe:")
    assert c.readiness.locs["periodSeconds"].line == line_of("periodSeconds")
    assert c.readiness.loc_of("timeoutSeconds") == c.readiness.loc
    assert c.pre_stop is not None and c.pre_stop.loc.line == line_of("preStop:")
    assert c.ports[1].loc.line == line_of("- containerPort: 9090")


def test_deployment_defaults() -> None:
    (w,) = build(
        """\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: api}
        spec:
          selector: {matchLabels: {app: api}}
          template:
            metadata: {labels: {app: api}}
            spec:
              containers:
              - name: api
                readinessProbe:
                  exec: {command: [cat, /ready]}
        """
    ).workloads
    assert w.namespace == "default"
    assert (w.replicas, w.max_surge, w.max_unavailable, w.min_ready_seconds) == (1, "25%", "25%", 0)
    assert w.strategy is Strategy.ROLLING_UPDATE and not w.paused
    assert w.template.grace_seconds == 30
    probe = w.template.containers[0].readiness
    assert probe is not None and probe.kind is HandlerKind.EXEC and probe.port is None
    assert (probe.initial_delay, probe.period, probe.timeout, probe.success_threshold, probe.failure_threshold) == (
        0,
        10,
        1,
        1,
        3,
    )


OLD_API = """\
apiVersion: {api}
kind: Deployment
metadata: {{name: old}}
spec:
  template:
    metadata: {{labels: {{app: old}}}}
    spec:
      containers: [{{name: c}}]
"""


@pytest.mark.parametrize(
    "api, default", [("extensions/v1beta1", 1), ("apps/v1beta1", "25%"), ("apps/v1beta2", "25%")]
)
def test_older_api_versions(api: str, default: int | str) -> None:
    (w,) = build(OLD_API.format(api=api)).workloads
    assert (w.max_surge, w.max_unavailable) == (default, default)
    assert w.selector == LabelSelector((("app", "old"),))  # defaulted from the template labels


def test_percentages_and_recreate() -> None:
    text = edit("maxSurge: 1", 'maxSurge: "50%"', edit("maxUnavailable: 0", "maxUnavailable: 10%"))
    (w,) = build(text).workloads
    assert (w.max_surge, w.max_unavailable) == ("50%", "10%")
    text = edit("    type: RollingUpdate\n    rollingUpdate:\n      maxSurge: 1\n      maxUnavailable: 0\n", "    type: Recreate\n")
    (w,) = build(text).workloads
    assert w.strategy is Strategy.RECREATE


def test_paused_and_zero_replicas() -> None:
    (w,) = build(edit("replicas: 3", "replicas: 0\n  paused: yes")).workloads
    assert w.replicas == 0 and w.paused is True


@pytest.mark.parametrize(
    "old, new, fragment, message",
    [
        ("replicas: 3", "replicas: three", "replicas:", 'spec.replicas: expected an integer, got string "three"'),
        ("replicas: 3", "replicas: -1", "replicas:", "spec.replicas: must be at least 0, got -1"),
        ("replicas: 3", "replicas: 1.5", "replicas:", "spec.replicas: expected an integer, got number 1.5"),
        ("minReadySeconds: 5", "minReadySeconds: -5", "minReadySeconds", "spec.minReadySeconds: must be at least 0"),
        ("minReadySeconds: 5", "minReadySeconds: 5\n  progressDeadlineSeconds: 5", "progressDeadlineSeconds",
         "spec.progressDeadlineSeconds: must be greater than minReadySeconds (5)"),
        ("minReadySeconds: 5", "minReadySeconds: 5\n  paused: on-hold", "paused", "spec.paused: expected a boolean"),
        ("maxSurge: 1", 'maxSurge: "0"', "maxSurge", "must be an integer or a percentage"),
        ("maxSurge: 1", "maxSurge: one", "maxSurge", "spec.strategy.rollingUpdate.maxSurge: must be an integer or a percentage"),
        ("maxSurge: 1", "maxSurge: -1", "maxSurge", "spec.strategy.rollingUpdate.maxSurge: must be at least 0"),
        ("maxSurge: 1", "maxSurge: true", "maxSurge", "must be an integer or a percentage, got boolean true"),
        ("maxUnavailable: 0", "maxUnavailable: 150%", "maxUnavailable", "must not be greater than 100%"),
        ("maxSurge: 1", "maxSurge: 0", "maxUnavailable", "maxSurge and maxUnavailable cannot both be 0"),
        ("maxSurge: 1", "maxSurge: 0%", "maxUnavailable", "maxSurge and maxUnavailable cannot both be 0"),
        ("type: RollingUpdate", "type: Recreate", "rollingUpdate:", "spec.strategy.rollingUpdate: may not be set when strategy.type is Recreate"),
        ("type: RollingUpdate", "type: BlueGreen", "type:", 'spec.strategy.type: "BlueGreen" is not one of RollingUpdate, Recreate'),
        ("  strategy:\n", "  strategy: fast\n  x:\n", "strategy:", "spec.strategy: expected a mapping, got string \"fast\""),
        ("        tier: front\n", "", "matchLabels", None),  # still matches: app=web
        ("      app: web\n  strategy", "      app: api\n  strategy", "selector:", "spec.selector: selector does not match template labels"),
        ("  selector:\n    matchLabels:\n      app: web\n", "", "spec:", "spec.selector: required field is missing"),
        ("  selector:\n    matchLabels:\n      app: web\n", "  selector: {}\n", "selector:", "empty selector is invalid"),
        ("  name: web\n", "", "metadata:", "metadata.name is required"),
        ("  name: web\n", "  name: 42\n", "name:", "metadata.name: expected a string, got number 42"),
        ("    team: payments", "    replicas: 3", "replicas: 3", "metadata.annotations.replicas: expected a string (quote it), got number 3"),
        ("        tier: front", "        tier: on", "tier: on", "spec.template.metadata.labels.tier: expected a string (quote it), got boolean true"),
        ("terminationGracePeriodSeconds: 45", "terminationGracePeriodSeconds: sixty", "terminationGracePeriodSeconds",
         'spec.template.spec.terminationGracePeriodSeconds: expected an integer, got string "sixty"'),
        ("terminationGracePeriodSeconds: 45", "terminationGracePeriodSeconds: -1", "terminationGracePeriodSeconds", "must be at least 0"),
        ("pool: general", "pool: [a]", "pool:", "spec.template.spec.nodeSelector.pool: expected a string (quote it), got a list"),
        ("      - conditionType: example.com/lb-ready\n", "      - {}\n", "- {}", "spec.template.spec.readinessGates[0].conditionType: required field is missing"),
        ("      - name: web\n", "      - image: web\n", "- image: web", "spec.template.spec.containers[0].name: required field is missing"),
        ("        - name: http\n          containerPort: 8080\n", "        - name: http\n          containerPort: \"8080\"\n", "containerPort: \"8080\"",
         'spec.template.spec.containers[0].ports[0].containerPort: expected an integer, got string "8080"'),
        ("containerPort: 8080", "containerPort: 70000", "containerPort: 70000", "must be at most 65535"),
        ("containerPort: 8080", "containerPort: 0", "containerPort: 0", "must be at least 1"),
        ("        - containerPort: 9090\n", "        - containerPort: 9090\n          name: http\n", "          name: http",
         'duplicate port name "http" (first at line 33)'),
        ("protocol: UDP", "protocol: HTTP", "protocol:", '"HTTP" is not one of TCP, UDP, SCTP'),
        ("        ports:\n", "        ports: 8080\n        x:\n", "ports: 8080", "containers[0].ports: expected a list, got number 8080"),
    ],
)
def test_deployment_errors(old: str, new: str, fragment: str, message: str | None) -> None:
    text = edit(old, new)
    if message is None:
        build(text)
        return
    e = fails(text)
    assert message in e.message
    assert e.loc is not None and e.loc.line == line_of(fragment, text), e


def test_containers_are_required() -> None:
    text = DEPLOYMENT.split("      containers:\n")[0]
    e = fails(text + "      containers: []\n")
    assert e.message == "spec.template.spec.containers: at least one container is required"
    assert e.loc is not None and e.loc.line == line_of("containers: []", text + "      containers: []\n")
    e = fails(text)
    assert "containers" in e.message


def test_template_is_required() -> None:
    e = fails(DEPLOYMENT.split("  template:\n")[0].replace("  selector:\n    matchLabels:\n      app: web\n", ""))
    assert e.message.startswith("spec.")


# ---------------------------------------------------------------- probes and hooks


PROBE = """\
apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
  - name: web
    ports:
    - {name: http, containerPort: 80}
    readinessProbe:
      httpGet:
        port: http
"""


@pytest.mark.parametrize(
    "old, new, fragment, message",
    [
        ("port: http", "port: metrics", "port: metrics",
         'spec.containers[0].readinessProbe.httpGet.port: "metrics" names no port of container "web"'),
        ("port: http", 'port: "8080"', "port: \"8080\"", 'is neither a port number nor a port name'),
        ("port: http", "port: 0", "port: 0", "must be at least 1"),
        ("      httpGet:\n        port: http\n", "      periodSeconds: 3\n", "readinessProbe:", "readinessProbe: must set one handler"),
        ("        port: http\n", "        port: http\n      tcpSocket: {port: 80}\n", "tcpSocket", "may not set more than one handler"),
        ("        port: http\n", "        path: /\n", "httpGet:", "readinessProbe.httpGet.port: required field is missing"),
        ("        port: http\n", "        port: http\n      periodSeconds: -1\n", "periodSeconds", "must be at least 0"),
        ("        port: http\n", "        port: http\n      timeoutSeconds: one\n", "timeoutSeconds", "expected an integer"),
        ("        port: http\n", "        port: http\n      initialDelaySeconds: -3\n", "initialDelaySeconds", "must be at least 0"),
        ("        port: http\n", "        port: http\n      failureThreshold: -3\n", "failureThreshold", "must be at least 0"),
        ("readinessProbe", "livenessProbe", None, None),
        ("        port: http\n", "        port: http\n      successThreshold: 2\n", None, None),
        ("readinessProbe:\n      httpGet:\n        port: http\n", "livenessProbe:\n      httpGet:\n        port: http\n      successThreshold: 2\n",
         "successThreshold", "livenessProbe.successThreshold: must be 1 for liveness and startup probes, got 2"),
        ("readinessProbe:\n      httpGet:\n        port: http\n", "startupProbe:\n      grpc: {port: 9000}\n      successThreshold: 3\n",
         "successThreshold", "must be 1 for liveness and startup probes"),
        ("readinessProbe:\n      httpGet:\n        port: http\n", "startupProbe:\n      grpc: {port: grpc}\n", "grpc", "expected an integer"),
        ("readinessProbe:\n      httpGet:\n        port: http\n", "readinessProbe: /healthz\n", "readinessProbe", "readinessProbe: expected a mapping"),
    ],
)
def test_probe_errors(old: str, new: str, fragment: str | None, message: str | None) -> None:
    text = edit(old, new, PROBE)
    if message is None:
        build(text)
        return
    e = fails(text)
    assert message in e.message
    assert e.loc is not None and e.loc.line == line_of(fragment, text), e  # type: ignore[arg-type]


def test_probe_zero_takes_the_default_like_the_api_server() -> None:
    text = edit("        port: http\n", "        port: http\n      periodSeconds: 0\n      failureThreshold: 0\n", PROBE)
    probe = build(text).workloads[0].template.containers[0].readiness
    assert probe is not None and (probe.period, probe.failure_threshold) == (10, 3)


def test_grpc_and_startup_probe() -> None:
    text = edit("readinessProbe:\n      httpGet:\n        port: http\n", "startupProbe:\n      grpc: {port: 9000}\n", PROBE)
    (c,) = build(text).workloads[0].template.containers
    assert c.startup is not None and c.startup.kind is HandlerKind.GRPC and c.startup.port == 9000


HOOK = """\
apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  terminationGracePeriodSeconds: 20
  containers:
  - name: web
    lifecycle:
      preStop:
        sleep:
          seconds: 10
"""


def test_hooks() -> None:
    hook = build(HOOK).workloads[0].template.containers[0].pre_stop
    assert hook is not None and hook.kind is HandlerKind.SLEEP and hook.seconds == 10
    assert hook.loc.line == 10 and hook.locs["sleep.seconds"].line == 12
    text = edit("        sleep:\n          seconds: 10\n", "        httpGet: {path: /drain, port: 8080}\n", HOOK)
    hook = build(text).workloads[0].template.containers[0].pre_stop
    assert hook is not None and hook.kind is HandlerKind.HTTP_GET and hook.port == 8080
    text = edit("        sleep:\n          seconds: 10\n", "        tcpSocket: {port: admin}\n", HOOK)
    hook = build(text).workloads[0].template.containers[0].pre_stop
    assert hook is not None and hook.kind is HandlerKind.TCP_SOCKET and hook.port == "admin"
    text = edit("        sleep:\n          seconds: 10\n", '        exec:\n          command: ["/bin/sh", "-c", "sleep 5"]\n', HOOK)
    hook = build(text).workloads[0].template.containers[0].pre_stop
    assert hook is not None and hook.command == ("/bin/sh", "-c", "sleep 5")


@pytest.mark.parametrize(
    "old, new, fragment, message",
    [
        ("seconds: 10", "seconds: 25", "seconds", "must not exceed terminationGracePeriodSeconds (20), got 25"),
        ("seconds: 10", "seconds: -1", "seconds", "must be at least 0"),
        ("seconds: 10", "seconds: ten", "seconds", "preStop.sleep.seconds: expected an integer"),
        ("        sleep:\n          seconds: 10\n", "        exec:\n          command: [sleep, yes]\n", "command", "command[1]: expected a string"),
        ("        sleep:\n          seconds: 10\n", "        exec:\n          command: sleep 5\n", "command", "command: expected a list"),
        ("        sleep:\n          seconds: 10\n", "        nothing: {}\n", "preStop", "preStop: must set one handler"),
    ],
)
def test_hook_errors(old: str, new: str, fragment: str, message: str) -> None:
    text = edit(old, new, HOOK)
    e = fails(text)
    assert message in e.message
    assert e.loc is not None and e.loc.line == line_of(fragment, text), e


def test_sleep_zero_is_allowed() -> None:
    hook = build(edit("seconds: 10", "seconds: 0", HOOK)).workloads[0].template.containers[0].pre_stop
    assert hook is not None and hook.seconds == 0


# ---------------------------------------------------------------- bare Pods


def test_bare_pod_is_a_one_replica_recreate_workload() -> None:
    (w,) = build(
        """\
        apiVersion: v1
        kind: Pod
        metadata:
          generateName: job-
          labels: {app: batch}
        spec:
          terminationGracePeriodSeconds: 5
          containers:
          - name: main
        """
    ).workloads
    assert w.kind is WorkloadKind.POD and w.ref == "Pod/default/job-"
    assert (w.replicas, w.strategy) == (1, Strategy.RECREATE)
    assert w.selector == LabelSelector((("app", "batch"),))
    assert w.template.labels == {"app": "batch"} and w.template.grace_seconds == 5
    assert w.locs["spec.template.spec.terminationGracePeriodSeconds"].line == 7
    assert w.locs["spec.template.spec.containers"].line == 8
    assert w.locs["spec.template.spec"].line == 6
    assert w.locs["spec.template"].line == 6
    assert w.locs["spec.template.metadata.labels"].line == 5
    assert w.template.loc.line == 6


def test_bare_pod_errors() -> None:
    e = fails("apiVersion: v1\nkind: Pod\nspec:\n  containers: [{name: a}]\n")
    assert e.message == "metadata.name is required" and e.loc is not None and e.loc.line == 2
    e = fails("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  terminationGracePeriodSeconds: sixty\n  containers: [{name: a}]\n")
    assert e.message == 'spec.terminationGracePeriodSeconds: expected an integer, got string "sixty"'
    assert e.loc is not None and e.loc.line == 5
    e = fails("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n")
    assert e.message == "spec: required field is missing"


# ---------------------------------------------------------------- other kinds


def test_unverified_and_ignored_kinds() -> None:
    objects = build(
        """\
        apiVersion: apps/v1beta2
        kind: StatefulSet
        metadata: {name: db, namespace: data}
        ---
        apiVersion: batch/v1
        kind: CronJob
        metadata: {name: nightly}
        ---
        apiVersion: v1
        kind: ConfigMap
        data: {a: b}
        ---
        kind: Whatever
        ---
        metadata: {name: no-kind}
        ---
        kind: [Deployment]
        ---
        apiVersion: example.com/v1
        kind: Deployment
        spec: 7
        """
    )
    assert objects.workloads == () and objects.services == ()
    assert objects.unverified == (
        Unverified("StatefulSet/data/db", "StatefulSet is not modelled yet", Loc("m.yaml", 2, 1)),
        Unverified("CronJob/default/nightly", "CronJob is not modelled yet", Loc("m.yaml", 6, 1)),
    )


_STS = """\
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 3
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: postgres}]
"""


def test_statefulset_defaults_to_one_at_a_time_rolling_update() -> None:
    (w,) = build(_STS).workloads
    assert (w.kind, w.strategy, w.replicas, w.partition, w.max_surge, w.max_unavailable) == \
        (WorkloadKind.STATEFUL_SET, Strategy.STATEFUL_SET, 3, 0, 0, 1)


def test_statefulset_partition_and_policy() -> None:
    (w,) = build(_STS + "  podManagementPolicy: Parallel\n"
                        "  updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 2, maxUnavailable: 1}}\n"
                 ).workloads
    assert w.partition == 2


@pytest.mark.parametrize("strategy, reason, line", [
    ("{type: OnDelete}", "updateStrategy OnDelete replaces pods only when they are deleted by hand", 11),
    ("{rollingUpdate: {partition: 3}}", "rollingUpdate.partition 3 >= replicas 3: no pod is updated", 11),
])
def test_statefulset_updates_not_checked_are_unverified(strategy: str, reason: str, line: int) -> None:
    objects = build(_STS + f"  updateStrategy: {strategy}\n")
    assert objects.workloads == ()
    (u,) = objects.unverified
    assert u.ref == "StatefulSet/default/db" and reason in u.reason and u.loc.line == line


@pytest.mark.parametrize("value, version, policy, expected", [
    ("34%", (1, 35), "Parallel", 1),  # 34% of 3 rounds down to 1
    ("10%", (1, 35), "Parallel", 1),  # rounds down to 0, at least 1
    ("67%", (1, 35), "Parallel", 2),
    (2, (1, 35), "Parallel", 2),
    (2, (1, 34), "Parallel", 1),  # the gate MaxUnavailableStatefulSet is off before 1.35
    (9, (1, 36), "Parallel", 3),  # at most the replicas
])
def test_statefulset_max_unavailable_by_version(value, version, policy, expected) -> None:
    from zdverify.model.scenario import statefulset_unavailable
    (w,) = build(_STS + f"  podManagementPolicy: {policy}\n"
                        f"  updateStrategy: {{rollingUpdate: {{maxUnavailable: {value!r}}}}}\n".replace("'", '"')
                 ).workloads
    assert w.max_unavailable == value and not w.ordered
    assert statefulset_unavailable(w, version) == expected


@pytest.mark.parametrize("tail, message", [
    ("  updateStrategy: {rollingUpdate: {maxUnavailable: 0}}\n", "must be greater than 0"),
    ("  podManagementPolicy: Serial\n", "OrderedReady"),
    ("  updateStrategy: {rollingUpdate: {partition: -1}}\n", "must be at least 0"),
])
def test_statefulset_invalid_fields_are_located(tail: str, message: str) -> None:
    e = fails(_STS + tail)
    assert message in e.message and e.loc is not None and e.loc.line == 11


def test_deployment_without_api_version_is_an_error() -> None:
    e = fails("kind: Deployment\nmetadata: {name: a}\n")
    assert e.message == "apiVersion: required for kind Deployment" and e.loc is not None and e.loc.line == 1


# ---------------------------------------------------------------- Services

SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  type: LoadBalancer
  selector:
    app: web
  ports:
  - name: http
    port: 80
    targetPort: http
  - port: 443
  externalTrafficPolicy: Local
  internalTrafficPolicy: Local
  publishNotReadyAddresses: true
"""


def test_service_fields_and_positions() -> None:
    (s,) = build(SERVICE).services
    assert s.ref == "Service/shop/web"
    assert s.type is ServiceType.LOAD_BALANCER
    assert s.selector == {"app": "web"}
    assert [(p.port, p.target_port, p.name, p.protocol) for p in s.ports] == [(80, "http", "http", "TCP"), (443, 443, None, "TCP")]
    assert s.external_traffic_policy is TrafficPolicy.LOCAL
    assert s.internal_traffic_policy is TrafficPolicy.LOCAL
    assert s.publish_not_ready and not s.headless
    lines = {
        "metadata.name": 4,
        "spec.type": 7,
        "spec.selector": 8,
        "spec.ports": 10,
        "spec.ports[0].targetPort": 13,
        "spec.externalTrafficPolicy": 15,
        "spec.internalTrafficPolicy": 16,
        "spec.publishNotReadyAddresses": 17,
    }
    assert {k: s.locs[k].line for k in lines} == lines
    assert s.loc.line == 2
    assert s.ports[1].loc.line == 14
    assert s.loc_of("spec.ports[1].targetPort").line == 14


def test_service_defaults() -> None:
    (s,) = build("apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports: [{port: 80, protocol: UDP}]\n").services
    assert (s.namespace, s.type, s.selector) == ("default", ServiceType.CLUSTER_IP, None)
    assert s.ports[0].target_port == 80 and s.ports[0].protocol == "UDP"
    assert s.external_traffic_policy is TrafficPolicy.CLUSTER and s.internal_traffic_policy is TrafficPolicy.CLUSTER
    assert not s.publish_not_ready


def test_headless_external_name_and_legacy_policies() -> None:
    objects = build(
        """\
        apiVersion: v1
        kind: Service
        metadata: {name: h}
        spec: {clusterIP: None, selector: {app: x}}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: e}
        spec: {type: ExternalName, externalName: example.com, selector: {app: x}}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: np}
        spec: {type: NodePort, externalTrafficPolicy: OnlyLocal, ports: [{port: 80, nodePort: 30080}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: g}
        spec: {type: NodePort, externalTrafficPolicy: Global}
        """
    )
    h, e, n, g = objects.services
    assert h.headless and h.selector == {"app": "x"}
    assert e.type is ServiceType.EXTERNAL_NAME and e.selector is None
    assert n.external_traffic_policy is TrafficPolicy.LOCAL
    assert g.external_traffic_policy is TrafficPolicy.CLUSTER


@pytest.mark.parametrize(
    "old, new, fragment, message",
    [
        ("type: LoadBalancer", "type: ClusterIP", "externalTrafficPolicy", "spec.externalTrafficPolicy: Local is only allowed for NodePort and LoadBalancer"),
        ("type: LoadBalancer", "type: Ingress", "type:", 'spec.type: "Ingress" is not one of'),
        ("targetPort: http", 'targetPort: "8080"', "targetPort", 'spec.ports[0].targetPort: "8080" is neither a port number nor a port name'),
        ("targetPort: http", "targetPort: -1", "targetPort", "must be at least 1"),  # 0 is unset: the port
        ("port: 80", "port: eighty", "port: eighty", 'spec.ports[0].port: expected an integer, got string "eighty"'),
        ("  - port: 443\n", "  - targetPort: 443\n", "targetPort: 443", "spec.ports[1].port: required field is missing"),
        ("  - port: 443\n", "  - port: 443\n    nodePort: 99999\n", "nodePort", "must be at most 65535"),
        ("externalTrafficPolicy: Local", "externalTrafficPolicy: Nearest", "externalTrafficPolicy", "is not one of"),
        ("internalTrafficPolicy: Local", "internalTrafficPolicy: 1", "internalTrafficPolicy", "expected a string"),
        ("publishNotReadyAddresses: true", 'publishNotReadyAddresses: "true"', "publishNotReadyAddresses", "expected a boolean"),
        ("    app: web", "    app: [web]", "app:", "spec.selector.app: expected a string (quote it), got a list"),
        ("  selector:\n    app: web\n", "  selector: [app]\n", "selector", "spec.selector: expected a mapping, got a list"),
        ("  name: web\n", "", "metadata:", "metadata.name is required"),
        ("  name: web\n", "  name: no\n", "name: no", "metadata.name: expected a string, got boolean false"),
    ],
)
def test_service_errors(old: str, new: str, fragment: str, message: str) -> None:
    text = edit(old, new, SERVICE)
    e = fails(text)
    assert message in e.message
    assert e.loc is not None and e.loc.line == line_of(fragment, text), e


def test_list_of_objects_keeps_positions() -> None:
    text = """\
        apiVersion: v1
        kind: List
        items:
        - apiVersion: v1
          kind: Service
          metadata: {name: a}
        - apiVersion: v1
          kind: Service
          metadata: {name: b}
          spec:
            type: Bogus
        """
    e = fails(text)
    assert e.message.startswith("spec.type:")
    assert e.loc is not None and e.loc.line == 11
    (a,) = build(text.split("        - apiVersion: v1\n          kind: Service\n          metadata: {name: b}")[0]).services
    assert a.loc.line == 5 and a.locs["metadata.name"].line == 6


def test_daemonset_rolling_update_defaults_and_on_delete() -> None:
    """apps/v1 DaemonSet: RollingUpdate with maxUnavailable 1, maxSurge 0 by default;
    OnDelete rolls nothing (listed as not verified); 0/0 is rejected like the API does."""
    base = ("apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: ds}\nspec:\n"
            "  selector: {matchLabels: {app: ds}}\n{strategy}"
            "  template:\n    metadata: {labels: {app: ds}}\n    spec:\n"
            "      containers: [{name: c, image: nginx}]\n")
    objs = build_objects(load_text(base.replace("{strategy}", ""), "ds.yaml"))
    (w,) = objs.workloads
    assert (w.kind, w.strategy, w.max_unavailable, w.max_surge) == (
        WorkloadKind.DAEMON_SET, Strategy.DAEMON_SET, 1, 0)
    on_delete = build_objects(load_text(base.replace("{strategy}", "  updateStrategy: {type: OnDelete}\n"), "ds.yaml"))
    assert not on_delete.workloads and "OnDelete" in on_delete.unverified[0].reason
    with pytest.raises(InputError, match="may not be 0 when maxSurge is 0"):
        build_objects(load_text(base.replace(
            "{strategy}", "  updateStrategy: {rollingUpdate: {maxUnavailable: 0}}\n"), "ds.yaml"))


@pytest.mark.parametrize("target", ["0", '""', "null"])
def test_an_unset_target_port_defaults_to_the_port(target: str) -> None:
    """The API server defaults an absent, 0 or empty targetPort to the port
    (SetDefaults_Service); rendered charts often write 0 (issue G)."""
    objects = build(f"""
        apiVersion: v1
        kind: Service
        metadata: {{name: web}}
        spec:
          selector: {{app: web}}
          ports: [{{port: 8080, targetPort: {target}}}]
        """)
    assert objects.services[0].ports[0].target_port == 8080
