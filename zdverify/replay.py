"""``zdverify replay``: replay a counterexample's run on a real Linux data plane.

It reads the run's schedule (the JSON report's ``schedule``: never its prose), builds the
namespaces and kube-proxy-shaped rules of ``zdverify/dataplane.py``, and drives the run in
real time around the violation: each pod is a small server that starts listening, closes
its listener and exits at the run's instants; each node's kube-proxy applies every
EndpointSlice change at the node's own instant; a client opens a new connection every few
milliseconds through the violation's entry and records how each ends.

What it covers, and what not:

1. Entries: ClusterIP (the client on the violation's node, through its OUTPUT chain);
   NodePort and a load balancer under Cluster (the client outside, straight to the
   violation's node's NodePort: the counterexample says which node the request enters).
2. A load balancer that checks health (Local, or pod IPs as targets), ``--lb``:
   ``haproxy`` — real checks with the profile's interval, timeout, fall and rise of every
   node's health port, which answers 200 while the node's kube-proxy has a local ready,
   non-terminating endpoint (else 503); the window starts early enough for haproxy to
   follow the run; it neither fails open nor answers slowly. ``l4`` — an iptables DNAT load
   balancer in the client's namespace that follows the run's own health verdicts (each
   node's, or each pod IP target's ``target_in``/``target_out``), spreads new connections
   over its targets at random, keeps established ones (conntrack), and with no healthy
   target sends to every node when the profile fails open (an NLB), else resets them.
   ``auto``: haproxy where it reproduces the run (installed, no slow answers, never a
   moment without a healthy node that a fail-open profile would send to every node), else l4.
3. Clients, ``--client``: ``new`` connections every period, or ``pooled`` keep-alive ones
   (``auto``: pooled for a connection-reuse counterexample) — opened before the
   violation's pod leaves the rules, one at least reaching it, each sending a request every
   period and replaced when it fails or is told ``Connection: close``. Pods keep
   connections alive and follow the run's ``keep_alive`` (close idle connections when they
   stop accepting, or answer ``Connection: close`` from SIGTERM on).
4. ``--with-fix`` replays the same run (same choices and delays) with the fix applied, when
   the fix is one the model applies (``fix_schedule``: a preStop sleep, the grace period,
   minReadySeconds).
5. IPVS and nftables modes, CNI and overlay effects are outside it; the health ports
   answer at once (slow answers are replayed only through l4's verdicts).
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

from zdverify.dataplane import (LB_VIP, NODE_PORT, POD_PORT, VIP, DataPlane, DataPlaneError, Endpoint, node_ip,
                                pod_ip, unavailable)
from zdverify.model.schedule import MAX_NODES as MAX_SCHEDULE_NODES
from zdverify.model.source import InputError
from zdverify.replay_scripts import CLIENT, HAPROXY, HEALTH, POD

LEAD_S = 1.5  # real seconds to start every process before the replayed window opens
HEALTH_PORT = 10256  # kube-proxy's health check node port
MARGIN_S = 3.0  # schedule seconds replayed before the violation and after it ends
LB_MODES = ("auto", "haproxy", "l4")
CLIENT_MODES = ("auto", "new", "pooled")


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
    pooled: bool = False  # requests on pooled keep-alive connections, not new ones

    def text(self, scale: float, with_fix: bool = False) -> str:
        kinds: dict[str, list[float]] = {}
        for t, kind in self.failed:
            kinds.setdefault(kind, []).append(t)
        lines = [f"replayed t={self.start:.2f}s..{self.end:.2f}s of the run (time scale {scale:g}): "
                 f"{self.requests} {'requests on pooled connections' if self.pooled else 'new connections'}, "
                 f"{len(self.failed)} failed"]
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
    return counterexample(read_report(path), prop, with_fix, path)["fix_schedule" if with_fix else "schedule"]


def read_report(path: str) -> dict[str, Any]:
    """A saved JSON report."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: not a zdverify JSON report: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        raise InputError(f"{path}: not a zdverify JSON report (no results)")
    return doc


def counterexample(doc: dict[str, Any], prop: str | None, with_fix: bool, where: str) -> dict[str, Any]:
    """The first counterexample result (of ``prop``) a replay can drive: with a schedule, and
    with ``with_fix`` a fixed one too. Its ``schedule`` and ``fix_schedule`` are one run."""
    key = "fix_schedule" if with_fix else "schedule"
    found = [r for r in doc["results"] if isinstance(r, dict) and r.get("verdict") == "counterexample"
             and (prop is None or r.get("property") == prop) and r.get(key)]
    if not found:
        what = "whose fix the model applies (a fix as data)" if with_fix else "with a schedule"
        raise InputError(f"{where}: no counterexample {what}{f' for {prop}' if prop else ''} to replay (runs on more "
                         f"than {MAX_SCHEDULE_NODES} nodes carry no schedule: replay with fewer --nodes)")
    return found[0]


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


