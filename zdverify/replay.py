"""``zdverify replay``: replay a counterexample's run on a real Linux data plane.

It reads the run's schedule (the JSON report's ``schedule``: never its prose), builds the
namespaces and kube-proxy-shaped rules of ``zdverify/dataplane.py``, and drives the run in
real time around the violation: each pod is a small server that starts listening, closes
its listener and exits at the run's instants; each node's kube-proxy applies every
EndpointSlice change at the node's own instant; a client opens a new connection every few
milliseconds through the violation's entry and records how each ends.

What it covers (version 1), and what not:

1. Entries: ClusterIP (the client on the violation's node, through its OUTPUT chain);
   NodePort and a load balancer under Cluster (the client outside, straight to the
   violation's node's NodePort: the counterexample says which node the request enters); a
   load balancer under Local: haproxy (when installed) with the profile's interval,
   timeout, fall and rise checking every node's health port, which answers 200 while the
   node's kube-proxy has a local ready, non-terminating endpoint (else 503), the client
   sending through it — the window starts early enough for haproxy to follow the run; it
   does not fail open. Without haproxy the client sends straight to the node while the
   run's modelled load balancer finds it healthy. Load balancers that target pod IPs are
   not replayed (exit 3, said plainly).
2. ``--with-fix`` replays the same run (same choices and delays) with the fix applied, when
   the fix is one the model applies (``fix_schedule``: a preStop sleep, the grace period,
   minReadySeconds). haproxy as the load balancer and keep-alive clients are not built yet.
3. IPVS and nftables modes, CNI and overlay effects are outside it.
"""
from __future__ import annotations

import json
import math
import shutil
import signal
import tempfile
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from zdverify.dataplane import NODE_PORT, POD_PORT, VIP, DataPlane, DataPlaneError, Endpoint, node_ip, unavailable
from zdverify.model.source import InputError

LEAD_S = 1.5  # real seconds to start every process before the replayed window opens
HEALTH_PORT = 10256  # kube-proxy's health check node port

HEALTH = r"""
import http.server, sys
path = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            code = int(open(path).read().strip() or 503)
        except (OSError, ValueError):
            code = 503
        self.send_response(code); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", int(sys.argv[2])), H).serve_forever()
"""

HAPROXY = """global
  maxconn 2000
defaults
  mode tcp
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend fe
  bind 127.0.0.1:8080
  default_backend nodes
backend nodes
  balance roundrobin
  option httpchk GET /healthz
  timeout check {timeout}ms
  default-server inter {interval}ms fall {fall} rise {rise} port {port}
{servers}
"""
MARGIN_S = 3.0  # schedule seconds replayed before the violation and after it ends

POD = r"""
import socket, sys, threading, time
t0, scale, listen, close, leave, port = map(float, sys.argv[1:7])
def wait(t):
    d = t0 + t * scale - time.time()
    if d > 0:
        time.sleep(d)
wait(listen)
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", int(port))); srv.listen(128); srv.settimeout(0.02)
open_ = [True]
def serve():
    while open_[0]:
        try:
            c, _ = srv.accept()
        except (socket.timeout, OSError):
            continue
        try:
            c.settimeout(1); c.recv(256); c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
        except OSError:
            pass
        c.close()
threading.Thread(target=serve, daemon=True).start()
wait(close); open_[0] = False; time.sleep(0.03); srv.close()
wait(leave)
"""

CLIENT = r"""
import socket, sys, time
t0, scale, start, end, period, host, port = sys.argv[1:8]
t0, scale, start, end, period, port = float(t0), float(scale), float(start), float(end), float(period), int(port)
windows = [tuple(map(float, w.split(":"))) for w in sys.argv[8].split(",") if w]
def sched():
    return (time.time() - t0) / scale
while time.time() < t0 + start * scale:
    time.sleep(0.001)
while sched() < end:
    t = sched()
    if windows and not any(a <= t < b for a, b in windows):
        time.sleep(period); continue
    s = socket.socket(); s.settimeout(1.0)
    try:
        s.connect((host, port)); s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        kind = "ok" if s.recv(64).startswith(b"HTTP/1.0 200") else "reset"
    except ConnectionRefusedError:
        kind = "refused"
    except ConnectionResetError:
        kind = "reset"
    except (socket.timeout, TimeoutError):
        kind = "timeout"
    except OSError:
        kind = "error"
    finally:
        s.close()
    print(f"{t:.4f} {kind}", flush=True)
    time.sleep(max(0.0, period - (sched() - t) * scale))
"""


