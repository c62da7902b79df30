"""Pairing Services with workloads and resolving target ports."""
from __future__ import annotations

import textwrap

import pytest

from zdverify.model.kube import build_objects
from zdverify.model.load import load_text
from zdverify.model.pairing import pair, selects
from zdverify.model.source import InputError
from zdverify.model.verdict import NoteKind

WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, tier: front}}
    spec:
      containers:
      - name: proxy
        ports: [{name: http, containerPort: 8080}]
      - name: app
        ports:
        - {name: metrics, containerPort: 9090}
        - {name: dns, containerPort: 53, protocol: UDP}
---
"""

WORKER = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: worker}
spec:
  selector: {matchLabels: {app: worker}}
  template:
    metadata: {labels: {app: worker}}
    spec:
      containers: [{name: w}]
---
"""


def service(name: str, spec: str, namespace: str = "default") -> str:
    return f"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec: {spec}\n---\n"


def run(text: str):  # type: ignore[no-untyped-def]
    return pair(build_objects(load_text(textwrap.dedent(text), "m.yaml")))


def test_named_and_numeric_target_ports() -> None:
    pairs, notes = run(
        WEB
        + service("web", "{selector: {app: web}, ports: [{port: 80, targetPort: http}, {port: 9090}, {port: 81, targetPort: 7000}]}")
    )
    assert [(p.port.port, p.container.name, p.container_port) for p in pairs] == [
        (80, "proxy", 8080),
        (9090, "app", 9090),  # the container that declares the number
        (81, "proxy", 7000),  # undeclared number: first container
    ]
    assert {p.workload.name for p in pairs} == {"web"} and {p.service.name for p in pairs} == {"web"}
    assert notes == []


def test_udp_ports_are_paired_with_their_protocol() -> None:
    pairs, _ = run(WEB + service("dns", "{selector: {app: web}, ports: [{port: 53, targetPort: dns, protocol: UDP}]}"))
    (p,) = pairs
    assert (p.container.name, p.container_port, p.port.protocol) == ("app", 53, "UDP")


def test_unknown_target_port_name_is_an_error_at_its_line() -> None:
    text = WEB + service("web", "\n  selector: {app: web}\n  ports:\n  - port: 80\n  - port: 81\n    targetPort: grpc")
    with pytest.raises(InputError) as info:
        run(text)
    assert info.value.message == 'targetPort "grpc" names no container port of Deployment/default/web'
    assert info.value.loc is not None and info.value.loc.line == text.splitlines().index("    targetPort: grpc") + 1


def test_named_port_must_match_the_protocol() -> None:
    with pytest.raises(InputError, match="with protocol UDP"):
        run(WEB + service("web", "{selector: {app: web}, ports: [{port: 80, targetPort: http, protocol: UDP}]}"))


def test_selection_rules_and_notes() -> None:
    pairs, notes = run(
        WEB
        + WORKER
        + service("both", "{selector: {app: web, tier: front}, ports: [{port: 80}]}")
        + service("wrong-tier", "{selector: {app: web, tier: back}, ports: [{port: 80}]}")
        + service("other-ns", "{selector: {app: web}, ports: [{port: 80}]}", namespace="prod")
        + service("manual", "{ports: [{port: 80}]}")
        + service("headless", "{clusterIP: None, selector: {app: web}, ports: [{port: 80}]}")
        + service("ext", "{type: ExternalName, externalName: example.com}")
    )
    assert [(p.workload.name, p.service.name) for p in pairs] == [("web", "both")]
    assert [(n.kind, n.text) for n in notes] == [
        (NoteKind.SKIPPED, "Service/default/manual: no selector (endpoints are managed by hand); skipped"),
        (NoteKind.SKIPPED,
         "Service/default/headless: headless (clusterIP: None): no virtual IP, clients connect to pod IPs from DNS; "
         "its workloads are listed as left unverified; skipped"),
        (NoteKind.SKIPPED, "Service/default/ext: ExternalName service routes to no pods; skipped"),
        (NoteKind.UNSELECTED, "Deployment/default/worker: no Service selects its pods; left unverified"),
        (NoteKind.UNSELECTED, "Service/default/wrong-tier: selects no workload in the input"),
        (NoteKind.UNSELECTED, "Service/prod/other-ns: selects no workload in the input"),
    ]


def test_a_workload_only_a_headless_service_selects_is_explained() -> None:
    _, notes = run(WORKER + service("db", "{clusterIP: None, selector: {app: worker}, ports: [{port: 5432}]}"))
    [left] = [n for n in notes if n.kind is NoteKind.LEFT_UNVERIFIED]
    assert left.text.startswith("Deployment/default/worker: selected only by headless Service/default/db")
    assert "DNS" in left.text and "no Service selects" not in left.text


def test_one_pair_per_workload_service_and_port_in_input_order() -> None:
    pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: solo, labels: {app: web}}\nspec: {containers: [{name: c}]}\n---\n"
    pairs, notes = run(
        WEB
        + pod
        + service("a", "{selector: {app: web}, ports: [{port: 80, targetPort: 8080}, {port: 81, targetPort: 8080}]}")
        + service("b", "{selector: {app: web}, ports: [{port: 82, targetPort: 8080}]}")
    )
    assert [(p.workload.ref, p.service.name, p.port.port) for p in pairs] == [
        ("Deployment/default/web", "a", 80),
        ("Deployment/default/web", "a", 81),
        ("Deployment/default/web", "b", 82),
        ("Pod/default/solo", "a", 80),
        ("Pod/default/solo", "a", 81),
        ("Pod/default/solo", "b", 82),
    ]
    assert pairs[3].container.name == "c"
    assert notes == []


def test_selects_needs_a_non_empty_selector() -> None:
    objects = build_objects(load_text(WEB + service("s", "{selector: {}}"), "m.yaml"))
    assert not selects(objects.services[0], objects.workloads[0])
