"""Assumptions users state: load-balancer profiles and per-workload annotations, each shown
with where it came from."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCAL = (ROOT / "examples" / "recommended-local.yaml").read_text()


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "zdverify", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def verdicts(p: subprocess.CompletedProcess[str]) -> dict[str, str]:
    return {r["property"]: r["verdict"] for r in json.loads(p.stdout)["results"]}


def assumption(p: subprocess.CompletedProcess[str], key: str) -> dict:
    doc = json.loads(p.stdout)
    return next(a for r in doc["results"] for a in r["assumptions"] if a["key"] == key)


def test_a_faster_load_balancer_closes_the_local_no_endpoint_window() -> None:
    # preStop 30 s: generic (3 x 10 s + 6 s) is too slow, gcp (3 x 8 s + 1 s) is not
    assert verdicts(run("examples/recommended-local.yaml", "-o", "json"))["no-endpoint"] == "counterexample"
    p = run("examples/recommended-local.yaml", "-o", "json", "--lb", "gcp")
    assert verdicts(p)["no-endpoint"] == "proved"
    a = assumption(p, "load-balancer")
    assert a["origin"] == "flag" and a["value"].startswith("gcp: every 8s")


def test_unknown_profile_is_a_usage_error() -> None:
    p = run("examples/recommended-local.yaml", "--lb", "nope")
    assert p.returncode == 2 and "nope" in p.stderr


def test_workload_annotations_set_the_applications_bounds(tmp_path: Path) -> None:
    f = tmp_path / "web.yaml"
    f.write_text(LOCAL.replace(
        "metadata:\n  name: nginx\n  namespace: default\nspec:\n  replicas",
        "metadata:\n  name: nginx\n  namespace: default\n  annotations:\n"
        '    zdverify/on-sigterm: "drain 10s"\n    zdverify/request-duration: "0s..2s"\n'
        "spec:\n  replicas", 1).replace("  replicas: 4\n", "  replicas: 4\n  minReadySeconds: 19\n", 1))
    p = run(str(f), "-o", "json")
    close = assumption(p, "app-close")
    assert close["value"] == "10s" and close["origin"] == "annotation"
    assert close["source"] == {"file": str(f), "line": 10}
    assert assumption(p, "request")["value"] == "0s..2s"
    # 30 s preStop + 10 s of draining outlasts the generic load balancer's 36 s removal (and
    # minReadySeconds 19 keeps a node healthy in it throughout: no fail-open)
    assert verdicts(p)["no-endpoint"] == "proved"
    assert verdicts(p)["no-healthy-target"] == "proved"


def test_bad_annotation_is_located(tmp_path: Path) -> None:
    f = tmp_path / "web.yaml"
    f.write_text(LOCAL.replace(
        "metadata:\n  name: nginx\n  namespace: default\nspec:\n  replicas",
        "metadata:\n  name: nginx\n  namespace: default\n  annotations:\n"
        '    zdverify/on-sigterm: "linger"\nspec:\n  replicas', 1))
    p = run(str(f))
    assert p.returncode == 2 and f"{f}:10: error: annotation zdverify/on-sigterm" in p.stderr


def test_config_selects_the_profile(tmp_path: Path) -> None:
    (tmp_path / "web.yaml").write_text(LOCAL)
    (tmp_path / ".zdverify.yaml").write_text("lb: gcp\n")
    assert verdicts(run("web.yaml", "-o", "json", cwd=tmp_path))["no-endpoint"] == "proved"
    (tmp_path / ".zdverify.yaml").write_text("lb: alibaba\n")
    p = run("web.yaml", cwd=tmp_path)
    assert p.returncode == 2 and ".zdverify.yaml:1: error: lb: unknown load-balancer profile" in p.stderr


def test_every_result_states_that_each_request_opens_a_new_connection() -> None:
    """Keep-alive connections are not modelled (kube-proxy does not flush TCP conntrack
    entries): every result says so, proved or not, in JSON and SARIF."""
    js = json.loads(run("examples/no-prestop.yaml", "-o", "json").stdout)
    assert {r["verdict"] for r in js["results"]} == {"proved", "counterexample"}
    for r in js["results"]:
        connections = [a for a in r["assumptions"] if a["key"] == "connections"]
        assert connections and connections[0]["origin"] == "model" and "keep-alive" in connections[0]["note"]
    sarif = json.loads(run("examples/no-prestop.yaml", "-o", "sarif").stdout)
    results = sarif["runs"][0]["results"]
    assert results and all("connections" in [a["key"] for a in r["properties"]["assumptions"]] for r in results)
