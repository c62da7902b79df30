"""End to end over real public repositories: one `zdverify tests/repos -o json` run.

tests/repos/ holds manifests vendored unchanged from public repositories (each directory has
the project's LICENSE and a SOURCE.txt naming the repository, commit and original paths):
podinfo's kustomization (an HPA, exec `podcli check http` probes) and a Helm chart, Istio's
bookinfo (reviews v1/v2/v3 behind one Service), ingress-nginx's AWS static deploy (the in-tree
NLB annotation, Jobs, webhooks, RBAC) and the Online Boutique release manifests.

The whole tree is read in one run, as a user would run `zdverify .` in a repository, and the
assertions are about structure (exit code, JSON shape, verdicts, assumption keys and origins,
notes' key phrases), not prose. The kustomization is rendered only when kubectl (or
kustomize) is on PATH; both cases are asserted.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPOS = Path(__file__).resolve().parents[1] / "repos"
TIMEOUT = 600  # seconds: the whole tree must finish well within this

PODINFO = REPOS / "stefanprodan-podinfo"
CHART = PODINFO / "charts" / "podinfo"
KUSTOMIZATION = PODINFO / "kustomize"
BOOKINFO = REPOS / "istio-istio" / "samples" / "bookinfo" / "platform" / "kube" / "bookinfo.yaml"
NGINX = REPOS / "kubernetes-ingress-nginx" / "deploy" / "static" / "provider" / "aws" / "deploy.yaml"
BOUTIQUE = REPOS / "GoogleCloudPlatform-microservices-demo" / "release" / "kubernetes-manifests.yaml"

VERDICTS = {"proved", "counterexample", "inconclusive"}
EXIT_FOR_VERDICT = {"proved": 0, "counterexample": 1, "inconclusive": 3}


class Run:
    def __init__(self, proc: subprocess.CompletedProcess[str], seconds: float) -> None:
        self.proc = proc
        self.seconds = seconds
        self._report: dict | None = None

    @property
    def report(self) -> dict:
        if self._report is None:
            self._report = json.loads(self.proc.stdout)
        return self._report


@pytest.fixture(scope="module")
def run() -> Run:
    env = {**os.environ, "NO_COLOR": "1"}
    start = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, "-m", "zdverify", str(REPOS), "-o", "json"],
                              check=False, capture_output=True, text=True, timeout=TIMEOUT, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail(f"zdverify over {REPOS} did not finish within {TIMEOUT}s")
    return Run(proc, time.monotonic() - start)


def _results(run: Run, workload: str, prop: str | None = None, service: str | None = None) -> list[dict]:
    return [r for r in run.report["results"]
            if r["workload"] == workload and (prop is None or r["property"] == prop)
            and (service is None or r["service"] == service)]


def _assumptions(result: dict, key: str) -> list[dict]:
    return [a for a in result["assumptions"] if a["key"] == key]


def _in(path: str | None, place: Path) -> bool:
    """Whether a reported file name (absolute here: REPOS is given absolute) lies under place."""
    return path is not None and (path == str(place) or path.startswith((str(place) + os.sep, str(place) + " ")))


def test_the_vendored_repositories_are_there() -> None:
    for d in sorted(p for p in REPOS.iterdir() if p.is_dir()):
        assert (d / "LICENSE").is_file(), d
        assert (d / "SOURCE.txt").is_file(), d
    for path in (CHART / "Chart.yaml", KUSTOMIZATION / "kustomization.yaml", BOOKINFO, NGINX, BOUTIQUE):
        assert path.is_file(), path


def test_the_run_finishes_without_a_crash(run: Run) -> None:
    assert run.seconds < TIMEOUT
    assert run.proc.returncode in {0, 1, 2, 3}, run.proc.stderr[-2000:]
    assert "Traceback" not in run.proc.stderr, run.proc.stderr[-4000:]


def test_stdout_is_the_json_report(run: Run) -> None:
    report = run.report
    assert isinstance(report, dict)
    for key in ("zdverify", "verdict", "nodes", "k8s_version", "results", "notes", "errors"):
        assert key in report, key
    assert report["verdict"] in VERDICTS
    assert report["results"], "the tree has Deployments and Services: something must be verified"
    for r in report["results"]:
        assert r["verdict"] in VERDICTS, r
        assert r["workload"].count("/") == 2 and r["service"].startswith("Service/"), r
        assert r["source"] is None or (isinstance(r["source"]["line"], int) and r["source"]["line"] >= 1), r
    # the exit code matches the report: errors mean 2, otherwise the overall verdict decides
    if report["errors"]:
        assert run.proc.returncode == 2
    else:
        assert run.proc.returncode == EXIT_FOR_VERDICT[report["verdict"]]


def test_every_error_is_located(run: Run) -> None:
    for e in run.report["errors"]:
        assert isinstance(e["file"], str) and e["file"], e
        assert isinstance(e["line"], int) and e["line"] >= 1, e
        assert e["message"], e


def test_every_repository_is_verified(run: Run) -> None:
    files = {r["source"]["file"] for r in run.report["results"] if r["source"]}
    for place in (BOOKINFO, NGINX, BOUTIQUE):
        assert any(_in(f, place) for f in files), place


def test_bookinfo_reviews_v1_is_checked_with_v2_and_v3_serving(run: Run) -> None:
    service = "Service/default/reviews"
    assert _results(run, "Deployment/default/reviews-v1", service=service)
    no_endpoint = _results(run, "Deployment/default/reviews-v1", "no-endpoint", service)
    assert no_endpoint
    for r in no_endpoint:
        assert r["verdict"] == "proved", r["summary"]
        others = _assumptions(r, "other-workloads")
        assert others, [a["key"] for a in r["assumptions"]]
        assert "reviews-v2" in others[0]["value"] and "reviews-v3" in others[0]["value"]
        assert _in(others[0]["source"]["file"], BOOKINFO)
    for version in ("v2", "v3"):
        assert _results(run, f"Deployment/default/reviews-{version}", "no-endpoint", service)


def test_the_helm_chart_is_skipped_with_a_note(run: Run) -> None:
    notes = [n for n in run.report["notes"] if "helm template" in n]
    assert any(str(CHART) in n for n in notes), run.report["notes"]
    assert not any(_in(r["source"]["file"] if r["source"] else None, CHART) for r in run.report["results"])
    assert not any(_in(e["file"], CHART) for e in run.report["errors"])


def test_ingress_nginx_takes_the_load_balancer_from_the_nlb_annotation(run: Run) -> None:
    workload = "Deployment/ingress-nginx/ingress-nginx-controller"
    results = _results(run, workload, service="Service/ingress-nginx/ingress-nginx-controller")
    assert {r["port"] for r in results} == {80, 443}
    for r in results:
        lb = _assumptions(r, "load-balancer")
        assert len(lb) == 1, r["assumptions"]
        assert lb[0]["value"].startswith("aws-nlb-in-tree"), lb[0]
        assert lb[0]["origin"] == "annotation", lb[0]
        assert _in(lb[0]["source"]["file"], NGINX) and lb[0]["source"]["line"] >= 1, lb[0]
    # the Jobs are listed as not verified, not dropped silently
    assert any("Job/ingress-nginx/ingress-nginx-admission-create" in n for n in run.report["notes"])


def test_the_podinfo_kustomization(run: Run) -> None:
    notes = [n for n in run.report["notes"] if str(KUSTOMIZATION) in n]
    podinfo = _results(run, "Deployment/default/podinfo")
    if shutil.which("kubectl") or shutil.which("kustomize"):
        tool = "kubectl kustomize" if shutil.which("kubectl") else "kustomize build"
        assert any("rendered with " + tool in n for n in notes), run.report["notes"]
        startup = [r for r in podinfo if r["property"] == "startup"]
        assert {r["port"] for r in startup} == {9898, 9999}
        # the readiness probe (exec `podcli check http localhost:9898/readyz`) checks 9898
        assert [r["verdict"] for r in startup if r["port"] == 9898] == ["proved"]
        for r in startup:  # a startup counterexample must be the probe not checking that port
            assert r["verdict"] == "proved" or any("readinessProbe" in b["field"] for b in r["blame"]), r
        replicas = [a for r in podinfo for a in _assumptions(r, "replicas")]
        assert replicas and all(a["origin"].startswith("HorizontalPodAutoscaler/") for a in replicas)
        assert all(_in(r["source"]["file"], KUSTOMIZATION) and "kustomize" in r["source"]["file"]
                   for r in podinfo)
    else:
        assert any("kubectl kustomize" in n for n in notes), run.report["notes"]
        assert not podinfo
