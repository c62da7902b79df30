"""Documents -> typed, validated Kubernetes objects (see :mod:`zdverify.model.objects`).

Deployments, DaemonSets, StatefulSets, bare Pods, Services and PodDisruptionBudgets are
read; other workload kinds (and updates the model does not cover, such as OnDelete) become
:class:`Unverified`, everything else is ignored. Validation mirrors what the API server
rejects (wrong types, out-of-range numbers, a selector that does not match the template,
``maxSurge: 0`` with ``maxUnavailable: 0``, …), and every error points at the line of the
offending value. Defaults are those the API server fills in.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Sequence

from zdverify.model.load import KEY, Document
from zdverify.model.objects import (
    TAINT_EFFECTS,
    Container,
    ContainerPort,
    HandlerKind,
    Hook,
    LabelSelector,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    Autoscaler,
    Objects,
    PodTemplate,
    Probe,
    Service,
    ServicePort,
    ServiceType,
    Strategy,
    Toleration,
    TrafficPolicy,
    Unverified,
    DisruptionBudget,
    Workload,
    PodAffinityTerm,
    SpreadConstraint,
    WorkloadKind,
)
from zdverify.model.source import InputError, Loc, excerpt

_DEPLOYMENT_APIS = {"apps/v1", "apps/v1beta1", "apps/v1beta2", "extensions/v1beta1"}
_HPA_APIS = {"autoscaling/v1", "autoscaling/v2", "autoscaling/v2beta1", "autoscaling/v2beta2"}
_UNVERIFIED_KINDS = {
    "StatefulSet",  # apps/v1beta1 and v1beta2 (removed in 1.16); apps/v1 is modelled
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "DeploymentConfig",
}
_PERCENT = re.compile(r"^[0-9]+%$")
_INT32_MAX = 2**31 - 1
_PROTOCOLS = ("TCP", "UDP", "SCTP")
_PROBE_HANDLERS = (HandlerKind.HTTP_GET, HandlerKind.TCP_SOCKET, HandlerKind.GRPC, HandlerKind.EXEC)
_HOOK_HANDLERS = (HandlerKind.EXEC, HandlerKind.HTTP_GET, HandlerKind.TCP_SOCKET, HandlerKind.SLEEP)
_SELECTOR_OPS = ("In", "NotIn", "Exists", "DoesNotExist")
_NODE_SELECTOR_OPS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")
_TOLERATION_OPS = ("Equal", "Exists")
_INTEGER = re.compile(r"^[+-]?[0-9]+$")  # Go strconv.ParseInt(s, 10, 64)
_TRAFFIC_POLICIES = {
    "Cluster": TrafficPolicy.CLUSTER,
    "Local": TrafficPolicy.LOCAL,
    "Global": TrafficPolicy.CLUSTER,  # legacy spelling
    "OnlyLocal": TrafficPolicy.LOCAL,  # legacy spelling
}


def build_objects(docs: Sequence[Document], problems: list[tuple[Document, InputError]] | None = None) -> Objects:
    """Typed objects from loaded documents, in input order. Without ``problems`` the first
    invalid object raises; with it, each invalid object is left out and its error appended."""
    workloads: list[Workload] = []
    services: list[Service] = []
    unverified: list[Unverified] = []
    budgets: list[DisruptionBudget] = []
    autoscalers: list[Autoscaler] = []
    for doc in docs:
        try:
            obj = _object(doc)
            if obj is not None and doc.scope and not isinstance(obj, Unverified):
                obj = replace(obj, scope=doc.scope)
        except InputError as e:
            if problems is None:
                raise
            problems.append((doc, e))
            continue
        if isinstance(obj, Workload):
            workloads.append(obj)
        elif isinstance(obj, Service):
            services.append(obj)
        elif isinstance(obj, Unverified):
            unverified.append(obj)
        elif isinstance(obj, DisruptionBudget):
            budgets.append(obj)
        elif isinstance(obj, Autoscaler):
            autoscalers.append(obj)
    return Objects(tuple(workloads), tuple(services), tuple(unverified), tuple(budgets), tuple(autoscalers))


def _object(doc: Document) -> Workload | Service | Unverified | DisruptionBudget | None:
    """The typed object of one document; None for kinds the model does not read."""
    root = _Field(doc, (), doc.data, "")
    kind = doc.data.get("kind")
    if not isinstance(kind, str):
        return None
    if kind == "Deployment" and _api_in(root, _DEPLOYMENT_APIS):
        return _deployment(root, doc.data["apiVersion"])
    if kind == "Pod" and _api_in(root, {"v1"}):
        return _pod(root)
    if kind in ("DaemonSet", "StatefulSet") and _api_in(root, {"apps/v1"}):
        return _daemonset(root) if kind == "DaemonSet" else _statefulset(root)
    if kind == "Service" and _api_in(root, {"v1"}):
        return _service(root)
    if kind == "PodDisruptionBudget" and _api_in(root, {"policy/v1", "policy/v1beta1"}):
        return _budget(root)
    if kind == "HorizontalPodAutoscaler" and _api_in(root, _HPA_APIS):
        return _autoscaler(root)
    if kind in _UNVERIFIED_KINDS:
        return _unverified(root, kind)
    return None


def _autoscaler(root: _Field) -> Autoscaler:
    """A HorizontalPodAutoscaler's target and bounds (minReplicas defaults to 1)."""
    namespace, name, _, _ = _metadata(root)
    spec = root.get("spec")
    spec.mapping(required=True)
    ref = spec.get("scaleTargetRef")
    ref.mapping(required=True)
    low = spec.get("minReplicas").integer(1, minimum=0)
    high_field = spec.get("maxReplicas")
    high = high_field.integer(minimum=1)
    if high < low:
        raise high_field.error(f"must be at least minReplicas ({low}), got {high}")
    return Autoscaler(namespace, name, ref.get("kind").string(), ref.get("name").string(), low, high,
                      root.get("kind").loc, root.locs())


