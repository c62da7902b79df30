"""zdverify as a CI gate: soft-fail, empty input, reports to files, config, suppressions."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NO_PRESTOP = (ROOT / "examples" / "no-prestop.yaml").read_text()
SUPPRESSED = NO_PRESTOP.replace(
    "metadata:\n  name: nginx\n  namespace: default\nspec:\n  replicas",
    "metadata:\n  name: nginx\n  namespace: default\n  annotations:\n"
    '    zdverify/ignore-termination: "accepted until the drain endpoint ships (JIRA-42)"\nspec:\n  replicas', 1)


def run(*args: str, cwd: Path = ROOT, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "zdverify", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_soft_fail_turns_a_counterexample_into_exit_0_and_keeps_reports(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    p = run(str(ROOT / "examples/no-prestop.yaml"), "--soft-fail", "--report", f"json={out}")
    assert p.returncode == 0, p.stderr
    assert json.loads(out.read_text())["verdict"] == "counterexample"
    assert "COUNTEREXAMPLE" in p.stdout


def test_nothing_verified_fails_unless_allowed(tmp_path: Path) -> None:
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    assert run(str(tmp_path)).returncode == 2
    p = run(str(tmp_path), "--allow-empty", "-o", "json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["results"] == []


def test_an_empty_directory_is_nothing_to_verify_when_allowed(tmp_path: Path) -> None:
    """The README's promise (issue G): a directory without YAML files exits 0 with
    --allow-empty, and 2 with a located message without it."""
    (tmp_path / "README.md").write_text("# no manifests here\n")
    bare = run(str(tmp_path))
    assert bare.returncode == 2 and "directory contains no .yaml or .yml files" in bare.stderr
    p = run(str(tmp_path), "--allow-empty", "-o", "json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["results"] == []


def test_several_reports_in_one_run(tmp_path: Path) -> None:
    p = run(str(ROOT / "examples/no-prestop.yaml"), "--report", f"json={tmp_path}/a/r.json",
            "--report", f"text={tmp_path}/r.txt", "-o", "json")
    assert p.returncode == 1
    assert json.loads((tmp_path / "a" / "r.json").read_text()) == json.loads(p.stdout)
    assert "COUNTEREXAMPLE  termination" in (tmp_path / "r.txt").read_text()


def test_nothing_is_written_on_an_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Deployment\napiVersion: apps/v1\nmetadata: {name: x\n")
    p = run(str(bad), "--report", f"json={tmp_path}/r.json")
    assert p.returncode == 2 and p.stdout == ""
    assert not (tmp_path / "r.json").exists()


def test_suppression_annotation_is_skipped_not_dropped(tmp_path: Path) -> None:
    f = tmp_path / "web.yaml"
    f.write_text(SUPPRESSED)
    p = run(str(f), "-o", "json")
    assert p.returncode == 0, p.stdout
    doc = json.loads(p.stdout)
    term = next(r for r in doc["results"] if r["property"] == "termination")
    assert term["verdict"] == "counterexample"
    assert term["suppressed"] == "accepted until the drain endpoint ships (JIRA-42)"
    assert term["suppressed_by"] == {"file": str(f), "line": 9}
    assert doc["verdict"] == "proved"
    text = run(str(f)).stdout
    assert "SKIPPED  termination" in text and "JIRA-42" in text


def test_suppression_needs_a_known_property_and_a_reason(tmp_path: Path) -> None:
    f = tmp_path / "web.yaml"
    f.write_text(SUPPRESSED.replace("ignore-termination", "ignore-terminaton"))
    p = run(str(f))
    assert p.returncode == 2 and f"{f}:9: error:" in p.stderr and "terminaton" in p.stderr
    f.write_text(SUPPRESSED.replace('"accepted until the drain endpoint ships (JIRA-42)"', '""'))
    p = run(str(f))
    assert p.returncode == 2 and "reason" in p.stderr


def test_config_file_is_discovered_and_flags_win(tmp_path: Path) -> None:
    (tmp_path / "web.yaml").write_text(NO_PRESTOP)
    (tmp_path / ".zdverify.yaml").write_text(
        "nodes: 2\nformat: json\nreports:\n  text: out/report.txt\nsuppress:\n"
        "  - workload: Deployment/default/nginx\n    property: termination\n    reason: known, JIRA-42\n")
    p = run("web.yaml", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["nodes"] == 2
    assert next(r for r in doc["results"] if r["property"] == "termination")["suppressed"] == "known, JIRA-42"
    assert (tmp_path / "out" / "report.txt").exists()
    assert json.loads(run("web.yaml", "--nodes", "4", cwd=tmp_path).stdout)["nodes"] == 4


def test_config_errors_are_located(tmp_path: Path) -> None:
    cfg = tmp_path / "z.yaml"
    cfg.write_text("nodes: 3\nformatt: json\n")
    p = run(str(ROOT / "examples/no-prestop.yaml"), "--config", str(cfg))
    assert p.returncode == 2 and f"{cfg}:2: error: unknown key 'formatt'" in p.stderr
    cfg.write_text("suppress:\n  - property: startup\n")
    p = run(str(ROOT / "examples/no-prestop.yaml"), "--config", str(cfg))
    assert p.returncode == 2 and f"{cfg}:2: error: suppress: reason is required" in p.stderr
    # bounds and the version are checked at their lines, not later as if they were flags
    cfg.write_text("nodes: 3\nassume: {kube-proxy: 5s..1s}\n")
    p = run(str(ROOT / "examples/no-prestop.yaml"), "--config", str(cfg))
    assert p.returncode == 2 and f"{cfg}:2: error: assume kube-proxy: range" in p.stderr and "--assume" not in p.stderr
    cfg.write_text("nodes: 3\nk8s-version: 1.50\n")
    p = run(str(ROOT / "examples/no-prestop.yaml"), "--config", str(cfg))
    assert p.returncode == 2 and f"{cfg}:2: error: k8s-version: '1.50' is outside" in p.stderr


def test_an_unquoted_version_in_the_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / "z.yaml"
    cfg.write_text("k8s-version: 1.30\n")  # YAML reads 1.3: no supported version, so it is 1.30
    p = run(str(ROOT / "examples/no-prestop.yaml"), "--config", str(cfg), "-o", "json", "--likelihood-runs", "0")
    assert json.loads(p.stdout)["k8s_version"] == "1.30"
    cfg.write_text("k8s-version: 1.34\n")
    p = run(str(ROOT / "examples/no-prestop.yaml"), "--config", str(cfg), "-o", "json", "--likelihood-runs", "0")
    assert json.loads(p.stdout)["k8s_version"] == "1.34"


def test_helm_output_names_the_template_in_locations() -> None:
    rendered = "---\n# Source: web/templates/all.yaml\n" + NO_PRESTOP
    p = run("-", stdin=rendered)
    assert p.returncode == 1
    assert "web/templates/all.yaml:24" in p.stdout  # the container line, counted from the comment


def test_reports_are_written_all_or_none_and_never_through_a_link(tmp_path: Path) -> None:
    example = str(ROOT / "examples/no-prestop.yaml")
    first = tmp_path / "first.json"
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a directory would go")
    p = run(example, "--report", f"json={first}", "--report", f"sarif={tmp_path / 'new' / 'x.sarif'}",
            "--report", f"markdown={blocked / 'x.md'}")
    assert p.returncode == 2 and "cannot write" in p.stderr
    assert not first.exists() and not (tmp_path / "new").exists()  # nothing left behind, not even a directory
    secret = tmp_path / "secret.txt"
    secret.write_text("keep me")
    link = tmp_path / "report.md"
    link.symlink_to(secret)
    p = run(example, "--report", f"markdown={link}")
    assert p.returncode == 2 and "symbolic link" in p.stderr and secret.read_text() == "keep me"
    p = run(example, "--report", f"json={first}", "--likelihood-runs", "0")
    assert p.returncode == 1 and json.loads(first.read_text())["results"]
    assert oct(first.stat().st_mode & 0o777) != oct(0o600)  # not mkstemp's private mode
    assert not list(tmp_path.glob(".zdverify-*"))  # no temporary file left


def test_a_repository_config_writes_only_inside_it(tmp_path: Path) -> None:
    for target in ("../../x.md", "/tmp/zdverify-escape.md"):
        (tmp_path / ".zdverify.yaml").write_text(f"reports: {{markdown: {target}}}\n")
        p = run(str(ROOT / "examples/no-prestop.yaml"), cwd=tmp_path)
        assert p.returncode == 2 and ".zdverify.yaml:1: error: reports.markdown" in p.stderr
        assert "leaves the directory" in p.stderr
