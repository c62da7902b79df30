"""The benchmark's grid: generated workloads over replicas, nodes, traffic policy, topology
spreads, rollout strategy and workload kind, each run once through the CLI in its own
process, with its CPU time, wall time and peak memory (``os.wait4``) and its verdicts.

    python bench/run_bench.py --grid small   # 60 cases, a few minutes
    python bench/run_bench.py --grid full    # 126 cases with 1,000 replicas and nodes

Nothing here is asserted: a case that times out, errs or ends inconclusive is reported and
counted, not failed.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

PY = sys.executable
CASE_TIMEOUT_S = 600  # wall time; past it the case is killed and reported as a timeout
TIME_BUDGET_S = 300  # zdverify's own --time-budget per (workload, Service): inconclusive past it

SPREAD = """      topologySpreadConstraints:
      - maxSkew: 1
        topologyKey: kubernetes.io/hostname
        whenUnsatisfiable: DoNotSchedule
        labelSelector: {{matchLabels: {{app: web}}}}{keys}
"""

# every workload's pod: readiness probe, preStop sleep 30 s, a 60 s grace period
POD = """  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      terminationGracePeriodSeconds: 60
{spread}      containers:
      - name: web
        image: nginx:1.27
        ports: [{{containerPort: 80}}]
        readinessProbe: {{tcpSocket: {{port: 80}}, periodSeconds: 5}}
        lifecycle: {{preStop: {{sleep: {{seconds: 30}}}}}}
"""

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  strategy: {{type: RollingUpdate, rollingUpdate: {{maxSurge: {surge}, maxUnavailable: {unavailable}}}}}
""" + POD

DAEMONSET = """apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: web}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  updateStrategy: {{type: RollingUpdate, rollingUpdate: {{maxSurge: 0, maxUnavailable: {unavailable}}}}}
""" + POD

STATEFULSET = """apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: web}}
spec:
  replicas: {replicas}
  serviceName: web
  selector: {{matchLabels: {{app: web}}}}
""" + POD

SERVICE = """---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  type: LoadBalancer
  externalTrafficPolicy: {policy}
  selector: {{app: web}}
  ports: [{{port: 80}}]
"""

SPREADS = {"none": "", "hostname": SPREAD.format(keys=""),
           "hostname+matchLabelKeys": SPREAD.format(keys="\n        matchLabelKeys: [pod-template-hash]")}
STRATEGIES = {"1/0": ("1", "0"), "25%/25%": ("25%", "25%")}


@dataclass(frozen=True)
class Case:
    kind: str  # Deployment, DaemonSet, StatefulSet
    replicas: int  # a DaemonSet: one per node
    nodes: int
    policy: str  # Cluster, Local
    spread: str = "none"
    strategy: str = "1/0"

    @property
    def label(self) -> str:
        size = f"{self.nodes} nodes" if self.kind == "DaemonSet" else f"{self.replicas} × {self.nodes} nodes"
        extra = [] if self.kind == "StatefulSet" else [self.strategy]
        if self.kind == "Deployment":
            extra.append(self.spread)
        return ", ".join([f"{self.kind} {size}", self.policy, *extra])

    def manifest(self) -> str:
        surge, unavailable = STRATEGIES[self.strategy]
        if self.kind == "DaemonSet":
            body = DAEMONSET.format(unavailable="1" if self.strategy == "1/0" else "25%", spread="")
        elif self.kind == "StatefulSet":
            body = STATEFULSET.format(replicas=self.replicas, spread="")
        else:
            body = DEPLOYMENT.format(replicas=self.replicas, surge=surge, unavailable=unavailable,
                                     spread=SPREADS[self.spread])
        return body + SERVICE.format(policy=self.policy)


@dataclass(frozen=True)
class Row:
    case: Case
    wall: float
    cpu: float
    peak_mb: float
    exit: int  # -1: killed at the timeout
    verdicts: str  # "P4 C2 I1"
    inconclusive: int


def cases(level: str) -> list[Case]:
    """The grid; ``small`` stops at 100 replicas and nodes, ``full`` goes to 1,000."""
    sizes = (3, 100) if level == "small" else (3, 100, 1000)
    out = [Case("Deployment", r, n, pol, sp, st) for r in sizes for n in sizes for pol in ("Cluster", "Local")
           for sp in SPREADS for st in STRATEGIES]
    out += [Case("DaemonSet", n, n, pol, strategy=st) for n in sizes for pol in ("Cluster", "Local")
            for st in STRATEGIES]
    out += [Case("StatefulSet", r, 3, pol) for r in ((3, 30) if level == "small" else (3, 30, 100))
            for pol in ("Cluster", "Local")]
    return out