def _budget(root: _Field) -> DisruptionBudget:
    namespace, name, _, _ = _metadata(root)
    spec = root.get("spec")
    spec.mapping()
    selector = _label_selector(spec.get("selector"))
    values = {}
    for key in ("minAvailable", "maxUnavailable"):
        f = spec.get(key)
        values[key] = None if f.value is None else _surge_or_unavailable(f, 0)
    if values["minAvailable"] is not None and values["maxUnavailable"] is not None:
        raise spec.get("maxUnavailable").error("minAvailable and maxUnavailable cannot both be set")
    return DisruptionBudget(namespace, name, selector, values["minAvailable"], values["maxUnavailable"],
                            root.get("kind").loc, root.locs())


def _unverified(root: _Field, kind: str) -> Unverified:
    """A workload kind the model does not cover; its metadata is read leniently."""
    meta = root.get("metadata").value
    meta = meta if isinstance(meta, dict) else {}
    namespace, name = meta.get("namespace"), meta.get("name")
    ref = f"{kind}/{namespace if isinstance(namespace, str) else 'default'}/"
    ref += name if isinstance(name, str) else "<unnamed>"
    return Unverified(ref, f"{kind} is not modelled yet", root.get("kind").loc)


def _api_in(root: _Field, apis: set[str]) -> bool:
    """Whether the object's apiVersion is one of ``apis`` (absent: an error)."""
    api = root.get("apiVersion")
    if api.value is None:
        raise api.error(f"required for kind {root.value['kind']}")
    return api.string() in apis


# ---------------------------------------------------------------------------- fields