@dataclass(frozen=True)
class Modes:
    """How the run's entry is built: ``lb`` — ``direct`` (the client sends straight to the
    violation's node or the ClusterIP), ``haproxy`` (real health checks of every node's
    health port), ``l4`` (a DNAT load balancer following the run's health verdicts, failing
    open when the profile does; pod IPs as targets); ``client`` — ``new`` connections or
    ``pooled`` keep-alive ones."""

    lb: str
    client: str


def modes(s: dict[str, Any], lb: str = "auto", client: str = "auto") -> Modes:
    """The modes for this run (``auto``: what reproduces the model's load balancer here)."""
    v = s["violation"]
    checked = v["entry"] == "load balancer" and (v["local"] or v["ip_targets"])
    if not checked:
        mode = "direct"
    elif lb == "haproxy":
        if v["ip_targets"]:
            raise DataPlaneError("haproxy checks nodes' health ports; a load balancer that targets pod IPs "
                                 "is replayed with --lb l4")
        if shutil.which("haproxy") is None:
            raise DataPlaneError("needs haproxy (Debian package haproxy), or --lb l4")
        mode = "haproxy"
    elif lb == "l4" or v["ip_targets"]:
        mode = "l4"
    else:  # haproxy neither fails open nor answers slowly: those runs follow the verdicts
        slow = any(h["answer"] > 0 for h in s["load_balancer"])
        opens = bool(s["checks"].get("fail_open")) and any(
            not targets for _, targets in _lb_targets(s, 0.0, s["horizon"], fail_open=False))
        mode = "haproxy" if shutil.which("haproxy") and not slow and not opens else "l4"
    pooled = v.get("property") == "connection-reuse" if client == "auto" else client == "pooled"
    return Modes(mode, "pooled" if pooled else "new")


def replay(s: dict[str, Any], scale: float = 1.0, period: float | None = None,
           say: Callable[[str], None] = lambda _: None, lb: str = "auto", client: str = "auto") -> Outcome:
    """Build the data plane, drive the run around its violation, tear everything down.
    ``period``: real seconds between new connections (None: ``auto_period``)."""
    why = unavailable()
    if why:
        raise DataPlaneError(why)
    m = modes(s, lb, client)
    start, end = _window(s, m)
    period = auto_period(s, m, scale) if period is None else period
    nodes = list(s["nodes"])
    pods = s["pods"]
    plane = DataPlane(len(nodes), [nodes.index(p["node"]) for p in pods])
    previous = signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    work = Path(tempfile.mkdtemp(prefix="zdv-replay-"))  # health state files, haproxy's config
    try:
        say(f"building {len(nodes)} node and {len(pods)} pod namespaces (load balancer: {m.lb}, "
            f"client: {m.client} connections)")
        plane.build()
        return _drive(plane, s, m, start, end, scale, period, say, work)
    finally:
        plane.close()
        shutil.rmtree(work, ignore_errors=True)
        signal.signal(signal.SIGTERM, previous)


def auto_period(s: dict[str, Any], m: Modes, scale: float) -> float:
    """20 ms between new connections, shorter (down to 2 ms) when the predicted window is
    short: about ten connections per node the load balancer spreads them over fall inside
    it (a 0.25 s window at twice the speed would otherwise see six)."""
    v = s["violation"]
    spread = len(s["nodes"]) if m.lb in ("haproxy", "l4") else 1
    window = max(0.0, v["end"] - v["t"]) * scale
    return min(0.02, max(0.002, window / (10 * spread)))


def _window(s: dict[str, Any], m: Modes) -> tuple[float, float]:
    """The schedule seconds replayed: from before the violation (with haproxy, early enough
    for its checks to follow the run; pooled, before the connections' pod left the rules)
    until its pod has exited (later under a fix) and a margin."""
    v, pods = s["violation"], s["pods"]
    if m.client == "pooled":
        first = min((a["t"] for a in s["applies"] if a["pod"] == v["pod"]), default=v["t"])
        return max(0.0, min(first, v["t"]) - 1.0), v["t"] + 2 * MARGIN_S
    gone = next((p["exited"] for p in pods if p["name"] == v["pod"] and p["exited"] is not None), v["end"])
    lead = _haproxy_lead(s) if m.lb == "haproxy" else 0.0
    return max(0.0, v["t"] - MARGIN_S - lead), max(v["end"], gone) + MARGIN_S


