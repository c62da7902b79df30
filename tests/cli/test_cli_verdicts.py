"""The CLI as a user runs it: verdicts, exit codes, stdin, JSON — through a subprocess."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "zdverify", *args], input=stdin, capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


@pytest.mark.parametrize("name,code", [
    ("recommended-cluster.yaml", 0),
    ("no-prestop.yaml", 1),
    ("no-readiness-probe.yaml", 1),
])
def test_exit_code_follows_the_verdict(name: str, code: int) -> None:
    p = run(f"examples/{name}", "--nodes", "3")
    assert p.returncode == code, p.stderr
    assert "Traceback" not in p.stderr
    lines = [line for line in p.stdout.splitlines() if line.startswith(("PROVED", "COUNTEREXAMPLE"))]
    assert len(lines) == 7  # one line per (workload, Service, property)


def test_counterexample_text_has_a_numbered_timed_trace_with_lines() -> None:
    p = run("examples/no-prestop.yaml")
    assert p.returncode == 1
    assert " 1. t=0.00s" in p.stdout
    assert "kube-proxy/node-" in p.stdout and "still routes to nginx-old-" in p.stdout
    assert "examples/no-prestop.yaml:24" in p.stdout  # the container with no preStop
    assert "fix:" in p.stdout and "preStop" in p.stdout


def test_proofs_print_their_assumptions() -> None:
    p = run("examples/recommended-cluster.yaml")
    assert "Assumptions" in p.stdout and "kube-proxy" in p.stdout and "[default]" in p.stdout


def test_stdin_dash_reads_the_manifest() -> None:
    text = (EXAMPLES / "no-prestop.yaml").read_text()
    p = run("-", "--stdin-filename", "deploy/web.yaml", stdin=text)
    assert p.returncode == 1
    assert "deploy/web.yaml:24" in p.stdout


def test_json_contract() -> None:
    p = run("examples/no-prestop.yaml", "-o", "json")
    assert p.returncode == 1
    doc = json.loads(p.stdout)
    assert doc["verdict"] == "counterexample"
    by_prop = {r["property"]: r for r in doc["results"]}
    r = by_prop["termination"]
    assert r["workload"] == "Deployment/default/nginx" and r["service"] == "Service/default/nginx"
    assert r["verdict"] == "counterexample" and r["cause"] == "termination"
    assert {"t", "component", "event", "source"} <= set(r["trace"][0])
    assert any(s["source"] == {"file": "examples/no-prestop.yaml", "line": 24} for s in r["trace"])
    assert by_prop["startup"]["cause"] is None and by_prop["startup"]["assumptions"]


def test_nodes_and_version_flags_change_the_model() -> None:
    # before the terminating-endpoint fallback (1.26) the Local termination race is closed
    # by the preStop sleep, but the node still drops traffic (no-endpoint)
    p = run("examples/local-without-in-place.yaml", "--k8s-version", "1.24", "-o", "json")
    doc = json.loads(p.stdout)
    verdicts = {r["property"]: r["verdict"] for r in doc["results"]}
    assert verdicts["termination"] == "proved" and verdicts["no-endpoint"] == "counterexample"
    assert doc["k8s_version"] == "1.24"


def test_a_directory_is_searched_recursively(tmp_path: Path) -> None:
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    (sub / "app.yml").write_text((EXAMPLES / "recommended-cluster.yaml").read_text())
    (tmp_path / "notes.txt").write_text("not yaml")
    p = run(str(tmp_path))
    assert p.returncode == 0, p.stderr


def test_unpaired_workloads_are_listed(tmp_path: Path) -> None:
    extra = tmp_path / "all.yaml"
    extra.write_text((EXAMPLES / "recommended-cluster.yaml").read_text() + """---
apiVersion: apps/v1
kind: Deployment
metadata: {name: worker}
spec:
  selector: {matchLabels: {app: worker}}
  template:
    metadata: {labels: {app: worker}}
    spec:
      containers: [{name: w, image: busybox}]
""")
    p = run(str(extra))
    assert p.returncode == 0
    assert "Deployment/default/worker" in p.stdout


def test_json_output_is_deterministic() -> None:
    first = run("examples/recommended-local.yaml", "-o", "json")
    second = run("examples/recommended-local.yaml", "-o", "json")
    assert first.returncode == second.returncode == 1
    assert first.stdout == second.stdout


def test_properties_command_and_the_readme_catalogue_agree() -> None:
    p = run("properties", "-o", "markdown")
    assert p.returncode == 0
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- properties:start -->\n")[1].split("<!-- properties:end -->")[0]
    assert block == p.stdout, "README catalogue is stale: paste `zdverify properties -o markdown`"
    text = run("properties").stdout
    assert all(f"ZDV00{i}" in text for i in range(1, 8))


SLOW_PROXY_FRACTIONAL_PRESTOP = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    zdverify/request-duration: 0s..2800ms
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 30
      containers:
        - name: web
          image: nginx
          ports: [{containerPort: 80}]
          readinessProbe: {tcpSocket: {port: 80}, periodSeconds: 2}
          lifecycle: {preStop: {exec: {command: ["sleep", "27.5"]}}}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80}]}
"""


@pytest.mark.parametrize("request_s,code", [("2800ms", 0), ("3200ms", 1)])
def test_a_fractional_prestop_leaves_whole_seconds_of_grace(request_s: str, code: int) -> None:
    """``sleep 27.5`` with grace 30: the kubelet subtracts the hook's 27 whole seconds, so
    SIGKILL comes 3 s after SIGTERM (it was taken as 2.5 s: a spurious killed-in-flight
    counterexample for 2.8 s requests). A kube-proxy that takes up to 40 s keeps routing
    to the pod until SIGTERM."""
    manifest = SLOW_PROXY_FRACTIONAL_PRESTOP.replace("0s..2800ms", f"0s..{request_s}")
    p = run("-", "--property", "killed-in-flight", "--assume", "kube-proxy=0s..40s", stdin=manifest)
    assert p.returncode == code, p.stdout + p.stderr