@dataclass(frozen=True)
class _Field:
    """A value in a document with its path, for typed reads and located errors."""

    doc: Document
    path: tuple
    value: Any  # None when absent (or null, which Kubernetes treats the same)
    name: str  # dotted path for messages, e.g. "spec.template.spec.containers[0].name"

    def get(self, key: str) -> _Field:
        value = self.value.get(key) if isinstance(self.value, dict) else None
        return _Field(self.doc, self.path + (key,), value, f"{self.name}.{key}" if self.name else key)

    def items(self) -> list[_Field]:
        """The entries of a list field ([] when absent)."""
        value = self.value
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.type_error("a list")
        return [_Field(self.doc, self.path + (i,), v, f"{self.name}[{i}]") for i, v in enumerate(value)]

    @property
    def loc(self) -> Loc:
        """Where this field is written: its key, its value, or its nearest written parent."""
        locs = self.doc.locs
        path = self.path
        while path:
            loc = locs.get(path + (KEY,)) or locs.get(path)
            if loc is not None:
                return loc
            path = path[:-1]
        return self.doc.loc

    @property
    def value_loc(self) -> Loc:
        """Where the value itself starts (the ``-`` line for a list item)."""
        return self.doc.locs.get(self.path) or self.loc

    def error(self, message: str) -> InputError:
        return InputError(f"{self.name}: {message}" if self.name else message, self.loc)

    def type_error(self, expected: str) -> InputError:
        return self.error(f"expected {expected}, got {_describe(self.value)}")

    def mapping(self, required: bool = False) -> dict[str, Any]:
        if self.value is None:
            if required:
                raise self.error("required field is missing")
            return {}
        if not isinstance(self.value, dict):
            raise self.type_error("a mapping")
        return self.value

    def integer(
        self, default: int | None = None, minimum: int | None = None, maximum: int = _INT32_MAX
    ) -> int:
        value = self.value
        if value is None:
            if default is None:
                raise self.error("required field is missing")
            return default
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # sigs.k8s.io/yaml turns 30.0 into JSON 30
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.type_error("an integer")
        if minimum is not None and value < minimum:
            raise self.error(f"must be at least {minimum}, got {value}")
        if value > maximum:
            raise self.error(f"must be at most {maximum}, got {value}")
        return value

    def string(self, default: str | None = None) -> str:
        if self.value is None:
            if default is None:
                raise self.error("required field is missing")
            return default
        if not isinstance(self.value, str):
            raise self.type_error("a string")
        return self.value

    def optional_string(self) -> str | None:
        return None if self.value is None else self.string()

    def boolean(self, default: bool) -> bool:
        if self.value is None:
            return default
        if not isinstance(self.value, bool):
            raise self.type_error("a boolean (true or false)")
        return self.value

    def choice(self, default: str | None, allowed: Sequence[str]) -> str:
        """One of ``allowed``; absent or "" takes ``default`` where there is one (the API
        server's defaulting functions test for the empty string)."""
        value = self.string(default)
        if value == "" and default is not None:
            return default
        if value not in allowed:
            raise self.error(f'{excerpt(str(value))} is not one of {", ".join(allowed)}')
        return value

    def string_map(self) -> dict[str, str]:
        result = {}
        for key, value in self.mapping().items():
            if not isinstance(value, str):
                raise self.get(key).type_error("a string (quote it)")
            result[key] = value
        return result

    def port_name_or_number(self) -> int | str:
        """An IntOrString port: 1..65535, or a name (names contain a letter)."""
        value = self.value
        if isinstance(value, str):
            if not any(c.isalpha() for c in value):
                raise self.error(
                    f'{excerpt(str(value))} is neither a port number nor a port name '
                    "(port names contain a letter; write numbers unquoted)"
                )
            return value
        return self.integer(minimum=1, maximum=65535)

    def locs(self) -> dict[str, Loc]:
        """Positions of everything under this field, as paths relative to it."""
        n = len(self.path)
        result: dict[str, Loc] = {}
        for path, loc in self.doc.locs.items():
            if len(path) <= n or path[:n] != self.path or path[-1] == KEY:
                continue
            result[_dotted(path[n:])] = self.doc.locs.get(path + (KEY,), loc)
        return result


