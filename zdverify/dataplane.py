"""A small Linux data plane in network namespaces, shaped like a cluster's: one namespace per
node (its kube-proxy rules, a client for ClusterIP traffic), one per pod (a server), a
fabric bridge between the nodes and an outside client namespace. Everything is made under
one tag and removed by :meth:`DataPlane.close` (also on errors and Ctrl-C by the caller);
traffic stays inside these namespaces.

Addresses: the fabric is 10.100.0.0/24 (node i: 10.100.0.(10+i), the outside client
10.100.0.2); pod j is 10.110.j.2 behind its node's 10.110.j.1; Service VIPs are 10.96.0.0/16
and the NodePort is 30080 on every node.

The rules follow ``pkg/proxy/iptables/proxier.go``: ``KUBE-SERVICES`` → ``KUBE-SVC-…``
(endpoints chosen by ``statistic`` probabilities) → ``KUBE-SEP-…`` DNAT; external traffic
through ``KUBE-EXT-…`` (marked for MASQUERADE under Cluster; only local endpoints under
Local); a Service with no endpoint REJECTs (filter ``KUBE-SERVICES`` /
``KUBE-EXTERNAL-SERVICES``), external traffic with no local endpoint under Local is DROPped;
with no ready endpoint, serving terminating ones are used (the fallback, 1.26+).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from typing import Sequence

VIP = "10.96.0.10"
LB_VIP = "10.100.0.1"  # the L4 load balancer's address, as the outside client sees it
NODE_PORT = 30080
POD_PORT = 8080
TOOLS = ("ip", "iptables", "iptables-restore")


class DataPlaneError(Exception):
    """The data plane could not be built here (privilege, tools, kernel)."""


def unavailable() -> str | None:
    """Why no data plane can be built here, or None."""
    if os.geteuid() != 0:
        return "needs root, or CAP_NET_ADMIN and CAP_SYS_ADMIN (network namespaces, iptables)"
    absent = [t for t in TOOLS if shutil.which(t) is None]
    if absent:
        return f"needs {', '.join(absent)} (Debian packages iproute2 and iptables)"
    return None


def node_ip(i: int) -> str:
    return f"10.100.0.{10 + i}"


def pod_ip(j: int) -> str:
    return f"10.110.{j}.2"


@dataclass(frozen=True)
class Endpoint:
    """An endpoint as one node's kube-proxy last applied it."""

    pod: int  # index into the data plane's pods
    node: int  # the pod's node
    ready: bool
    serving: bool
    terminating: bool


def _run(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(args), capture_output=True, text=True, input=input, timeout=60)
    if done.returncode != 0:
        raise DataPlaneError(f"{' '.join(args)}: {done.stderr.strip() or done.returncode}")
    return done