def _drive(plane: DataPlane, s: dict[str, Any], m: Modes, start: float, end: float, scale: float, period: float,
           say: Callable[[str], None], work: Path) -> Outcome:
    v, nodes = s["violation"], list(s["nodes"])
    names = {p["name"]: j for j, p in enumerate(s["pods"])}
    local, fallback = bool(v["local"]), bool(s["fallback"])
    views = [dict(_endpoints(s["pods"], names, nodes)) for _ in nodes]
    changes = sorted((a["t"], nodes.index(a["node"]), names[a["pod"]], a["change"]) for a in s["applies"])
    for t, i, j, change in changes:  # the state when the window opens
        if t < start:
            _set(views[i], j, plane.pods[j], change)
    health = _health_servers(plane, len(nodes), work) if m.lb == "haproxy" else []
    for i in range(len(nodes)):
        _apply(plane, i, views[i], local, fallback, health)
    lb_events = _lb_targets(s, start, end) if m.lb == "l4" else []
    if lb_events:
        plane.apply_lb(lb_events[0][1])
    node = nodes.index(v["node"]) if v["node"] in nodes else 0  # IP targets: "load-balancer"
    launch = _haproxy_launch(s, node, start) if health else start
    t0 = time.time() + LEAD_S + (start - launch) * scale - start * scale  # schedule t happens at t0 + t * scale
    idle = (s.get("keep_alive") or {}).get("idle", "-")
    procs = [plane.popen(plane.pod_ns(j), sys.executable, "-c", POD, *map(str, (
        t0, scale, max(_num(p["listening"], -1e9), start - 1), _num(p["closed"], 1e9), _num(p["exited"], 1e9),
        POD_PORT, _num(p["sigterm"], 1e9), p["name"], idle))) for j, p in enumerate(s["pods"])
        if _num(p["exited"], 1e9) > start]
    if health:  # converged before the window, its checks of the violation's node on the run's phase
        _haproxy(plane, s, node, t0, scale, launch, work)
    client = _client(plane, m, v, node, t0, scale, start, end, period)
    say(f"replaying t={start:.2f}s..{end:.2f}s in real time (x{scale:g})")
    events: list[tuple[float, Callable[[], None]]] = [
        (t, lambda i=i, j=j, change=change: (_set(views[i], j, plane.pods[j], change),
                                             _apply(plane, i, views[i], local, fallback, health)))
        for t, i, j, change in changes if start <= t < end]
    events += [(t, lambda targets=targets: plane.apply_lb(targets)) for t, targets in lb_events[1:]]
    for t, act in sorted(events, key=lambda e: e[0]):
        _sleep_until(t0 + t * scale)
        act()
    out, err = client.communicate(timeout=(end - start) * scale + 60)
    for p in procs:
        p.kill()
    lines = [line.split() for line in out.splitlines() if line.strip()]
    if client.returncode not in (0, None) and not lines:
        raise DataPlaneError(f"the client failed: {err.strip()[-300:]}")
    failed = tuple((float(t), kind) for t, kind in lines if kind != "ok")
    return Outcome(len(lines), failed, start, end, (v["t"], v["end"]), v["node"], v["pod"], m.client == "pooled")


def _lb_targets(s: dict[str, Any], start: float, end: float,
                fail_open: bool | None = None) -> list[tuple[float, list[tuple[str, int]]]]:
    """The L4 load balancer's targets from ``start`` on, at each instant they change: under
    Local, the nodes its checks find healthy (every node when none is and it fails open —
    the profile's, unless ``fail_open`` says); with IP targets, the pods it sends to."""
    v, nodes = s["violation"], list(s["nodes"])
    if v["ip_targets"]:
        spans = [(_since(p), _num(p["target_out"], math.inf), (pod_ip(j), POD_PORT)) for j, p in enumerate(s["pods"])]
    else:
        spans = []
        for h in s["load_balancer"]:
            healthy, since = h.get("initially", True), -math.inf
            for c in h["changes"]:
                if c["healthy"] != healthy:
                    if healthy:
                        spans.append((since, c["t"], (node_ip(nodes.index(h["node"])), NODE_PORT)))
                    healthy, since = c["healthy"], c["t"]
            if healthy:
                spans.append((since, math.inf, (node_ip(nodes.index(h["node"])), NODE_PORT)))
    every = [(node_ip(i), NODE_PORT) for i in range(len(nodes))]
    fail_open = bool(s["checks"].get("fail_open") if fail_open is None else fail_open) and not v["ip_targets"]
    out: list[tuple[float, list[tuple[str, int]]]] = []
    for t in sorted({start, *(a for a, _, _ in spans if start < a < end), *(b for _, b, _ in spans if start < b < end)}):
        targets = sorted({x for a, b, x in spans if a <= t < b})
        targets = targets or (every if fail_open else [])
        if not out or out[-1][1] != targets:
            out.append((t, targets))
    return out


def _since(p: dict[str, Any]) -> float:
    """When the load balancer starts sending to a pod's IP (an old pod: before the rollout)."""
    if p["target_in"] is None:
        return -math.inf if p["old"] else math.inf
    return float(p["target_in"])


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


def _client(plane: DataPlane, m: Modes, v: dict[str, Any], node: int, t0: float, scale: float,
            start: float, end: float, period: float):
    if m.lb == "haproxy":
        ns, host, port = plane.client_ns, "127.0.0.1", 8080
    elif m.lb == "l4":
        ns, host, port = plane.client_ns, LB_VIP, 80
    elif v["entry"] == "ClusterIP":
        ns, host, port = plane.node_ns(node), VIP, 80
    else:
        ns, host, port = plane.client_ns, node_ip(node), NODE_PORT
    return plane.popen(ns, sys.executable, "-c", CLIENT, str(t0), str(scale), str(start), str(end), str(period),
                       host, str(port), m.client, v["pod"] if m.client == "pooled" else "")


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