def _dotted(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"string {excerpt(value)}"
    if isinstance(value, (int, float)):
        return f"number {value}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


# ---------------------------------------------------------------------------- workloads


def _metadata(
    root: _Field, allow_generate_name: bool = False
) -> tuple[str, str, dict[str, str], dict[str, str]]:
    """(namespace, name, labels, annotations) of an object."""
    meta = root.get("metadata")
    meta.mapping()
    name = meta.get("name")
    if name.value is None and allow_generate_name and meta.get("generateName").value is not None:
        name = meta.get("generateName")
    if name.value is None:
        where = meta if meta.value is not None else root.get("kind")
        raise InputError("metadata.name is required", where.loc)
    return (
        meta.get("namespace").string("default"),
        name.string(),
        meta.get("labels").string_map(),
        meta.get("annotations").string_map(),
    )


def _deployment(root: _Field, api: str) -> Workload:
    namespace, name, annotations, spec, template, labels, selector, min_ready = _controller_head(root, api)
    pod_spec = template.get("spec")
    replicas = spec.get("replicas").integer(1, minimum=0)
    deadline = spec.get("progressDeadlineSeconds")
    if deadline.value is not None and deadline.integer(minimum=0) <= min_ready:
        raise deadline.error(f"must be greater than minReadySeconds ({min_ready})")
    default_surge: int | str = 1 if api == "extensions/v1beta1" else "25%"
    strategy_field = spec.get("strategy")
    strategy_field.mapping()
    strategy = Strategy(strategy_field.get("type").choice("RollingUpdate", ("RollingUpdate", "Recreate")))
    rolling = strategy_field.get("rollingUpdate")
    rolling.mapping()
    if strategy is Strategy.RECREATE and rolling.value is not None:
        raise rolling.error("may not be set when strategy.type is Recreate")
    surge = _surge_or_unavailable(rolling.get("maxSurge"), default_surge)
    unavailable = _surge_or_unavailable(rolling.get("maxUnavailable"), default_surge)
    if surge in (0, "0%") and unavailable in (0, "0%"):
        raise rolling.get("maxUnavailable").error("maxSurge and maxUnavailable cannot both be 0")
    pod = _pod_template(pod_spec, labels)
    locs = root.locs()
    locs.update({f"spec.template.spec.{k}": v for k, v in pod.locs.items()})
    return Workload(
        kind=WorkloadKind.DEPLOYMENT,
        namespace=namespace,
        name=name,
        replicas=replicas,
        selector=selector,
        template=pod,
        strategy=strategy,
        max_surge=surge,
        max_unavailable=unavailable,
        min_ready_seconds=min_ready,
        paused=spec.get("paused").boolean(False),
        annotations=annotations,
        loc=root.get("kind").loc,
        locs=locs,
    )


def _controller_head(root: _Field, api: str = "apps/v1") -> tuple[
        str, str, dict[str, str], _Field, _Field, dict[str, str], LabelSelector, int]:
    """What a Deployment, DaemonSet and StatefulSet start with: metadata, spec, the template
    and its labels, the selector (matching them; required from apps/v1), minReadySeconds."""
    namespace, name, _, annotations = _metadata(root)
    spec = root.get("spec")
    spec.mapping()
    template = spec.get("template")
    template.mapping(required=True)
    labels = template.get("metadata").get("labels").string_map()
    selector = _deployment_selector(spec.get("selector"), api, labels)
    min_ready = spec.get("minReadySeconds").integer(0, minimum=0)
    return namespace, name, annotations, spec, template, labels, selector, min_ready


def _daemonset(root: _Field) -> Workload | Unverified:
    """A DaemonSet with a RollingUpdate update strategy (apps/v1; defaults maxUnavailable 1,
    maxSurge 0). OnDelete replaces pods only when someone deletes them: nothing rolls."""
    namespace, name, annotations, spec, template, labels, selector, min_ready = _controller_head(root)
    strategy_field = spec.get("updateStrategy")
    strategy_field.mapping()
    kind = strategy_field.get("type").choice("RollingUpdate", ("RollingUpdate", "OnDelete"))
    if kind == "OnDelete":
        return Unverified(f"DaemonSet/{namespace}/{name}",
                          "updateStrategy OnDelete replaces pods only when they are deleted by hand",
                          strategy_field.get("type").loc)
    rolling = strategy_field.get("rollingUpdate")
    rolling.mapping()
    surge = _surge_or_unavailable(rolling.get("maxSurge"), 0)
    unavailable = _surge_or_unavailable(rolling.get("maxUnavailable"), 1)
    if surge in (0, "0%") and unavailable in (0, "0%"):
        raise rolling.get("maxUnavailable").error("may not be 0 when maxSurge is 0")
    pod = _pod_template(template.get("spec"), labels)
    locs = root.locs()
    locs.update({f"spec.template.spec.{k}": v for k, v in pod.locs.items()})
    return Workload(
        kind=WorkloadKind.DAEMON_SET, namespace=namespace, name=name, replicas=0, selector=selector,
        template=pod, strategy=Strategy.DAEMON_SET, max_surge=surge, max_unavailable=unavailable,
        min_ready_seconds=min_ready, annotations=annotations, loc=root.get("kind").loc, locs=locs)


def _statefulset(root: _Field) -> Workload | Unverified:
    """A StatefulSet with a RollingUpdate update strategy (apps/v1, the default strategy).

    ``pkg/controller/statefulset/stateful_set_control.go`` ``updateStatefulSet``: the pod with
    the highest ordinal >= ``partition`` not yet updated is deleted, once every pod is healthy;
    its replacement (same name) is created when it is gone. ``maxUnavailable`` counts only with
    the ``MaxUnavailableStatefulSet`` gate (KEP-961; the scenario resolves it against the
    version); OnDelete rolls nothing."""
    namespace, name, annotations, spec, template, labels, selector, min_ready = _controller_head(root)
    ref = f"StatefulSet/{namespace}/{name}"
    replicas = spec.get("replicas").integer(1, minimum=0)
    ordered = spec.get("podManagementPolicy").choice("OrderedReady", ("OrderedReady", "Parallel")) == "OrderedReady"
    strategy_field = spec.get("updateStrategy")
    strategy_field.mapping()
    kind = strategy_field.get("type").choice("RollingUpdate", ("RollingUpdate", "OnDelete"))
    if kind == "OnDelete":
        return Unverified(ref, "updateStrategy OnDelete replaces pods only when they are deleted by hand",
                          strategy_field.get("type").loc)
    rolling = strategy_field.get("rollingUpdate")
    rolling.mapping()
    partition = rolling.get("partition").integer(0, minimum=0)
    max_unavailable = rolling.get("maxUnavailable")
    unavailable: int | str = 1
    if max_unavailable.value is not None:
        unavailable = _surge_or_unavailable(max_unavailable, 1)
        if unavailable in (0, "0%"):
            raise max_unavailable.error("must be greater than 0")
    if replicas > 0 and partition >= replicas:
        return Unverified(ref, f"rollingUpdate.partition {partition} >= replicas {replicas}: no pod is updated",
                          rolling.get("partition").loc)
    pod = _pod_template(template.get("spec"), labels)
    locs = root.locs()
    locs.update({f"spec.template.spec.{k}": v for k, v in pod.locs.items()})
    return Workload(
        kind=WorkloadKind.STATEFUL_SET, namespace=namespace, name=name, replicas=replicas, selector=selector,
        template=pod, strategy=Strategy.STATEFUL_SET, max_surge=0, max_unavailable=unavailable,
        min_ready_seconds=min_ready, annotations=annotations, partition=partition, ordered=ordered,
        loc=root.get("kind").loc, locs=locs)


def _surge_or_unavailable(f: _Field, default: int | str) -> int | str:
    """maxSurge/maxUnavailable: an integer >= 0 or a percentage string like "25%"."""
    if f.value is None:
        return default
    if isinstance(f.value, str):
        if not _PERCENT.match(f.value):
            raise f.error(f'must be an integer or a percentage like "25%", got string {excerpt(str(f.value))}')
        if f.path[-1] == "maxUnavailable" and int(f.value[:-1]) > 100:
            raise f.error(f"must not be greater than 100%, got {f.value}")
        return f.value
    if isinstance(f.value, bool) or not isinstance(f.value, (int, float)):
        raise f.error(f"must be an integer or a percentage, got {_describe(f.value)}")
    return f.integer(minimum=0)


def _deployment_selector(f: _Field, api: str, labels: dict[str, str]) -> LabelSelector:
    if f.value is None:
        if api == "apps/v1":
            raise f.error("required field is missing (apps/v1 Deployments need a selector)")
        selector = LabelSelector(tuple(sorted(labels.items())))
    else:
        selector = _label_selector(f)
    if selector.empty:
        raise f.error("empty selector is invalid for a Deployment")
    if not selector.matches(labels):
        raise f.error("selector does not match template labels")
    return selector


def _label_selector(f: _Field) -> LabelSelector:
    f.mapping()
    match_labels = tuple(f.get("matchLabels").string_map().items())
    expressions = []
    for e in f.get("matchExpressions").items():
        e.mapping()
        key = e.get("key").string()
        op = e.get("operator").choice(None, _SELECTOR_OPS)
        values = tuple(v.string() for v in e.get("values").items())
        if op in ("In", "NotIn") and not values:
            raise e.get("values").error(f"must be non-empty for operator {op}")
        if op in ("Exists", "DoesNotExist") and values:
            raise e.get("values").error(f"must be empty for operator {op}")
        expressions.append((key, op, values))
    return LabelSelector(match_labels, tuple(expressions))


def _pod(root: _Field) -> Workload:
    """A bare Pod, as a one-replica workload replaced by delete + create."""
    namespace, name, labels, annotations = _metadata(root, allow_generate_name=True)
    spec = root.get("spec")
    pod = _pod_template(spec, labels)
    locs = root.locs()
    spec_loc = spec.loc
    locs.setdefault("spec.template", spec_loc)
    locs.setdefault("spec.template.spec", spec_loc)
    for key, loc in root.get("metadata").locs().items():
        locs.setdefault(f"spec.template.metadata.{key}", loc)
    locs.update({f"spec.template.spec.{k}": v for k, v in pod.locs.items()})
    return Workload(
        kind=WorkloadKind.POD,
        namespace=namespace,
        name=name,
        replicas=1,
        selector=LabelSelector(tuple(sorted(labels.items()))),
        template=pod,
        strategy=Strategy.RECREATE,
        annotations=annotations,
        loc=root.get("kind").loc,
        locs=locs,
    )


def _pod_template(spec: _Field, labels: dict[str, str]) -> PodTemplate:
    spec.mapping(required=True)
    grace = spec.get("terminationGracePeriodSeconds").integer(30, minimum=0)
    containers_field = spec.get("containers")
    entries = containers_field.items()
    if not entries:
        raise containers_field.error("at least one container is required")
    containers = tuple(_container(c, grace) for c in entries)
    sidecars = []
    for init in spec.get("initContainers").items():
        init.mapping()
        if init.get("restartPolicy").optional_string() == "Always":  # a native sidecar
            sidecars.append(_container(init, grace))
    gates = []
    for gate in spec.get("readinessGates").items():
        gate.mapping()
        gates.append(gate.get("conditionType").string())
    required, preferred = _node_affinity(spec.get("affinity"))
    anti, preferred_anti, pod_affinity = _pod_affinity(spec.get("affinity"))
    return PodTemplate(
        labels=labels,
        containers=containers,
        sidecars=tuple(sidecars),
        grace_seconds=grace,
        node_selector=spec.get("nodeSelector").string_map(),
        readiness_gates=tuple(gates),
        required_node_terms=required,
        preferred_node_terms=preferred,
        tolerations=tuple(_toleration(t) for t in spec.get("tolerations").items()),
        anti_affinity=anti,
        preferred_anti_affinity=preferred_anti,
        pod_affinity=pod_affinity,
        spread=tuple(_spread(c) for c in spec.get("topologySpreadConstraints").items()),
        loc=spec.loc,
        locs=spec.locs(),
    )


def _pod_affinity(affinity: _Field) -> tuple[tuple[PodAffinityTerm, ...], tuple[PodAffinityTerm, ...], bool]:
    """(required anti-affinity terms, preferred anti-affinity terms, whether required pod
    affinity is set) of ``affinity``."""
    affinity.mapping()
    anti = affinity.get("podAntiAffinity")
    anti.mapping()
    required = tuple(_pod_affinity_term(t) for t in anti.get("requiredDuringSchedulingIgnoredDuringExecution").items())
    preferred = []
    for p in anti.get("preferredDuringSchedulingIgnoredDuringExecution").items():
        p.mapping()
        weight = p.get("weight").integer(minimum=1, maximum=100)
        term = p.get("podAffinityTerm")
        term.mapping(required=True)
        preferred.append(replace(_pod_affinity_term(term), weight=weight))
    together = affinity.get("podAffinity")
    together.mapping()
    # validated; the terms are about other workloads' pods, so only their presence is kept
    pod_affinity = [_pod_affinity_term(t) for t in together.get("requiredDuringSchedulingIgnoredDuringExecution").items()]
    return required, tuple(preferred), bool(pod_affinity)


def _pod_affinity_term(f: _Field) -> PodAffinityTerm:
    f.mapping()
    key = f.get("topologyKey").string()
    if not key:
        raise f.get("topologyKey").error("can not be empty")
    sel = f.get("labelSelector")
    selector = _label_selector(sel) if sel.value is not None else LabelSelector(nothing=True)
    namespaces = tuple(n.string() for n in f.get("namespaces").items())
    ns_selector = f.get("namespaceSelector")
    keys = tuple(k.string() for k in f.get("matchLabelKeys").items())
    return PodAffinityTerm(selector, key, namespaces, ns_selector.value is not None, keys, loc=f.value_loc)


def _spread(f: _Field) -> SpreadConstraint:
    f.mapping()
    skew = f.get("maxSkew").integer(minimum=1)
    key = f.get("topologyKey").string()
    if not key:
        raise f.get("topologyKey").error("can not be empty")
    hard = f.get("whenUnsatisfiable").choice(None, ("DoNotSchedule", "ScheduleAnyway")) == "DoNotSchedule"
    sel = f.get("labelSelector")
    selector = _label_selector(sel) if sel.value is not None else LabelSelector(nothing=True)
    keys = tuple(k.string() for k in f.get("matchLabelKeys").items())
    min_domains = f.get("minDomains").integer(1, minimum=1)
    if min_domains > 1 and not hard:
        raise f.get("minDomains").error("can only be used with whenUnsatisfiable: DoNotSchedule")
    return SpreadConstraint(skew, key, hard, selector, keys, min_domains, loc=f.value_loc)


def _node_affinity(
    affinity: _Field,
) -> tuple[tuple[NodeSelectorTerm, ...], tuple[NodeSelectorTerm, ...]]:
    """(required terms, preferred terms) of ``affinity.nodeAffinity``; pod (anti-)affinity is
    not read here."""
    affinity.mapping()
    node = affinity.get("nodeAffinity")
    node.mapping()
    required: tuple[NodeSelectorTerm, ...] = ()
    selector = node.get("requiredDuringSchedulingIgnoredDuringExecution")
    if selector.value is not None:
        selector.mapping()
        terms = selector.get("nodeSelectorTerms")
        required = tuple(_node_selector_term(t) for t in terms.items())
        if not required:
            raise terms.error("must have at least one node selector term")
    preferred = []
    for p in node.get("preferredDuringSchedulingIgnoredDuringExecution").items():
        p.mapping()
        p.get("weight").integer(minimum=1, maximum=100)
        preference = p.get("preference")
        preference.mapping(required=True)
        preferred.append(_node_selector_term(preference))
    return required, tuple(preferred)


def _node_selector_term(f: _Field) -> NodeSelectorTerm:
    """A node selector term; its matchFields are accepted but not read."""
    f.mapping()
    requirements = []
    for e in f.get("matchExpressions").items():
        e.mapping()
        key = e.get("key").string()
        op = e.get("operator").choice(None, _NODE_SELECTOR_OPS)
        values_field = e.get("values")
        values = tuple(v.string() for v in values_field.items())
        if op in ("In", "NotIn") and not values:
            raise values_field.error(f"must be non-empty for operator {op}")
        if op in ("Exists", "DoesNotExist") and values:
            raise values_field.error(f"must be empty for operator {op}")
        if op in ("Gt", "Lt"):
            if len(values) != 1:
                raise values_field.error(f"must have exactly one value for operator {op}, got {len(values)}")
            if not _INTEGER.match(values[0]):
                raise values_field.items()[0].error(
                    f'must be an integer for operator {op}, got "{values[0]}"'
                )
        requirements.append(NodeSelectorRequirement(key, op, values, loc=e.value_loc))
    fields = f.get("matchFields").items()
    return NodeSelectorTerm(tuple(requirements), ignored_fields=bool(fields), loc=f.value_loc)


def _toleration(f: _Field) -> Toleration:
    f.mapping()
    key = f.get("key").string("")
    op_field = f.get("operator")
    op = "Equal" if op_field.value == "" else op_field.choice("Equal", _TOLERATION_OPS)
    value_field = f.get("value")
    value = value_field.string("")
    if op == "Exists" and value:
        raise value_field.error(f'must be empty when operator is Exists, got "{value}"')
    if not key and op != "Exists":
        raise op_field.error('must be Exists when key is empty (which means "match all keys and values")')
    effect_field = f.get("effect")
    effect = effect_field.string("")
    if effect and effect not in TAINT_EFFECTS:
        raise effect_field.error(f'{excerpt(str(effect))} is not one of {", ".join(TAINT_EFFECTS)} (or empty for all)')
    seconds = f.get("tolerationSeconds")
    if seconds.value is not None:
        seconds.integer(minimum=-(2**63), maximum=2**63 - 1)
        if effect != "NoExecute":
            raise seconds.error("may only be set when effect is NoExecute")
    return Toleration(key=key, operator=op, value=value, effect=effect, loc=f.value_loc)


def _container(f: _Field, grace: int) -> Container:
    f.mapping()
    name = f.get("name").string()
    ports = []
    seen: dict[str, int] = {}
    for p in f.get("ports").items():
        p.mapping()
        port_name = p.get("name").optional_string()
        if port_name is not None:
            if port_name in seen:
                first = seen[port_name]
                raise p.get("name").error(f'duplicate port name "{port_name}" (first at line {first})')
            seen[port_name] = p.get("name").loc.line
        ports.append(
            ContainerPort(
                port=p.get("containerPort").integer(minimum=1, maximum=65535),
                name=port_name,
                protocol=p.get("protocol").choice("TCP", _PROTOCOLS),
                host_port=p.get("hostPort").integer(default=0, minimum=0, maximum=65535) or None,  # 0: unset
                loc=p.value_loc,
            )
        )
    port_names = set(seen)
    lifecycle = f.get("lifecycle")
    lifecycle.mapping()
    pre_stop = lifecycle.get("preStop")
    return Container(
        name=name,
        ports=tuple(ports),
        readiness=_probe(f.get("readinessProbe"), name, port_names, liveness=False),
        liveness=_probe(f.get("livenessProbe"), name, port_names, liveness=True),
        startup=_probe(f.get("startupProbe"), name, port_names, liveness=True),
        pre_stop=_hook(pre_stop, grace) if pre_stop.value is not None else None,
        loc=f.value_loc,
        locs=f.locs(),
    )


def _handler(f: _Field, kinds: Sequence[HandlerKind]) -> tuple[HandlerKind, _Field]:
    """The one handler a probe or hook sets, and its field."""
    f.mapping()
    present = [k for k in kinds if f.get(k.value).value is not None]
    names = ", ".join(k.value for k in kinds)
    if not present:
        raise f.error(f"must set one handler ({names})")
    if len(present) > 1:
        raise f.get(present[1].value).error(f"may not set more than one handler ({names})")
    return present[0], f.get(present[0].value)


def _probe(f: _Field, container: str, port_names: set[str], liveness: bool) -> Probe | None:
    if f.value is None:
        return None
    kind, handler = _handler(f, _PROBE_HANDLERS)
    handler.mapping()
    port: int | str | None = None
    command: tuple[str, ...] = ()
    if kind is HandlerKind.GRPC:
        port = handler.get("port").integer(minimum=1, maximum=65535)
    elif kind is HandlerKind.EXEC:
        command = _command(handler.get("command"))
    else:
        port_field = handler.get("port")
        if port_field.value is None:
            raise port_field.error("required field is missing")
        port = port_field.port_name_or_number()
        if isinstance(port, str) and port not in port_names:
            raise port_field.error(f'{excerpt(str(port))} names no port of container "{container}"')
    success = _probe_number(f.get("successThreshold"), 1)
    if liveness and success != 1:
        raise f.get("successThreshold").error(f"must be 1 for liveness and startup probes, got {success}")
    return Probe(
        kind=kind,
        port=port,
        initial_delay=f.get("initialDelaySeconds").integer(0, minimum=0),
        period=_probe_number(f.get("periodSeconds"), 10),
        timeout=_probe_number(f.get("timeoutSeconds"), 1),
        success_threshold=success,
        failure_threshold=_probe_number(f.get("failureThreshold"), 3),
        loc=f.loc,
        locs=f.locs(),
        command=command,
    )


def _probe_number(f: _Field, default: int) -> int:
    """A probe count or period: 0 (like absent) takes the default, negatives are errors."""
    return f.integer(default, minimum=0) or default


def _command(f: _Field) -> tuple[str, ...]:
    """An exec command; numbers are accepted and turned into strings."""
    words = []
    for word in f.items():
        value = word.value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            words.append(str(value))
        else:
            words.append(word.string())
    return tuple(words)


def _hook(f: _Field, grace: int) -> Hook:
    kind, handler = _handler(f, _HOOK_HANDLERS)
    handler.mapping()
    command: tuple[str, ...] = ()
    seconds = None
    port: int | str | None = None
    if kind is HandlerKind.EXEC:
        command = _command(handler.get("command"))
    elif kind is HandlerKind.SLEEP:
        seconds = handler.get("seconds").integer(minimum=0)
        if seconds > grace:
            raise handler.get("seconds").error(
                f"must not exceed terminationGracePeriodSeconds ({grace}), got {seconds}"
            )
    else:
        port_field = handler.get("port")
        if port_field.value is None:
            raise port_field.error("required field is missing")
        port = port_field.port_name_or_number()
    return Hook(kind=kind, command=command, seconds=seconds, port=port, loc=f.loc, locs=f.locs())


# ---------------------------------------------------------------------------- services


def _service(root: _Field) -> Service:
    namespace, name, _, annotations = _metadata(root)
    spec = root.get("spec")
    spec.mapping()
    type_field = spec.get("type")
    stype = ServiceType(type_field.choice("ClusterIP", [t.value for t in ServiceType]))
    selector_field = spec.get("selector")
    selector: dict[str, str] | None = selector_field.string_map() or None
    if stype is ServiceType.EXTERNAL_NAME:
        selector = None
    ports = []
    for p in spec.get("ports").items():
        p.mapping()
        number = p.get("port").integer(minimum=1, maximum=65535)
        target = p.get("targetPort")
        node_port = p.get("nodePort")
        if node_port.value is not None:
            node_port.integer(minimum=1, maximum=65535)
        ports.append(
            ServicePort(
                port=number,
                # the API server defaults an absent, 0 or empty targetPort to the port (SetDefaults_Service)
                target_port=number if target.value is None or target.value == "" or (
                    type(target.value) is int and target.value == 0) else target.port_name_or_number(),
                name=p.get("name").optional_string(),
                protocol=p.get("protocol").choice("TCP", _PROTOCOLS),
                loc=p.value_loc,
            )
        )
    external = _traffic_policy(spec.get("externalTrafficPolicy"))
    if external is TrafficPolicy.LOCAL and stype not in (ServiceType.NODE_PORT, ServiceType.LOAD_BALANCER):
        raise spec.get("externalTrafficPolicy").error(
            f"Local is only allowed for NodePort and LoadBalancer services, not {stype.value}"
        )
    return Service(
        namespace=namespace,
        name=name,
        type=stype,
        selector=selector,
        ports=tuple(ports),
        external_traffic_policy=external,
        internal_traffic_policy=_traffic_policy(spec.get("internalTrafficPolicy")),
        publish_not_ready=spec.get("publishNotReadyAddresses").boolean(False),
        headless=spec.get("clusterIP").value == "None",
        annotations=annotations,
        loc=root.get("kind").loc,
        locs=root.locs(),
    )


def _traffic_policy(f: _Field) -> TrafficPolicy:
    return _TRAFFIC_POLICIES[f.choice("Cluster", tuple(_TRAFFIC_POLICIES))]