# runs the command in a child and writes the child's peak RSS (KiB) and CPU seconds to a
# file: a child forked straight from the benchmark would report the benchmark's own peak
# (Linux carries ru_maxrss over fork), this small process keeps the floor low
_MEASURE = """import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:], stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write(f"{r.ru_maxrss} {r.ru_utime + r.ru_stime}")
sys.exit(rc)
"""


def run_case(case: Case, tmp: Path) -> Row:
    """One case through the CLI in its own process: JSON verdicts, CPU, wall, peak RSS."""
    path = tmp / f"grid-{abs(hash(case))}.yaml"
    path.write_text(case.manifest())
    out, usage = tmp / "grid-out.json", tmp / "grid-usage.txt"
    usage.write_text("")
    argv = [PY, "-c", _MEASURE, str(usage), PY, "-m", "zdverify", str(path), "--nodes", str(case.nodes),
            "--likelihood-runs", "0", "-j", "1", "--time-budget", str(TIME_BUDGET_S), "-o", "json"]
    t0 = time.perf_counter()
    with out.open("w") as sink:
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            code = proc.wait(timeout=CASE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            code = -1
    wall = time.perf_counter() - t0
    peak_kib, cpu = (float(x) for x in (usage.read_text().split() or ["0", str(wall)]))
    counts: dict[str, int] = {}
    if code in (0, 1, 3):
        for r in json.loads(out.read_text() or "{}").get("results", []):
            counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    verdicts = " ".join(f"{k[0].upper()}{v}" for k, v in sorted(counts.items()))
    return Row(case, wall, cpu, peak_kib / 1024, code, verdicts or "-", counts.get("inconclusive", 0))


def run_grid(level: str, tmp: Path) -> list[Row]:
    rows = []
    for case in cases(level):
        row = run_case(case, tmp)
        rows.append(row)
        print(f"[bench] grid {case.label}: {row.wall:.1f}s wall, {row.cpu:.1f}s CPU, {row.peak_mb:.0f} MiB, "
              f"exit {row.exit}, {row.verdicts}", file=sys.stderr)
    return rows


def markdown(rows: list[Row], level: str) -> list[str]:
    if not rows:
        return []
    inconclusive = sum(r.inconclusive for r in rows)
    timeouts = sum(r.exit == -1 for r in rows)
    lines = ["", f"## 7. Grid ({level}: {len(rows)} cases through the CLI, once each)", "",
             "Generated workloads (bench/grid.py): a Deployment with readiness probe, preStop sleep 30 s and "
             "a 60 s grace period, with or without a hostname topology spread (and `matchLabelKeys`), "
             "`maxSurge/maxUnavailable` 1/0 or 25%/25%; a DaemonSet with `maxUnavailable` 1 or 25%; a "
             "StatefulSet; each behind a LoadBalancer Service with `externalTrafficPolicy` Cluster or Local. "
             f"`--likelihood-runs 0 -j 1 --time-budget {TIME_BUDGET_S}`; CPU is user + system of the process; "
             "peak is its maximum resident set. Verdicts: P proved, C counterexample, I inconclusive.",
             "",
             f"Inconclusive results: **{inconclusive}** in {sum(r.inconclusive > 0 for r in rows)} case(s); "
             f"killed at the {CASE_TIMEOUT_S} s timeout: {timeouts}; errors: {sum(r.exit == 2 for r in rows)}.",
             "", "| Case | Wall | CPU | Peak | Exit | Verdicts |", "|---|---:|---:|---:|---|---|"]
    for r in rows:
        lines.append(f"| {r.case.label} | {r.wall:.1f} s | {r.cpu:.1f} s | {r.peak_mb:.0f} MiB | "
                     f"{'timeout' if r.exit == -1 else r.exit} | {r.verdicts} |")
    slowest = max(rows, key=lambda r: r.wall)
    heaviest = max(rows, key=lambda r: r.peak_mb)
    lines += ["", f"Slowest: {slowest.case.label} at {slowest.wall:.1f} s; largest peak: {heaviest.case.label} "
                  f"at {heaviest.peak_mb:.0f} MiB."]
    return lines