@dataclass(frozen=True)
class Outcome:
    """What the replay saw."""

    requests: int
    failed: tuple[tuple[float, str], ...]  # (schedule instant, refused | reset | timeout | error)
    start: float
    end: float
    violation: tuple[float, float]
    node: str
    pod: str

    def text(self, scale: float, with_fix: bool = False) -> str:
        kinds: dict[str, list[float]] = {}
        for t, kind in self.failed:
            kinds.setdefault(kind, []).append(t)
        lines = [f"replayed t={self.start:.2f}s..{self.end:.2f}s of the run (time scale {scale:g}): "
                 f"{self.requests} new connections, {len(self.failed)} failed"]
        for kind, ts in sorted(kinds.items()):
            lines.append(f"  {len(ts)} {kind} between t={min(ts):.2f}s and t={max(ts):.2f}s")
        a, b = self.violation
        where = f"entering {self.node}" + (f", sent to {self.pod}" if self.pod else "")
        lines.append(f"  with the fix none is predicted; without it the run failed from t={a:.2f}s to t={b:.2f}s, "
                     f"{where}" if with_fix else f"  predicted: from t={a:.2f}s to t={b:.2f}s, {where}")
        return "\n".join(lines) + "\n"


def load(path: str, prop: str | None, with_fix: bool = False) -> dict[str, Any]:
    """The schedule of the first counterexample (of ``prop``) in a JSON report; with
    ``with_fix``, the same run with its fix applied."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: not a zdverify JSON report: {e}") from None
    results = doc.get("results") if isinstance(doc, dict) else None
    if not isinstance(results, list):
        raise InputError(f"{path}: not a zdverify JSON report (no results)")
    key = "fix_schedule" if with_fix else "schedule"
    found = [r for r in results if isinstance(r, dict) and r.get("verdict") == "counterexample"
             and (prop is None or r.get("property") == prop) and r.get(key)]
    if not found:
        what = "whose fix the model applies (a fix as data)" if with_fix else "with a schedule"
        raise InputError(f"{path}: no counterexample {what}{f' for {prop}' if prop else ''} to replay")
    return found[0][key]


def _endpoints(pods: Sequence[dict], names: dict[str, int], node_names: Sequence[str]) -> dict[int, Endpoint]:
    """Every node's view before the rollout: the old pods, ready."""
    return {names[p["name"]]: Endpoint(names[p["name"]], node_names.index(p["node"]), True, True, False)
            for p in pods if p["old"]}


def _change(pod: int, node: int, change: str) -> Endpoint | None:
    if change == "ready":
        return Endpoint(pod, node, True, True, False)
    if change == "terminating":
        return Endpoint(pod, node, False, True, True)
    if change == "not serving":
        return Endpoint(pod, node, False, False, True)
    return None  # removed


def replay(s: dict[str, Any], scale: float = 1.0, period: float = 0.02,
           say: Callable[[str], None] = lambda _: None) -> Outcome:
    """Build the data plane, drive the run around its violation, tear everything down."""
    why = unavailable()
    if why:
        raise DataPlaneError(why)
    v = s["violation"]
    if v["ip_targets"]:
        raise DataPlaneError("load balancers that target pod IPs are not replayed yet")
    nodes = list(s["nodes"])
    pods = s["pods"]
    names = {p["name"]: j for j, p in enumerate(pods)}
    # from before the violation until its pod has exited (later under a fix) and a margin;
    # with haproxy, early enough for its checks to follow the run to the violation
    gone = next((p["exited"] for p in pods if p["name"] == v["pod"] and p["exited"] is not None), v["end"])
    lead = _haproxy_lead(s) if _use_haproxy(s) else 0.0
    start, end = max(0.0, v["t"] - MARGIN_S - lead), max(v["end"], gone) + MARGIN_S
    plane = DataPlane(len(nodes), [nodes.index(p["node"]) for p in pods])
    previous = signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    work = Path(tempfile.mkdtemp(prefix="zdv-replay-"))  # health state files, haproxy's config
    try:
        say(f"building {len(nodes)} node and {len(pods)} pod namespaces")
        plane.build()
        return _drive(plane, s, names, nodes, start, end, scale, period, say, work)
    finally:
        plane.close()
        shutil.rmtree(work, ignore_errors=True)
        signal.signal(signal.SIGTERM, previous)


