"""Network namespaces for the data-plane tests: made by the test, torn down after it,
traffic kept inside them. Needs root (or CAP_NET_ADMIN + CAP_SYS_ADMIN), iproute2 and
iptables; `.ci/run` installs them from Debian's packages and the tests skip elsewhere."""
from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field

TOOLS = ("ip", "iptables", "iptables-restore")


def missing() -> str | None:
    """Why the data-plane tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (network namespaces and iptables)"
    absent = [t for t in TOOLS if shutil.which(t) is None]
    if absent:
        return f"needs {', '.join(absent)} (Debian packages iproute2, iptables; .ci/run installs them)"
    probe = f"zdv-probe-{uuid.uuid4().hex[:6]}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip()}"
    try:
        rules = subprocess.run(["ip", "netns", "exec", probe, "iptables", "-t", "nat", "-L"],
                               capture_output=True, text=True)
        if rules.returncode != 0:
            return f"iptables does not work in a network namespace: {rules.stderr.strip()}"
    finally:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def run(*args: str, check: bool = True, timeout: float = 30, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, check=check, timeout=timeout, **kw)


@dataclass
class Lab:
    """A node namespace (the client and its kube-proxy rules) and pod namespaces behind
    it, each on its own veth pair: pod k is 10.201.k.2, the node's side 10.201.k.1."""

    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    namespaces: list[str] = field(default_factory=list)

    @property
    def node(self) -> str:
        return f"zdv-{self.tag}-node"

    def ns(self, name: str) -> str:
        full = f"zdv-{self.tag}-{name}"
        run("ip", "netns", "add", full)
        self.namespaces.append(full)
        run("ip", "-n", full, "link", "set", "lo", "up")
        return full

    def start(self) -> "Lab":
        self.ns("node")
        # Service VIPs route to a device that leads nowhere (a veth whose peer stays in this
        # namespace; the dummy type may be absent): only the DNAT rules make them reach a pod
        run("ip", "-n", self.node, "link", "add", "kube-vips", "type", "veth", "peer", "name", "kube-vips-end")
        run("ip", "-n", self.node, "addr", "add", "10.200.0.1/32", "dev", "kube-vips")
        for dev in ("kube-vips", "kube-vips-end"):
            run("ip", "-n", self.node, "link", "set", dev, "up")
        run("ip", "-n", self.node, "route", "add", "10.96.0.0/16", "dev", "kube-vips", "src", "10.200.0.1")
        return self

    def pod(self, k: int) -> tuple[str, str]:
        """A pod namespace wired to the node; (namespace, IP)."""
        pod = self.ns(f"pod{k}")
        a, b = f"zv{self.tag}n{k}", f"zv{self.tag}p{k}"
        run("ip", "link", "add", a, "netns", self.node, "type", "veth", "peer", "name", b, "netns", pod)
        run("ip", "-n", self.node, "addr", "add", f"10.201.{k}.1/24", "dev", a)
        run("ip", "-n", pod, "addr", "add", f"10.201.{k}.2/24", "dev", b)
        run("ip", "-n", self.node, "link", "set", a, "up")
        run("ip", "-n", pod, "link", "set", b, "up")
        run("ip", "-n", pod, "route", "add", "default", "via", f"10.201.{k}.1")
        return pod, f"10.201.{k}.2"

    def exec(self, ns: str, *args: str, **kw) -> subprocess.CompletedProcess[str]:
        return run("ip", "netns", "exec", ns, *args, **kw)

    def popen(self, ns: str, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(["ip", "netns", "exec", ns, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def rules(self, text: str) -> None:
        """Replace the node's iptables tables with ``text`` (iptables-restore, as kube-proxy does)."""
        run("ip", "netns", "exec", self.node, "iptables-restore", input=text)

    def close(self) -> None:
        for ns in reversed(self.namespaces):  # deleting a namespace removes its veth ends and rules
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
            for pid in pids:
                subprocess.run(["kill", "-9", pid], capture_output=True)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self.namespaces.clear()