@dataclass
class DataPlane:
    nodes: int
    pods: Sequence[int]  # each pod's node
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    namespaces: list[str] = field(default_factory=list)

    def name(self, what: str) -> str:
        return f"zdv-{self.tag}-{what}"

    def node_ns(self, i: int) -> str:
        return self.name(f"n{i}")

    def pod_ns(self, j: int) -> str:
        return self.name(f"p{j}")

    @property
    def client_ns(self) -> str:
        return self.name("client")

    def _ns(self, ns: str) -> None:
        _run("ip", "netns", "add", ns)
        self.namespaces.append(ns)
        _run("ip", "-n", ns, "link", "set", "lo", "up")

    def _uplink(self, ns: str, address: str, k: int) -> None:
        a, b = f"zf{self.tag}{k}", f"up{k}"
        _run("ip", "link", "add", a, "netns", self.name("net"), "type", "veth", "peer", "name", b, "netns", ns)
        _run("ip", "-n", self.name("net"), "link", "set", a, "master", "br0", "up")
        _run("ip", "-n", ns, "addr", "add", f"{address}/24", "dev", b)
        _run("ip", "-n", ns, "link", "set", b, "up")

    def build(self) -> "DataPlane":
        self._ns(self.name("net"))
        _run("ip", "-n", self.name("net"), "link", "add", "br0", "type", "bridge")
        _run("ip", "-n", self.name("net"), "link", "set", "br0", "up")
        self._ns(self.client_ns)
        self._uplink(self.client_ns, "10.100.0.2", 99)
        for i in range(self.nodes):
            self._node(i)
        for j, i in enumerate(self.pods):
            self._pod(j, i)
        return self

    def _node(self, i: int) -> None:
        ns = self.node_ns(i)
        self._ns(ns)
        self._uplink(ns, node_ip(i), i)
        _run("ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        # Service VIPs route to a device leading nowhere: only the DNAT rules make them reach a pod
        _run("ip", "-n", ns, "link", "add", "kube-vips", "type", "veth", "peer", "name", "kube-vips-end")
        for dev in ("kube-vips", "kube-vips-end"):
            _run("ip", "-n", ns, "link", "set", dev, "up")
        _run("ip", "-n", ns, "route", "add", "10.96.0.0/16", "dev", "kube-vips", "src", node_ip(i))

    def _pod(self, j: int, i: int) -> None:
        ns = self.pod_ns(j)
        self._ns(ns)
        a, b = f"zp{self.tag}{j}", "eth0"
        _run("ip", "link", "add", a, "netns", self.node_ns(i), "type", "veth", "peer", "name", b, "netns", ns)
        _run("ip", "-n", self.node_ns(i), "addr", "add", f"10.110.{j}.1/24", "dev", a)
        _run("ip", "-n", self.node_ns(i), "link", "set", a, "up")
        _run("ip", "-n", ns, "addr", "add", f"{pod_ip(j)}/24", "dev", b)
        _run("ip", "-n", ns, "link", "set", b, "up")
        _run("ip", "-n", ns, "route", "add", "default", "via", f"10.110.{j}.1")
        for other in range(self.nodes):  # the other nodes reach this pod through its node
            if other != i:
                _run("ip", "-n", self.node_ns(other), "route", "add", f"10.110.{j}.0/24", "via", node_ip(i))
        # and so does a load balancer that targets pod IPs (in the client's namespace)
        _run("ip", "-n", self.client_ns, "route", "add", f"10.110.{j}.0/24", "via", node_ip(i))

    def apply(self, i: int, endpoints: Sequence[Endpoint], local: bool, fallback: bool) -> None:
        """Node i's kube-proxy writes its rules for these endpoints."""
        self.restore(i, rules(i, endpoints, local, fallback))

    def restore(self, i: int, text: str) -> None:
        """Replace node i's iptables tables with ``text`` (iptables-restore, as kube-proxy does)."""
        _run("ip", "netns", "exec", self.node_ns(i), "iptables-restore", input=text)

    def apply_lb(self, targets: Sequence[tuple[str, int]]) -> None:
        """The L4 load balancer (in the client's namespace) sends new connections to these
        targets (address, port), spread at random; to none: they are refused."""
        _run("ip", "netns", "exec", self.client_ns, "iptables-restore", input=lb_rules(targets))

    def popen(self, ns: str, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(["ip", "netns", "exec", ns, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def close(self) -> None:
        """Kill every process in the namespaces and delete them (veths and rules go with them)."""
        for ns in reversed(self.namespaces):
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
            for pid in pids:
                subprocess.run(["kill", "-9", pid], capture_output=True)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self.namespaces.clear()


def _usable(endpoints: Sequence[Endpoint], fallback: bool) -> list[Endpoint]:
    """``CategorizeEndpoints``: ready ones; with none and the fallback, serving terminating ones."""
    ready = [e for e in endpoints if e.ready and not e.terminating]
    if ready or not fallback:
        return ready
    return [e for e in endpoints if e.serving and e.terminating]


def _spread(chain: str, actions: Sequence[str]) -> list[str]:
    """Rules of ``chain`` taking one of ``actions`` at random, each equally likely: the
    ``statistic`` probabilities of a KUBE-SVC chain (1/n, then 1/(n-1), …, the last always)."""
    lines = []
    for k, action in enumerate(actions):
        rest = len(actions) - k
        pick = f"-m statistic --mode random --probability {1 / rest:.5f} " if rest > 1 else ""
        lines.append(f"-A {chain} {pick}{action}")
    return lines


def rules(i: int, endpoints: Sequence[Endpoint], local: bool, fallback: bool) -> str:
    """iptables-restore input for node i: nat and filter, kube-proxy's shape (see module doc)."""
    cluster = _usable(endpoints, fallback)
    own = _usable([e for e in endpoints if e.node == i], fallback) if local else cluster
    seps = sorted({e.pod for e in (*cluster, *own)})
    nat = ["*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
           ":POSTROUTING ACCEPT [0:0]", ":KUBE-SERVICES - [0:0]", ":KUBE-SVC-WEB - [0:0]", ":KUBE-EXT-WEB - [0:0]",
           ":KUBE-SVL-WEB - [0:0]", ":KUBE-MARK-MASQ - [0:0]", ":KUBE-POSTROUTING - [0:0]",
           *(f":KUBE-SEP-{p} - [0:0]" for p in seps),
           "-A PREROUTING -j KUBE-SERVICES", "-A OUTPUT -j KUBE-SERVICES", "-A POSTROUTING -j KUBE-POSTROUTING",
           "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000",
           "-A KUBE-POSTROUTING -m mark --mark 0x4000/0x4000 -j MASQUERADE"]
    if cluster:
        nat.append(f"-A KUBE-SERVICES -d {VIP}/32 -p tcp --dport 80 -j KUBE-SVC-WEB")
    if own:
        nat.append(f"-A KUBE-SERVICES -d {node_ip(i)}/32 -p tcp --dport {NODE_PORT} -j KUBE-EXT-WEB")
        if local:
            nat.append("-A KUBE-EXT-WEB -j KUBE-SVL-WEB")  # client IP kept: no MASQUERADE
        else:
            nat += ["-A KUBE-EXT-WEB -j KUBE-MARK-MASQ", "-A KUBE-EXT-WEB -j KUBE-SVC-WEB"]
    nat += _spread("KUBE-SVC-WEB", [f"-j KUBE-SEP-{e.pod}" for e in cluster])
    nat += _spread("KUBE-SVL-WEB", [f"-j KUBE-SEP-{e.pod}" for e in (own if local else [])])
    nat += [f"-A KUBE-SEP-{p} -p tcp -j DNAT --to-destination {pod_ip(p)}:{POD_PORT}" for p in seps]
    nat.append("COMMIT")
    filt = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
            ":KUBE-SERVICES - [0:0]", ":KUBE-EXTERNAL-SERVICES - [0:0]",
            "-A OUTPUT -j KUBE-SERVICES", "-A INPUT -j KUBE-EXTERNAL-SERVICES", "-A FORWARD -j KUBE-SERVICES"]
    if not cluster:  # "has no endpoints": REJECT
        filt.append(f"-A KUBE-SERVICES -d {VIP}/32 -p tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable")
    if not own:
        how = ("DROP" if local and cluster else "REJECT --reject-with icmp-port-unreachable")  # no local endpoints
        filt.append(f"-A KUBE-EXTERNAL-SERVICES -d {node_ip(i)}/32 -p tcp --dport {NODE_PORT} -j {how}")
    filt.append("COMMIT")
    return "\n".join(nat + filt) + "\n"


def lb_rules(targets: Sequence[tuple[str, int]]) -> str:
    """iptables-restore input for the L4 load balancer: connections to ``LB_VIP``:80 are
    DNATed to one of ``targets`` (``statistic`` probabilities, like a KUBE-SVC chain); with no
    target they are reset. Conntrack keeps an established connection on its target, as a
    load balancer's flow table does."""
    nat = ["*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
           ":POSTROUTING ACCEPT [0:0]", ":ZDV-LB - [0:0]", f"-A OUTPUT -d {LB_VIP}/32 -p tcp --dport 80 -j ZDV-LB"]
    nat += _spread("ZDV-LB", [f"-p tcp -j DNAT --to-destination {address}:{port}" for address, port in targets])
    filt = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"]
    if not targets:
        filt.append(f"-A OUTPUT -d {LB_VIP}/32 -p tcp --dport 80 -j REJECT --reject-with tcp-reset")
    return "\n".join([*nat, "COMMIT", *filt, "COMMIT"]) + "\n"