def _drive(plane: DataPlane, s: dict[str, Any], names: dict[str, int], nodes: list[str], start: float,
           end: float, scale: float, period: float, say: Callable[[str], None], work: Path) -> Outcome:
    v = s["violation"]
    local, fallback = bool(v["local"]), bool(s["fallback"])
    views = [dict(_endpoints(s["pods"], names, nodes)) for _ in nodes]
    changes = sorted((a["t"], nodes.index(a["node"]), names[a["pod"]], a["change"]) for a in s["applies"])
    for t, i, j, change in changes:  # the state when the window opens
        if t < start:
            _set(views[i], j, plane.pods[j], change)
    health = _health_servers(plane, len(nodes), work) if _use_haproxy(s) else []
    for i in range(len(nodes)):
        _apply(plane, i, views[i], local, fallback, health)
    launch = _haproxy_launch(s, nodes.index(v["node"]), start) if health else start
    t0 = time.time() + LEAD_S + (start - launch) * scale - start * scale  # schedule t happens at t0 + t * scale
    procs = [plane.popen(plane.pod_ns(j), sys.executable, "-c", POD, *map(str, (
        t0, scale, max(_num(p["listening"], -1e9), start - 1), _num(p["closed"], 1e9), _num(p["exited"], 1e9),
        POD_PORT))) for j, p in enumerate(s["pods"]) if _num(p["exited"], 1e9) > start]
    node = nodes.index(v["node"])
    if health:  # converged before the window, its checks of the violation's node on the run's phase
        _haproxy(plane, s, node, t0, scale, launch, work)
    client = _client(plane, s, v, node, t0, scale, start, end, period)
    say(f"replaying t={start:.2f}s..{end:.2f}s in real time (x{scale:g})")
    for t, i, j, change in changes:
        if start <= t < end:
            _sleep_until(t0 + t * scale)
            _set(views[i], j, plane.pods[j], change)
            _apply(plane, i, views[i], local, fallback, health)
    out, err = client.communicate(timeout=(end - start) * scale + 30)
    for p in procs:
        p.kill()
    lines = [line.split() for line in out.splitlines() if line.strip()]
    if client.returncode not in (0, None) and not lines:
        raise DataPlaneError(f"the client failed: {err.strip()[-300:]}")
    failed = tuple((float(t), kind) for t, kind in lines if kind != "ok")
    return Outcome(len(lines), failed, start, end, (v["t"], v["end"]), v["node"], v["pod"])


def _use_haproxy(s: dict[str, Any]) -> bool:
    v = s["violation"]
    return v["entry"] == "load balancer" and bool(v["local"]) and shutil.which("haproxy") is not None \
        and bool(s.get("checks", {}).get("interval"))


def _haproxy_lead(s: dict[str, Any]) -> float:
    """Schedule seconds haproxy needs to follow the run: a node's removal and add-back."""
    c = s["checks"]
    return max(c["unhealthy"], c["healthy"]) * (c["interval"] + c["timeout"]) + c["timeout"]


def _health_servers(plane: DataPlane, nodes: int, work: Path) -> list[Path]:
    """Each node's health port (kube-proxy's healthz for Local): 200 with a local ready endpoint."""
    files = []
    for i in range(nodes):
        f = work / f"health-{i}"
        f.write_text("503")
        files.append(f)
        plane.popen(plane.node_ns(i), sys.executable, "-c", HEALTH, str(f), str(HEALTH_PORT))
    return files


