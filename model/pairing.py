"""Which Service routes to which workload, and to which container port.

A Service selects a workload when both are in one namespace, the Service has a non-empty
selector and every selector label equals a label of the pod template. Each selected
(workload, service, service port) becomes a :class:`Pair`, resolved to the container that
serves the target port, the way the endpoints controller resolves it.
"""
from __future__ import annotations

from dataclasses import dataclass

from zdverify.model.objects import Container, Objects, Service, ServicePort, ServiceType, Workload, WorkloadKind
from zdverify.model.source import InputError
from zdverify.model.verdict import Note, NoteKind


@dataclass(frozen=True)
class Pair:
    """A service port routed to a workload's container port."""

    workload: Workload
    service: Service
    port: ServicePort
    container: Container
    container_port: int
    # other workloads the Service selects (canary, blue/green, versions): their pods are
    # endpoints too while this one rolls; those with no replicas are left out
    companions: tuple[Workload, ...] = ()


def pair(objects: Objects, problems: list[InputError] | None = None,
         focus: set[int] | None = None) -> tuple[list[Pair], list[Note]]:
    """Pairs in input order (workload, then service, then port), and notes on what was skipped.
    A port that resolves to no container port raises, or with ``problems`` is appended there
    and left out. ``focus``: the ids of the objects to report on (``--context``): only pairs
    and notes with one of them."""
    def shown(*objs: object) -> bool:
        return focus is None or any(id(o) in focus for o in objs)

    notes: list[Note] = []
    routable: list[Service] = []
    for service in objects.services:
        reason = _skip_reason(service)
        if reason:
            if shown(service):
                notes.append(Note(NoteKind.SKIPPED, f"{service.ref}: {reason}; skipped"))
        else:
            routable.append(service)
    pairs: list[Pair] = []
    selected: set[int] = set()
    for workload in objects.workloads:
        services = [(i, s) for i, s in enumerate(routable) if selects(s, workload)]
        if not services and shown(workload):
            headless = [s for s in objects.services if s.headless and selects(s, workload)]
            notes.append(Note(NoteKind.LEFT_UNVERIFIED, f"{workload.ref}: selected only by headless "
                              f"{', '.join(s.ref for s in headless)} (clusterIP: None): clients resolve the pod IPs "
                              "through DNS and connect to them directly, without kube-proxy — what a rollout drops "
                              "then depends on the clients' DNS caching and retries, which zdverify does not model; "
                              "left unverified") if headless else
                         Note(NoteKind.UNSELECTED, f"{workload.ref}: no Service selects its pods; left unverified"))
        for i, service in services:
            selected.add(i)
            if not shown(workload, service):
                continue
            for index, port in enumerate(service.ports):
                try:
                    container, number = _target(workload, service, index, port)
                except InputError as e:
                    if problems is None:
                        raise
                    problems.append(e)
                    continue
                others = tuple(w for w in objects.workloads if w is not workload and selects(service, w)
                               and (w.replicas > 0 or w.kind is WorkloadKind.DAEMON_SET)
                               and _serves(w, service, index, port))
                pairs.append(Pair(workload, service, port, container, number, others))
    for i, service in enumerate(routable):
        if i not in selected and shown(service):
            notes.append(Note(NoteKind.UNSELECTED, f"{service.ref}: selects no workload in the input"))
    return pairs, notes


def selects(service: Service, workload: Workload) -> bool:
    """Whether ``service`` routes to the pods of ``workload``."""
    if service.namespace != workload.namespace or not service.selector or service.scope != workload.scope:
        return False
    labels = workload.template.labels
    return all(labels.get(k) == v for k, v in service.selector.items())


def _skip_reason(service: Service) -> str | None:
    if service.type is ServiceType.EXTERNAL_NAME:
        return "ExternalName service routes to no pods"
    if service.headless:
        return ("headless (clusterIP: None): no virtual IP, clients connect to pod IPs from DNS; "
                "its workloads are listed as left unverified")
    if not service.selector:
        return "no selector (endpoints are managed by hand)"
    return None


def _serves(workload: Workload, service: Service, index: int, port: ServicePort) -> bool:
    """Is ``workload`` an endpoint of this port (a named targetPort needs a port of that name)?"""
    try:
        _target(workload, service, index, port)
    except InputError:
        return False
    return True


def _target(workload: Workload, service: Service, index: int, port: ServicePort) -> tuple[Container, int]:
    """The container and port number a service port's targetPort resolves to."""
    containers = workload.template.containers
    if isinstance(port.target_port, str):
        for container in containers:
            for cp in container.ports:
                if cp.name == port.target_port and cp.protocol == port.protocol:
                    return container, cp.port
        protocol = "" if port.protocol == "TCP" else f" with protocol {port.protocol}"
        raise InputError(
            f'targetPort "{port.target_port}" names no container port{protocol} of {workload.ref}',
            service.loc_of(f"spec.ports[{index}].targetPort"),
        )
    for container in containers:
        if any(cp.port == port.target_port for cp in container.ports):
            return container, port.target_port
    return containers[0], port.target_port  # routed by number even if undeclared
