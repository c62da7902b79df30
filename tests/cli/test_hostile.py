"""Issue J's crashes: hostile or odd input and broken I/O end with a message and exit 2 —
never a traceback or an "internal error"."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / "examples" / "no-prestop.yaml")


def _zdv(*args: str, **kw) -> subprocess.CompletedProcess[str]:
    kw = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "timeout": 300, **kw}
    return subprocess.run([sys.executable, "-m", "zdverify", *args], text=True, cwd=ROOT, **kw)


def _clean(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr


def test_a_timestamp_tag_on_kind_is_a_located_error(tmp_path: Path) -> None:
    f = tmp_path / "ts.yaml"
    f.write_text("apiVersion: v1\nkind: !!timestamp xyz\nmetadata: {name: a}\n")
    done = _zdv(str(f))
    _clean(done)
    assert done.returncode == 2 and f"{f}:2: error: invalid !!timestamp value" in done.stderr


def test_deep_spec_nesting_and_huge_numbers_are_located(tmp_path: Path) -> None:
    deep = tmp_path / "deep.zds"
    deep.write_text("property ZDV901 deep {\n  cause: termination\n  never exists node n: "
                    + "(" * 400 + "sends(lb, n)" + ")" * 400 + "\n}\n")
    for args in (["properties", "--spec", str(deep)], [EXAMPLE, "--spec", str(deep)]):
        done = _zdv(*args)
        _clean(done)
        assert done.returncode == 2 and f"{deep}:3:" in done.stderr and "nested more than 100" in done.stderr
    big = tmp_path / "big.zds"
    big.write_text("property ZDV902 big {\n  description: \"d\"\n  remediation: \"r\"\n  cause: termination\n  never exists node n: count(pod p: routes(n, p)) > "
                   + "9" * 400 + "\n}\n")
    done = _zdv(EXAMPLE, "--spec", str(big))
    _clean(done)
    assert done.returncode == 2 and f"{big}:5:" in done.stderr and "at most 999,999,999" in done.stderr


@pytest.mark.parametrize("value", ["0s.." + "9" * 400 + "s", "0s..20000000s"])
def test_durations_past_the_supported_maximum(value: str) -> None:
    done = _zdv(EXAMPLE, "--assume", f"app-startup={value}")
    _clean(done)
    assert done.returncode == 2 and "not supported" in done.stderr


def test_a_cluster_without_room_for_any_pod(tmp_path: Path) -> None:
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text("nodes:\n  - name: a\n    pods: 0\n  - name: b\n    pods: 0\n")
    done = _zdv(EXAMPLE, "--cluster", str(cluster))
    _clean(done)
    assert done.returncode == 2 and "room for 0 of them" in done.stderr


def test_a_startup_probe_with_one_failure_allowed(tmp_path: Path) -> None:
    probe = "startupProbe: {tcpSocket: {port: 80}, failureThreshold: 1, periodSeconds: 1}"
    for kind, extra in (("Deployment", "  replicas: 2\n"), ("DaemonSet", "")):
        f = tmp_path / f"{kind}.yaml"
        f.write_text(f"apiVersion: apps/v1\nkind: {kind}\nmetadata: {{name: web}}\nspec:\n{extra}"
                     "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
                     "    spec:\n      containers:\n      - name: web\n        image: nginx\n"
                     f"        ports: [{{containerPort: 80}}]\n        {probe}\n---\n"
                     "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n"
                     "  ports: [{port: 80}]\n")
        done = _zdv(str(f), "--likelihood-runs", "0")
        _clean(done)
        assert done.returncode in (0, 1, 3), done.stderr


def test_stdout_and_stdin_that_cannot_be_used() -> None:
    with open("/dev/full", "w") as full:
        done = _zdv(EXAMPLE, "--likelihood-runs", "0", stdout=full, stderr=subprocess.PIPE)
    assert done.returncode == 2 and "cannot write the report to stdout" in done.stderr
    _clean(done)
    closed = subprocess.run(f"{sys.executable} -m zdverify {EXAMPLE} --likelihood-runs 0 >&-", shell=True,
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert closed.returncode == 2 and "stdout is closed" in closed.stderr
    _clean(closed)
    no_stdin = subprocess.run(f"{sys.executable} -m zdverify - <&-", shell=True, capture_output=True, text=True,
                              cwd=ROOT, timeout=300)
    assert no_stdin.returncode == 2 and "stdin is closed" in no_stdin.stderr
    _clean(no_stdin)
    quiet = subprocess.run(f"{sys.executable} -m zdverify {ROOT}/README.md 2>&-", shell=True, capture_output=True,
                           text=True, cwd=ROOT, timeout=300)
    assert quiet.returncode == 2  # an input error without stderr still exits 2
    with open("/dev/full", "w") as full:
        catalogue = _zdv("properties", stdout=full, stderr=subprocess.PIPE)
    assert catalogue.returncode == 2 and "cannot write" in catalogue.stderr


def test_budgets_on_size_refuse_before_reading_or_building(tmp_path: Path) -> None:
    done = _zdv(EXAMPLE, "--nodes", "1000000000")
    assert done.returncode == 2 and "10000" in done.stderr.replace(",", "")
    cfg = tmp_path / "z.yaml"
    cfg.write_text("nodes: 1000000000000000000000000000000\n")
    done = _zdv(EXAMPLE, "--config", str(cfg))
    assert done.returncode == 2 and f"{cfg}:1: error: nodes: expected 1..10,000" in done.stderr
    done = _zdv(EXAMPLE, "--cluster", "/dev/zero")
    _clean(done)
    assert done.returncode == 2 and "larger than 16 MB" in done.stderr
    big = tmp_path / "big.yaml"
    with big.open("w") as f:
        f.write("# filler\n" * (2 * 1024 * 1024))  # 18 MB of comments
    done = _zdv(str(big), EXAMPLE)
    _clean(done)
    assert done.returncode == 2 and f"{big}: larger than 16 MB" in done.stderr


def test_a_claim_too_big_to_expand_is_inconclusive_at_once(tmp_path: Path) -> None:
    pods = "abcdefgh"
    spec = tmp_path / "many.zds"
    spec.write_text('property ZDV950 many {\n  description: "d"\n  remediation: "r"\n  cause: termination\n'
                    "  never exists node n, " + ", ".join(f"pod {p}" for p in pods) + ": "
                    + " and ".join(f"routes(n, {p})" for p in pods) + " and not serving(a)\n}\n")
    done = _zdv(EXAMPLE, "--spec", str(spec), "--property", "many", "--likelihood-runs", "0", timeout=60)
    _clean(done)
    assert done.returncode == 3 and "instances over this rollout" in done.stdout


def test_the_time_budget_makes_what_is_left_inconclusive() -> None:
    from zdverify.api import verify
    report = verify([str(ROOT / "examples" / "recommended-local.yaml")], time_budget=0.0001)
    assert report.results and all(r.verdict.value == "inconclusive" for r in report.results)
    assert all("time budget" in (r.why or r.summary) for r in report.results)
