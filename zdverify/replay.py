"""``zdverify replay``: replay a counterexample's run on a real Linux data plane.

It reads the run's schedule (the JSON report's ``schedule``: never its prose), builds the
namespaces and kube-proxy-shaped rules of ``zdverify/dataplane.py``, and drives the run in
real time around the violation: each pod is a small server that starts listening, closes
its listener and exits at the run's instants; each node's kube-proxy applies every
EndpointSlice change at the node's own instant; a client opens a new connection every few
milliseconds through the violation's entry and records how each ends.

What it covers (version 1), and what not:

1. Entries: ClusterIP (the client on the violation's node, through its OUTPUT chain), and
   NodePort / a load balancer with node targets (the client outside, straight to the
   violation's node's NodePort: the counterexample says which node the request enters; for
   Local traffic requests are sent only while the run's load balancer finds the node
   healthy). Load balancers that target pod IPs are not replayed (exit 3, said plainly).
2. ``--with-fix`` replays the same run (same choices and delays) with the fix applied, when
   the fix is one the model applies (``fix_schedule``: a preStop sleep, the grace period,
   minReadySeconds). haproxy as the load balancer and keep-alive clients are not built yet.
3. IPVS and nftables modes, CNI and overlay effects are outside it.
"""
from __future__ import annotations

import json
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from zdverify.dataplane import NODE_PORT, POD_PORT, VIP, DataPlane, DataPlaneError, Endpoint, node_ip, unavailable
from zdverify.model.source import InputError

LEAD_S = 1.5  # real seconds to start every process before the replayed window opens
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
    except OSError as e:
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


def _change(e: Endpoint | None, pod: int, node: int, change: str) -> Endpoint | None:
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
    # from before the violation until its pod has exited (later under a fix) and a margin
    gone = next((p["exited"] for p in pods if p["name"] == v["pod"] and p["exited"] is not None), v["end"])
    start, end = max(0.0, v["t"] - MARGIN_S), max(v["end"], gone) + MARGIN_S
    plane = DataPlane(len(nodes), [nodes.index(p["node"]) for p in pods])
    previous = signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        say(f"building {len(nodes)} node and {len(pods)} pod namespaces")
        plane.build()
        return _drive(plane, s, names, nodes, start, end, scale, period, say)
    finally:
        plane.close()
        signal.signal(signal.SIGTERM, previous)


def _drive(plane: DataPlane, s: dict[str, Any], names: dict[str, int], nodes: list[str], start: float,
           end: float, scale: float, period: float, say: Callable[[str], None]) -> Outcome:
    v = s["violation"]
    local, fallback = bool(v["local"]), bool(s["fallback"])
    views = [dict(_endpoints(s["pods"], names, nodes)) for _ in nodes]
    changes = sorted((a["t"], nodes.index(a["node"]), names[a["pod"]], a["change"]) for a in s["applies"])
    for t, i, j, change in changes:  # the state when the window opens
        if t < start:
            _set(views[i], j, plane.pods[j], change)
    for i in range(len(nodes)):
        plane.apply(i, list(views[i].values()), local, fallback)
    t0 = time.time() + LEAD_S - start * scale  # schedule instant t happens at t0 + t * scale
    procs = [plane.popen(plane.pod_ns(j), sys.executable, "-c", POD, *map(str, (
        t0, scale, max(_num(p["listening"], -1e9), start - 1), _num(p["closed"], 1e9), _num(p["exited"], 1e9),
        POD_PORT))) for j, p in enumerate(s["pods"]) if _num(p["exited"], 1e9) > start]
    node = nodes.index(v["node"])
    client = _client(plane, s, v, node, t0, scale, start, end, period)
    say(f"replaying t={start:.2f}s..{end:.2f}s in real time (x{scale:g})")
    for t, i, j, change in changes:
        if start <= t < end:
            _sleep_until(t0 + t * scale)
            _set(views[i], j, plane.pods[j], change)
            plane.apply(i, list(views[i].values()), local, fallback)
    out, err = client.communicate(timeout=(end - start) * scale + 30)
    for p in procs:
        p.kill()
    lines = [line.split() for line in out.splitlines() if line.strip()]
    if client.returncode not in (0, None) and not lines:
        raise DataPlaneError(f"the client failed: {err.strip()[-300:]}")
    failed = tuple((float(t), kind) for t, kind in lines if kind != "ok")
    return Outcome(len(lines), failed, start, end, (v["t"], v["end"]), v["node"], v["pod"])


def _client(plane: DataPlane, s: dict[str, Any], v: dict[str, Any], node: int, t0: float, scale: float,
            start: float, end: float, period: float):
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
    e = _change(view.get(j), j, node, change)
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