def _apply(plane: DataPlane, i: int, view: dict[int, Endpoint], local: bool, fallback: bool,
           health: list[Path]) -> None:
    plane.apply(i, list(view.values()), local, fallback)
    if health:
        ok = any(e.node == i and e.ready and not e.terminating for e in view.values())
        health[i].write_text("200" if ok else "503")


def _haproxy_launch(s: dict[str, Any], node: int, start: float) -> float:
    """When haproxy starts (schedule seconds): early enough to have marked down every node
    without a local endpoint when the window opens (haproxy starts its servers up), at an
    instant congruent to the run's check phase of the violation's node — a little early: a
    check the run has at the very instant a node's state changes saw the state before it, and
    real processes are never that punctual (haproxy's own start-up takes tens of ms)."""
    c = s["checks"]
    interval = c["interval"]
    settle = c["unhealthy"] * interval + c["timeout"] + 1
    phase = next((h["phase"] for h in s["load_balancer"] if h["node"] == s["nodes"][node]), 0.0)
    phase -= min(1.0, interval / 10)
    return phase + math.floor((start - settle - phase) / interval) * interval


def _haproxy(plane: DataPlane, s: dict[str, Any], node: int, t0: float, scale: float, launch: float,
             work: Path) -> None:
    """haproxy checks its first server at start-up and the others spread over the interval:
    the violation's node goes first."""
    c = s["checks"]
    order = [node] + [i for i in range(len(s["nodes"])) if i != node]
    servers = "\n".join(f"  server {s['nodes'][i]} {node_ip(i)}:{NODE_PORT} check" for i in order)
    cfg = work / "haproxy.cfg"
    cfg.write_text(HAPROXY.format(timeout=int(c["timeout"] * scale * 1000), interval=int(c["interval"] * scale * 1000),
                                  fall=c["unhealthy"], rise=c["healthy"], port=HEALTH_PORT, servers=servers))
    _sleep_until(t0 + launch * scale)
    plane.popen(plane.client_ns, "haproxy", "-f", str(cfg), "-db")


def _client(plane: DataPlane, s: dict[str, Any], v: dict[str, Any], node: int, t0: float, scale: float,
            start: float, end: float, period: float):
    if _use_haproxy(s):
        return plane.popen(plane.client_ns, sys.executable, "-c", CLIENT, str(t0), str(scale), str(start), str(end),
                           str(period), "127.0.0.1", "8080", "")
    if v["entry"] == "ClusterIP":
        ns, host, port, windows = plane.node_ns(node), VIP, 80, ""
    else:
        ns, host, port = plane.client_ns, node_ip(node), NODE_PORT
        windows = _healthy_windows(s, v["node"], start, end) if v["local"] and v["entry"] == "load balancer" else ""
    return plane.popen(ns, sys.executable, "-c", CLIENT, str(t0), str(scale), str(start), str(end), str(period),
                       host, str(port), windows)


def _healthy_windows(s: dict[str, Any], node: str, start: float, end: float) -> str:
    """When the run's load balancer sends new flows to ``node`` (Local: while healthy)."""
    health = next((h for h in s["load_balancer"] if h["node"] == node), None)
    if health is None:
        return ""
    healthy, since, out = True, start, []
    for c in health["changes"]:
        if c["t"] <= start:
            healthy = c["healthy"]
            continue
        if healthy and not c["healthy"]:
            out.append(f"{since}:{min(c['t'], end)}")
        elif c["healthy"] and not healthy:
            since = c["t"]
        healthy = c["healthy"]
    if healthy:
        out.append(f"{since}:{end}")
    return ",".join(out) or f"{end}:{end}"


def _set(view: dict[int, Endpoint], j: int, node: int, change: str) -> None:
    e = _change(j, node, change)
    if e is None:
        view.pop(j, None)
    else:
        view[j] = e


def _num(x: Any, default: float) -> float:
    return default if x is None else float(x)


def _sleep_until(at: float) -> None:
    d = at - time.time()
    if d > 0:
        time.sleep(d)
