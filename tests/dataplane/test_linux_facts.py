"""The data-plane facts the model relies on, pinned on a real Linux data plane (network
namespaces and iptables rules shaped like kube-proxy's; see zdverify/dataplane.py).

1. REJECT vs DROP: a Service with no endpoint is REJECTed (the client's connection is
   refused at once: the ``no-endpoint`` wording "refused"), while traffic a Local node has
   no endpoint for is DROPped (the client waits for its timeout: "DROPs it").
2. A keep-alive connection outlives its endpoint's removal from the rules: conntrack keeps
   the established flow on its pod while new connections follow the new rules — the
   ``connections`` assumption and the ``connection-reuse`` property.
"""
from __future__ import annotations

import subprocess
import time

from zdverify.dataplane import NODE_PORT, VIP, DataPlane, Endpoint, node_ip, pod_ip

CLIENT = r"""
import socket, sys, time
def attempt(timeout):
    s = socket.socket(); s.settimeout(timeout); t = time.monotonic()
    try:
        s.connect((sys.argv[1], int(sys.argv[2])))
        return "connected", time.monotonic() - t
    except ConnectionRefusedError:
        return "refused", time.monotonic() - t
    except (socket.timeout, TimeoutError):
        return "timeout", time.monotonic() - t
    finally:
        s.close()
kind, took = attempt(float(sys.argv[3]))
print(kind, round(took, 3))
"""

SERVER = r"""
import socket, sys
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", int(sys.argv[1]))); srv.listen(16)
print("listening", flush=True)
while True:
    conn, _ = srv.accept()
    while True:
        data = conn.recv(64)
        if not data:
            break
        conn.sendall(sys.argv[2].encode() + b":" + data)
    conn.close()
"""

KEEP_ALIVE_CLIENT = r"""
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
s.sendall(b"first"); print(s.recv(64).decode(), flush=True)
sys.stdin.readline()  # the rules change now
s.sendall(b"second"); print(s.recv(64).decode(), flush=True)
n = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
n.sendall(b"new"); print(n.recv(64).decode(), flush=True)
"""


def _filter(rule: str) -> str:
    return f"*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n{rule}\nCOMMIT\n"


def _nat(*endpoints: str) -> str:
    """A ClusterIP's DNAT, the kube-proxy way: one KUBE-SEP chain per endpoint, chosen by
    ``statistic`` probabilities (here one endpoint at a time)."""
    lines = ["*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
             ":POSTROUTING ACCEPT [0:0]", ":KUBE-SERVICES - [0:0]", ":KUBE-SVC-WEB - [0:0]"]
    lines += [f":KUBE-SEP-{i} - [0:0]" for i in range(len(endpoints))]
    lines += ["-A OUTPUT -j KUBE-SERVICES", f"-A KUBE-SERVICES -d {VIP}/32 -p tcp --dport 80 -j KUBE-SVC-WEB"]
    for i, ep in enumerate(endpoints):
        rest = len(endpoints) - i
        pick = f"-m statistic --mode random --probability {1 / rest:.5f} " if rest > 1 else ""
        lines += [f"-A KUBE-SVC-WEB {pick}-j KUBE-SEP-{i}", f"-A KUBE-SEP-{i} -p tcp -j DNAT --to-destination {ep}"]
    return "\n".join(lines + ["COMMIT", ""])


def test_reject_refuses_at_once_and_drop_leaves_the_client_waiting(plane: DataPlane) -> None:
    node = plane.node_ns(0)
    plane.restore(0, _filter(f"-A OUTPUT -d {VIP}/32 -p tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable"))
    kind, took = _in(node, CLIENT, VIP, "80", "2").split()
    assert kind == "refused" and float(took) < 0.5
    plane.restore(0, _filter(f"-A OUTPUT -d {VIP}/32 -p tcp --dport 80 -j DROP"))
    kind, took = _in(node, CLIENT, VIP, "80", "1").split()
    assert kind == "timeout" and float(took) >= 0.9


def _in(ns: str, script: str, *args: str) -> str:
    """A Python script's output, run inside a namespace."""
    return subprocess.run(["ip", "netns", "exec", ns, "python3", "-c", script, *args], capture_output=True,
                          text=True, timeout=30, check=True).stdout


def _serve(plane: DataPlane, pod: int, name: str) -> None:
    server = plane.popen(plane.pod_ns(pod), "python3", "-c", SERVER, "8080", name)
    assert server.stdout is not None and server.stdout.readline().strip() == "listening"


def test_a_keep_alive_connection_outlives_its_endpoints_removal(plane: DataPlane) -> None:
    _serve(plane, 0, "old")
    _serve(plane, 1, "new")
    plane.restore(0, _nat(f"{pod_ip(0)}:8080"))
    client = plane.popen(plane.node_ns(0), "python3", "-c", KEEP_ALIVE_CLIENT, VIP, "80")
    assert client.stdout is not None and client.stdin is not None
    assert client.stdout.readline().strip() == "old:first"
    plane.restore(0, _nat(f"{pod_ip(1)}:8080"))  # the old endpoint is gone from the rules; conntrack is not flushed
    time.sleep(0.2)
    client.stdin.write("go\n")
    client.stdin.flush()
    out, err = client.communicate(timeout=10)
    assert out.split() == ["old:second", "new:new"], err  # the pooled flow stays on the old pod


def test_local_traffic_falls_back_to_a_serving_terminating_endpoint(plane: DataPlane) -> None:
    """KEP-1669 (1.26+): with no ready local endpoint, kube-proxy sends Local traffic to a
    serving terminating one; without the fallback the node DROPs it while the Service has
    endpoints elsewhere, and REJECTs it when it has none at all (proxier.go; the rules of
    zdverify/dataplane.py, on a real data plane)."""
    _serve(plane, 0, "terminating")
    terminating = Endpoint(0, 0, ready=False, serving=True, terminating=True)
    elsewhere = Endpoint(1, 1, ready=True, serving=True, terminating=False)  # counted on another node
    for fallback, endpoints, expected in ((True, [terminating, elsewhere], "connected"),
                                          (False, [terminating, elsewhere], "timeout"),
                                          (False, [terminating], "refused")):
        plane.apply(0, endpoints, local=True, fallback=fallback)
        out = _in(plane.client_ns, CLIENT, node_ip(0), str(NODE_PORT), "1").split()
        assert out[0] == expected, (fallback, out)
